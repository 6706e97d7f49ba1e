// The PKCS#11 MasterKey backend: versions are non-extractable AES-256 keys on a token and every
// wrap/unwrap is an AES-GCM C_Encrypt/C_Decrypt inside the token, so the master key never exists
// in this process's memory. Checked against SoftHSM2 2.6.1, which implements CKM_AES_GCM for
// single-part C_Encrypt/C_Decrypt.
#include <dlfcn.h>
#include <openssl/crypto.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "base/status_macros.h"
#include "crypto/aead.h"
#include "crypto/internal/master_key_blob.h"
#include "crypto/master_key.h"

// The GNU calling convention of p11-kit's header: plain struct names and no compatibility macros
// (the default header #defines `value`, `count`, ... which would break any later C++ header).
#define CRYPTOKI_GNU 1
#include <p11-kit/pkcs11.h>
#include <p11-kit/uri.h>

namespace tapvault::crypto {
namespace {

constexpr size_t kMaxPinFileBytes = 1024;

std::string RvName(ck_rv_t rv) {
  switch (rv) {
    case CKR_OK:
      return "CKR_OK";
    case CKR_GENERAL_ERROR:
      return "CKR_GENERAL_ERROR";
    case CKR_FUNCTION_FAILED:
      return "CKR_FUNCTION_FAILED";
    case CKR_ARGUMENTS_BAD:
      return "CKR_ARGUMENTS_BAD";
    case CKR_ATTRIBUTE_SENSITIVE:
      return "CKR_ATTRIBUTE_SENSITIVE";
    case CKR_ATTRIBUTE_TYPE_INVALID:
      return "CKR_ATTRIBUTE_TYPE_INVALID";
    case CKR_DEVICE_ERROR:
      return "CKR_DEVICE_ERROR";
    case CKR_DEVICE_REMOVED:
      return "CKR_DEVICE_REMOVED";
    case CKR_ENCRYPTED_DATA_INVALID:
      return "CKR_ENCRYPTED_DATA_INVALID";
    case CKR_ENCRYPTED_DATA_LEN_RANGE:
      return "CKR_ENCRYPTED_DATA_LEN_RANGE";
    case CKR_KEY_HANDLE_INVALID:
      return "CKR_KEY_HANDLE_INVALID";
    case CKR_MECHANISM_INVALID:
      return "CKR_MECHANISM_INVALID";
    case CKR_MECHANISM_PARAM_INVALID:
      return "CKR_MECHANISM_PARAM_INVALID";
    case CKR_OBJECT_HANDLE_INVALID:
      return "CKR_OBJECT_HANDLE_INVALID";
    case CKR_OPERATION_ACTIVE:
      return "CKR_OPERATION_ACTIVE";
    case CKR_PIN_INCORRECT:
      return "CKR_PIN_INCORRECT";
    case CKR_PIN_LOCKED:
      return "CKR_PIN_LOCKED";
    case CKR_SESSION_HANDLE_INVALID:
      return "CKR_SESSION_HANDLE_INVALID";
    case CKR_TEMPLATE_INCONSISTENT:
      return "CKR_TEMPLATE_INCONSISTENT";
    case CKR_TOKEN_NOT_PRESENT:
      return "CKR_TOKEN_NOT_PRESENT";
    case CKR_USER_NOT_LOGGED_IN:
      return "CKR_USER_NOT_LOGGED_IN";
    case CKR_BUFFER_TOO_SMALL:
      return "CKR_BUFFER_TOO_SMALL";
    default: {
      char buf[32];
      snprintf(buf, sizeof buf, "CKR 0x%lx", rv);
      return buf;
    }
  }
}

absl::Status RvError(ck_rv_t rv, std::string_view what) {
  std::string msg = base::StrCat("pkcs11: ", what, ": ", RvName(rv));
  switch (rv) {
    case CKR_PIN_INCORRECT:
    case CKR_PIN_INVALID:
    case CKR_PIN_LEN_RANGE:
    case CKR_PIN_EXPIRED:
    case CKR_PIN_LOCKED:
      return absl::PermissionDeniedError(msg);
    case CKR_DEVICE_ERROR:
    case CKR_DEVICE_REMOVED:
    case CKR_TOKEN_NOT_PRESENT:
    case CKR_SESSION_CLOSED:
    case CKR_SESSION_HANDLE_INVALID:
      return absl::UnavailableError(msg);
    default:
      return absl::InternalError(msg);
  }
}

// A PKCS#11 library, loaded once per process. C_Initialize/C_Finalize are process-wide for a
// module, so several MasterKeys on the same module share one initialization: the last one to go
// finalizes it (unless somebody else in the process had initialized it before us). The library is
// never dlclose'd: modules like SoftHSM2 keep OpenSSL state and atexit handlers of their own.
class ModuleRegistry {
 public:
  static ModuleRegistry& Get() {
    static ModuleRegistry* r = new ModuleRegistry;  // never destroyed: used until exit
    return *r;
  }

