// The blob format shared by the MasterKey backends, OpenMasterKey, and the key-file backend.
#include "crypto/master_key.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "base/hex.h"
#include "base/status_macros.h"
#include "crypto/aead.h"
#include "crypto/internal/master_key_blob.h"

namespace tapvault::crypto {
namespace internal {

std::string BlobHeader(uint32_t version) {
  std::string h(5, '\0');
  h[0] = static_cast<char>(kMasterKeyBlobFormat);
  for (int i = 0; i < 4; ++i) h[1 + i] = static_cast<char>((version >> (24 - 8 * i)) & 0xff);
  return h;
}

absl::StatusOr<ParsedBlob> ParseBlob(base::Bytes blob) {
  base::ByteReader r(blob);
  uint8_t format = 0;
  uint64_t version = 0;
  ParsedBlob p;
  if (!r.ReadU8(format) || !r.ReadBigEndian(4, version) || !r.ReadSpan(kGcmNonceBytes, p.nonce) ||
      r.remaining() < kGcmTagBytes) {
    return absl::DataLossError(
        base::StrCat("master key: wrapped key of ", blob.size(), " bytes is too short"));
  }
  if (format != kMasterKeyBlobFormat) {
    return absl::DataLossError(
        base::StrCat("master key: unknown wrapped key format ", static_cast<int>(format)));
  }
  p.version = static_cast<uint32_t>(version);
  p.ct_and_tag = r.rest();
  return p;
}

}  // namespace internal

namespace {

constexpr std::string_view kKeyFileMagic = "tapvault-master-key 1";
constexpr size_t kMaxKeyFileBytes = 1 << 20;  // ~20000 versions; anything larger is not ours
constexpr size_t kBase64KeyChars = 44;        // 32 bytes -> 10 full groups + "xxx="

// A std::string holding key material: wiped when it goes away.
struct WipedString {
  std::string s;
  WipedString() = default;
  WipedString(const WipedString&) = delete;
  WipedString& operator=(const WipedString&) = delete;
  ~WipedString() { OPENSSL_cleanse(s.data(), s.size()); }
};

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int B64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard base64 with padding, written straight into `out` (no temporary copies of the key).
void AppendBase64(const SecretBytes& key, std::string& out) {
  const uint8_t* p = key.data();
  size_t n = key.size();
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = static_cast<uint32_t>(p[i]) << 16;
    if (i + 1 < n) v |= static_cast<uint32_t>(p[i + 1]) << 8;
    if (i + 2 < n) v |= p[i + 2];
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
    out.push_back(i + 1 < n ? kB64[(v >> 6) & 63] : '=');
    out.push_back(i + 2 < n ? kB64[v & 63] : '=');
  }
}

// Strict decoding of exactly 32 bytes (44 characters, one '=', canonical last symbol), so that a
// key has exactly one spelling in the file.
bool DecodeKeyBase64(std::string_view s, SecretBytes& out) {
  if (s.size() != kBase64KeyChars || s[43] != '=') return false;
  SecretBytes key(kAesKeyBytes);
  uint8_t* dst = key.data();
  size_t o = 0;
  for (size_t i = 0; i < kBase64KeyChars; i += 4) {
    const bool last = i + 4 == kBase64KeyChars;
    int a = B64Value(s[i]), b = B64Value(s[i + 1]), c = B64Value(s[i + 2]);
    int d = last ? 0 : B64Value(s[i + 3]);
    if (a < 0 || b < 0 || c < 0 || d < 0) return false;
    uint32_t v = (static_cast<uint32_t>(a) << 18) | (static_cast<uint32_t>(b) << 12) |
                 (static_cast<uint32_t>(c) << 6) | static_cast<uint32_t>(d);
    dst[o++] = static_cast<uint8_t>(v >> 16);
    dst[o++] = static_cast<uint8_t>(v >> 8);
    if (last) {
      if ((c & 3) != 0) return false;  // non-canonical: bits beyond byte 32
    } else {
      dst[o++] = static_cast<uint8_t>(v);
    }
  }
  out = std::move(key);
  return o == kAesKeyBytes;
}

// A positive decimal u32 without sign or leading zeros.
bool ParseVersion(std::string_view s, uint32_t& out) {
  if (s.empty() || s.size() > 10 || s[0] == '0') return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  if (v > UINT32_MAX) return false;
  out = static_cast<uint32_t>(v);
  return true;
}

using VersionMap = std::map<uint32_t, SecretBytes>;

absl::Status ParseKeyFile(const std::string& path, std::string_view text, VersionMap& versions) {
  auto bad = [&](size_t line, std::string_view what) {
    return absl::InvalidArgumentError(
        base::StrCat("master key file ", path, ": line ", line, ": ", what));
  };
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    ++line_no;
    size_t eol = text.find('\n', pos);
    std::string_view line =
        text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    pos = eol == std::string_view::npos ? text.size() : eol + 1;
    if (line_no == 1) {
      if (line != kKeyFileMagic) {
        return bad(1, base::StrCat("expected \"", kKeyFileMagic, "\""));
      }
      continue;
    }
    size_t space = line.find(' ');
    if (space == std::string_view::npos) {
      return bad(line_no, "expected \"<version> <base64 key>\"");
    }
    uint32_t version = 0;
    if (!ParseVersion(line.substr(0, space), version)) {
      return bad(line_no, "the version is not a positive decimal number");
    }
    if (!versions.empty() && version <= versions.rbegin()->first) {
      return bad(line_no, "versions must be listed in strictly ascending order");
    }
    SecretBytes key;
    if (!DecodeKeyBase64(line.substr(space + 1), key)) {
      return bad(line_no, "the key is not the base64 of 32 bytes");
    }
    versions.emplace(version, std::move(key));
  }
  if (line_no == 0) return bad(1, "empty file");
  if (versions.empty()) return bad(line_no + 1, "no key version");
  return absl::OkStatus();
}

