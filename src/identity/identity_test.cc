#include "identity/identity.h"

#include <gtest/gtest.h>
#include <phonenumbers/phonenumberutil.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/strings.h"

namespace tapvault::identity {
namespace {

using Kind = Reading::Kind;

// One row of testdata/notations.tsv (its header comment describes the columns).
struct Row {
  int line = 0;
  std::string input;
  std::string nature;
  std::string country;
  std::string expected;
};

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.push_back(s.substr(start, pos - start));
    if (pos == std::string::npos) return out;
    start = pos + 1;
  }
}

std::vector<Row> LoadCorpus() {
  const char* dir = std::getenv("TAPVAULT_SOURCE_DIR");
  std::string path = base::StrCat(dir ? dir : ".", "/src/identity/testdata/notations.tsv");
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::vector<Row> rows;
  std::string line;
  int n = 0;
  bool header = true;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line[0] == '#') continue;
    if (header) {  // "input	nature	country	expected"
      header = false;
      continue;
    }
    std::vector<std::string> f = Split(line, '\t');
    EXPECT_EQ(f.size(), 4u) << "notations.tsv:" << n << ": " << line;
    if (f.size() != 4) continue;
    rows.push_back(Row{n, f[0], f[1], f[2], f[3]});
  }
  return rows;
}

const std::vector<Row>& Corpus() {
  static const std::vector<Row>* rows = new std::vector<Row>(LoadCorpus());
  return *rows;
}

Nature ParseNature(const std::string& s) {
  if (s.empty()) return Nature::kNotGiven;
  if (s == "unknown") return Nature::kUnknown;
  if (s == "subscriber") return Nature::kSubscriber;
  if (s == "national") return Nature::kNational;
  if (s == "international") return Nature::kInternational;
  if (s == "network-specific") return Nature::kNetworkSpecific;
  if (s == "abbreviated") return Nature::kAbbreviated;
  ADD_FAILURE() << "unknown nature " << s;
  return Nature::kNotGiven;
}

// The corpus' notation of readings: values joined by '|', "-" for none. The kind is implied by
// the value, and checked: "+digits" number, "sip:" URI, else e-mail.
std::string Format(const std::vector<Reading>& readings) {
  if (readings.empty()) return "-";
  std::string out;
  for (const Reading& r : readings) {
    if (!out.empty()) out.push_back('|');
    bool number = r.value.size() > 1 && r.value[0] == '+' &&
                  r.value.find_first_not_of("0123456789", 1) == std::string::npos;
    Kind implied = number ? Kind::kNumber : r.value.starts_with("sip:") ? Kind::kUri : Kind::kEmail;
    if (implied != r.kind) out.append("<wrong kind>");
    out.append(r.value);
  }
  return out;
}

const Normalizer& Nl() {
  static const Normalizer* norm = new Normalizer("NL");
  return *norm;
}

std::string Read(std::string_view text, Nature nature = Nature::kNotGiven,
                 std::string_view country = "") {
  return Format(Nl().Readings(text, {.country = country, .nature = nature}));
}

TEST(IdentityCorpusTest, HasAtLeast250Notations) { EXPECT_GE(Corpus().size(), 250u); }

TEST(IdentityCorpusTest, EveryNotationReadsAsExpected) {
  for (const Row& row : Corpus()) {
    Context ctx{.country = row.country, .nature = ParseNature(row.nature)};
    EXPECT_EQ(Format(Nl().Readings(row.input, ctx)), row.expected)
        << "notations.tsv:" << row.line << ": \"" << row.input << "\" " << row.nature << " "
        << row.country;
  }
}

// The fast path must answer exactly as libphonenumber does: every notation, under its own nature
// and the natures the fast path serves, in its own country and two others (so that inputs the
// corpus reads one way are also tried the others).
TEST(IdentityCorpusTest, FastPathAnswersAsLibphonenumber) {
  int fast = 0;
  for (const Row& row : Corpus()) {
    for (std::string_view country :
         {std::string_view(row.country), std::string_view("us"), std::string_view("RU")}) {
      for (Nature nature : {ParseNature(row.nature), Nature::kNotGiven, Nature::kNational,
                            Nature::kInternational}) {
        Context ctx{.country = country, .nature = nature};
        fast += Nl().TakesFastPathForTest(row.input, ctx) ? 1 : 0;
        ASSERT_EQ(Format(Nl().Readings(row.input, ctx)),
                  Format(Nl().ReadingsWithoutFastPath(row.input, ctx)))
            << "notations.tsv:" << row.line << ": \"" << row.input << "\" in " << country
            << " nature " << static_cast<int>(nature);
      }
    }
  }
  EXPECT_GT(fast, 500);  // the comparison did exercise the fast path
}