  absl::StatusOr<ck_function_list*> Acquire(const std::string& path) {
    absl::MutexLock l(&mu_);
    Module& m = modules_[path];
    if (m.functions == nullptr) {
      void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (handle == nullptr) {
        const char* err = dlerror();
        return absl::InvalidArgumentError(base::StrCat("pkcs11: cannot load module ", path, ": ",
                                                       err != nullptr ? err : "dlopen failed"));
      }
      auto get =
          reinterpret_cast<ck_rv_t (*)(ck_function_list**)>(dlsym(handle, "C_GetFunctionList"));
      ck_function_list* functions = nullptr;
      if (get == nullptr || get(&functions) != CKR_OK || functions == nullptr) {
        return absl::InvalidArgumentError(
            base::StrCat("pkcs11: ", path, " is not a PKCS#11 module (no C_GetFunctionList)"));
      }
      m.functions = functions;
    }
    if (m.refs == 0) {
      ck_c_initialize_args args{};
      args.flags = CKF_OS_LOCKING_OK;  // we call it from several threads (under our mutex)
      ck_rv_t rv = m.functions->C_Initialize(&args);
      if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
        return RvError(rv, base::StrCat("C_Initialize of ", path));
      }
      m.finalize = rv == CKR_OK;
    }
    ++m.refs;
    return m.functions;
  }

  void Release(const std::string& path) {
    absl::MutexLock l(&mu_);
    Module& m = modules_[path];
    if (--m.refs == 0 && m.finalize) m.functions->C_Finalize(nullptr);
  }

 private:
  struct Module {
    ck_function_list* functions = nullptr;
    int refs = 0;
    bool finalize = false;
  };
  absl::Mutex mu_;
  std::map<std::string, Module> modules_ ABSL_GUARDED_BY(mu_);
};

// A space-padded PKCS#11 text field without its padding.
std::string Unpad(const unsigned char* s, size_t n) {
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\0')) --n;
  return std::string(reinterpret_cast<const char*>(s), n);
}

// RFC 7512 percent-encoding of an attribute value for Describe().
std::string PercentEncode(std::string_view s) {
  std::string out;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      char buf[4];
      snprintf(buf, sizeof buf, "%%%02X", u);
      out.append(buf);
    }
  }
  return out;
}

// "<object>-v<N>" -> N (a positive decimal without leading zeros); nullopt for any other label.
std::optional<uint32_t> VersionFromLabel(std::string_view label, std::string_view object) {
  if (label.size() <= object.size() + 2 || !label.starts_with(object) ||
      label.substr(object.size(), 2) != "-v") {
    return std::nullopt;
  }
  std::string_view digits = label.substr(object.size() + 2);
  if (digits.size() > 10 || digits[0] == '0') return std::nullopt;
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(v);
}

absl::StatusOr<SecretBytes> ReadPinFile(const std::string& path) {
  FILE* f = fopen(path.c_str(), "rbe");
  if (f == nullptr) {
    return absl::ErrnoToStatus(errno, base::StrCat("pkcs11: cannot open the PIN file ", path));
  }
  SecretBytes buf(kMaxPinFileBytes + 1);
  size_t n = fread(buf.data(), 1, buf.size(), f);
  fclose(f);
  if (n > kMaxPinFileBytes) {
    return absl::InvalidArgumentError(base::StrCat("pkcs11: the PIN file ", path, " is too long"));
  }
  while (n > 0 && (buf.data()[n - 1] == '\n' || buf.data()[n - 1] == '\r')) --n;
  return SecretBytes::CopyFrom(buf.bytes().first(n));
}