void SerializeKeyFile(const VersionMap& versions, std::string& out) {
  // Sized up front: a reallocation would leave an unwiped copy of the keys behind.
  out.reserve(kKeyFileMagic.size() + 1 + versions.size() * (10 + 1 + kBase64KeyChars + 1));
  out.append(kKeyFileMagic);
  out.push_back('\n');
  for (const auto& [version, key] : versions) {
    out.append(std::to_string(version));
    out.push_back(' ');
    AppendBase64(key, out);
    out.push_back('\n');
  }
}

absl::Status Errno(int err, std::string_view what, const std::string& path) {
  return absl::ErrnoToStatus(err, base::StrCat("master key file ", path, ": ", what));
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

absl::Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, "write");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// Writes `content` to `path` atomically and durably: a 0600 temp file in the same directory,
// fsync, then rename over `path` (or, for a new key file, link, which fails if `path` exists:
// that makes creation atomic and never leaves a half-written key file), then fsync(dir) so the
// new name survives a crash.
absl::Status WriteKeyFile(const std::string& path, std::string_view content, bool create_new) {
  const std::string tmp = base::StrCat(path, ".tmp-", base::ToHex(base::AsBytes(RandomBytes(8))));
  Fd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) return Errno(errno, base::StrCat("create ", tmp), path);
  // The open mode is filtered by the umask; fchmod is not, and a key file must be exactly 0600.
  absl::Status s;
  if (fchmod(fd.get(), S_IRUSR | S_IWUSR) != 0) {
    s = Errno(errno, "fchmod", path);
  } else if (s = WriteAll(fd.get(), content); !s.ok()) {
    s = base::Annotate(s, base::StrCat("master key file ", path));
  } else if (fsync(fd.get()) != 0) {
    s = Errno(errno, "fsync", path);
  } else if (close(fd.Release()) != 0) {
    s = Errno(errno, "close", path);
  } else if (create_new) {
    if (link(tmp.c_str(), path.c_str()) != 0) {
      s = errno == EEXIST
              ? absl::AlreadyExistsError(base::StrCat("master key file ", path, ": already exists"))
              : Errno(errno, "link", path);
    }
  } else if (rename(tmp.c_str(), path.c_str()) != 0) {
    s = Errno(errno, "rename", path);
  }
  // After a link the temp name is redundant; after a failure it is garbage; after a rename it is
  // gone already (ENOENT, ignored).
  unlink(tmp.c_str());
  RETURN_IF_ERROR(s);
  const std::string dir = DirName(path);
  Fd dfd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0) return Errno(errno, base::StrCat("open directory ", dir), path);
  if (fsync(dfd.get()) != 0) return Errno(errno, base::StrCat("fsync directory ", dir), path);
  return absl::OkStatus();
}

