// PKCS#11 MasterKey against a real SoftHSM2 token (made by softhsm_for_test).
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "crypto/aead.h"
#include "crypto/master_key.h"
#include "crypto/softhsm_for_test.h"

#define CRYPTOKI_GNU 1
#include <p11-kit/pkcs11.h>

namespace tapvault::crypto {
namespace {

base::Bytes B(const std::string& s) { return base::AsBytes(s); }

std::string Token() {
  auto uri = NewSoftHsmMasterKeyUriForTest();
  // No skipping: scripts/install-deps installs SoftHSM2, so its absence is a broken setup.
  EXPECT_TRUE(uri.ok()) << uri.status();
  return uri.ok() ? *uri : std::string();
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from << " in " << s;
  if (p != std::string::npos) s.replace(p, from.size(), to);
  return s;
}

// What a process with the PIN could try with its own session on the token: read the key.
struct RawToken {
  ck_function_list* f = nullptr;
  ck_session_handle_t session = 0;

  explicit RawToken(const std::string& token_label) {
    void* h = dlopen(kSoftHsmModulePathForTest, RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) return;
    auto get = reinterpret_cast<ck_rv_t (*)(ck_function_list**)>(dlsym(h, "C_GetFunctionList"));
    if (get == nullptr || get(&f) != CKR_OK) return;
    ck_c_initialize_args args{};
    args.flags = CKF_OS_LOCKING_OK;
    ck_rv_t rv = f->C_Initialize(&args);
    // A MasterKey is open in this process, so the module is initialized already.
    EXPECT_EQ(rv, CKR_CRYPTOKI_ALREADY_INITIALIZED);
    unsigned long n = 16;
    ck_slot_id_t slots[16];
    if (f->C_GetSlotList(1, slots, &n) != CKR_OK) return;
    for (unsigned long i = 0; i < n; ++i) {
      ck_token_info info{};
      f->C_GetTokenInfo(slots[i], &info);
      std::string label(reinterpret_cast<char*>(info.label), 32);
      if (label.substr(0, token_label.size()) != token_label) continue;
      EXPECT_EQ(f->C_OpenSession(slots[i], CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr,
                                 &session),
                CKR_OK);
      ck_rv_t login = f->C_Login(
          session, CKU_USER,
          reinterpret_cast<unsigned char*>(const_cast<char*>(kSoftHsmUserPinForTest)), 4);
      EXPECT_TRUE(login == CKR_OK || login == CKR_USER_ALREADY_LOGGED_IN) << login;
    }
  }
  ~RawToken() {
    if (session != 0) f->C_CloseSession(session);
  }

  ck_object_handle_t Find(const std::string& label) {
    ck_attribute t{CKA_LABEL, const_cast<char*>(label.data()), label.size()};
    ck_object_handle_t h = 0;
    unsigned long got = 0;
    EXPECT_EQ(f->C_FindObjectsInit(session, &t, 1), CKR_OK);
    EXPECT_EQ(f->C_FindObjects(session, &h, 1, &got), CKR_OK);
    f->C_FindObjectsFinal(session);
    return got == 1 ? h : 0;
  }
};

// The object= of a URI made by NewSoftHsmMasterKeyUriForTest.
std::string Object(const std::string& uri) {
  size_t a = uri.find("object=") + 7;
  return uri.substr(a, uri.find('?', a) - a);
}

TEST(Pkcs11MasterKeyTest, CreateWrapRotateDestroy) {
  const std::string uri = Token();
  ASSERT_FALSE(uri.empty());
  auto none = OpenPkcs11MasterKey(uri, /*create=*/false);
  EXPECT_TRUE(absl::IsNotFound(none.status())) << none.status();

  auto mk = OpenPkcs11MasterKey(uri, /*create=*/true);
  ASSERT_TRUE(mk.ok()) << mk.status();
  EXPECT_EQ((*mk)->Describe(), "pkcs11:token=tapvault;object=" + Object(uri));
  EXPECT_EQ((*mk)->Describe().find("1234"), std::string::npos);
  EXPECT_EQ((*mk)->CurrentVersion(), 1u);
  EXPECT_EQ((*mk)->Versions(), std::vector<uint32_t>{1});

  SecretBytes k1 = SecretBytes::Random(32), k2 = SecretBytes::Random(32);
  auto blob1 = (*mk)->Wrap(k1, "tapvault/warrant-key/1");
  ASSERT_TRUE(blob1.ok()) << blob1.status();
  ASSERT_EQ(blob1->size(), kMasterKeyBlobOverhead + 32);
  EXPECT_EQ(blob1->substr(0, 5), std::string("\x01\x00\x00\x00\x01", 5));
  auto back = (*mk)->Unwrap(B(*blob1), "tapvault/warrant-key/1");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->Equals(k1));

