#include "inspect/inspect.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace tapvault::inspect {
namespace {

std::string Capture(const std::string& name) {
  std::ifstream in(std::string(std::getenv("TAPVAULT_SHARED_DIR")) + "/data/openli/" + name,
                   std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<nlohmann::json> Lines(const std::string& out) {
  std::vector<nlohmann::json> v;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) v.push_back(nlohmann::json::parse(line));
  return v;
}

TEST(Inspect, DecodesARealCaptureRecordForRecord) {
  const std::string raw = Capture("microts_HI2_20261128T204233_34560.raw");
  ASSERT_FALSE(raw.empty());
  std::istringstream in(raw);
  std::ostringstream out, err;
  Summary s = Decode(in, out, err);
  EXPECT_EQ(s.errors, 0u) << err.str();
  EXPECT_EQ(s.bytes, raw.size());
  auto lines = Lines(out.str());
  ASSERT_EQ(lines.size(), s.items);
  ASSERT_GE(s.items, s.pdus);
  // The first PDU (bytes 30 82 00 9f ...): LEMFIP0001's IPIRI, CIN 7, GeneralizedTime.
  const nlohmann::json& first = lines[0];
  EXPECT_EQ(first["offset"], 0);
  EXPECT_EQ(first["liid"], "LEMFIP0001");
  EXPECT_EQ(first["network_id"], "LEMFTESTOP/lemfcoll");
  EXPECT_EQ(first["cin"], 7);
  EXPECT_EQ(first["service"], "ipaccess");
  EXPECT_EQ(first["ts"], "2026-11-28T20:39:48.545000Z");
  EXPECT_EQ(first["delivery_country"], "NZ");
  EXPECT_EQ(lines[1]["offset"], 0xa3);  // 4 + 0x9f bytes later
  // Every IPMM IRI names its parties; keep-alives carry the pseudo-LIID.
  size_t sip = 0, keepalives = 0;
  for (const auto& l : lines) {
    if (l["service"] == "ipmm") {
      ++sip;
      EXPECT_FALSE(l["parties"].empty()) << l.dump();
    }
    if (l["kind"] == "keepalive") {
      ++keepalives;
      EXPECT_EQ(l["liid"], "openli-1.1.20");
    }
  }
  EXPECT_GT(sip, 0u);
  EXPECT_GT(keepalives, 0u);
}

TEST(Inspect, ReportsBadBytesWithTheirOffsetAndGoesOn) {
  const std::string raw = Capture("microts_HI3_20261128T204237_45928.raw");
  std::istringstream clean_in(raw);
  std::ostringstream clean_out, clean_err;
  const Summary clean = Decode(clean_in, clean_out, clean_err);
  // Garbage between the first and second PDU, and a truncated PDU at the end.
  const size_t first_len = 4 + 0x14f;  // 30 82 01 4f
  std::string broken = raw.substr(0, first_len) + "garbage!" + raw.substr(first_len) +
                       raw.substr(0, 40);
  std::istringstream in(broken);
  std::ostringstream out, err;
  const Summary s = Decode(in, out, err);
  EXPECT_EQ(s.items, clean.items);  // nothing valid is lost
  EXPECT_EQ(s.errors, 2u);
  EXPECT_NE(err.str().find("at byte offset " + std::to_string(first_len)), std::string::npos)
      << err.str();
  EXPECT_NE(err.str().find("at byte offset " + std::to_string(raw.size() + 8)), std::string::npos)
      << err.str();
  std::istringstream again(broken);
  std::ostringstream o2, e2;
  EXPECT_EQ(inspect::Run(again, o2, e2), 1);
}

}  // namespace
}  // namespace tapvault::inspect
