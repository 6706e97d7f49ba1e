#include "proto/stream/framer.h"

#include <algorithm>

#include "base/strings.h"
#include "ber/reader.h"

namespace tapvault::proto::stream {
namespace {

constexpr uint8_t kSequenceTag = 0x30;  // X.690 8.9: universal SEQUENCE, constructed
constexpr uint8_t kPsHeaderTag = 0xa1;  // PS-PDU pSHeader [1], constructed
// li-psDomainId [0] OBJECT IDENTIFIER {0 4 0 2 2 5 1 version}: tag, length 7, then the 6 fixed
// content octets (0.4 packs into 0x04; X.690 8.19.4) before the module version.
constexpr uint8_t kDomainIdPrefix[] = {0x80, 0x07, 0x04, 0x00, 0x02, 0x02, 0x05, 0x01};

uint8_t At(base::Bytes d, size_t i) { return static_cast<uint8_t>(d[i]); }

enum class Len { kOk, kNeedMore, kBad };

struct Length {
  size_t octets = 0;      // length octets, incl. the first
  uint64_t value = 0;     // definite length
  bool indefinite = false;
};

// X.690 8.1.3: the length octets at d[i].
Len ParseLength(base::Bytes d, size_t i, Length& out) {
  if (i >= d.size()) return Len::kNeedMore;
  const uint8_t b = At(d, i);
  out = {};
  if (b < 0x80) {
    out.octets = 1;
    out.value = b;
    return Len::kOk;
  }
  if (b == 0x80) {  // X.690 8.1.3.6: indefinite form
    out.octets = 1;
    out.indefinite = true;
    return Len::kOk;
  }
  const size_t n = b & 0x7f;
  if (n > 4) return Len::kBad;  // > 4 GiB: absurd for a PS-PDU (and 0xff is reserved)
  if (i + 1 + n > d.size()) return Len::kNeedMore;
  for (size_t k = 0; k < n; ++k) out.value = (out.value << 8) | At(d, i + 1 + k);
  out.octets = 1 + n;
  return Len::kOk;
}

enum class Match { kYes, kNo, kMaybe };  // kMaybe: consistent so far, more bytes needed

// Whether d[i..] begins 30 <len> a1 <len> 80 07 04 00 02 02 05 01.
Match MatchStart(base::Bytes d, size_t i) {
  if (At(d, i) != kSequenceTag) return Match::kNo;
  Length len;
  Len r = ParseLength(d, i + 1, len);
  if (r != Len::kOk) return r == Len::kBad ? Match::kNo : Match::kMaybe;
  const size_t j = i + 1 + len.octets;
  if (j >= d.size()) return Match::kMaybe;
  if (At(d, j) != kPsHeaderTag) return Match::kNo;
  r = ParseLength(d, j + 1, len);
  if (r != Len::kOk) return r == Len::kBad ? Match::kNo : Match::kMaybe;
  const size_t k = j + 1 + len.octets;
  for (size_t p = 0; p < sizeof(kDomainIdPrefix); ++p) {
    if (k + p >= d.size()) return Match::kMaybe;
    if (At(d, k + p) != kDomainIdPrefix[p]) return Match::kNo;
  }
  return Match::kYes;
}

}  // namespace

std::string_view SkipReasonName(SkipReason reason) {
  switch (reason) {
    case SkipReason::kNone: return "none";
    case SkipReason::kBadTag: return "bad_tag";
    case SkipReason::kAbsurdLength: return "absurd_length";
    case SkipReason::kNotPsPdu: return "not_ps_pdu";
    case SkipReason::kMalformedTlv: return "malformed_tlv";
    case SkipReason::kPduTooLarge: return "pdu_too_large";
    case SkipReason::kTruncated: return "truncated";
    case SkipReason::kResync: return "resync";
  }
  return "unknown";
}

std::optional<PduStart> FindPduStart(base::Bytes data, size_t from) {
  for (size_t i = from; i < data.size(); ++i) {
    if (At(data, i) != kSequenceTag) continue;
    const Match m = MatchStart(data, i);
    if (m == Match::kYes) return PduStart{i, true};
    if (m == Match::kMaybe) return PduStart{i, false};
  }
  return std::nullopt;
}

void Framer::Append(base::Bytes data) {
  if (external_) {
    // Appended again before the earlier data was used up: copy what is left of it now.
    buf_.assign(external_data_.begin() + static_cast<ptrdiff_t>(pos_), external_data_.end());
    consumed_ += pos_;
    pos_ = 0;
    external_ = false;
    external_data_ = {};
  }
  if (pos_ == buf_.size()) {  // nothing unread: use the caller's bytes in place
    consumed_ += pos_;
    pos_ = 0;
    buf_.clear();
    if (!data.empty()) {
      external_data_ = data;
      external_ = true;
    }
    return;
  }
  if (pos_ > 0) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(pos_));
    consumed_ += pos_;
    pos_ = 0;
  }
  buf_.insert(buf_.end(), data.begin(), data.end());
}

