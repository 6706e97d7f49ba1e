// Splits a handover byte stream (back-to-back BER PS-PDUs, no other framing, as TS 102 232-1
// delivers them over TCP) into complete PDUs, and resynchronises after bytes that cannot start
// one. The one framer of the code base: used by ingest::Session, `tapvault inspect` and tests.
//
//   stream::Framer f;
//   f.Append(bytes_from_socket);
//   for (;;) {
//     stream::Framer::Result r = f.Next(/*eof=*/false);
//     if (r.event == stream::Framer::Event::kNeedMore) break;
//     if (r.event == stream::Framer::Event::kFrame) Handle(r.frame, r.offset);
//     else Report(r.offset, r.skipped, stream::SkipReasonName(r.reason));  // kSkipped
//   }
//
// Framing. In step, the bytes at the read position must be a SEQUENCE (0x30) with a well-formed
// length of at most max_pdu_bytes whose first element is the pSHeader [1] (0xa1); the complete
// TLV is the frame. Anything else is an error (SkipReason) at that offset: the framer then
// resynchronises, i.e. skips to the next place where a PS-PDU plausibly starts (FindPduStart:
// a SEQUENCE holding [1] PSHeader whose first field is the li-psDomainId 0.4.0.2.2.5.1...), never
// the byte it failed on. The first kSkipped of such a run carries the error; if the run goes on
// past the buffered bytes, each later kSkipped of it has reason kResync. resyncing() says whether
// a run is still open. The frames, and the errors with their offsets, do not depend on how the
// stream is cut into Append() calls.
//
// Cost: a PDU with a definite length is walked once, when all of it is buffered; one with an
// indefinite length is walked again only when the buffered bytes have doubled (or at eof), so a
// peer trickling bytes costs O(n log n). Memory is bounded by max_pdu_bytes plus the last
// Append(): a PDU that claims or needs more is an error. When the framer holds no unread bytes,
// Append() does not copy: frames are views into the caller's data and only an incomplete tail is
// copied (when Next() returns kNeedMore).
//
// Not thread-safe. Independent of metrics and logging: callers count and log the events.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/byte_reader.h"

namespace tapvault::proto::stream {

// Why bytes were skipped. The names (SkipReasonName) are metric label values.
enum class SkipReason : uint8_t {
  kNone,
  kBadTag,        // "bad_tag": the first octet is not a universal SEQUENCE (0x30)
  kAbsurdLength,  // "absurd_length": length octets malformed (> 4) or a definite length above
                  // max_pdu_bytes
  kNotPsPdu,      // "not_ps_pdu": the SEQUENCE does not begin with pSHeader [1] (0xa1)
  kMalformedTlv,  // "malformed_tlv": the BER walk of the PDU failed (Result::detail says why)
  kPduTooLarge,   // "pdu_too_large": indefinite length, still incomplete after max_pdu_bytes
  kTruncated,     // "truncated": the stream ends inside a PDU (Next(eof=true) only)
  kResync,        // "resync": more bytes of a run begun by an earlier error (no new error)
};
std::string_view SkipReasonName(SkipReason reason);

// Where the next PS-PDU may start in `data` at or after `from`; complete is false when the data
// ends before the whole start pattern (30 L a1 L 80 07 04 00 02 02 05 01) could be checked.
// nullopt: no start.
struct PduStart {
  size_t index = 0;
  bool complete = false;
};
std::optional<PduStart> FindPduStart(base::Bytes data, size_t from);

class Framer {
 public:
  enum class Event { kNeedMore, kFrame, kSkipped };
  struct Result {
    Event event = Event::kNeedMore;
    base::Bytes frame;    // kFrame: the PDU; valid until the next Append() or Next(), and no
                          // longer than the data given to Append()
    uint64_t offset = 0;  // stream offset of the frame or of the first skipped byte
    size_t skipped = 0;   // kSkipped: bytes dropped (> 0)
    SkipReason reason = SkipReason::kNone;  // kSkipped: why
    std::string detail;   // kSkipped with kMalformedTlv: the BER error; else empty
  };

  explicit Framer(size_t max_pdu_bytes = 16u << 20) : max_pdu_bytes_(max_pdu_bytes) {}
  Framer(const Framer&) = delete;
  Framer& operator=(const Framer&) = delete;

  // Adds the next bytes of the stream. If buffered() is 0, `data` is not copied: it must stay
  // valid until Next() has returned kNeedMore or buffered() is 0 (then the framer holds its own
  // copy of what it still needs).
  void Append(base::Bytes data);
  void Append(std::vector<std::byte>&&) = delete;  // would dangle: keep the bytes alive
  // The next event. kNeedMore: every buffered byte has been used or more are needed. At eof an
  // incomplete PDU is reported as kSkipped/kTruncated (and an open resync run as kResync).
  Result Next(bool eof = false);

  uint64_t offset() const { return consumed_ + pos_; }  // stream offset of the next unread byte
  size_t buffered() const { return View().size() - pos_; }
  bool resyncing() const { return resyncing_; }  // looking for the next PDU start

 private:
  base::Bytes View() const { return external_ ? external_data_ : base::Bytes(buf_); }
  Result Skip(size_t n, SkipReason reason);  // consumes n bytes
  // In step at pos_: frames, waits, or reports an error (and starts resynchronising).
  Result Frame(base::Bytes rest, bool eof);
  Result Error(SkipReason reason, bool eof, std::string detail = {});
  Result NeedMore();  // copies an incomplete tail of external data

  size_t max_pdu_bytes_;
  std::vector<std::byte> buf_;   // owned bytes (when !external_)
  base::Bytes external_data_;    // the caller's bytes, not copied (when external_)
  bool external_ = false;
  size_t pos_ = 0;               // first unread byte of View()
  uint64_t consumed_ = 0;        // stream offset of View()[0]
  bool resyncing_ = false;
  size_t need_ = 0;              // unread bytes the PDU at pos_ needs (definite length), or 0
  size_t indefinite_tried_ = 0;  // unread bytes at the last incomplete indefinite-length walk
};

}  // namespace tapvault::proto::stream
