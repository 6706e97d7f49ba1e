// Offline verification of an audit log directory (`tapvault audit verify`): proves, with nothing
// but the directory and the log's public key, that entries.log is exactly the log the signed
// checkpoint commits to, and (given a checkpoint an outside witness kept) that the log only grew
// since. Needs no key but the verifier key and no running process.
//
//   ASSIGN_OR_RETURN(audit::VerifyReport r,
//                    audit::VerifyLog(dir, vkey_from_the_court_file, old_checkpoint_note));
//   std::puts(r.Summary().c_str());           // "intact: ..." or "CORRUPT: <first problem>"
//
// What it checks, problems reported in the order found (problems[0] names the first, with the
// entry index where there is one, also in first_bad_index):
//  1. DIR/checkpoint is a checkpoint signed by `verifier_key` whose origin is the key's name; the
//     trusted checkpoint too, and it is not larger than the current one;
//  2. the stored level-0 hash tiles give the signed root (then they are authentic and each entry
//     can be compared with its signed leaf hash, which names a modified entry's index);
//  3. every frame of entries.log: complete, its check right, its entry decodes (canonical
//     encoding), carries its position as index, and its leaf hash equals the authentic tile's;
//     the entry bundles hold the same entries; the higher tiles are the ones the entries give;
//  4. the root of the first N entries against the signed checkpoint (N = its size): a modified,
//     removed, inserted or reordered entry changes it;
//  5. with a trusted earlier checkpoint: the root of the first T entries equals it, and the RFC
//     9162 consistency proof (from the tiles) from it to the current checkpoint verifies, so a
//     checkpoint of a forked or rewritten log is caught even by a witness without the entries.
// Entries after the signed checkpoint, a torn tail (what a crash leaves, cut at the next append)
// and files in DIR/torn/ are notes, not problems.
//
// Thread-safety: thread-safe (shares nothing); may run while a process appends (entries appended
// meanwhile show as unsigned entries).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tapvault::audit {

struct VerifyReport {
  bool ok = false;
  uint64_t entries = 0;              // complete entries in entries.log
  uint64_t checkpoint_size = 0;      // size DIR/checkpoint signs
  std::string origin;                // of the checkpoint
  std::string root_hex;              // recomputed root at checkpoint_size
  std::optional<uint64_t> trusted_size;    // the trusted checkpoint's size, if one was given
  std::optional<uint64_t> first_bad_index;  // the entry problems[0] is about, if it names one
  std::vector<std::string> problems;  // in order found; at most kMaxKept (more_problems counts
  uint64_t more_problems = 0;         // the rest)
  std::vector<std::string> notes;     // not corruption: unsigned tail entries, torn tail, torn/

  static constexpr size_t kMaxKept = 1000;

  // One line: "intact: 120 entries, checkpoint 120 signed by <origin>, root ab12…[, grew from
  // trusted checkpoint 100]" or "CORRUPT: <problems[0]> (+N more)".
  std::string Summary() const;
  std::string Json() const;
};

// `verifier_key`: the C2SP verifier key string (obtain it out of band to not trust the
// directory's own DIR/verifier.vkey). `trusted_checkpoint_note`: an earlier checkpoint note.
// InvalidArgument for a malformed verifier key; NotFound if `dir` holds no entries.log; every
// kind of corruption is in the report instead.
absl::StatusOr<VerifyReport> VerifyLog(const std::string& dir, std::string_view verifier_key,
                                       std::optional<std::string> trusted_checkpoint_note);

}  // namespace tapvault::audit
