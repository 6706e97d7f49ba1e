#include "proto/stream/framer.h"

#include <algorithm>

#include "base/strings.h"
#include "ber/reader.h"

namespace tapvault::proto::stream {
namespace {

// li-psDomainId content octets up to the module-version arc: {0 4 0 2 2 5 1} (X.690 8.19:
// the first two arcs 0.4 pack into one octet 0x04).
constexpr uint8_t kDomainPrefix[] = {0x04, 0x00, 0x02, 0x02, 0x05, 0x01};

enum class Start { kYes, kNo, kMaybe };  // kMaybe: consistent so far, more bytes needed

// Octets of the BER length at data[i..]: 0 if malformed, SIZE_MAX if cut off.
size_t LengthOctets(base::Bytes data, size_t i) {
  if (i >= data.size()) return SIZE_MAX;
  const auto l = static_cast<uint8_t>(data[i]);
  if (l <= 0x80) return 1;
  const size_t n = l & 0x7f;
  if (n > 4) return 0;
  if (i + 1 + n > data.size()) return SIZE_MAX;
  return 1 + n;
}

// Whether data[k..] begins like a PS-PDU: 30 <len> a1 <len> 80 <len> 04 00 02 02 05 01.
Start PduStartAt(base::Bytes data, size_t k) {
  size_t i = k;
  auto expect = [&](uint8_t b) {
    if (i >= data.size()) return Start::kMaybe;
    return static_cast<uint8_t>(data[i++]) == b ? Start::kYes : Start::kNo;
  };
  auto skip_length = [&] {
    const size_t n = LengthOctets(data, i);
    if (n == SIZE_MAX) return Start::kMaybe;
    if (n == 0) return Start::kNo;
    i += n;
    return Start::kYes;
  };
  for (auto step : {0x30, -1, 0xa1, -1, 0x80}) {
    const Start s = step < 0 ? skip_length() : expect(static_cast<uint8_t>(step));
    if (s != Start::kYes) return s;
  }
  if (i >= data.size()) return Start::kMaybe;
  ++i;  // OID length
  for (uint8_t b : kDomainPrefix) {
    const Start s = expect(b);
    if (s != Start::kYes) return s;
  }
  return Start::kYes;
}

}  // namespace

size_t FindPduStart(base::Bytes data, size_t from) {
  for (size_t k = from; k < data.size(); ++k) {
    if (data[k] == std::byte{0x30} && PduStartAt(data, k) != Start::kNo) return k;
  }
  return data.size();
}

void Framer::Append(base::Bytes data) {
  Compact();
  buf_.insert(buf_.end(), data.begin(), data.end());
}

void Framer::Compact() {
  if (pos_ == 0) return;
  buf_.erase(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(pos_));
  consumed_ += pos_;
  pos_ = 0;
}

Framer::Result Framer::Next(bool eof) {
  Result r;
  const base::Bytes rest = base::Bytes(buf_).subspan(pos_);
  r.offset = offset();
  if (rest.empty()) return r;

  const Start start = PduStartAt(rest, 0);
  std::string reason;
  if (start != Start::kNo) {
    ber::Context ctx;
    ctx.limits.max_length = max_pdu_bytes_;
    auto len = ber::CompleteTlvLength(rest, ctx);
    if (len.ok() && *len > 0 && start == Start::kYes) {
      r.event = Event::kFrame;
      r.frame = rest.first(*len);
      pos_ += *len;
      return r;
    }
    if (len.ok()) {  // incomplete
      if (!eof) return r;
      r.event = Event::kSkipped;
      r.skipped = rest.size();
      r.reason = base::StrCat("stream ends inside a PDU (", rest.size(), " bytes)");
      pos_ = buf_.size();
      return r;
    }
    reason = std::string(base::View(len.status().message()));
  } else {
    reason = "bytes that do not start a PS-PDU";
  }
  // Skip to the next plausible start; one that is still incomplete (kMaybe) at the end of the
  // buffer is kept for the next Append.
  r.event = Event::kSkipped;
  r.reason = std::move(reason);
  r.skipped = FindPduStart(rest, 1);
  pos_ += r.skipped;
  return r;
}

}  // namespace tapvault::proto::stream
