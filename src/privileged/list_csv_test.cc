// Every rule of the import format (privileged-list.md), one group of tests per section.
#include "privileged/list_csv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/strings.h"

namespace tapvault::privileged {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

const identity::Normalizer& Norm() {
  static const identity::Normalizer* n = new identity::Normalizer("NL");
  return *n;
}

constexpr std::string_view kHeader = "identity,type,source,valid_from,valid_to,ref\n";

absl::StatusOr<std::vector<Entry>> Parse(std::string_view text,
                                         std::vector<LineError>* errors = nullptr,
                                         std::string region = "NL", size_t* duplicates = nullptr) {
  return ParseListCsv(text, {.default_source = "NOvA", .region = std::move(region)}, Norm(), errors,
                      duplicates);
}

// The single entry of a one-row list with only an identity column.
Entry One(std::string_view identity, std::string region = "NL") {
  std::string text = "identity\n";
  text += identity;
  text += "\n";
  absl::StatusOr<std::vector<Entry>> r = Parse(text, nullptr, std::move(region));
  EXPECT_TRUE(r.ok()) << r.status();
  if (!r.ok() || r->size() != 1) {
    ADD_FAILURE() << "want exactly one entry for " << identity;
    return {};
  }
  return (*r)[0];
}

std::vector<size_t> Lines(const std::vector<LineError>& errors) {
  std::vector<size_t> out;
  for (const LineError& e : errors) out.push_back(e.line);
  return out;
}

// --- Identities: number ------------------------------------------------------------------------

TEST(ListCsvNumber, EveryNotationOfTheFormatNormalisesToE164) {
  for (std::string_view n : {"+31 20 555 1234", "\"+31 (0)20-555 12 34\"", "0031205551234",
                             "020-5551234", "tel:+31-20-555-1234"}) {
    Entry e = One(n);
    EXPECT_EQ(e.type, EntryType::kNumber) << n;
    EXPECT_EQ(e.value, "+31205551234") << n;
    EXPECT_TRUE(e.value_to.empty());
  }
}

TEST(ListCsvNumber, NationalNotationIsReadInTheImportRegion) {
  EXPECT_EQ(One("030 1234567", "DE").value, "+49301234567");
  EXPECT_EQ(One("030 1234567", "NL").value, "+31301234567");
}

TEST(ListCsvNumber, NotANumberIsABadLine) {
  std::vector<LineError> errors;
  auto r = Parse(std::string(kHeader) + "12,number,,,,\n", &errors);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].line, 2u);
  EXPECT_THAT(errors[0].reason, HasSubstr("not a telephone number"));
}

TEST(ListCsvNumber, TooShortOrTooLongNumbersAreBadLines) {
  std::vector<LineError> errors;
  // 5 digits would act as a prefix of all numbers beginning with them; 16 digits exceed E.164.
  EXPECT_FALSE(Parse("identity,type\n+31205,number\n+3120555123456789,number\n", &errors).ok());
  EXPECT_THAT(Lines(errors), ElementsAre(2, 3));
}

// --- Identities: prefix ------------------------------------------------------------------------

TEST(ListCsvPrefix, TrailingStarMakesAPrefixInAnyNotation) {
  for (std::string_view p : {"+31 20 555 12*", "0031 20 555 12*", "\"+31 (0)20 555 12*\"",
                             "020 555 12*", "020-555-12 *", "tel:+31-20-555-12*"}) {
    Entry e = One(p);
    EXPECT_EQ(e.type, EntryType::kPrefix) << p;
    EXPECT_EQ(e.value, "+312055512") << p;
  }
}

TEST(ListCsvPrefix, NationalPrefixKeepsTheRegionsTrunkRule) {
  // NL drops the trunk 0; IT keeps it as part of the number.
  EXPECT_EQ(One("0205 55*").value, "+3120555");
  EXPECT_EQ(One("06 1234*", "IT").value, "+39061234");
}

TEST(ListCsvPrefix, ExplicitTypePrefixWithoutStar) {
  auto r = Parse("identity,type\n+31 20 555 12,prefix\n");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].type, EntryType::kPrefix);
  EXPECT_EQ((*r)[0].value, "+312055512");
}

TEST(ListCsvPrefix, TooShortStarInsideAndStarWithOtherTypeAreBadLines) {
  std::vector<LineError> errors;
  EXPECT_FALSE(Parse("identity,type\n"
                     "+31 20*,\n"       // 4 digits: all of Amsterdam
                     "+31 2*0 555*,\n"  // '*' inside
                     "+31 20 555 12*,number\n"
                     "+31 20 555 12*,prefix\n"  // fine
                     "+31 2O 555 12*,\n",       // a letter O
                     &errors)
                   .ok());
  EXPECT_THAT(Lines(errors), ElementsAre(2, 3, 4, 6));
}

