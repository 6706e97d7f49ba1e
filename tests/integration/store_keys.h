// Helpers of the two store integration tests: every PDU record of a case read back through the
// decrypting store::ContentReader (to compare with feed's acked log), and waiting for the checkpoint.
#pragma once

#include <filesystem>
#include <map>
#include <sstream>
#include <string>

#include "harness.h"
#include "proto/record/record.h"
#include "store/catalog.h"
#include "store/store.h"

namespace tapvault::store {
// Durability tests compare every stored PDU with what feed sent, whatever the privileged-party
// filter decided: they read past the read gate (src/gate/), as only tests may.
struct ContentReaderTestAccess {
  static absl::StatusOr<std::vector<ContentReader::Record>> ReadComm(ContentReader& r, uint64_t id) {
    return r.ReadComm(id);
  }
};
}  // namespace tapvault::store

namespace tapvault::itest {

// "<liid>\t<network>\t<cin>\t<seq>\t<kind>" of every PDU record of `liid` in the store at `data`,
// with how often each occurs: the same key format as feed's acked log. On error, *error is set.
inline std::map<std::string, int> StoredKeys(const std::filesystem::path& data,
                                             const std::string& liid, std::string* error) {
  std::map<std::string, int> keys;
  auto reader = store::ContentReader::Open(data.string());
  if (!reader.ok()) {
    *error = reader.status().ToString();
    return keys;
  }
  store::CommFilter f;
  f.liid = liid;
  auto comms = (*reader)->catalog().ListComms(f);
  if (!comms.ok()) {
    *error = comms.status().ToString();
    return keys;
  }
  for (const store::CommRow& c : *comms) {
    auto records = store::ContentReaderTestAccess::ReadComm(**reader, c.id);
    if (!records.ok()) {
      *error = records.status().ToString();
      return keys;
    }
    for (const auto& r : *records) {
      const store::RecordHeader& h = r.header;
      ++keys[h.liid + "\t" + h.network_id + "\t" +
             (h.cin ? std::to_string(*h.cin) : std::string()) + "\t" +
             std::to_string(h.sequence_number) + "\t" +
             std::string(proto::KindName(static_cast<proto::Kind>(h.kind)))];
    }
  }
  return keys;
}

// Waits until the signed checkpoint covers the catalog's whole committed log (serve signs one at
// most a second after a commit), so that verify checks the signature over every record.
inline bool WaitCheckpointed(const std::filesystem::path& data, int timeout_ms) {
  return WaitUntil(
      [&] {
        auto cat = store::SqliteCatalog::Open(store::CatalogPath(data.string()), false, true);
        if (!cat.ok()) return false;
        auto log = (*cat)->GetLogState();
        if (!log.ok()) return false;
        std::istringstream in(Slurp(store::CheckpointPath(data.string())));
        std::string origin, size;
        std::getline(in, origin);
        std::getline(in, size);
        return !size.empty() && std::stoull(size) == log->size;
      },
      timeout_ms);
}

}  // namespace tapvault::itest