  // Authentication failures, and the session is still usable after each.
  auto wrong_ctx = (*mk)->Unwrap(B(*blob1), "tapvault/warrant-key/2");
  EXPECT_TRUE(absl::IsDataLoss(wrong_ctx.status())) << wrong_ctx.status();
  for (size_t i : {5u, 17u, 30u, 49u, 64u}) {  // nonce, ciphertext, tag
    std::string bad = *blob1;
    bad[i] ^= 0x01;
    auto r = (*mk)->Unwrap(B(bad), "tapvault/warrant-key/1");
    EXPECT_TRUE(absl::IsDataLoss(r.status())) << i << " " << r.status();
  }
  EXPECT_TRUE(absl::IsDataLoss((*mk)->Unwrap(B(*blob1).first(20), "x").status()));
  ASSERT_TRUE((*mk)->Unwrap(B(*blob1), "tapvault/warrant-key/1").ok());

  auto v2 = (*mk)->Rotate();
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(*v2, 2u);
  EXPECT_EQ((*mk)->Versions(), (std::vector<uint32_t>{1, 2}));
  auto blob2 = (*mk)->Wrap(k2, "tapvault/warrant-key/2");
  ASSERT_TRUE(blob2.ok());
  EXPECT_EQ(static_cast<uint8_t>((*blob2)[4]), 2);
  EXPECT_TRUE((*mk)->Unwrap(B(*blob1), "tapvault/warrant-key/1").ok());

  EXPECT_TRUE(absl::IsFailedPrecondition((*mk)->DestroyVersion(2)));
  EXPECT_TRUE(absl::IsNotFound((*mk)->DestroyVersion(3)));
  ASSERT_TRUE((*mk)->DestroyVersion(1).ok());
  EXPECT_EQ((*mk)->Versions(), std::vector<uint32_t>{2});
  EXPECT_TRUE(absl::IsNotFound((*mk)->Unwrap(B(*blob1), "tapvault/warrant-key/1").status()));

