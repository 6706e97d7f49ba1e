#include "audit/verify.h"

#include <filesystem>
#include <string>
#include <vector>

#include "audit/audit_log.h"
#include "audit/internal/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tlog/merkle.h"
#include "tlog/note.h"
#include "tlog/tiles.h"

namespace tapvault::audit {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// entries.log as documented in audit_log.h: an 8-byte header, then "TVAE" | u32 len | entry |
// first 4 bytes of SHA-256(0x00 || entry). Parsed here independently of the library.
struct LogFile {
  std::string header;
  std::vector<std::string> entries;

  static LogFile Read(const std::string& dir) {
    const std::string data = ReadAll(dir + "/entries.log");
    LogFile f;
    f.header = data.substr(0, 8);
    size_t pos = 8;
    while (pos + 8 <= data.size()) {
      EXPECT_EQ(data.substr(pos, 4), "TVAE");
      const size_t len = (uint8_t(data[pos + 4]) << 24) | (uint8_t(data[pos + 5]) << 16) |
                         (uint8_t(data[pos + 6]) << 8) | uint8_t(data[pos + 7]);
      f.entries.push_back(data.substr(pos + 8, len));
      pos += 12 + len;
    }
    EXPECT_EQ(pos, data.size());
    return f;
  }
  static std::string Frame(const std::string& entry) {
    std::string out = "TVAE";
    for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((entry.size() >> s) & 0xFF));
    out += entry;
    tlog::Hash h = tlog::LeafHash(base::AsBytes(entry));
    out.append(reinterpret_cast<const char*>(h.data()), 4);
    return out;
  }
  void Write(const std::string& dir) const {
    std::string data = header;
    for (const std::string& e : entries) data += Frame(e);
    WriteAll(dir + "/entries.log", data);
  }
};

std::string Reencode(const std::string& entry, uint64_t index, const char* actor = nullptr) {
  auto e = DecodeEntry(base::AsBytes(entry));
  EXPECT_TRUE(e.ok());
  e->index = index;
  if (actor) e->event.actor = actor;
  return *EncodeEntry(*e);
}

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log_ = OpenLog(dir_.path(), &key_);
    Fill(*log_, kN, [](int i) {
      return Ev(i % 2 ? "alice" : "bob", "read_content", "comm:" + std::to_string(i));
    });
    ASSERT_TRUE(log_->Checkpoint().ok());
  }
  VerifyReport Verify(std::optional<std::string> trusted = std::nullopt) {
    return VerifyDir(dir_.path(), std::move(trusted));
  }
  static VerifyReport VerifyDir(const std::string& dir,
                             std::optional<std::string> trusted = std::nullopt) {
    auto r = VerifyLog(dir, VerifierKeyOf(dir), std::move(trusted));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : VerifyReport{};
  }
  void Close() { log_.reset(); }

  static constexpr int kN = 600;  // two full level-0 tiles and a partial one; level 1 partial
  TempDir dir_;
  crypto::Ed25519Signer key_ = crypto::Ed25519Signer::Generate();
  std::unique_ptr<AuditLog> log_;
};

TEST_F(VerifyTest, IntactLogVerifies) {
  Close();
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok) << r.Summary();
  EXPECT_EQ(r.entries, kN);
  EXPECT_EQ(r.checkpoint_size, kN);
  EXPECT_EQ(r.origin, kOrigin);
  EXPECT_THAT(r.Summary(), StartsWith("intact: 600 entries, checkpoint 600"));
  EXPECT_TRUE(r.notes.empty());
  EXPECT_THAT(r.Json(), HasSubstr("\"ok\":true"));
}

TEST_F(VerifyTest, ModifiedBytesAreNamed) {
  Close();
  std::string data = ReadAll(dir_.path() + "/entries.log");
  LogFile f = LogFile::Read(dir_.path());
  // The actor of entry 37, in place ("bob" -> "bOb" or "alice" -> "aLice").
  size_t off = 8;
  for (int i = 0; i < 37; ++i) off += 12 + f.entries[i].size();
  const size_t actor = off + 8 + 1 + 8 + 8 + 2 + 1;
  data[actor] = static_cast<char>(data[actor] ^ 0x20);
  WriteAll(dir_.path() + "/entries.log", data);
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 37u);
  EXPECT_THAT(r.problems[0], HasSubstr("entry 37"));
  EXPECT_THAT(r.problems[0], HasSubstr("modified"));
  EXPECT_THAT(r.Summary(), StartsWith("CORRUPT: entry 37"));
}

