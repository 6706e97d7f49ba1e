// Reading the delivered list: an RFC 4180 record reader that knows the physical line on which
// each record starts (quoted fields may span lines), then one validation per row.
//
// Choices (privileged-list.md leaves them open):
// - A row is rejected, not repaired: a bad row means the deliverer's export is broken, and a
//   silently dropped lawyer is the failure this component exists to prevent.
// - Reasons never quote the identity (logs leave the secure zone); they say which column is wrong
//   and why, and the operator has the file and the line number. Other columns (dates, type) are
//   not identities and are quoted when short.
// - Unknown or repeated header columns reject the file: a misspelt column would otherwise be
//   ignored without anyone noticing.
// - A row whose fields are all empty (",,,,," from spreadsheet exports) counts as a blank line.
#include "privileged/list_csv.h"

#include <algorithm>
#include <array>
#include <functional>
#include <iterator>
#include <span>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/status/status.h"
#include "base/status_macros.h"
#include "base/strings.h"

namespace tapvault::privileged {

std::string_view EntryTypeName(EntryType type) {
  switch (type) {
    case EntryType::kNumber:
      return "number";
    case EntryType::kPrefix:
      return "prefix";
    case EntryType::kRange:
      return "range";
    case EntryType::kUri:
      return "uri";
    case EntryType::kEmail:
      return "email";
  }
  return "unknown";
}

std::optional<EntryType> EntryTypeFromName(std::string_view name) {
  for (EntryType t : {EntryType::kNumber, EntryType::kPrefix, EntryType::kRange, EntryType::kUri,
                      EntryType::kEmail}) {
    if (EntryTypeName(t) == name) return t;
  }
  return std::nullopt;
}

namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (IsSpace(s.front()) || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (IsSpace(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (Lower(s[i]) != prefix[i]) return false;
  }
  return true;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

size_t CountDigits(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), IsDigit));
}

// "+" and 1..15 digits.
bool IsE164(std::string_view s) {
  if (s.size() < 2 || s.size() > 1 + kMaxNumberDigits || s[0] != '+') return false;
  return std::all_of(s.begin() + 1, s.end(), IsDigit);
}

// Structural UTF-8 check (no overlongs, no surrogates, at most U+10FFFF).
bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7F;
  });
}

// Quotes `s` in a reason only when it cannot be an identity: short and made of letters, '_' and
// '-' (a column or type name).
std::string QuoteIfWord(std::string_view s) {
  bool word = !s.empty() && s.size() <= 24 && std::all_of(s.begin(), s.end(), [](char c) {
    return (Lower(c) >= 'a' && Lower(c) <= 'z') || c == '_' || c == '-';
  });
  return word ? base::StrCat(" '", s, "'") : std::string();
}

// ---------------------------------------------------------------------------------------------
// RFC 4180 records.

struct Record {
  size_t line = 0;  // physical line where the record starts (1-based)
  std::vector<std::string> fields;
  std::string error;  // non-empty: the record is malformed CSV
};

class CsvReader {
 public:
  explicit CsvReader(std::string_view text) : text_(text) {
    if (text_.starts_with("\xEF\xBB\xBF")) pos_ = 3;  // UTF-8 byte order mark
  }

  // The next record that is not a blank or comment line; false at the end of the text. Reuses
  // the strings of `r` (a chunk of Records is read again and again).
  bool Next(Record& r) {
    fields_ = 0;
    bool more = NextImpl(r);
    r.fields.resize(std::min(fields_, kMaxFields + 1));
    return more;
  }

