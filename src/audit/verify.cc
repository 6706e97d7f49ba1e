#include "audit/verify.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "audit/audit_log.h"
#include "base/file_util.h"
#include "audit/internal/log_format.h"
#include "base/hex.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "nlohmann/json.hpp"
#include "tlog/dir_tile_store.h"
#include "tlog/merkle.h"
#include "tlog/note.h"
#include "tlog/tiles.h"

namespace tapvault::audit {
namespace {

using internal::FrameReader;
using base::JoinPath;

constexpr uint64_t kWidth = tlog::kTileWidth;

std::string HexOf(const tlog::Hash& h) {
  return base::ToHex(std::as_bytes(std::span<const uint8_t>(h.data(), h.size())));
}

class Verifier {
 public:
  Verifier(std::string dir, std::string vkey, std::optional<std::string> trusted)
      : dir_(std::move(dir)), vkey_(std::move(vkey)), trusted_note_(std::move(trusted)),
        tiles_(dir_) {}

  absl::StatusOr<VerifyReport> Run();

 private:
  void Problem(std::string msg, std::optional<uint64_t> index = std::nullopt) {
    if (r_.problems.empty() && index) r_.first_bad_index = index;
    if (r_.problems.size() < VerifyReport::kMaxKept) {
      r_.problems.push_back(std::move(msg));
    } else {
      ++r_.more_problems;
    }
  }
  void Note(std::string msg) { r_.notes.push_back(std::move(msg)); }
  std::optional<tlog::Checkpoint> OpenNote(std::string_view note, const std::string& label);
  bool TilesGiveSignedRoot();
  // The stored hash of leaf i (< cp size) from its level-0 tile; nullopt if unreadable.
  std::optional<tlog::Hash> StoredLeaf(uint64_t i);
  void CheckBundle(uint64_t i, std::string_view entry, bool entry_suspect);
  void CheckTiles(const std::vector<tlog::TreeBuilder::FullTile>& tiles, bool partial);
  absl::Status ScanEntries(int fd, uint64_t end);
  void CheckRoots();
  void TornFiles();
  uint64_t WidthAt(uint64_t tile_index) const {
    return std::min<uint64_t>(kWidth, cp_size_ - tile_index * kWidth);
  }

