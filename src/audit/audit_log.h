// The audit log: every action on the receiver (logins, failed ones too, warrant changes, list
// imports, each read of content or metadata, searches, exports, decisions, destruction, key and
// configuration changes) appended to a tamper-evident log that an outside party can verify
// offline. It is a Merkle log with signed checkpoints by the same mechanism as the cold store's
// (RFC 9162 hashing, C2SP tlog-tiles under DIR/tile/, C2SP signed-note checkpoints with
// Ed25519): one verifier, one witness procedure for both. See docs/formats/audit.md.
//
//   crypto::Ed25519Signer key = ...;                 // kept wrapped under the master key
//   ASSIGN_OR_RETURN(auto log, audit::AuditLog::Open(
//       {.dir = store_dir + "/audit", .signer = &key, .origin = "lemf.example/audit"}, true));
//   audit::Event e{.actor = "alice", .role = "investigator", .action = "read_content",
//                  .object = "comm:42", .outcome = "ok", .detail = {{"liid", "NL-1"}}};
//   absl::StatusOr<uint64_t> index = log->Append(e);  // durable when it returns
//   if (!index.ok()) return Refuse();                   // audit-before-read
//   ... read ...
//
// Audit-before-read: Append returns only after the entry is written and fdatasync'ed; any error
// means it is not (durably) in the log and the caller must refuse the action.
//
// On disk (DIR):
//   entries.log     the durable truth: an 8-byte file header, then one frame per entry, appended
//                   under flock(LOCK_EX) by whichever process appends (server and CLI share it)
//   verifier.vkey   the checkpoint key as a C2SP note verifier key "<origin>+<hash>+<base64>"
//   checkpoint      latest signed checkpoint (C2SP tlog-checkpoint in a signed note)
//   tile/...        the tree as C2SP tlog-tiles (hash tiles, entry bundles), written at checkpoints
//   state           where the tiles are complete (size, byte offset, right edge): a fast start
//   checkpoint.lock serialises checkpoint writers of all processes
//   torn/           bytes cut from a torn tail, kept as evidence (the verifier lists them)
//
// entries.log:
//   file header := "TVAUD" 0x00 0x00 0x01                          (8 bytes; version 1)
//   frame       := "TVAE" | u32 len | entry (len bytes) | u32 check
//                  check = the first 4 bytes of SHA-256(0x00 || entry), i.e. of the entry's leaf
//                  hash; len in 1..65535 (C2SP entry bundles have 16-bit lengths)
// Entry (what the Merkle leaf hashes: leaf = SHA-256(0x00 || entry); integers big-endian):
//   u8  version = 1
//   u64 index           the entry's leaf index (0, 1, 2, ... in file order)
//   i64 at_us           when the action happened, µs since 1970-01-01T00:00:00Z
//   str actor           the user, or "system"                      1..256 bytes
//   str role            the actor's role at that time              0..256 bytes
//   str action          "login", "login_failed", "read_content", "read_metadata", "search",
//                       "export", "decision", "flag", "destroy", "list_import",
//                       "warrant_change", "key_operation", "config_change", ... 1..64 bytes
//   str object          what was acted on: "comm:42", "liid:NL-1", "list:7", ...  0..1024 bytes
//   str outcome         "ok", "refused", "error"                   0..64 bytes
//   str detail          canonical JSON text of Event::detail ("null" when empty): nlohmann
//                       dump() without spaces, object keys sorted, UTF-8 unescaped; nesting
//                       depth <= 32
//   where str := u16 len | bytes; the strings are valid UTF-8 without control characters
//   (U+0000..U+001F, U+007F); nothing follows detail. An entry has exactly one encoding: the
//   decoder rejects anything EncodeEntry would not produce (other versions, trailing bytes,
//   non-canonical JSON).
//
// Crash safety: a frame is counted only when complete and its check matches. A torn tail (the
// bytes of a group write cut by a crash: at most kMaxTornBytes, after the last checkpointed
// entry) is moved to DIR/torn/ and cut by the next appender, which records an "audit_recovery"
// entry. Anything else that does not parse is corruption, which needs an operator (`tapvault
// audit verify` names it): until then appends fail (DataLoss). A crash never costs an entry whose
// Append returned.
//
// Thread-safety: AuditLog is thread-safe. Concurrent Append calls in one process share one write
// and one fdatasync (group commit); each returns only once its own entry is durable. Several
// processes may append to the same DIR (each with its own AuditLog; do not carry one across
// fork()). The free functions are thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/byte_reader.h"
#include "crypto/ed25519.h"
#include "nlohmann/json.hpp"

