#include "corpus.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string_view>

#include "PS-PDU.h"
#include "proto/stream/framer.h"

namespace tapvault::asn1c_bench {

std::string SharedDir() {
  const char* d = std::getenv("TAPVAULT_SHARED_DIR");
  return d ? d : TAPVAULT_DEFAULT_SHARED_DIR;
}

std::vector<Pdu> LoadPdus(const std::string& file) {
  std::ifstream in(SharedDir() + "/data/openli/" + file, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  proto::stream::Framer f;
  f.Append(base::AsBytes(std::string_view(raw.data(), raw.size())));
  std::vector<Pdu> out;
  for (;;) {
    auto r = f.Next(true);
    if (r.event == proto::stream::Framer::Event::kNeedMore) break;
    if (r.event == proto::stream::Framer::Event::kFrame) out.emplace_back(r.frame.begin(), r.frame.end());
  }
  return out;
}

Asn1cResult DecodeAsn1c(const void* data, size_t size, PS_PDU** out) {
  *out = nullptr;
  asn_dec_rval_t rv = ber_decode(nullptr, &asn_DEF_PS_PDU, reinterpret_cast<void**>(out), data, size);
  return {static_cast<int>(rv.code), rv.consumed};
}

void FreeAsn1c(PS_PDU* pdu) { ASN_STRUCT_FREE(asn_DEF_PS_PDU, pdu); }

bool CheckConstraintsAsn1c(const PS_PDU* pdu) {
  char err[128];
  size_t len = sizeof(err);
  return asn_check_constraints(&asn_DEF_PS_PDU, pdu, err, &len) == 0;
}

PduClass Classify(const Pdu& pdu) {
  PS_PDU* p = nullptr;
  Asn1cResult r = DecodeAsn1c(pdu.data(), pdu.size(), &p);
  PduClass c = PduClass::kUndecodable;
  if (r.code == RC_OK && r.consumed == pdu.size()) {
    const Payload_t& pl = p->payload;
    c = PduClass::kOther;
    if (pl.present == Payload_PR_cCPayloadSequence && pl.choice.cCPayloadSequence.list.count > 0) {
      const CCPayload_t* cc = pl.choice.cCPayloadSequence.list.array[0];
      c = cc->cCContents.present == CCContents_PR_iPMMCC ? PduClass::kIpmmCc : PduClass::kOtherCc;
    } else if (pl.present == Payload_PR_iRIPayloadSequence &&
               pl.choice.iRIPayloadSequence.list.count > 0) {
      const IRIPayload_t* iri = pl.choice.iRIPayloadSequence.list.array[0];
      c = iri->iRIContents.present == IRIContents_PR_iPMMIRI ? PduClass::kIpmmIri : PduClass::kOtherIri;
    } else if (pl.present == Payload_PR_tRIPayload) {
      switch (pl.choice.tRIPayload.present) {
        case TRIPayload_PR_keep_alive: c = PduClass::kKeepalive; break;
        case TRIPayload_PR_integrityCheck: c = PduClass::kIntegrityCheck; break;
        default: c = PduClass::kOtherTri;
      }
    }
  }
  FreeAsn1c(p);
  return c;
}

namespace {
std::vector<Pdu> Select(const std::string& file, PduClass want) {
  std::vector<Pdu> out;
  for (auto& p : LoadPdus(file)) {
    if (Classify(p) == want) out.push_back(std::move(p));
  }
  return out;
}

std::string Str(const OCTET_STRING_t& s) { return std::string(reinterpret_cast<const char*>(s.buf), s.size); }
}  // namespace

const std::vector<Pdu>& CcPdus() {
  static auto v = Select("microts_HI3_20261128T204237_45928.raw", PduClass::kIpmmCc);
  return v;
}
const std::vector<Pdu>& SipPdus() {
  static auto v = Select("microts_HI2_20261128T204233_34560.raw", PduClass::kIpmmIri);
  return v;
}

Summary SummarizeAsn1c(const PS_PDU& p) {
  Summary s;
  s.liid = Str(p.pSHeader.lawfulInterceptionIdentifier);
  if (p.pSHeader.communicationIdentifier.communicationIdentityNumber) {
    s.cin = static_cast<long long>(*p.pSHeader.communicationIdentifier.communicationIdentityNumber);
  }
  s.seq = p.pSHeader.sequenceNumber;
  const Payload_t& pl = p.payload;
  if (pl.present == Payload_PR_cCPayloadSequence && pl.choice.cCPayloadSequence.list.count > 0) {
    const CCContents_t& c = pl.choice.cCPayloadSequence.list.array[0]->cCContents;
    if (c.present == CCContents_PR_iPMMCC) s.content = Str(c.choice.iPMMCC.mMCCContents);
  } else if (pl.present == Payload_PR_iRIPayloadSequence &&
             pl.choice.iRIPayloadSequence.list.count > 0) {
    const IRIContents_t& c = pl.choice.iRIPayloadSequence.list.array[0]->iRIContents;
    if (c.present == IRIContents_PR_iPMMIRI &&
        c.choice.iPMMIRI.iPMMIRIContents.present == IPIRIContents_PR_sIPMessage) {
      s.content = Str(c.choice.iPMMIRI.iPMMIRIContents.choice.sIPMessage.sIPContent);
    }
  }
  return s;
}

Summary SummarizeOurs(const proto::PsPdu& p) {
  Summary s;
  s.liid = std::string(p.header.liid);
  if (p.header.cin) s.cin = *p.header.cin;
  s.seq = p.header.sequence_number;
  if (!p.items.empty()) {
    const auto& item = p.items[0];
    if ((item.kind == proto::Kind::kCc || proto::IsIri(item.kind)) &&
        item.service == proto::Service::kIpmm) {
      s.content = std::string(base::AsString(item.content));
    }
  }
  return s;
}

}  // namespace tapvault::asn1c_bench
