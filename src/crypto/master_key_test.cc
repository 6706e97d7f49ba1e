// Key-file MasterKey and OpenMasterKey.
#include "crypto/master_key.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "crypto/aead.h"

namespace tapvault::crypto {
namespace {

namespace fs = std::filesystem;

base::Bytes B(const std::string& s) { return base::AsBytes(s); }

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

class KeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "tapvault-keyfile-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/master.key";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Writes `text` as the key file with `mode`.
  void WriteFile(const std::string& text, mode_t mode = 0600) {
    { std::ofstream(path_, std::ios::binary | std::ios::trunc) << text; }
    ASSERT_EQ(chmod(path_.c_str(), mode), 0);
  }
  mode_t Mode() {
    struct stat st;
    EXPECT_EQ(stat(path_.c_str(), &st), 0);
    return st.st_mode & 07777;
  }
  // The base64 of version `v` as written in the file ("" if absent).
  std::string LineKey(uint32_t v) {
    std::istringstream in(ReadAll(path_));
    std::string line;
    const std::string prefix = std::to_string(v) + " ";
    while (std::getline(in, line)) {
      if (line.starts_with(prefix)) return line.substr(prefix.size());
    }
    return "";
  }

  std::string dir_, path_;
};

constexpr char kZeroKeyB64[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

TEST_F(KeyFileTest, CreateIsUmaskProof0600AndOpens) {
  mode_t old = umask(0);  // a permissive umask must not leak into the key file's mode
  auto mk = CreateKeyFileMasterKey(path_);
  umask(old);
  ASSERT_TRUE(mk.ok()) << mk.status();
  EXPECT_EQ(Mode(), 0600u);
  EXPECT_EQ((*mk)->Describe(), "key-file:" + path_);
  EXPECT_EQ((*mk)->CurrentVersion(), 1u);
  EXPECT_EQ((*mk)->Versions(), std::vector<uint32_t>{1});
  const std::string text = ReadAll(path_);
  EXPECT_TRUE(text.starts_with("tapvault-master-key 1\n1 ")) << "format";
  EXPECT_EQ(text.size(), 22 + 2 + 44 + 1);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1)
      << "no temp file left behind";

  SecretBytes key = SecretBytes::Random(32);
  auto blob = (*mk)->Wrap(key, "tapvault/warrant-key/5");
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(blob->size(), kMasterKeyBlobOverhead + 32);
  auto reopened = OpenKeyFileMasterKey(path_);
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  auto back = (*reopened)->Unwrap(B(*blob), "tapvault/warrant-key/5");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->Equals(key));
}