// Every canonical E.164 number of the corpus that libphonenumber reads unchanged takes the fast
// path where its country's national prefix cannot be mistaken for its first digit.
TEST(IdentityCorpusTest, CanonicalNumbersTakeTheFastPath) {
  int canonical = 0;
  int fast = 0;
  for (const Row& row : Corpus()) {
    if (row.input.size() < 2 || row.input[0] != '+' ||
        row.input.find_first_not_of("0123456789", 1) != std::string::npos ||
        row.expected != row.input) {
      continue;
    }
    ++canonical;
    fast += Nl().TakesFastPathForTest(row.input, {}) ? 1 : 0;
  }
  // Not fast: calling codes whose main region's national prefix for parsing is a pattern with
  // classes (LU's carrier codes, AU, CN, BR, MX, AR): libphonenumber decides there.
  EXPECT_GT(canonical, 80);
  EXPECT_GE(fast * 100, canonical * 85) << fast << " of " << canonical;
  for (const char* n : {"+31205551234", "+3225551234", "+493012345678", "+33123456789",
                        "+442079460018", "+16502530000", "+390612345678", "+31205551234123"}) {
    EXPECT_TRUE(Nl().TakesFastPathForTest(n, {})) << n;
  }
  EXPECT_TRUE(Nl().TakesFastPathForTest("31205551234", {.nature = Nature::kInternational}));
  EXPECT_TRUE(Nl().TakesFastPathForTest("205551234", {.nature = Nature::kNational}));
  EXPECT_TRUE(
      Nl().TakesFastPathForTest("3012345678", {.country = "de", .nature = Nature::kNational}));
  // Not canonical, or libphonenumber may strip a national prefix: the full path.
  for (const char* n : {"+310205551234", "+116502530000", "+31 20 555 1234", "0205551234",
                        "+0031205551234", "tel:+31205551234"}) {
    EXPECT_FALSE(Nl().TakesFastPathForTest(n, {})) << n;
  }
  EXPECT_FALSE(Nl().TakesFastPathForTest("0205551234", {.nature = Nature::kNational}));
}

// The list and the readings agree: a number as the list deliverer writes it is among the
// readings of the same notation seen in an intercept of the same country.
TEST(IdentityCorpusTest, ListNumberIsAmongTheReadings) {
  int checked = 0;
  for (const Row& row : Corpus()) {
    if (!row.nature.empty()) continue;
    absl::StatusOr<std::string> listed = Nl().ListNumber(row.input, row.country);
    if (!listed.ok()) continue;
    ++checked;
    std::vector<Reading> readings = Nl().Readings(row.input, {.country = row.country});
    ASSERT_FALSE(readings.empty()) << row.input;
    EXPECT_EQ(readings.front(), (Reading{Kind::kNumber, *listed}))
        << "notations.tsv:" << row.line << ": " << row.input;
  }
  EXPECT_GT(checked, 300);
}

// Every calling code libphonenumber knows, every first digit of the national number, several
// lengths: as "+digits", as digits of nature international, and as national digits in the
// code's main region. The fast path must agree with libphonenumber on each (where it declines,
// agreement is trivial; where it answers, this checks its claim for that code and digit).
TEST(IdentityFastPathTest, AgreesWithLibphonenumberForEveryCallingCode) {
  const auto& util = *i18n::phonenumbers::PhoneNumberUtil::GetInstance();
  std::set<int> codes;
  util.GetSupportedCallingCodes(&codes);
  ASSERT_GT(codes.size(), 200u);
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> digit(0, 9);
  int cases = 0;
  int fast = 0;
  for (int cc : codes) {
    std::string region;
    util.GetRegionCodeForCountryCode(cc, &region);
    for (char first = '0'; first <= '9'; ++first) {
      for (int len : {1, 3, 7, 9, 11, 14}) {
        std::string nsn(1, first);
        for (int i = 1; i < len; ++i) nsn.push_back(static_cast<char>('0' + digit(rng)));
        std::string digits = base::StrCat(cc, nsn);
        const std::pair<std::string, Context> forms[] = {
            {"+" + digits, Context{}},
            {digits, Context{.nature = Nature::kInternational}},
            {nsn, Context{.country = region, .nature = Nature::kNational}},
        };
        const auto& [text, ctx] = forms[cases % 3];
        ++cases;
        fast += Nl().TakesFastPathForTest(text, ctx) ? 1 : 0;
        ASSERT_EQ(Format(Nl().Readings(text, ctx)), Format(Nl().ReadingsWithoutFastPath(text, ctx)))
            << text << " in " << ctx.country << " nature " << static_cast<int>(ctx.nature);
      }
    }
  }
  EXPECT_GT(fast * 10, cases * 7) << fast << " of " << cases;  // it does answer most of them
}

