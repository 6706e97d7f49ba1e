// SHA-256 for the hot paths (the cold store hashes every record twice; the Merkle tree hashes many
// small nodes). OpenSSL 3's one-shot SHA256() fetches the algorithm on every call, which costs
// more than hashing a few hundred bytes; this fetches it once and keeps one context per thread.
//
//   crypto::Sha256Digest d = crypto::Sha256({prefix, body});   // SHA-256(prefix ‖ body)
//
// Thread-safe (the context is thread-local). Aborts only if OpenSSL cannot allocate.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>

namespace tapvault::crypto {

using Sha256Digest = std::array<uint8_t, 32>;

// SHA-256 over the concatenation of `parts`.
Sha256Digest Sha256(std::initializer_list<std::span<const uint8_t>> parts);

}  // namespace tapvault::crypto
