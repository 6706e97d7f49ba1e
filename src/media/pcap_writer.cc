#include "media/pcap_writer.h"

#include <algorithm>
#include <utility>

#include "media/internal/cc_scan.h"

namespace tapvault::media {
namespace {

void PutLe16(std::string& out, uint16_t v) {
  out.push_back(static_cast<char>(v & 0xFF));
  out.push_back(static_cast<char>(v >> 8));
}
void PutLe32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

}  // namespace

PcapWriter::PcapWriter(uint32_t linktype, uint32_t snaplen) : snaplen_(snaplen) {
  PutLe32(buffer_, kPcapMagicUs);
  PutLe16(buffer_, 2);  // version_major
  PutLe16(buffer_, 4);  // version_minor
  PutLe32(buffer_, 0);  // thiszone: timestamps are UTC
  PutLe32(buffer_, 0);  // sigfigs
  PutLe32(buffer_, snaplen);
  PutLe32(buffer_, linktype);
}

void PcapWriter::Add(base::Timestamp time, base::Bytes packet) {
  constexpr int64_t kMaxUs = int64_t{0xFFFFFFFF} * 1'000'000 + 999'999;
  const int64_t us = std::clamp<int64_t>(time.unix_us, 0, kMaxUs);
  const size_t incl = std::min<size_t>(packet.size(), snaplen_);
  PutLe32(buffer_, static_cast<uint32_t>(us / 1'000'000));
  PutLe32(buffer_, static_cast<uint32_t>(us % 1'000'000));
  PutLe32(buffer_, static_cast<uint32_t>(incl));
  PutLe32(buffer_, static_cast<uint32_t>(std::min<size_t>(packet.size(), 0xFFFFFFFF)));
  buffer_.append(base::AsString(packet.first(incl)));
  ++packets_;
}

std::string PcapWriter::TakeBuffer() { return std::exchange(buffer_, std::string()); }

absl::StatusOr<std::string> IpContentToPcap(
    const std::vector<store::ContentReader::Record>& records, PcapStats* stats) {
  PcapWriter writer;
  internal::CcScanCounts counts;
  uint64_t non_ip = 0;
  internal::ScanCc(records, counts, [&](const internal::CcItem& cc) {
    const uint8_t version = cc.content.empty() ? 0 : static_cast<uint8_t>(cc.content[0]) >> 4;
    if (cc.form != internal::CcForm::kIpPacket || (version != 4 && version != 6)) {
      ++non_ip;
      return;
    }
    writer.Add({.unix_us = cc.time_us}, cc.content);
  });
  if (stats) {
    *stats = {.records = counts.records,
              .packets = writer.packets(),
              .non_ip_cc = non_ip,
              .iri = counts.iri,
              .other = counts.other,
              .undecodable = counts.undecodable};
  }
  return writer.TakeBuffer();
}

}  // namespace tapvault::media
