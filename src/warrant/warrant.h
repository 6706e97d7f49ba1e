// A warrant (tap order) as tapvault keeps it: the order that makes interception of one LIID
// (Lawful Interception IDentifier) lawful during [valid_from, valid_to). A warrant is a chain of
// immutable versions: creation (or import), extensions and an early end each add a version; the
// latest version is the warrant in force. Plain data, no behaviour; see warrant_store.h.
//
//   warrant::WarrantSpec s{.id = "W-2026-0012", .liid = "NL-OM-0042",
//                          .targets = {"+31612345678"}, .valid_from_us = from, .valid_to_us = to,
//                          .team = "team-a"};
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tapvault::warrant {

// What a warrant says; the content of version 1 of a warrant (and of every later version, with
// valid_to and the authority reference changed by extensions and ends).
struct WarrantSpec {
  std::string id;    // "W-2026-0012", or a TS 103 120 authorisation ObjectIdentifier
  std::string liid;  // the LIID the order is for
  // Target identifiers in canonical text: "+31612345678", "sip:x@example.org", "imsi:2040...".
  std::vector<std::string> targets;
  std::string legal_basis;           // e.g. "Sv 126m"
  std::string prosecutor;            // who requested the order
  std::string prosecutor_reference;  // the prosecutor's file reference
  std::string authority;             // the authorising judge (rechter-commissaris)
  std::string authority_reference;   // the order's reference
  int64_t issued_us = 0;             // when the order was given; 0: unknown
  int64_t valid_from_us = 0;         // inclusive
  int64_t valid_to_us = 0;           // exclusive
  std::string team;                  // the investigation team that may read under it
  int retention_days = 0;            // after valid_to; 0: the store's default
  std::string source = "cli";        // "cli", "api", "ts103120"
  uint64_t generation = 0;           // TS 103 120 object Generation; 0 when not imported
};

// How a version came about.
inline constexpr std::string_view kChangeCreated = "created";
inline constexpr std::string_view kChangeExtended = "extended";
inline constexpr std::string_view kChangeEnded = "ended";
inline constexpr std::string_view kChangeImported = "imported";

// One immutable version of a warrant.
struct Warrant {
  WarrantSpec spec;
  uint32_t version = 0;  // 1, 2, ...
  std::string change;    // one of the kChange* values
  std::string reason;    // why (ends; the new reference of an extension)
  std::string by;        // who recorded this version
  int64_t at_us = 0;     // when it was recorded
  // True when this is the latest version and it ended the warrant early.
  bool ended() const { return change == kChangeEnded; }
};

}  // namespace tapvault::warrant
