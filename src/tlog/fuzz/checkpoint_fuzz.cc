// Fuzzes the parsers of outside input in tlog: signed notes and checkpoints (OpenCheckpoint,
// OpenSignedNote, ParseCheckpointBody), verifier keys (ParseVerifierKey) and entry bundles
// (DecodeEntryBundle). Checks round trips where the format is canonical: a parsed checkpoint
// body re-encodes to the same bytes, a decoded bundle re-encodes to the input, a parsed
// verifier key re-encodes to the input (modulo hex case). No I/O; inputs are capped at 64 KiB.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/byte_reader.h"
#include "tlog/note.h"
#include "tlog/tiles.h"

using namespace tapvault;

namespace {

// The verifier key of the seed corpus notes (RFC 8032 TEST 1 key, name
// "example.org/tapvault/test"), so that mutations of validly signed notes reach the signature
// check and the checkpoint parser.
constexpr std::string_view kVkey =
    "example.org/tapvault/test+c4c75511+AddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea";

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string_view input(reinterpret_cast<const char*>(data), size);

  auto checkpoint = tlog::OpenCheckpoint(input, kVkey);
  if (checkpoint.ok()) {
    auto body = tlog::OpenSignedNote(input, kVkey);
    Check(body.ok() && tlog::CheckpointBody(*checkpoint) == *body);
  }

  auto parsed = tlog::ParseCheckpointBody(input);
  if (parsed.ok()) Check(tlog::CheckpointBody(*parsed) == input);

  auto vkey = tlog::ParseVerifierKey(input);
  if (vkey.ok()) {
    std::string again = tlog::VerifierKey(vkey->name, vkey->public_key);
    Check(again.size() == input.size());
    Check(tlog::KeyHash(vkey->name, vkey->public_key) == vkey->key_hash);
  }

  auto bundle = tlog::DecodeEntryBundle(base::AsBytes(input));
  if (bundle.ok()) {
    auto encoded = tlog::EncodeEntryBundle(*bundle);
    Check(encoded.ok() && *encoded == input);
  }
  return 0;
}
