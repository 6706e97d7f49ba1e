// RFC 9162 (RFC 6962) Merkle tree hashing and proof verification with SHA-256: the hash
// functions every part of the transparency log agrees on, a reference root computation, and
// the textbook verification algorithms of RFC 9162 2.1.3.2 and 2.1.4.2.
//
//   tlog::Hash leaf = tlog::LeafHash(base::AsBytes(entry));
//   if (!tlog::VerifyInclusion(index, checkpoint.size, leaf, proof, checkpoint.root)) { ... }
//   if (!tlog::VerifyConsistency(old.size, now.size, old.root, now.root, proof)) { ... }
//
// Proofs are lists of 32-byte node hashes, leaf side first (RFC 9162 2.1.3.1, 2.1.4.1); they are
// produced from tiles by tiles.h. All functions are pure and thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "base/byte_reader.h"

namespace tapvault::tlog {

using Hash = std::array<uint8_t, 32>;

// SHA-256(0x00 || entry): the hash of a log entry (RFC 9162 2.1.1).
Hash LeafHash(base::Bytes entry);
// LeafHash of an entry given as two pieces (entry = head ‖ tail), without joining them.
Hash LeafHashOfParts(base::Bytes head, base::Bytes tail);
// SHA-256(0x01 || left || right): an interior node.
Hash NodeHash(const Hash& left, const Hash& right);
// SHA-256(""): the root of the empty tree.
Hash EmptyRoot();
// MTH(D[n]) of the given leaf hashes by the recursive definition of RFC 9162 2.1.1. O(n) time;
// the reference the incremental TreeBuilder and tile-based code are tested against.
Hash RootFromLeafHashes(std::span<const Hash> leaves);

// True iff `proof` proves that `leaf_hash` is leaf `index` of the tree of `tree_size` leaves
// whose root is `root` (RFC 9162 2.1.3.2). False for index >= tree_size.
bool VerifyInclusion(uint64_t index, uint64_t tree_size, const Hash& leaf_hash,
                     std::span<const Hash> proof, const Hash& root);

// True iff `proof` proves that the tree of `old_size` leaves with root `old_root` is a prefix of
// the tree of `new_size` leaves with root `new_root` (RFC 9162 2.1.4.2). The cases the RFC
// algorithm leaves out follow RFC 9162 2.1.4: old_size == new_size needs an empty proof and equal
// roots; old_size == 0 needs an empty proof and old_root == EmptyRoot(); old_size > new_size is
// false.
bool VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                       const Hash& new_root, std::span<const Hash> proof);

}  // namespace tapvault::tlog
