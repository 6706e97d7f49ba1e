// What the two store integration tests compare with feed's acked log: every PDU record of a case
// in a store, read back through the decrypting store::ContentReader.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include "proto/record/record.h"
#include "store/store.h"

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
    auto records = (*reader)->ReadComm(c.id);
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

}  // namespace tapvault::itest
