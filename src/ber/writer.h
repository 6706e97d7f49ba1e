// BER/DER encoder into a growing byte buffer, for the handover simulator, tests and anything we
// send (keep-alive responses). Constructed values nest with Begin()/End(); lengths are filled in
// at End().
//
//   ber::Writer w;
//   w.Begin(ber::Univ(ber::kSequence, true));       // PS-PDU
//   w.Begin(ber::Ctx(1, true));                     //   pSHeader [1]
//   w.AddOctets(ber::Ctx(1), "LIID-1");             //     lawfulInterceptionIdentifier [1]
//   w.End();
//   w.End();
//   std::vector<std::byte> pdu = w.Take();
//
// LengthForm::kMinimal gives DER lengths; kLong3 writes every constructed length as `82 hh ll`
// (as OpenLI does), kIndefinite uses 0x80 ... 00 00: both are valid BER that a receiver must take.
// Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "ber/reader.h"

namespace tapvault::ber {

enum class LengthForm { kMinimal, kLong3, kIndefinite };

class Writer {
 public:
  explicit Writer(LengthForm constructed_form = LengthForm::kMinimal)
      : form_(constructed_form) {}

  void Begin(Tag tag);  // tag.constructed is forced on
  void End();
  size_t depth() const { return open_.size(); }

  void AddPrimitive(Tag tag, Bytes content);
  void AddOctets(Tag tag, std::string_view content) { AddPrimitive(tag, base::AsBytes(content)); }
  void AddBoolean(Tag tag, bool v);
  void AddNull(Tag tag);
  void AddInteger(Tag tag, int64_t v);
  void AddUnsigned(Tag tag, uint64_t v);
  // Dotted arcs ("0.4.0.2.2.5.1.43"); relative = RELATIVE-OID (no packing of the first two arcs).
  void AddOid(Tag tag, std::span<const uint64_t> arcs, bool relative);
  // Appends an already-encoded TLV verbatim.
  void AddRaw(Bytes encoded);

  const std::vector<std::byte>& buffer() const { return buf_; }
  // REQUIRES: every Begin() has been matched by End().
  std::vector<std::byte> Take();

 private:
  void PutTag(Tag tag);
  void PutLength(size_t len);

  struct Open {
    size_t content_start;
  };
  LengthForm form_;
  std::vector<std::byte> buf_;
  std::vector<Open> open_;
};

// Encodes a length in minimal form into `out` (X.690 8.1.3); returns the number of bytes.
size_t EncodeLength(size_t len, std::byte out[9]);

}  // namespace tapvault::ber