  const std::string dir_, vkey_;
  const std::optional<std::string> trusted_note_;
  tlog::DirTileStore tiles_;
  VerifyReport r_;
  std::optional<tlog::Checkpoint> cp_, trusted_;
  uint64_t cp_size_ = 0;             // 0 when there is no valid checkpoint
  bool tiles_authentic_ = false;
  std::optional<tlog::Hash> root_at_cp_, root_at_trusted_;
  // One level-0 tile and one entry bundle at a time (the scan is sequential).
  uint64_t tile_index_ = UINT64_MAX;
  std::optional<std::string> tile_;
  uint64_t bundle_index_ = UINT64_MAX;
  std::optional<std::vector<std::string>> bundle_;
  tlog::TreeBuilder tree_;
};

std::optional<tlog::Checkpoint> Verifier::OpenNote(std::string_view note,
                                                   const std::string& label) {
  auto cp = tlog::OpenCheckpoint(note, vkey_);
  if (!cp.ok()) {
    const bool bad_sig = absl::IsPermissionDenied(cp.status());
    Problem(base::StrCat(label, bad_sig ? " is not validly signed by the log's key: " : " is not a "
                                                                                     "checkpoint: ",
                         base::View(cp.status().message())));
    return std::nullopt;
  }
  if (auto key = tlog::ParseVerifierKey(vkey_); key.ok() && cp->origin != key->name) {
    Problem(base::StrCat(label, " is for origin \"", cp->origin, "\", not \"", key->name, "\""));
    return std::nullopt;
  }
  return std::move(*cp);
}

bool Verifier::TilesGiveSignedRoot() {
  if (cp_size_ == 0) return true;
  tlog::TreeBuilder tb;
  for (uint64_t k = 0; k * kWidth < cp_size_; ++k) {
    auto t = tiles_.ReadTile(0, k, WidthAt(k));
    if (!t.ok() || t->size() < WidthAt(k) * 32) return false;
    for (uint64_t j = 0; j < WidthAt(k); ++j) {
      tlog::Hash h;
      std::copy_n(reinterpret_cast<const uint8_t*>(t->data()) + 32 * j, 32, h.begin());
      tb.Append(h, nullptr);
    }
  }
  return tb.Root() == cp_->root;
}

std::optional<tlog::Hash> Verifier::StoredLeaf(uint64_t i) {
  const uint64_t k = i / kWidth;
  if (k != tile_index_) {
    tile_index_ = k;
    auto t = tiles_.ReadTile(0, k, WidthAt(k));
    tile_ = t.ok() ? std::optional<std::string>(std::move(*t)) : std::nullopt;
  }
  const uint64_t j = i % kWidth;
  if (!tile_ || tile_->size() < 32 * (j + 1)) return std::nullopt;
  tlog::Hash h;
  std::copy_n(reinterpret_cast<const uint8_t*>(tile_->data()) + 32 * j, 32, h.begin());
  return h;
}

void Verifier::CheckBundle(uint64_t i, std::string_view entry, bool entry_suspect) {
  const uint64_t k = i / kWidth;
  const std::string path = tlog::EntriesPath(k, WidthAt(k));
  if (k != bundle_index_) {
    bundle_index_ = k;
    bundle_.reset();
    auto b = tiles_.ReadEntries(k, WidthAt(k));
    if (!b.ok()) {
      Problem(base::StrCat("entry bundle ", path, ": ", base::View(b.status().message())), i);
      return;
    }
    auto decoded = tlog::DecodeEntryBundle(base::AsBytes(*b));
    if (!decoded.ok() || decoded->size() != WidthAt(k)) {
      Problem(base::StrCat("entry bundle ", path, " is malformed"), i);
      return;
    }
    bundle_ = std::move(*decoded);
  }
  if (!bundle_) return;  // reported once
  // A wrong entry in entries.log is reported as such; the bundle is only blamed when the entry is
  // the signed one.
  if (!entry_suspect && (*bundle_)[i % kWidth] != entry) {
    Problem(base::StrCat("entry bundle ", path, ": entry ", i, " differs from entries.log"), i);
  }
}

void Verifier::CheckTiles(const std::vector<tlog::TreeBuilder::FullTile>& tiles, bool partial) {
  for (const auto& t : tiles) {
    // Level-0 tiles were compared leaf by leaf when they are authentic.
    if (t.level == 0 && tiles_authentic_) continue;
    const uint64_t width = t.hashes.size() / 32;
    const std::string path = tlog::TilePath(t.level, t.index, width);
    auto stored = tiles_.ReadTile(t.level, t.index, width);
    if (!stored.ok()) {
      Problem(base::StrCat("tile ", path, ": ", base::View(stored.status().message())));
    } else if (stored->substr(0, t.hashes.size()) != t.hashes) {
      Problem(base::StrCat("tile ", path, " differs from the hashes the entries give",
                           partial ? " (at the checkpoint's size)" : ""));
    }
  }
}

absl::Status Verifier::ScanEntries(int fd, uint64_t end) {
  const std::string path = JoinPath(dir_, internal::kEntriesFile);
  FrameReader reader(fd, path, internal::kFileHeader.size(), end);
  uint64_t i = 0;
  std::vector<tlog::TreeBuilder::FullTile> completed;
  auto remember_roots = [&] {
    if (trusted_ && tree_.size() == trusted_->size) root_at_trusted_ = tree_.Root();
    if (cp_ && tree_.size() == cp_size_) {
      root_at_cp_ = tree_.Root();
      CheckTiles(tree_.PartialTiles(), /*partial=*/true);
    }
  };
  remember_roots();
  for (;; ++i) {
    ASSIGN_OR_RETURN(FrameReader::Next n, reader.Read());
    if (n.kind == FrameReader::Kind::kEnd) break;
    bool suspect = false;   // a problem was reported for entry i already
    if (n.kind != FrameReader::Kind::kFrame) {
      const uint64_t rest = end - n.offset;
      if (i >= cp_size_ && rest <= kMaxTornBytes) {
        Note(base::StrCat("torn tail: ", rest, " bytes at offset ", n.offset, " after entry ",
                          i, " (", n.why, "), not signed; cut at the next append"));
        break;
      }
      if (!n.skippable) {
        Problem(base::StrCat("entry ", i, " (offset ", n.offset, "): damaged frame (", n.why,
                             "); the ", rest, " bytes from there are not readable as entries"),
                i);
        break;
      }
      Problem(base::StrCat("entry ", i, " (offset ", n.offset, "): ", n.why,
                           ": the entry was modified"), i);
      suspect = true;
    }
    auto decoded = DecodeEntry(base::AsBytes(n.entry));
    if (!decoded.ok()) {
      if (!suspect) {
        Problem(base::StrCat("entry ", i, " (offset ", n.offset, "): ",
                             base::View(decoded.status().message())), i);
      }
      suspect = true;
    } else if (decoded->index != i) {
      if (!suspect) {
        Problem(base::StrCat("entry ", i, " (offset ", n.offset, ") carries index ",
                             decoded->index, ": entries were removed, inserted or reordered"),
                i);
      }
      suspect = true;
    }
    if (i < cp_size_) {
      if (tiles_authentic_) {
        std::optional<tlog::Hash> signed_leaf = StoredLeaf(i);
        if (signed_leaf && *signed_leaf != n.leaf_hash) {
          if (!suspect) {
            Problem(base::StrCat("entry ", i, " (offset ", n.offset, ") is not the entry the "
                                 "signed checkpoint covers (its hash differs from ",
                                 tlog::TilePath(0, i / kWidth, WidthAt(i / kWidth)),
                                 "): modified, replaced or moved"), i);
          }
          suspect = true;
        }
      }
      CheckBundle(i, n.entry, suspect);
    }
    completed.clear();
    tree_.Append(n.leaf_hash, &completed);
    // Full tiles are written by the checkpoint that covers them; later ones may not exist yet.
    std::erase_if(completed, [&](const tlog::TreeBuilder::FullTile& t) {
      unsigned __int128 span = kWidth;
      for (int l = 0; l < t.level; ++l) span *= kWidth;
      return (t.index + 1) * span > cp_size_;
    });
    CheckTiles(completed, /*partial=*/false);
    remember_roots();
  }
  r_.entries = i;
  return absl::OkStatus();
}

void Verifier::CheckRoots() {
  const uint64_t n = r_.entries;
  if (cp_) {
    if (cp_size_ > n) {
      Problem(base::StrCat("DIR/checkpoint signs ", cp_size_, " entries but entries.log holds ",
                           n, ": entries from ", n, " on were removed or cut"), n);
    } else if (root_at_cp_ && *root_at_cp_ != cp_->root) {
      Problem(base::StrCat("the first ", cp_size_, " entries give root ", HexOf(*root_at_cp_),
                           ", DIR/checkpoint signs ", HexOf(cp_->root),
                           ": an entry before ", cp_size_,
                           " was modified, removed, inserted or reordered"));
    }
    if (root_at_cp_) r_.root_hex = HexOf(*root_at_cp_);
    if (!tiles_authentic_) {
      Problem(base::StrCat("the hash tiles under DIR/tile do not give the signed root at size ",
                           cp_size_, " (altered or missing)"));
    }
    if (n > cp_size_) {
      Note(base::StrCat(n - cp_size_, " entries after the checkpoint (", cp_size_, "..", n - 1,
                        ") are not yet covered by a signed checkpoint"));
    }
  }
  if (trusted_) {
    const std::string what = base::StrCat("the trusted checkpoint (size ", trusted_->size, ")");
    if (trusted_->size > n) {
      Problem(base::StrCat(what, " covers more entries than entries.log holds (", n,
                           "): the log was cut back"), n);
    } else if (root_at_trusted_ && *root_at_trusted_ != trusted_->root) {
      Problem(base::StrCat("the first ", trusted_->size, " entries do not give the root of ", what,
                           ": the log was rewritten since (an entry before ", trusted_->size,
                           " was modified, removed, inserted or reordered)"));
    }
    if (cp_ && trusted_->size <= cp_->size) {
      auto proof = tlog::ConsistencyProof(trusted_->size, cp_->size, tiles_);
      if (!proof.ok()) {
        Problem(base::StrCat("no consistency proof from ", what, " to DIR/checkpoint (size ",
                             cp_->size, "): ", base::View(proof.status().message())));
      } else if (!tlog::VerifyConsistency(trusted_->size, cp_->size, trusted_->root, cp_->root,
                                          *proof)) {
        Problem(base::StrCat("DIR/checkpoint (size ", cp_->size, ") is not an extension of ",
                             what, ": the log was forked or rewritten"));
      }
    }
  }
}

void Verifier::TornFiles() {
  const std::string torn = JoinPath(dir_, internal::kTornDir);
  DIR* d = ::opendir(torn.c_str());
  if (d == nullptr) return;
  std::set<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.insert(name);
  }
  ::closedir(d);
  for (const std::string& name : names) {
    Note(base::StrCat("torn/", name, ": bytes a crash left after the last entry, cut from "
                                     "entries.log and kept (see the audit_recovery entry)"));
  }
}

absl::StatusOr<VerifyReport> Verifier::Run() {
  auto key = tlog::ParseVerifierKey(vkey_);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        base::StrCat("audit verify: bad verifier key: ", base::View(key.status().message())));
  }
  const std::string path = JoinPath(dir_, internal::kEntriesFile);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return absl::NotFoundError(base::StrCat("audit verify: no audit log in ", dir_));
    }
    return base::ErrnoStatus(errno, "open", path);
  }
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) return base::ErrnoStatus(errno, "stat", path);
  const uint64_t end = static_cast<uint64_t>(st.st_size);

  auto note = base::ReadFile(JoinPath(dir_, internal::kCheckpointFile));
  if (!note.ok()) {
    Problem(base::StrCat("DIR/checkpoint: ", base::View(note.status().message()),
                         ": nothing signs the log"));
  } else {
    cp_ = OpenNote(*note, "DIR/checkpoint");
  }
  if (cp_) {
    cp_size_ = cp_->size;
    r_.checkpoint_size = cp_->size;
    r_.origin = cp_->origin;
  }
  if (trusted_note_) {
    trusted_ = OpenNote(*trusted_note_, "the trusted checkpoint");
    if (trusted_) r_.trusted_size = trusted_->size;
    if (trusted_ && cp_ && trusted_->size > cp_->size) {
      Problem(base::StrCat("the trusted checkpoint (size ", trusted_->size,
                           ") is larger than DIR/checkpoint (size ", cp_->size,
                           "): the log was rolled back or its checkpoint replaced"));
    }
  }

  std::string head(internal::kFileHeader.size(), '\0');
  ASSIGN_OR_RETURN(size_t got, base::PReadUpTo(fd, head.data(), head.size(), 0, path));
  head.resize(got);
  if (head != internal::kFileHeader) {
    Problem("entries.log: bad file header (not an audit log of this version)", 0);
  } else {
    tiles_authentic_ = cp_ && TilesGiveSignedRoot();
    RETURN_IF_ERROR(ScanEntries(fd, end));
    CheckRoots();
  }
  TornFiles();
  r_.ok = r_.problems.empty() && r_.more_problems == 0;
  return std::move(r_);
}

}  // namespace

