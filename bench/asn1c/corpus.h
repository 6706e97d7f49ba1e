// Test material shared by the asn1c baseline benchmark and robustness tools: the PDUs of the
// OpenLI captures ($TAPVAULT_SHARED_DIR/data/openli), classified with the asn1c-generated
// decoder (so the selection does not depend on the decoder under test), and thin wrappers
// around both decoders. Not thread-safe (single-threaded tools).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "proto/record/record.h"

extern "C" {
struct PS_PDU;
}

namespace tapvault::asn1c_bench {

using Pdu = std::vector<std::byte>;

std::string SharedDir();
// Every PDU of one capture file, as the stream framer splits it.
std::vector<Pdu> LoadPdus(const std::string& file);

// What the asn1c decoder says a PDU is (its first payload item).
enum class PduClass { kUndecodable, kIpmmCc, kIpmmIri, kOtherCc, kOtherIri, kKeepalive,
                      kIntegrityCheck, kOtherTri, kOther };
PduClass Classify(const Pdu& pdu);

// The same selections as bench/decode_benchmark.cc: IPMM CC (RTP) PDUs of the microts HI3
// capture, and IPMM IRI (SIP) PDUs of the microts HI2 capture.
const std::vector<Pdu>& CcPdus();
const std::vector<Pdu>& SipPdus();

// asn1c: ber_decode into a fresh structure. Returns the structure (caller frees with
// FreeAsn1c; may be partially filled even on failure) and the asn_dec_rval_t fields.
struct Asn1cResult {
  int code = 0;         // asn_dec_rval_code_e: 0 RC_OK, 1 RC_WMORE, 2 RC_FAIL
  size_t consumed = 0;
};
Asn1cResult DecodeAsn1c(const void* data, size_t size, PS_PDU** out);
void FreeAsn1c(PS_PDU* pdu);
// asn_check_constraints (SIZE and value ranges), which ber_decode does not apply.
bool CheckConstraintsAsn1c(const PS_PDU* pdu);

// Fields both decoders fill, for cross-checking: LIID, CIN, sequence number, first payload
// content (RTP packet or SIP message). Empty `liid` = not decoded.
struct Summary {
  std::string liid;
  long long cin = -1;
  unsigned long seq = 0;
  std::string content;
  friend bool operator==(const Summary&, const Summary&) = default;
};
Summary SummarizeAsn1c(const PS_PDU& pdu);
Summary SummarizeOurs(const proto::PsPdu& pdu);

}  // namespace tapvault::asn1c_bench