// --- Identities: range -------------------------------------------------------------------------

TEST(ListCsvRange, FromToOfEqualLength) {
  Entry e = One("+31205551200..+31205551299");
  EXPECT_EQ(e.type, EntryType::kRange);
  EXPECT_EQ(e.value, "+31205551200");
  EXPECT_EQ(e.value_to, "+31205551299");
  Entry national = One("020 555 1200 .. 020 555 1299");
  EXPECT_EQ(national.value, "+31205551200");
  EXPECT_EQ(national.value_to, "+31205551299");
}

TEST(ListCsvRange, UnequalLengthReversedAndMalformedAreBadLines) {
  std::vector<LineError> errors;
  EXPECT_FALSE(Parse("identity,type\n"
                     "+31205551200..+312055512999,\n"
                     "+31205551299..+31205551200,\n"
                     "+31205551200..+31205551250..+31205551299,\n"
                     "+31205551200..,\n"
                     "+31205551200,range\n",
                     &errors)
                   .ok());
  EXPECT_THAT(Lines(errors), ElementsAre(2, 3, 4, 5, 6));
  EXPECT_THAT(errors[0].reason, HasSubstr("equal length"));
  EXPECT_THAT(errors[1].reason, HasSubstr("greater than"));
}

// --- Identities: uri ---------------------------------------------------------------------------

TEST(ListCsvUri, ComparedWithoutParametersDisplayNameAndCase) {
  for (std::string_view u : {"sip:Mr.X@Law.Example;transport=tcp", "SIPS:mr.x@LAW.example",
                             "\"\"\"Mr X, advocaat\"\" <sip:mr.x@law.example>;tag=1\"",
                             "sip:mr.x@law.example?subject=hi"}) {
    Entry e = One(u);
    EXPECT_EQ(e.type, EntryType::kUri) << u;
    EXPECT_EQ(e.value, "sip:mr.x@law.example") << u;
  }
}

TEST(ListCsvUri, TelephoneUserPartAlsoYieldsANumber) {
  for (std::string_view u :
       {"sip:+31205551234@ims.example;user=phone", "sip:+31-20-555-1234@ims.example",
        "sip:020-5551234@ims.example;user=phone", "sip:%2B31205551234@ims.example",
        "sip:5551234;phone-context=+3120@ims.example;user=phone"}) {
    auto r = Parse(base::StrCat("identity\n", u, "\n"));
    ASSERT_TRUE(r.ok()) << u << ": " << r.status();
    ASSERT_EQ(r->size(), 2u) << u;
    EXPECT_EQ((*r)[0].type, EntryType::kNumber) << u;
    EXPECT_EQ((*r)[0].value, "+31205551234") << u;
    EXPECT_EQ((*r)[1].type, EntryType::kUri) << u;
    EXPECT_TRUE((*r)[1].value.starts_with("sip:")) << u;
  }
}

TEST(ListCsvUri, NumericUserPartWithoutUserPhoneOrPlusIsOnlyAUri) {
  // "sip:0800@pbx" may be an internal extension: no number entry without user=phone or "+".
  auto r = Parse("identity\nsip:0800@pbx.law.example\n");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].type, EntryType::kUri);
}

TEST(ListCsvUri, UserPhoneThatIsNoNumberAndNonSipUrisAreBadLines) {
  std::vector<LineError> errors;
  EXPECT_FALSE(Parse("identity,type\n"
                     "sip:mr.x@law.example;user=phone,\n"
                     "http://law.example,uri\n"
                     "mr.x@law.example,uri\n",
                     &errors)
                   .ok());
  EXPECT_THAT(Lines(errors), ElementsAre(2, 3, 4));
}

TEST(ListCsvUri, TelUriWithTypeUriIsANumber) {
  auto r = Parse("identity,type\ntel:+31-20-555-1234,uri\n");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].type, EntryType::kNumber);
  EXPECT_EQ((*r)[0].value, "+31205551234");
}

// --- Identities: email -------------------------------------------------------------------------

