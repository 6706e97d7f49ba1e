#include "ingest/testing/mini_codec.h"

#include "base/status_macros.h"
#include "ber/reader.h"
#include "ber/writer.h"

namespace tapvault::ingest::testing {
namespace {

absl::StatusOr<std::string_view> Text(const ber::Tlv& t, ber::Context& ctx, proto::PsPdu& out) {
  std::string scratch;
  ASSIGN_OR_RETURN(base::Bytes b, ber::StringOctets(t, ctx, &scratch));
  if (b.data() == reinterpret_cast<const std::byte*>(scratch.data())) {
    return out.Own(std::string(base::AsString(b)));
  }
  return base::AsString(b);
}

absl::Status DecodeHeader(ber::Reader r, ber::Context& ctx, proto::PsPdu& out) {
  while (!r.AtEnd()) {
    ber::Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.IsContext(0)) {
      ASSIGN_OR_RETURN(out.header.domain_id, ber::DecodeOid(f, false));
    } else if (f.IsContext(1)) {
      ASSIGN_OR_RETURN(out.header.liid, Text(f, ctx, out));
    } else if (f.IsContext(3)) {
      ASSIGN_OR_RETURN(ber::Reader ci, r.Enter(f));
      while (!ci.AtEnd()) {
        ber::Tlv c;
        RETURN_IF_ERROR(ci.Next(c));
        if (c.IsContext(0)) {
          ASSIGN_OR_RETURN(ber::Reader ni, ci.Enter(c));
          while (!ni.AtEnd()) {
            ber::Tlv n;
            RETURN_IF_ERROR(ni.Next(n));
            if (n.IsContext(0)) {
              ASSIGN_OR_RETURN(out.header.operator_id, Text(n, ctx, out));
            } else if (n.IsContext(1)) {
              ASSIGN_OR_RETURN(out.header.network_element_id, Text(n, ctx, out));
            }
          }
        } else if (c.IsContext(1)) {
          ASSIGN_OR_RETURN(uint64_t cin, ber::DecodeUnsigned(c));
          out.header.cin = static_cast<uint32_t>(cin);
        }
      }
    } else if (f.IsContext(4)) {
      ASSIGN_OR_RETURN(uint64_t seq, ber::DecodeUnsigned(f));
      if (seq > 0xffffffffu) return ber::ErrorAt(f.offset, "sequenceNumber out of range");
      out.header.sequence_number = static_cast<uint32_t>(seq);
    }
  }
  if (out.header.liid.empty()) return absl::InvalidArgumentError("mini: no LIID");
  return absl::OkStatus();
}

absl::Status DecodeIntegrity(ber::Reader r, proto::IntegrityCheck& ic) {
  while (!r.AtEnd()) {
    ber::Tlv f;
    RETURN_IF_ERROR(r.Next(f));
    if (f.IsContext(0)) {
      ASSIGN_OR_RETURN(ber::Reader seqs, r.Enter(f));
      while (!seqs.AtEnd()) {
        ber::Tlv s;
        RETURN_IF_ERROR(seqs.Next(s));
        ASSIGN_OR_RETURN(uint64_t v, ber::DecodeUnsigned(s));
        ic.sequence_numbers.push_back(static_cast<uint32_t>(v));
      }
    } else if (f.IsContext(1) || f.IsContext(2) || f.IsContext(4) || f.IsContext(5)) {
      ASSIGN_OR_RETURN(int64_t v, ber::DecodeInteger(f));
      uint8_t b = static_cast<uint8_t>(v);
      if (f.IsContext(1)) ic.check_type = b;
      if (f.IsContext(2)) ic.data_type = b;
      if (f.IsContext(4)) ic.hash_algorithm = b;
      if (f.IsContext(5)) ic.signature_algorithm = b;
    } else if (f.IsContext(3)) {
      if (f.tag.constructed) return absl::InvalidArgumentError("mini: segmented checkValue");
      ic.check_value = f.value;
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MiniDecode(base::Bytes frame, proto::PsPdu& out) {
  out.Clear();
  ber::Context ctx;
  ASSIGN_OR_RETURN(ber::Tlv top, ber::ReadSingle(frame, ctx));
  if (!top.Is(ber::TagClass::kUniversal, ber::kSequence)) {
    return absl::InvalidArgumentError("mini: not a SEQUENCE");
  }
  ASSIGN_OR_RETURN(ber::Reader fields, ber::Reader(frame, ctx).Enter(top));
  bool have_header = false, have_payload = false;
  while (!fields.AtEnd()) {
    ber::Tlv f;
    RETURN_IF_ERROR(fields.Next(f));
    if (f.IsContext(1)) {
      ASSIGN_OR_RETURN(ber::Reader h, fields.Enter(f));
      RETURN_IF_ERROR(DecodeHeader(h, ctx, out));
      have_header = true;
    } else if (f.IsContext(2)) {
      ASSIGN_OR_RETURN(ber::Reader p, fields.Enter(f));
      ber::Tlv alt;
      RETURN_IF_ERROR(p.Next(alt));
      proto::PayloadItem item;
      if (alt.IsContext(0)) {
        item.kind = proto::Kind::kIri;
      } else if (alt.IsContext(1)) {
        item.kind = proto::Kind::kCc;
      } else if (alt.IsContext(2)) {
        ASSIGN_OR_RETURN(ber::Reader tri, p.Enter(alt));
        ber::Tlv t;
        RETURN_IF_ERROR(tri.Next(t));
        switch (t.tag.number) {
          case 0: {
            item.kind = proto::Kind::kIntegrityCheck;
            proto::IntegrityCheck ic;
            ASSIGN_OR_RETURN(ber::Reader icr, tri.Enter(t));
            RETURN_IF_ERROR(DecodeIntegrity(icr, ic));
            item.integrity = ic;
            break;
          }
          case 3: item.kind = proto::Kind::kKeepalive; break;
          case 4: item.kind = proto::Kind::kKeepaliveResponse; break;
          default: item.kind = proto::Kind::kUnknown; break;
        }
      } else if (alt.IsContext(3)) {
        item.kind = proto::Kind::kHi1Operation;
      } else {
        ++out.skipped_unknown;
      }
      out.items.push_back(std::move(item));
      have_payload = true;
    }
  }
  if (!have_header || !have_payload) return absl::InvalidArgumentError("mini: incomplete PS-PDU");
  out.encoding = frame;
  return absl::OkStatus();
}

std::vector<std::byte> MiniKeepaliveResponse(const proto::PsHeader& h) {
  ber::Writer w;
  w.Begin(ber::Univ(ber::kSequence, true));
  w.Begin(ber::Ctx(1, true));
  const uint64_t arcs[] = {0, 4, 0, 2, 2, 5, 1, 17};
  w.AddOid(ber::Ctx(0), arcs, false);
  w.AddOctets(ber::Ctx(1), h.liid);
  w.Begin(ber::Ctx(3, true));
  w.Begin(ber::Ctx(0, true));
  w.AddOctets(ber::Ctx(0), h.operator_id);
  if (!h.network_element_id.empty()) w.AddOctets(ber::Ctx(1), h.network_element_id);
  w.End();
  if (h.cin) w.AddUnsigned(ber::Ctx(1), *h.cin);
  w.End();
  w.AddUnsigned(ber::Ctx(4), h.sequence_number);
  w.End();
  w.Begin(ber::Ctx(2, true));
  w.Begin(ber::Ctx(2, true));
  w.AddNull(ber::Ctx(4));
  w.End();
  w.End();
  w.End();
  return w.Take();
}

std::vector<std::byte> MiniKeepalive(uint32_t seq) {
  ber::Writer w(ber::LengthForm::kLong3);
  w.Begin(ber::Univ(ber::kSequence, true));
  w.Begin(ber::Ctx(1, true));
  const uint64_t arcs[] = {0, 4, 0, 2, 2, 5, 1, 17};
  w.AddOid(ber::Ctx(0), arcs, false);
  w.AddOctets(ber::Ctx(1), "openli-1.1.20");
  w.Begin(ber::Ctx(3, true));
  w.Begin(ber::Ctx(0, true));
  w.AddOctets(ber::Ctx(0), "LEMFTESTOP");
  w.AddOctets(ber::Ctx(1), "med-6001");
  w.End();
  w.AddUnsigned(ber::Ctx(1), 0);
  w.End();
  w.AddUnsigned(ber::Ctx(4), seq);
  w.End();
  w.Begin(ber::Ctx(2, true));
  w.Begin(ber::Ctx(2, true));
  w.AddNull(ber::Ctx(3));
  w.End();
  w.End();
  w.End();
  return w.Take();
}

Codec MiniCodec() { return Codec{.decode = MiniDecode, .keepalive_response = MiniKeepaliveResponse}; }

}  // namespace tapvault::ingest::testing