TEST_F(VerifyTest, RewrittenEntryWithValidFrameIsNamed) {
  Close();
  LogFile f = LogFile::Read(dir_.path());
  f.entries[37] = Reencode(f.entries[37], 37, "mallory");
  f.Write(dir_.path());
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 37u);
  EXPECT_THAT(r.problems[0], HasSubstr("entry 37"));
  EXPECT_THAT(r.problems[0], HasSubstr("not the entry the signed checkpoint covers"));
}

TEST_F(VerifyTest, DeletedEntryIsNamed) {
  Close();
  LogFile f = LogFile::Read(dir_.path());
  f.entries.erase(f.entries.begin() + 37);
  f.Write(dir_.path());
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 37u);
  EXPECT_THAT(r.problems[0], HasSubstr("carries index 38"));
}

TEST_F(VerifyTest, DeletedEntryWithIndexesRenumberedIsNamed) {
  Close();
  LogFile f = LogFile::Read(dir_.path());
  f.entries.erase(f.entries.begin() + 37);
  for (size_t i = 37; i < f.entries.size(); ++i) f.entries[i] = Reencode(f.entries[i], i);
  f.Write(dir_.path());
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 37u);
  EXPECT_THAT(r.Summary(), HasSubstr("entry 37"));
}

TEST_F(VerifyTest, SwappedEntriesAreNamed) {
  Close();
  LogFile f = LogFile::Read(dir_.path());
  std::swap(f.entries[37], f.entries[38]);
  f.Write(dir_.path());
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 37u);

  // Swapped with their indexes rewritten to match their new places: the tiles still name them.
  f = LogFile::Read(dir_.path());
  f.entries[37] = Reencode(f.entries[37], 37);
  f.entries[38] = Reencode(f.entries[38], 38);
  f.Write(dir_.path());
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 37u);
  EXPECT_THAT(r.problems[0], HasSubstr("not the entry the signed checkpoint covers"));
}

TEST_F(VerifyTest, RemovedSignedTailIsNamed) {
  Close();
  LogFile f = LogFile::Read(dir_.path());
  f.entries.resize(500);
  f.Write(dir_.path());
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 500u);
  EXPECT_THAT(r.problems[0], HasSubstr("signs 600 entries but entries.log holds 500"));
}

TEST_F(VerifyTest, ForgedCheckpointSignatureIsCaught) {
  Close();
  const std::string path = dir_.path() + "/checkpoint";
  const std::string note = ReadAll(path);
  // One base64 character of the signature changed.
  std::string forged = note;
  forged[forged.size() - 10] = forged[forged.size() - 10] == 'A' ? 'B' : 'A';
  WriteAll(path, forged);
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.problems[0], HasSubstr("DIR/checkpoint is not validly signed"));

  // A checkpoint of another size and root, signed by someone else's key of the same name.
  auto mallory = crypto::Ed25519Signer::Generate();
  tlog::Checkpoint cp{kOrigin, 700, tlog::EmptyRoot(), {}};
  WriteAll(path, *tlog::SignNote(tlog::CheckpointBody(cp), kOrigin, mallory));
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.problems[0], HasSubstr("DIR/checkpoint is not validly signed"));

  // The right note, but verified with another key than the log's.
  WriteAll(path, note);
  auto other = VerifyLog(dir_.path(), tlog::VerifierKey(kOrigin, mallory.PublicKey()),
                         std::nullopt);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->ok);
  EXPECT_TRUE(Verify().ok);
}

TEST_F(VerifyTest, GrowthFromTrustedCheckpointVerifies) {
  const std::string old_note = ReadAll(dir_.path() + "/checkpoint");
  TempDir before;
  fs::copy(dir_.path(), before.path(), fs::copy_options::recursive |
                                           fs::copy_options::overwrite_existing);
  Fill(*log_, 300, [](int i) { return Ev("carol", "search"); });
  const std::string new_note = *log_->Checkpoint();
  Close();
  VerifyReport r = Verify(old_note);
  EXPECT_TRUE(r.ok) << r.Summary();
  EXPECT_EQ(r.trusted_size, 600u);
  EXPECT_EQ(r.checkpoint_size, 900u);
  EXPECT_THAT(r.Summary(), HasSubstr("grew from the trusted checkpoint 600"));
  // The same checkpoint as trusted and current.
  EXPECT_TRUE(Verify(new_note).ok);
  // A log rolled back to before a checkpoint a witness holds.
  r = VerifyDir(before.path(), new_note);
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.problems[0], HasSubstr("larger than DIR/checkpoint"));
}

