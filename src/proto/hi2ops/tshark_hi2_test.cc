// Independent cross-check: our TS 101 671 IRI encoding, decoded by Wireshark's HI2operations,
// ISUP and Q.931 dissectors (tshark), gives the fields we encoded and our decoder returns.
//
// How tshark is fed: a pcap with link type 252 (LINKTYPE_WIRESHARK_UPPER_PDU), whose packets
// carry an "exported PDU" header naming the dissector to call ("HI2Operations", "isup",
// "q931"). The HI2Operations dissector is registered by name only (no port), so this is the
// one way to reach it from a capture file.
//
// Wireshark (4.0) compiles HI2Operations with the 3GPP TS 33.108 definition of IRIsContent,
// which tags the choice: [0] iRIContent / [1] iRISequence. TS 101 671 (HI2Operations.asn here)
// leaves it untagged, so the IRIContent record is taken from our [5] eTSI671IRI encoding and
// given to tshark wrapped in [0]; everything inside the record is compared as is.
// Tshark 4.0 shows ISUP / DSS1 number fields of HI2 as bytes; their digits, nature of address
// and presentation are cross-checked by handing the same bytes to the ISUP dissector (in an IAM)
// and to the Q.931 dissector (in a SETUP).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "base/hex.h"
#include "base/time.h"
#include "ber/writer.h"
#include "proto/hi2ops/hi2ops.h"
#include "proto/hi2ops/hi2ops_encode.h"

namespace tapvault::proto::hi2ops {
namespace {

using ::testing::ElementsAre;

using Fields = std::map<std::string, std::vector<std::string>>;  // field -> occurrences

bool HaveTshark() { return std::system("command -v tshark >/dev/null 2>&1") == 0; }

void PutLe32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}
void PutLe16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v));
  out.push_back(static_cast<char>(v >> 8));
}
void PutBe16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v >> 8));
  out.push_back(static_cast<char>(v));
}

// Exported-PDU header: tag 12 (dissector name, NUL-terminated, padded to 4), tag 0 (end).
std::string ExportedPdu(std::string_view dissector, std::string_view payload) {
  std::string name(dissector);
  name.push_back('\0');
  while (name.size() % 4 != 0) name.push_back('\0');
  std::string out;
  PutBe16(out, 12);
  PutBe16(out, static_cast<uint16_t>(name.size()));
  out += name;
  PutBe16(out, 0);
  PutBe16(out, 0);
  out.append(payload);
  return out;
}

// Classic pcap: global header (magic, v2.4, snaplen 65535, link type 252), then the packets.
std::string Pcap(const std::vector<std::string>& packets) {
  std::string out;
  PutLe32(out, 0xa1b2c3d4);
  PutLe16(out, 2);
  PutLe16(out, 4);
  PutLe32(out, 0);
  PutLe32(out, 0);
  PutLe32(out, 65535);
  PutLe32(out, 252);
  for (const std::string& p : packets) {
    PutLe32(out, 1764362388);
    PutLe32(out, 0);
    PutLe32(out, static_cast<uint32_t>(p.size()));
    PutLe32(out, static_cast<uint32_t>(p.size()));
    out += p;
  }
  return out;
}

// Runs tshark on `pcap` and returns, per packet, every occurrence of each field.
std::vector<Fields> RunTshark(const std::string& pcap, const std::vector<std::string>& fields) {
  std::filesystem::path file = std::filesystem::path(::testing::TempDir()) / "tapvault_hi2.pcap";
  {
    std::ofstream f(file, std::ios::binary);
    f << pcap;
  }
  std::string cmd = "TZ=UTC tshark -r '" + file.string() +
                    "' -T fields -E occurrence=a -E 'aggregator=|' -E separator=/t";
  for (const std::string& f : fields) cmd += " -e " + f;
  cmd += " 2>/dev/null";
  std::vector<Fields> packets;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return packets;
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) text.append(buf, n);
  pclose(p);
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    Fields row;
    size_t col = 0, pos = 0;
    while (col < fields.size()) {
      size_t tab = line.find('\t', pos);
      std::string cell = line.substr(pos, tab == std::string::npos ? std::string::npos : tab - pos);
      std::vector<std::string>& occ = row[fields[col]];
      size_t q = 0;
      while (!cell.empty()) {
        size_t bar = cell.find('|', q);
        occ.push_back(cell.substr(q, bar == std::string::npos ? std::string::npos : bar - q));
        if (bar == std::string::npos) break;
        q = bar + 1;
      }
      ++col;
      if (tab == std::string::npos) break;
      pos = tab + 1;
    }
    packets.push_back(std::move(row));
  }
  return packets;
}

