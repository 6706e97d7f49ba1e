// Private to crypto/: the wrapped-key blob shared by both MasterKey backends.
//   u8 format (kMasterKeyBlobFormat) | u32 BE version | nonce (12) | ct | tag (16)
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "base/byte_reader.h"

namespace tapvault::crypto::internal {

struct ParsedBlob {
  uint32_t version = 0;
  base::Bytes nonce;       // 12 bytes, a view into the blob
  base::Bytes ct_and_tag;  // >= 16 bytes, a view into the blob
};

// The 5-byte header for `version`.
std::string BlobHeader(uint32_t version);
// DataLoss for a blob too short or of an unknown format. The views live as long as `blob`.
absl::StatusOr<ParsedBlob> ParseBlob(base::Bytes blob);

}  // namespace tapvault::crypto::internal
