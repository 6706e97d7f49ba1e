#include "tlog/note.h"

#include <openssl/sha.h>

#include <charconv>
#include <cstdio>

#include "absl/status/status.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "tlog/internal/encoding.h"

namespace tapvault::tlog {

namespace {

constexpr std::string_view kSigPrefix = "\xE2\x80\x94 ";  // U+2014 em dash, space
constexpr uint8_t kAlgEd25519 = 0x01;                     // signed-note signature type
constexpr int kMaxSignatures = 100;                       // as golang.org/x/mod/sumdb/note
constexpr size_t kKeyHashBytes = 4;

absl::Status Malformed(std::string_view what) {
  return absl::InvalidArgumentError(base::StrCat("tlog: malformed note: ", what));
}

// Splits at the first `sep`: (s, "") when there is none (Go's chop in sumdb/note).
std::pair<std::string_view, std::string_view> Chop(std::string_view s, char sep) {
  size_t i = s.find(sep);
  if (i == std::string_view::npos) return {s, {}};
  return {s.substr(0, i), s.substr(i + 1)};
}

std::vector<std::string_view> Lines(std::string_view text) {  // text ends in '\n'
  std::vector<std::string_view> out;
  while (!text.empty()) {
    size_t i = text.find('\n');
    out.push_back(text.substr(0, i));
    text.remove_prefix(i + 1);
  }
  return out;
}

}  // namespace

std::string CheckpointBody(const Checkpoint& c) {
  std::string root(reinterpret_cast<const char*>(c.root.data()), c.root.size());
  std::string out = base::StrCat(c.origin, "\n", c.size, "\n", internal::Base64Encode(root), "\n");
  for (const std::string& e : c.extensions) out += base::StrCat(e, "\n");
  return out;
}

absl::StatusOr<Checkpoint> ParseCheckpointBody(std::string_view body) {
  auto bad = [](std::string_view what) {
    return absl::InvalidArgumentError(base::StrCat("tlog: malformed checkpoint: ", what));
  };
  if (body.empty() || body.back() != '\n') return bad("does not end in a newline");
  if (!internal::IsValidNoteText(body)) return bad("invalid UTF-8 or control character");
  std::vector<std::string_view> lines = Lines(body);
  if (lines.size() < 3) return bad("fewer than three lines");
  Checkpoint c;
  if (lines[0].empty()) return bad("empty origin");
  c.origin = std::string(lines[0]);
  std::string_view size = lines[1];
  if (size.empty() || (size.size() > 1 && size[0] == '0') || size[0] == '+') {
    return bad("tree size is not a canonical decimal");
  }
  auto [end, ec] = std::from_chars(size.data(), size.data() + size.size(), c.size);
  if (ec != std::errc() || end != size.data() + size.size()) return bad("tree size");
  std::optional<std::string> root = internal::Base64Decode(lines[2]);
  if (!root || root->size() != c.root.size()) return bad("root hash is not base64 of 32 bytes");
  std::copy(root->begin(), root->end(), c.root.begin());
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return bad("empty extension line");
    c.extensions.emplace_back(lines[i]);
  }
  return c;
}

uint32_t KeyHash(std::string_view key_name, std::string_view public_key32) {
  std::string buf = base::StrCat(key_name, "\n");
  buf += static_cast<char>(kAlgEd25519);
  buf += public_key32;
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(buf.data()), buf.size(), digest);
  return uint32_t{digest[0]} << 24 | uint32_t{digest[1]} << 16 | uint32_t{digest[2]} << 8 |
         uint32_t{digest[3]};
}

std::string VerifierKey(std::string_view key_name, std::string_view public_key32) {
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08x", KeyHash(key_name, public_key32));
  std::string key(1, static_cast<char>(kAlgEd25519));
  key += public_key32;
  return base::StrCat(key_name, "+", std::string_view(hex, 8), "+", internal::Base64Encode(key));
}

