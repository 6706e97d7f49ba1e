// The master key: the root of the key hierarchy (master key -> per-warrant key -> data key per
// communication slice). It only wraps and unwraps the keys one level down; the wrapped blobs are
// kept in the store's catalog. Two backends:
//   - a key file (0600) holding the raw versions (the default), and
//   - a PKCS#11 token (an HSM, or SoftHSM2) where the key never leaves the token: versions are
//     non-extractable, sensitive AES-256 objects and wrapping is AES-GCM done inside the token.
//
// Crypto-shredding: Rotate() makes a new version current; after the catalog has re-wrapped its
// keys under it, DestroyVersion(old) removes the old version for good, so an old copy of the
// catalog (blobs wrapped under the old version) can no longer be unwrapped.
//
//   ASSIGN_OR_RETURN(std::unique_ptr<crypto::MasterKey> mk,
//                    crypto::OpenMasterKey(config.master_key, /*create=*/false));
//   ASSIGN_OR_RETURN(std::string blob, mk->Wrap(warrant_key, "tapvault/warrant-key/5"));
//   ASSIGN_OR_RETURN(crypto::SecretBytes k, mk->Unwrap(base::AsBytes(blob),
//   "tapvault/warrant-key/5"));
//
// Blob format (both backends): u8 format (1) | u32 BE version | nonce (12) | ct | tag (16), with
// AES-256-GCM under master key version `version`, AAD = context.
//
// Thread-safe (internal mutex). Errors: InvalidArgument (bad spec, URI or malformed key file),
// PermissionDenied (key file readable by others or not ours), NotFound (version destroyed or
// unknown, token not found), DataLoss (authentication failed: wrong context or tampered blob),
// FailedPrecondition (destroying the current version), AlreadyExists (creating an existing key
// file), Unavailable/Internal (I/O or PKCS#11 failures).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/byte_reader.h"
#include "crypto/secret_bytes.h"

namespace tapvault::crypto {

inline constexpr uint8_t kMasterKeyBlobFormat = 1;
inline constexpr size_t kMasterKeyBlobOverhead = 1 + 4 + 12 + 16;  // format, version, nonce, tag

// The root of the key hierarchy. Versions are numbered 1, 2, ...; Wrap always uses the current
// (highest) version and prefixes the blob with its version so Unwrap picks the right one.
// Thread-safe (internal mutex).
class MasterKey {
 public:
  virtual ~MasterKey() = default;
  // "key-file:/path" or "pkcs11:token=...;object=..." (never a PIN).
  virtual std::string Describe() const = 0;
  virtual uint32_t CurrentVersion() const = 0;
  virtual std::vector<uint32_t> Versions() const = 0;  // live versions, ascending
  // blob = u8 format(1) | u32 BE version | nonce(12) | ct | tag(16); AAD = context.
  [[nodiscard]] virtual absl::StatusOr<std::string> Wrap(const SecretBytes& key,
                                                         std::string_view context) = 0;
  // NotFound if the version was destroyed, DataLoss on auth failure (or a malformed blob).
  [[nodiscard]] virtual absl::StatusOr<SecretBytes> Unwrap(base::Bytes blob,
                                                           std::string_view context) = 0;
  // Creates version max+1, durable before returning; returns its number.
  [[nodiscard]] virtual absl::StatusOr<uint32_t> Rotate() = 0;
  // Gone for good (FailedPrecondition for the current one, NotFound for an unknown one).
  [[nodiscard]] virtual absl::Status DestroyVersion(uint32_t version) = 0;
};

// Key-file mode. The file is text: a first line "tapvault-master-key 1" then one line per version
// "<version> <base64 of 32 bytes>" (ascending). Created with mode 0600 (O_CREAT|O_EXCL,
// umask-proof: fchmod), written to a temp file in the same dir + fsync + rename + fsync(dir) on
// every change. Open refuses (PermissionDenied) a file whose mode allows group/other access or is
// not owned by the current uid, and InvalidArgument on a malformed file (message names the line,
// never shows key material). Create fails AlreadyExists if the file exists; it makes version 1.
// Destroying a version rewrites the file without it; the filesystem may still hold old blocks
// (use an encrypted or trimmed volume, or PKCS#11, where that matters).
[[nodiscard]] absl::StatusOr<std::unique_ptr<MasterKey>> CreateKeyFileMasterKey(
    const std::string& path);
[[nodiscard]] absl::StatusOr<std::unique_ptr<MasterKey>> OpenKeyFileMasterKey(
    const std::string& path);

// PKCS#11 mode (RFC 7512 URI), e.g.
// "pkcs11:token=tapvault;object=tapvault-master?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-value=1234"
// (also pin-source=file:/path; env TAPVAULT_PKCS11_PIN as a fallback). module-path is required.
// Versions are AES-256 secret key objects on the token labelled "<object>-v<N>" (CKA_TOKEN,
// CKA_SENSITIVE, !CKA_EXTRACTABLE), generated in the token; Wrap/Unwrap are C_Encrypt/C_Decrypt
// with CKM_AES_GCM. create: if no version exists yet, generate v1 (without create that is
// NotFound). Opening refuses (FailedPrecondition) a version object that is extractable or not
// sensitive. The module is initialized once per process and finalized when the last MasterKey
// using it is destroyed; SoftHSM2 reads SOFTHSM2_CONF at that initialization.
[[nodiscard]] absl::StatusOr<std::unique_ptr<MasterKey>> OpenPkcs11MasterKey(const std::string& uri,
                                                                             bool create);

// "pkcs11:..." -> PKCS#11, anything else is a key-file path (an optional "key-file:" prefix, as
// printed by Describe, is accepted). create: make the file / the first version; for a key file
// that already exists, create opens it instead of failing.
[[nodiscard]] absl::StatusOr<std::unique_ptr<MasterKey>> OpenMasterKey(const std::string& spec,
                                                                       bool create);

}  // namespace tapvault::crypto
