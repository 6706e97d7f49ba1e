// Hex encoding and decoding of byte strings (test vectors, logs of non-secret identifiers).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace tapvault::base {

std::string ToHex(std::span<const std::byte> bytes);
// Accepts upper/lower case and ignores spaces, colons and newlines; nullopt on anything else.
std::optional<std::vector<std::byte>> FromHex(std::string_view hex);

}  // namespace tapvault::base