 private:
  bool NextImpl(Record& r) {
    const size_t n = text_.size();
    while (pos_ < n) {
      size_t eol = text_.find('\n', pos_);
      if (eol == std::string_view::npos) eol = n;
      std::string_view phys = Trim(text_.substr(pos_, eol - pos_));
      if (!phys.empty() && phys.front() != '#') break;
      pos_ = eol == n ? n : eol + 1;
      ++line_;
    }
    if (pos_ >= n) return false;
    r.line = line_;
    r.error.clear();
    bool too_long = false;
    std::string& field = field_;
    field.clear();
    auto push = [&] {
      if (field.size() > kMaxFieldBytes) too_long = true;
      if (fields_ <= kMaxFields) {
        if (fields_ < r.fields.size()) {
          r.fields[fields_].swap(field);
        } else {
          r.fields.push_back(std::move(field));
        }
      }
      ++fields_;
      field.clear();
    };
    auto finish = [&] {
      if (r.error.empty() && too_long) {
        r.error = base::StrCat("a field is longer than ", kMaxFieldBytes, " bytes");
      }
      if (r.error.empty() && fields_ > kMaxFields) {
        r.error = base::StrCat("more than ", kMaxFields, " fields");
      }
      return true;
    };
    while (true) {
      size_t q = pos_;
      while (q < n && IsSpace(text_[q])) ++q;
      if (q < n && text_[q] == '"') {
        pos_ = q + 1;
        bool closed = false;
        while (pos_ < n) {
          char c = text_[pos_];
          if (c == '"') {
            if (pos_ + 1 < n && text_[pos_ + 1] == '"') {
              if (field.size() <= kMaxFieldBytes) field.push_back('"');
              pos_ += 2;
              continue;
            }
            ++pos_;
            closed = true;
            break;
          }
          if (c == '\n') ++line_;
          // Keep scanning an over-long field to stay in step, but stop growing it.
          if (field.size() <= kMaxFieldBytes) field.push_back(c);
          ++pos_;
        }
        if (!closed) {
          r.error = "a quoted field is not closed before the end of the file";
          return true;
        }
        while (pos_ < n && IsSpace(text_[pos_])) ++pos_;
        if (pos_ < n && text_[pos_] == '\r') ++pos_;
        if (pos_ >= n) {
          push();
          return finish();
        }
        if (text_[pos_] == ',') {
          push();
          ++pos_;
          continue;
        }
        if (text_[pos_] == '\n') {
          push();
          ++pos_;
          ++line_;
          return finish();
        }
        r.error = "text after the closing quote of a quoted field";
        SkipLine();
        return true;
      }
      size_t end = pos_;
      while (end < n && text_[end] != ',' && text_[end] != '\n') ++end;
      std::string_view raw = text_.substr(pos_, end - pos_);
      if (raw.find('"') != std::string_view::npos) {
        r.error = "a quote inside an unquoted field (quote the whole field and double the quote)";
        pos_ = end;
        SkipLine();
        return true;
      }
      if (!raw.empty() && raw.back() == '\r') raw.remove_suffix(1);
      field.assign(raw.substr(0, std::min(raw.size(), kMaxFieldBytes + 1)));
      push();
      if (end >= n) {
        pos_ = n;
        return finish();
      }
      pos_ = end + 1;
      if (text_[end] == '\n') {
        ++line_;
        return finish();
      }
    }
  }

  void SkipLine() {
    size_t eol = text_.find('\n', pos_);
    if (eol == std::string_view::npos) {
      pos_ = text_.size();
    } else {
      pos_ = eol + 1;
      ++line_;
    }
  }

  std::string_view text_;
  size_t pos_ = 0;
  size_t line_ = 1;
  size_t fields_ = 0;  // fields of the current record (may exceed kMaxFields)
  std::string field_;
};

// ---------------------------------------------------------------------------------------------
// Dates.

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