// The PIN from pin-value, else pin-source (file:/path or a plain path), else $TAPVAULT_PKCS11_PIN;
// nullopt if none is given.
absl::StatusOr<std::optional<SecretBytes>> FindPin(P11KitUri* uri) {
  if (const char* v = p11_kit_uri_get_pin_value(uri); v != nullptr) {
    return std::optional<SecretBytes>(SecretBytes::CopyFrom(base::AsBytes(v)));
  }
  if (const char* src = p11_kit_uri_get_pin_source(uri); src != nullptr) {
    std::string_view s = src;
    if (s.starts_with("file:")) s.remove_prefix(5);
    if (!s.starts_with("/")) {
      return absl::InvalidArgumentError(
          "pkcs11: pin-source must be file:/absolute/path or /absolute/path");
    }
    ASSIGN_OR_RETURN(SecretBytes pin, ReadPinFile(std::string(s)));
    return std::optional<SecretBytes>(std::move(pin));
  }
  if (const char* env = getenv("TAPVAULT_PKCS11_PIN"); env != nullptr) {
    return std::optional<SecretBytes>(SecretBytes::CopyFrom(base::AsBytes(env)));
  }
  return std::optional<SecretBytes>();
}

struct UriFree {
  void operator()(P11KitUri* u) const { p11_kit_uri_free(u); }
};

class Pkcs11MasterKey final : public MasterKey {
 public:
  Pkcs11MasterKey(std::string module_path, ck_function_list* f, std::string object)
      : module_path_(std::move(module_path)), f_(f), object_(std::move(object)) {}

  ~Pkcs11MasterKey() override {
    if (session_open_) f_->C_CloseSession(session_);
    ModuleRegistry::Get().Release(module_path_);
  }

  // Finds the token, logs in, loads (and with `create`, makes) the versions.
  absl::Status Init(P11KitUri* uri, bool create) {
    ASSIGN_OR_RETURN(ck_slot_id_t slot, FindSlot(uri));
    ck_token_info info{};
    if (ck_rv_t rv = f_->C_GetTokenInfo(slot, &info); rv != CKR_OK) {
      return RvError(rv, "C_GetTokenInfo");
    }
    token_label_ = Unpad(info.label, sizeof info.label);
    if (ck_rv_t rv = f_->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr,
                                       &session_);
        rv != CKR_OK) {
      return RvError(rv, base::StrCat("C_OpenSession on ", Describe()));
    }
    session_open_ = true;

