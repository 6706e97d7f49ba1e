#include "tlog/note.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <string>

#include "base/hex.h"
#include "crypto/secret_bytes.h"
#include "tlog/internal/test_tiles.h"

namespace tapvault::tlog {
namespace {

using testing::HashFromHex;

crypto::Ed25519Signer SignerFromHex(std::string_view seed_hex) {
  auto seed = base::FromHex(seed_hex);
  auto signer = crypto::Ed25519Signer::FromSeed(crypto::SecretBytes::CopyFrom(*seed));
  return std::move(*signer);
}

// RFC 8032 section 7.1 TEST 1 secret key.
constexpr std::string_view kSeed1 =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
constexpr std::string_view kName = "example.org/tapvault/test";
constexpr std::string_view kCtRoot8 =
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328";

Checkpoint TestCheckpoint() {
  return Checkpoint{.origin = std::string(kName), .size = 8, .root = HashFromHex(kCtRoot8)};
}

TEST(NoteTest, KeyHashComputedByHand) {
  crypto::Ed25519Signer signer = SignerFromHex(kSeed1);
  EXPECT_EQ(base::ToHex(base::AsBytes(signer.PublicKey())),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  // SHA-256("example.org/tapvault/test" || "\n" || 0x01 || public key), first 4 bytes.
  std::string buf = std::string(kName) + "\n" + "\x01" + signer.PublicKey();
  uint8_t d[32];
  SHA256(reinterpret_cast<const uint8_t*>(buf.data()), buf.size(), d);
  uint32_t by_hand = uint32_t{d[0]} << 24 | uint32_t{d[1]} << 16 | uint32_t{d[2]} << 8 | d[3];
  EXPECT_EQ(by_hand, 0xc4c75511u);  // also computed with Python hashlib
  EXPECT_EQ(KeyHash(kName, signer.PublicKey()), by_hand);
  EXPECT_EQ(VerifierKey(kName, signer.PublicKey()),
            "example.org/tapvault/test+c4c75511+AddamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1Ea");
}

TEST(NoteTest, KnownAnswerCheckpointNote) {
  crypto::Ed25519Signer signer = SignerFromHex(kSeed1);
  std::string body = CheckpointBody(TestCheckpoint());
  EXPECT_EQ(body, "example.org/tapvault/test\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n");
  auto note = SignNote(body, kName, signer);
  ASSERT_TRUE(note.ok()) << note.status();
  // Generated independently with Python's `cryptography` (Ed25519 is deterministic).
  EXPECT_EQ(
      *note,
      "example.org/tapvault/test\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
      "\n"
      "\xE2\x80\x94 example.org/tapvault/test "
      "xMdVETjHleNRgF9uLhd6lNmdrJabhcXmdWZsAu69Yqohfxsn8r6J7MBnQNehqGMYURiDvcmTjP2NRdbMsfwSNyww"
      "MAs=\n");
  auto opened = OpenCheckpoint(*note, VerifierKey(kName, signer.PublicKey()));
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(opened->origin, kName);
  EXPECT_EQ(opened->size, 8u);
  EXPECT_EQ(opened->root, HashFromHex(kCtRoot8));
  EXPECT_TRUE(opened->extensions.empty());
}

TEST(NoteTest, GoSumdbNoteInterop) {
  // golang.org/x/mod/sumdb/note: the PeterNeumann example key and note.
  constexpr std::string_view kGoText =
      "If you think cryptography is the answer to your problem,\n"
      "then you don't know what your problem is.\n";
  constexpr std::string_view kGoNote =
      "If you think cryptography is the answer to your problem,\n"
      "then you don't know what your problem is.\n"
      "\n"
      "\xE2\x80\x94 PeterNeumann "
      "x08go/ZJkuBS9UG/"
      "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
  constexpr std::string_view kGoVkey =
      "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
  // The seed of "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz".
  crypto::Ed25519Signer signer =
      SignerFromHex("810a1402d5146c8d84f2443330f54080ebf98ee17d9c74f6252fc5d5c7283173");
  EXPECT_EQ(VerifierKey("PeterNeumann", signer.PublicKey()), kGoVkey);
  auto note = SignNote(kGoText, "PeterNeumann", signer);
  ASSERT_TRUE(note.ok());
  EXPECT_EQ(*note, kGoNote);
  auto text = OpenSignedNote(kGoNote, kGoVkey);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, kGoText);
  std::string tampered(kGoNote);
  tampered.replace(tampered.find("cryptography"), 12, "cryptographY");
  EXPECT_EQ(OpenSignedNote(tampered, kGoVkey).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST(NoteTest, ForeignSignaturesAreIgnored) {
  crypto::Ed25519Signer ours = crypto::Ed25519Signer::Generate();
  crypto::Ed25519Signer witness = crypto::Ed25519Signer::Generate();
  std::string body = CheckpointBody(TestCheckpoint());
  auto note = SignNote(body, kName, ours);
  auto cosigned = SignNote(body, "witness.example", witness);
  ASSERT_TRUE(note.ok() && cosigned.ok());
  // Our note plus the witness's signature line, before and after ours.
  std::string witness_line = cosigned->substr(body.size() + 1);
  std::string ours_line = note->substr(body.size() + 1);
  std::string vkey = VerifierKey(kName, ours.PublicKey());
  for (const std::string& n :
       {body + "\n" + witness_line + ours_line, body + "\n" + ours_line + witness_line}) {
    auto c = OpenCheckpoint(n, vkey);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->size, 8u);
  }
  // Only the witness signed: PermissionDenied for our key, fine for the witness key.
  EXPECT_EQ(OpenCheckpoint(*cosigned, vkey).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(OpenCheckpoint(*cosigned, VerifierKey("witness.example", witness.PublicKey())).ok());
  // Same name, other key (so another key hash): not ours, ignored, hence unsigned.
  auto impostor = SignNote(body, kName, witness);
  ASSERT_TRUE(impostor.ok());
  EXPECT_EQ(OpenCheckpoint(*impostor, vkey).status().code(), absl::StatusCode::kPermissionDenied);
}

TEST(NoteTest, TamperingIsPermissionDenied) {
  crypto::Ed25519Signer signer = crypto::Ed25519Signer::Generate();
  std::string vkey = VerifierKey(kName, signer.PublicKey());
  auto note = SignNote(CheckpointBody(TestCheckpoint()), kName, signer);
  ASSERT_TRUE(note.ok());
  ASSERT_TRUE(OpenCheckpoint(*note, vkey).ok());
  std::string body_tampered = *note;
  body_tampered[body_tampered.find("\n8\n") + 1] = '9';
  EXPECT_EQ(OpenCheckpoint(body_tampered, vkey).status().code(),
            absl::StatusCode::kPermissionDenied);
  // Flip bits inside the signature's base64 (past the key hash: chars 6.. of the blob).
  size_t sig_at = note->rfind(' ') + 1;
  for (size_t i = sig_at + 8; i < note->size() - 4; i += 9) {
    std::string sig_tampered = *note;
    sig_tampered[i] = sig_tampered[i] == 'A' ? 'B' : 'A';
    EXPECT_EQ(OpenCheckpoint(sig_tampered, vkey).status().code(),
              absl::StatusCode::kPermissionDenied)
        << i;
  }
  // Another key's verifier: not signed by it.
  crypto::Ed25519Signer other = crypto::Ed25519Signer::Generate();
  EXPECT_EQ(OpenCheckpoint(*note, VerifierKey(kName, other.PublicKey())).status().code(),
            absl::StatusCode::kPermissionDenied);
}

TEST(NoteTest, MalformedNotesAreInvalidArgument) {
  crypto::Ed25519Signer signer = SignerFromHex(kSeed1);
  std::string vkey = VerifierKey(kName, signer.PublicKey());
  std::string body = CheckpointBody(TestCheckpoint());
  std::string note = *SignNote(body, kName, signer);
  auto code = [&](std::string_view n) { return OpenCheckpoint(n, vkey).status().code(); };
  EXPECT_EQ(code(""), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(body), absl::StatusCode::kInvalidArgument);  // no signatures
  EXPECT_EQ(code(note.substr(0, note.size() - 1)), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(body + "\n"), absl::StatusCode::kInvalidArgument);    // empty block
  EXPECT_EQ(code(body + "\n- " + std::string(kName) + " AAAAAAAA\n"),  // ASCII dash
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(body + "\n\xE2\x80\x94 " + std::string(kName) + " AAAA\n"),  // < 5 bytes
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(body + "\n\xE2\x80\x94 " + std::string(kName) + " !!!!!!!!\n"),
            absl::StatusCode::kInvalidArgument);
  std::string tab = note;
  tab[3] = '\t';
  EXPECT_EQ(code(tab), absl::StatusCode::kInvalidArgument);
  std::string bad_utf8 = note;
  bad_utf8[3] = '\xC0';
  EXPECT_EQ(code(bad_utf8), absl::StatusCode::kInvalidArgument);
  std::string many = body + "\n";
  std::string line = note.substr(body.size() + 1);
  for (int i = 0; i < 101; ++i) many += line;
  EXPECT_EQ(code(many), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code(note), absl::StatusCode::kOk);
  // Signing refuses what could not be opened.
  EXPECT_EQ(SignNote("no newline", kName, signer).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SignNote("tab\there\n", kName, signer).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SignNote("ok\n", "bad name", signer).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SignNote("ok\n", "a+b", signer).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(NoteTest, GenericSignedDocuments) {
  crypto::Ed25519Signer signer = crypto::Ed25519Signer::Generate();
  std::string vkey = VerifierKey("tapvault-destroy", signer.PublicKey());
  // Blank lines inside the text are fine: the signature block follows the last one.
  std::string text = "destruction record\n\nliid: 42\nrecords: 1-99\n\xC3\xA9t\xC3\xA9\n";
  auto note = SignNote(text, "tapvault-destroy", signer);
  ASSERT_TRUE(note.ok());
  auto opened = OpenSignedNote(*note, vkey);
  ASSERT_TRUE(opened.ok()) << opened.status();
  EXPECT_EQ(*opened, text);
  // Not a checkpoint, though.
  EXPECT_EQ(OpenCheckpoint(*note, vkey).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(VerifierKeyTest, ParseRoundTripAndErrors) {
  crypto::Ed25519Signer signer = SignerFromHex(kSeed1);
  std::string vkey = VerifierKey(kName, signer.PublicKey());
  auto parsed = ParseVerifierKey(vkey);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->name, kName);
  EXPECT_EQ(parsed->public_key, signer.PublicKey());
  EXPECT_EQ(parsed->key_hash, 0xc4c75511u);
  // Every proper substring and every single-character change is rejected (as Go's tests do).
  for (size_t i = 0; i < vkey.size(); ++i) {
    for (size_t j = i + 1; j <= vkey.size(); ++j) {
      if (i == 0 && j == vkey.size()) continue;
      EXPECT_FALSE(ParseVerifierKey(std::string_view(vkey).substr(i, j - i)).ok()) << i << "," << j;
    }
    std::string changed = vkey;
    changed[i] = static_cast<char>(changed[i] + 1);
    auto r = ParseVerifierKey(changed);
    EXPECT_FALSE(r.ok()) << changed;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
}

TEST(CheckpointTest, ParseBody) {
  Checkpoint c = TestCheckpoint();
  c.extensions = {"ext one", "— ext two"};
  std::string body = CheckpointBody(c);
  auto parsed = ParseCheckpointBody(body);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->origin, c.origin);
  EXPECT_EQ(parsed->size, 8u);
  EXPECT_EQ(parsed->root, c.root);
  EXPECT_EQ(parsed->extensions, c.extensions);
  EXPECT_EQ(CheckpointBody(*parsed), body);
  std::string root = "XcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=";
  auto code = [](std::string_view b) { return ParseCheckpointBody(b).status().code(); };
  EXPECT_EQ(code("o\n0\n" + root + "\n"), absl::StatusCode::kOk);
  EXPECT_EQ(code("o\n18446744073709551615\n" + root + "\n"), absl::StatusCode::kOk);
  EXPECT_EQ(code("o\n18446744073709551616\n" + root + "\n"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code("o\n08\n" + root + "\n"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code("o\n+8\n" + root + "\n"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code("o\n-8\n" + root + "\n"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code("o\n\n" + root + "\n"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code("\n8\n" + root + "\n"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code("o\n8\n" + root), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code("o\n8\n"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code("o\n8\n" + root + "\n\n"), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code("o\n8\nAAAA\n"), absl::StatusCode::kInvalidArgument);     // 3 bytes
  EXPECT_EQ(code("o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyh=\n"),  // non-canonical
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(code("o\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz-Nw7_RgQyg=\n"),  // base64url
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tapvault::tlog