absl::StatusOr<int64_t> ParseIsoDateTime(std::string_view text) {
  std::string_view t = Trim(text);
  size_t i = 0;
  auto bad = [&] {
    return absl::InvalidArgumentError(
        t.size() <= 40 && !HasControl(t)
            ? base::StrCat("'", t, "' is not an ISO 8601 date or date-time")
            : std::string("not an ISO 8601 date or date-time"));
  };
  auto digits = [&](size_t count, int& out) {
    if (i + count > t.size()) return false;
    out = 0;
    for (size_t k = 0; k < count; ++k) {
      if (!IsDigit(t[i + k])) return false;
      out = out * 10 + (t[i + k] - '0');
    }
    i += count;
    return true;
  };
  auto take = [&](char c) {
    if (i < t.size() && t[i] == c) {
      ++i;
      return true;
    }
    return false;
  };
  int year, month, day;
  if (!digits(4, year)) return bad();
  bool extended = take('-');
  if (!digits(2, month)) return bad();
  if (extended && !take('-')) return bad();
  if (!digits(2, day)) return bad();
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1) return bad();
  if (day > kDays[month - 1] + (month == 2 && IsLeap(year) ? 1 : 0)) return bad();
  int64_t us = DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) *
               86'400'000'000LL;
  if (i == t.size()) return us;
  if (!take('T') && !take('t') && !take(' ')) return bad();
  int hour = 0, minute = 0, second = 0;
  if (!digits(2, hour)) return bad();
  bool colon = take(':');
  if (colon || (i < t.size() && IsDigit(t[i]))) {
    if (!digits(2, minute)) return bad();
    if ((colon && take(':')) || (!colon && i < t.size() && IsDigit(t[i]))) {
      if (!digits(2, second)) return bad();
      if (take('.') || take(',')) {
        size_t start = i;
        int64_t frac_us = 0;
        int scale = 100000;
        while (i < t.size() && IsDigit(t[i])) {
          frac_us += (t[i] - '0') * scale;
          scale /= 10;  // digits beyond microseconds are truncated
          ++i;
        }
        if (i == start) return bad();
        us += frac_us;
      }
    }
  }
  if (hour > 23 || minute > 59 || second > 59) return bad();
  us += ((hour * 60LL + minute) * 60 + second) * 1'000'000LL;
  if (i == t.size() || take('Z') || take('z')) {
    return i == t.size() ? absl::StatusOr<int64_t>(us) : bad();
  }
  int sign = t[i] == '+' ? 1 : t[i] == '-' ? -1 : 0;
  if (sign == 0) return bad();
  ++i;
  int off_h = 0, off_m = 0;
  if (!digits(2, off_h)) return bad();
  if (take(':')) {
    if (!digits(2, off_m)) return bad();
  } else if (i < t.size() && !digits(2, off_m)) {
    return bad();
  }
  if (i != t.size() || off_h > 23 || off_m > 59) return bad();
  return us - sign * (off_h * 60LL + off_m) * 60'000'000LL;
}