absl::StatusOr<ParsedVerifierKey> ParseVerifierKey(std::string_view vkey) {
  auto bad = [](std::string_view what) {
    return absl::InvalidArgumentError(base::StrCat("tlog: malformed verifier key: ", what));
  };
  auto [name, rest] = Chop(vkey, '+');
  auto [hash16, key64] = Chop(rest, '+');
  if (!internal::IsValidKeyName(name)) return bad("key name");
  if (hash16.size() != 8) return bad("key hash is not 8 hex digits");
  uint32_t hash = 0;
  for (char ch : hash16) {
    int d;
    if (ch >= '0' && ch <= '9') {
      d = ch - '0';
    } else if (ch >= 'a' && ch <= 'f') {
      d = ch - 'a' + 10;
    } else if (ch >= 'A' && ch <= 'F') {
      d = ch - 'A' + 10;
    } else {
      return bad("key hash is not 8 hex digits");
    }
    hash = hash << 4 | static_cast<uint32_t>(d);
  }
  std::optional<std::string> key = internal::Base64Decode(key64);
  if (!key || key->empty()) return bad("key is not base64");
  if (static_cast<uint8_t>((*key)[0]) != kAlgEd25519) return bad("not an Ed25519 key");
  if (key->size() != 1 + crypto::kEd25519PublicKeyBytes) return bad("Ed25519 key size");
  std::string public_key = key->substr(1);
  if (KeyHash(name, public_key) != hash) return bad("key hash does not match name and key");
  return ParsedVerifierKey{std::string(name), std::move(public_key), hash};
}

absl::StatusOr<std::string> SignNote(std::string_view body, std::string_view key_name,
                                     const crypto::Ed25519Signer& signer) {
  if (body.empty() || body.back() != '\n') return Malformed("text does not end in a newline");
  if (!internal::IsValidNoteText(body)) return Malformed("invalid UTF-8 or control character");
  if (!internal::IsValidKeyName(key_name)) return Malformed("invalid key name");
  uint32_t hash = KeyHash(key_name, signer.PublicKey());
  std::string sig;
  for (int shift = 24; shift >= 0; shift -= 8) sig += static_cast<char>((hash >> shift) & 0xFF);
  sig += signer.Sign(body);
  return base::StrCat(body, "\n", kSigPrefix, key_name, " ", internal::Base64Encode(sig), "\n");
}

// Follows golang.org/x/mod/sumdb/note Open with one known verifier.
absl::StatusOr<std::string> OpenSignedNote(std::string_view note, std::string_view vkey) {
  ASSIGN_OR_RETURN(ParsedVerifierKey key, ParseVerifierKey(vkey));
  if (!internal::IsValidNoteText(note)) return Malformed("invalid UTF-8 or control character");
  size_t split = note.rfind("\n\n");
  if (split == std::string_view::npos) return Malformed("no signature block");
  std::string_view text = note.substr(0, split + 1);
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty() || sigs.back() != '\n') return Malformed("signature block");
  int count = 0;
  bool verified = false;
  for (std::string_view line : Lines(sigs)) {
    if (line.substr(0, kSigPrefix.size()) != kSigPrefix) return Malformed("signature line");
    line.remove_prefix(kSigPrefix.size());
    auto [name, b64] = Chop(line, ' ');
    std::optional<std::string> sig = internal::Base64Decode(b64);
    if (!sig || b64.empty() || !internal::IsValidKeyName(name) || sig->size() < kKeyHashBytes + 1) {
      return Malformed("signature line");
    }
    if (++count > kMaxSignatures) return Malformed("too many signatures");
    uint32_t hash = uint32_t{static_cast<uint8_t>((*sig)[0])} << 24 |
                    uint32_t{static_cast<uint8_t>((*sig)[1])} << 16 |
                    uint32_t{static_cast<uint8_t>((*sig)[2])} << 8 |
                    uint32_t{static_cast<uint8_t>((*sig)[3])};
    if (name != key.name || hash != key.key_hash) continue;  // another key's signature
    if (!crypto::Ed25519Verify(key.public_key, text,
                               std::string_view(*sig).substr(kKeyHashBytes))) {
      return absl::PermissionDeniedError(
          base::StrCat("tlog: invalid signature by ", key.name, " on note"));
    }
    verified = true;
  }
  if (!verified) {
    return absl::PermissionDeniedError(base::StrCat("tlog: note is not signed by ", key.name));
  }
  return std::string(text);
}

absl::StatusOr<Checkpoint> OpenCheckpoint(std::string_view note, std::string_view vkey) {
  ASSIGN_OR_RETURN(std::string body, OpenSignedNote(note, vkey));
  return ParseCheckpointBody(body);
}

}  // namespace tapvault::tlog
