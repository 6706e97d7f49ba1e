#include "media/wav.h"

#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "media/g711.h"
#include "media/internal/test_util.h"
#include "media/pcap_writer.h"
#include "sim/g711.h"
#include "sim/generator.h"
#include "sim/packets.h"
#include "sim/scenario.h"

namespace tapvault::media {
namespace {

using proto::Direction;
using testing::AsBytes;
using testing::Record;

std::string Bin(std::initializer_list<int> v) {
  std::string s;
  for (int b : v) s.push_back(static_cast<char>(b));
  return s;
}

// Interleaved samples of a 16-bit WAV (after the 44-byte header).
std::vector<int16_t> Samples(const std::string& wav) {
  std::vector<int16_t> out;
  for (size_t i = kWavHeaderSize; i + 1 < wav.size(); i += 2) {
    out.push_back(static_cast<int16_t>(static_cast<uint8_t>(wav[i]) |
                                       (static_cast<uint8_t>(wav[i + 1]) << 8)));
  }
  return out;
}
std::vector<int16_t> Channel(const std::vector<int16_t>& interleaved, int channel, int channels) {
  std::vector<int16_t> out;
  for (size_t i = static_cast<size_t>(channel); i < interleaved.size();
       i += static_cast<size_t>(channels)) {
    out.push_back(interleaved[i]);
  }
  return out;
}

TEST(WavHeader, ByteExact) {
  EXPECT_EQ(WavHeader(2, 8000, 640),
            Bin({'R', 'I', 'F', 'F', 0xA4, 0x02, 0, 0,  // 36 + 640 = 676 = 0x2A4
                 'W', 'A', 'V', 'E', 'f', 'm', 't', ' ', 16, 0, 0, 0,
                 1, 0,                                  // PCM
                 2, 0,                                  // channels
                 0x40, 0x1F, 0, 0,                      // 8000 Hz
                 0x00, 0x7D, 0, 0,                      // 32000 bytes/s
                 4, 0, 16, 0,                           // block align, bits
                 'd', 'a', 't', 'a', 0x80, 0x02, 0, 0}));
  EXPECT_EQ(WavHeader(1, 8000, 0).size(), kWavHeaderSize);
}

// --- end to end with the simulator's PDUs ---

struct SimCall {
  sim::Codec codec = sim::Codec::kPcmu;
  bool media_as_ip = false;
  sim::CallDirection direction = sim::CallDirection::kOutgoing;
  uint32_t packets = 12;
};

std::vector<Record> SimulatedCall(const SimCall& c) {
  sim::Scenario s;
  s.start = base::Timestamp{1'700'000'000'000'000};
  s.warrants.push_back({.liid = "LIID-SIM", .operator_id = "OP", .network_element = "NE",
                        .country = "NL", .target = "sip:+31611111111@ims.example.net"});
  sim::SipCall call;
  call.common.liid = "LIID-SIM";
  call.caller = "sip:+31611111111@ims.example.net";
  call.callee = "sip:+31622222222@ims.example.net";
  call.codec = c.codec;
  call.media_as_ip = c.media_as_ip;
  call.direction = c.direction;
  call.packets = c.packets;
  s.events.push_back(call);
  sim::Generator gen(s, *s.start);
  std::vector<sim::Action> actions;
  gen.Play(0, actions);
  std::vector<Record> records;
  for (const sim::Action& a : actions) {
    if (a.type != sim::Action::Type::kPdu) continue;
    records.push_back(testing::MakeRecord(a.bytes, 0, static_cast<uint8_t>(a.channel)));
  }
  return records;
}

// Decoded samples equal the simulator's tone within G.711 quantisation (half a step, a step
// being about |x| / 16).
void ExpectTone(const std::vector<int16_t>& got, const std::vector<double>& freqs, size_t n) {
  const std::vector<int16_t> want = sim::GenerateTone({.freqs_hz = freqs}, 0, n);
  ASSERT_GE(got.size(), n);
  double energy = 0;
  for (size_t i = 0; i < n; ++i) {
    ASSERT_LE(std::abs(got[i] - want[i]), std::abs(want[i]) / 16 + 16)
        << "sample " << i << " got " << got[i] << " want " << want[i];
    energy += std::abs(got[i]);
  }
  EXPECT_GT(energy / static_cast<double>(n), 1000);  // not silence
}

TEST(VoiceContentToWav, SimulatedCallBothLawsBothCcForms) {
  for (sim::Codec codec : {sim::Codec::kPcmu, sim::Codec::kPcma}) {
    for (bool as_ip : {false, true}) {
      SCOPED_TRACE(::testing::Message() << "codec " << int(codec) << " as_ip " << as_ip);
      const std::vector<Record> records =
          SimulatedCall({.codec = codec, .media_as_ip = as_ip, .packets = 12});
      VoiceStats st;
      absl::StatusOr<std::string> wav = VoiceContentToWav(records, {}, &st);
      ASSERT_TRUE(wav.ok()) << wav.status();
      EXPECT_EQ(st.channels, 2);
      EXPECT_EQ(st.samples_per_channel, 12u * 160);
      EXPECT_EQ(st.rtp_packets, 24u);
      EXPECT_EQ(st.non_rtp_cc, 0u);
      EXPECT_GT(st.iri, 0u);
      ASSERT_EQ(st.streams.size(), 2u);
      EXPECT_EQ(st.streams[0].channel, 0);
      EXPECT_EQ(st.streams[1].channel, 1);
      EXPECT_EQ(st.streams[0].payload_type, static_cast<int>(codec));
      EXPECT_EQ(st.streams[0].rtp.lost, 0u);
      EXPECT_EQ(st.start_us, st.streams[0].start_us);
      ASSERT_EQ(wav->size(), kWavHeaderSize + 12u * 160 * 2 * 2);
      EXPECT_EQ(wav->substr(0, kWavHeaderSize), WavHeader(2, 8000, 12 * 160 * 4));
      const std::vector<int16_t> all = Samples(*wav);
      // Left: the caller (first to appear) with 440 + 1000 Hz; right: the callee's DTMF "1".
      ExpectTone(Channel(all, 0, 2), {440, 1000}, 12 * 160);
      ExpectTone(Channel(all, 1, 2), {697, 1209}, 12 * 160);
    }
  }
}

TEST(VoiceContentToWav, DirectionOrderPutsTheTargetLeft) {
  // Incoming call: the target is the callee, whose stream appears second.
  const std::vector<Record> records =
      SimulatedCall({.direction = sim::CallDirection::kIncoming, .packets = 4});
  VoiceStats st;
  absl::StatusOr<std::string> wav =
      VoiceContentToWav(records, {.order = ChannelOrder::kDirection}, &st);
  ASSERT_TRUE(wav.ok()) << wav.status();
  ASSERT_EQ(st.streams.size(), 2u);
  EXPECT_EQ(st.streams[0].direction, Direction::kToTarget);
  EXPECT_EQ(st.streams[0].channel, 1);
  EXPECT_EQ(st.streams[1].channel, 0);
  const std::vector<int16_t> all = Samples(*wav);
  ExpectTone(Channel(all, 0, 2), {697, 1209}, 4 * 160);
  ExpectTone(Channel(all, 1, 2), {440, 1000}, 4 * 160);
}

TEST(VoiceContentToWav, MonoIsTheSumOfBothDirections) {
  const std::vector<Record> records = SimulatedCall({.packets = 3});
  absl::StatusOr<std::string> stereo = VoiceContentToWav(records, {}, nullptr);
  VoiceStats st;
  absl::StatusOr<std::string> mono = VoiceContentToWav(records, {.layout = WavLayout::kMono}, &st);
  ASSERT_TRUE(stereo.ok() && mono.ok());
  EXPECT_EQ(st.channels, 1);
  EXPECT_EQ(mono->substr(0, kWavHeaderSize), WavHeader(1, 8000, 3 * 160 * 2));
  const std::vector<int16_t> s = Samples(*stereo), m = Samples(*mono);
  ASSERT_EQ(m.size() * 2, s.size());
  for (size_t i = 0; i < m.size(); ++i) {
    EXPECT_EQ(m[i], std::clamp(s[2 * i] + s[2 * i + 1], -32768, 32767)) << i;
  }
}

TEST(VoiceContentToWav, TsharkReadsThePcapOfASimulatedIpCall) {
  if (std::system("command -v tshark >/dev/null 2>&1") != 0) GTEST_SKIP() << "no tshark";
  const std::vector<Record> records = SimulatedCall({.media_as_ip = true, .packets = 2});
  PcapStats st;
  absl::StatusOr<std::string> pcap = IpContentToPcap(records, &st);
  ASSERT_TRUE(pcap.ok());
  EXPECT_EQ(st.packets, 4u);
  const std::string file = ::testing::TempDir() + "media_sim_" + std::to_string(::getpid()) +
                           ".pcap";
  {
    FILE* f = std::fopen(file.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fwrite(pcap->data(), 1, pcap->size(), f);
    std::fclose(f);
  }
  FILE* p = ::popen(("tshark -n -r " + file + " -T fields -e ip.src 2>/dev/null").c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[256];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  EXPECT_EQ(::pclose(p), 0) << out;
  std::remove(file.c_str());
  EXPECT_EQ(out, "10.1.0.10\n10.2.0.20\n10.1.0.10\n10.2.0.20\n");
}

// --- hand-built records: every CC form, reordering, a gap, a late second stream ---

std::vector<uint8_t> Rtp(uint16_t seq, uint32_t ts, uint32_t ssrc, uint8_t pt, uint8_t code,
                         size_t n = 160) {
  return sim::BuildRtp({.payload_type = pt, .seq = seq, .timestamp = ts, .ssrc = ssrc},
                       std::vector<uint8_t>(n, code));
}

TEST(VoiceContentToWav, AllCcFormsReorderGapAndAlignment) {
  constexpr int64_t kT0 = 1'000'000'000'000;
  constexpr uint32_t kA = 0xA, kB = 0xB;
  std::vector<Record> r;
  // Stream A (PCMA, codes 1..4, seq 3 lost) over IPMM rtpFrame, IPCC IPv4, IPMM udpFrame,
  // IPMM without frameType; arriving 2, 1, 4.
  r.push_back(testing::RtpCcRecord(1, kT0 + 20'000, Direction::kFromTarget,
                                   Rtp(2, 160, kA, 8, 0xD4)));
  r.push_back(testing::IriRecord(1, kT0));
  r.push_back(testing::IpCcRecord(2, kT0 + 1'000, Direction::kFromTarget,
                                  sim::BuildUdpIpv4({1, 1, 1, 1}, {2, 2, 2, 2}, 1, 2,
                                                    Rtp(1, 0, kA, 8, 0xD0))));
  {
    std::vector<uint8_t> ip = sim::BuildUdpIpv4({1, 1, 1, 1}, {2, 2, 2, 2}, 1, 2,
                                                Rtp(4, 480, kA, 8, 0xD6));
    std::vector<uint8_t> udp(ip.begin() + 20, ip.end());
    r.push_back(testing::RtpCcRecord(3, kT0 + 60'000, Direction::kFromTarget, udp, 1));
  }
  // Stream B (PCMU), 100 ms after A's first sample, over IPv6 ipFrame, then no frameType.
  r.push_back(testing::RtpCcRecord(4, kT0 + 100'000, Direction::kToTarget,
                                   testing::UdpIpv6(1, 2, 3, 4, Rtp(100, 7, kB, 0, 0x80)), 0));
  r.push_back(testing::RtpCcRecord(5, kT0 + 120'000, Direction::kToTarget,
                                   Rtp(101, 167, kB, 0, 0x81), -1));
  // Not voice: a DNS-ish UDP packet, a TCP packet, non-G.711 RTP of stream B.
  const std::vector<uint8_t> dns = {0x12, 0x34, 0x01, 0x00};
  r.push_back(testing::IpCcRecord(6, kT0 + 130'000, Direction::kToTarget,
                                  sim::BuildUdpIpv4({1, 1, 1, 1}, {2, 2, 2, 2}, 53, 53, dns)));
  r.push_back(testing::IpCcRecord(7, kT0 + 130'000, Direction::kToTarget,
                                  sim::BuildTcpIpv4({1, 1, 1, 1}, {2, 2, 2, 2}, 1, 2, 0, 0,
                                                    sim::TcpFlags::kSyn, {})));
  r.push_back(testing::RtpCcRecord(8, kT0 + 140'000, Direction::kToTarget,
                                   Rtp(102, 327, kB, 101, 0x00, 4)));
  VoiceStats st;
  absl::StatusOr<std::string> wav = VoiceContentToWav(r, {}, &st);
  ASSERT_TRUE(wav.ok()) << wav.status();
  EXPECT_EQ(st.records, 9u);
  EXPECT_EQ(st.iri, 1u);
  EXPECT_EQ(st.cc, 8u);
  EXPECT_EQ(st.rtp_packets, 6u);
  EXPECT_EQ(st.non_rtp_cc, 2u);
  ASSERT_EQ(st.streams.size(), 2u);
  EXPECT_EQ(st.streams[0].ssrc, kA);
  EXPECT_EQ(st.streams[0].rtp.lost, 1u);
  EXPECT_EQ(st.streams[0].rtp.reordered, 1u);
  EXPECT_EQ(st.streams[0].rtp.gap_samples, 160u);
  // From the least-delayed packet: seq 2 at +20 ms is 160 samples (20 ms) into the stream.
  EXPECT_EQ(st.streams[0].start_us, kT0);
  EXPECT_EQ(st.streams[1].ssrc, kB);
  EXPECT_EQ(st.streams[1].rtp.non_g711, 1u);
  EXPECT_EQ(st.streams[1].start_us, kT0 + 100'000);
  EXPECT_EQ(st.start_us, kT0);
  // B starts 100 ms = 800 samples after A.
  EXPECT_EQ(st.samples_per_channel, 800u + 320);
  const std::vector<int16_t> all = Samples(*wav);
  const std::vector<int16_t> left = Channel(all, 0, 2), right = Channel(all, 1, 2);
  ASSERT_EQ(left.size(), 800u + 320);
  EXPECT_EQ(left[0], AlawToLinear(0xD0));
  EXPECT_EQ(left[159], AlawToLinear(0xD0));
  EXPECT_EQ(left[160], AlawToLinear(0xD4));
  EXPECT_EQ(left[320], 0);  // seq 3 lost: silence
  EXPECT_EQ(left[479], 0);
  EXPECT_EQ(left[480], AlawToLinear(0xD6));
  EXPECT_EQ(left[639], AlawToLinear(0xD6));
  EXPECT_EQ(left[640], 0);  // after A's end
  EXPECT_EQ(right[799], 0);
  EXPECT_EQ(right[800], UlawToLinear(0x80));
  EXPECT_EQ(right[959], UlawToLinear(0x80));
  EXPECT_EQ(right[960], UlawToLinear(0x81));
  EXPECT_EQ(right[1119], UlawToLinear(0x81));
}

TEST(VoiceContentToWav, NothingDecodableIsFailedPrecondition) {
  std::vector<Record> r = {testing::IriRecord(1, 0),
                           testing::RtpCcRecord(1, 0, Direction::kToTarget,
                                                Rtp(1, 0, 5, 18, 0x00, 10))};  // G.729
  VoiceStats st;
  absl::StatusOr<std::string> wav = VoiceContentToWav(r, {}, &st);
  EXPECT_EQ(wav.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(wav.status().message(), "no G.711 RTP in this communication");
  EXPECT_EQ(st.rtp_packets, 1u);
  EXPECT_EQ(VoiceContentToWav({}, {}, nullptr).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(VoiceContentToWav, CaptureTimesFarApartAreResourceExhausted) {
  std::vector<Record> r = {
      testing::RtpCcRecord(1, 0, Direction::kToTarget, Rtp(1, 0, 1, 0, 0x80)),
      testing::RtpCcRecord(2, int64_t{11} * 1'000'000, Direction::kFromTarget,
                           Rtp(1, 0, 2, 0, 0x80))};
  EXPECT_EQ(VoiceContentToWav(r, {.max_duration_s = 10}, nullptr).status().code(),
            absl::StatusCode::kResourceExhausted);
  absl::StatusOr<std::string> ok = VoiceContentToWav(r, {.max_duration_s = 12}, nullptr);
  EXPECT_TRUE(ok.ok()) << ok.status();
}

}  // namespace
}  // namespace tapvault::media
