#include "tlog/merkle.h"

#include <openssl/sha.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <initializer_list>
#include <memory>

#include "crypto/digest.h"

namespace tapvault::tlog {

namespace {

// RFC 9162 2.1.1 domain separation prefixes.
constexpr uint8_t kLeafPrefix = 0x00;
constexpr uint8_t kNodePrefix = 0x01;

// The largest power of two strictly smaller than n (n >= 2): the split point k of RFC 9162 2.1.1.
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

Hash Mth(std::span<const Hash> leaves) {
  if (leaves.size() == 1) return leaves[0];
  uint64_t k = SplitPoint(leaves.size());
  return NodeHash(Mth(leaves.first(k)), Mth(leaves.subspan(k)));
}

}  // namespace

using crypto::Sha256;

Hash LeafHash(base::Bytes entry) {
  return Sha256(
      {std::span(&kLeafPrefix, 1), {reinterpret_cast<const uint8_t*>(entry.data()), entry.size()}});
}

Hash LeafHashOfParts(base::Bytes head, base::Bytes tail) {
  return Sha256({std::span(&kLeafPrefix, 1),
                 {reinterpret_cast<const uint8_t*>(head.data()), head.size()},
                 {reinterpret_cast<const uint8_t*>(tail.data()), tail.size()}});
}

Hash NodeHash(const Hash& left, const Hash& right) {
  return Sha256({std::span(&kNodePrefix, 1), left, right});
}

Hash EmptyRoot() {
  Hash out;
  SHA256(nullptr, 0, out.data());
  return out;
}

Hash RootFromLeafHashes(std::span<const Hash> leaves) {
  if (leaves.empty()) return EmptyRoot();
  return Mth(leaves);
}

// RFC 9162 2.1.3.2, step by step.
bool VerifyInclusion(uint64_t index, uint64_t tree_size, const Hash& leaf_hash,
                     std::span<const Hash> proof, const Hash& root) {
  // 1. leaf_index >= tree_size fails.
  if (index >= tree_size) return false;
  // 2. fn = leaf_index, sn = tree_size - 1.
  uint64_t fn = index;
  uint64_t sn = tree_size - 1;
  // 3. r = hash.
  Hash r = leaf_hash;
  // 4. For each p in the path:
  for (const Hash& p : proof) {
    // a. sn == 0: the path is too long.
    if (sn == 0) return false;
    // b.
    if ((fn & 1) == 1 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    // c.
    fn >>= 1;
    sn >>= 1;
  }
  // 5.
  return sn == 0 && r == root;
}

// RFC 9162 2.1.4.2, step by step, after the degenerate cases of 2.1.4.
bool VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                       const Hash& new_root, std::span<const Hash> proof) {
  if (old_size > new_size) return false;
  if (old_size == new_size) return proof.empty() && old_root == new_root;
  if (old_size == 0) return proof.empty() && old_root == EmptyRoot();
  // 1. An empty path fails.
  if (proof.empty()) return false;
  // 2. If first is an exact power of 2, prepend first_hash to the path.
  bool prepend = std::has_single_bit(old_size);
  auto path_at = [&](size_t i) -> const Hash& {
    if (prepend) return i == 0 ? old_root : proof[i - 1];
    return proof[i];
  };
  size_t path_len = proof.size() + (prepend ? 1 : 0);
  // 3. fn = first - 1, sn = second - 1.
  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  // 4. If LSB(fn) is set, shift both right until it is not.
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  // 5. fr = sr = first value of the path.
  Hash fr = path_at(0);
  Hash sr = path_at(0);
  // 6. For each subsequent value c:
  for (size_t i = 1; i < path_len; ++i) {
    const Hash& c = path_at(i);
    // a.
    if (sn == 0) return false;
    // b.
    if ((fn & 1) == 1 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    // c.
    fn >>= 1;
    sn >>= 1;
  }
  // 7.
  return fr == old_root && sr == new_root && sn == 0;
}

}  // namespace tapvault::tlog
