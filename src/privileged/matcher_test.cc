// Matcher semantics (privileged-list.md "Identities"), with readings from the real Normalizer
// where the notation matters, and against a naive reference on a random list.
#include "privileged/matcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "base/strings.h"

namespace tapvault::privileged {
namespace {

using Kind = identity::Reading::Kind;

const identity::Normalizer& Norm() {
  static const identity::Normalizer* n = new identity::Normalizer("NL");
  return *n;
}

Entry E(EntryType type, std::string value, std::string value_to = "",
        std::optional<int64_t> from = std::nullopt, std::optional<int64_t> to = std::nullopt) {
  return {.type = type,
          .value = std::move(value),
          .value_to = std::move(value_to),
          .source = "NOvA",
          .valid_from_us = from,
          .valid_to_us = to,
          .ref = ""};
}

std::vector<identity::Reading> Num(std::string n) { return {{Kind::kNumber, std::move(n)}}; }
std::vector<identity::Reading> R(Kind kind, std::string v) { return {{kind, std::move(v)}}; }

constexpr int64_t kNow = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z

TEST(Matcher, NumberMatchesEqualAndLongerButNotShorterOrOther) {
  auto m = Matcher::Build({E(EntryType::kNumber, "+31205551234")});
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ(m->MatchReadings(Num("+31205551234"), kNow),
            (Match{EntryType::kNumber, "+31205551234"}));
  // Digits dialled after a complete number (extension, DTMF) do not defeat the filter.
  EXPECT_TRUE(m->MatchReadings(Num("+31205551234123"), kNow));
  EXPECT_TRUE(m->MatchReadings(Num("+312055512341234"), kNow));
  EXPECT_FALSE(m->MatchReadings(Num("+3120555123"), kNow));
  EXPECT_FALSE(m->MatchReadings(Num("+31205551235"), kNow));
  EXPECT_FALSE(m->MatchReadings(Num("+41205551234"), kNow));
  EXPECT_FALSE(m->MatchReadings(Num("31205551234"), kNow)) << "a reading is always +digits";
  EXPECT_FALSE(m->MatchReadings({}, kNow));
}

TEST(Matcher, ReadingsOfEveryNotationMatch) {
  auto m = Matcher::Build({E(EntryType::kNumber, "+31205551234")});
  for (std::string_view party :
       {"+31205551234", "0031205551234", "020-5551234", "tel:+31-20-555-1234",
        "\"Mr X\" <sip:020-5551234@ims.example;user=phone>;tag=1", "sip:+31205551234@ims.example",
        "+31205551234123"}) {
    EXPECT_TRUE(m->MatchReadings(Norm().Readings(party, {.country = "NL"}), kNow)) << party;
  }
  EXPECT_FALSE(m->MatchReadings(Norm().Readings("020-5551235", {.country = "NL"}), kNow));
}

TEST(Matcher, PrefixMatchesEveryNumberThatStartsWithIt) {
  auto m = Matcher::Build({E(EntryType::kPrefix, "+312055512")});
  EXPECT_EQ(m->MatchReadings(Num("+31205551200"), kNow), (Match{EntryType::kPrefix, "+312055512"}));
  EXPECT_TRUE(m->MatchReadings(Num("+31205551299"), kNow));
  EXPECT_TRUE(m->MatchReadings(Num("+312055512"), kNow));
  EXPECT_FALSE(m->MatchReadings(Num("+31205551300"), kNow));
  EXPECT_FALSE(m->MatchReadings(Num("+31205551"), kNow));
}

TEST(Matcher, TheMostSpecificEntryIsReported) {
  auto m = Matcher::Build(
      {E(EntryType::kPrefix, "+312055512"), E(EntryType::kNumber, "+31205551234"),
       E(EntryType::kRange, "+3120555120000", "+3120555129999"),
       E(EntryType::kPrefix, "+31205551777"), E(EntryType::kNumber, "+31205551777")});
  EXPECT_EQ(m->MatchReadings(Num("+312055512345"), kNow),
            (Match{EntryType::kNumber, "+31205551234"}));
  EXPECT_EQ(m->MatchReadings(Num("+31205551200001"), kNow),
            (Match{EntryType::kRange, "+3120555120000..+3120555129999"}));
  EXPECT_EQ(m->MatchReadings(Num("+31205551299"), kNow), (Match{EntryType::kPrefix, "+312055512"}));
  // A number and a prefix with the same digits: the number.
  EXPECT_EQ(m->MatchReadings(Num("+31205551777"), kNow)->type, EntryType::kNumber);
}

TEST(Matcher, RangeMatchesOnTheFirstNDigitsIncludingLongerReadings) {
  auto m = Matcher::Build({E(EntryType::kRange, "+31205551200", "+31205551299")});
  EXPECT_EQ(m->MatchReadings(Num("+31205551200"), kNow),
            (Match{EntryType::kRange, "+31205551200..+31205551299"}));
  EXPECT_TRUE(m->MatchReadings(Num("+31205551250"), kNow));
  EXPECT_TRUE(m->MatchReadings(Num("+31205551299"), kNow));
  EXPECT_TRUE(m->MatchReadings(Num("+312055512991"), kNow)) << "digits after the range's length";
  EXPECT_FALSE(m->MatchReadings(Num("+31205551300"), kNow));
  EXPECT_FALSE(m->MatchReadings(Num("+31205551199"), kNow));
  EXPECT_FALSE(m->MatchReadings(Num("+3120555125"), kNow)) << "shorter than the range";
}

TEST(Matcher, OverlappingRangesOfSeveralLengths) {
  auto m = Matcher::Build({E(EntryType::kRange, "+31205550000", "+31205559999"),
                           E(EntryType::kRange, "+31205551200", "+31205551210"),
                           E(EntryType::kRange, "+31205551300", "+31205551310"),
                           E(EntryType::kRange, "+4930100", "+4930199")});
  EXPECT_TRUE(m->MatchReadings(Num("+31205551400"), kNow)) << "inside the wide one only";
  EXPECT_TRUE(m->MatchReadings(Num("+31205551305"), kNow));
  EXPECT_TRUE(m->MatchReadings(Num("+493015012"), kNow));
  EXPECT_FALSE(m->MatchReadings(Num("+31205560000"), kNow));
  EXPECT_FALSE(m->MatchReadings(Num("+4930200"), kNow));
}

TEST(Matcher, UriExactOnCanonicalFormAnyCaseWithoutParameters) {
  auto m = Matcher::Build({E(EntryType::kUri, "sip:mr.x@law.example")});
  for (std::string_view party :
       {"sip:mr.x@law.example", "SIP:Mr.X@LAW.Example;transport=tcp",
        "\"Mr X\" <sips:mr.x@law.example:5061>;tag=abc", "<sip:MR.X@law.example?subject=x>"}) {
    auto readings = Norm().Readings(party, {.country = "NL"});
    EXPECT_EQ(m->MatchReadings(readings, kNow), (Match{EntryType::kUri, "sip:mr.x@law.example"}))
        << party;
  }
  // A raw (non-canonical) reading is folded too.
  EXPECT_TRUE(m->MatchReadings(R(Kind::kUri, "sip:MR.X@law.example"), kNow));
  EXPECT_FALSE(m->MatchReadings(Norm().Readings("sip:mr.y@law.example", {}), kNow));
  EXPECT_FALSE(m->MatchReadings(Norm().Readings("sip:mr.x@law.example.org", {}), kNow));
  // A uri entry is not an e-mail address.
  EXPECT_FALSE(m->MatchReadings(R(Kind::kEmail, "sip:mr.x@law.example"), kNow));
}

TEST(Matcher, EmailCaseInsensitive) {
  auto m = Matcher::Build({E(EntryType::kEmail, "mr.x@law.example")});
  EXPECT_EQ(m->MatchReadings(Norm().Readings("Mr.X@Law.Example", {}), kNow),
            (Match{EntryType::kEmail, "mr.x@law.example"}));
  EXPECT_TRUE(m->MatchReadings(Norm().Readings("mailto:MR.X@law.example", {}), kNow));
  EXPECT_FALSE(m->MatchReadings(Norm().Readings("mr.y@law.example", {}), kNow));
  EXPECT_FALSE(m->MatchReadings(R(Kind::kUri, "mr.x@law.example"), kNow));
}

TEST(Matcher, AnyReadingMatches) {
  auto m = Matcher::Build({E(EntryType::kNumber, "+31205551234")});
  std::vector<identity::Reading> r = {{Kind::kUri, "sip:0205551234@ims.example"},
                                      {Kind::kNumber, "+310205551234"},
                                      {Kind::kNumber, "+31205551234"}};
  EXPECT_TRUE(m->MatchReadings(r, kNow));
}

TEST(Matcher, ValidityWindowsAreHalfOpen) {
  const int64_t day = 86'400'000'000;
  auto m = Matcher::Build({
      E(EntryType::kNumber, "+31205551001", "", kNow, kNow + day),    // one day
      E(EntryType::kNumber, "+31205551002", "", kNow, std::nullopt),  // from
      E(EntryType::kNumber, "+31205551003", "", std::nullopt, kNow),  // until
      E(EntryType::kPrefix, "+3120555200", "", kNow, kNow + day),
      E(EntryType::kRange, "+31205553000", "+31205553999", kNow, kNow + day),
      E(EntryType::kUri, "sip:a@law.example", "", kNow, kNow + day),
      E(EntryType::kEmail, "a@law.example", "", kNow, kNow + day),
  });
  auto at = [&](std::vector<identity::Reading> r, int64_t t) {
    return m->MatchReadings(r, t).has_value();
  };
  EXPECT_FALSE(at(Num("+31205551001"), kNow - 1));
  EXPECT_TRUE(at(Num("+31205551001"), kNow));
  EXPECT_TRUE(at(Num("+31205551001"), kNow + day - 1));
  EXPECT_FALSE(at(Num("+31205551001"), kNow + day)) << "valid_to is exclusive";
  EXPECT_FALSE(at(Num("+31205551002"), kNow - 1));
  EXPECT_TRUE(at(Num("+31205551002"), kNow + 1000 * day));
  EXPECT_TRUE(at(Num("+31205551003"), kNow - 1000 * day));
  EXPECT_FALSE(at(Num("+31205551003"), kNow));
  for (auto r : {Num("+31205552001"), Num("+31205553500"),
                 std::vector<identity::Reading>{{Kind::kUri, "sip:a@law.example"}},
                 std::vector<identity::Reading>{{Kind::kEmail, "a@law.example"}}}) {
    EXPECT_FALSE(at(r, kNow - 1)) << r[0].value;
    EXPECT_TRUE(at(r, kNow)) << r[0].value;
    EXPECT_FALSE(at(r, kNow + day)) << r[0].value;
  }
}

TEST(Matcher, SameNumberWithSeveralWindowsAndAnAlwaysEntry) {
  const int64_t day = 86'400'000'000;
  auto m =
      Matcher::Build({E(EntryType::kNumber, "+31205551001", "", kNow, kNow + day),
                      E(EntryType::kNumber, "+31205551001", "", kNow + 2 * day, kNow + 3 * day),
                      E(EntryType::kPrefix, "+31205551002", "", kNow, kNow + day),
                      E(EntryType::kNumber, "+31205551002")});
  EXPECT_TRUE(m->MatchReadings(Num("+31205551001"), kNow));
  EXPECT_FALSE(m->MatchReadings(Num("+31205551001"), kNow + day));
  EXPECT_TRUE(m->MatchReadings(Num("+31205551001"), kNow + 2 * day));
  EXPECT_EQ(m->MatchReadings(Num("+312055510021"), kNow - day)->type, EntryType::kNumber);
}

TEST(Matcher, MalformedEntriesAreSkippedAndCounted) {
  auto m =
      Matcher::Build({E(EntryType::kNumber, "31205551234"), E(EntryType::kNumber, "+"),
                      E(EntryType::kNumber, "+3120555123456789"),
                      E(EntryType::kRange, "+31205551299", "+31205551200"),
                      E(EntryType::kRange, "+3120555120", "+31205551299"), E(EntryType::kUri, ""),
                      E(EntryType::kNumber, "+31205551234", "", kNow, kNow),
                      E(EntryType::kNumber, "+31205551235")});
  EXPECT_EQ(m->skipped(), 7u);
  EXPECT_EQ(m->size(), 1u);
  EXPECT_TRUE(m->MatchReadings(Num("+31205551235"), kNow));
}

// A random list against a naive reference: every number, prefix and range entry matches readings
// built from it, and random readings agree with a linear scan.
TEST(Matcher, AgreesWithNaiveReferenceOnRandomList) {
  const unsigned seed =
      static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count());
  SCOPED_TRACE(base::StrCat("seed ", seed));
  std::mt19937_64 rng(seed);
  auto digits = [&](size_t n) {
    std::string s = "+31";
    while (s.size() < n + 1) s.push_back(static_cast<char>('0' + rng() % 10));
    return s;
  };
  std::vector<Entry> entries;
  for (int i = 0; i < 3000; ++i) {
    switch (rng() % 3) {
      case 0:
        entries.push_back(E(EntryType::kNumber, digits(6 + rng() % 8)));
        break;
      case 1:
        entries.push_back(E(EntryType::kPrefix, digits(6 + rng() % 4)));
        break;
      default: {
        std::string a = digits(11), b = digits(11);
        if (a > b) std::swap(a, b);
        b = a.substr(0, 9) + b.substr(9);  // narrow ranges
        if (a > b) std::swap(a, b);
        entries.push_back(E(EntryType::kRange, a, b));
      }
    }
  }
  auto m = Matcher::Build(entries);
  auto naive = [&](const std::string& r) {
    for (const Entry& e : entries) {
      if (e.type == EntryType::kRange) {
        if (r.size() >= e.value.size()) {
          std::string head = r.substr(0, e.value.size());
          if (head >= e.value && head <= e.value_to) return true;
        }
      } else if (r.starts_with(e.value)) {
        return true;
      }
    }
    return false;
  };
  for (const Entry& e : entries) {
    ASSERT_TRUE(m->MatchReadings(Num(e.value + "7"), kNow)) << e.value;
  }
  int hits = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string r = digits(8 + rng() % 6);
    bool want = naive(r);
    hits += want;
    ASSERT_EQ(m->MatchReadings(Num(r), kNow).has_value(), want) << r;
  }
  EXPECT_GT(hits, 0);
}

TEST(Matcher, MillionNumbersAreCompact) {
  std::vector<Entry> entries;
  entries.reserve(1'000'000);
  for (int i = 0; i < 1'000'000; ++i) {
    entries.push_back(E(EntryType::kNumber, base::StrCat("+3120", 1'000'000 + i * 7)));
  }
  auto m = Matcher::Build(std::move(entries));
  EXPECT_EQ(m->size(), 1'000'000u);
  // 8 bytes a slot at load 0.75, rounded up to whole 2 MiB huge pages.
  EXPECT_LT(m->MemoryBytes(), 13u * 1'000'000) << "about 11-13 bytes per number";
  EXPECT_TRUE(m->MatchReadings(Num("+312010000070"), kNow));
  EXPECT_TRUE(m->MatchReadings(Num("+3120799999399"), kNow));
  EXPECT_FALSE(m->MatchReadings(Num("+31201000001"), kNow));
}

}  // namespace
}  // namespace tapvault::privileged