Framer::Result Framer::NeedMore() {
  if (external_) {
    // The caller may reuse its buffer after kNeedMore: keep our own copy of the tail.
    buf_.assign(external_data_.begin() + static_cast<ptrdiff_t>(pos_), external_data_.end());
    consumed_ += pos_;
    pos_ = 0;
    external_ = false;
    external_data_ = {};
  }
  Result r;
  r.offset = offset();
  return r;
}

Framer::Result Framer::Skip(size_t n, SkipReason reason) {
  Result r;
  r.event = Event::kSkipped;
  r.offset = offset();
  r.skipped = n;
  r.reason = reason;
  pos_ += n;
  need_ = 0;
  indefinite_tried_ = 0;
  return r;
}

Framer::Result Framer::Next(bool eof) {
  const base::Bytes rest = View().subspan(pos_);
  if (rest.empty()) return NeedMore();
  if (resyncing_) {
    const std::optional<PduStart> start = FindPduStart(rest, 0);
    if (!start.has_value() || (!start->complete && eof)) {
      return Skip(rest.size(), SkipReason::kResync);
    }
    if (!start->complete) {
      // Keep the possible start for the next Append.
      return start->index > 0 ? Skip(start->index, SkipReason::kResync) : NeedMore();
    }
    resyncing_ = false;
    if (start->index > 0) return Skip(start->index, SkipReason::kResync);
  }
  return Frame(rest, eof);
}

Framer::Result Framer::Error(SkipReason reason, bool eof, std::string detail) {
  // Skip to the next plausible PS-PDU start, never the byte that failed. A start that cannot be
  // confirmed yet is kept for the next Append (at eof it never will be).
  const base::Bytes rest = View().subspan(pos_);
  const std::optional<PduStart> start = FindPduStart(rest, 1);
  size_t n = rest.size();
  if (start.has_value() && (start->complete || !eof)) n = start->index;
  resyncing_ = !(start.has_value() && start->complete);
  Result r = Skip(n, reason);
  r.detail = std::move(detail);
  return r;
}

Framer::Result Framer::Frame(base::Bytes rest, bool eof) {
  auto incomplete = [&] {
    return eof ? Skip(rest.size(), SkipReason::kTruncated) : NeedMore();
  };
  // A definite length already said this PDU is not complete yet.
  if (!eof && rest.size() < need_) return NeedMore();
  // Cheap checks first, so that garbage is caught at its first bytes.
  if (At(rest, 0) != kSequenceTag) return Error(SkipReason::kBadTag, eof);
  Length len;
  const Len lr = ParseLength(rest, 1, len);
  if (lr == Len::kNeedMore) return incomplete();
  if (lr == Len::kBad ||
      (!len.indefinite && len.value + 1 + len.octets > max_pdu_bytes_)) {
    return Error(SkipReason::kAbsurdLength, eof);
  }
  if (rest.size() <= 1 + len.octets) return incomplete();
  if (At(rest, 1 + len.octets) != kPsHeaderTag) return Error(SkipReason::kNotPsPdu, eof);
  if (!len.indefinite) {
    const size_t total = static_cast<size_t>(len.value) + 1 + len.octets;
    if (rest.size() < total) {
      need_ = total;
      return incomplete();
    }
  } else if (!eof && rest.size() < 2 * indefinite_tried_) {
    return NeedMore();  // walk again only once the buffered bytes have doubled
  }
  // Only the first max_pdu_bytes can belong to an acceptable PDU; looking at no more keeps the
  // outcome independent of how much happens to be buffered.
  const base::Bytes window = rest.first(std::min(rest.size(), max_pdu_bytes_));
  ber::Context ctx;
  const absl::StatusOr<size_t> n = ber::CompleteTlvLength(window, ctx);
  if (!n.ok()) {
    return Error(SkipReason::kMalformedTlv, eof, std::string(base::View(n.status().message())));
  }
  if (*n == 0) {
    if (window.size() == max_pdu_bytes_) return Error(SkipReason::kPduTooLarge, eof);
    indefinite_tried_ = rest.size();
    return incomplete();
  }
  Result r;
  r.event = Event::kFrame;
  r.offset = offset();
  r.frame = rest.first(*n);
  pos_ += *n;
  need_ = 0;
  indefinite_tried_ = 0;
  return r;
}

}  // namespace tapvault::proto::stream
