#include "media/internal/cc_scan.h"

#include <string_view>

#include "proto/li_ps/decode.h"
#include "store/record_format.h"

namespace tapvault::media::internal {
namespace {

std::string_view Attribute(const proto::PayloadItem& item, std::string_view name) {
  for (const auto& [key, value] : item.attributes) {
    if (key == name) return value;
  }
  return {};
}

// TS 102 232-5 IPMMCC frameType (FrameType). Without it, the content is classified by its first
// octet: an IP header starts with version 4 or 6, an RTP header with version 2 (top bits 10), so
// the two cannot be confused.
CcForm IpmmForm(const proto::PayloadItem& item) {
  const std::string_view frame = Attribute(item, "cc.frame_type");
  if (frame == "ipFrame") return CcForm::kIpPacket;
  if (frame == "udpFrame") return CcForm::kUdpDatagram;
  if (frame == "rtpFrame" || frame == "artificialRtpFrame") return CcForm::kRtp;
  if (!frame.empty() || item.content.empty()) return CcForm::kOther;
  const uint8_t b0 = static_cast<uint8_t>(item.content[0]);
  if ((b0 >> 4) == 4 || (b0 >> 4) == 6) return CcForm::kIpPacket;
  if ((b0 >> 6) == 2) return CcForm::kRtp;
  return CcForm::kOther;
}

CcForm FormOf(const proto::PayloadItem& item) {
  switch (item.service) {
    case proto::Service::kIpAccess: return CcForm::kIpPacket;
    case proto::Service::kIpmm: return IpmmForm(item);
    case proto::Service::kPstn: return CcForm::kPstnBearer;
    default: return CcForm::kOther;
  }
}

}  // namespace

void ScanCc(const std::vector<store::ContentReader::Record>& records, CcScanCounts& counts,
            absl::FunctionRef<void(const CcItem&)> on_cc) {
  proto::PsPdu pdu;
  for (const store::ContentReader::Record& record : records) {
    ++counts.records;
    if (record.header.type != store::RecordType::kPdu) {
      ++counts.other;
      continue;
    }
    if (!proto::li_ps::DecodePsPdu(base::AsBytes(record.pdu), pdu).ok()) {
      ++counts.undecodable;
      continue;
    }
    for (const proto::PayloadItem& item : pdu.items) {
      if (proto::IsIri(item.kind)) {
        ++counts.iri;
        continue;
      }
      if (item.kind != proto::Kind::kCc) {
        ++counts.other;
        continue;
      }
      ++counts.cc;
      int64_t time_us = record.header.received_us;
      if (item.timestamp) {
        time_us = item.timestamp->unix_us;
      } else if (pdu.header.timestamp) {
        time_us = pdu.header.timestamp->unix_us;
      }
      on_cc({.form = FormOf(item),
             .service = item.service,
             .direction = item.direction,
             .time_us = time_us,
             .content = item.content});
    }
  }
}

}  // namespace tapvault::media::internal
