// Time points as they appear in handover: microseconds since the Unix epoch (UTC), with a
// precision marker, and conversions to and from the text forms we read and write.
//
//   ASSIGN_OR_RETURN(auto t, base::ParseGeneralizedTime("20261128203948.545Z"));
//   std::string s = base::FormatRfc3339(t);   // "2026-11-28T20:39:48.545000Z"
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tapvault::base {

struct Timestamp {
  int64_t unix_us = 0;  // microseconds since 1970-01-01T00:00:00Z
  friend bool operator==(const Timestamp&, const Timestamp&) = default;
  friend auto operator<=>(const Timestamp&, const Timestamp&) = default;
};

// X.680 46 GeneralizedTime: YYYYMMDDHH[MM[SS[.f+]]][Z|(+|-)HHMM]. A local time without zone is
// read as UTC (TS 102 232-1 5.2.6 requires UTC). Fractions beyond microseconds are truncated.
absl::StatusOr<Timestamp> ParseGeneralizedTime(std::string_view text);
// GeneralizedTime in UTC with millisecond fraction, as mediators send it ("20261128203948.545Z").
std::string FormatGeneralizedTime(Timestamp t);
// RFC 3339 UTC with microseconds: "2026-11-28T20:39:48.545000Z".
std::string FormatRfc3339(Timestamp t);
// RFC 3339 with any offset and optional fraction; also accepts a bare date-time with "Z".
absl::StatusOr<Timestamp> ParseRfc3339(std::string_view text);
Timestamp Now();

}  // namespace tapvault::base