TEST_F(KeyFileTest, CreateRefusesAnExistingFile) {
  WriteFile("precious");
  auto mk = CreateKeyFileMasterKey(path_);
  EXPECT_TRUE(absl::IsAlreadyExists(mk.status())) << mk.status();
  EXPECT_EQ(ReadAll(path_), "precious");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(KeyFileTest, CreateInAMissingDirectoryFails) {
  auto mk = CreateKeyFileMasterKey(dir_ + "/nope/master.key");
  EXPECT_TRUE(absl::IsNotFound(mk.status())) << mk.status();
}

TEST_F(KeyFileTest, OpenMissingIsNotFound) {
  EXPECT_TRUE(absl::IsNotFound(OpenKeyFileMasterKey(path_).status()));
}

TEST_F(KeyFileTest, OpenRefusesGroupOrOtherAccess) {
  const std::string text = std::string("tapvault-master-key 1\n1 ") + kZeroKeyB64 + "\n";
  for (mode_t mode : {0644, 0640, 0604, 0660, 0610, 0601}) {
    WriteFile(text, mode);
    auto mk = OpenKeyFileMasterKey(path_);
    EXPECT_TRUE(absl::IsPermissionDenied(mk.status())) << std::oct << mode << " " << mk.status();
  }
  for (mode_t mode : {0600, 0400}) {
    WriteFile(text, mode);
    EXPECT_TRUE(OpenKeyFileMasterKey(path_).ok()) << std::oct << mode;
  }
}

TEST_F(KeyFileTest, OpenRefusesAFileOfAnotherUserOrASymlink) {
  const std::string text = std::string("tapvault-master-key 1\n1 ") + kZeroKeyB64 + "\n";
  WriteFile(text);
  if (geteuid() == 0) {
    ASSERT_EQ(chown(path_.c_str(), 65534, 65534), 0);
    auto mk = OpenKeyFileMasterKey(path_);
    EXPECT_TRUE(absl::IsPermissionDenied(mk.status())) << mk.status();
    ASSERT_EQ(chown(path_.c_str(), 0, 0), 0);
  }
  const std::string link = dir_ + "/link.key";
  ASSERT_EQ(symlink(path_.c_str(), link.c_str()), 0);
  auto mk = OpenKeyFileMasterKey(link);
  EXPECT_TRUE(absl::IsPermissionDenied(mk.status())) << mk.status();
}

TEST_F(KeyFileTest, MalformedFilesNameTheLineAndNeverShowKeys) {
  const std::string k = kZeroKeyB64;
  const std::string h = "tapvault-master-key 1\n";
  struct Case {
    std::string text;
    int line;
  };
  const Case cases[] = {
      {"", 1},
      {"tapvault-master-key 2\n1 " + k + "\n", 1},
      {"tapvault-master-key 1 \n1 " + k + "\n", 1},
      {h, 2},                     // no version at all
      {h + "0 " + k + "\n", 2},   // versions start at 1
      {h + "01 " + k + "\n", 2},  // leading zero
      {h + "-1 " + k + "\n", 2},
      {h + "4294967296 " + k + "\n", 2},                            // > u32
      {h + "1 " + k + "\n1 " + k + "\n", 3},                        // duplicate
      {h + "2 " + k + "\n1 " + k + "\n", 3},                        // descending
      {h + "1 " + k + "\n\n2 " + k + "\n", 3},                      // blank line
      {h + "1" + k + "\n", 2},                                      // no space
      {h + "1  " + k + "\n", 2},                                    // two spaces
      {h + "1 " + k + " \n", 2},                                    // trailing space
      {h + "1 " + k + "\r\n", 2},                                   // CRLF
      {h + "1 " + k.substr(1) + "\n", 2},                           // 31.x bytes
      {h + "1 A" + k + "\n", 2},                                    // too long
      {h + "1 " + k.substr(0, 42) + "B=\n", 2},                     // non-canonical last symbol
      {h + "1 " + k.substr(0, 43) + "A\n", 2},                      // no padding
      {h + "1 " + k.substr(0, 10) + "*" + k.substr(11) + "\n", 2},  // bad character
      {h + "1 " + k.substr(0, 10) + "=" + k.substr(11) + "\n", 2},  // padding in the middle
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    WriteFile(c.text);
    auto mk = OpenKeyFileMasterKey(path_);
    ASSERT_TRUE(absl::IsInvalidArgument(mk.status())) << mk.status();
    const std::string msg(mk.status().message());
    EXPECT_NE(msg.find("line " + std::to_string(c.line) + ":"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("AAAAAAAA"), std::string::npos) << msg;
  }
}

TEST_F(KeyFileTest, HandWrittenFileGivesTheDocumentedBlobFormat) {
  // Version 7 is the all-zero key; no trailing newline is fine.
  WriteFile(std::string("tapvault-master-key 1\n3 ") +
            "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=" + "\n7 " + kZeroKeyB64);
  auto mk = OpenKeyFileMasterKey(path_);
  ASSERT_TRUE(mk.ok()) << mk.status();
  EXPECT_EQ((*mk)->Versions(), (std::vector<uint32_t>{3, 7}));
  EXPECT_EQ((*mk)->CurrentVersion(), 7u);
  SecretBytes key = SecretBytes::Random(32);
  auto blob = (*mk)->Wrap(key, "ctx");
  ASSERT_TRUE(blob.ok());
  ASSERT_EQ(blob->size(), 1 + 4 + 12 + 32 + 16u);
  EXPECT_EQ(blob->substr(0, 5), std::string("\x01\x00\x00\x00\x07", 5));
  auto aead = AesGcm::Create(SecretBytes(32));
  ASSERT_TRUE(aead.ok());
  std::string plain;
  ASSERT_TRUE(
      aead->Open(B(*blob).subspan(5, 12), base::AsBytes("ctx"), B(*blob).subspan(17), plain).ok());
  EXPECT_TRUE(SecretBytes::CopyFrom(B(plain)).Equals(key));
}

TEST_F(KeyFileTest, UnwrapErrors) {
  auto mk = CreateKeyFileMasterKey(path_);
  ASSERT_TRUE(mk.ok());
  SecretBytes key = SecretBytes::Random(32);
  auto blob = (*mk)->Wrap(key, "tapvault/warrant-key/1");
  ASSERT_TRUE(blob.ok());
  EXPECT_TRUE(absl::IsDataLoss((*mk)->Unwrap(B(*blob), "tapvault/warrant-key/2").status()));
  for (size_t i = 5; i < blob->size(); ++i) {  // nonce, ciphertext, tag
    std::string bad = *blob;
    bad[i] ^= 0x10;
    EXPECT_TRUE(absl::IsDataLoss((*mk)->Unwrap(B(bad), "tapvault/warrant-key/1").status())) << i;
  }
  for (size_t n = 0; n < kMasterKeyBlobOverhead; ++n) {
    EXPECT_TRUE(
        absl::IsDataLoss((*mk)->Unwrap(B(*blob).first(n), "tapvault/warrant-key/1").status()))
        << n;
  }
  std::string other_format = *blob;
  other_format[0] = 2;
  EXPECT_TRUE(absl::IsDataLoss((*mk)->Unwrap(B(other_format), "tapvault/warrant-key/1").status()));
  std::string other_version = *blob;
  other_version[4] = 9;
  EXPECT_TRUE(absl::IsNotFound((*mk)->Unwrap(B(other_version), "tapvault/warrant-key/1").status()));
}

TEST_F(KeyFileTest, RotateAndDestroyShredOldBlobs) {
  auto mk = CreateKeyFileMasterKey(path_);
  ASSERT_TRUE(mk.ok());
  SecretBytes k1 = SecretBytes::Random(32), k2 = SecretBytes::Random(32);
  auto blob1 = (*mk)->Wrap(k1, "w/1");
  ASSERT_TRUE(blob1.ok());
  const std::string v1_b64 = LineKey(1);
  ASSERT_EQ(v1_b64.size(), 44u);

  auto v2 = (*mk)->Rotate();
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(*v2, 2u);
  EXPECT_EQ((*mk)->CurrentVersion(), 2u);
  EXPECT_EQ((*mk)->Versions(), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(Mode(), 0600u);
  EXPECT_EQ(LineKey(1), v1_b64);
  EXPECT_NE(LineKey(2), v1_b64);
  auto blob2 = (*mk)->Wrap(k2, "w/2");
  ASSERT_TRUE(blob2.ok());
  EXPECT_EQ(static_cast<uint8_t>((*blob2)[4]), 2);
  {  // durable: a fresh open sees version 2
    auto fresh = OpenKeyFileMasterKey(path_);
    ASSERT_TRUE(fresh.ok());
    EXPECT_EQ((*fresh)->CurrentVersion(), 2u);
    EXPECT_TRUE((*fresh)->Unwrap(B(*blob2), "w/2").ok());
  }
  auto still = (*mk)->Unwrap(B(*blob1), "w/1");
  ASSERT_TRUE(still.ok());
  EXPECT_TRUE(still->Equals(k1));

  EXPECT_TRUE(absl::IsFailedPrecondition((*mk)->DestroyVersion(2)));
  EXPECT_TRUE(absl::IsNotFound((*mk)->DestroyVersion(5)));
  ASSERT_TRUE((*mk)->DestroyVersion(1).ok());
  EXPECT_EQ((*mk)->Versions(), std::vector<uint32_t>{2});
  EXPECT_TRUE(absl::IsNotFound((*mk)->Unwrap(B(*blob1), "w/1").status()));
  EXPECT_TRUE(absl::IsNotFound((*mk)->DestroyVersion(1)));
  EXPECT_EQ(ReadAll(path_).find(v1_b64), std::string::npos);
  EXPECT_EQ(Mode(), 0600u);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);

  auto fresh = OpenKeyFileMasterKey(path_);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ((*fresh)->Versions(), std::vector<uint32_t>{2});
  EXPECT_TRUE(absl::IsNotFound((*fresh)->Unwrap(B(*blob1), "w/1").status()));
  auto back2 = (*fresh)->Unwrap(B(*blob2), "w/2");
  ASSERT_TRUE(back2.ok());
  EXPECT_TRUE(back2->Equals(k2));

  // Numbers are never reused, even after destruction.
  auto v3 = (*fresh)->Rotate();
  ASSERT_TRUE(v3.ok());
  EXPECT_EQ(*v3, 3u);
}

TEST_F(KeyFileTest, FailedRotateOrDestroyChangesNothing) {
  auto mk = CreateKeyFileMasterKey(path_);
  ASSERT_TRUE(mk.ok());
  ASSERT_TRUE((*mk)->Rotate().ok());
  // A non-empty directory where the file was: the rename of every rewrite fails (even for root).
  fs::remove(path_);
  fs::create_directory(path_);
  { std::ofstream(path_ + "/x") << "x"; }
  auto v = (*mk)->Rotate();
  EXPECT_FALSE(v.ok());
  EXPECT_FALSE((*mk)->DestroyVersion(1).ok());
  EXPECT_EQ((*mk)->Versions(), (std::vector<uint32_t>{1, 2}));
  auto blob = (*mk)->Wrap(SecretBytes::Random(32), "c");
  ASSERT_TRUE(blob.ok());
  EXPECT_EQ(static_cast<uint8_t>((*blob)[4]), 2);
  EXPECT_TRUE((*mk)->Unwrap(B(*blob), "c").ok());
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1)
      << "temp files are removed after a failure";
}

TEST_F(KeyFileTest, ConcurrentWrapUnwrapAndRotate) {
  auto mk = CreateKeyFileMasterKey(path_);
  ASSERT_TRUE(mk.ok());
  MasterKey* m = mk->get();
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      SecretBytes key = SecretBytes::Random(32);
      const std::string ctx = "t/" + std::to_string(t);
      for (int i = 0; i < 50; ++i) {
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
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(m->Rotate().ok());
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(m->CurrentVersion(), 4u);
}

TEST_F(KeyFileTest, OpenMasterKeyDispatchAndCreate) {
  auto created = OpenMasterKey(path_, /*create=*/true);
  ASSERT_TRUE(created.ok()) << created.status();
  SecretBytes key = SecretBytes::Random(32);
  auto blob = (*created)->Wrap(key, "c");
  ASSERT_TRUE(blob.ok());
  // create on an existing file opens it (same key), with or without the Describe() prefix.
  for (const std::string& spec : {path_, "key-file:" + path_}) {
    for (bool create : {true, false}) {
      auto mk = OpenMasterKey(spec, create);
      ASSERT_TRUE(mk.ok()) << spec << mk.status();
      auto back = (*mk)->Unwrap(B(*blob), "c");
      ASSERT_TRUE(back.ok());
      EXPECT_TRUE(back->Equals(key));
    }
  }
  EXPECT_TRUE(absl::IsNotFound(OpenMasterKey(dir_ + "/other.key", false).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(OpenMasterKey("", false).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(OpenMasterKey("pkcs11:token=x;object=y", false).status()))
      << "no module-path";
}

}  // namespace
}  // namespace tapvault::crypto
