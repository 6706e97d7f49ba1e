// Offline verification of a cold store (`tapvault verify`): re-reads every committed record of
// every segment and proves that the files, the Merkle log (tiles, entry bundles, signed
// checkpoints) and the catalog's index rows still agree with each other. It needs no keys and
// never decrypts: the log commits to the ciphertext and its metadata, so records whose data key was
// destroyed verify like any other.
//
//   ASSIGN_OR_RETURN(store::VerifyReport r, store::Verify({.dir = "/var/lib/tapvault"}));
//   std::puts(r.Summary().c_str());
//   for (const std::string& p : r.problems) std::puts(p.c_str());   // r.ok == r.problems.empty()
//
// What it checks, in this order (problems are reported in the order found, so problems[0] names
// the first bad file, record or row; a record is named "record leaf L (segment S <path> offset O)"):
//  1. segment files: present, header (magic, id, case) equal to the catalog row, not shorter than
//     the committed length (longer is an uncommitted tail: a note);
//  2. records back to back up to the committed length, each header in place (segment, offset,
//     case) and in increasing leaf order;
//  3. every leaf 0..N-1 of the committed log present exactly once (N = catalog log size);
//  4. each leaf's hash against the level-0 tile and its entry against the entry bundle; every
//     higher tile recomputed and compared;
//  5. the recomputed root against the catalog and the signed checkpoint(s), including that an
//     earlier checkpoint is a prefix of today's log;
//  6. the index rows (slices, communications, segments) against what the segments hold (a
//     communication's counts leave out the re-encrypted copies a range destruction kept);
//  7. the signatures of the store's own system records (destruction, recovery).
// Reads segments in bounded chunks (a few MiB per segment), never the whole store.
//
// Thread-safety: Verify is thread-safe (it shares nothing); it may run while a `serve` owns the
// store (it opens the catalog read-only), though records appended meanwhile show as notes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tapvault::store {

struct VerifyOptions {
  std::string dir;
  // Path of an earlier checkpoint note, to prove that the log only grew since ("" = none).
  std::string earlier_checkpoint;
  // Verifier key string; "" = the one in DIR/log/verifier.key, which must then equal the
  // catalog's. Pass the key obtained out of band to not trust the store's own copy.
  std::string verifier_key;
};

struct VerifyReport {
  bool ok = false;
  uint64_t segments = 0, records = 0, system_records = 0;
  uint64_t bytes = 0;               // segment file bytes read
  uint64_t tree_size = 0;           // committed log size (catalog)
  std::string root_hex;             // recomputed root
  uint64_t checkpoint_size = 0;     // size of DIR/log/checkpoint
  std::string origin;               // the log's origin (checkpoint signer)
  uint64_t destroyed_records = 0;   // records whose data key is destroyed (verified all the same)
  std::vector<std::string> problems;  // in order found; at most kMaxKept, see more_problems
  uint64_t more_problems = 0;         // problems found beyond those kept
  std::vector<std::string> notes;     // not corruption: uncommitted tails, stray files
  double seconds = 0;

  static constexpr size_t kMaxKept = 1000;

  // One line: "intact: 3 segments, 300 records (0 system), tree 300, root ab12…, checkpoint 300
  // signed by <origin>" or "CORRUPT: <problems[0]> (+N more)".
  std::string Summary() const;
  // The whole report as a JSON object.
  std::string Json() const;
};

// NotFound / FailedPrecondition only if `options.dir` is not a store at all (no catalog, or the
// catalog cannot be read); every kind of corruption is reported in the VerifyReport instead.
absl::StatusOr<VerifyReport> Verify(const VerifyOptions& options);

}  // namespace tapvault::store