std::string VerifyReport::Summary() const {
  if (!ok) {
    std::string s = "CORRUPT: " + (problems.empty() ? std::string("unknown problem") : problems[0]);
    const uint64_t more = (problems.empty() ? 0 : problems.size() - 1) + more_problems;
    if (more > 0) s += base::StrCat(" (+", more, " more)");
    return s;
  }
  std::string s = base::StrCat("intact: ", entries, " entries, checkpoint ", checkpoint_size,
                               " signed by ", origin, ", root ", root_hex.substr(0, 16), "…");
  if (trusted_size) s += base::StrCat(", grew from the trusted checkpoint ", *trusted_size);
  return s;
}

std::string VerifyReport::Json() const {
  nlohmann::ordered_json j;
  j["ok"] = ok;
  j["entries"] = entries;
  j["checkpoint_size"] = checkpoint_size;
  j["origin"] = origin;
  j["root"] = root_hex;
  j["trusted_size"] = trusted_size ? nlohmann::ordered_json(*trusted_size) : nullptr;
  j["first_bad_index"] = first_bad_index ? nlohmann::ordered_json(*first_bad_index) : nullptr;
  j["problems"] = problems;
  j["more_problems"] = more_problems;
  j["notes"] = notes;
  return j.dump();
}

absl::StatusOr<VerifyReport> VerifyLog(const std::string& dir, std::string_view verifier_key,
                                       std::optional<std::string> trusted_checkpoint_note) {
  while (!verifier_key.empty() && (verifier_key.back() == '\n' || verifier_key.back() == ' ')) {
    verifier_key.remove_suffix(1);
  }
  Verifier v(dir, std::string(verifier_key), std::move(trusted_checkpoint_note));
  return v.Run();
}

}  // namespace tapvault::audit
