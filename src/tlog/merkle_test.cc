#include "tlog/merkle.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <string>
#include <vector>

#include "tlog/internal/test_tiles.h"
#include "tlog/tiles.h"

namespace tapvault::tlog {
namespace {

using testing::HashFromHex;
using testing::ToHex;

// The RFC 6962 reference tree of certificate-transparency-go (merkletree) and
// transparency-dev/merkle (testonly): leaves, roots for sizes 1..8, and some proofs.
const std::vector<std::string> kCtLeaves = {
    "",
    std::string("\x00", 1),
    "\x10",
    "\x20\x21",
    "\x30\x31",
    "\x40\x41\x42\x43",
    "\x50\x51\x52\x53\x54\x55\x56\x57",
    "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
};
const char* const kCtRoots[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

struct ProofVector {
  uint64_t a, b;  // (leaf index, tree size) or (old size, new size)
  std::vector<const char*> proof;
};
const ProofVector kCtInclusion[] = {
    {0,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5,
     8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};
const ProofVector kCtConsistency[] = {
    {1,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {2,
     8,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2,
     5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

std::vector<Hash> CtLeafHashes() {
  std::vector<Hash> out;
  for (const auto& l : kCtLeaves) out.push_back(LeafHash(base::AsBytes(l)));
  return out;
}

std::vector<Hash> Hashes(const std::vector<const char*>& hex) {
  std::vector<Hash> out;
  for (const char* h : hex) out.push_back(HashFromHex(h));
  return out;
}

Hash CtRoot(uint64_t size) { return HashFromHex(kCtRoots[size - 1]); }

TEST(MerkleTest, HashDefinitions) {
  EXPECT_EQ(ToHex(EmptyRoot()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(RootFromLeafHashes({}), EmptyRoot());
  // Leaf: SHA-256(0x00 || entry); node: SHA-256(0x01 || l || r), checked with SHA256() directly.
  std::string entry = "abc";
  std::string buf = std::string(1, '\0') + entry;
  Hash want;
  SHA256(reinterpret_cast<const uint8_t*>(buf.data()), buf.size(), want.data());
  EXPECT_EQ(LeafHash(base::AsBytes(entry)), want);
  EXPECT_EQ(LeafHashOfParts(base::AsBytes(std::string("a")), base::AsBytes(std::string("bc"))), want);
  EXPECT_EQ(LeafHashOfParts(base::AsBytes(entry), {}), want);
  Hash l = LeafHash(base::AsBytes(std::string_view("l")));
  Hash r = LeafHash(base::AsBytes(std::string_view("r")));
  std::string nb = "\x01" + std::string(l.begin(), l.end()) + std::string(r.begin(), r.end());
  SHA256(reinterpret_cast<const uint8_t*>(nb.data()), nb.size(), want.data());
  EXPECT_EQ(NodeHash(l, r), want);
  EXPECT_NE(NodeHash(r, l), want);
}

TEST(MerkleTest, CtReferenceRoots) {
  std::vector<Hash> leaves = CtLeafHashes();
  for (size_t n = 1; n <= leaves.size(); ++n) {
    EXPECT_EQ(ToHex(RootFromLeafHashes(std::span(leaves).first(n))), kCtRoots[n - 1])
        << "size " << n;
  }
}

TEST(MerkleTest, CtReferenceInclusionProofs) {
  std::vector<Hash> leaves = CtLeafHashes();
  TreeBuilder tree;
  testing::MemTileReader tiles;
  for (const Hash& h : leaves) tree.Append(h, nullptr);
  tiles.PutAll(tree.PartialTiles());
  for (const auto& v : kCtInclusion) {
    std::vector<Hash> want = Hashes(v.proof);
    auto proof = InclusionProof(v.a, v.b, tiles);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(*proof, want) << v.a << "/" << v.b;
    EXPECT_TRUE(VerifyInclusion(v.a, v.b, leaves[v.a], want, CtRoot(v.b)));
  }
}

TEST(MerkleTest, CtReferenceConsistencyProofs) {
  std::vector<Hash> leaves = CtLeafHashes();
  TreeBuilder tree;
  testing::MemTileReader tiles;
  for (const Hash& h : leaves) tree.Append(h, nullptr);
  tiles.PutAll(tree.PartialTiles());
  for (const auto& v : kCtConsistency) {
    std::vector<Hash> want = Hashes(v.proof);
    auto proof = ConsistencyProof(v.a, v.b, tiles);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(*proof, want) << v.a << "->" << v.b;
    EXPECT_TRUE(VerifyConsistency(v.a, v.b, CtRoot(v.a), CtRoot(v.b), want));
    // Swapped roots, a wrong old size and every single-byte corruption are rejected. (A wrong
    // new size can pass: the sizes only shape the path; the signed checkpoint binds the size.)
    EXPECT_FALSE(VerifyConsistency(v.a, v.b, CtRoot(v.b), CtRoot(v.a), want));
    EXPECT_FALSE(VerifyConsistency(v.a + 1, v.b, CtRoot(v.a), CtRoot(v.b), want));
    for (size_t i = 0; i < want.size(); ++i) {
      std::vector<Hash> bad = want;
      bad[i][7] ^= 0x20;
      EXPECT_FALSE(VerifyConsistency(v.a, v.b, CtRoot(v.a), CtRoot(v.b), bad)) << i;
    }
  }
}

TEST(MerkleTest, InclusionNegatives) {
  std::vector<Hash> leaves = CtLeafHashes();
  const auto& v = kCtInclusion[1];  // leaf 5 of 8
  std::vector<Hash> proof = Hashes(v.proof);
  Hash root = CtRoot(8);
  ASSERT_TRUE(VerifyInclusion(5, 8, leaves[5], proof, root));
  EXPECT_FALSE(VerifyInclusion(5, 8, leaves[5], proof, CtRoot(7)));  // wrong root
  EXPECT_FALSE(VerifyInclusion(4, 8, leaves[5], proof, root));       // wrong index
  EXPECT_FALSE(VerifyInclusion(7, 8, leaves[5], proof, root));
  EXPECT_FALSE(VerifyInclusion(5, 6, leaves[5], proof, root));  // size of another shape
  EXPECT_FALSE(VerifyInclusion(5, 8, leaves[4], proof, root));  // wrong leaf
  EXPECT_FALSE(VerifyInclusion(8, 8, leaves[5], proof, root));  // index >= size
  EXPECT_FALSE(VerifyInclusion(5, 0, leaves[5], proof, root));
  for (size_t i = 0; i < proof.size(); ++i) {
    std::vector<Hash> bad = proof;
    bad[i][31] ^= 1;
    EXPECT_FALSE(VerifyInclusion(5, 8, leaves[5], bad, root)) << "tampered " << i;
  }
  std::vector<Hash> shorter(proof.begin(), proof.end() - 1);
  EXPECT_FALSE(VerifyInclusion(5, 8, leaves[5], shorter, root));
  std::vector<Hash> longer = proof;
  longer.push_back(proof[0]);
  EXPECT_FALSE(VerifyInclusion(5, 8, leaves[5], longer, root));
  // A single-leaf tree: the empty proof, and the root is the leaf hash.
  EXPECT_TRUE(VerifyInclusion(0, 1, leaves[0], {}, CtRoot(1)));
  EXPECT_FALSE(VerifyInclusion(0, 1, leaves[0], proof, CtRoot(1)));
}

TEST(MerkleTest, ConsistencyDegenerateCases) {
  Hash r4 = CtRoot(4), r5 = CtRoot(5);
  std::vector<Hash> one = {r4};
  EXPECT_TRUE(VerifyConsistency(4, 4, r4, r4, {}));
  EXPECT_FALSE(VerifyConsistency(4, 4, r4, r5, {}));
  EXPECT_FALSE(VerifyConsistency(4, 4, r4, r4, one));
  EXPECT_TRUE(VerifyConsistency(0, 5, EmptyRoot(), r5, {}));
  EXPECT_FALSE(VerifyConsistency(0, 5, r4, r5, {}));
  EXPECT_FALSE(VerifyConsistency(0, 5, EmptyRoot(), r5, one));
  EXPECT_FALSE(VerifyConsistency(5, 4, r5, r4, one));
  EXPECT_FALSE(VerifyConsistency(4, 5, r4, r5, {}));  // empty proof for 0 < m < n
}

}  // namespace
}  // namespace tapvault::tlog