std::string HexOf(std::string_view s) { return base::ToHex(base::AsBytes(s)); }
std::string Unhex(std::string_view hex) {
  auto b = base::FromHex(hex);
  return b ? std::string(base::AsString(*b)) : std::string("<bad hex>");
}

Hi2IriSpec CrossCheckSpec() {
  Hi2IriSpec spec{.kind = Kind::kIriBegin,
                  .liid = "LIID-7",
                  .cin = "12345678",
                  .operator_id = "OP1",
                  .timestamp = base::ParseRfc3339("2026-11-28T20:39:48.545Z").value(),
                  .direction = CallDirection::kOriginatingTarget};
  spec.parties = {
      {.qualifier = PartyQualifier::kOriginating,
       .format = NumberFormat::kIsup,
       .digits = "31201234567",
       .nature = NumberNature::kInternational,
       .presentation_restricted = true,
       .imsi = "204080123456789",
       .supplementary = {.redirecting_number = "0201234000",
                         .original_called_number = "0201234001",
                         .nature = NumberNature::kNational}},
      {.qualifier = PartyQualifier::kTerminating,
       .format = NumberFormat::kIsup,
       .digits = "201234",
       .nature = NumberNature::kNational},
      {.qualifier = PartyQualifier::kForwardedTo,
       .format = NumberFormat::kDss1,
       .digits = "0612345678",
       .nature = NumberNature::kNational},
      {.qualifier = PartyQualifier::kOriginating,
       .format = NumberFormat::kDss1,
       .digits = "112",
       .nature = NumberNature::kSubscriber,
       .presentation_restricted = true},
      {.qualifier = PartyQualifier::kGprsTarget,
       .format = NumberFormat::kMsisdn,
       .digits = "31611223344",
       .nature = NumberNature::kInternational},
      {.qualifier = PartyQualifier::kTerminating,
       .format = NumberFormat::kMap,
       .digits = "31611000000",
       .nature = NumberNature::kInternational},
      {.qualifier = PartyQualifier::kTerminating,
       .format = NumberFormat::kSipUri,
       .digits = "sip:+31201234567@ims.example"},
      {.qualifier = PartyQualifier::kTerminating,
       .format = NumberFormat::kTelUrl,
       .digits = "tel:+31201234567"},
  };
  return spec;
}

std::string Param(uint8_t code, std::string_view value) {
  std::string p;
  p.push_back(static_cast<char>(code));
  p.push_back(static_cast<char>(value.size()));
  p.append(value);
  return p;
}

// ITU ISUP IAM (Q.763 2.1): CIC, type 0x01, fixed mandatory part, pointers, called party number,
// optional part (already-encoded parameter TLVs), end of optional parameters.
std::string IsupIam(std::string_view called, std::string_view optional_params) {
  std::string m = {'\x01', '\x00', '\x01', '\x00', '\x00', '\x00', '\x0a', '\x00'};
  m.push_back(2);                                         // pointer to called party number
  m.push_back(static_cast<char>(1 + 1 + called.size()));  // pointer to optional part
  m.push_back(static_cast<char>(called.size()));
  m.append(called);
  m.append(optional_params);
  m.push_back(0);
  return m;
}

// Q.931 SETUP with calling (0x6C) and called (0x70) party number elements.
std::string Q931Setup(std::string_view calling, std::string_view called) {
  std::string m = {'\x08', '\x01', '\x01', '\x05', '\x04', '\x03', '\x80', '\x90', '\xa3'};
  m += Param(0x6C, calling);
  m += Param(0x70, called);
  return m;
}

