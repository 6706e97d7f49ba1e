// Reading ETSI TS 103 120 (HI-1) messages: the warrants in an HI1Message. Each
// AuthorisationObject in a CREATE or UPDATE action becomes one WarrantSpec, joined with the
// LITaskObject(s) associated with it (AssociatedObjects, either direction) for the LIID and the
// targets. The mapping is documented in warrant/README.md.
//
//   ASSIGN_OR_RETURN(std::vector<WarrantSpec> specs,
//                    ParseHi1Message(xml, {.team = "team-a"}));
//
// Every document is first validated against tapvault's XSD for the subset of TS 103 120 it reads
// (warrant/schema/, compiled into the binary). The parser never touches the network or the file
// system: no DTD, no external entities (a document with a DOCTYPE is refused), and at most
// ImportOptions::max_bytes of input.
// Thread-safety: thread-safe (the compiled schema is shared read-only; each call parses its own
// document). Note: the first call installs a process-wide libxml2 external entity loader that
// serves only tapvault's embedded schema files and refuses every other URL or path.
// Errors: InvalidArgument with "line N: ..." for anything wrong with the document (not XML, not
// valid against the schema, not mappable), ResourceExhausted when it is too large.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "warrant/warrant.h"

namespace tapvault::warrant {

inline constexpr size_t kMaxHi1MessageBytes = size_t{4} << 20;  // 4 MiB

struct ImportOptions {
  std::string team;               // required: the team the imported warrants belong to
  std::string by;                 // who imports (WarrantStore::Import; required there)
  int64_t now_us = 0;             // when (WarrantStore::Import; required there)
  int retention_days = 0;         // for the new warrants; 0: the store default
  size_t max_bytes = kMaxHi1MessageBytes;
};

// The warrants in `xml`, in document order of their AuthorisationObjects. An UPDATE action that
// carries only the AuthorisationObject yields a spec with empty liid and targets (the import
// takes them from the stored warrant); a CREATE without an associated LITaskObject, or a task
// associated with no authorisation in the message, is an error.
absl::StatusOr<std::vector<WarrantSpec>> ParseHi1Message(std::string_view xml,
                                                         const ImportOptions& options);

// The canonical text of a TS 103 120 TargetIdentifierValue: InternationalE164 "31612345678" ->
// "+31612345678"; SIPURI, TELURI as they are; IMSI -> "imsi:<digits>"; IMEI -> "imei:<digits>";
// EmailAddress as it is; other formats "<owner>.<name>:<value>". InvalidArgument for a value its
// format does not allow.
absl::StatusOr<std::string> CanonicalTarget(std::string_view format_owner,
                                            std::string_view format_name, std::string_view value);

// The embedded XSD texts by file name (for tests and documentation tools).
std::vector<std::pair<std::string_view, std::string_view>> EmbeddedSchemas();

}  // namespace tapvault::warrant
