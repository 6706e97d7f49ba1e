#include "inspect/inspect.h"

#include <vector>

#include "base/strings.h"
#include "inspect/record_json.h"
#include "proto/li_ps/decode.h"
#include "proto/stream/framer.h"

namespace tapvault::inspect {
namespace {

constexpr size_t kReadChunk = 1 << 16;

}  // namespace

Summary Decode(std::istream& in, std::ostream& out, std::ostream& err) {
  Summary summary;
  proto::stream::Framer framer;
  proto::PsPdu pdu;
  std::vector<char> chunk(kReadChunk);
  auto error = [&](uint64_t offset, std::string_view what) {
    ++summary.errors;
    err << "inspect: at byte offset " << offset << ": " << what << '\n';
  };
  bool eof = false;
  while (!eof) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto got = static_cast<size_t>(in.gcount());
    eof = !in;
    summary.bytes += got;
    framer.Append(base::AsBytes(std::string_view(chunk.data(), got)));
    for (;;) {
      proto::stream::Framer::Result r = framer.Next(eof);
      if (r.event == proto::stream::Framer::Event::kNeedMore) break;
      if (r.event == proto::stream::Framer::Event::kSkipped) {
        error(r.offset, base::StrCat("skipped ", r.skipped, " bytes: ",
                                     proto::stream::SkipReasonName(r.reason),
                                     r.detail.empty() ? "" : ": ", r.detail));
      } else {
        ++summary.pdus;
        absl::Status s = proto::li_ps::DecodePsPdu(r.frame, pdu);
        if (!s.ok()) {
          error(r.offset, base::StrCat("PDU of ", r.frame.size(), " bytes not decoded: ",
                                       base::View(s.message())));
        } else {
          for (const proto::PayloadItem& item : pdu.items) {
            nlohmann::ordered_json j = {{"offset", r.offset}};
            j.update(ItemToJson(pdu, item));
            out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << '\n';
            ++summary.items;
          }
        }
      }
      if (framer.buffered() == 0) break;
    }
  }
  return summary;
}

int Run(std::istream& in, std::ostream& out, std::ostream& err) {
  const Summary s = Decode(in, out, err);
  out.flush();
  return s.errors ? 1 : 0;
}

}  // namespace tapvault::inspect