TEST(ListCsvEmail, CaseInsensitive) {
  for (std::string_view m : {"Mr.X@Law.Example", "mailto:MR.X@law.example"}) {
    Entry e = One(m);
    EXPECT_EQ(e.type, EntryType::kEmail) << m;
    EXPECT_EQ(e.value, "mr.x@law.example") << m;
  }
  std::vector<LineError> errors;
  EXPECT_FALSE(Parse("identity,type\nx@,\nnobody,email\n", &errors).ok());
  EXPECT_THAT(Lines(errors), ElementsAre(2, 3));
}

// --- Columns -----------------------------------------------------------------------------------

TEST(ListCsvColumns, SourceDefaultsToTheImportsSource) {
  auto r = Parse(std::string(kHeader) +
                 "+31205551234,,,,,\n"
                 "+31205551235,,KNB,,,r-17\n");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].source, "NOvA");
  EXPECT_EQ((*r)[0].ref, "");
  EXPECT_EQ((*r)[1].source, "KNB");
  EXPECT_EQ((*r)[1].ref, "r-17");
}

TEST(ListCsvColumns, AnyOrderAndOptionalColumnsMayBeLeftOut) {
  auto r = Parse("ref,Identity, TYPE\nr1,\"+31 20 555 12*\",prefix\nr2,+31205551234,\n");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].value, "+31205551234");
  EXPECT_EQ((*r)[0].ref, "r2");
  EXPECT_EQ((*r)[1].type, EntryType::kPrefix);
  EXPECT_EQ((*r)[1].ref, "r1");
  EXPECT_FALSE((*r)[1].valid_from_us.has_value());
}

TEST(ListCsvColumns, BadHeadersRejectTheFile) {
  for (std::string_view text : {"identity,type,colour\n+31205551234,,\n",  // unknown column
                                "identity,identity\n+31205551234,+31205551235\n",
                                "type,source\nnumber,x\n",       // no identity column
                                "+31205551234\n+31205551235\n",  // no header at all
                                "", "\n\n# only comments\n"}) {
    std::vector<LineError> errors;
    auto r = Parse(text, &errors);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << text;
    ASSERT_EQ(errors.size(), 1u) << text;
    EXPECT_THAT(errors[0].reason, Not(HasSubstr("5551234"))) << text;
  }
}

TEST(ListCsvColumns, HeaderOnlyIsAnEmptyList) {
  auto r = Parse(kHeader);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->empty());
}

TEST(ListCsvColumns, TypeDetectionAndExplicitType) {
  auto r = Parse(
      "identity,type\n"
      "+31205551234,\n"
      "+31205551235,NUMBER\n"
      "mr.x@law.example,\n"
      "sip:mr.y@law.example,\n"
      "+31205552000..+31205552099,\n");
  ASSERT_TRUE(r.ok()) << r.status();
  std::vector<EntryType> types;
  for (const Entry& e : *r) types.push_back(e.type);
  EXPECT_THAT(types, ElementsAre(EntryType::kNumber, EntryType::kNumber, EntryType::kRange,
                                 EntryType::kUri, EntryType::kEmail));
  std::vector<LineError> errors;
  EXPECT_FALSE(Parse("identity,type\n+31205551234,phone\n", &errors).ok());
  EXPECT_THAT(errors.at(0).reason, HasSubstr("'phone' is not one of"));
}

TEST(ListCsvColumns, EntryTypeNamesRoundTrip) {
  for (EntryType t : {EntryType::kNumber, EntryType::kPrefix, EntryType::kRange, EntryType::kUri,
                      EntryType::kEmail}) {
    EXPECT_EQ(EntryTypeFromName(EntryTypeName(t)), t);
  }
  EXPECT_EQ(EntryTypeFromName("Number"), std::nullopt);
}

// --- Validity ----------------------------------------------------------------------------------

