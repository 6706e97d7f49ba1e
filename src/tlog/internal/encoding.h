// Strict text encodings for signed notes and checkpoints (private to tlog): standard base64
// (RFC 4648 section 4, padded, canonical only) and UTF-8 validation as Go's utf8.DecodeRune does
// it (no overlong forms, no surrogates, nothing above U+10FFFF). Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tapvault::tlog::internal {

std::string Base64Encode(std::string_view data);
// nullopt unless `text` is exactly what Base64Encode produces for some input: padding required,
// no whitespace, unused trailing bits zero (so every value has one encoding).
std::optional<std::string> Base64Decode(std::string_view text);

// True iff `text` is valid UTF-8 and its only ASCII control character is '\n' (signed-note text).
bool IsValidNoteText(std::string_view text);
// A signed-note key name: non-empty valid UTF-8, no Unicode white space, no '+'.
bool IsValidKeyName(std::string_view name);

}  // namespace tapvault::tlog::internal