    ASSIGN_OR_RETURN(std::optional<SecretBytes> pin, FindPin(uri));
    ck_rv_t rv;
    if (pin.has_value()) {
      rv = f_->C_Login(session_, CKU_USER, pin->data(), pin->size());
    } else if ((info.flags & CKF_PROTECTED_AUTHENTICATION_PATH) != 0) {
      rv = f_->C_Login(session_, CKU_USER, nullptr, 0);  // PIN pad on the device
    } else {
      return absl::InvalidArgumentError(
          base::StrCat("pkcs11: no PIN for ", Describe(),
                       ": give pin-value or pin-source in the URI, or set TAPVAULT_PKCS11_PIN"));
    }
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
      return RvError(rv, base::StrCat("C_Login to ", Describe()));
    }

    absl::MutexLock l(&mu_);
    RETURN_IF_ERROR(LoadVersions());
    if (versions_.empty()) {
      if (!create) {
        return absl::NotFoundError(
            base::StrCat("pkcs11: no master key version on ", Describe(), " (create it first)"));
      }
      RETURN_IF_ERROR(Generate(1));
    }
    return absl::OkStatus();
  }

  std::string Describe() const override {
    return base::StrCat("pkcs11:token=", PercentEncode(token_label_),
                        ";object=", PercentEncode(object_));
  }

  uint32_t CurrentVersion() const override {
    absl::MutexLock l(&mu_);
    return versions_.rbegin()->first;
  }

  std::vector<uint32_t> Versions() const override {
    absl::MutexLock l(&mu_);
    std::vector<uint32_t> v;
    for (const auto& [version, handle] : versions_) v.push_back(version);
    return v;
  }

  absl::StatusOr<std::string> Wrap(const SecretBytes& key, std::string_view context) override {
    const std::string nonce = RandomBytes(kGcmNonceBytes);
    absl::MutexLock l(&mu_);
    const auto& [version, handle] = *versions_.rbegin();
    ck_gcm_params params = GcmParams(nonce, context);
    ck_mechanism mech{CKM_AES_GCM, &params, sizeof params};
    if (ck_rv_t rv = f_->C_EncryptInit(session_, &mech, handle); rv != CKR_OK) {
      return RvError(rv, base::StrCat("C_EncryptInit with ", Label(version)));
    }
    std::string blob = internal::BlobHeader(version);
    blob.append(nonce);
    const size_t header = blob.size();
    unsigned long len = key.size() + kGcmTagBytes;
    blob.resize(header + len);
    // const_cast: PKCS#11 takes non-const input pointers but does not write through them.
    ck_rv_t rv = f_->C_Encrypt(session_, const_cast<unsigned char*>(key.data()), key.size(),
                               reinterpret_cast<unsigned char*>(blob.data() + header), &len);
    if (rv != CKR_OK) return RvError(rv, base::StrCat("C_Encrypt with ", Label(version)));
    if (len != key.size() + kGcmTagBytes) {
      return absl::InternalError(
          base::StrCat("pkcs11: C_Encrypt returned ", len, " bytes for AES-GCM of ", key.size()));
    }
    return blob;
  }

  absl::StatusOr<SecretBytes> Unwrap(base::Bytes blob, std::string_view context) override {
    ASSIGN_OR_RETURN(internal::ParsedBlob p, internal::ParseBlob(blob));
    const std::string nonce(base::AsString(p.nonce));
    absl::MutexLock l(&mu_);
    auto it = versions_.find(p.version);
    if (it == versions_.end()) {
      return absl::NotFoundError(base::StrCat("master key version ", p.version,
                                              " does not exist (destroyed?) on ", Describe()));
    }
    ck_gcm_params params = GcmParams(nonce, context);
    ck_mechanism mech{CKM_AES_GCM, &params, sizeof params};
    if (ck_rv_t rv = f_->C_DecryptInit(session_, &mech, it->second); rv != CKR_OK) {
      return RvError(rv, base::StrCat("C_DecryptInit with ", Label(p.version)));
    }
    // Room for the whole input: some tokens ask for that much even though GCM output is shorter,
    // and a CKR_BUFFER_TOO_SMALL would leave the operation active.
    SecretBytes out(p.ct_and_tag.size());
    unsigned long len = out.size();
    auto* in =
        const_cast<unsigned char*>(reinterpret_cast<const unsigned char*>(p.ct_and_tag.data()));
    ck_rv_t rv = f_->C_Decrypt(session_, in, p.ct_and_tag.size(), out.data(), &len);
    if (rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE ||
        rv == CKR_GENERAL_ERROR || rv == CKR_FUNCTION_FAILED) {
      // SoftHSM2 reports a GCM tag mismatch as CKR_GENERAL_ERROR; the standard says
      // CKR_ENCRYPTED_DATA_INVALID. Both mean the blob is not authentic under this key+context.
      return absl::DataLossError(base::StrCat("master key version ", p.version, " (", Describe(),
                                              "): ", RvName(rv), ": authentication failed"));
    }
    if (rv != CKR_OK) return RvError(rv, base::StrCat("C_Decrypt with ", Label(p.version)));
    if (len != p.ct_and_tag.size() - kGcmTagBytes) {
      return absl::InternalError(base::StrCat("pkcs11: C_Decrypt returned ", len,
                                              " bytes for AES-GCM of ", p.ct_and_tag.size()));
    }
    return SecretBytes::CopyFrom(out.bytes().first(len));
  }

  absl::StatusOr<uint32_t> Rotate() override {
    absl::MutexLock l(&mu_);
    RETURN_IF_ERROR(LoadVersions());  // another process may have rotated
    if (versions_.empty()) {
      return absl::NotFoundError(base::StrCat("pkcs11: no master key version on ", Describe()));
    }
    const uint32_t current = versions_.rbegin()->first;
    if (current == UINT32_MAX) {
      return absl::ResourceExhaustedError("master key: no version number left");
    }
    RETURN_IF_ERROR(Generate(current + 1));
    return current + 1;
  }

  absl::Status DestroyVersion(uint32_t version) override {
    absl::MutexLock l(&mu_);
    RETURN_IF_ERROR(LoadVersions());
    auto it = versions_.find(version);
    if (it == versions_.end()) {
      return absl::NotFoundError(
          base::StrCat("master key version ", version, " does not exist on ", Describe()));
    }
    if (version == versions_.rbegin()->first) {
      return absl::FailedPreconditionError(base::StrCat(
          "master key version ", version, " is the current one; rotate before destroying it"));
    }
    if (ck_rv_t rv = f_->C_DestroyObject(session_, it->second); rv != CKR_OK) {
      return RvError(rv, base::StrCat("C_DestroyObject of ", Label(version)));
    }
    versions_.erase(it);
    return absl::OkStatus();
  }

 private:
  std::string Label(uint32_t version) const { return base::StrCat(object_, "-v", version); }

  static ck_gcm_params GcmParams(const std::string& nonce, std::string_view context) {
    ck_gcm_params p{};
    p.iv_ptr = reinterpret_cast<unsigned char*>(const_cast<char*>(nonce.data()));
    p.iv_len = nonce.size();
    p.iv_bits = nonce.size() * 8;  // some tokens read the length in bits
    p.aad_ptr = reinterpret_cast<unsigned char*>(const_cast<char*>(context.data()));
    p.aad_len = context.size();
    p.tag_bits = kGcmTagBytes * 8;
    return p;
  }

  absl::StatusOr<ck_slot_id_t> FindSlot(P11KitUri* uri) {
    unsigned long n = 0;
    if (ck_rv_t rv = f_->C_GetSlotList(1, nullptr, &n); rv != CKR_OK) {
      return RvError(rv, "C_GetSlotList");
    }
    std::vector<ck_slot_id_t> slots(n);
    if (ck_rv_t rv = f_->C_GetSlotList(1, slots.data(), &n); rv != CKR_OK) {
      return RvError(rv, "C_GetSlotList");
    }
    slots.resize(n);
    std::optional<ck_slot_id_t> found;
    for (ck_slot_id_t slot : slots) {
      ck_token_info info{};
      if (f_->C_GetTokenInfo(slot, &info) != CKR_OK) continue;
      // SoftHSM2 and others show an uninitialized token in a spare slot: never ours.
      if ((info.flags & CKF_TOKEN_INITIALIZED) == 0) continue;
      if (!p11_kit_uri_match_token_info(uri, &info)) continue;
      if (found.has_value()) {
        return absl::InvalidArgumentError(
            "pkcs11: several tokens match the URI; name one with token= (and serial=)");
      }
      found = slot;
    }
    if (!found.has_value()) {
      return absl::NotFoundError(
          base::StrCat("pkcs11: no initialized token matches the URI in ", module_path_));
    }
    return *found;
  }

  // Reads the "<object>-v<N>" AES keys on the token into versions_ and checks that each is
  // sensitive and not extractable (else the key could leave the token, which this mode promises
  // it never does).
  absl::Status LoadVersions() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ck_object_class_t cls = CKO_SECRET_KEY;
    ck_key_type_t type = CKK_AES;
    ck_attribute tmpl[] = {{CKA_CLASS, &cls, sizeof cls}, {CKA_KEY_TYPE, &type, sizeof type}};
    if (ck_rv_t rv = f_->C_FindObjectsInit(session_, tmpl, 2); rv != CKR_OK) {
      return RvError(rv, "C_FindObjectsInit");
    }
    std::vector<ck_object_handle_t> handles;
    for (;;) {
      ck_object_handle_t batch[64];
      unsigned long got = 0;
      ck_rv_t rv = f_->C_FindObjects(session_, batch, 64, &got);
      if (rv != CKR_OK) {
        f_->C_FindObjectsFinal(session_);
        return RvError(rv, "C_FindObjects");
      }
      if (got == 0) break;
      handles.insert(handles.end(), batch, batch + got);
    }
    f_->C_FindObjectsFinal(session_);

    std::map<uint32_t, ck_object_handle_t> versions;
    for (ck_object_handle_t h : handles) {
      char label[256];
      ck_attribute a{CKA_LABEL, label, sizeof label};
      if (f_->C_GetAttributeValue(session_, h, &a, 1) != CKR_OK) continue;
      std::optional<uint32_t> version =
          VersionFromLabel(std::string_view(label, a.value_len), object_);
      if (!version.has_value()) continue;
      if (versions.contains(*version)) {
        return absl::FailedPreconditionError(
            base::StrCat("pkcs11: two objects labelled ", Label(*version), " on ", Describe()));
      }
      unsigned char sensitive = 0, extractable = 1;
      unsigned long value_len = 0;
      ck_attribute check[] = {{CKA_SENSITIVE, &sensitive, sizeof sensitive},
                              {CKA_EXTRACTABLE, &extractable, sizeof extractable},
                              {CKA_VALUE_LEN, &value_len, sizeof value_len}};
      if (ck_rv_t rv = f_->C_GetAttributeValue(session_, h, check, 3); rv != CKR_OK) {
        return RvError(rv, base::StrCat("C_GetAttributeValue of ", Label(*version)));
      }
      if (!sensitive || extractable || value_len != kAesKeyBytes) {
        return absl::FailedPreconditionError(
            base::StrCat("pkcs11: ", Label(*version), " on ", Describe(),
                         " must be a sensitive, non-extractable AES-256 key"));
      }
      versions.emplace(*version, h);
    }
    versions_ = std::move(versions);
    return absl::OkStatus();
  }

  absl::Status Generate(uint32_t version) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    const std::string label = Label(version);
    unsigned char yes = 1, no = 0;
    ck_object_class_t cls = CKO_SECRET_KEY;
    ck_key_type_t type = CKK_AES;
    unsigned long len = kAesKeyBytes;
    ck_attribute tmpl[] = {
        {CKA_CLASS, &cls, sizeof cls},
        {CKA_KEY_TYPE, &type, sizeof type},
        {CKA_VALUE_LEN, &len, sizeof len},
        {CKA_LABEL, const_cast<char*>(label.data()), label.size()},
        {CKA_TOKEN, &yes, 1},       // persistent: durable when C_GenerateKey returns
        {CKA_PRIVATE, &yes, 1},     // visible only after login
        {CKA_SENSITIVE, &yes, 1},   // CKA_VALUE can never be read
        {CKA_EXTRACTABLE, &no, 1},  // and never wrapped out of the token
        {CKA_ENCRYPT, &yes, 1},
        {CKA_DECRYPT, &yes, 1},
        {CKA_WRAP, &no, 1},
        {CKA_UNWRAP, &no, 1},
        {CKA_SIGN, &no, 1},
        {CKA_VERIFY, &no, 1},
        {CKA_DERIVE, &no, 1},
    };
    ck_mechanism mech{CKM_AES_KEY_GEN, nullptr, 0};
    ck_object_handle_t h = 0;
    if (ck_rv_t rv = f_->C_GenerateKey(session_, &mech, tmpl, sizeof tmpl / sizeof tmpl[0], &h);
        rv != CKR_OK) {
      return RvError(rv, base::StrCat("C_GenerateKey of ", label, " on ", Describe()));
    }
    versions_.emplace(version, h);
    return absl::OkStatus();
  }

  const std::string module_path_;
  ck_function_list* const f_;
  const std::string object_;
  std::string token_label_;  // set by Init
  // One session for everything; PKCS#11 sessions must not run two operations at once.
  ck_session_handle_t session_ = 0;
  bool session_open_ = false;
  mutable absl::Mutex mu_;
  std::map<uint32_t, ck_object_handle_t> versions_ ABSL_GUARDED_BY(mu_);  // non-empty after Init
};

}  // namespace