absl::Status ReadKeyFile(const std::string& path, WipedString& out) {
  // O_NOFOLLOW: the permission check below must be about the file itself, and a rewrite by
  // rename would silently replace a symlink by a regular file.
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    if (errno == ELOOP) {
      return absl::PermissionDeniedError(
          base::StrCat("master key file ", path, ": is a symbolic link; refusing it"));
    }
    return Errno(errno, "open", path);
  }
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Errno(errno, "fstat", path);
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(
        base::StrCat("master key file ", path, ": not a regular file"));
  }
  if (st.st_uid != geteuid()) {
    return absl::PermissionDeniedError(base::StrCat("master key file ", path, ": owned by uid ",
                                                    st.st_uid, ", not by this process (uid ",
                                                    geteuid(), ")"));
  }
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return absl::PermissionDeniedError(base::StrCat("master key file ", path, ": mode ", mode,
                                                    " gives group/other access; chmod 600 it"));
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxKeyFileBytes) {
    return absl::InvalidArgumentError(
        base::StrCat("master key file ", path, ": too large (", st.st_size, " bytes)"));
  }
  // One byte more than the size so that a file growing under us is noticed (and refused).
  out.s.resize(static_cast<size_t>(st.st_size) + 1);
  size_t got = 0;
  while (got < out.s.size()) {
    ssize_t n = read(fd.get(), out.s.data() + got, out.s.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno(errno, "read", path);
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got != static_cast<size_t>(st.st_size)) {
    return absl::UnavailableError(
        base::StrCat("master key file ", path, ": changed while being read"));
  }
  out.s.resize(got);  // shrinking never reallocates
  return absl::OkStatus();
}

class KeyFileMasterKey final : public MasterKey {
 public:
  KeyFileMasterKey(std::string path, VersionMap versions)
      : path_(std::move(path)), versions_(std::move(versions)) {}

  std::string Describe() const override { return base::StrCat("key-file:", path_); }

  uint32_t CurrentVersion() const override {
    absl::MutexLock l(&mu_);
    return versions_.rbegin()->first;
  }

  std::vector<uint32_t> Versions() const override {
    absl::MutexLock l(&mu_);
    std::vector<uint32_t> v;
    for (const auto& [version, key] : versions_) v.push_back(version);
    return v;
  }

  absl::StatusOr<std::string> Wrap(const SecretBytes& key, std::string_view context) override {
    uint32_t version;
    absl::StatusOr<AesGcm> aead;
    {
      absl::MutexLock l(&mu_);
      version = versions_.rbegin()->first;
      aead = AesGcm::Create(versions_.rbegin()->second);
    }
    RETURN_IF_ERROR(aead.status());
    std::string blob = internal::BlobHeader(version);
    const std::string nonce = RandomBytes(kGcmNonceBytes);
    blob.append(nonce);
    RETURN_IF_ERROR(aead->Seal(base::AsBytes(nonce), base::AsBytes(context), key.bytes(), blob));
    return blob;
  }