// Random canonical and nature-qualified digit strings over every country code: the fast path
// and libphonenumber agree (the corpus' claim, over inputs nobody chose).
TEST(IdentityFastPathTest, AgreesWithLibphonenumberOnRandomDigits) {
  std::mt19937 rng(20240601);
  std::uniform_int_distribution<int> digit(0, 9);
  std::uniform_int_distribution<int> length(1, 20);
  const char* countries[] = {"NL", "DE", "US", "IT", "RU", "AR", "BR", "HU", "GB", "FR"};
  for (int i = 0; i < 10000; ++i) {
    std::string digits;
    int len = length(rng);
    for (int j = 0; j < len; ++j) digits.push_back(static_cast<char>('0' + digit(rng)));
    if (i % 3 == 0 && digits[0] == '0') digits[0] = '1';
    Context ctx{.country = countries[i % 10],
                .nature = (i % 3 == 0)   ? Nature::kNotGiven
                          : (i % 3 == 1) ? Nature::kInternational
                                         : Nature::kNational};
    std::string text = (i % 3 == 0) ? "+" + digits : digits;
    ASSERT_EQ(Format(Nl().Readings(text, ctx)), Format(Nl().ReadingsWithoutFastPath(text, ctx)))
        << text << " in " << ctx.country << " nature " << static_cast<int>(ctx.nature);
  }
}

TEST(IdentityReadingsTest, KindsOfReadings) {
  std::vector<Reading> r =
      Nl().Readings("\"Mr X\" <sip:020-5551234@ims.example;user=phone>;tag=1", {.country = "NL"});
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0], (Reading{Kind::kUri, "sip:0205551234@ims.example"}));
  EXPECT_EQ(r[1], (Reading{Kind::kNumber, "+31205551234"}));
  r = Nl().Readings("mailto:Mr.X@Law.Example", {});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0], (Reading{Kind::kEmail, "mr.x@law.example"}));
  // A sip URI's reading is a URI, not an e-mail address, even where the two spell alike.
  r = Nl().Readings("sip:mr.x@law.example", {});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].kind, Kind::kUri);
}

TEST(IdentityReadingsTest, CountryIsCaseInsensitiveAndDefaults) {
  EXPECT_EQ(Read("0205551234", Nature::kNotGiven, "nl"), "+31205551234");
  EXPECT_EQ(Read("0205551234", Nature::kNotGiven, "Nl"), "+31205551234");
  EXPECT_EQ(Read("0205551234", Nature::kNotGiven, ""), "+31205551234");
  EXPECT_EQ(Read("0205551234", Nature::kNotGiven, "??"), "+31205551234");
  EXPECT_EQ(Read("0205551234", Nature::kNotGiven, "NLD"), "+31205551234");
  EXPECT_EQ(Read("030 12345678", Nature::kNotGiven, "de"), "+493012345678");
  Normalizer us("us");
  EXPECT_EQ(us.default_region(), "US");
  EXPECT_EQ(Format(us.Readings("1-650-253-0000", {})), "+16502530000");
  EXPECT_EQ(Format(us.Readings("011 31 20 555 1234", {})), "+31205551234");
  EXPECT_EQ(Nl().default_region(), "NL");
}

TEST(IdentityReadingsTest, UnknownDefaultRegionStillReadsInternationalNumbers) {
  Normalizer none("XX");
  EXPECT_EQ(Format(none.Readings("+31 20 555 1234", {})), "+31205551234");
  EXPECT_EQ(Format(none.Readings("0205551234", {})), "-");
  EXPECT_EQ(Format(none.Readings("0205551234", {.country = "NL"})), "+31205551234");
  EXPECT_EQ(Format(none.Readings("31205551234", {.nature = Nature::kNational})), "+31205551234");
}

