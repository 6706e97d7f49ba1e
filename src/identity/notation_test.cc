#include "identity/internal/notation.h"

#include <gtest/gtest.h>

#include <string>

namespace tapvault::identity::internal {
namespace {

TEST(IdentityFreeNumberTest, SeparatorsTrunkZeroAndExtensions) {
  NumberText n;
  ASSERT_TRUE(ParseFreeNumber("+31 (0)20-555 12 34", false, n));
  EXPECT_TRUE(n.global);
  EXPECT_EQ(n.digits, "310205551234");
  EXPECT_EQ(n.digits_without_trunk_zero, "31205551234");
  EXPECT_EQ(n.ext, "");

  ASSERT_TRUE(ParseFreeNumber("(020) 555 12 34", false, n));  // parentheses around an area code
  EXPECT_FALSE(n.global);
  EXPECT_EQ(n.digits, "0205551234");
  EXPECT_EQ(n.digits_without_trunk_zero, "");

  ASSERT_TRUE(ParseFreeNumber("020/555.12.34 ext. 12", false, n));
  EXPECT_EQ(n.digits, "0205551234");
  EXPECT_EQ(n.ext, "12");
  ASSERT_TRUE(ParseFreeNumber("0205551234;ext=7", false, n));
  EXPECT_EQ(n.ext, "7");
  const std::string nbsp = "\xc2\xa0";  // U+00A0 no-break space, as word processors write
  ASSERT_TRUE(ParseFreeNumber("+31" + nbsp + "20" + nbsp + "5551234", false, n));
  EXPECT_EQ(n.digits, "31205551234");
}

TEST(IdentityFreeNumberTest, IsupDigits) {
  NumberText n;
  ASSERT_TRUE(ParseFreeNumber("0205551234F", false, n));
  EXPECT_EQ(n.digits, "0205551234");
  ASSERT_TRUE(ParseFreeNumber("*31#0205551234", false, n));
  EXPECT_EQ(n.digits, "*31#0205551234");
  EXPECT_FALSE(ParseFreeNumber("02F05551234", false, n));  // filler only at the end
  EXPECT_FALSE(ParseFreeNumber("0205551234FA", false, n));
  EXPECT_FALSE(ParseFreeNumber("F", false, n));
  EXPECT_FALSE(ParseFreeNumber("*#", false, n));
}

TEST(IdentityFreeNumberTest, RejectsWhatIsNoNumber) {
  NumberText n;
  for (const char* bad : {"", " ", "+", "++31", "+31+20", "abc", "020 555 abc", "0x12345", "12 x",
                          "020-5551234 ext", "+31 20 555 1234 (office)", "5551234@"}) {
    EXPECT_FALSE(ParseFreeNumber(bad, false, n)) << bad;
  }
  EXPECT_FALSE(ParseFreeNumber(std::string(kMaxDigits + 1, '1'), false, n));
  EXPECT_TRUE(ParseFreeNumber(std::string(kMaxDigits, '1'), false, n));
}

TEST(IdentityFreeNumberTest, StrictAllowsOnlyANumber) {
  NumberText n;
  EXPECT_TRUE(ParseFreeNumber("+31 (0)20-555 12 34", true, n));
  EXPECT_FALSE(ParseFreeNumber("0205551234F", true, n));
  EXPECT_FALSE(ParseFreeNumber("*31#0205551234", true, n));
  EXPECT_FALSE(ParseFreeNumber("0205551234 x12", true, n));
  EXPECT_FALSE(ParseFreeNumber("0205551234,12", true, n));
}

TEST(IdentityTelSubscriberTest, GlobalLocalAndParameters) {
  NumberText n;
  ASSERT_TRUE(ParseTelSubscriber("+31-20-555-1234;isub=12;EXT=34", true, n));
  EXPECT_TRUE(n.global);
  EXPECT_EQ(n.digits, "31205551234");
  EXPECT_EQ(n.ext, "34");
  EXPECT_EQ(n.context_digits, "");

  ASSERT_TRUE(ParseTelSubscriber("555-1234;Phone-Context=+31-20", true, n));
  EXPECT_FALSE(n.global);
  EXPECT_EQ(n.digits, "5551234");
  EXPECT_EQ(n.context_digits, "3120");

  ASSERT_TRUE(ParseTelSubscriber("5551234;phone-context=ims.example", true, n));
  EXPECT_EQ(n.context_digits, "");

  ASSERT_TRUE(ParseTelSubscriber("*31#5551234;phone-context=+31", true, n));
  EXPECT_EQ(n.digits, "*31#5551234");
  EXPECT_FALSE(ParseTelSubscriber("*31#5551234", false, n));  // marks only where allowed
  EXPECT_FALSE(ParseTelSubscriber("+*31#5551234", true, n));  // never in a global number
  EXPECT_FALSE(ParseTelSubscriber(";phone-context=+31", true, n));
  EXPECT_FALSE(ParseTelSubscriber("alice", true, n));
}

TEST(IdentityNotationTest, NameAddrForms) {
  Notation n = ParseNotation("\"Mr \\\"X\\\" <esq>\" <sip:Mr.X@Law.Example;transport=tls>;tag=1");
  EXPECT_EQ(n.sip_uri, "sip:mr.x@law.example");
  EXPECT_TRUE(n.numbers.empty());
  n = ParseNotation("Mr X <sips:mr.x@law.example:5061>");
  EXPECT_EQ(n.sip_uri, "sip:mr.x@law.example");
  n = ParseNotation("sip:mr.x@law.example;tag=77");
  EXPECT_EQ(n.sip_uri, "sip:mr.x@law.example");
  n = ParseNotation("<tel:+31205551234>");
  ASSERT_EQ(n.numbers.size(), 1u);
  EXPECT_FALSE(n.numbers[0].bare);
  n = ParseNotation("0205551234");
  ASSERT_EQ(n.numbers.size(), 1u);
  EXPECT_TRUE(n.numbers[0].bare);  // the decoder's nature applies
  EXPECT_TRUE(ParseNotation("\"unterminated <sip:a@b.example>").empty());
  EXPECT_TRUE(ParseNotation("\"Mr X\" sip:a@b.example").empty());
  EXPECT_TRUE(ParseNotation("<sip:a@b.example").empty());
}

TEST(IdentityNotationTest, SipUserParts) {
  Notation n = ParseNotation("sip:%2B31-20-555-1234@ims.example;user=phone");
  EXPECT_EQ(n.sip_uri, "sip:+31205551234@ims.example");
  ASSERT_EQ(n.numbers.size(), 1u);
  EXPECT_EQ(n.numbers[0].digits, "31205551234");
  // Without user=phone, separators stay in the URI (it is compared as written).
  n = ParseNotation("sip:+31-20-555-1234@ims.example");
  EXPECT_EQ(n.sip_uri, "sip:+31-20-555-1234@ims.example");
  ASSERT_EQ(n.numbers.size(), 1u);
  // Names are no numbers; two digits are too few to be one without user=phone.
  EXPECT_TRUE(ParseNotation("sip:alice@law.example").numbers.empty());
  EXPECT_TRUE(ParseNotation("sip:12@law.example").numbers.empty());
  EXPECT_TRUE(ParseNotation("sip:alice@law.example;user=phone").numbers.empty());
  // Password, port, parameters and headers go; IPv6 literals stay whole.
  EXPECT_EQ(ParseNotation("sip:alice:pw@[2001:DB8::1]:5060;lr?X=y").sip_uri,
            "sip:alice@[2001:db8::1]");
  EXPECT_EQ(ParseNotation("sip:ims.example:5060").sip_uri, "sip:ims.example");
  for (const char* bad :
       {"sip:", "sip:@x.example", "sip:a@", "sip:a@x..example", "sip:a@[::1",
        "sip:a@x.example:port", "sip:a@x.example junk", "sip:a%00@x.example", "sip:a@-"}) {
    EXPECT_EQ(ParseNotation(bad).sip_uri, "") << bad;
  }
}

TEST(IdentityNotationTest, EmailAddresses) {
  EXPECT_EQ(CanonicalEmails("mailto:A@X.Example,b@y.example?subject=1"),
            (std::vector<std::string>{"a@x.example", "b@y.example"}));
  EXPECT_EQ(CanonicalEmails("mailto:a@x.example,a@X.example"),
            (std::vector<std::string>{"a@x.example"}));
  EXPECT_EQ(CanonicalEmails("Mr.X@Law.Example"), (std::vector<std::string>{"mr.x@law.example"}));
  EXPECT_TRUE(CanonicalEmails("sip:a@x.example").empty());
  for (const char* bad : {"a@", "@x", ".a@x.example", "a.@x.example", "a b@x.example",
                          "a@x@y.example", "a@x_y..example", "a@"}) {
    EXPECT_TRUE(CanonicalEmails(bad).empty()) << bad;
  }
  Notation n = ParseNotation("+31205551234@fax.example");
  ASSERT_EQ(n.numbers.size(), 1u);
  EXPECT_EQ(n.emails, (std::vector<std::string>{"+31205551234@fax.example"}));
}

TEST(IdentityNotationTest, OverLongInputIsNothing) {
  EXPECT_TRUE(ParseNotation(std::string(kMaxInputBytes + 1, '1')).empty());
  EXPECT_TRUE(ParseNotation("sip:" + std::string(kMaxInputBytes, 'a') + "@x.example").empty());
}

}  // namespace
}  // namespace tapvault::identity::internal