TEST(TsharkHi2, HI2operationsIsupAndQ931DissectorsAgree) {
  if (!HaveTshark()) {
    GTEST_SKIP() << "tshark is not installed (scripts/install-deps installs it); cross-check "
                    "skipped";
  }
  const Hi2IriSpec spec = CrossCheckSpec();
  ber::Writer w;
  WriteIri(w, spec);
  const std::vector<std::byte> ours = w.Take();

  // Our decoder's view.
  ber::Context ctx;
  auto five = ber::ReadSingle(ours, ctx);
  ASSERT_TRUE(five.ok());
  PsPdu pdu;
  PayloadItem item{.kind = Kind::kIri};
  ASSERT_TRUE(DecodeIri(*five, ctx, pdu, item).ok());

  // The IRIContent record, wrapped as Wireshark's IRIsContent [0] iRIContent.
  auto iris = ber::ReadSingle(five->value, ctx);
  ASSERT_TRUE(iris.ok());
  auto record = ber::ReadSingle(iris->value, ctx);
  ASSERT_TRUE(record.ok());
  ber::Writer tw;
  tw.Begin(ber::Ctx(0, true));
  tw.AddRaw(record->encoding);
  tw.End();
  std::vector<std::byte> for_tshark = tw.Take();

  const std::vector<std::string> hi2_fields = {
      "HI2Operations.iRIContent",
      "HI2Operations.lawfulInterceptionIdentifier",
      "HI2Operations.communication_Identity_Number",
      "HI2Operations.operator_Identifier",
      "HI2Operations.generalizedTime",
      "HI2Operations.intercepted_Call_Direct",
      "HI2Operations.party_Qualifier",
      "HI2Operations.imsi",
      "HI2Operations.iSUP_Format",
      "HI2Operations.dSS1_Format",
      "HI2Operations.msISDN",
      "HI2Operations.mAP_Format",
      "HI2Operations.sip_uri",
      "HI2Operations.tel_url",
      "HI2Operations.ISUP_SS_parameters_item",
  };
  std::vector<Fields> hi2 =
      RunTshark(Pcap({ExportedPdu("HI2Operations", base::AsString(for_tshark))}), hi2_fields);
  ASSERT_EQ(hi2.size(), 1u) << "tshark produced no output";
  Fields& f = hi2[0];
  EXPECT_THAT(f["HI2Operations.iRIContent"], ElementsAre("1"));  // iRI-Begin-record
  EXPECT_THAT(f["HI2Operations.lawfulInterceptionIdentifier"], ElementsAre(HexOf("LIID-7")));
  EXPECT_THAT(f["HI2Operations.communication_Identity_Number"], ElementsAre(HexOf("12345678")));
  EXPECT_THAT(f["HI2Operations.operator_Identifier"], ElementsAre(HexOf("OP1")));
  EXPECT_THAT(f["HI2Operations.generalizedTime"],
              ElementsAre("Nov 28, 2026 20:39:48.545000000 UTC"));
  EXPECT_THAT(f["HI2Operations.intercepted_Call_Direct"], ElementsAre("1"));
  EXPECT_THAT(f["HI2Operations.party_Qualifier"],
              ElementsAre("0", "1", "2", "0", "3", "1", "1", "1"));
  EXPECT_THAT(f["HI2Operations.imsi"], ElementsAre("02040821436587f9"));
  // The bytes in each field are what our number encoders produce, in the field the format
  // names (callingPartyNumber of the originating party, calledPartyNumber of the others).
  EXPECT_THAT(
      f["HI2Operations.iSUP_Format"],
      ElementsAre(HexOf(EncodeIsupNumber("31201234567", NumberNature::kInternational, true, true)),
                  HexOf(EncodeIsupNumber("201234", NumberNature::kNational, false, false))));
  EXPECT_THAT(
      f["HI2Operations.dSS1_Format"],
      ElementsAre(HexOf(EncodeDss1Number("0612345678", NumberNature::kNational, false, false)),
                  HexOf(EncodeDss1Number("112", NumberNature::kSubscriber, true, true))));
  EXPECT_THAT(f["HI2Operations.msISDN"],
              ElementsAre(HexOf(EncodeAddressString("31611223344", NumberNature::kInternational))));
  EXPECT_THAT(f["HI2Operations.mAP_Format"], ElementsAre("911316010000f0"));
  EXPECT_THAT(f["HI2Operations.sip_uri"], ElementsAre(HexOf("sip:+31201234567@ims.example")));
  EXPECT_THAT(f["HI2Operations.tel_url"], ElementsAre(HexOf("tel:+31201234567")));
  ASSERT_EQ(f["HI2Operations.ISUP_SS_parameters_item"].size(), 2u);
  ASSERT_EQ(f["HI2Operations.iSUP_Format"].size(), 2u);
  ASSERT_EQ(f["HI2Operations.dSS1_Format"].size(), 2u);

  // Digits, nature of address and presentation, from the bytes tshark found in the HI2 record.
  std::string calling = Unhex(f["HI2Operations.iSUP_Format"][0]);
  std::string called = Unhex(f["HI2Operations.iSUP_Format"][1]);
  std::string ss = Unhex(f["HI2Operations.ISUP_SS_parameters_item"][0]) +
                   Unhex(f["HI2Operations.ISUP_SS_parameters_item"][1]);
  std::string dss1_called = Unhex(f["HI2Operations.dSS1_Format"][0]);
  std::string dss1_calling = Unhex(f["HI2Operations.dSS1_Format"][1]);
  const std::vector<std::string> num_fields = {
      "isup.called",
      "isup.called_party_nature_of_address_indicator",
      "isup.calling",
      "isup.calling_party_nature_of_address_indicator",
      "isup.address_presentation_restricted_indicator",
      "isup.redirecting",
      "isup.original_called_number",
      "q931.calling_party_number.digits",
      "q931.called_party_number.digits",
      "q931.number_type",
      "q931.presentation_ind",
  };
  std::vector<Fields> nums =
      RunTshark(Pcap({ExportedPdu("isup", IsupIam(called, Param(0x0A, calling) + ss)),
                      ExportedPdu("q931", Q931Setup(dss1_calling, dss1_called))}),
                num_fields);
  ASSERT_EQ(nums.size(), 2u);
  Fields& isup = nums[0];
  EXPECT_THAT(isup["isup.called"], ElementsAre("201234"));
  EXPECT_THAT(isup["isup.called_party_nature_of_address_indicator"], ElementsAre("3"));
  EXPECT_THAT(isup["isup.calling"], ElementsAre("31201234567"));
  // calling party number, redirecting number, original called number, in that order.
  EXPECT_THAT(isup["isup.calling_party_nature_of_address_indicator"], ElementsAre("4", "3", "3"));
  EXPECT_THAT(isup["isup.address_presentation_restricted_indicator"], ElementsAre("1", "0", "0"));
  EXPECT_THAT(isup["isup.redirecting"], ElementsAre("0201234000"));
  EXPECT_THAT(isup["isup.original_called_number"], ElementsAre("0201234001"));
  Fields& q931 = nums[1];
  EXPECT_THAT(q931["q931.calling_party_number.digits"], ElementsAre("112"));
  EXPECT_THAT(q931["q931.called_party_number.digits"], ElementsAre("0612345678"));
  EXPECT_THAT(q931["q931.number_type"], ElementsAre("0x04", "0x02"));  // subscriber, national
  EXPECT_THAT(q931["q931.presentation_ind"], ElementsAre("0x01"));     // restricted

  // Our decoder returns the same identities, with the roles of their qualifiers.
  using R = PartyRole;
  using N = NumberNature;
  EXPECT_THAT(
      item.parties,
      ElementsAre(
          Party{R::kOriginating, isup["isup.calling"][0], N::kInternational},
          Party{R::kRedirecting, isup["isup.redirecting"][0], N::kNational},
          Party{R::kRedirecting, isup["isup.original_called_number"][0], N::kNational},
          Party{R::kTerminating, isup["isup.called"][0], N::kNational},
          Party{R::kForwardedTo, q931["q931.called_party_number.digits"][0], N::kNational},
          Party{R::kOriginating, q931["q931.calling_party_number.digits"][0], N::kSubscriber},
          Party{R::kTarget, "31611223344", N::kInternational},
          Party{R::kTerminating, "31611000000", N::kInternational},
          Party{R::kTerminating, Unhex(f["HI2Operations.sip_uri"][0])},
          Party{R::kTerminating, Unhex(f["HI2Operations.tel_url"][0])}));
  EXPECT_EQ(item.kind, Kind::kIriBegin);
  EXPECT_EQ(base::FormatRfc3339(*item.timestamp), "2026-11-28T20:39:48.545000Z");
}

}  // namespace
}  // namespace tapvault::proto::hi2ops