TEST(IdentityReadingsTest, DigitsDialledAfterTheNumberAreKept) {
  // The matcher compares by prefix: "+31205551234123" must not become "+31205551234" or vanish.
  EXPECT_EQ(Read("+31205551234123"), "+31205551234123");
  EXPECT_EQ(Read("0205551234123"), "+31205551234123");
  EXPECT_EQ(Read("31205551234123", Nature::kInternational), "+31205551234123");
  EXPECT_EQ(Read("205551234123", Nature::kNational), "+31205551234123");
  // Far beyond any valid length, still read digit for digit.
  EXPECT_EQ(Read("+3120555123412345678901234"), "+3120555123412345678901234");
  EXPECT_EQ(Read("00312055512341234567890123"), "+312055512341234567890123");
}

TEST(IdentityReadingsTest, GarbageGivesNothing) {
  EXPECT_TRUE(Nl().Readings("", {}).empty());
  EXPECT_TRUE(Nl().Readings(std::string(2049, '1'), {}).empty());
  EXPECT_TRUE(Nl().Readings("+" + std::string(2047, '1'), {}).empty());  // > 48 digits
  std::string with_nul = "+31205551234";
  with_nul[5] = '\0';
  EXPECT_TRUE(Nl().Readings(with_nul, {}).empty());
  EXPECT_TRUE(Nl().Readings("sip:a%00b@law.example", {}).empty());
  EXPECT_TRUE(Nl().Readings("\xff\xfe\xfd", {}).empty());
  EXPECT_TRUE(Nl().Readings(std::string(2048, '<'), {}).empty());
  EXPECT_TRUE(Nl().Readings(std::string(2048, '"'), {}).empty());
  EXPECT_TRUE(Nl().Readings("\"\\", {}).empty());
  // At the size limit, a long but well-formed URI is still read.
  std::string uri = "sip:" + std::string(2048 - 4 - 12, 'a') + "@law.example";
  ASSERT_EQ(uri.size(), 2048u);
  EXPECT_EQ(Nl().Readings(uri, {}).size(), 1u);
}

TEST(IdentityListNumberTest, NotationsOfTheList) {
  for (const char* text : {"+31 20 555 1234", "+31 (0)20-555 12 34", "0031205551234", "020-5551234",
                           "tel:+31-20-555-1234", "tel:5551234;phone-context=+3120",
                           "  +31205551234 ", "(020) 555 12 34", "+31.20.555.12.34"}) {
    absl::StatusOr<std::string> n = Nl().ListNumber(text, "NL");
    ASSERT_TRUE(n.ok()) << text << ": " << n.status();
    EXPECT_EQ(*n, "+31205551234") << text;
  }
  EXPECT_EQ(*Nl().ListNumber("020-5551234", ""), "+31205551234");  // default region
  EXPECT_EQ(*Nl().ListNumber("020-5551234", "nl"), "+31205551234");
  EXPECT_EQ(*Nl().ListNumber("030 12345678", "DE"), "+493012345678");
  EXPECT_EQ(*Nl().ListNumber("06 1234 5678", "IT"), "+390612345678");
  EXPECT_EQ(*Nl().ListNumber("+39 (0)6 1234 5678", "NL"), "+390612345678");
  EXPECT_EQ(*Nl().ListNumber("(650) 253-0000", "US"), "+16502530000");
  // Long (digits after the number) and invalid-but-parseable numbers are kept: libphonenumber
  // does not know every private trunk range.
  EXPECT_EQ(*Nl().ListNumber("+31 20 555 1234 123", "NL"), "+31205551234123");
  EXPECT_EQ(*Nl().ListNumber("+31 99 123", "NL"), "+3199123");
  EXPECT_EQ(*Nl().ListNumber("112", "NL"), "+31112");
}

