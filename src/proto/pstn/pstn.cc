// TS 102 232-6 PstnIsdnPDU (version6) decoder. The ObjId fields are RELATIVE-OID
// (PstnIsdnPDU.asn in this folder, corrected from the patched copy); an OBJECT IDENTIFIER there
// is accepted too, as the arcs are only reported.
#include "proto/pstn/pstn.h"

#include "proto/record/field.h"

#include <string>
#include <string_view>
#include <utility>

#include "base/status_macros.h"
#include "base/strings.h"

namespace tapvault::proto::pstn {
namespace {

using ber::Tlv;

// Depth of the [10] / [11] element inside a PS-PDU (PS-PDU / payload [2] / payload sequence /
// IRIPayload or CCPayload / contents [2] / here), so the depth limit counts the levels above.
constexpr int kElementDepth = 5;

absl::Status Bad(const Tlv& tlv, std::string_view what) {
  return ber::ErrorAt(tlv.offset, base::StrCat("pstn: ", what));
}

absl::StatusOr<ber::Reader> Children(const ber::Reader& parent, const Tlv& tlv,
                                     std::string_view what) {
  if (!tlv.tag.constructed) return Bad(tlv, base::StrCat(what, " is not constructed"));
  return parent.Enter(tlv);
}

constexpr auto& Octets = FieldOctets;

void Attr(PayloadItem& item, std::string_view key, std::string value) {
  item.attributes.emplace_back(key, std::move(value));
}

absl::Status ObjId(const Tlv& tlv, PayloadItem& item) {
  absl::StatusOr<std::vector<uint64_t>> arcs = ber::DecodeOid(tlv, /*relative=*/true);
  if (!arcs.ok()) return Bad(tlv, base::View(arcs.status().message()));
  Attr(item, "pstn.obj_id", ber::OidToString(*arcs));
  return absl::OkStatus();
}

absl::Status Integer(const Tlv& tlv, PayloadItem& item, std::string_view key) {
  absl::StatusOr<int64_t> v = ber::DecodeInteger(tlv);
  if (!v.ok()) return Bad(tlv, base::View(v.status().message()));
  Attr(item, key, base::StrCat(*v));
  return absl::OkStatus();
}

// SupplementaryInfo (TS 102 232-6 6.3).
absl::Status DecodeSupplementaryInfo(const ber::Reader& from, const Tlv& tlv, ber::Context& ctx,
                                     PsPdu& pdu, PayloadItem& item) {
  ASSIGN_OR_RETURN(ber::Reader r, Children(from, tlv, "supplementaryInfo"));
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.tag.cls != ber::TagClass::kContext) {
      ++pdu.skipped_unknown;
      continue;
    }
    switch (f.tag.number) {
      case 0: {  // informationAppliesTo
        ASSIGN_OR_RETURN(ber::Reader a, Children(r, f, "informationAppliesTo"));
        while (!a.AtEnd()) {
          Tlv g;
          RETURN_IF_ERROR(a.Next(g));
          if (g.IsContext(0)) {
            absl::StatusOr<int64_t> d = ber::DecodeInteger(g);
            if (!d.ok()) return Bad(g, base::View(d.status().message()));
            Attr(item, "pstn.applies_to",
                 *d >= 0 && *d <= 4 ? std::string(DirectionName(static_cast<Direction>(*d)))
                                    : base::StrCat(*d));
          } else if (g.IsContext(1)) {
            RETURN_IF_ERROR(Integer(g, item, "pstn.cc_link_id"));
          } else if (g.IsContext(2)) {
            RETURN_IF_ERROR(Integer(g, item, "pstn.first_pdu_number"));
          } else {
            ++pdu.skipped_unknown;
          }
        }
        break;
      }
      case 1:
        RETURN_IF_ERROR(Integer(f, item, "pstn.media_format"));
        break;
      case 2:
      case 4:
      case 5:
      case 6: {
        ASSIGN_OR_RETURN(Bytes v, Octets(f, ctx, pdu));
        static constexpr std::string_view kKeys[] = {
            "",        "", "pstn.media_attributes", "", "pstn.session_name", "pstn.session_info",
            "pstn.sdp"};
        Attr(item, kKeys[f.tag.number], std::string(base::AsString(v)));
        break;
      }
      case 3:  // encryptionKey: a key; noted, never copied into the record
        Attr(item, "pstn.encryption_key", "present");
        break;
      case 7:
        RETURN_IF_ERROR(Integer(f, item, "pstn.frame_type"));
        break;
      case 8:
        RETURN_IF_ERROR(Integer(f, item, "pstn.alternate_protocol"));
        break;
      default:
        ++pdu.skipped_unknown;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status DecodeIri(const Tlv& tlv, ber::Context& ctx, PsPdu& pdu, PayloadItem& item) {
  item.service = Service::kPstn;
  item.content = tlv.encoding;
  ber::Reader parent(tlv.encoding, ctx, tlv.offset, kElementDepth);
  ASSIGN_OR_RETURN(ber::Reader r, Children(parent, tlv, "pstnIsdnIRI"));
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.IsContext(0) && !f.tag.constructed) {
      RETURN_IF_ERROR(ObjId(f, item));
    } else if (f.IsContext(1)) {  // PstnIsdnIRIContents: CHOICE, explicit
      ASSIGN_OR_RETURN(ber::Reader c, Children(r, f, "pstnIsdnIRIContents"));
      while (!c.AtEnd()) {
        Tlv alt;
        RETURN_IF_ERROR(c.Next(alt));
        if (alt.IsContext(0)) {
          RETURN_IF_ERROR(DecodeSupplementaryInfo(c, alt, ctx, pdu, item));
        } else {
          ++pdu.skipped_unknown;
        }
      }
    } else {
      ++pdu.skipped_unknown;
    }
  }
  return absl::OkStatus();
}

absl::Status DecodeCc(const Tlv& tlv, ber::Context& ctx, PsPdu& pdu, PayloadItem& item) {
  item.service = Service::kPstn;
  if (item.kind == Kind::kUnknown) item.kind = Kind::kCc;
  ber::Reader parent(tlv.encoding, ctx, tlv.offset, kElementDepth);
  ASSIGN_OR_RETURN(ber::Reader r, Children(parent, tlv, "pstnIsdnCC"));
  bool have_contents = false;
  while (!r.AtEnd()) {
    Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.IsContext(0) && !f.tag.constructed) {
      RETURN_IF_ERROR(ObjId(f, item));
    } else if (f.IsContext(1)) {
      ASSIGN_OR_RETURN(item.content, Octets(f, ctx, pdu));
      have_contents = true;
    } else if (f.IsContext(2)) {
      RETURN_IF_ERROR(Integer(f, item, "pstn.cc_link_id"));
    } else if (f.IsContext(3)) {
      RETURN_IF_ERROR(DecodeSupplementaryInfo(r, f, ctx, pdu, item));
    } else {
      ++pdu.skipped_unknown;
    }
  }
  if (!have_contents) return Bad(tlv, "pstnIsdnCC without pstnIsdnCCContents [1]");
  return absl::OkStatus();
}

}  // namespace tapvault::proto::pstn
