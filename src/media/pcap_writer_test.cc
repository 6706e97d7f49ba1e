#include "media/pcap_writer.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "media/internal/test_util.h"
#include "sim/packets.h"

namespace tapvault::media {
namespace {

using testing::AsBytes;

std::string Bin(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}

TEST(PcapWriter, GlobalAndRecordHeadersByteExact) {
  PcapWriter w;
  EXPECT_EQ(w.buffer(), Bin({0xD4, 0xC3, 0xB2, 0xA1, 0x02, 0x00, 0x04, 0x00,  // magic, 2.4
                             0, 0, 0, 0, 0, 0, 0, 0,                          // thiszone, sigfigs
                             0x00, 0x00, 0x04, 0x00,                          // snaplen 262144
                             0x65, 0x00, 0x00, 0x00}));                       // linktype 101
  const std::vector<uint8_t> packet = {0x45, 0xAA, 0xBB};
  w.Add({.unix_us = 1'700'000'000'123'456}, AsBytes(packet));
  // 1700000000 = 0x6553F100
  EXPECT_EQ(w.buffer().substr(kPcapGlobalHeaderSize),
            Bin({0x00, 0xF1, 0x53, 0x65, 0x40, 0xE2, 0x01, 0x00,  // ts_sec, ts_usec 123456
                 3, 0, 0, 0, 3, 0, 0, 0,                          // incl_len, orig_len
                 0x45, 0xAA, 0xBB}));
  EXPECT_EQ(w.packets(), 1u);
  std::string taken = w.TakeBuffer();
  EXPECT_EQ(taken.size(), kPcapGlobalHeaderSize + kPcapRecordHeaderSize + 3);
  EXPECT_TRUE(w.buffer().empty());
  w.Add({.unix_us = -5}, AsBytes(packet));  // before 1970: 0
  EXPECT_EQ(w.buffer().substr(0, 8), std::string(8, '\0'));
}

TEST(PcapWriter, SnaplenCutsButKeepsOriginalLength) {
  PcapWriter w(kLinktypeRaw, 4);
  const std::vector<uint8_t> packet(10, 0x45);
  w.Add({.unix_us = 0}, AsBytes(packet));
  const std::string rec = w.buffer().substr(kPcapGlobalHeaderSize);
  EXPECT_EQ(rec.substr(8, 8), Bin({4, 0, 0, 0, 10, 0, 0, 0}));
  EXPECT_EQ(rec.size(), kPcapRecordHeaderSize + 4);
}

std::vector<testing::Record> MixedCommunication(std::vector<std::vector<uint8_t>>& ip_packets) {
  using proto::Direction;
  const std::vector<uint8_t> p1 = {1, 2, 3}, p2 = {4, 5}, p3 = {6, 7, 8}, g711 = {0xFF};
  ip_packets.clear();
  ip_packets.push_back(sim::BuildUdpIpv4({10, 1, 0, 10}, {10, 2, 0, 20}, 4000, 5004, p1));
  ip_packets.push_back(sim::BuildUdpIpv4({10, 2, 0, 20}, {10, 1, 0, 10}, 5004, 4000, p2));
  ip_packets.push_back(testing::UdpIpv6(1, 2, 1234, 5678, p3));
  const std::vector<uint8_t> rtp = sim::BuildRtp({.payload_type = 0, .seq = 1, .ssrc = 9}, g711);
  std::vector<testing::Record> records;
  records.push_back(testing::IriRecord(1, 1'000'000));
  records.push_back(testing::IpCcRecord(1, 2'000'001, Direction::kFromTarget, ip_packets[0]));
  records.push_back(testing::RtpCcRecord(2, 2'100'000, Direction::kToTarget, rtp));  // not IP
  records.push_back(testing::IpCcRecord(3, 2'500'002, Direction::kToTarget, ip_packets[1]));
  testing::Record garbage = testing::MakeRecord({std::byte{0x30}, std::byte{0x05}}, 3'000'000);
  records.push_back(garbage);
  // IPMMCC ipFrame (frameType 0) carrying IPv6.
  records.push_back(testing::RtpCcRecord(4, 3'000'003, Direction::kFromTarget, ip_packets[2], 0));
  testing::Record system;
  system.header.type = store::RecordType::kSystem;
  records.push_back(system);
  return records;
}

TEST(IpContentToPcap, WritesIpCcInOrderAndCountsTheRest) {
  std::vector<std::vector<uint8_t>> ip;
  std::vector<testing::Record> records = MixedCommunication(ip);
  PcapStats st;
  absl::StatusOr<std::string> pcap = IpContentToPcap(records, &st);
  ASSERT_TRUE(pcap.ok()) << pcap.status();
  EXPECT_EQ(st.records, 7u);
  EXPECT_EQ(st.packets, 3u);
  EXPECT_EQ(st.non_ip_cc, 1u);
  EXPECT_EQ(st.iri, 1u);
  EXPECT_EQ(st.other, 1u);
  EXPECT_EQ(st.undecodable, 1u);

  // Walk the records: times from the PDU timeStamp (microseconds), bytes as intercepted.
  const int64_t times[] = {2'000'001, 2'500'002, 3'000'003};
  size_t at = kPcapGlobalHeaderSize;
  for (int i = 0; i < 3; ++i) {
    PcapWriter one;
    one.Add({.unix_us = times[i]}, AsBytes(ip[static_cast<size_t>(i)]));
    const std::string expected = one.buffer().substr(kPcapGlobalHeaderSize);
    ASSERT_LE(at + expected.size(), pcap->size());
    EXPECT_EQ(pcap->substr(at, expected.size()), expected) << i;
    at += expected.size();
  }
  EXPECT_EQ(at, pcap->size());
}

TEST(IpContentToPcap, EmptyCommunicationIsAValidEmptyCapture) {
  PcapStats st;
  absl::StatusOr<std::string> pcap = IpContentToPcap({}, &st);
  ASSERT_TRUE(pcap.ok());
  EXPECT_EQ(pcap->size(), kPcapGlobalHeaderSize);
  EXPECT_EQ(st.packets, 0u);
}

// Independent check: Wireshark reads the file and finds the addresses and ports we wrote.
TEST(IpContentToPcap, TsharkReadsIt) {
  if (std::system("command -v tshark >/dev/null 2>&1") != 0) GTEST_SKIP() << "no tshark";
  std::vector<std::vector<uint8_t>> ip;
  absl::StatusOr<std::string> pcap = IpContentToPcap(MixedCommunication(ip), nullptr);
  ASSERT_TRUE(pcap.ok());
  const std::filesystem::path dir = std::filesystem::temp_directory_path() /
                                    ("media_pcap_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path file = dir / "c.pcap";
  std::ofstream(file, std::ios::binary) << *pcap;
  const std::string cmd = "tshark -n -r " + file.string() +
                          " -T fields -e frame.time_epoch -e ip.src -e ipv6.src -e udp.dstport "
                          "2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[512];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  EXPECT_EQ(::pclose(p), 0) << out;
  std::filesystem::remove_all(dir);
  EXPECT_EQ(out,
            "2.000001000\t10.1.0.10\t\t5004\n"
            "2.500002000\t10.2.0.20\t\t4000\n"
            "3.000003000\t\t2001:db8::1\t5678\n")
      << out;
}

}  // namespace
}  // namespace tapvault::media
