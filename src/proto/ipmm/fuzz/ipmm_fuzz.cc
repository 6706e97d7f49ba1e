// libFuzzer target: TS 102 232-5 IPMMIRI / IPMMCC decoders (and through them the SIP party
// extractor). Input: one selector byte (even: IRIContents [11], odd: CCContents [12]), then the
// element's encoding. Checks: no crash, views inside the input or the PDU's owned storage.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "ber/reader.h"
#include "proto/ipmm/ipmm.h"

namespace {
bool Inside(tapvault::base::Bytes view, tapvault::base::Bytes input,
            const tapvault::proto::PsPdu& pdu) {
  if (view.empty()) return true;
  auto in = [&](const std::byte* lo, size_t n) {
    return view.data() >= lo && view.data() + view.size() <= lo + n;
  };
  if (in(input.data(), input.size())) return true;
  for (const std::string& s : pdu.owned) {
    if (in(reinterpret_cast<const std::byte*>(s.data()), s.size())) return true;
  }
  return false;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 128 * 1024) return 0;
  bool iri = (data[0] & 1) == 0;
  tapvault::base::Bytes input(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  tapvault::ber::Context ctx;
  ctx.limits.max_elements = 4096;
  absl::StatusOr<tapvault::ber::Tlv> tlv = tapvault::ber::ReadSingle(input, ctx);
  if (!tlv.ok()) return 0;
  tapvault::proto::PsPdu pdu;
  tapvault::proto::PayloadItem item;
  absl::Status s = iri ? tapvault::proto::ipmm::DecodeIri(*tlv, ctx, pdu, item)
                       : tapvault::proto::ipmm::DecodeCc(*tlv, ctx, pdu, item);
  if (s.ok() && !Inside(item.content, input, pdu)) std::abort();
  for (const auto& p : item.parties) {
    if (p.id.empty()) std::abort();
  }
  return 0;
}