absl::StatusOr<std::unique_ptr<MasterKey>> OpenPkcs11MasterKey(const std::string& uri_text,
                                                               bool create) {
  std::unique_ptr<P11KitUri, UriFree> uri(p11_kit_uri_new());
  if (uri == nullptr) return absl::ResourceExhaustedError("pkcs11: out of memory");
  // Messages never quote the URI: it may carry the PIN.
  int rc = p11_kit_uri_parse(uri_text.c_str(), P11_KIT_URI_FOR_ANY, uri.get());
  if (rc != P11_KIT_URI_OK) {
    return absl::InvalidArgumentError(base::StrCat("pkcs11: bad URI: ", p11_kit_uri_message(rc)));
  }
  if (p11_kit_uri_any_unrecognized(uri.get())) {
    return absl::InvalidArgumentError("pkcs11: the URI has attributes this program does not know");
  }
  const char* module_path = p11_kit_uri_get_module_path(uri.get());
  if (module_path == nullptr || *module_path == '\0') {
    return absl::InvalidArgumentError("pkcs11: the URI needs module-path=/path/to/module.so");
  }
  ck_attribute* label = p11_kit_uri_get_attribute(uri.get(), CKA_LABEL);
  if (label == nullptr || label->value_len == 0) {
    return absl::InvalidArgumentError("pkcs11: the URI needs object=<master key label>");
  }
  std::string object(static_cast<const char*>(label->value), label->value_len);

  ASSIGN_OR_RETURN(ck_function_list * functions, ModuleRegistry::Get().Acquire(module_path));
  // From here the MasterKey owns the module reference (its destructor releases it).
  auto mk = std::make_unique<Pkcs11MasterKey>(module_path, functions, std::move(object));
  RETURN_IF_ERROR(mk->Init(uri.get(), create));
  return mk;
}

}  // namespace tapvault::crypto
