// TS 102 232-6 PstnIsdnPDU (version6) encoder; see pstn_encode.h.
#include "proto/pstn/pstn_encode.h"

#include <array>

namespace tapvault::proto::pstn {
namespace {

using ber::Ctx;

// pstnIsdnPDUObjId = {li-ps(5) pstnIsdn(6) version6(6)}; iRI(1), cC(2).
constexpr std::array<uint64_t, 4> kIriObjId = {5, 6, 6, 1};
constexpr std::array<uint64_t, 4> kCcObjId = {5, 6, 6, 2};

void WriteSupplementaryInfo(ber::Writer& w, ber::Tag tag, const SupplementaryInfoSpec& s) {
  w.Begin(tag);
  w.Begin(Ctx(0, true));  // informationAppliesTo
  w.AddInteger(Ctx(0), static_cast<int64_t>(s.applies_to));
  if (s.cc_link_id) w.AddInteger(Ctx(1), *s.cc_link_id);
  if (s.first_pdu_number) w.AddInteger(Ctx(2), *s.first_pdu_number);
  w.End();
  w.AddInteger(Ctx(1), s.media_format);
  if (!s.media_attributes.empty()) w.AddOctets(Ctx(2), s.media_attributes);
  if (!s.session_name.empty()) w.AddOctets(Ctx(4), s.session_name);
  if (!s.copy_of_sdp.empty()) w.AddOctets(Ctx(6), s.copy_of_sdp);
  if (s.frame_type) w.AddInteger(Ctx(7), *s.frame_type);
  w.End();
}

}  // namespace

void WriteIri(ber::Writer& w, const SupplementaryInfoSpec& spec) {
  w.Begin(Ctx(10, true));  // pstnIsdnIRI
  w.AddOid(Ctx(0), kIriObjId, /*relative=*/true);
  w.Begin(Ctx(1, true));  // pstnIsdnIRIContents: CHOICE, explicit
  WriteSupplementaryInfo(w, Ctx(0, true), spec);
  w.End();
  w.End();
}

void WriteCc(ber::Writer& w, const PstnCcSpec& spec) {
  w.Begin(Ctx(11, true));  // pstnIsdnCC
  w.AddOid(Ctx(0), kCcObjId, /*relative=*/true);
  w.AddPrimitive(Ctx(1), spec.bearer);
  if (spec.cc_link_id) w.AddInteger(Ctx(2), *spec.cc_link_id);
  if (spec.supplementary) WriteSupplementaryInfo(w, Ctx(3, true), *spec.supplementary);
  w.End();
}

}  // namespace tapvault::proto::pstn
