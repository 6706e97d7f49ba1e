// Splits a handover byte stream (back-to-back BER PS-PDUs, no other framing, as TS 102 232-1
// delivers them over TCP) into complete PDUs, and resynchronises after bytes that cannot start
// one. Used by the receiving sessions and by `tapvault inspect`.
//
//   stream::Framer f;
//   f.Append(bytes_from_socket);
//   for (;;) {
//     stream::Framer::Result r = f.Next(/*eof=*/false);
//     if (r.event == stream::Framer::Event::kNeedMore) break;
//     if (r.event == stream::Framer::Event::kFrame) Handle(r.frame, r.offset);
//     else Report(r.offset, r.skipped, r.reason);     // kSkipped: garbage dropped
//   }
//
// A frame is one complete TLV with a universal SEQUENCE tag. Where the next bytes cannot start
// one (wrong tag, malformed or oversized length), the framer skips to the next place where a
// PS-PDU plausibly starts (a SEQUENCE holding [1] PSHeader whose first field is the li-ps domain
// OID 0.4.0.2.2.5.1...) and reports the skipped byte count. Memory is bounded by max_pdu_bytes:
// a PDU that claims more is treated as garbage. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/byte_reader.h"

namespace tapvault::proto::stream {

// Offset of the first plausible PS-PDU start in data[from..], or data.size() if none is found.
// A start within the last few bytes cannot be confirmed yet and is reported as data.size() only
// if no earlier one exists; callers keep such a tail (see Framer).
size_t FindPduStart(base::Bytes data, size_t from);

class Framer {
 public:
  enum class Event { kNeedMore, kFrame, kSkipped };
  struct Result {
    Event event = Event::kNeedMore;
    base::Bytes frame;     // kFrame: the PDU; valid until the next Append() or Next()
    uint64_t offset = 0;   // stream offset of the frame or of the first skipped byte
    size_t skipped = 0;    // kSkipped: bytes dropped
    std::string reason;    // kSkipped: why
  };

  explicit Framer(size_t max_pdu_bytes = 16u << 20) : max_pdu_bytes_(max_pdu_bytes) {}

  void Append(base::Bytes data);
  // At eof, an incomplete tail is reported as kSkipped ("stream ends inside a PDU").
  Result Next(bool eof = false);

  uint64_t offset() const { return consumed_ + pos_; }  // stream offset of the next unread byte
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  void Compact();

  size_t max_pdu_bytes_;
  std::vector<std::byte> buf_;
  size_t pos_ = 0;          // first unread byte in buf_
  uint64_t consumed_ = 0;   // bytes dropped from the front of buf_
};

}  // namespace tapvault::proto::stream