TEST(ListCsvValidity, DatesAndDateTimesUtcByDefault) {
  auto r = Parse(std::string(kHeader) +
                 "+31205551231,,,2026-01-01,2026-02-01,\n"
                 "+31205551232,,,2026-01-01T10:00,,\n"
                 "+31205551233,,,2026-01-01T10:00:00+01:00,2026-01-01T10:00:00.5Z,\n");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 3u);
  const int64_t jan1 = 1767225600LL * 1'000'000;  // 2026-01-01T00:00:00Z
  EXPECT_EQ((*r)[0].valid_from_us, jan1);
  EXPECT_EQ((*r)[0].valid_to_us, jan1 + 31LL * 86'400'000'000);
  EXPECT_EQ((*r)[1].valid_from_us, jan1 + 10LL * 3'600'000'000);
  EXPECT_FALSE((*r)[1].valid_to_us.has_value());
  EXPECT_EQ((*r)[2].valid_from_us, jan1 + 9LL * 3'600'000'000);
  EXPECT_EQ((*r)[2].valid_to_us, jan1 + 10LL * 3'600'000'000 + 500'000);
}

TEST(ListCsvValidity, ValidToMustBeLaterThanValidFromAndDatesMustParse) {
  std::vector<LineError> errors;
  EXPECT_FALSE(Parse(std::string(kHeader) +
                         "+31205551231,,,2026-02-01,2026-02-01,\n"  // empty interval
                         "+31205551232,,,2026-02-01,2026-01-01,\n"
                         "+31205551233,,,2026-02-30,,\n"
                         "+31205551234,,,,tomorrow,\n"
                         "+31205551235,,,2026-01-01,2026-01-02,\n",  // fine
                     &errors)
                   .ok());
  EXPECT_THAT(Lines(errors), ElementsAre(2, 3, 4, 5));
  EXPECT_THAT(errors[0].reason, HasSubstr("exclusive"));
  EXPECT_THAT(errors[3].reason, HasSubstr("valid_to: 'tomorrow'"));
}

TEST(ParseIsoDateTime, ExtendedBasicFractionsAndOffsets) {
  const int64_t jan1 = 1767225600LL * 1'000'000;
  EXPECT_EQ(*ParseIsoDateTime("2026-01-01"), jan1);
  EXPECT_EQ(*ParseIsoDateTime("20260101"), jan1);
  EXPECT_EQ(*ParseIsoDateTime("2026-01-01T00:00:00Z"), jan1);
  EXPECT_EQ(*ParseIsoDateTime("20260101T013000+0130"), jan1);
  EXPECT_EQ(*ParseIsoDateTime("2025-12-31T23:00:00-01:00"), jan1);
  EXPECT_EQ(*ParseIsoDateTime("2026-01-01 00:00:00.000001"), jan1 + 1);
  EXPECT_EQ(*ParseIsoDateTime("2026-01-01T00:00:00,1234567Z"), jan1 + 123456);
  EXPECT_EQ(*ParseIsoDateTime("2024-02-29"), 1709164800LL * 1'000'000);
  EXPECT_EQ(*ParseIsoDateTime("1969-12-31T23:59:59Z"), -1'000'000);
  for (std::string_view bad : {"", "2026", "2026-1-01", "2026-13-01", "2025-02-29", "2026-01-01T",
                               "2026-01-01T24:00", "2026-01-01T10:60", "2026-01-01T10:00:00.Z",
                               "2026-01-01T10:00Zx", "2026-01-01T10:00+1", "2026-01-01X"}) {
    EXPECT_FALSE(ParseIsoDateTime(bad).ok()) << bad;
  }
}

// --- File: CSV, comments, blank lines, line ends -------------------------------------------------

TEST(ListCsvFile, QuotedFieldsMayHoldCommasQuotesAndNewlines) {
  std::vector<LineError> errors;
  auto r = Parse(
      "identity,ref\n"
      "\"+31 20 555 1234\",\"a, b\"\n"
      "+31205551235,\"say \"\"hi\"\"\"\n"
      "+31205551236,\"two\nlines\"\n"
      "x,\n",  // line 6: the line count went past the quoted newline
      &errors);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(Lines(errors), ElementsAre(6));
  r = Parse(
      "identity,ref\n"
      "\"+31 20 555 1234\",\"a, b\"\n"
      "+31205551235,\"say \"\"hi\"\"\"\n"
      "+31205551236,\"two\r\nlines\"\r\n");
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].ref, "a, b");
  EXPECT_EQ((*r)[1].ref, "say \"hi\"");
  EXPECT_EQ((*r)[2].ref, "two\r\nlines");  // ref is opaque: line breaks kept
}

TEST(ListCsvFile, BomCrLfCommentsAndBlankLines) {
  std::vector<LineError> errors;
  auto r = Parse(
      "\xEF\xBB\xBF# delivered by NOvA\r\n"
      "identity,type,source,valid_from,valid_to,ref\r\n"
      "\r\n"
      "# a comment, with a comma\r\n"
      "+31205551234,,,,,\r\n"
      "   \r\n"
      ",,,,,\r\n"
      "+31205551235,,,,,",  // no line end at the end of the file
      &errors);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].value, "+31205551234");
  EXPECT_EQ((*r)[1].value, "+31205551235");
}

