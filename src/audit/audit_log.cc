#include "audit/audit_log.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/civil_time.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "base/file_util.h"
#include "audit/internal/log_format.h"
#include "base/hex.h"
#include "base/log.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "crypto/aead.h"
#include "tlog/dir_tile_store.h"
#include "tlog/note.h"
#include "tlog/tiles.h"

namespace tapvault::audit {

using base::ErrnoStatus;
using internal::FrameReader;
using base::JoinPath;
using internal::kFileHeader;

namespace {

constexpr uint64_t kBundleWidth = tlog::kTileWidth;

int64_t NowUs() { return absl::ToUnixMicros(absl::Now()); }

// Releases a flock() and closes nothing: the lock's life is a scope.
class FlockGuard {
 public:
  FlockGuard(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  FlockGuard(const FlockGuard&) = delete;
  FlockGuard& operator=(const FlockGuard&) = delete;
  ~FlockGuard() {
    if (locked_) (void)base::Flock(fd_, LOCK_UN, path_);
  }
  absl::Status Lock(int op) {
    RETURN_IF_ERROR(base::Flock(fd_, op, path_));
    locked_ = true;
    return absl::OkStatus();
  }

 private:
  int fd_;
  std::string path_;
  bool locked_ = false;
};

class ScopedFd {
 public:
  explicit ScopedFd(int fd = -1) : fd_(fd) {}
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

absl::StatusOr<uint64_t> FileSize(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, "stat", path);
  return static_cast<uint64_t>(st.st_size);
}

bool ValidKeyName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (c == '+' || static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) return false;
  }
  return true;
}

std::string TrimLine(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

// "+01:00", "-0530", "UTC", "Z" -> a fixed zone; anything else is looked up as an IANA name.
absl::StatusOr<absl::TimeZone> LoadZone(const std::string& name) {
  if (name.empty() || name == "UTC" || name == "Z") return absl::UTCTimeZone();
  if (name[0] == '+' || name[0] == '-') {
    std::string hhmm;
    if (name.size() == 6 && name[3] == ':') hhmm = name.substr(1, 2) + name.substr(4, 2);
    if (name.size() == 5) hhmm = name.substr(1);
    if (hhmm.size() == 4 &&
        std::all_of(hhmm.begin(), hhmm.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      const int h = (hhmm[0] - '0') * 10 + (hhmm[1] - '0');
      const int m = (hhmm[2] - '0') * 10 + (hhmm[3] - '0');
      if (h <= 23 && m <= 59) {
        const int sign = name[0] == '-' ? -1 : 1;
        return absl::FixedTimeZone(sign * (h * 3600 + m * 60));
      }
    }
    return absl::InvalidArgumentError(base::StrCat("audit: bad UTC offset \"", name, "\""));
  }
  absl::TimeZone tz;
  if (!absl::LoadTimeZone(name, &tz)) {
    return absl::InvalidArgumentError(base::StrCat("audit: unknown time zone \"", name, "\""));
  }
  return tz;
}

bool OutsideOfficeHours(int64_t at_us, const OfficeHours& h, const absl::TimeZone& tz) {
  const absl::CivilSecond cs = absl::ToCivilSecond(absl::FromUnixMicros(at_us), tz);
  // absl::Weekday: monday = 0 ... sunday = 6, matching work_days.
  const int day = static_cast<int>(absl::GetWeekday(cs));
  const int minute = cs.hour() * 60 + cs.minute();
  if (!h.work_days[static_cast<size_t>(day)]) return true;
  return minute < h.start_minute || minute >= h.end_minute;
}

bool ContainsIgnoreCase(std::string_view hay, std::string_view needle) {
  if (needle.empty()) return true;
  auto it = std::search(hay.begin(), hay.end(), needle.begin(), needle.end(), [](char a, char b) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    return lower(a) == lower(b);
  });
  return it != hay.end();
}

// The fields of an encoded entry as views, without validation or JSON parsing: Query filters on
// these and decodes (strictly) only the entries it returns.
struct EntryView {
  int64_t at_us = 0;
  std::string_view actor, role, action, object, outcome, detail;
};
std::optional<EntryView> ViewEntry(std::string_view e) {
  base::ByteReader r(base::AsBytes(e));
  uint8_t version;
  uint64_t index, at;
  if (!r.ReadU8(version) || version != kEntryVersion || !r.ReadBigEndian(8, index) ||
      !r.ReadBigEndian(8, at)) {
    return std::nullopt;
  }
  EntryView v;
  v.at_us = static_cast<int64_t>(at);
  for (std::string_view* f : {&v.actor, &v.role, &v.action, &v.object, &v.outcome, &v.detail}) {
    uint64_t len;
    base::Bytes b;
    if (!r.ReadBigEndian(2, len) || !r.ReadSpan(len, b)) return std::nullopt;
    *f = base::AsString(b);
  }
  return v;
}

// The tile files one checkpoint writes, made durable together before it signs. Their directories
// are made first (MakeDirs fsyncs the parent of each one it creates), so that afterwards each file
// and the one directory it was renamed into are all that need syncing. In steady state that is a
// handful of fsyncs, costing the same whatever else the filesystem holds; a rebuild of many
// tiles uses one syncfs() instead, as the cold store does.
class TileWrites {
 public:
  TileWrites(const std::string& dir, tlog::DirTileStore& tiles) : dir_(dir), tiles_(tiles) {}

  absl::Status Tile(int level, uint64_t index, uint64_t width, std::string_view hashes) {
    const std::string rel = tlog::TilePath(level, index, width);
    RETURN_IF_ERROR(Prepare(rel));
    return tiles_.WriteTile(level, index, width, base::AsBytes(hashes), /*durable=*/false);
  }
  absl::Status Entries(uint64_t index, uint64_t width, std::string_view bundle) {
    const std::string rel = tlog::EntriesPath(index, width);
    RETURN_IF_ERROR(Prepare(rel));
    return tiles_.WriteEntries(index, width, base::AsBytes(bundle), /*durable=*/false);
  }
  absl::Status Sync() {
    constexpr size_t kMaxFsyncs = 64;
    if (files_.size() > kMaxFsyncs) {
      ScopedFd dfd(::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (dfd.get() < 0) return ErrnoStatus(errno, "open", dir_);
      if (::syncfs(dfd.get()) != 0) return ErrnoStatus(errno, "syncfs", dir_);
      return absl::OkStatus();
    }
    std::set<std::string> dirs;
    for (const std::string& path : files_) {
      ScopedFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (fd.get() < 0) return ErrnoStatus(errno, "open", path);
      if (::fsync(fd.get()) != 0) return ErrnoStatus(errno, "fsync", path);
      dirs.insert(base::DirName(path));
    }
    for (const std::string& d : dirs) RETURN_IF_ERROR(base::SyncDir(d));
    return absl::OkStatus();
  }
  // Once the new files are durable: removes the partial files they supersede, the narrower
  // partials of a tile written wider and every partial of a tile written full. A tiles client
  // or a proof at an older size reads the prefix of a wider one (DirTileStore does), so nothing
  // is lost; without this, a checkpoint a second would leave up to one file per entry behind.
  // Best effort: a stale partial left by a crash is still a correct prefix.
  void RemoveSuperseded() {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (const std::string& path : files_) {
      const size_t p = path.rfind(".p/");
      if (p == std::string::npos) {
        fs::remove_all(path + ".p", ec);
        continue;
      }
      const std::string keep = path.substr(p + 3);
      for (const auto& e : fs::directory_iterator(path.substr(0, p + 2), ec)) {
        if (e.path().filename() != keep) fs::remove(e.path(), ec);
      }
    }
  }

 private:
  absl::Status Prepare(const std::string& rel) {
    const std::string path = JoinPath(dir_, rel);
    RETURN_IF_ERROR(base::MakeDirs(base::DirName(path), 0700));
    files_.push_back(path);
    return absl::OkStatus();
  }

  const std::string& dir_;
  tlog::DirTileStore& tiles_;
  std::vector<std::string> files_;
};

void PatchIndex(std::string& entry, uint64_t index) {
  for (int i = 0; i < 8; ++i) entry[1 + i] = static_cast<char>((index >> (8 * (7 - i))) & 0xFF);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

class AuditLog::Impl {
 public:
  Impl(OpenOptions opt, std::string origin, std::string vkey, int fd)
      : opt_(std::move(opt)),
        origin_(std::move(origin)),
        vkey_(std::move(vkey)),
        entries_path_(JoinPath(opt_.dir, internal::kEntriesFile)),
        fd_(fd),
        tiles_(opt_.dir) {}
  ~Impl();

  absl::Status Init();
  absl::StatusOr<uint64_t> Append(const Event& event);
  absl::StatusOr<std::string> Checkpoint();
  absl::StatusOr<std::vector<Entry>> Query(const audit::Query& q);
  uint64_t Size() const { return size_.load(std::memory_order_acquire); }
  void SetHook(std::function<absl::Status(std::string_view)> hook) {
    absl::MutexLock l(&io_mu_);
    hook_ = std::move(hook);
  }

  const OpenOptions opt_;
  const std::string origin_, vkey_;

 private:
  struct Writer {
    std::string entry;   // encoded with index 0: the leader fills the index in
    absl::Status status;
    uint64_t index = 0;
    bool done = false;
  };
  struct Damage {
    uint64_t offset = 0;
    std::string why;
  };

  bool writable() const { return opt_.signer != nullptr; }
  absl::Status Hook(std::string_view step) ABSL_EXCLUSIVE_LOCKS_REQUIRED(io_mu_) {
    return hook_ ? hook_(step) : absl::OkStatus();
  }
  // Reads complete frames after committed_offset_ (written by other processes, or by this one
  // before a failure) into the committed state. Returns the first damaged frame, if any.
  // REQUIRES: flock held.
  absl::StatusOr<std::optional<Damage>> ScanForwardLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(io_mu_);
  // ScanForwardLocked, and a torn tail cut (see CutTornTailLocked). REQUIRES: flock(LOCK_EX).
  absl::Status CatchUpLocked(std::optional<Event>* recovery) ABSL_EXCLUSIVE_LOCKS_REQUIRED(io_mu_);
  absl::Status CutTornTailLocked(const Damage& d, std::optional<Event>* recovery)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(io_mu_);
  // Writes the entries (their indexes set here) as one group, fdatasyncs, and advances the
  // committed state; on failure restores the file to the committed length.
  // REQUIRES: flock(LOCK_EX) and caught up.
  absl::Status WriteLocked(const std::vector<std::string*>& entries)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(io_mu_);
  // flock, catch up (and record a cut), write `entries`. Returns the first index.
  absl::StatusOr<uint64_t> LockAndWrite(const std::vector<std::string*>& entries)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(io_mu_);
  void NoteBlock(uint64_t index, uint64_t offset);
  void CheckpointLoop();

  // Checkpoint() without its locks; `state` is where to resume the tiles from.
  absl::StatusOr<std::string> CheckpointFrom(const internal::TileState& state, uint64_t end,
                                             const std::optional<tlog::Checkpoint>& prev,
                                             const std::optional<std::string>& prev_note,
                                             bool* state_mismatch);

  const std::string entries_path_;
  const int fd_;
  tlog::DirTileStore tiles_;

  // The group commit queue: the front writer is the leader, which writes for those behind it.
  absl::Mutex mu_;
  absl::CondVar cv_;
  std::deque<Writer*> writers_ ABSL_GUARDED_BY(mu_);

  // What this process knows to be the log (changed only under the flock, by the leader).
  absl::Mutex io_mu_ ABSL_ACQUIRED_AFTER(mu_);
  uint64_t committed_offset_ ABSL_GUARDED_BY(io_mu_) = kFileHeader.size();
  uint64_t committed_size_ ABSL_GUARDED_BY(io_mu_) = 0;
  // Bytes this process has fdatasync'ed itself: never cut, whatever a later scan finds.
  uint64_t durable_floor_ ABSL_GUARDED_BY(io_mu_) = kFileHeader.size();
  absl::Status broken_ ABSL_GUARDED_BY(io_mu_);
  std::function<absl::Status(std::string_view)> hook_ ABSL_GUARDED_BY(io_mu_);
  std::atomic<uint64_t> size_{0};

  // Offsets of entries 0, 256, 512, ... (checked frames): where Query starts for after_index.
  absl::Mutex index_mu_;
  std::vector<uint64_t> block_offsets_ ABSL_GUARDED_BY(index_mu_);

  absl::Mutex checkpoint_mu_;  // one Checkpoint() at a time in this process

  absl::Mutex thread_mu_;
  bool stop_ ABSL_GUARDED_BY(thread_mu_) = false;
  std::atomic<bool> dirty_{false};  // appended since the last checkpoint
  std::thread thread_;
};

AuditLog::Impl::~Impl() {
  if (thread_.joinable()) {
    {
      absl::MutexLock l(&thread_mu_);
      stop_ = true;
    }
    thread_.join();
  }
  if (writable() && dirty_.load()) {
    if (auto s = Checkpoint(); !s.ok()) {
      base::Log(base::LogLevel::kWarn, "audit.checkpoint_failed",
                {{"dir", opt_.dir}, {"error", std::string(base::View(s.status().message()))}});
    }
  }
  ::close(fd_);
}

void AuditLog::Impl::NoteBlock(uint64_t index, uint64_t offset) {
  if (index % kBundleWidth != 0) return;
  absl::MutexLock l(&index_mu_);
  const uint64_t block = index / kBundleWidth;
  if (block == block_offsets_.size()) block_offsets_.push_back(offset);
}

absl::Status AuditLog::Impl::Init() {
  {
    absl::MutexLock io(&io_mu_);
    FlockGuard lock(fd_, entries_path_);
    RETURN_IF_ERROR(lock.Lock(writable() ? LOCK_EX : LOCK_SH));
    // Start where the tiles are complete (a start without reading the whole log); the state is
    // only a hint: if it does not lead to a clean scan, scan from the file header.
    auto text = base::ReadFile(JoinPath(opt_.dir, internal::kStateFile));
    std::optional<internal::TileState> st;
    if (text.ok()) st = internal::DecodeTileState(*text);
    bool scanned = false;
    if (st) {
      committed_offset_ = st->offset;
      committed_size_ = st->size;
      auto damage = ScanForwardLocked();
      scanned = damage.ok() && !damage->has_value();
    }
    if (!scanned) {
      committed_offset_ = kFileHeader.size();
      committed_size_ = 0;
      if (writable()) {
        std::optional<Event> recovery;
        RETURN_IF_ERROR(CatchUpLocked(&recovery));
        if (recovery) {
          ASSIGN_OR_RETURN(std::string e, EncodeEntry({0, *recovery}));
          RETURN_IF_ERROR(WriteLocked({&e}));
          dirty_ = true;
        }
      } else {
        // A reader never cuts: it sees the log up to the first damaged frame.
        ASSIGN_OR_RETURN(auto damage, ScanForwardLocked());
        (void)damage;
      }
    }
    durable_floor_ = committed_offset_;
    size_.store(committed_size_, std::memory_order_release);
  }
  if (writable()) {
    if (!base::ReadFile(JoinPath(opt_.dir, internal::kCheckpointFile)).ok()) {
      RETURN_IF_ERROR(Checkpoint().status());
    }
    if (opt_.checkpoint_interval_ms > 0) thread_ = std::thread([this] { CheckpointLoop(); });
  }
  return absl::OkStatus();
}

void AuditLog::Impl::CheckpointLoop() {
  for (;;) {
    {
      absl::MutexLock l(&thread_mu_);
      auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(thread_mu_) { return stop_; };
      thread_mu_.AwaitWithTimeout(absl::Condition(&stop),
                                  absl::Milliseconds(opt_.checkpoint_interval_ms));
      if (stop_) return;
    }
    if (!dirty_.load()) continue;
    if (auto s = Checkpoint(); !s.ok()) {
      base::Log(base::LogLevel::kWarn, "audit.checkpoint_failed",
                {{"dir", opt_.dir}, {"error", std::string(base::View(s.status().message()))}});
    }
  }
}

absl::StatusOr<std::optional<AuditLog::Impl::Damage>> AuditLog::Impl::ScanForwardLocked() {
  ASSIGN_OR_RETURN(uint64_t end, FileSize(fd_, entries_path_));
  if (end < committed_offset_) {
    return absl::DataLossError(base::StrCat(
        "audit: ", entries_path_, " is ", end, " bytes, shorter than the ", committed_offset_,
        " bytes of its ", committed_size_, " entries: entries were removed; run `tapvault audit "
        "verify`"));
  }
  FrameReader reader(fd_, entries_path_, committed_offset_, end);
  for (;;) {
    ASSIGN_OR_RETURN(FrameReader::Next n, reader.Read());
    if (n.kind == FrameReader::Kind::kEnd) break;
    if (n.kind != FrameReader::Kind::kFrame) return Damage{n.offset, n.why};
    std::optional<uint64_t> index = internal::PeekIndex(n.entry);
    if (index != committed_size_) {
      return absl::DataLossError(base::StrCat(
          "audit: ", entries_path_, ": the entry at offset ", n.offset, " is not entry ",
          committed_size_, " (it says ", index ? base::StrCat(*index) : std::string("nothing"),
          "); run `tapvault audit verify`"));
    }
    NoteBlock(committed_size_, n.offset);
    committed_offset_ += n.size;
    ++committed_size_;
  }
  size_.store(committed_size_, std::memory_order_release);
  return std::optional<Damage>();
}

absl::Status AuditLog::Impl::CatchUpLocked(std::optional<Event>* recovery) {
  ASSIGN_OR_RETURN(std::optional<Damage> damage, ScanForwardLocked());
  if (!damage) return absl::OkStatus();
  // Before cutting anything, confirm from the file header: everything before the damage must be
  // good frames in index order (the state file or an earlier scan could have been wrong).
  const uint64_t saved_offset = committed_offset_, saved_size = committed_size_;
  committed_offset_ = kFileHeader.size();
  committed_size_ = 0;
  auto again = ScanForwardLocked();
  if (!again.ok()) {
    committed_offset_ = saved_offset;
    committed_size_ = saved_size;
    return again.status();
  }
  if (!again->has_value()) return absl::OkStatus();
  return CutTornTailLocked(**again, recovery);
}

absl::Status AuditLog::Impl::CutTornTailLocked(const Damage& d, std::optional<Event>* recovery) {
  ASSIGN_OR_RETURN(uint64_t end, FileSize(fd_, entries_path_));
  const std::string where = base::StrCat("audit: ", entries_path_, " is damaged at offset ",
                                         d.offset, " after entry ", committed_size_, " (", d.why,
                                         ")");
  // A crash tears at most the group write in flight, never bytes this process made durable.
  if (d.offset < durable_floor_) {
    return absl::DataLossError(base::StrCat(where, ", inside entries already made durable; run "
                                                   "`tapvault audit verify`"));
  }
  if (end - d.offset > kMaxTornBytes) {
    return absl::DataLossError(base::StrCat(where, " with ", end - d.offset,
                                            " bytes after it: not a torn tail; run `tapvault "
                                            "audit verify`"));
  }
  // Nor does it reach back into what a checkpoint has signed.
  auto note = base::ReadFile(JoinPath(opt_.dir, internal::kCheckpointFile));
  if (note.ok()) {
    auto cp = tlog::OpenCheckpoint(*note, vkey_);
    if (cp.ok() && cp->size > committed_size_) {
      return absl::DataLossError(base::StrCat(where, ", inside the ", cp->size,
                                              " entries of the signed checkpoint; run `tapvault "
                                              "audit verify`"));
    }
  }
  // Keep the cut bytes as evidence, durably, before they are gone from the log.
  std::string cut(end - d.offset, '\0');
  ASSIGN_OR_RETURN(size_t got,
                   base::PReadUpTo(fd_, cut.data(), cut.size(), d.offset, entries_path_));
  cut.resize(got);
  const std::string torn_dir = JoinPath(opt_.dir, internal::kTornDir);
  RETURN_IF_ERROR(base::MakeDirs(torn_dir, 0700));
  const std::string saved_as =
      base::StrCat(internal::kTornDir, "/", d.offset, "-", NowUs(), ".bin");
  RETURN_IF_ERROR(base::WriteFileAtomic(JoinPath(opt_.dir, saved_as), cut, 0600));
  if (::ftruncate(fd_, static_cast<off_t>(d.offset)) != 0) {
    return ErrnoStatus(errno, "truncate", entries_path_);
  }
  if (::fdatasync(fd_) != 0) return ErrnoStatus(errno, "fdatasync", entries_path_);
  nlohmann::json detail = {{"event", "torn_tail_cut"},
                           {"offset", d.offset},
                           {"bytes", cut.size()},
                           {"entries_before", committed_size_},
                           {"reason", d.why},
                           {"saved_as", saved_as}};
  base::Log(base::LogLevel::kWarn, "audit.torn_tail_cut", detail);
  *recovery = Event{NowUs(), "system", "system", "audit_recovery", "audit", "ok", detail};
  return absl::OkStatus();
}

absl::Status AuditLog::Impl::WriteLocked(const std::vector<std::string*>& entries) {
  std::string frames;
  size_t total = 0;
  for (const std::string* e : entries) total += e->size() + internal::kFrameOverhead;
  frames.reserve(total);
  std::vector<uint64_t> offsets;
  offsets.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    PatchIndex(*entries[i], committed_size_ + i);
    offsets.push_back(committed_offset_ + frames.size());
    internal::AppendFrame(frames, *entries[i], tlog::LeafHash(base::AsBytes(*entries[i])));
  }
  absl::Status s = Hook("write");
  if (s.ok()) s = base::PWriteAll(fd_, frames, committed_offset_, entries_path_);
  if (s.ok()) s = Hook("sync");
  if (s.ok() && ::fdatasync(fd_) != 0) s = ErrnoStatus(errno, "fdatasync", entries_path_);
  if (!s.ok()) {
    // Nothing of this group may stay: a later scan would count it, although its callers were
    // told it failed (and refused their actions). After a failed fdatasync the page cache is
    // not to be trusted, so cut back and sync again; if even that fails, stop appending.
    if (::ftruncate(fd_, static_cast<off_t>(committed_offset_)) != 0 || ::fdatasync(fd_) != 0) {
      broken_ = absl::InternalError(base::StrCat(
          "audit: ", entries_path_, " could not be restored after a failed append (",
          base::View(s.message()), "); reopen the log"));
      base::Log(base::LogLevel::kError, "audit.broken",
                {{"dir", opt_.dir}, {"error", std::string(base::View(broken_.message()))}});
    }
    return s;
  }
  for (size_t i = 0; i < entries.size(); ++i) NoteBlock(committed_size_ + i, offsets[i]);
  committed_offset_ += frames.size();
  committed_size_ += entries.size();
  durable_floor_ = committed_offset_;
  size_.store(committed_size_, std::memory_order_release);
  dirty_ = true;
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> AuditLog::Impl::LockAndWrite(const std::vector<std::string*>& entries) {
  RETURN_IF_ERROR(broken_);
  FlockGuard lock(fd_, entries_path_);
  RETURN_IF_ERROR(lock.Lock(LOCK_EX));
  std::optional<Event> recovery;
  RETURN_IF_ERROR(CatchUpLocked(&recovery));
  if (recovery) {
    ASSIGN_OR_RETURN(std::string e, EncodeEntry({0, *recovery}));
    RETURN_IF_ERROR(WriteLocked({&e}));
  }
  const uint64_t first = committed_size_;
  RETURN_IF_ERROR(WriteLocked(entries));
  return first;
}

absl::StatusOr<uint64_t> AuditLog::Impl::Append(const Event& event) {
  if (!writable()) {
    return absl::FailedPreconditionError("audit: the log was opened read-only (no signer)");
  }
  Writer w;
  {
    Entry entry{0, event};
    if (entry.event.at_us == 0) entry.event.at_us = NowUs();
    ASSIGN_OR_RETURN(w.entry, EncodeEntry(entry));
  }
  mu_.Lock();
  writers_.push_back(&w);
  while (!w.done && writers_.front() != &w) cv_.Wait(&mu_);
  if (w.done) {
    mu_.Unlock();
    if (!w.status.ok()) return w.status;
    return w.index;
  }
  // The leader: write for every writer queued so far, up to one group's size.
  std::vector<Writer*> group;
  std::vector<std::string*> entries;
  size_t bytes = 0;
  for (Writer* x : writers_) {
    const size_t framed = x->entry.size() + internal::kFrameOverhead;
    if (!group.empty() && (group.size() == kMaxGroupEntries || bytes + framed > kMaxGroupBytes)) {
      break;
    }
    group.push_back(x);
    entries.push_back(&x->entry);
    bytes += framed;
  }
  mu_.Unlock();
  absl::StatusOr<uint64_t> first;
  {
    absl::MutexLock io(&io_mu_);
    first = LockAndWrite(entries);
  }
  mu_.Lock();
  for (size_t i = 0; i < group.size(); ++i) {
    Writer* x = group[i];
    x->status = first.status();
    x->index = first.ok() ? *first + i : 0;
    x->done = true;
    writers_.pop_front();
  }
  cv_.SignalAll();
  mu_.Unlock();
  if (!w.status.ok()) return w.status;
  return w.index;
}

// --- checkpoints -------------------------------------------------------------------------------

absl::StatusOr<std::string> AuditLog::Impl::Checkpoint() {
  if (!writable()) {
    return absl::FailedPreconditionError("audit: the log was opened read-only (no signer)");
  }
  absl::MutexLock cl(&checkpoint_mu_);
  // One checkpoint writer across processes: a slower one must not put an older checkpoint back.
  const std::string lock_path = JoinPath(opt_.dir, internal::kCheckpointLockFile);
  ScopedFd lock_fd(::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (lock_fd.get() < 0) return ErrnoStatus(errno, "open", lock_path);
  FlockGuard cp_lock(lock_fd.get(), lock_path);
  RETURN_IF_ERROR(cp_lock.Lock(LOCK_EX));
  dirty_ = false;  // appends from now on need another checkpoint

  // The end of the log now, made durable: nothing not on disk gets signed. Caught up under the
  // append lock (a torn tail cut and recorded first), every frame before `end` is complete and
  // valid, so nothing can cut or rewrite that range while it is read below without the lock.
  uint64_t end;
  {
    absl::MutexLock io(&io_mu_);
    RETURN_IF_ERROR(broken_);
    FlockGuard lock(fd_, entries_path_);
    RETURN_IF_ERROR(lock.Lock(LOCK_EX));
    std::optional<Event> recovery;
    RETURN_IF_ERROR(CatchUpLocked(&recovery));
    if (recovery) {
      ASSIGN_OR_RETURN(std::string e, EncodeEntry({0, *recovery}));
      RETURN_IF_ERROR(WriteLocked({&e}));
    }
    if (::fdatasync(fd_) != 0) return ErrnoStatus(errno, "fdatasync", entries_path_);
    end = committed_offset_;
  }

  std::optional<tlog::Checkpoint> prev;
  std::optional<std::string> prev_note;
  auto note = base::ReadFile(JoinPath(opt_.dir, internal::kCheckpointFile));
  if (note.ok()) {
    auto cp = tlog::OpenCheckpoint(*note, vkey_);
    if (!cp.ok()) {
      return absl::DataLossError(base::StrCat("audit: ", opt_.dir, "/checkpoint is not a valid "
                                              "checkpoint of this log (",
                                              base::View(cp.status().message()),
                                              "); run `tapvault audit verify`"));
    }
    prev = std::move(*cp);
    prev_note = std::move(*note);
  } else if (!absl::IsNotFound(note.status())) {
    return note.status();
  }
  internal::TileState state;
  if (auto text = base::ReadFile(JoinPath(opt_.dir, internal::kStateFile)); text.ok()) {
    if (auto st = internal::DecodeTileState(*text)) state = *st;
  }
  // A state beyond the signed checkpoint was not written by a checkpoint of this log: rebuild.
  if (prev && state.size > prev->size) state = internal::TileState{};
  bool mismatch = false;
  auto result = CheckpointFrom(state, end, prev, prev_note, &mismatch);
  if (mismatch) result = CheckpointFrom(internal::TileState{}, end, prev, prev_note, &mismatch);
  if (!result.ok()) dirty_ = true;
  return result;
}

absl::StatusOr<std::string> AuditLog::Impl::CheckpointFrom(
    const internal::TileState& state, uint64_t end, const std::optional<tlog::Checkpoint>& prev,
    const std::optional<std::string>& prev_note, bool* state_mismatch) {
  *state_mismatch = false;
  tlog::TreeBuilder tree;
  if (state.size > 0) {
    auto resumed = tlog::TreeBuilder::Resume(state.size, base::AsBytes(state.edge));
    if (!resumed.ok()) {
      *state_mismatch = true;
      return resumed.status();
    }
    tree = std::move(*resumed);
  }
  // The entries of the partial bundle the state ends in are read again for that bundle.
  uint64_t index = state.size - state.size % kBundleWidth;
  uint64_t bundle_offset = state.bundle_offset;
  std::vector<std::string> bundle;
  std::vector<tlog::TreeBuilder::FullTile> completed;
  TileWrites writes(opt_.dir, tiles_);
  FrameReader reader(fd_, entries_path_, state.bundle_offset, end);
  uint64_t offset = state.bundle_offset;
  for (;;) {
    ASSIGN_OR_RETURN(FrameReader::Next n, reader.Read());
    if (n.kind == FrameReader::Kind::kEnd) break;
    if (n.kind != FrameReader::Kind::kFrame) {
      // Caught up to `end` under the lock: damage here is a change behind the log's back.
      return absl::DataLossError(base::StrCat("audit: ", entries_path_, " is damaged at offset ",
                                              n.offset, " (", n.why, "); run `tapvault audit "
                                              "verify`"));
    }
    if (internal::PeekIndex(n.entry) != index) {
      if (state.size > 0) {
        *state_mismatch = true;
        return absl::DataLossError("audit: the state file does not match entries.log");
      }
      return absl::DataLossError(base::StrCat("audit: ", entries_path_, ": the entry at offset ",
                                              n.offset, " is not entry ", index,
                                              "; run `tapvault audit verify`"));
    }
    if (index % kBundleWidth == 0) bundle_offset = n.offset;
    bundle.emplace_back(n.entry);
    if (index >= state.size) {
      completed.clear();
      tree.Append(n.leaf_hash, &completed);
      for (const auto& t : completed) {
        RETURN_IF_ERROR(writes.Tile(t.level, t.index, kBundleWidth, t.hashes));
      }
      if (bundle.size() == kBundleWidth) {
        ASSIGN_OR_RETURN(std::string encoded, tlog::EncodeEntryBundle(bundle));
        RETURN_IF_ERROR(writes.Entries(index / kBundleWidth, kBundleWidth, encoded));
        bundle.clear();
      }
      // Never sign a log that does not extend the last checkpoint.
      if (prev && tree.size() == prev->size && tree.Root() != prev->root) {
        return absl::DataLossError(base::StrCat(
            "audit: the first ", prev->size, " entries no longer give the root of the signed "
            "checkpoint: refusing to sign; run `tapvault audit verify`"));
      }
    }
    ++index;
    offset = n.offset + n.size;
  }
  if (bundle.empty() && index % kBundleWidth == 0) bundle_offset = offset;
  const uint64_t size = tree.size();
  if (size < state.size) {
    *state_mismatch = true;
    return absl::DataLossError("audit: entries.log is shorter than the state file says");
  }
  if (prev && size < prev->size) {
    return absl::DataLossError(base::StrCat("audit: the log has ", size,
                                            " entries, fewer than its signed checkpoint (",
                                            prev->size, "); run `tapvault audit verify`"));
  }
  if (prev && size == prev->size && state.size == size) return *prev_note;

  for (const auto& t : tree.PartialTiles()) {
    RETURN_IF_ERROR(writes.Tile(t.level, t.index, t.hashes.size() / 32, t.hashes));
  }
  if (!bundle.empty()) {
    ASSIGN_OR_RETURN(std::string encoded, tlog::EncodeEntryBundle(bundle));
    RETURN_IF_ERROR(writes.Entries(size / kBundleWidth, bundle.size(), encoded));
  }
  RETURN_IF_ERROR(writes.Sync());
  writes.RemoveSuperseded();
  std::string signed_note;
  if (prev && size == prev->size) {
    signed_note = *prev_note;
  } else {
    tlog::Checkpoint cp{origin_, size, tree.Root(), {}};
    ASSIGN_OR_RETURN(signed_note, tlog::SignNote(tlog::CheckpointBody(cp), origin_, *opt_.signer));
    RETURN_IF_ERROR(base::WriteFileAtomic(JoinPath(opt_.dir, internal::kCheckpointFile),
                                              signed_note, 0644));
  }
  internal::TileState next;
  next.size = size;
  next.offset = offset;
  next.bundle_offset = bundle_offset;
  next.edge = tree.EncodeEdge();
  RETURN_IF_ERROR(base::WriteFileAtomic(JoinPath(opt_.dir, internal::kStateFile),
                                            internal::EncodeTileState(next), 0644));
  return signed_note;
}

// --- queries -------------------------------------------------------------------------------------

absl::StatusOr<std::vector<Entry>> AuditLog::Impl::Query(const audit::Query& q) {
  std::optional<absl::TimeZone> tz;
  if (q.outside_office_hours) {
    const OfficeHours& h = *q.outside_office_hours;
    if (h.start_minute < 0 || h.end_minute > 24 * 60 || h.start_minute > h.end_minute) {
      return absl::InvalidArgumentError("audit: office hours must be 00:00 <= start <= end <= 24:00");
    }
    ASSIGN_OR_RETURN(tz, LoadZone(h.time_zone));
  }
  uint64_t end;
  {
    // With the lock shared, no append is half-way: `end` is a frame boundary (or a torn tail).
    // flock() belongs to the open file, which this process's appender shares: io_mu_ keeps the
    // two from converting or releasing each other's lock.
    absl::MutexLock io(&io_mu_);
    FlockGuard lock(fd_, entries_path_);
    RETURN_IF_ERROR(lock.Lock(LOCK_SH));
    ASSIGN_OR_RETURN(end, FileSize(fd_, entries_path_));
  }
  uint64_t index = 0, start = kFileHeader.size();
  if (q.after_index) {
    const uint64_t want_block = (*q.after_index + 1) / kBundleWidth;
    absl::MutexLock l(&index_mu_);
    if (!block_offsets_.empty()) {
      const uint64_t block = std::min<uint64_t>(want_block, block_offsets_.size() - 1);
      index = block * kBundleWidth;
      start = block_offsets_[block];
    }
  }
  std::vector<Entry> out;
  FrameReader reader(fd_, entries_path_, start, end);
  for (;; ++index) {
    ASSIGN_OR_RETURN(FrameReader::Next n, reader.Read());
    if (n.kind == FrameReader::Kind::kEnd) break;
    if (n.kind != FrameReader::Kind::kFrame) {
      if (end - n.offset > kMaxTornBytes) {
        return absl::DataLossError(base::StrCat("audit: ", entries_path_, " is damaged at offset ",
                                                n.offset, " after entry ", index, " (", n.why,
                                                "); run `tapvault audit verify`"));
      }
      break;  // a torn tail is not part of the log
    }
    if (internal::PeekIndex(n.entry) != index) {
      return absl::DataLossError(base::StrCat("audit: ", entries_path_, ": the entry at offset ",
                                              n.offset, " is not entry ", index,
                                              "; run `tapvault audit verify`"));
    }
    NoteBlock(index, n.offset);
    if (q.after_index && index <= *q.after_index) continue;
    std::optional<EntryView> v = ViewEntry(n.entry);
    if (!v) {
      return absl::DataLossError(
          base::StrCat("audit: entry ", index, " is malformed; run `tapvault audit verify`"));
    }
    if (q.actor && v->actor != *q.actor) continue;
    if (!q.actions.empty() &&
        std::find(q.actions.begin(), q.actions.end(), v->action) == q.actions.end()) {
      continue;
    }
    if (q.object) {
      if (q.object_prefix ? !v->object.starts_with(*q.object) : v->object != *q.object) continue;
    }
    if (q.outcome && v->outcome != *q.outcome) continue;
    if (q.from_us && v->at_us < *q.from_us) continue;
    if (q.to_us && v->at_us >= *q.to_us) continue;
    if (tz && !OutsideOfficeHours(v->at_us, *q.outside_office_hours, *tz)) continue;
    if (!ContainsIgnoreCase(v->detail, q.contains)) continue;
    auto decoded = DecodeEntry(base::AsBytes(n.entry));
    if (!decoded.ok()) {
      return absl::DataLossError(base::StrCat("audit: entry ", index, ": ",
                                              base::View(decoded.status().message()),
                                              "; run `tapvault audit verify`"));
    }
    out.push_back(std::move(*decoded));
    if (q.limit != 0 && out.size() >= q.limit) break;
  }
  return out;
}

// --- open ----------------------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const OpenOptions& options, bool create) {
  if (options.dir.empty()) return absl::InvalidArgumentError("audit: no log directory given");
  const bool writable = options.signer != nullptr;
  if (create && !writable) {
    return absl::InvalidArgumentError("audit: creating a log needs its signing key");
  }
  if (!options.origin.empty() && !ValidKeyName(options.origin)) {
    return absl::InvalidArgumentError(
        base::StrCat("audit: bad origin \"", options.origin, "\" (no spaces, no '+')"));
  }
  const std::string& dir = options.dir;
  const std::string entries = JoinPath(dir, internal::kEntriesFile);
  if (create) RETURN_IF_ERROR(base::MakeDirs(dir, 0700));

  // The verifier key first: it names the log (its origin) and proves the signer is its key.
  const std::string vkey_path = JoinPath(dir, internal::kVerifierKeyFile);
  std::string origin, vkey;
  auto stored = base::ReadFile(vkey_path);
  if (stored.ok()) {
    vkey = TrimLine(*stored);
    ASSIGN_OR_RETURN(tlog::ParsedVerifierKey parsed, tlog::ParseVerifierKey(vkey));
    origin = parsed.name;
    if (!options.origin.empty() && options.origin != origin) {
      return absl::InvalidArgumentError(base::StrCat("audit: the log in ", dir, " is \"", origin,
                                                     "\", not \"", options.origin, "\""));
    }
    if (writable && options.signer->PublicKey() != parsed.public_key) {
      return absl::FailedPreconditionError(
          base::StrCat("audit: the signing key is not the key of ", vkey_path));
    }
  } else if (!absl::IsNotFound(stored.status())) {
    return stored.status();
  }

  struct stat st;
  if (::stat(entries.c_str(), &st) != 0) {
    if (errno != ENOENT) return ErrnoStatus(errno, "stat", entries);
    if (!create) return absl::NotFoundError(base::StrCat("audit: no audit log in ", dir));
    // Create with its header; a concurrent creator may win the race (EEXIST): use its file.
    int cfd = ::open(entries.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (cfd >= 0) {
      absl::Status s = base::PWriteAll(cfd, kFileHeader, 0, entries);
      if (s.ok() && ::fsync(cfd) != 0) s = ErrnoStatus(errno, "fsync", entries);
      ::close(cfd);
      RETURN_IF_ERROR(s);
      RETURN_IF_ERROR(base::SyncDir(dir));
    } else if (errno != EEXIST) {
      return ErrnoStatus(errno, "create", entries);
    }
  }
  if (vkey.empty() && writable) {
    origin = options.origin;
    if (origin.empty()) {
      origin = "tapvault.local/audit/" + base::ToHex(base::AsBytes(crypto::RandomBytes(6)));
    }
    vkey = tlog::VerifierKey(origin, options.signer->PublicKey());
    RETURN_IF_ERROR(base::WriteFileAtomic(vkey_path, vkey + "\n", 0644));
  }

  int fd = ::open(entries.c_str(), (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "open", entries);
  auto impl = std::make_unique<Impl>(options, origin, vkey, fd);  // owns fd from here
  {
    // The file header (a creator that crashed may have left fewer than 8 bytes).
    FlockGuard lock(fd, entries);
    RETURN_IF_ERROR(lock.Lock(writable ? LOCK_EX : LOCK_SH));
    std::string head(kFileHeader.size(), '\0');
    ASSIGN_OR_RETURN(size_t got, base::PReadUpTo(fd, head.data(), head.size(), 0, entries));
    head.resize(got);
    if (head != kFileHeader) {
      if (writable && got < kFileHeader.size() && kFileHeader.substr(0, got) == head) {
        RETURN_IF_ERROR(base::PWriteAll(fd, kFileHeader, 0, entries));
        if (::fsync(fd) != 0) return ErrnoStatus(errno, "fsync", entries);
      } else {
        return absl::FailedPreconditionError(
            base::StrCat("audit: ", entries, " is not an audit log (bad file header)"));
      }
    }
  }
  RETURN_IF_ERROR(impl->Init());
  return std::unique_ptr<AuditLog>(new AuditLog(std::move(impl)));
}

AuditLog::AuditLog(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AuditLog::~AuditLog() = default;

absl::StatusOr<uint64_t> AuditLog::Append(const Event& event) { return impl_->Append(event); }
absl::StatusOr<std::string> AuditLog::Checkpoint() { return impl_->Checkpoint(); }
absl::StatusOr<std::vector<Entry>> AuditLog::Query(const audit::Query& query) {
  return impl_->Query(query);
}
uint64_t AuditLog::Size() const { return impl_->Size(); }
const std::string& AuditLog::origin() const { return impl_->origin_; }
const std::string& AuditLog::dir() const { return impl_->opt_.dir; }
const std::string& AuditLog::verifier_key() const { return impl_->vkey_; }
void AuditLog::SetFaultHookForTest(std::function<absl::Status(std::string_view)> hook) {
  impl_->SetHook(std::move(hook));
}

}  // namespace tapvault::audit
