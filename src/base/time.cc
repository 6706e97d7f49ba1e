#include "base/time.h"

#include <chrono>
#include <cstdio>

#include "base/strings.h"

namespace tapvault::base {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y += m <= 2;
}

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// Small cursor over text digits; all reads are bounds-checked.
struct DigitCursor {
  std::string_view s;
  size_t i = 0;
  bool Digits(size_t n, int64_t& out) {
    if (i + n > s.size()) return false;
    int64_t v = 0;
    for (size_t k = 0; k < n; ++k) {
      const char c = s[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i += n;
    out = v;
    return true;
  }
  bool AtDigit() const { return i < s.size() && s[i] >= '0' && s[i] <= '9'; }
  bool Eat(char c) {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  bool Done() const { return i == s.size(); }
};

absl::StatusOr<Timestamp> Compose(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi,
                                  int64_t s, int64_t frac_us, int64_t offset_min,
                                  std::string_view text) {
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, static_cast<unsigned>(mo)) || h > 23 ||
      mi > 59 || s > 60) {
    return absl::InvalidArgumentError(base::StrCat("time out of range: '", text, "'"));
  }
  if (s == 60) s = 59;  // leap second: keep ordering, lose nothing that matters here
  const int64_t days = DaysFromCivil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  const int64_t secs = days * 86400 + h * 3600 + mi * 60 + s - offset_min * 60;
  return Timestamp{secs * 1'000'000 + frac_us};
}

bool ReadFraction(DigitCursor& c, int64_t& frac_us) {
  frac_us = 0;
  if (!c.Eat('.') && !c.Eat(',')) return true;
  if (!c.AtDigit()) return false;
  int digits = 0;
  while (c.AtDigit()) {
    if (digits < 6) frac_us = frac_us * 10 + (c.s[c.i] - '0');
    ++digits;
    ++c.i;
    if (digits > 64) return false;
  }
  for (int k = digits; k < 6; ++k) frac_us *= 10;
  return true;
}

bool ReadOffset(DigitCursor& c, bool colon, int64_t& offset_min, bool& had_zone) {
  offset_min = 0;
  had_zone = true;
  if (c.Eat('Z') || c.Eat('z')) return true;
  int sign = 0;
  if (c.Eat('+')) sign = 1;
  else if (c.Eat('-')) sign = -1;
  if (sign == 0) {
    had_zone = false;
    return true;
  }
  int64_t hh = 0, mm = 0;
  if (!c.Digits(2, hh)) return false;
  if (colon) {
    if (!c.Eat(':')) return false;
    if (!c.Digits(2, mm)) return false;
  } else if (!c.Done() && !c.Digits(2, mm)) {
    return false;
  }
  if (hh > 23 || mm > 59) return false;
  offset_min = sign * (hh * 60 + mm);
  return true;
}

}  // namespace

absl::StatusOr<Timestamp> ParseGeneralizedTime(std::string_view text) {
  DigitCursor c{text};
  int64_t y, mo, d, h, mi = 0, s = 0, frac = 0, off = 0;
  bool zone = false;
  if (!c.Digits(4, y) || !c.Digits(2, mo) || !c.Digits(2, d) || !c.Digits(2, h)) {
    return absl::InvalidArgumentError(base::StrCat("bad GeneralizedTime: '", text, "'"));
  }
  if (c.AtDigit() && (!c.Digits(2, mi) || (c.AtDigit() && !c.Digits(2, s)))) {
    return absl::InvalidArgumentError(base::StrCat("bad GeneralizedTime: '", text, "'"));
  }
  if (!ReadFraction(c, frac) || !ReadOffset(c, /*colon=*/false, off, zone) || !c.Done()) {
    return absl::InvalidArgumentError(base::StrCat("bad GeneralizedTime: '", text, "'"));
  }
  return Compose(y, mo, d, h, mi, s, frac, off, text);
}

absl::StatusOr<Timestamp> ParseRfc3339(std::string_view text) {
  DigitCursor c{text};
  int64_t y, mo, d, h, mi, s, frac = 0, off = 0;
  bool zone = false;
  if (!c.Digits(4, y) || !c.Eat('-') || !c.Digits(2, mo) || !c.Eat('-') || !c.Digits(2, d) ||
      !(c.Eat('T') || c.Eat('t') || c.Eat(' ')) || !c.Digits(2, h) || !c.Eat(':') ||
      !c.Digits(2, mi) || !c.Eat(':') || !c.Digits(2, s) || !ReadFraction(c, frac) ||
      !ReadOffset(c, /*colon=*/true, off, zone) || !zone || !c.Done()) {
    return absl::InvalidArgumentError(
        base::StrCat("bad RFC 3339 time (want e.g. 2026-11-28T20:39:48Z): '", text, "'"));
  }
  return Compose(y, mo, d, h, mi, s, frac, off, text);
}

namespace {
struct Civil {
  int64_t y;
  unsigned mo, d, h, mi, s;
  int64_t us;
};
Civil ToCivil(Timestamp t) {
  int64_t secs = t.unix_us / 1'000'000;
  int64_t us = t.unix_us % 1'000'000;
  if (us < 0) {
    us += 1'000'000;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    --days;
  }
  Civil c{};
  CivilFromDays(days, c.y, c.mo, c.d);
  c.h = static_cast<unsigned>(sod / 3600);
  c.mi = static_cast<unsigned>(sod / 60 % 60);
  c.s = static_cast<unsigned>(sod % 60);
  c.us = us;
  return c;
}
}  // namespace

std::string FormatRfc3339(Timestamp t) {
  const Civil c = ToCivil(t);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02u:%02u:%02u.%06lldZ",
                static_cast<long long>(c.y), c.mo, c.d, c.h, c.mi, c.s,
                static_cast<long long>(c.us));
  return buf;
}

std::string FormatGeneralizedTime(Timestamp t) {
  const Civil c = ToCivil(t);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld%02u%02u%02u%02u%02u.%03lldZ", static_cast<long long>(c.y),
                c.mo, c.d, c.h, c.mi, c.s, static_cast<long long>(c.us / 1000));
  return buf;
}

Timestamp Now() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  return Timestamp{std::chrono::duration_cast<std::chrono::microseconds>(now).count()};
}

}  // namespace tapvault::base
