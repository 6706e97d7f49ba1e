// Signed notes (https://c2sp.org/signed-note) with Ed25519 keys, and log checkpoints
// (https://c2sp.org/tlog-checkpoint) carried in them. The same format signs other documents of
// the store (destruction records): any note text, one signature line per key.
//
//   tlog::Checkpoint c{.origin = "example.org/tapvault/1", .size = n, .root = root};
//   ASSIGN_OR_RETURN(std::string note,
//                    tlog::SignNote(tlog::CheckpointBody(c), "example.org/tapvault/1", signer));
//   std::string vkey = tlog::VerifierKey("example.org/tapvault/1", signer.PublicKey());
//   ASSIGN_OR_RETURN(tlog::Checkpoint opened, tlog::OpenCheckpoint(note, vkey));
//
// A note is its text (valid UTF-8, no ASCII control character but '\n', ending in '\n'), a blank
// line, and signature lines "— <name> <base64(key hash (4 bytes, big-endian) || signature)>\n"
// (U+2014 em dash, space). The Ed25519 key hash is the first 4 bytes of
// SHA-256(<name> || "\n" || 0x01 || public key). Signatures sign the text.
// Errors: InvalidArgument for anything malformed (note, body, key), PermissionDenied when the
// note is well-formed but not validly signed by the given key. All functions are thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "crypto/ed25519.h"
#include "tlog/merkle.h"

namespace tapvault::tlog {

struct Checkpoint {
  std::string origin;                   // unique log identity, e.g. "example.org/tapvault/1"
  uint64_t size = 0;                    // tree size
  Hash root{};                          // RFC 9162 root hash at that size
  std::vector<std::string> extensions;  // optional extra lines (non-empty, no '\n')
};

// "<origin>\n<size>\n<base64 root>\n" followed by "<extension>\n" per extension line.
std::string CheckpointBody(const Checkpoint& c);
// Strict inverse of CheckpointBody: at least three lines, each ending in '\n'; non-empty origin;
// decimal size without leading zeros; canonical standard base64 of 32 bytes; non-empty
// extension lines; no control characters. InvalidArgument otherwise.
absl::StatusOr<Checkpoint> ParseCheckpointBody(std::string_view body);

// `body` + "\n" + "— <key_name> <base64(keyhash4 || sig64)>\n". InvalidArgument if the body is not
// valid note text ending in '\n', or the name is not a valid key name (non-empty, no white space,
// no '+').
absl::StatusOr<std::string> SignNote(std::string_view body, std::string_view key_name,
                                     const crypto::Ed25519Signer& signer);

// The verifier key string "<name>+<8 lowercase hex key hash>+<base64(0x01 || public key)>".
// REQUIRES: public_key32 is 32 bytes and key_name is a valid key name.
std::string VerifierKey(std::string_view key_name, std::string_view public_key32);
// Key hash of an Ed25519 public key (32 bytes) under `key_name`, as in the verifier key.
uint32_t KeyHash(std::string_view key_name, std::string_view public_key32);

struct ParsedVerifierKey {
  std::string name;
  std::string public_key;  // 32 raw Ed25519 bytes
  uint32_t key_hash = 0;
};
// InvalidArgument unless `vkey` is an Ed25519 verifier key whose key hash matches name and key.
absl::StatusOr<ParsedVerifierKey> ParseVerifierKey(std::string_view vkey);

// Opens a signed note: checks the format, requires a valid signature by `vkey` (signature lines
// by other keys are ignored, as the spec says; a line with vkey's name and key hash but a bad
// signature is PermissionDenied) and returns the signed text (ending in '\n').
absl::StatusOr<std::string> OpenSignedNote(std::string_view note, std::string_view vkey);
// OpenSignedNote, then ParseCheckpointBody of the text.
absl::StatusOr<Checkpoint> OpenCheckpoint(std::string_view note, std::string_view vkey);

}  // namespace tapvault::tlog
