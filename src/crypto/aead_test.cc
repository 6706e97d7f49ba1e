#include "crypto/aead.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "base/hex.h"

namespace tapvault::crypto {
namespace {

std::string Unhex(std::string_view hex) {
  auto v = base::FromHex(hex);
  EXPECT_TRUE(v.has_value()) << hex;
  return v ? std::string(reinterpret_cast<const char*>(v->data()), v->size()) : std::string();
}
SecretBytes Key(std::string_view hex) { return SecretBytes::CopyFrom(base::AsBytes(Unhex(hex))); }
std::string Hex(std::string_view s) { return base::ToHex(base::AsBytes(s)); }
base::Bytes B(const std::string& s) { return base::AsBytes(s); }

struct GcmVector {
  const char* name;
  const char* key;
  const char* iv;
  const char* pt;
  const char* aad;
  const char* ct;
  const char* tag;
};

// McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)", test cases 13-16 (256-bit key,
// 96-bit IV); also in NIST's gcmEncryptExtIV256 set.
const GcmVector kVectors[] = {
    {"case13", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"case14", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "00000000000000000000000000000000", "",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"case15", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b"
     "525"
     "b16aedf5aa0de657ba637b391aafd255",
     "",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828"
     "838"
     "c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"case16", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b"
     "525"
     "b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828"
     "838"
     "c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

TEST(AesGcmTest, KnownAnswerVectors) {
  for (const GcmVector& v : kVectors) {
    SCOPED_TRACE(v.name);
    auto aead = AesGcm::Create(Key(v.key));
    ASSERT_TRUE(aead.ok()) << aead.status();
    const std::string iv = Unhex(v.iv), pt = Unhex(v.pt), aad = Unhex(v.aad);
    std::string sealed;
    ASSERT_TRUE(aead->Seal(B(iv), B(aad), B(pt), sealed).ok());
    EXPECT_EQ(Hex(sealed), std::string(v.ct) + v.tag);
    std::string opened;
    ASSERT_TRUE(aead->Open(B(iv), B(aad), B(sealed), opened).ok());
    EXPECT_EQ(opened, pt);
  }
}

TEST(AesGcmTest, RoundTripAppendsAndReusesTheContext) {
  auto aead = AesGcm::Create(SecretBytes::Random(kAesKeyBytes));
  ASSERT_TRUE(aead.ok());
  for (size_t n : {0, 1, 15, 16, 17, 1000, 70000}) {
    SCOPED_TRACE(n);
    const std::string nonce = RandomBytes(kGcmNonceBytes);
    const std::string pt = RandomBytes(n), aad = "tapvault/pdu/" + std::to_string(n);
    std::string sealed = "prefix";
    ASSERT_TRUE(aead->Seal(B(nonce), B(aad), B(pt), sealed).ok());
    ASSERT_EQ(sealed.size(), 6 + n + kGcmTagBytes);
    EXPECT_EQ(sealed.substr(0, 6), "prefix");
    std::string opened = "xy";
    ASSERT_TRUE(aead->Open(B(nonce), B(aad), B(sealed).subspan(6), opened).ok());
    EXPECT_EQ(opened, "xy" + pt);
  }
}

TEST(AesGcmTest, SealIntoWritesTheSameBytesAsSeal) {
  auto aead = AesGcm::Create(SecretBytes::Random(kAesKeyBytes));
  ASSERT_TRUE(aead.ok());
  const std::string nonce = RandomBytes(kGcmNonceBytes), aad = "header", pt = RandomBytes(333);
  std::string sealed;
  ASSERT_TRUE(aead->Seal(B(nonce), B(aad), B(pt), sealed).ok());
  std::string buf(2 + pt.size() + kGcmTagBytes + 2, 'x');
  auto out = std::span(reinterpret_cast<std::byte*>(buf.data()) + 2, pt.size() + kGcmTagBytes);
  ASSERT_TRUE(aead->SealInto(B(nonce), B(aad), B(pt), out).ok());
  EXPECT_EQ(buf.substr(2, sealed.size()), sealed);
  EXPECT_EQ(buf.substr(0, 2), "xx");  // nothing written outside `out`
  EXPECT_EQ(buf.substr(buf.size() - 2), "xx");
  EXPECT_TRUE(absl::IsInvalidArgument(aead->SealInto(B(nonce), B(aad), B(pt), out.first(out.size() - 1))));
}

TEST(AesGcmTest, TamperingIsDataLossAndReleasesNothing) {
  auto aead = AesGcm::Create(SecretBytes::Random(kAesKeyBytes));
  ASSERT_TRUE(aead.ok());
  const std::string nonce = RandomBytes(kGcmNonceBytes), aad = "aad", pt = "the plaintext";
  std::string sealed;
  ASSERT_TRUE(aead->Seal(B(nonce), B(aad), B(pt), sealed).ok());

  auto expect_data_loss = [&](const std::string& n, const std::string& a, const std::string& s) {
    std::string out = "keep";
    absl::Status st = aead->Open(B(n), B(a), B(s), out);
    EXPECT_TRUE(absl::IsDataLoss(st)) << st;
    EXPECT_NE(st.message().find("authentication failed"), absl::string_view::npos) << st;
    EXPECT_EQ(out, "keep");
  };
  for (size_t i = 0; i < sealed.size(); ++i) {  // every byte of ciphertext and tag
    std::string bad = sealed;
    bad[i] ^= 0x01;
    expect_data_loss(nonce, aad, bad);
  }
  std::string bad_nonce = nonce;
  bad_nonce[0] ^= 0x80;
  expect_data_loss(bad_nonce, aad, sealed);
  expect_data_loss(nonce, "aae", sealed);
  expect_data_loss(nonce, "", sealed);
  expect_data_loss(nonce, aad, sealed.substr(0, sealed.size() - 1));
  expect_data_loss(nonce, aad, sealed.substr(0, kGcmTagBytes - 1));
  expect_data_loss(nonce, aad, "");

  auto other = AesGcm::Create(SecretBytes::Random(kAesKeyBytes));
  ASSERT_TRUE(other.ok());
  std::string out;
  EXPECT_TRUE(absl::IsDataLoss(other->Open(B(nonce), B(aad), B(sealed), out)));
  // The context still works after failures.
  ASSERT_TRUE(aead->Open(B(nonce), B(aad), B(sealed), out).ok());
  EXPECT_EQ(out, pt);
}

TEST(AesGcmTest, BadSizesAreInvalidArgument) {
  EXPECT_TRUE(absl::IsInvalidArgument(AesGcm::Create(SecretBytes(16)).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(AesGcm::Create(SecretBytes()).status()));
  auto aead = AesGcm::Create(SecretBytes(kAesKeyBytes));
  ASSERT_TRUE(aead.ok());
  std::string out;
  const std::string short_nonce(11, 'n'), long_nonce(13, 'n'), ct(32, 'c');
  EXPECT_TRUE(absl::IsInvalidArgument(aead->Seal(B(short_nonce), {}, B(ct), out)));
  EXPECT_TRUE(absl::IsInvalidArgument(aead->Open(B(long_nonce), {}, B(ct), out)));
  EXPECT_TRUE(out.empty());
}

TEST(AesGcmTest, MovedObjectKeepsTheKey) {
  SecretBytes key = SecretBytes::Random(kAesKeyBytes);
  auto a = AesGcm::Create(key);
  ASSERT_TRUE(a.ok());
  const std::string nonce = RandomBytes(kGcmNonceBytes), pt = "moved";
  std::string sealed;
  ASSERT_TRUE(a->Seal(B(nonce), {}, B(pt), sealed).ok());
  AesGcm b = std::move(*a);
  AesGcm c = std::move(*AesGcm::Create(SecretBytes(kAesKeyBytes)));
  c = std::move(b);
  std::string out;
  ASSERT_TRUE(c.Open(B(nonce), {}, B(sealed), out).ok());
  EXPECT_EQ(out, pt);
}

TEST(RandomBytesTest, SizeAndDistinct) {
  EXPECT_EQ(RandomBytes(0).size(), 0u);
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string r = RandomBytes(kGcmNonceBytes);
    ASSERT_EQ(r.size(), kGcmNonceBytes);
    seen.insert(r);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(KeyWrapTest, RoundTripAndFormat) {
  SecretBytes kek = SecretBytes::Random(kAesKeyBytes);
  SecretBytes key = SecretBytes::Random(kAesKeyBytes);
  auto w1 = WrapKey(kek, key, "tapvault/data-key/17");
  auto w2 = WrapKey(kek, key, "tapvault/data-key/17");
  ASSERT_TRUE(w1.ok() && w2.ok());
  EXPECT_EQ(w1->size(), kGcmNonceBytes + kAesKeyBytes + kGcmTagBytes);
  EXPECT_NE(*w1, *w2);  // fresh nonce each time
  auto back = UnwrapKey(kek, B(*w1), "tapvault/data-key/17");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->Equals(key));

  // The format is nonce || AES-GCM(kek, nonce, aad=context, key).
  auto aead = AesGcm::Create(kek);
  ASSERT_TRUE(aead.ok());
  std::string plain;
  ASSERT_TRUE(aead->Open(B(*w1).first(kGcmNonceBytes), base::AsBytes("tapvault/data-key/17"),
                         B(*w1).subspan(kGcmNonceBytes), plain)
                  .ok());
  EXPECT_TRUE(SecretBytes::CopyFrom(B(plain)).Equals(key));
}

TEST(KeyWrapTest, MismatchesAreDataLoss) {
  SecretBytes kek = SecretBytes::Random(kAesKeyBytes);
  SecretBytes key = SecretBytes::Random(kAesKeyBytes);
  auto w = WrapKey(kek, key, "tapvault/data-key/17");
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(absl::IsDataLoss(UnwrapKey(kek, B(*w), "tapvault/data-key/18").status()));
  EXPECT_TRUE(absl::IsDataLoss(UnwrapKey(kek, B(*w), "").status()));
  EXPECT_TRUE(absl::IsDataLoss(
      UnwrapKey(SecretBytes::Random(kAesKeyBytes), B(*w), "tapvault/data-key/17").status()));
  for (size_t i = 0; i < w->size(); ++i) {
    std::string bad = *w;
    bad[i] ^= 0x40;
    EXPECT_TRUE(absl::IsDataLoss(UnwrapKey(kek, B(bad), "tapvault/data-key/17").status())) << i;
  }
  for (size_t n = 0; n < w->size(); ++n) {
    EXPECT_TRUE(absl::IsDataLoss(UnwrapKey(kek, B(*w).first(n), "tapvault/data-key/17").status()))
        << n;
  }
  EXPECT_TRUE(absl::IsInvalidArgument(WrapKey(SecretBytes(31), key, "c").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(UnwrapKey(SecretBytes(33), B(*w), "c").status()));
}

TEST(KeyWrapTest, EmptyAndOddSizedKeys) {
  SecretBytes kek = SecretBytes::Random(kAesKeyBytes);
  for (size_t n : {0, 1, 16, 64}) {
    SecretBytes key = SecretBytes::Random(n);
    auto w = WrapKey(kek, key, "ctx");
    ASSERT_TRUE(w.ok());
    auto back = UnwrapKey(kek, B(*w), "ctx");
    ASSERT_TRUE(back.ok());
    EXPECT_TRUE(back->Equals(key)) << n;
  }
}

}  // namespace
}  // namespace tapvault::crypto
