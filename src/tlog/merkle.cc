#include "tlog/merkle.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <initializer_list>
#include <memory>

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

namespace {

// SHA-256 over the concatenation of `parts`. The digest is fetched once and each thread keeps
// its context: OpenSSL 3's one-shot SHA256() fetches the algorithm on every call, which costs
// more than hashing 65 bytes, and the tree hashes many small nodes.
Hash Sha256(std::initializer_list<std::span<const uint8_t>> parts) {
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct CtxDeleter {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
  };
  thread_local std::unique_ptr<EVP_MD_CTX, CtxDeleter> ctx(EVP_MD_CTX_new());
  Hash out;
  unsigned int len = 0;
  bool ok = md != nullptr && ctx != nullptr && EVP_DigestInit_ex2(ctx.get(), md, nullptr) == 1;
  for (const auto& p : parts) ok = ok && EVP_DigestUpdate(ctx.get(), p.data(), p.size()) == 1;
  ok = ok && EVP_DigestFinal_ex(ctx.get(), out.data(), &len) == 1;
  if (!ok || len != out.size()) std::abort();  // SHA-256 cannot fail but for allocation failure
  return out;
}

}  // namespace

Hash LeafHash(base::Bytes entry) {
  return Sha256(
      {std::span(&kLeafPrefix, 1), {reinterpret_cast<const uint8_t*>(entry.data()), entry.size()}});
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
