#include "crypto/ed25519.h"

#include <gtest/gtest.h>

#include <string>

#include "base/hex.h"

namespace tapvault::crypto {
namespace {

std::string Unhex(std::string_view hex) {
  auto v = base::FromHex(hex);
  EXPECT_TRUE(v.has_value());
  return v ? std::string(reinterpret_cast<const char*>(v->data()), v->size()) : std::string();
}
std::string Hex(std::string_view s) { return base::ToHex(base::AsBytes(s)); }

// RFC 8032 section 7.1, TEST 1 (empty message).
constexpr char kSeed[] = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr char kPublic[] = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
constexpr char kSignature[] =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b4"
    "6b"
    "d25bf5f0595bbe24655141438e7a100b";

TEST(Ed25519Test, Rfc8032Vector1) {
  auto signer = Ed25519Signer::FromSeed(SecretBytes::CopyFrom(base::AsBytes(Unhex(kSeed))));
  ASSERT_TRUE(signer.ok()) << signer.status();
  EXPECT_EQ(Hex(signer->PublicKey()), kPublic);
  const std::string sig = signer->Sign("");
  EXPECT_EQ(Hex(sig), kSignature);
  EXPECT_TRUE(Ed25519Verify(Unhex(kPublic), "", Unhex(kSignature)));
  EXPECT_TRUE(signer->Seed().Equals(SecretBytes::CopyFrom(base::AsBytes(Unhex(kSeed)))));
}

TEST(Ed25519Test, VerifyRejectsWhatWasNotSigned) {
  const std::string pub = Unhex(kPublic), sig = Unhex(kSignature);
  EXPECT_FALSE(Ed25519Verify(pub, "x", sig));
  for (size_t i = 0; i < sig.size(); i += 7) {
    std::string bad = sig;
    bad[i] ^= 0x01;
    EXPECT_FALSE(Ed25519Verify(pub, "", bad)) << i;
  }
  std::string other_pub = pub;
  other_pub[0] ^= 0x01;
  EXPECT_FALSE(Ed25519Verify(other_pub, "", sig));
  EXPECT_FALSE(Ed25519Verify(pub.substr(1), "", sig));
  EXPECT_FALSE(Ed25519Verify(pub, "", sig.substr(1)));
  EXPECT_FALSE(Ed25519Verify("", "", ""));
}

TEST(Ed25519Test, GeneratedKeysSignAndRoundTripTheirSeed) {
  Ed25519Signer a = Ed25519Signer::Generate();
  Ed25519Signer b = Ed25519Signer::Generate();
  EXPECT_NE(a.PublicKey(), b.PublicKey());
  const std::string msg = "checkpoint 42";
  const std::string sig = a.Sign(msg);
  EXPECT_EQ(sig.size(), kEd25519SignatureBytes);
  EXPECT_TRUE(Ed25519Verify(a.PublicKey(), msg, sig));
  EXPECT_FALSE(Ed25519Verify(b.PublicKey(), msg, sig));
  auto again = Ed25519Signer::FromSeed(a.Seed());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->PublicKey(), a.PublicKey());
  Ed25519Signer moved = std::move(*again);
  EXPECT_TRUE(Ed25519Verify(moved.PublicKey(), msg, moved.Sign(msg)));
  EXPECT_TRUE(absl::IsInvalidArgument(Ed25519Signer::FromSeed(SecretBytes(31)).status()));
}

}  // namespace
}  // namespace tapvault::crypto