  absl::StatusOr<SecretBytes> Unwrap(base::Bytes blob, std::string_view context) override {
    ASSIGN_OR_RETURN(internal::ParsedBlob p, internal::ParseBlob(blob));
    absl::StatusOr<AesGcm> aead;
    {
      absl::MutexLock l(&mu_);
      auto it = versions_.find(p.version);
      if (it == versions_.end()) {
        return absl::NotFoundError(base::StrCat("master key version ", p.version,
                                                " does not exist (destroyed?) in ", Describe()));
      }
      aead = AesGcm::Create(it->second);
    }
    RETURN_IF_ERROR(aead.status());
    WipedString plain;
    plain.s.reserve(p.ct_and_tag.size());  // no reallocation: no unwiped copy
    absl::Status s = aead->Open(p.nonce, base::AsBytes(context), p.ct_and_tag, plain.s);
    if (!s.ok()) {
      return base::Annotate(s, base::StrCat("master key version ", p.version));
    }
    return SecretBytes::CopyFrom(base::AsBytes(plain.s));
  }

  absl::StatusOr<uint32_t> Rotate() override {
    absl::MutexLock l(&mu_);
    const uint32_t current = versions_.rbegin()->first;
    if (current == UINT32_MAX) {
      return absl::ResourceExhaustedError("master key: no version number left");
    }
    const uint32_t next = current + 1;
    versions_.emplace(next, SecretBytes::Random(kAesKeyBytes));
    absl::Status s = Save();
    if (!s.ok()) {
      versions_.erase(next);  // not durable: the new version must not be used
      return s;
    }
    return next;
  }

  absl::Status DestroyVersion(uint32_t version) override {
    absl::MutexLock l(&mu_);
    auto it = versions_.find(version);
    if (it == versions_.end()) {
      return absl::NotFoundError(
          base::StrCat("master key version ", version, " does not exist in ", Describe()));
    }
    if (version == versions_.rbegin()->first) {
      return absl::FailedPreconditionError(base::StrCat(
          "master key version ", version, " is the current one; rotate before destroying it"));
    }
    SecretBytes key = std::move(it->second);
    versions_.erase(it);
    absl::Status s = Save();
    if (!s.ok()) {
      versions_.emplace(version, std::move(key));  // still on disk, so still live
      return s;
    }
    return absl::OkStatus();  // `key` is wiped here
  }

 private:
  absl::Status Save() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    WipedString text;
    SerializeKeyFile(versions_, text.s);
    return WriteKeyFile(path_, text.s, /*create_new=*/false);
  }

  const std::string path_;
  mutable absl::Mutex mu_;
  VersionMap versions_ ABSL_GUARDED_BY(mu_);  // never empty
};

}  // namespace

absl::StatusOr<std::unique_ptr<MasterKey>> CreateKeyFileMasterKey(const std::string& path) {
  VersionMap versions;
  versions.emplace(1, SecretBytes::Random(kAesKeyBytes));
  WipedString text;
  SerializeKeyFile(versions, text.s);
  RETURN_IF_ERROR(WriteKeyFile(path, text.s, /*create_new=*/true));
  return std::make_unique<KeyFileMasterKey>(path, std::move(versions));
}

absl::StatusOr<std::unique_ptr<MasterKey>> OpenKeyFileMasterKey(const std::string& path) {
  WipedString text;
  RETURN_IF_ERROR(ReadKeyFile(path, text));
  VersionMap versions;
  RETURN_IF_ERROR(ParseKeyFile(path, text.s, versions));
  return std::make_unique<KeyFileMasterKey>(path, std::move(versions));
}

absl::StatusOr<std::unique_ptr<MasterKey>> OpenMasterKey(const std::string& spec, bool create) {
  if (spec.starts_with("pkcs11:")) return OpenPkcs11MasterKey(spec, create);
  std::string path = spec.starts_with("key-file:") ? spec.substr(9) : spec;
  if (path.empty()) return absl::InvalidArgumentError("master key: empty key file path");
  if (create) {
    absl::StatusOr<std::unique_ptr<MasterKey>> mk = CreateKeyFileMasterKey(path);
    if (!absl::IsAlreadyExists(mk.status())) return mk;
  }
  return OpenKeyFileMasterKey(path);
}

}  // namespace tapvault::crypto
