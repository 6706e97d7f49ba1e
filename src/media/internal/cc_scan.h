// Private to media/: walks a communication's stored records, decodes each PS-PDU with the
// repository's decoder (li_ps::DecodePsPdu) and hands every CC payload item to a callback,
// classified by what its content is. Counts the rest. Thread-compatible.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/functional/function_ref.h"
#include "base/byte_reader.h"
#include "proto/record/record.h"
#include "store/store.h"

namespace tapvault::media::internal {

enum class CcForm : uint8_t {
  kIpPacket,     // IPCC iPPackets / iPTruncatedPacket; IPMMCC frameType ipFrame
  kUdpDatagram,  // IPMMCC udpFrame
  kRtp,          // IPMMCC rtpFrame / artificialRtpFrame (or no frameType and an RTP-looking start)
  kPstnBearer,   // PstnIsdnCC bearer octets
  kOther,        // any other CC (audioFrame, tcpFrame, MSRP, services not decoded)
};

struct CcItem {
  CcForm form = CcForm::kOther;
  proto::Service service = proto::Service::kUnknown;
  proto::Direction direction = proto::Direction::kAbsent;
  int64_t time_us = 0;   // item timestamp, else PSHeader timeStamp, else the record's receipt
  base::Bytes content;   // valid during the callback only
};

struct CcScanCounts {
  uint64_t records = 0;      // given
  uint64_t cc = 0;           // CC payload items
  uint64_t iri = 0;          // IRI payload items
  uint64_t other = 0;        // TRI/HI1/... items and system records
  uint64_t undecodable = 0;  // PDUs the decoder rejected (skipped)
};

void ScanCc(const std::vector<store::ContentReader::Record>& records, CcScanCounts& counts,
            absl::FunctionRef<void(const CcItem&)> on_cc);

}  // namespace tapvault::media::internal
