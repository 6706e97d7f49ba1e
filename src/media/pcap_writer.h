// The IP content of a stored communication as a classic libpcap file (not pcapng), which
// Wireshark/tshark and every other capture tool read: one record per intercepted IP packet,
// link type LINKTYPE_RAW (101: the packet starts with its IPv4 or IPv6 header), microsecond
// timestamps from the PDU, in the order the records were received.
//
//   media::PcapStats stats;
//   ASSIGN_OR_RETURN(std::string pcap, media::IpContentToPcap(records, &stats));
//
//   media::PcapWriter w;                        // or streaming: header written now,
//   w.Add(t, packet);                           // one record per Add,
//   std::string chunk = w.TakeBuffer();         // take what is written so far, any time
//
// File format (all little-endian, https://www.tcpdump.org/manpages/pcap-savefile.5.html):
//   global header 24 bytes: magic a1b2c3d4, version 2.4, thiszone 0, sigfigs 0, snaplen, linktype
//   per packet 16 bytes: ts_sec, ts_usec, incl_len, orig_len; then incl_len bytes.
// Thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/byte_reader.h"
#include "base/time.h"
#include "store/store.h"

namespace tapvault::media {

inline constexpr uint32_t kPcapMagicUs = 0xA1B2C3D4;  // microsecond timestamps
inline constexpr uint32_t kLinktypeRaw = 101;         // LINKTYPE_RAW: IPv4 or IPv6, no link header
inline constexpr uint32_t kPcapSnaplen = 262144;      // libpcap's default maximum
inline constexpr size_t kPcapGlobalHeaderSize = 24;
inline constexpr size_t kPcapRecordHeaderSize = 16;

class PcapWriter {
 public:
  // Writes the global header into the buffer.
  explicit PcapWriter(uint32_t linktype = kLinktypeRaw, uint32_t snaplen = kPcapSnaplen);

  // Appends one packet record. A packet longer than snaplen is cut to it (orig_len keeps the
  // real length). Times before 1970 are written as 0, after 2106 as the last second pcap holds.
  void Add(base::Timestamp time, base::Bytes packet);

  uint64_t packets() const { return packets_; }
  const std::string& buffer() const { return buffer_; }
  // Moves out what has been written so far and continues with an empty buffer.
  std::string TakeBuffer();

 private:
  uint32_t snaplen_;
  uint64_t packets_ = 0;
  std::string buffer_;
};

struct PcapStats {
  uint64_t records = 0;      // records given
  uint64_t packets = 0;      // IP packets written
  uint64_t non_ip_cc = 0;    // CC that is not an IP packet (RTP/UDP frames, PSTN bearer,
                             // other services, content not starting with IP version 4/6)
  uint64_t iri = 0;          // IRI payload items (not content)
  uint64_t other = 0;        // TRI/HI1 items, system records
  uint64_t undecodable = 0;  // records whose PDU did not decode (skipped)
};

// IP packets of the CC of `records` (from store::ContentReader): IPCC (TS 102 232-3 iPPackets /
// iPTruncatedPacket) and IPMMCC with frameType ipFrame (or no frameType and an IP header).
// The time of each packet is its CCPayload timeStamp, else the PSHeader's, else the record's
// receipt time. Everything else is skipped and counted in *stats (may be null). Never fails on
// content; the StatusOr leaves room for limits.
absl::StatusOr<std::string> IpContentToPcap(
    const std::vector<store::ContentReader::Record>& records, PcapStats* stats);

}  // namespace tapvault::media