TEST(ListCsvFile, MalformedCsvIsNamedWithTheLineWhereTheRowStarts) {
  std::vector<LineError> errors;
  auto r = Parse(
      "identity,ref\n"
      "+31205551234,a\"b\n"              // 2: quote inside unquoted field
      "\"+31205551235\"x,\n"             // 3: text after closing quote
      "+31205551236\n"                   // 4: one field, header has two
      "+31205551237,a,b\n"               // 5: three fields
      "+31205551238,ok\n"                // 6: fine
      "+31205551239,\"never\nclosed\n",  // 7: unterminated (runs to the end)
      &errors);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(Lines(errors), ElementsAre(2, 3, 4, 5, 7));
  EXPECT_THAT(errors[4].reason, HasSubstr("not closed"));
}

TEST(ListCsvFile, LimitsOnFieldsAndEncoding) {
  std::vector<LineError> errors;
  std::string text = "identity,ref\n+31205551234," + std::string(kMaxFieldBytes + 1, 'r') + "\n";
  text += "+31205551235,\xC3\x28\n";  // 3: invalid UTF-8
  text +=
      "+31205551236,a\x01"
      "b\n";                             // 4: control character
  text += "+31205551237,Caf\xC3\xA9\n";  // 5: fine (UTF-8)
  EXPECT_FALSE(Parse(text, &errors).ok());
  EXPECT_THAT(Lines(errors), ElementsAre(2, 3, 4));
}

// --- Rules of an import --------------------------------------------------------------------------

TEST(ListCsvRules, EveryBadLineIsNamedAndTheFileRejectedWhole) {
  std::vector<LineError> errors;
  auto r = Parse(std::string(kHeader) +
                     "+31205551234,,,,,\n"
                     "12,,,,,\n"  // 3
                     "+31205551235,,,,,\n"
                     "+31205551236,,,2026-13-01,,\n"  // 5
                     "sip:x@y;user=phone,,,,,\n"      // 6
                     "+31205551237,fax,,,,\n"         // 7
                     "+31205551238,,,,,\n",
                 &errors);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Lines(errors), ElementsAre(3, 5, 6, 7));
  for (size_t line : {3, 5, 6, 7}) {
    EXPECT_THAT(std::string(r.status().message()), HasSubstr(base::StrCat("line ", line, ": ")));
  }
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("4 bad lines"));
}

TEST(ListCsvRules, ReasonsNeverEchoTheIdentity) {
  std::vector<LineError> errors;
  // Each identity is malformed in a different way; none may appear in the reasons or message.
  const std::vector<std::string> identities = {"+31 20 555 98765 43210 99",
                                               "0205559876x",
                                               "+3120555*9876*",
                                               "sip:geheim@x;user=phone",
                                               "+31205559876..+3120555987",
                                               "geheim@",
                                               "\"Geheim\" <http://geheim.example>"};
  std::string text = "identity,type\n";
  for (const std::string& id : identities) {
    text += "\"";
    for (char c : id) text += c == '"' ? std::string("\"\"") : std::string(1, c);
    text += "\",";
    text += id.starts_with("\"Geheim") ? "uri" : "";
    text += "\n";
  }
  auto r = Parse(text, &errors);
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(errors.size(), identities.size());
  for (const LineError& e : errors) {
    for (std::string_view secret : {"5559876", "98765", "geheim", "Geheim", "9876"}) {
      EXPECT_THAT(e.reason, Not(HasSubstr(secret))) << "line " << e.line;
    }
  }
  EXPECT_THAT(std::string(r.status().message()), Not(HasSubstr("9876")));
  EXPECT_THAT(std::string(r.status().message()), Not(HasSubstr("geheim")));
}

TEST(ListCsvRules, DuplicatesAreAllowedAndChangeNothing) {
  size_t duplicates = 99;
  auto r = Parse(std::string(kHeader) +
                     "+31205551234,,,,,\n"
                     "+31 20 555 1234,,,,,\n"                // same number, other notation
                     "020-5551234,number,,,,\n"              // and again
                     "+31205551234,,KNB,,,\n"                // another source: another entry
                     "sip:+31205551234@ims.example,,,,,\n",  // uri + the same number again
                 nullptr, "NL", &duplicates);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(duplicates, 3u);
  ASSERT_EQ(r->size(), 3u);
  EXPECT_EQ((*r)[0].source, "KNB");
  EXPECT_EQ((*r)[1].source, "NOvA");
  EXPECT_EQ((*r)[2].type, EntryType::kUri);
  EXPECT_TRUE(std::is_sorted(r->begin(), r->end()));
}

}  // namespace
}  // namespace tapvault::privileged