namespace {

// ---------------------------------------------------------------------------------------------
// Identities.

struct RowContext {
  const ParseOptions& options;
  const identity::Normalizer& normalizer;
};

absl::Status RowError(std::string_view reason) {
  return absl::InvalidArgumentError(std::string(reason));
}

absl::StatusOr<std::string> ListNumber(const RowContext& ctx, std::string_view text,
                                       std::string_view what) {
  // Most delivered numbers are E.164 already. Readings() has a fast path for those whose answer
  // equals libphonenumber's; when its only reading is the input itself, libphonenumber reads the
  // input unchanged, which is what ListNumber would return (at the cost of a full parse).
  if (text.size() >= 1 + kMinNumberDigits && text.size() <= 1 + kMaxNumberDigits &&
      text[0] == '+' && text[1] != '0' && std::all_of(text.begin() + 1, text.end(), IsDigit)) {
    std::vector<identity::Reading> r =
        ctx.normalizer.Readings(text, {.country = ctx.options.region});
    if (r.size() == 1 && r[0].kind == identity::Reading::Kind::kNumber && r[0].value == text) {
      return std::string(text);
    }
  }
  absl::StatusOr<std::string> n = ctx.normalizer.ListNumber(text, ctx.options.region);
  if (!n.ok()) {
    // The normaliser's own message may quote the input; it is replaced by one that does not.
    return RowError(base::StrCat(what, " is not a telephone number (", CountDigits(text),
                                 " digits; national notation is read in region ",
                                 ctx.options.region, ")"));
  }
  if (!IsE164(*n) || n->size() - 1 < kMinNumberDigits) {
    return RowError(base::StrCat(what, " does not normalise to E.164 with ", kMinNumberDigits,
                                 " to ", kMaxNumberDigits, " digits"));
  }
  return n;
}

// "+31 20 555 12*", "0031 20 555 12", "+31 (0)20 555 12" → "+312055512". A prefix in national
// notation ("020 555 12") is incomplete as a number; it is completed with padding digits,
// normalised, and the padding is taken off again, which keeps the region's rule for the trunk
// prefix (dropped in NL, kept in IT).
absl::StatusOr<std::string> NormalizePrefix(const RowContext& ctx, std::string_view text) {
  std::string_view t = Trim(text);
  if (StartsWithNoCase(t, "tel:")) t.remove_prefix(4);
  bool international = !t.empty() && t.front() == '+';
  std::string digits;
  for (size_t i = international ? 1 : 0; i < t.size(); ++i) {
    char c = t[i];
    if (IsDigit(c)) {
      digits.push_back(c);
    } else if (international && t.substr(i).starts_with("(0)")) {
      i += 2;  // "+31 (0)20": the trunk prefix written for national callers
    } else if (!(IsSpace(c) || c == '-' || c == '.' || c == '(' || c == ')' || c == '/')) {
      return RowError("prefix: only digits, '+' and visual separators may precede the '*'");
    }
  }
  if (!international && digits.starts_with("00")) {
    international = true;
    digits.erase(0, 2);
  }
  std::string prefix;
  if (international) {
    prefix = "+" + digits;
  } else if (!digits.empty()) {
    // Short input is often taken whole (the trunk "0" kept, "0205" → +310205); padded to a
    // plausible length it is read as the region reads full numbers. The reading most paddings
    // agree on wins (ties: the longer padding).
    std::vector<std::pair<std::string, int>> votes;
    for (size_t k = 0; digits.size() + k <= kMaxNumberDigits + 2; ++k) {
      std::string padding(k, '0');
      absl::StatusOr<std::string> n =
          ctx.normalizer.ListNumber(digits + padding, ctx.options.region);
      if (!n.ok() || !n->ends_with(padding) || n->size() < k + 2) continue;
      std::string candidate = n->substr(0, n->size() - k);
      auto it = std::find_if(votes.begin(), votes.end(),
                             [&](const auto& v) { return v.first == candidate; });
      if (it == votes.end()) {
        votes.emplace_back(std::move(candidate), 1);
      } else {
        ++it->second;
        std::rotate(it, it + 1, votes.end());  // most recent last: wins ties below
      }
    }
    int best = 0;
    for (const auto& [candidate, count] : votes) {
      if (count >= best) {
        best = count;
        prefix = candidate;
      }
    }
    if (prefix.empty()) {
      return RowError(base::StrCat("prefix: national notation of ", digits.size(),
                                   " digits does not begin a telephone number in region ",
                                   ctx.options.region));
    }
  }
  size_t n = prefix.size() - 1;
  if (!IsE164(prefix) || n < kMinPrefixDigits) {
    return RowError(base::StrCat("prefix: has ", n, " digits after normalisation; a prefix has ",
                                 kMinPrefixDigits, " to ", kMaxNumberDigits, " digits"));
  }
  return prefix;
}

// Decodes %XX escapes (RFC 3261 19.1.2 allows them in the user part); undecodable ones stay.
std::string PercentDecode(std::string_view s) {
  auto hex = [](char c) -> int {
    if (IsDigit(c)) return c - '0';
    c = Lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
  };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// The number a sip:/sips: URI (or name-addr) stands for when its user part is a telephone number:
// a global number ("+31-20-555-1234", RFC 3966 visual separators allowed), or any user part with
// the user=phone parameter (RFC 3261 19.1.1). nullopt when the user part is not claimed to be a
// number; an error when it is claimed but is not one.
absl::StatusOr<std::optional<std::string>> SipUriNumber(const RowContext& ctx,
                                                        std::string_view text) {
  std::string lower = ToLower(text);
  size_t from = lower.find('<');
  from = from == std::string::npos ? 0 : from + 1;
  size_t scheme = lower.find("sip:", from);
  size_t sips = lower.find("sips:", from);
  size_t start;
  if (sips != std::string::npos && (scheme == std::string::npos || sips < scheme)) {
    start = sips + 5;
  } else if (scheme != std::string::npos) {
    start = scheme + 4;
  } else {
    return std::optional<std::string>();
  }
  std::string_view addr(lower);
  addr = addr.substr(start, addr.find('>', start) - start);
  size_t at = addr.find('@');
  if (at == std::string_view::npos) return std::optional<std::string>();
  std::string user = PercentDecode(addr.substr(0, at));
  std::string_view rest = addr.substr(at + 1);
  rest = rest.substr(0, rest.find('?'));
  bool user_phone = false;
  for (size_t p = rest.find(';'); p != std::string_view::npos; p = rest.find(';', p + 1)) {
    std::string_view param = rest.substr(p + 1, rest.find(';', p + 1) - p - 1);
    if (Trim(param) == "user=phone") user_phone = true;
  }
  std::string_view main(user);
  std::string_view context;
  if (size_t semi = main.find(';'); semi != std::string_view::npos) {
    std::string_view params = main.substr(semi);
    main = main.substr(0, semi);
    if (size_t pc = params.find(";phone-context="); pc != std::string_view::npos) {
      context = params.substr(pc + 15);
      context = context.substr(0, context.find(';'));
    }
  }
  auto visual = [](char c) { return IsDigit(c) || c == '-' || c == '.' || c == '(' || c == ')'; };
  bool global =
      main.size() > 1 && main.front() == '+' && std::all_of(main.begin() + 1, main.end(), visual);
  if (!global && !user_phone) return std::optional<std::string>();
  bool numeric = !main.empty() &&
                 std::all_of(main.begin() + (main.front() == '+' ? 1 : 0), main.end(), visual);
  if (!numeric) {
    return RowError("uri: user=phone, but the user part is not a telephone number");
  }
  std::string number(main);
  if (!global && !context.empty()) {
    // RFC 3966 5.1.5: a local number with a global-number-digits context is that prefix + digits;
    // a domain-name context cannot be turned into E.164, so the URI alone is listed.
    if (context.front() != '+') return std::optional<std::string>();
    number = base::StrCat(context, main);
  }
  ASSIGN_OR_RETURN(std::string e164, ListNumber(ctx, number, "uri: the user part"));
  return std::optional<std::string>(std::move(e164));
}

enum class Column : uint8_t { kIdentity, kType, kSource, kValidFrom, kValidTo, kRef };
constexpr std::array<std::pair<std::string_view, Column>, 6> kColumns = {{
    {"identity", Column::kIdentity},
    {"type", Column::kType},
    {"source", Column::kSource},
    {"valid_from", Column::kValidFrom},
    {"valid_to", Column::kValidTo},
    {"ref", Column::kRef},
}};
constexpr size_t kNoColumn = static_cast<size_t>(-1);

struct Header {
  std::array<size_t, kColumns.size()> index;  // field index of each Column, or kNoColumn
  size_t fields = 0;
};

absl::StatusOr<Header> ReadHeader(const Record& r) {
  if (!r.error.empty()) return RowError(base::StrCat("header: ", r.error));
  Header h;
  h.index.fill(kNoColumn);
  h.fields = r.fields.size();
  for (size_t i = 0; i < r.fields.size(); ++i) {
    std::string name = ToLower(Trim(r.fields[i]));
    auto it = std::find_if(kColumns.begin(), kColumns.end(),
                           [&](const auto& c) { return c.first == name; });
    if (it == kColumns.end()) {
      return RowError(base::StrCat("header: column ", i + 1, QuoteIfWord(name),
                                   " is not one of identity,type,source,valid_from,valid_to,ref "
                                   "(a header line is required)"));
    }
    size_t& slot = h.index[static_cast<size_t>(it->second)];
    if (slot != kNoColumn) {
      return RowError(base::StrCat("header: column '", name, "' appears twice"));
    }
    slot = i;
  }
  if (h.index[static_cast<size_t>(Column::kIdentity)] == kNoColumn) {
    return RowError("header: no identity column");
  }
  return h;
}

std::string_view Field(const Record& r, const Header& h, Column c) {
  size_t i = h.index[static_cast<size_t>(c)];
  return i == kNoColumn ? std::string_view() : Trim(r.fields[i]);
}

// The entries of one data row (one, or two for a sip: URI with a telephone-number user part).
absl::Status RowEntries(const RowContext& ctx, const Record& r, const Header& h,
                        std::vector<Entry>& out) {
  if (!r.error.empty()) return RowError(r.error);
  if (r.fields.size() != h.fields) {
    return RowError(base::StrCat("has ", r.fields.size(), " fields, the header has ", h.fields));
  }
  const size_t ref_index = h.index[static_cast<size_t>(Column::kRef)];
  for (size_t i = 0; i < r.fields.size(); ++i) {
    if (!IsValidUtf8(r.fields[i])) return RowError(base::StrCat("field ", i + 1, " is not UTF-8"));
    // ref is opaque and may span lines; no field may hold other control characters (NUL
    // separates fields in the store's entry keys).
    std::string_view f = Trim(r.fields[i]);
    bool bad =
        i == ref_index
            ? std::any_of(f.begin(), f.end(),
                          [](char c) {
                            auto u = static_cast<unsigned char>(c);
                            return (u < 0x20 && c != '\t' && c != '\n' && c != '\r') || u == 0x7F;
                          })
            : HasControl(f);
    if (bad) return RowError(base::StrCat("field ", i + 1, " contains a control character"));
  }
  std::string_view id = Field(r, h, Column::kIdentity);
  if (id.empty()) return RowError("identity is empty");

  Entry e;
  e.source = std::string(Field(r, h, Column::kSource));
  if (e.source.empty()) e.source = ctx.options.default_source;
  e.ref = std::string(Field(r, h, Column::kRef));
  for (auto [column, slot, name] : {std::tuple{Column::kValidFrom, &e.valid_from_us, "valid_from"},
                                    std::tuple{Column::kValidTo, &e.valid_to_us, "valid_to"}}) {
    std::string_view text = Field(r, h, column);
    if (text.empty()) continue;
    absl::StatusOr<int64_t> t = ParseIsoDateTime(text);
    if (!t.ok()) return RowError(base::StrCat(name, ": ", t.status().message()));
    *slot = *t;
  }
  if (e.valid_from_us && e.valid_to_us && *e.valid_to_us <= *e.valid_from_us) {
    return RowError("valid_to must be later than valid_from (valid_to is exclusive)");
  }

  std::string type_text = ToLower(Field(r, h, Column::kType));
  EntryType type;
  bool sip =
      StartsWithNoCase(id, "sip:") || StartsWithNoCase(id, "sips:") ||
      (id.find('<') != std::string_view::npos && (ToLower(id).find("<sip:") != std::string::npos ||
                                                  ToLower(id).find("<sips:") != std::string::npos));
  bool tel = StartsWithNoCase(id, "tel:");
  if (type_text.empty()) {
    if (id.ends_with('*')) {
      type = EntryType::kPrefix;
    } else if (id.find("..") != std::string_view::npos && !sip &&
               id.find('@') == std::string_view::npos) {
      type = EntryType::kRange;
    } else if (sip) {
      type = EntryType::kUri;
    } else if (!tel &&
               (StartsWithNoCase(id, "mailto:") || id.find('@') != std::string_view::npos)) {
      type = EntryType::kEmail;
    } else {
      type = EntryType::kNumber;
    }
  } else {
    std::optional<EntryType> named = EntryTypeFromName(type_text);
    if (!named) {
      return RowError(base::StrCat("type", QuoteIfWord(type_text),
                                   " is not one of number, prefix, range, uri, email"));
    }
    type = *named;
  }
  if (id.ends_with('*') && type != EntryType::kPrefix) {
    return RowError(
        base::StrCat("identity ends in '*' (a prefix) but type is ", EntryTypeName(type)));
  }

  e.type = type;
  switch (type) {
    case EntryType::kNumber: {
      ASSIGN_OR_RETURN(e.value, ListNumber(ctx, id, "number"));
      break;
    }
    case EntryType::kPrefix: {
      std::string_view digits = id;
      if (digits.ends_with('*')) digits.remove_suffix(1);
      if (digits.find('*') != std::string_view::npos) {
        return RowError("prefix: '*' may appear only once, at the end");
      }
      ASSIGN_OR_RETURN(e.value, NormalizePrefix(ctx, digits));
      break;
    }
    case EntryType::kRange: {
      size_t dots = id.find("..");
      if (dots == std::string_view::npos) {
        return RowError("range: write FROM..TO (two complete numbers)");
      }
      if (id.find("..", dots + 2) != std::string_view::npos) {
        return RowError("range: more than one '..'");
      }
      ASSIGN_OR_RETURN(e.value, ListNumber(ctx, Trim(id.substr(0, dots)), "range: FROM"));
      ASSIGN_OR_RETURN(e.value_to, ListNumber(ctx, Trim(id.substr(dots + 2)), "range: TO"));
      if (e.value.size() != e.value_to.size()) {
        return RowError(base::StrCat("range: FROM has ", e.value.size() - 1, " digits and TO ",
                                     e.value_to.size() - 1, "; both ends must have equal length"));
      }
      if (e.value > e.value_to) return RowError("range: FROM is greater than TO");
      break;
    }
    case EntryType::kUri: {
      if (tel) {
        // A tel: URI (RFC 3966) is a number whatever the type column says.
        e.type = EntryType::kNumber;
        ASSIGN_OR_RETURN(e.value, ListNumber(ctx, id, "uri (tel:)"));
        break;
      }
      absl::StatusOr<std::string> uri = identity::CanonicalSipUri(id);
      if (!uri.ok() || !uri->starts_with("sip:")) {
        return RowError("uri: not a sip: or sips: URI");
      }
      e.value = *std::move(uri);
      ASSIGN_OR_RETURN(std::optional<std::string> number, SipUriNumber(ctx, id));
      if (number) {
        Entry n = e;
        n.type = EntryType::kNumber;
        n.value = *std::move(number);
        out.push_back(std::move(n));
      }
      break;
    }
    case EntryType::kEmail: {
      absl::StatusOr<std::string> email = identity::CanonicalEmail(id);
      if (!email.ok() || email->find('@') == std::string::npos) {
        return RowError("email: not an e-mail address");
      }
      e.value = *std::move(email);
      break;
    }
  }
  out.push_back(std::move(e));
  return absl::OkStatus();
}

bool AllEmpty(const Record& r) {
  return r.error.empty() && std::all_of(r.fields.begin(), r.fields.end(),
                                        [](const std::string& f) { return Trim(f).empty(); });
}

}  // namespace

namespace {

// Rows are validated in chunks, each split across threads: libphonenumber costs microseconds per
// number, and a list has a million. Entries and errors are put back in file order.
constexpr size_t kChunkRows = 8192;
constexpr size_t kMinRowsPerThread = 512;

struct Slice {
  std::vector<Entry> entries;
  std::vector<LineError> errors;
};

void ValidateRows(const RowContext& ctx, const Header& h, std::span<const Record> rows,
                  Slice& out) {
  for (const Record& r : rows) {
    if (AllEmpty(r)) continue;
    absl::Status s = RowEntries(ctx, r, h, out.entries);
    if (!s.ok()) out.errors.push_back({r.line, std::string(base::View(s.message()))});
  }
}

void ValidateChunk(const RowContext& ctx, const Header& h, std::span<const Record> rows,
                   size_t threads, std::vector<Entry>& entries, std::vector<LineError>& errors) {
  threads = std::max<size_t>(1, std::min(threads, rows.size() / kMinRowsPerThread));
  std::vector<Slice> slices(threads);
  const size_t per = (rows.size() + threads - 1) / threads;
  auto part = [&](size_t t) {
    size_t begin = std::min(rows.size(), t * per);
    return rows.subspan(begin, std::min(per, rows.size() - begin));
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) {
    try {
      pool.emplace_back(ValidateRows, std::cref(ctx), std::cref(h), part(t), std::ref(slices[t]));
    } catch (const std::system_error&) {
      ValidateRows(ctx, h, part(t), slices[t]);  // no thread to be had: do it here
    }
  }
  ValidateRows(ctx, h, part(0), slices[0]);
  for (std::thread& t : pool) t.join();
  for (Slice& s : slices) {
    std::move(s.entries.begin(), s.entries.end(), std::back_inserter(entries));
    std::move(s.errors.begin(), s.errors.end(), std::back_inserter(errors));
  }
}

}  // namespace

absl::StatusOr<std::vector<Entry>> ParseListCsv(std::string_view text, const ParseOptions& options,
                                                const identity::Normalizer& normalizer,
                                                std::vector<LineError>* errors,
                                                size_t* duplicates) {
  std::vector<LineError> local;
  std::vector<LineError>& bad = errors != nullptr ? *errors : local;
  bad.clear();
  if (duplicates != nullptr) *duplicates = 0;
  size_t threads = options.threads;
  if (threads == 0) threads = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
  RowContext ctx{options, normalizer};
  CsvReader reader(text);
  std::optional<Header> header;
  std::vector<Entry> entries;
  entries.reserve(static_cast<size_t>(std::count(text.begin(), text.end(), '\n')) + 1);
  std::vector<Record> chunk(kChunkRows);
  size_t rows = 0;
  while (reader.Next(chunk[rows])) {
    if (!header) {
      absl::StatusOr<Header> h = ReadHeader(chunk[rows]);
      if (!h.ok()) {
        bad.push_back({chunk[rows].line, std::string(base::View(h.status().message()))});
        break;  // without a header no row can be read
      }
      header = *std::move(h);
      continue;
    }
    if (++rows == kChunkRows) {
      ValidateChunk(ctx, *header, chunk, threads, entries, bad);
      rows = 0;
    }
  }
  if (header && rows > 0) {
    ValidateChunk(ctx, *header, std::span(chunk).first(rows), threads, entries, bad);
  }
  if (!header && bad.empty()) bad.push_back({1, "no header line (the file is empty)"});
  if (!bad.empty()) {
    std::string msg = base::StrCat("privileged list rejected: ", bad.size(),
                                   bad.size() == 1 ? " bad line" : " bad lines");
    for (const LineError& e : bad) msg += base::StrCat("; line ", e.line, ": ", e.reason);
    return absl::InvalidArgumentError(msg);
  }
  // Sorted and unique: an order of indices is sorted rather than the entries themselves (an Entry
  // is about 170 bytes; a million of them moved around costs more than the comparisons).
  std::vector<uint32_t> order(entries.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  if (!std::is_sorted(entries.begin(), entries.end())) {
    std::sort(order.begin(), order.end(),
              [&](uint32_t a, uint32_t b) { return entries[a] < entries[b]; });
  }
  std::vector<Entry> out;
  out.reserve(entries.size());
  for (uint32_t i : order) {
    if (out.empty() || out.back() != entries[i]) out.push_back(std::move(entries[i]));
  }
  if (duplicates != nullptr) *duplicates = entries.size() - out.size();
  return out;
}

}  // namespace tapvault::privileged