  // A fresh open (the module is finalized and re-initialized) sees the same token state.
  mk->reset();
  auto fresh = OpenPkcs11MasterKey(uri, /*create=*/false);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ((*fresh)->Versions(), std::vector<uint32_t>{2});
  EXPECT_TRUE(absl::IsNotFound((*fresh)->Unwrap(B(*blob1), "tapvault/warrant-key/1").status()));
  auto back2 = (*fresh)->Unwrap(B(*blob2), "tapvault/warrant-key/2");
  ASSERT_TRUE(back2.ok()) << back2.status();
  EXPECT_TRUE(back2->Equals(k2));
  auto v3 = (*fresh)->Rotate();
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(*v3, 3u);
}

TEST(Pkcs11MasterKeyTest, KeyNeverLeavesTheToken) {
  const std::string uri = Token();
  ASSERT_FALSE(uri.empty());
  auto mk = OpenPkcs11MasterKey(uri, /*create=*/true);
  ASSERT_TRUE(mk.ok()) << mk.status();

  RawToken raw(kSoftHsmTokenLabelForTest);
  ASSERT_NE(raw.session, 0u);
  ck_object_handle_t h = raw.Find(Object(uri) + "-v1");
  ASSERT_NE(h, 0u);
  unsigned char value[64];
  ck_attribute a{CKA_VALUE, value, sizeof value};
  EXPECT_EQ(raw.f->C_GetAttributeValue(raw.session, h, &a, 1), CKR_ATTRIBUTE_SENSITIVE);
  unsigned char sensitive = 0, extractable = 1, token = 0, never_extractable = 0;
  ck_attribute attrs[] = {{CKA_SENSITIVE, &sensitive, 1},
                          {CKA_EXTRACTABLE, &extractable, 1},
                          {CKA_TOKEN, &token, 1},
                          {CKA_NEVER_EXTRACTABLE, &never_extractable, 1}};
  ASSERT_EQ(raw.f->C_GetAttributeValue(raw.session, h, attrs, 4), CKR_OK);
  EXPECT_EQ(sensitive, 1);
  EXPECT_EQ(extractable, 0);
  EXPECT_EQ(token, 1);
  EXPECT_EQ(never_extractable, 1);
  // Making it extractable afterwards is refused by the token (CKA_EXTRACTABLE can only go to
  // false).
  unsigned char yes = 1;
  ck_attribute set{CKA_EXTRACTABLE, &yes, 1};
  EXPECT_NE(raw.f->C_SetAttributeValue(raw.session, h, &set, 1), CKR_OK);
}

TEST(Pkcs11MasterKeyTest, RefusesAnExtractableVersion) {
  const std::string uri = Token();
  ASSERT_FALSE(uri.empty());
  auto mk = OpenPkcs11MasterKey(uri, /*create=*/true);
  ASSERT_TRUE(mk.ok());
  {
    // Somebody imports "<object>-v2" with a known value: it must not be used.
    RawToken raw(kSoftHsmTokenLabelForTest);
    ASSERT_NE(raw.session, 0u);
    ck_object_class_t cls = CKO_SECRET_KEY;
    ck_key_type_t type = CKK_AES;
    unsigned char yes = 1, no = 0, value[32] = {};
    const std::string label = Object(uri) + "-v2";
    ck_attribute t[] = {{CKA_CLASS, &cls, sizeof cls},
                        {CKA_KEY_TYPE, &type, sizeof type},
                        {CKA_VALUE, value, 32},
                        {CKA_TOKEN, &yes, 1},
                        {CKA_SENSITIVE, &no, 1},
                        {CKA_EXTRACTABLE, &yes, 1},
                        {CKA_ENCRYPT, &yes, 1},
                        {CKA_DECRYPT, &yes, 1},
                        {CKA_LABEL, const_cast<char*>(label.data()), label.size()}};
    ck_object_handle_t h = 0;
    ASSERT_EQ(raw.f->C_CreateObject(raw.session, t, 9, &h), CKR_OK);
  }
  mk->reset();
  auto again = OpenPkcs11MasterKey(uri, false);
  EXPECT_TRUE(absl::IsFailedPrecondition(again.status())) << again.status();
}

TEST(Pkcs11MasterKeyTest, PinSourcesAndWrongPin) {
  const std::string uri = Token();
  ASSERT_FALSE(uri.empty());
  auto first = OpenPkcs11MasterKey(uri, true);
  ASSERT_TRUE(first.ok()) << first.status();
  first->reset();

  auto wrong = OpenPkcs11MasterKey(Replace(uri, "pin-value=1234", "pin-value=9999"), false);
  EXPECT_TRUE(absl::IsPermissionDenied(wrong.status())) << wrong.status();
  EXPECT_EQ(std::string(wrong.status().message()).find("9999"), std::string::npos);

  const std::string no_pin = Replace(uri, "&pin-value=1234", "");
  unsetenv("TAPVAULT_PKCS11_PIN");
  auto missing = OpenPkcs11MasterKey(no_pin, false);
  EXPECT_TRUE(absl::IsInvalidArgument(missing.status())) << missing.status();
  setenv("TAPVAULT_PKCS11_PIN", kSoftHsmUserPinForTest, 1);
  auto from_env = OpenPkcs11MasterKey(no_pin, false);
  unsetenv("TAPVAULT_PKCS11_PIN");
  EXPECT_TRUE(from_env.ok()) << from_env.status();
  from_env->reset();

  const std::string pin_file = SoftHsmDirForTest() + "/pin";
  { std::ofstream(pin_file) << kSoftHsmUserPinForTest << "\n"; }
  for (const std::string& source : {"file:" + pin_file, pin_file}) {
    auto from_file = OpenPkcs11MasterKey(no_pin + "&pin-source=" + source, false);
    EXPECT_TRUE(from_file.ok()) << source << " " << from_file.status();
  }
  EXPECT_TRUE(absl::IsInvalidArgument(
      OpenPkcs11MasterKey(no_pin + "&pin-source=relative/pin", false).status()));
  EXPECT_TRUE(absl::IsNotFound(
      OpenPkcs11MasterKey(no_pin + "&pin-source=file:" + pin_file + ".missing", false).status()));
}

TEST(Pkcs11MasterKeyTest, BadUris) {
  const std::string uri = Token();
  ASSERT_FALSE(uri.empty());
  const std::string module = std::string("module-path=") + kSoftHsmModulePathForTest;
  auto expect = [](const std::string& u, absl::StatusCode code) {
    auto mk = OpenPkcs11MasterKey(u, true);
    EXPECT_EQ(mk.status().code(), code) << u << " -> " << mk.status();
    EXPECT_EQ(std::string(mk.status().message()).find("1234"), std::string::npos) << mk.status();
  };
  expect(Replace(uri, module + "&", ""), absl::StatusCode::kInvalidArgument);
  expect(Replace(uri, ";object=" + Object(uri), ""), absl::StatusCode::kInvalidArgument);
  expect(Replace(uri, kSoftHsmModulePathForTest, "/nonexistent/libpkcs11.so"),
         absl::StatusCode::kInvalidArgument);
  expect(Replace(uri, kSoftHsmModulePathForTest, "/usr/lib/x86_64-linux-gnu/libz.so.1"),
         absl::StatusCode::kInvalidArgument);
  expect(Replace(uri, "token=tapvault", "token=nope"), absl::StatusCode::kNotFound);
  expect(Replace(uri, "pkcs11:", "pkcs11:frobnicate=1;"), absl::StatusCode::kInvalidArgument);
  expect("pkcs11:token=%zz", absl::StatusCode::kInvalidArgument);
}

TEST(Pkcs11MasterKeyTest, SeveralKeysAtOnceAreIsolated) {
  const std::string a = Token();
  ASSERT_FALSE(a.empty());
  auto mka = OpenMasterKey(a, /*create=*/true);  // the "pkcs11:" dispatch
  ASSERT_TRUE(mka.ok()) << mka.status();
  EXPECT_TRUE((*mka)->Describe().starts_with("pkcs11:token=tapvault;object=tapvault-master-"));
  const std::string b = Token();
  ASSERT_FALSE(b.empty());
  EXPECT_TRUE(absl::IsNotFound(OpenPkcs11MasterKey(b, false).status()));
  auto mkb = OpenPkcs11MasterKey(b, true);
  ASSERT_TRUE(mkb.ok()) << mkb.status();
  SecretBytes key = SecretBytes::Random(32);
  auto blob = (*mka)->Wrap(key, "c");
  ASSERT_TRUE(blob.ok());
  // Same version number, different key.
  EXPECT_TRUE(absl::IsDataLoss((*mkb)->Unwrap(B(*blob), "c").status()));
  // Two MasterKeys on the same token share the module and the login.
  auto mka2 = OpenPkcs11MasterKey(a, false);
  ASSERT_TRUE(mka2.ok()) << mka2.status();
  mka->reset();
  auto back = (*mka2)->Unwrap(B(*blob), "c");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->Equals(key));
}

TEST(Pkcs11MasterKeyTest, ConcurrentUse) {
  const std::string uri = Token();
  ASSERT_FALSE(uri.empty());
  auto mk = OpenPkcs11MasterKey(uri, true);
  ASSERT_TRUE(mk.ok());
  MasterKey* m = mk->get();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      SecretBytes key = SecretBytes::Random(32);
      const std::string ctx = "t/" + std::to_string(t);
      for (int i = 0; i < 25; ++i) {
        auto blob = m->Wrap(key, ctx);
        if (!blob.ok()) {
          ++failures;
          continue;
        }
        auto back = m->Unwrap(B(*blob), ctx);
        if (!back.ok() || !back->Equals(key)) ++failures;
      }
    });
  }
  EXPECT_TRUE(m->Rotate().ok());
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(m->CurrentVersion(), 2u);
}

}  // namespace
}  // namespace tapvault::crypto