namespace tapvault::audit {

inline constexpr uint8_t kEntryVersion = 1;
inline constexpr size_t kMaxEntryBytes = 65535;      // C2SP entry bundle length prefix
inline constexpr size_t kMaxActorBytes = 256;
inline constexpr size_t kMaxRoleBytes = 256;
inline constexpr size_t kMaxActionBytes = 64;
inline constexpr size_t kMaxObjectBytes = 1024;
inline constexpr size_t kMaxOutcomeBytes = 64;
inline constexpr int kMaxDetailDepth = 32;
// Group commit: at most this many entries and bytes per write. A torn tail is therefore never
// longer than kMaxTornBytes; anything longer after a damaged frame is corruption, not a crash.
inline constexpr size_t kMaxGroupEntries = 512;
inline constexpr size_t kMaxGroupBytes = 1 << 20;
inline constexpr uint64_t kMaxTornBytes = 2 * kMaxGroupBytes;  // room for one group write

struct Event {
  int64_t at_us = 0;     // 0: Append uses the current time
  std::string actor;     // user name, or "system"
  std::string role;
  std::string action;    // "login", "login_failed", "read_content", "read_metadata", "search", ...
  std::string object;    // "comm:42", "liid:NL-1", "list:7", ...
  std::string outcome;   // "ok", "refused", "error"
  nlohmann::json detail;  // any JSON value; null when there is nothing more to say
};

struct Entry {
  uint64_t index = 0;
  Event event;
};

// The entry encoding above. InvalidArgument if a field is too long, not valid UTF-8, contains a
// control character, actor or action is empty, detail nests deeper than kMaxDetailDepth, or the
// whole is longer than kMaxEntryBytes.
absl::StatusOr<std::string> EncodeEntry(const Entry& entry);
// Strict inverse of EncodeEntry: InvalidArgument for anything it would not produce.
absl::StatusOr<Entry> DecodeEntry(base::Bytes encoded);

// Office hours for Query::outside_office_hours: local time of day [start, end) on work days.
struct OfficeHours {
  // IANA zone ("Europe/Amsterdam", read from the system's zoneinfo) or a fixed offset ("UTC",
  // "Z", "+01:00", "-0530").
  std::string time_zone = "UTC";
  int start_minute = 8 * 60;   // minutes after local midnight
  int end_minute = 18 * 60;
  std::array<bool, 7> work_days = {true, true, true, true, true, false, false};  // Monday first
};

// A filter over the log; every field given must match. Entries come back in index order.
struct Query {
  std::optional<std::string> actor;        // exact
  std::vector<std::string> actions;        // any of these; empty = all
  std::optional<std::string> object;       // exact, or a prefix when object_prefix
  bool object_prefix = false;
  std::optional<std::string> outcome;      // exact
  std::optional<int64_t> from_us;          // at_us >= from_us
  std::optional<int64_t> to_us;            // at_us < to_us
  std::optional<OfficeHours> outside_office_hours;  // only entries outside these hours
  std::string contains;                    // ASCII-case-insensitive substring of the detail JSON
  std::optional<uint64_t> after_index;     // pagination: only entries with index > after_index
  size_t limit = 1000;                     // at most this many entries; 0 = no limit
};

struct OpenOptions {
  std::string dir;  // e.g. STORE_DIR/audit
  // The checkpoint signing key, owned by the caller (the product keeps it wrapped under its
  // master key); it must outlive the AuditLog. nullptr = read-only: Query only, no file written.
  crypto::Ed25519Signer* signer = nullptr;
  // The checkpoint origin line and key name; "" = the one of an existing log, or
  // "tapvault.local/audit/<random>" for a new one.
  std::string origin;
  // A writer signs a checkpoint in a background thread at most this often while the log grows
  // (0 = only when Checkpoint() is called), and at close if it appended since.
  int64_t checkpoint_interval_ms = 1000;
};

class AuditLog {
 public:
  // Opens (or with `create`, creates) the log in options.dir. A writer cuts a torn tail (and
  // records that) before it returns. NotFound if the log does not exist and !create;
  // InvalidArgument for create without a signer, or an origin other than the log's;
  // FailedPrecondition if the signer is not the key of DIR/verifier.vkey; DataLoss if
  // entries.log is damaged other than by a torn tail.
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const OpenOptions& options, bool create);

  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;
  // Stops the checkpoint thread and signs a last checkpoint if this instance appended since the
  // last one (a failure is logged).
  ~AuditLog();

  // Appends `event` and makes it durable (written and fdatasync'ed) before returning its index.
  // Any error means the entry is not in the log: the caller must refuse the action.
  // InvalidArgument (see EncodeEntry), FailedPrecondition when read-only, DataLoss when the log
  // is damaged, ResourceExhausted for a full disk, Unavailable/Internal for other I/O errors.
  absl::StatusOr<uint64_t> Append(const Event& event);

  // Signs a checkpoint of the current size (C2SP signed note), after making the tiles up to it
  // durable, writes it to DIR/checkpoint and returns the note. If the log has not grown since the
  // last checkpoint, returns that one. FailedPrecondition when read-only; DataLoss if the log no
  // longer extends its last signed checkpoint (nothing is signed then).
  absl::StatusOr<std::string> Checkpoint();

  // The entries matching `query`, in index order, up to query.limit. Reads entries.log from the
  // start, or with after_index from the nearest 256-entry block this instance has already read;
  // O(size of the log) otherwise (there is no index). InvalidArgument for an unknown time zone;
  // DataLoss if the log is damaged before its end.
  absl::StatusOr<std::vector<Entry>> Query(const audit::Query& query);

  // Entries known to this instance (as of its last append or open); other processes may have
  // appended more.
  uint64_t Size() const;
  const std::string& origin() const;
  const std::string& dir() const;
  // The C2SP verifier key of the log's checkpoints (contents of DIR/verifier.vkey).
  const std::string& verifier_key() const;

  // Called before each write ("write") and fdatasync ("sync") of entries.log; a non-OK status
  // is returned by that step instead of doing it. For tests of the failure paths.
  void SetFaultHookForTest(std::function<absl::Status(std::string_view step)> hook);

 private:
  class Impl;
  explicit AuditLog(std::unique_ptr<Impl> impl);

  std::unique_ptr<Impl> impl_;
};

}  // namespace tapvault::audit