// Someone with the signing key rewrites entry 20 and signs a new, self-consistent history. On its
// own the fork verifies; against a checkpoint an outside witness kept, it does not.
TEST_F(VerifyTest, ForkedLogIsCaughtByTrustedCheckpoint) {
  Close();
  TempDir small;
  std::string trusted;
  {
    auto log = OpenLog(small.path(), &key_);
    for (int i = 0; i < 40; ++i) {
      ASSERT_TRUE(log->Append(Ev("alice", "read_content", "comm:" + std::to_string(i))).ok());
    }
    trusted = *log->Checkpoint();
  }
  LogFile f = LogFile::Read(small.path());
  TempDir fork;
  {
    auto log = OpenLog(fork.path(), &key_);
    for (int i = 0; i < 60; ++i) {
      Event e = Ev("alice", "read_content", "comm:" + std::to_string(i));
      if (i < 40) e = DecodeEntry(base::AsBytes(f.entries[i]))->event;
      if (i == 20) e.object = "comm:999";  // the rewritten history
      ASSERT_TRUE(log->Append(e).ok());
    }
  }
  EXPECT_TRUE(VerifyDir(fork.path()).ok);
  VerifyReport r = VerifyDir(fork.path(), trusted);
  EXPECT_FALSE(r.ok);
  ASSERT_GE(r.problems.size(), 2u);
  EXPECT_THAT(r.problems[0], HasSubstr("do not give the root of the trusted checkpoint"));
  EXPECT_THAT(r.problems[1], HasSubstr("forked or rewritten"));
  // The original, grown honestly, passes against the same checkpoint.
  {
    auto log = OpenLog(small.path(), &key_);
    ASSERT_TRUE(log->Append(Ev("bob", "login")).ok());
  }
  EXPECT_TRUE(VerifyDir(small.path(), trusted).ok);
}

TEST_F(VerifyTest, AlteredTilesAndBundlesAreCaught) {
  Close();
  const std::string tile = dir_.path() + "/" + tlog::TilePath(0, 1, 256);
  std::string t = ReadAll(tile);
  t[5] = static_cast<char>(t[5] ^ 1);
  WriteAll(tile, t);
  VerifyReport r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.Summary(), HasSubstr("tile"));
  t[5] = static_cast<char>(t[5] ^ 1);
  WriteAll(tile, t);
  ASSERT_TRUE(Verify().ok);

  const std::string bundle_path = dir_.path() + "/" + tlog::EntriesPath(0, 256);
  auto bundle = tlog::DecodeEntryBundle(base::AsBytes(ReadAll(bundle_path)));
  ASSERT_TRUE(bundle.ok());
  (*bundle)[10] = Reencode((*bundle)[10], 10, "mallory");
  WriteAll(bundle_path, *tlog::EncodeEntryBundle(*bundle));
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_index, 10u);
  EXPECT_THAT(r.problems[0], HasSubstr("entry bundle tile/entries/000: entry 10 differs"));
}

TEST_F(VerifyTest, UnsignedAndTornTailsAreNotes) {
  Fill(*log_, 5, [](int) { return Ev("dave", "export"); });
  // A copy taken while the log is open: five entries after its checkpoint, then a torn frame.
  TempDir copy;
  fs::copy(dir_.path(), copy.path(), fs::copy_options::recursive |
                                         fs::copy_options::overwrite_existing);
  AppendFile(copy.path() + "/entries.log", "TVAE\0\0");
  VerifyReport r = VerifyDir(copy.path());
  EXPECT_TRUE(r.ok) << r.Summary();
  EXPECT_EQ(r.entries, kN + 5);
  ASSERT_EQ(r.notes.size(), 2u);
  EXPECT_THAT(r.notes[0], HasSubstr("torn tail"));
  EXPECT_THAT(r.notes[1], HasSubstr("5 entries after the checkpoint"));
}

TEST_F(VerifyTest, BadInputs) {
  Close();
  EXPECT_EQ(VerifyLog(dir_.path(), "not a key", std::nullopt).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyLog(dir_.path() + "/nothing", VerifierKeyOf(dir_.path()), std::nullopt)
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  VerifyReport r = Verify(std::string("not a note"));
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.problems[0], HasSubstr("the trusted checkpoint is not a checkpoint"));
  fs::remove(dir_.path() + "/checkpoint");
  r = Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_THAT(r.problems[0], HasSubstr("nothing signs the log"));
}

}  // namespace
}  // namespace tapvault::audit