TEST(IdentityListNumberTest, RejectsWhatIsNotOneNumber) {
  struct Case {
    const char* text;
    const char* why;
  };
  for (const Case& c : {
           Case{"", "empty"},
           Case{"   ", "empty"},
           Case{"lawyer", "letters"},
           Case{"+31 20 555 1234 x12", "letters"},
           Case{"0800-LAWYERS", "letters"},
           Case{"sip:+31205551234@ims.example", "letters"},
           Case{"12", "fewer than 3 digits"},
           Case{"+3", "fewer than 3 digits"},
           Case{"*31#0205551234", "'*' or '#'"},
           Case{"+31 20 + 555 1234", "'+' inside"},
           Case{"+31205551234, +31205551235", "more than one"},
           Case{"+999 1234567", "country code"},
           Case{"tel:+31205551234;ext=1", "extension"},
           Case{"tel:+31-abc", "tel:"},
           Case{"0031", "too short"},
           Case{"+31 20 555 1234 5678 9012 3456 7890", "too long"},
       }) {
    absl::StatusOr<std::string> n = Nl().ListNumber(c.text, "NL");
    ASSERT_FALSE(n.ok()) << c.text << " gave " << *n;
    EXPECT_EQ(n.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(base::View(n.status().message()).find(c.why), std::string_view::npos)
        << c.text << ": " << n.status();
  }
  absl::StatusOr<std::string> n = Nl().ListNumber("020-5551234", "XX");
  ASSERT_FALSE(n.ok());
  EXPECT_NE(base::View(n.status().message()).find("unknown region"), std::string_view::npos);
  EXPECT_FALSE(Nl().ListNumber(std::string(3000, '1'), "NL").ok());
}

TEST(IdentityCanonicalTest, SipUri) {
  EXPECT_EQ(*CanonicalSipUri("sip:Mr.X@Law.Example;transport=tcp"), "sip:mr.x@law.example");
  EXPECT_EQ(*CanonicalSipUri("\"Mr X\" <sips:Mr.X@Law.Example:5061>;tag=1"),
            "sip:mr.x@law.example");
  EXPECT_EQ(*CanonicalSipUri("sip:+31-20-555-1234@IMS.example;user=phone"),
            "sip:+31205551234@ims.example");
  EXPECT_EQ(*CanonicalSipUri("sip:%2b31205551234@ims.example"), "sip:+31205551234@ims.example");
  EXPECT_EQ(*CanonicalSipUri("sip:alice@[2001:DB8::1]:5060"), "sip:alice@[2001:db8::1]");
  for (const char* bad : {"", "tel:+31205551234", "mailto:a@b.example", "mr.x@law.example",
                          "sip:", "sip:@law.example", "<sip:a@b.example", "sip:a@b c"}) {
    absl::StatusOr<std::string> u = CanonicalSipUri(bad);
    EXPECT_FALSE(u.ok()) << bad << " gave " << *u;
    EXPECT_EQ(u.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(IdentityCanonicalTest, Email) {
  EXPECT_EQ(*CanonicalEmail("Mr.X@Law.Example"), "mr.x@law.example");
  EXPECT_EQ(*CanonicalEmail("mailto:Mr.X@Law.Example?subject=x"), "mr.x@law.example");
  EXPECT_EQ(*CanonicalEmail("\"Mr X\" <mr.x@law.example>"), "mr.x@law.example");
  for (const char* bad : {"", "mr.x", "@law.example", "mr.x@", "sip:mr.x@law.example",
                          "mailto:a@b.example,c@d.example", "a b@law.example",
                          "mr..x@law.example@x", "+31205551234"}) {
    absl::StatusOr<std::string> e = CanonicalEmail(bad);
    EXPECT_FALSE(e.ok()) << bad << " gave " << *e;
    EXPECT_EQ(e.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

// A Normalizer is shared by the filter's threads.
TEST(IdentityNormalizerTest, ConcurrentReadersAgree) {
  const std::vector<Row>& rows = Corpus();
  std::vector<std::string> expected;
  for (const Row& row : rows) {
    expected.push_back(Format(
        Nl().Readings(row.input, {.country = row.country, .nature = ParseNature(row.nature)})));
  }
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (size_t i = 0; i < rows.size(); ++i) {
        const Row& row = rows[(i + t * 37) % rows.size()];
        size_t k = (i + t * 37) % rows.size();
        std::string got = Format(Nl().ReadingsWithoutFastPath(
            row.input, {.country = row.country, .nature = ParseNature(row.nature)}));
        if (got != expected[k]) ++mismatches[t];
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

}  // namespace
}  // namespace tapvault::identity
