#include "store/verify.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <optional>
#include <queue>
#include <set>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "base/hex.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "nlohmann/json.hpp"
#include "store/catalog.h"
#include "base/file_util.h"
#include "store/record_format.h"
#include "store/segment_store.h"
#include "store/store.h"
#include "tlog/dir_tile_store.h"
#include "tlog/merkle.h"
#include "tlog/note.h"
#include "tlog/tiles.h"

namespace tapvault::store {
namespace {

using base::JoinPath;

constexpr size_t kMaxChunkBytes = 4u << 20;    // per segment reader, when few segments
constexpr size_t kMinChunkBytes = 64u << 10;   // per segment reader, when very many
constexpr size_t kReadBudgetBytes = 256u << 20;  // all readers' chunks together, roughly
constexpr size_t kGcmTagBytes = 16;            // AES-GCM tag at the end of a PDU body
constexpr uint64_t kTileWidth = tlog::kTileWidth;

std::string HexOf(const tlog::Hash& h) {
  return base::ToHex(std::span<const std::byte>(reinterpret_cast<const std::byte*>(h.data()), h.size()));
}
std::string HexOf(std::string_view s) { return base::ToHex(base::AsBytes(s)); }

std::string Quote(std::string_view s) { return nlohmann::json(std::string(s)).dump(); }

std::string RecordName(uint64_t leaf, uint64_t segment, std::string_view path, uint64_t offset) {
  return base::StrCat("record leaf ", leaf, " (segment ", segment, " ", path, " offset ", offset,
                      ")");
}

uint64_t BigEndian(const char* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

// Reads one segment file's records in file order through a bounded buffer (one chunk, or one
// record if a record is larger). Problems it sees in a record (misplaced, foreign, out of order)
// are kept with that record, so that the merge reports them in leaf order.
class SegmentReader {
 public:
  // Reads records from `start` up to `limit` (the committed length); `file_size` bounds reads.
  SegmentReader(uint64_t segment_id, std::string liid, std::string rel_path, SegmentStore* segments,
                uint64_t start, uint64_t limit, uint64_t file_size, size_t chunk)
      : segment_id_(segment_id),
        liid_(std::move(liid)),
        rel_(std::move(rel_path)),
        segments_(segments),
        pos_(start),
        limit_(limit),
        file_size_(file_size),
        chunk_(chunk) {}

  // Moves to the next record. False at the end (or on a read error, kept in pending()).
  bool Advance();

  const ParsedRecord& record() const { return rec_; }
  uint64_t offset() const { return rec_offset_; }
  uint64_t segment_id() const { return segment_id_; }
  const std::string& rel_path() const { return rel_; }
  // Problems found while reading up to the current record (owned by the caller once taken).
  std::vector<std::string>& pending() { return pending_; }
  uint64_t bytes_read() const { return bytes_read_; }
  uint64_t records() const { return records_; }
  std::string Name() const {
    return RecordName(rec_.header.leaf_index, segment_id_, rel_, rec_offset_);
  }

 private:
  // Makes [at, at + n) available in buf_. False if the file ends first (or cannot be read).
  bool Ensure(uint64_t at, uint64_t n);
  const char* At(uint64_t at) const { return buf_.data() + (at - buf_start_); }
  // Frame at `at` as far as its lengths: true if they are plausible.
  bool PlausibleFrame(uint64_t at, uint64_t* total);
  void CheckRecord();

  uint64_t segment_id_;
  std::string liid_;
  std::string rel_;
  SegmentStore* segments_;
  uint64_t pos_;
  uint64_t limit_;
  uint64_t file_size_;
  size_t chunk_;

  std::string buf_;
  uint64_t buf_start_ = 0;   // file offset of buf_[0]
  bool read_failed_ = false;

  ParsedRecord rec_;
  uint64_t rec_offset_ = 0;
  int64_t offset_delta_ = 0;          // actual - claimed offset of the last record
  std::optional<uint64_t> prev_leaf_;
  std::vector<std::string> pending_;
  uint64_t bytes_read_ = 0;
  uint64_t records_ = 0;
};

bool SegmentReader::Ensure(uint64_t at, uint64_t n) {
  if (read_failed_) return false;
  if (at >= buf_start_ && at + n <= buf_start_ + buf_.size()) return true;
  if (at + n > file_size_) return false;
  // Keep nothing before `at`: records are read forwards only.
  if (at >= buf_start_ && at < buf_start_ + buf_.size()) {
    buf_.erase(0, at - buf_start_);
  } else {
    buf_.clear();
  }
  buf_start_ = at;
  const uint64_t have_end = buf_start_ + buf_.size();
  const uint64_t want_end = std::min<uint64_t>(file_size_, std::max<uint64_t>(at + n, at + chunk_));
  const size_t old = buf_.size();
  buf_.resize(want_end - buf_start_);
  absl::Status s = segments_->Read(rel_, have_end, want_end - have_end, buf_.data() + old);
  if (!s.ok()) {
    read_failed_ = true;
    pending_.push_back(base::StrCat("segment ", segment_id_, " ", rel_, ": cannot read at offset ",
                                    have_end, ": ", base::View(s.message())));
    buf_.resize(old);
    return false;
  }
  bytes_read_ += want_end - have_end;
  return true;
}

bool SegmentReader::PlausibleFrame(uint64_t at, uint64_t* total) {
  if (!Ensure(at, kRecordFrameBytes)) return false;
  const char* p = At(at);
  if (BigEndian(p, 4) != kRecordMagic) return false;
  const uint64_t header_len = BigEndian(p + 4, 4), body_len = BigEndian(p + 8, 4);
  if (header_len > kMaxRecordHeaderBytes || body_len > kMaxRecordBodyBytes) return false;
  *total = kRecordFrameBytes + header_len + body_len;
  return true;
}

bool SegmentReader::Advance() {
  while (pos_ < limit_) {
    uint64_t total = 0;
    bool frame = PlausibleFrame(pos_, &total);
    if (frame && !Ensure(pos_, total)) return false;  // cut by the end of the file (see caller)
    absl::StatusOr<ParsedRecord> parsed = absl::DataLossError("not a record frame");
    if (frame) {
      parsed = ParseRecord(base::AsBytes(std::string_view(At(pos_), total)));
    } else if (read_failed_ || pos_ + kRecordFrameBytes > file_size_) {
      return false;
    }
    if (parsed.ok()) {
      rec_ = std::move(*parsed);
      rec_offset_ = pos_;
      pos_ += rec_.framed_size;
      ++records_;
      if (rec_offset_ + rec_.framed_size > limit_) {
        pending_.push_back(base::StrCat(Name(), " runs past the segment's committed length (",
                                        limit_, " bytes)"));
      }
      CheckRecord();
      return true;
    }
    // Garbage: skip to the next offset that parses as a record of this segment.
    const uint64_t bad = pos_;
    uint64_t next = bad + 1;
    for (; next + kRecordFrameBytes <= limit_; ++next) {
      uint64_t t = 0;
      if (!PlausibleFrame(next, &t)) {
        if (read_failed_) return false;
        continue;
      }
      if (!Ensure(next, t)) continue;
      auto r = ParseRecord(base::AsBytes(std::string_view(At(next), t)));
      if (r.ok() && r->header.segment_id == segment_id_) break;
    }
    if (next + kRecordFrameBytes > limit_) next = limit_;
    pending_.push_back(base::StrCat("segment ", segment_id_, " ", rel_, ": ", next - bad,
                                    " bytes at offset ", bad, " are not a valid record (",
                                    base::View(parsed.status().message()), ")"));
    pos_ = next;
  }
  return false;
}

void SegmentReader::CheckRecord() {
  const RecordHeader& h = rec_.header;
  if (h.segment_id != segment_id_) {
    pending_.push_back(base::StrCat(Name(), " belongs to segment ", h.segment_id,
                                    " by its header: moved from another segment"));
  }
  // Everything after an inserted or removed record is shifted as well: report only the record
  // where the shift starts (or changes).
  const int64_t delta = static_cast<int64_t>(rec_offset_) - static_cast<int64_t>(h.segment_offset);
  if (delta != offset_delta_ && delta != 0) {
    pending_.push_back(base::StrCat(
        Name(), " is out of place: its header says offset ", h.segment_offset,
        delta > 0 ? " (bytes inserted before it" : " (bytes removed before it",
        ", or records reordered)"));
  }
  offset_delta_ = delta;
  if (h.liid != liid_) {
    pending_.push_back(base::StrCat(Name(), " belongs to case ", Quote(h.liid),
                                    ", the segment to case ", Quote(liid_)));
  }
  // (An equal leaf is a copy: the merge reports it as inserted.)
  if (prev_leaf_ && h.leaf_index < *prev_leaf_) {
    pending_.push_back(base::StrCat(Name(), " is out of order: it follows leaf ", *prev_leaf_,
                                    " in its segment"));
  }
  prev_leaf_ = h.leaf_index;
  if (h.type == RecordType::kPdu) {
    if (h.key_id == 0 || h.comm_id == 0 || h.handover > 1 || rec_.body.size() < kGcmTagBytes) {
      pending_.push_back(base::StrCat(Name(), " is a malformed PDU record (key ", h.key_id,
                                      ", communication ", h.comm_id, ", handover ", h.handover,
                                      ", body ", rec_.body.size(), " bytes)"));
    }
    // A copy kept by a range destruction comes after its original.
    if (h.rewritten_from && *h.rewritten_from >= h.leaf_index) {
      pending_.push_back(base::StrCat(Name(), " claims to be a copy of leaf ", *h.rewritten_from,
                                      ", which is not an earlier record"));
    }
  } else {
    if (h.key_id != 0 || h.comm_id != 0 || !h.liid.empty() || h.kind < 1 || h.kind > 3 ||
        h.rewritten_from) {
      pending_.push_back(base::StrCat(Name(), " is a malformed system record (kind ", h.kind,
                                      ", key ", h.key_id, ")"));
    }
  }
}

// The level-0 tile and entry bundle around the current leaf, loaded once per 256 leaves.
class LogFiles {
 public:
  // Tiles and bundles past `signed_size` (the latest checkpoint) may not be written yet: serve
  // writes them at the next checkpoint, and recovery rebuilds them after a crash. Their absence
  // is a note, not a problem; their leaves are still checked against the catalog's root.
  LogFiles(tlog::DirTileStore& tiles, uint64_t size, uint64_t signed_size,
           std::vector<std::string>& problems_out, std::vector<std::string>& notes_out)
      : tiles_(tiles), size_(size), signed_size_(signed_size), problems_(problems_out),
        notes_(notes_out) {}

  // The stored leaf hash of `leaf` (nullopt if its tile is missing or damaged: reported once).
  std::optional<tlog::Hash> LeafHash(uint64_t leaf) {
    Load(leaf / kTileWidth);
    const size_t i = leaf % kTileWidth;
    if (!tile_ok_ || (i + 1) * 32 > tile_.size()) return std::nullopt;
    tlog::Hash h;
    std::memcpy(h.data(), tile_.data() + i * 32, 32);
    return h;
  }
  // The stored entry of `leaf` (nullptr if its bundle is missing or damaged: reported once).
  const std::string* Entry(uint64_t leaf) {
    Load(leaf / kTileWidth);
    const size_t i = leaf % kTileWidth;
    if (!bundle_ok_ || i >= bundle_.size()) return nullptr;
    return &bundle_[i];
  }
  uint64_t Width(uint64_t index) const {
    return std::min<uint64_t>(kTileWidth, size_ - index * kTileWidth);
  }

 private:
  void Load(uint64_t index) {
    if (loaded_ == index) return;
    loaded_ = index;
    const uint64_t width = Width(index);
    auto t = tiles_.ReadTile(0, index, width);
    tile_ok_ = t.ok();
    const bool unsigned_yet = index * kTileWidth + width > signed_size_;
    if (t.ok()) {
      tile_ = std::move(*t);
    } else if (absl::IsNotFound(t.status()) && unsigned_yet) {
      notes_.push_back(base::StrCat("tile ", tlog::TilePath(0, index, width),
                                    " not written yet (after the latest checkpoint, size ",
                                    signed_size_, ")"));
    } else {
      problems_.push_back(base::StrCat("tile ", tlog::TilePath(0, index, width),
                                       absl::IsNotFound(t.status()) ? " is missing" : " is unreadable: ",
                                       absl::IsNotFound(t.status()) ? "" : base::View(t.status().message())));
    }
    auto b = tiles_.ReadEntries(index, width);
    absl::StatusOr<std::vector<std::string>> entries =
        b.ok() ? tlog::DecodeEntryBundle(base::AsBytes(*b))
               : absl::StatusOr<std::vector<std::string>>(b.status());
    bundle_ok_ = entries.ok() && entries->size() >= width;
    if (bundle_ok_) {
      bundle_ = std::move(*entries);
    } else if (absl::IsNotFound(b.status()) && unsigned_yet) {
      notes_.push_back(base::StrCat("entry bundle ", tlog::EntriesPath(index, width),
                                    " not written yet (after the latest checkpoint, size ",
                                    signed_size_, ")"));
    } else {
      problems_.push_back(base::StrCat(
          "entry bundle ", tlog::EntriesPath(index, width),
          absl::IsNotFound(b.status()) ? " is missing"
                                       : base::StrCat(" is unreadable: ",
                                                      entries.ok() ? "too few entries"
                                                                   : base::View(entries.status().message()))));
    }
  }

  tlog::DirTileStore& tiles_;
  uint64_t size_;
  uint64_t signed_size_;
  std::vector<std::string>& problems_;
  std::vector<std::string>& notes_;
  std::optional<uint64_t> loaded_;
  std::string tile_;
  bool tile_ok_ = false;
  std::vector<std::string> bundle_;
  bool bundle_ok_ = false;
};

// What the segments hold for one data key (compared with its slice row).
struct SliceAgg {
  uint64_t comm_id = 0, segment_id = 0;
  std::set<uint64_t> other_segments;
  uint64_t first_leaf = UINT64_MAX, last_leaf = 0;
  uint64_t first_offset = UINT64_MAX, end_offset = 0;
  uint64_t records = 0, bytes = 0;
  uint64_t copies = 0;        // records with rewritten_from (a slice holds only copies or none)
  int64_t start_us = INT64_MAX, end_us = INT64_MIN;
  std::string first_record;   // name of its first record, for messages
};

struct Checkpointed {
  std::string label;          // "checkpoint <path>"
  tlog::Checkpoint cp;
  bool earlier = false;       // --checkpoint FILE (else DIR/log/checkpoint)
  std::optional<tlog::Hash> root_at_size;  // recomputed root when the tree had cp.size leaves
};

class Verifier {
 public:
  explicit Verifier(const VerifyOptions& options)
      : opt_(options), tiles_(LogDir(options.dir)), segments_(NewFileSegmentStore(options.dir)) {}
  absl::StatusOr<VerifyReport> Run();

 private:
  void Problem(std::string p) {
    if (r_.problems.size() < VerifyReport::kMaxKept) {
      r_.problems.push_back(std::move(p));
    } else {
      ++r_.more_problems;
    }
  }
  void Note(std::string n) {
    if (r_.notes.size() < VerifyReport::kMaxKept) r_.notes.push_back(std::move(n));
  }
  void FlushLogProblems() {
    for (std::string& p : log_problems_) Problem(std::move(p));
    log_problems_.clear();
    for (std::string& n : log_notes_) Note(std::move(n));
    log_notes_.clear();
  }
  void LoadVerifierKey();
  std::optional<tlog::Checkpoint> OpenCheckpointFile(const std::string& path,
                                                     const std::string& label);
  absl::Status OpenSegments();
  void Merge();
  void AppendLeaf(const tlog::Hash& h);
  void Missing(uint64_t leaf);
  void Record(SegmentReader& reader);
  void CheckRoots();
  absl::Status CheckIndex();
  void StrayFiles();

  const VerifyOptions& opt_;
  VerifyReport r_;
  std::unique_ptr<SqliteCatalog> catalog_;
  tlog::DirTileStore tiles_;
  std::string vkey_;
  LogState log_;
  std::vector<SegmentRow> rows_;
  absl::flat_hash_map<uint64_t, std::string> paths_;   // segment id -> relative path
  std::vector<std::unique_ptr<SegmentReader>> readers_;
  std::unique_ptr<SegmentStore> segments_;
  std::vector<std::string> log_problems_;   // from LogFiles, moved into problems in order
  std::vector<std::string> log_notes_;
  // A missing higher-level tile past the latest checkpoint is a note (see LogFiles).
  bool UnsignedYet(int level, uint64_t index, uint64_t width) const {
    const unsigned __int128 end = (static_cast<unsigned __int128>(index) * kTileWidth + width)
                                  << (8 * level);
    return end > r_.checkpoint_size;
  }
  void MissingTile(int level, uint64_t index, uint64_t width, const absl::Status& st) {
    const std::string path = tlog::TilePath(level, index, width);
    if (absl::IsNotFound(st) && UnsignedYet(level, index, width)) {
      Note(base::StrCat("tile ", path, " not written yet (after the latest checkpoint, size ",
                        r_.checkpoint_size, ")"));
    } else {
      Problem(base::StrCat("tile ", path, absl::IsNotFound(st) ? " is missing" : " is unreadable"));
    }
  }
  std::optional<LogFiles> files_;
  tlog::TreeBuilder tree_;
  uint64_t next_leaf_ = 0;
  std::optional<uint64_t> last_leaf_;
  std::string last_leaf_name_;
  absl::flat_hash_set<uint64_t> reported_missing_;
  std::vector<Checkpointed> checkpoints_;
  // A short segment: its problem (at problems[index]) names its first missing record once known.
  struct Short {
    size_t index;
    uint64_t segment_id;
    std::string rel_path;
    std::string message;
    bool named = false;
  };
  std::vector<Short> shorts_;
  absl::flat_hash_map<uint64_t, uint64_t> records_in_file_;   // by the file's segment id
  absl::flat_hash_map<uint64_t, SliceAgg> slices_;            // by data key id
  absl::flat_hash_set<uint64_t> destroyed_keys_;
};

void Verifier::LoadVerifierKey() {
  auto meta = catalog_->GetMeta("verifier_key");
  std::string catalog_key = meta.ok() && *meta ? **meta : "";
  if (!opt_.verifier_key.empty()) {
    vkey_ = opt_.verifier_key;
    if (!catalog_key.empty() && catalog_key != vkey_) {
      Note("the catalog's verifier key differs from the one given; checking against the one given");
    }
  } else {
    auto file = base::ReadFile(VerifierKeyPath(opt_.dir));
    if (file.ok()) {
      vkey_ = *file;
      while (!vkey_.empty() && (vkey_.back() == '\n' || vkey_.back() == '\r' || vkey_.back() == ' ')) {
        vkey_.pop_back();
      }
      if (vkey_ != catalog_key) {
        Problem(base::StrCat("verifier key ", VerifierKeyPath(opt_.dir),
                             " differs from the catalog's verifier key"));
      }
    } else {
      Problem(base::StrCat("verifier key ", VerifierKeyPath(opt_.dir), " is unreadable: ",
                           base::View(file.status().message())));
      vkey_ = catalog_key;
    }
  }
  if (auto parsed = tlog::ParseVerifierKey(vkey_); !parsed.ok()) {
    Problem(base::StrCat("verifier key is not usable: ", base::View(parsed.status().message())));
  }
}

std::optional<tlog::Checkpoint> Verifier::OpenCheckpointFile(const std::string& path,
                                                             const std::string& label) {
  auto note = base::ReadFile(path);
  if (!note.ok()) {
    Problem(base::StrCat(label, " is unreadable: ", base::View(note.status().message())));
    return std::nullopt;
  }
  auto cp = tlog::OpenCheckpoint(*note, vkey_);
  if (!cp.ok()) {
    Problem(base::StrCat(label, " does not verify with the log's key: ",
                         base::View(cp.status().message())));
    return std::nullopt;
  }
  if (!r_.origin.empty() && cp->origin != r_.origin) {
    Problem(base::StrCat(label, " is of another log (origin ", Quote(cp->origin), ", this log is ",
                         Quote(r_.origin), ")"));
    return std::nullopt;
  }
  return std::move(*cp);
}

absl::Status Verifier::OpenSegments() {
  ASSIGN_OR_RETURN(rows_, catalog_->Segments());
  std::sort(rows_.begin(), rows_.end(),
            [](const SegmentRow& a, const SegmentRow& b) { return a.id < b.id; });
  std::map<uint64_t, const SegmentRow*> by_id;
  for (const SegmentRow& row : rows_) {
    by_id[row.id] = &row;
    paths_[row.id] = row.path;
  }
  const size_t chunk = std::clamp<size_t>(kReadBudgetBytes / std::max<size_t>(1, rows_.size()),
                                          kMinChunkBytes, kMaxChunkBytes);
  for (const SegmentRow& row : rows_) {
    const std::string name = base::StrCat("segment ", row.id, " ", row.path);
    absl::StatusOr<uint64_t> present = segments_->Size(row.path);
    if (!present.ok()) {
      Problem(base::StrCat(name, " is missing (", base::View(present.status().message()), ")"));
      continue;
    }
    const uint64_t size = *present;
    std::string head(static_cast<size_t>(std::min<uint64_t>(size, 8 + 4 + 8 + 8 + 2 + 65535)), '\0');
    absl::Status rs = segments_->Read(row.path, 0, head.size(), head.data());
    if (!rs.ok()) {
      Problem(base::StrCat(name, " is unreadable: ", base::View(rs.message())));
      continue;
    }
    r_.bytes += head.size();
    auto hdr = DecodeSegmentHeader(base::AsBytes(head));
    if (!hdr.ok()) {
      Problem(base::StrCat(name, " is not a segment file: ", base::View(hdr.status().message())));
      continue;
    }
    const SegmentHeader& h = hdr->first;
    // A file whose header names another segment was renamed or swapped: its records are read as
    // that segment's (they name it too), so the log still checks them.
    const SegmentRow* eff = &row;
    if (h.segment_id != row.id || h.liid != row.liid) {
      Problem(base::StrCat(name, " holds segment ", h.segment_id, " of case ", Quote(h.liid),
                           " instead of segment ", row.id, " of case ", Quote(row.liid),
                           " (file renamed or swapped)"));
      auto other = by_id.find(h.segment_id);
      if (other != by_id.end()) eff = other->second;
    }
    if (size < eff->committed_bytes) {
      std::string msg = base::StrCat(name, " is shorter than committed (", size, " of ",
                                     eff->committed_bytes, " bytes)");
      if (r_.problems.size() < VerifyReport::kMaxKept) {
        shorts_.push_back({r_.problems.size(), h.segment_id, row.path, msg});
      }
      Problem(msg + ": records are missing or cut");
    } else if (size > eff->committed_bytes) {
      Note(base::StrCat(name, " has ", size - eff->committed_bytes,
                        " bytes after its committed length (an uncommitted tail, ignored; cut at "
                        "the store's next start)"));
    }
    readers_.push_back(std::make_unique<SegmentReader>(h.segment_id, h.liid, row.path, segments_.get(),
                                                       hdr->second, eff->committed_bytes, size,
                                                       chunk));
    records_in_file_.try_emplace(h.segment_id, 0);
  }
  r_.segments = readers_.size();
  return absl::OkStatus();
}

void Verifier::AppendLeaf(const tlog::Hash& h) {
  std::vector<tlog::TreeBuilder::FullTile> completed;
  tree_.Append(h, &completed);
  for (const auto& t : completed) {
    if (t.level == 0) continue;  // level 0 is compared leaf by leaf
    auto stored = tiles_.ReadTile(t.level, t.index, kTileWidth);
    const std::string path = tlog::TilePath(t.level, t.index, kTileWidth);
    if (!stored.ok()) {
      MissingTile(t.level, t.index, kTileWidth, stored.status());
    } else if (*stored != t.hashes) {
      Problem(base::StrCat("tile ", path, " differs from the hashes the records give"));
    }
  }
  for (Checkpointed& c : checkpoints_) {
    if (c.cp.size == tree_.size()) c.root_at_size = tree_.Root();
  }
}

void Verifier::Missing(uint64_t leaf) {
  std::optional<tlog::Hash> stored = files_->LeafHash(leaf);
  const std::string* entry = files_->Entry(leaf);
  FlushLogProblems();
  std::string where;
  if (entry != nullptr && entry->size() >= 32) {
    auto h = DecodeRecordHeader(base::AsBytes(std::string_view(*entry).substr(0, entry->size() - 32)));
    if (h.ok()) {
      auto path = paths_.find(h->segment_id);
      const std::string rel = path != paths_.end() ? path->second : "";
      where = base::StrCat(" (the log puts it in segment ", h->segment_id, " ", rel, " offset ",
                           h->segment_offset, ")");
      for (Short& s : shorts_) {
        if (!s.named && s.segment_id == h->segment_id && s.index < r_.problems.size()) {
          s.named = true;
          r_.problems[s.index] = base::StrCat(
              s.message, ": ", RecordName(leaf, h->segment_id, rel, h->segment_offset),
              " and what follows it are missing or cut");
        }
      }
    }
  }
  Problem(base::StrCat("record leaf ", leaf, " is missing", where));
  if (reported_missing_.size() < VerifyReport::kMaxKept) reported_missing_.insert(leaf);
  // The stored hash stands in for it, so that the rest of the tree still compares.
  AppendLeaf(stored.value_or(tlog::Hash{}));
}

void Verifier::Record(SegmentReader& reader) {
  const ParsedRecord& rec = reader.record();
  const RecordHeader& h = rec.header;
  const uint64_t leaf = h.leaf_index;
  const uint64_t n = log_.size;
  const std::string name = reader.Name();

  // Leaves that no segment holds come before this one.
  if (leaf > next_leaf_ && next_leaf_ < n) {
    const uint64_t stop = std::min(leaf, n);
    while (next_leaf_ < stop) Missing(next_leaf_++);
  }
  for (std::string& p : reader.pending()) Problem(std::move(p));
  reader.pending().clear();

  ++r_.records;
  ++records_in_file_[reader.segment_id()];
  if (h.type == RecordType::kSystem) {
    ++r_.system_records;
    auto opened = tlog::OpenSignedNote(base::AsString(rec.body), vkey_);
    if (!opened.ok()) {
      Problem(base::StrCat(name, ": the system record's signature does not verify: ",
                           base::View(opened.status().message())));
    }
  } else {
    if (destroyed_keys_.contains(h.key_id)) ++r_.destroyed_records;
    SliceAgg& a = slices_[h.key_id];
    if (a.records == 0) {
      a.comm_id = h.comm_id;
      a.segment_id = reader.segment_id();
      a.first_record = name;
    } else if (reader.segment_id() != a.segment_id) {
      a.other_segments.insert(reader.segment_id());
    }
    a.first_leaf = std::min(a.first_leaf, leaf);
    a.last_leaf = std::max(a.last_leaf, leaf);
    a.first_offset = std::min(a.first_offset, reader.offset());
    a.end_offset = std::max(a.end_offset, reader.offset() + rec.framed_size);
    ++a.records;
    if (h.rewritten_from) ++a.copies;
    a.bytes += rec.body.size() >= kGcmTagBytes ? rec.body.size() - kGcmTagBytes : 0;
    a.start_us = std::min(a.start_us, h.received_us);
    a.end_us = std::max(a.end_us, h.received_us);
  }

  if (leaf >= n) {
    Problem(base::StrCat(name, " is beyond the committed log (", n, " records)"));
    return;
  }
  if (leaf < next_leaf_) {
    if (last_leaf_ == leaf) {
      Problem(base::StrCat(name, " is inserted: leaf ", leaf, " appears twice (also ",
                           last_leaf_name_, ")"));
    } else if (reported_missing_.contains(leaf)) {
      Problem(base::StrCat(name, " is out of place (reported missing above)"));
    } else {
      Problem(base::StrCat(name, " is out of place: leaf ", leaf, " was already seen"));
    }
    return;
  }
  // leaf == next_leaf_: the record in its place in the log.
  last_leaf_ = leaf;
  last_leaf_name_ = name;
  const std::string entry = LeafEntry(rec.header_bytes, rec.body);
  const tlog::Hash hash = tlog::LeafHash(base::AsBytes(entry));
  std::optional<tlog::Hash> stored = files_->LeafHash(leaf);
  const std::string* stored_entry = files_->Entry(leaf);
  FlushLogProblems();
  if (stored && *stored != hash) {
    Problem(base::StrCat(name, " does not match the log: its hash differs from ",
                         tlog::TilePath(0, leaf / kTileWidth, files_->Width(leaf / kTileWidth)),
                         " (the record was changed)"));
  } else if (stored_entry != nullptr && *stored_entry != entry) {
    Problem(base::StrCat(name, " does not match its entry in ",
                         tlog::EntriesPath(leaf / kTileWidth, files_->Width(leaf / kTileWidth))));
  }
  AppendLeaf(hash);
  ++next_leaf_;
}

void Verifier::Merge() {
  using Head = std::pair<uint64_t, size_t>;   // (leaf, reader)
  std::priority_queue<Head, std::vector<Head>, std::greater<Head>> heap;
  auto advance = [&](size_t i) {
    SegmentReader& rd = *readers_[i];
    if (rd.Advance()) {
      heap.emplace(rd.record().header.leaf_index, i);
    } else {
      for (std::string& p : rd.pending()) Problem(std::move(p));
      rd.pending().clear();
      r_.bytes += rd.bytes_read();
    }
  };
  for (size_t i = 0; i < readers_.size(); ++i) advance(i);
  while (!heap.empty()) {
    const size_t i = heap.top().second;
    heap.pop();
    Record(*readers_[i]);
    advance(i);
  }
  while (next_leaf_ < log_.size) Missing(next_leaf_++);
  FlushLogProblems();
}

void Verifier::CheckRoots() {
  const tlog::Hash root = tree_.Root();
  r_.root_hex = HexOf(root);
  // Higher-level partial tiles at the committed size (level 0 was compared leaf by leaf).
  for (const auto& t : tree_.PartialTiles()) {
    if (t.level == 0) continue;
    const uint64_t width = t.hashes.size() / 32;
    auto stored = tiles_.ReadTile(t.level, t.index, width);
    const std::string path = tlog::TilePath(t.level, t.index, width);
    if (!stored.ok()) {
      MissingTile(t.level, t.index, width, stored.status());
    } else if (*stored != t.hashes) {
      Problem(base::StrCat("tile ", path, " differs from the hashes the records give"));
    }
  }
  const std::string root_bytes(reinterpret_cast<const char*>(root.data()), root.size());
  if (log_.root != root_bytes) {
    Problem(base::StrCat("the log root the records give (", r_.root_hex,
                         ") differs from the catalog's committed root (", HexOf(log_.root),
                         ") at size ", log_.size));
  } else if (log_.size > 0 && log_.edge != tree_.EncodeEdge()) {
    Problem("the catalog's log edge differs from the tree the records give");
  }
  for (Checkpointed& c : checkpoints_) {
    const bool earlier = c.earlier;
    const std::string what = base::StrCat(c.label, " (size ", c.cp.size, ")");
    if (c.cp.size > log_.size) {
      Problem(base::StrCat(what, earlier ? " is not consistent with the log: " : " ",
                           "is larger than the committed log (", log_.size, " records)"));
      continue;
    }
    if (c.cp.size == 0) c.root_at_size = tlog::EmptyRoot();
    if (!c.root_at_size || *c.root_at_size != c.cp.root) {
      Problem(base::StrCat(what, earlier ? " is not consistent with the log: " : " does not match the log: ",
                           "it signs root ", HexOf(c.cp.root), ", the records give ",
                           c.root_at_size ? HexOf(*c.root_at_size) : "nothing", " at that size"));
    }
  }
}

absl::Status Verifier::CheckIndex() {
  // Segment rows: their record counts.
  for (const SegmentRow& row : rows_) {
    auto it = records_in_file_.find(row.id);
    if (it == records_in_file_.end()) continue;   // its file is missing (reported)
    if (it->second != row.records) {
      Problem(base::StrCat("index row segment ", row.id, ": records ", row.records,
                           " in catalog, ", it->second, " in segment ", row.id, " ", row.path));
    }
  }
  // Slice rows against what the segments hold for their key.
  ASSIGN_OR_RETURN(std::vector<SliceRow> slices, catalog_->Slices(std::nullopt, std::nullopt));
  std::sort(slices.begin(), slices.end(),
            [](const SliceRow& a, const SliceRow& b) { return a.key_id < b.key_id; });
  absl::flat_hash_set<uint64_t> described;
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> comm_sums;   // comm -> records, bytes
  for (const SliceRow& s : slices) {
    described.insert(s.key_id);
    auto it = slices_.find(s.key_id);
    // Copies that a range destruction re-encrypted are counted in their communication once, as
    // the originals they are.
    if (it == slices_.end() || it->second.copies == 0) {
      auto& sum = comm_sums[s.comm_id];
      sum.first += s.records;
      sum.second += s.bytes;
    }
    const std::string row = base::StrCat("index row slice key ", s.key_id);
    if (it == slices_.end()) {
      Problem(base::StrCat(row, ": records ", s.records, " in catalog, 0 in segment ",
                           s.segment_id));
      continue;
    }
    const SliceAgg& a = it->second;
    std::vector<std::string> diffs;
    auto cmp = [&](const char* field, auto catalog_value, auto segment_value) {
      if (catalog_value != segment_value) {
        diffs.push_back(base::StrCat(field, " ", catalog_value, " in catalog, ", segment_value,
                                     " in segment ", a.segment_id));
      }
    };
    cmp("records", s.records, a.records);
    cmp("bytes", s.bytes, a.bytes);
    cmp("comm", s.comm_id, a.comm_id);
    cmp("segment", s.segment_id, a.segment_id);
    cmp("first_leaf", s.first_leaf, a.first_leaf);
    cmp("last_leaf", s.last_leaf, a.last_leaf);
    cmp("first_offset", s.first_offset, a.first_offset);
    cmp("end_offset", s.end_offset, a.end_offset);
    cmp("start_us", s.start_us, a.start_us);
    cmp("end_us", s.end_us, a.end_us);
    if (!a.other_segments.empty()) {
      diffs.push_back(base::StrCat("its records are also in segment ", *a.other_segments.begin(),
                                   ", which the row cannot describe"));
    }
    if (a.copies != 0 && a.copies != a.records) {
      diffs.push_back(base::StrCat("its key holds ", a.copies, " rewritten copies and ",
                                   a.records - a.copies, " original records"));
    }
    if (!diffs.empty()) {
      std::string msg = row + ": " + diffs[0];
      for (size_t i = 1; i < diffs.size(); ++i) msg += "; " + diffs[i];
      Problem(std::move(msg));
    }
  }
  for (const auto& [key, a] : slices_) {
    if (!described.contains(key)) {
      Problem(base::StrCat(a.first_record, " has data key ", key,
                           " but no index row describes that key"));
    }
  }
  // Communication rows: their totals are the sums of their slices.
  ASSIGN_OR_RETURN(std::vector<CommRow> comms, catalog_->ListComms(CommFilter{}));
  for (const CommRow& c : comms) {
    auto sum = comm_sums[c.id];
    if (c.records != sum.first || c.bytes != sum.second) {
      Problem(base::StrCat("index row comm ", c.id, ": records ", c.records, ", bytes ", c.bytes,
                           " in catalog, ", sum.first, " and ", sum.second, " in its slices"));
    }
  }
  return absl::OkStatus();
}

void Verifier::StrayFiles() {
  std::set<std::string> known;
  for (const SegmentRow& row : rows_) known.insert(row.path);
  const std::string root = JoinPath(opt_.dir, "segments");
  DIR* d = ::opendir(root.c_str());
  if (d == nullptr) return;
  std::vector<std::string> stray;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    DIR* d2 = ::opendir(JoinPath(root, name).c_str());
    if (d2 == nullptr) continue;
    while (dirent* f = ::readdir(d2)) {
      std::string fname = f->d_name;
      if (fname == "." || fname == "..") continue;
      std::string rel = "segments/" + name + "/" + fname;
      if (!known.count(rel)) stray.push_back(rel);
    }
    ::closedir(d2);
  }
  ::closedir(d);
  std::sort(stray.begin(), stray.end());
  for (const std::string& s : stray) {
    Note(base::StrCat(s, " is not in the catalog (an uncommitted segment, removed at the store's "
                         "next start, or a stray file)"));
  }
}

absl::StatusOr<VerifyReport> Verifier::Run() {
  const auto started = std::chrono::steady_clock::now();
  if (opt_.dir.empty()) return absl::InvalidArgumentError("verify: no store directory given");
  auto catalog = SqliteCatalog::Open(CatalogPath(opt_.dir), /*create=*/false, /*read_only=*/true);
  if (!catalog.ok()) {
    return absl::NotFoundError(base::StrCat("verify: ", opt_.dir, " is not a tapvault store: ",
                                            base::View(catalog.status().message())));
  }
  catalog_ = std::move(*catalog);
  auto log = catalog_->GetLogState();
  if (!log.ok()) {
    return absl::FailedPreconditionError(base::StrCat(
        "verify: ", opt_.dir, ": cannot read the log state: ", base::View(log.status().message())));
  }
  log_ = std::move(*log);
  r_.tree_size = log_.size;
  ASSIGN_OR_RETURN(auto origin, catalog_->GetMeta("origin"));
  r_.origin = origin.value_or("");
  ASSIGN_OR_RETURN(auto keys, catalog_->Keys(KeyKind::kData, std::nullopt, /*live_only=*/false));
  for (const KeyRow& k : keys) {
    if (k.wrapped.empty() || k.destroyed_us != 0) destroyed_keys_.insert(k.id);
  }

  LoadVerifierKey();
  // The checkpoints first: their sizes tell the merge where to keep a root.
  if (auto cp = OpenCheckpointFile(CheckpointPath(opt_.dir), "checkpoint DIR/log/checkpoint")) {
    r_.checkpoint_size = cp->size;
    checkpoints_.push_back({"checkpoint DIR/log/checkpoint", std::move(*cp), false, std::nullopt});
  }
  if (!opt_.earlier_checkpoint.empty()) {
    const std::string label = base::StrCat("checkpoint ", opt_.earlier_checkpoint);
    if (auto cp = OpenCheckpointFile(opt_.earlier_checkpoint, label)) {
      if (!checkpoints_.empty() && cp->size > r_.checkpoint_size) {
        Problem(base::StrCat(label, " (size ", cp->size,
                             ") is not consistent with the log: it is larger than the current "
                             "checkpoint (size ", r_.checkpoint_size, ")"));
      }
      checkpoints_.push_back({label, std::move(*cp), true, std::nullopt});
    }
  }

  RETURN_IF_ERROR(OpenSegments());
  StrayFiles();
  files_.emplace(tiles_, log_.size, r_.checkpoint_size, log_problems_, log_notes_);
  Merge();
  CheckRoots();
  RETURN_IF_ERROR(CheckIndex());

  r_.ok = r_.problems.empty() && r_.more_problems == 0;
  r_.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
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
  return base::StrCat("intact: ", segments, " segments, ", records, " records (", system_records,
                      " system), tree ", tree_size, ", root ", root_hex.substr(0, 16), "…, checkpoint ",
                      checkpoint_size, " signed by ", origin);
}

std::string VerifyReport::Json() const {
  nlohmann::ordered_json j;
  j["ok"] = ok;
  j["segments"] = segments;
  j["records"] = records;
  j["system_records"] = system_records;
  j["bytes"] = bytes;
  j["tree_size"] = tree_size;
  j["root"] = root_hex;
  j["checkpoint_size"] = checkpoint_size;
  j["origin"] = origin;
  j["destroyed_records"] = destroyed_records;
  j["problems"] = problems;
  j["more_problems"] = more_problems;
  j["notes"] = notes;
  j["seconds"] = seconds;
  return j.dump();
}

absl::StatusOr<VerifyReport> Verify(const VerifyOptions& options) {
  Verifier v(options);
  return v.Run();
}

}  // namespace tapvault::store
