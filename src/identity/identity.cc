#include "identity/identity.h"

#include <phonenumbers/phonemetadata.pb.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <algorithm>
#include <array>
#include <bitset>
#include <map>
#include <optional>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "base/strings.h"
#include "identity/internal/notation.h"

// libphonenumber's compiled-in metadata, the very bytes PhoneNumberUtil reads: declared in its
// sources' metadata.h (not installed by Debian's libphonenumber-dev) and exported by the library.
// Read once, to learn which national prefixes libphonenumber may strip behind a country code; the
// fast path is off if it cannot be read (see Impl::Impl).
namespace i18n::phonenumbers {
int metadata_size();
const void* metadata_get();
}  // namespace i18n::phonenumbers

namespace tapvault::identity {
namespace {

namespace pn = ::i18n::phonenumbers;
using internal::NumberText;

constexpr uint16_t kAllDigits = 0x3ff;

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// The digits a non-empty match of a libphonenumber metadata pattern (RE2 syntax) can begin with,
// as a bit mask: FIRST of the regular expression, computed over the syntax the metadata uses
// (literals, classes, \d, groups, alternation, quantifiers, anchors). Anything else gives all ten
// digits, so the answer is never smaller than the truth. The input it is matched against holds
// digits only, so a non-digit literal can begin no match.
class FirstDigits {
 public:
  static uint16_t Of(std::string_view pattern) {
    FirstDigits p(pattern);
    Set s = p.Alternation();
    if (!p.ok_ || p.pos_ != pattern.size()) return kAllDigits;
    return s.first;
  }

 private:
  struct Set {
    uint16_t first = 0;
    bool nullable = false;  // matches the empty string
  };

  explicit FirstDigits(std::string_view p) : p_(p) {}

  bool More() const { return pos_ < p_.size(); }
  char Peek() const { return p_[pos_]; }

  Set Alternation() {
    Set s = Sequence();
    while (ok_ && More() && Peek() == '|') {
      ++pos_;
      Set t = Sequence();
      s.first |= t.first;
      s.nullable |= t.nullable;
    }
    return s;
  }

  Set Sequence() {
    Set s{0, true};
    while (ok_ && More() && Peek() != '|' && Peek() != ')') {
      Set item = Quantified();
      if (s.nullable) s.first |= item.first;
      s.nullable = s.nullable && item.nullable;
    }
    return s;
  }

  Set Quantified() {
    Set s = Atom();
    while (ok_ && More()) {
      char c = Peek();
      if (c == '?' || c == '*') {
        s.nullable = true;
        ++pos_;
      } else if (c == '+') {
        ++pos_;
      } else if (c == '{') {
        size_t close = p_.find('}', pos_);
        if (close == std::string_view::npos) return Fail();
        std::string_view range = p_.substr(pos_ + 1, close - pos_ - 1);
        if (range.empty() || range.find_first_not_of("0123456789,") != std::string_view::npos) {
          return Fail();
        }
        if (range.front() == '0' && (range.size() == 1 || range[1] == ',')) s.nullable = true;
        pos_ = close + 1;
      } else {
        break;
      }
    }
    return s;
  }

  Set Atom() {
    char c = Peek();
    ++pos_;
    if (c >= '0' && c <= '9') return Set{static_cast<uint16_t>(1u << (c - '0')), false};
    if (c == '(') {
      if (p_.substr(pos_, 2) == "?:") pos_ += 2;
      Set s = Alternation();
      if (!More() || Peek() != ')') return Fail();
      ++pos_;
      return s;
    }
    if (c == '[') return Class();
    if (c == '\\') {
      if (More() && Peek() == 'd') {
        ++pos_;
        return Set{kAllDigits, false};
      }
      return Fail();
    }
    if (c == '^' || c == '$') return Set{0, true};  // anchors match empty
    if (c == '.' || c == ')' || c == '|' || c == '?' || c == '*' || c == '+' || c == '{') {
      return Fail();
    }
    return Set{0, false};  // a non-digit literal: no digit string begins with it
  }

  Set Class() {
    if (More() && Peek() == '^') return Fail();
    uint16_t mask = 0;
    while (More() && Peek() != ']') {
      char lo = Peek();
      ++pos_;
      if (lo == '\\') return Fail();
      char hi = lo;
      if (pos_ + 1 < p_.size() && Peek() == '-' && p_[pos_ + 1] != ']') {
        hi = p_[pos_ + 1];
        pos_ += 2;
      }
      for (char d = '0'; d <= '9'; ++d) {
        if (d >= lo && d <= hi) mask |= 1u << (d - '0');
      }
    }
    if (!More()) return Fail();
    ++pos_;  // ']'
    return Set{mask, false};
  }

  Set Fail() {
    ok_ = false;
    pos_ = p_.size();
    return Set{kAllDigits, true};
  }

  std::string_view p_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// ISO 3166-1 alpha-2, upper case; also the EU's own codes for two countries, which appear in
// configurations and headers: "UK" (GB) and "EL" (GR).
std::string CanonicalRegion(std::string_view r) {
  std::string out(r);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  if (out == "UK") return "GB";
  if (out == "EL") return "GR";
  return out;
}

// Readings in the order found, without duplicates (a handful per input: linear search).
class ReadingList {
 public:
  void Add(Reading::Kind kind, std::string value) {
    for (const Reading& r : readings_) {
      if (r.kind == kind && r.value == value) return;
    }
    readings_.push_back(Reading{kind, std::move(value)});
  }
  void AddNumber(std::string value) { Add(Reading::Kind::kNumber, std::move(value)); }
  std::vector<Reading>& readings() { return readings_; }

 private:
  std::vector<Reading> readings_;
};

}  // namespace

// What the readings need of a region's numbering plan.
struct RegionInfo {
  std::string code;               // "NL"; "ZZ" for an unknown default region
  int cc = 0;                     // 31; 0 when unknown
  std::string cc_str;             // "31"
  std::string ndd;                // national (trunk) prefix digits, "0"; "" when none (IT, ES)
  std::vector<std::string> idds;  // international call prefixes as digits, longest first
};

class Normalizer::Impl {
 public:
  explicit Impl(std::string default_region);

  const RegionInfo& Region(std::string_view country) const;
  // The one reading of input that is already canonical, without libphonenumber; nullopt when
  // the input is not (provably) such.
  std::optional<std::string> Fast(std::string_view text, const Context& ctx) const;
  void ReadNumber(const NumberText& n, Nature nature, const RegionInfo& region,
                  ReadingList& out) const;
  absl::StatusOr<std::string> ListNumber(std::string_view text, std::string_view region) const;

  std::string default_region_;

 private:
  bool Lib(const std::string& number, const std::string& region, std::string& e164) const;
  size_t CcLength(std::string_view digits) const;
  bool ParseUnchanged(std::string_view p) const;
  void ReadDigits(std::string_view d, Nature nature, const RegionInfo& region,
                  ReadingList& out) const;
  void International(std::string_view p, const RegionInfo& region, ReadingList& out) const;
  void Unknown(std::string_view d, const RegionInfo& region, ReadingList& out) const;
  void National(std::string_view d, const RegionInfo& region, ReadingList& out) const;

  const pn::PhoneNumberUtil& util_;
  std::map<std::string, RegionInfo, std::less<>> regions_;
  RegionInfo unknown_region_;
  const RegionInfo* default_info_ = nullptr;
  std::bitset<1000> valid_cc_;
  std::array<std::string, 1000> cc_region_{};  // main region of a calling code
  // Per calling code: the first digits of a national significant number at which libphonenumber
  // may strip a national prefix (so "+31 0..." is not read digit for digit). All ten when unsure.
  std::array<uint16_t, 1000> strip_first_{};
  bool fast_ok_ = false;
};

Normalizer::Impl::Impl(std::string default_region)
    : default_region_(CanonicalRegion(default_region)), util_(*pn::PhoneNumberUtil::GetInstance()) {
  strip_first_.fill(kAllDigits);
  std::set<int> codes;
  util_.GetSupportedCallingCodes(&codes);
  for (int cc : codes) {
    if (cc > 0 && cc < 1000) {
      valid_cc_.set(cc);
      util_.GetRegionCodeForCountryCode(cc, &cc_region_[cc]);
    }
  }

  pn::PhoneMetadataCollection collection;
  std::map<std::string, const pn::PhoneMetadata*> by_region;
  if (collection.ParseFromArray(pn::metadata_get(), pn::metadata_size())) {
    std::array<uint16_t, 1000> mask{};
    std::bitset<1000> seen;
    for (const pn::PhoneMetadata& m : collection.metadata()) {
      by_region[m.id()] = &m;
      int cc = m.country_code();
      // libphonenumber reads "+<cc>..." with the metadata of the calling code's main region
      // (GB for 44, US for 1; "001" for the non-geographic codes): ParseHelper, country_code
      // != 0. Only that region's national prefix can be stripped after the country code.
      if (cc <= 0 || cc >= 1000 || m.id() != cc_region_[cc]) continue;
      seen.set(cc);
      // A national prefix pattern that can only match empty at the number's first digit
      // consumes nothing, and a transform rule applies only when it captured digits
      // (MaybeStripNationalPrefixAndCarrierCode): the first digit decides.
      mask[cc] |=
          FirstDigits::Of(m.national_prefix_for_parsing()) | FirstDigits::Of(m.national_prefix());
    }
    // Only where the metadata covers every calling code libphonenumber knows.
    if ((valid_cc_ & ~seen).none()) {
      strip_first_ = mask;
      fast_ok_ = true;
    }
  }

  std::set<std::string> supported;
  util_.GetSupportedRegions(&supported);
  for (const std::string& code : supported) {
    RegionInfo info;
    info.code = code;
    info.cc = util_.GetCountryCodeForRegion(code);
    info.cc_str = base::StrCat(info.cc);
    util_.GetNddPrefixForRegion(code, /*strip_non_digits=*/true, &info.ndd);
    // "00" where libphonenumber itself takes it as this region's international prefix.
    pn::PhoneNumber probe;
    if (util_.ParseAndKeepRawInput("00442079460018", code, &probe) ==
            pn::PhoneNumberUtil::NO_PARSING_ERROR &&
        probe.country_code_source() == pn::PhoneNumber::FROM_NUMBER_WITH_IDD &&
        probe.country_code() == 44) {
      info.idds.push_back("00");
    }
    if (auto it = by_region.find(code); it != by_region.end()) {
      for (const std::string* p :
           {&it->second->preferred_international_prefix(), &it->second->international_prefix()}) {
        if (AllDigits(*p) && *p != "00") info.idds.push_back(*p);
      }
    }
    std::sort(info.idds.begin(), info.idds.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    info.idds.erase(std::unique(info.idds.begin(), info.idds.end()), info.idds.end());
    regions_.emplace(code, std::move(info));
  }
  unknown_region_.code = "ZZ";
  auto it = regions_.find(default_region_);
  default_info_ = it != regions_.end() ? &it->second : &unknown_region_;
}

const RegionInfo& Normalizer::Impl::Region(std::string_view country) const {
  if (country.size() == 2) {
    auto it = regions_.find(CanonicalRegion(country));
    if (it != regions_.end()) return it->second;
  }
  return *default_info_;
}

bool Normalizer::Impl::Lib(const std::string& number, const std::string& region,
                           std::string& e164) const {
  pn::PhoneNumber parsed;
  if (util_.Parse(number, region, &parsed) != pn::PhoneNumberUtil::NO_PARSING_ERROR) return false;
  util_.Format(parsed, pn::PhoneNumberUtil::E164, &e164);
  return e164.size() >= 2 && e164[0] == '+' && AllDigits(std::string_view(e164).substr(1));
}

size_t Normalizer::Impl::CcLength(std::string_view digits) const {
  int cc = 0;
  for (size_t len = 1; len <= 3 && len <= digits.size(); ++len) {
    cc = cc * 10 + (digits[len - 1] - '0');
    if (valid_cc_.test(cc)) return len;
  }
  return 0;
}

// Whether libphonenumber reads "+" `p` as exactly those digits (or rejects it, so that the
// digit-level reading is the only one): true unless the national significant number begins with
// a digit at which a national prefix may be stripped. REQUIRES: p all digits, p[0] != '0'.
bool Normalizer::Impl::ParseUnchanged(std::string_view p) const {
  size_t cc_len = CcLength(p);
  if (cc_len == 0 || cc_len == p.size()) return true;
  int cc = 0;
  for (size_t i = 0; i < cc_len; ++i) cc = cc * 10 + (p[i] - '0');
  return (strip_first_[cc] & (1u << (p[cc_len] - '0'))) == 0;
}

std::optional<std::string> Normalizer::Impl::Fast(std::string_view text, const Context& ctx) const {
  if (!fast_ok_ || text.size() < 2 || text.size() > internal::kMaxDigits) return std::nullopt;
  if (text[0] == '+') {
    std::string_view p = text.substr(1);
    if (p[0] != '0' && AllDigits(p) && ParseUnchanged(p)) return std::string(text);
    return std::nullopt;
  }
  if (text[0] == '0' || !AllDigits(text)) return std::nullopt;
  if (ctx.nature == Nature::kInternational) {
    if (ParseUnchanged(text)) return base::StrCat("+", text);
  } else if (ctx.nature == Nature::kNational) {
    const RegionInfo& r = Region(ctx.country);
    if (r.cc == 0 || (!r.ndd.empty() && text.starts_with(r.ndd))) return std::nullopt;
    std::string p = base::StrCat(r.cc_str, text);
    if (ParseUnchanged(p)) return base::StrCat("+", p);
  }
  return std::nullopt;
}

// "+" p: libphonenumber's reading, then the digits as they are.
void Normalizer::Impl::International(std::string_view p, const RegionInfo& region,
                                     ReadingList& out) const {
  if (p.empty()) return;
  if (p[0] == '0') {  // "+0...": no country code begins with 0; the "+" is a mistake
    Unknown(p, region, out);
    return;
  }
  std::string plus = base::StrCat("+", p);
  std::string e164;
  if (Lib(plus, "ZZ", e164)) out.AddNumber(std::move(e164));
  out.AddNumber(std::move(plus));
}

// Digits without nature in `region`: libphonenumber's reading; the digit-level one (after an
// international prefix, after a national prefix, or a subscriber number); and, when they begin
// with a country code, as an international number.
void Normalizer::Impl::Unknown(std::string_view d, const RegionInfo& region,
                               ReadingList& out) const {
  if (d.empty()) return;
  std::string e164;
  if (region.cc != 0 && Lib(std::string(d), region.code, e164)) out.AddNumber(std::move(e164));
  for (const std::string& idd : region.idds) {
    if (d.size() > idd.size() && d.starts_with(idd)) {
      // After the international prefix: certainly international (RU's "810..." is not +81).
      std::string_view rest = d.substr(idd.size());
      if (rest[0] != '0') International(rest, region, out);
      return;
    }
  }
  if (region.cc != 0) {
    if (!region.ndd.empty() && d.size() > region.ndd.size() && d.starts_with(region.ndd)) {
      out.AddNumber(base::StrCat("+", region.cc_str, d.substr(region.ndd.size())));
    } else {
      out.AddNumber(base::StrCat("+", region.cc_str, d));
    }
  }
  if (d[0] != '0' && CcLength(d) != 0) International(d, region, out);
}

// National significant digits (nature national): the country code of `region` before them; if
// they begin with the national prefix after all, also without it.
void Normalizer::Impl::National(std::string_view d, const RegionInfo& region,
                                ReadingList& out) const {
  if (region.cc == 0) {
    Unknown(d, region, out);
    return;
  }
  International(base::StrCat(region.cc_str, d), region, out);
  if (!region.ndd.empty() && d.size() > region.ndd.size() && d.starts_with(region.ndd)) {
    out.AddNumber(base::StrCat("+", region.cc_str, d.substr(region.ndd.size())));
  }
}

void Normalizer::Impl::ReadDigits(std::string_view d, Nature nature, const RegionInfo& region,
                                  ReadingList& out) const {
  if (d.find_first_of("*#") != std::string_view::npos) {
    // Q.763 digits 11 and 12 ('*', '#'): a service code before the number ("*31#" hides the
    // caller, "*21*...#" forwards to it) or an end mark / DTMF after it. The number is the first
    // run of at least 3 digits that is not such a service code (a run right after a leading mark
    // and followed by another mark).
    size_t i = 0;
    bool first = true;
    bool marked_start = d[0] == '*' || d[0] == '#';
    while (i < d.size()) {
      size_t j = d.find_first_of("*#", i);
      if (j == std::string_view::npos) j = d.size();
      std::string_view run = d.substr(i, j - i);
      if (!run.empty()) {
        bool service_code = first && marked_start && j < d.size() && run.size() <= 3;
        if (run.size() >= 3 && !service_code) {
          ReadDigits(run, nature, region, out);
          return;
        }
        first = false;
      }
      i = j + 1;
    }
    return;
  }
  switch (nature) {
    case Nature::kInternational:
      International(d, region, out);
      break;
    case Nature::kNational:
      National(d, region, out);
      break;
    default:
      Unknown(d, region, out);
      break;
  }
}

void Normalizer::Impl::ReadNumber(const NumberText& n, Nature nature, const RegionInfo& region,
                                  ReadingList& out) const {
  ReadingList base;
  Nature effective = n.global ? Nature::kInternational : n.bare ? nature : Nature::kUnknown;
  if (!n.context_digits.empty()) {
    // tel:5551234;phone-context=+3120: the context's digits lead (as libphonenumber reads it);
    // a context that is just a country code also names the region to read the local number in.
    if (AllDigits(n.digits)) {
      International(base::StrCat(n.context_digits, n.digits), region, base);
    }
    size_t cc_len = CcLength(n.context_digits);
    if (cc_len != 0 && cc_len == n.context_digits.size()) {
      auto it = regions_.find(cc_region_[std::stoi(n.context_digits)]);
      if (it != regions_.end()) ReadDigits(n.digits, Nature::kUnknown, it->second, base);
    }
  } else if (!n.digits_without_trunk_zero.empty()) {
    // "+31 (0)20 ...": libphonenumber's reading of it as written (it drops the zero where the
    // zero is a national prefix, keeps it in Italy), and the digits without the zero.
    std::string e164;
    if (AllDigits(n.digits) && Lib(base::StrCat(n.global ? "+" : "", n.digits),
                                   n.global ? std::string("ZZ") : region.code, e164)) {
      base.AddNumber(std::move(e164));
    }
    ReadDigits(n.digits_without_trunk_zero, effective, region, base);
  } else {
    ReadDigits(n.digits, effective, region, base);
  }
  for (Reading& r : base.readings()) out.AddNumber(r.value);
  if (!n.ext.empty()) {
    for (Reading& r : base.readings()) out.AddNumber(base::StrCat(r.value, n.ext));
  }
}

absl::StatusOr<std::string> Normalizer::Impl::ListNumber(std::string_view text,
                                                         std::string_view region) const {
  auto invalid = [](std::string_view why) {
    return absl::InvalidArgumentError(base::StrCat("identity: not a telephone number: ", why));
  };
  std::string_view t = internal::Trim(text);
  if (t.empty()) return invalid("empty");
  if (t.size() > internal::kMaxInputBytes) return invalid("longer than 2048 bytes");
  std::string region_code = region.empty() ? default_region_ : CanonicalRegion(region);
  if (regions_.find(region_code) == regions_.end()) {
    return invalid(base::StrCat("unknown region \"", region_code, "\""));
  }
  NumberText n;
  std::string for_lib;
  if (internal::StartsWithNoCase(t, "tel:")) {
    if (!internal::ParseTelSubscriber(t.substr(4), /*allow_marks=*/false, n)) {
      return invalid("not a tel: URI of one number");
    }
    if (!n.ext.empty()) return invalid("an extension (;ext=) is not part of a number");
    for_lib = n.context_digits.empty() ? base::StrCat(n.global ? "+" : "", n.digits)
                                       : base::StrCat("+", n.context_digits, n.digits);
  } else {
    for (size_t i = 0; i < t.size(); ++i) {
      char c = t[i];
      if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return invalid("contains letters");
      if (c == '*' || c == '#') return invalid("contains '*' or '#'");
      if (c == '+' && i != 0) return invalid("'+' inside the number");
      if (c == ',' || c == ';') return invalid("more than one number or a parameter");
    }
    if (!internal::ParseFreeNumber(t, /*strict=*/true, n)) {
      return invalid("unexpected characters");
    }
    for_lib = base::StrCat(n.global ? "+" : "", n.digits);
  }
  size_t digits = 0;
  for (char c : for_lib) digits += (c >= '0' && c <= '9') ? 1 : 0;
  if (digits < 3) return invalid("fewer than 3 digits");
  pn::PhoneNumber parsed;
  switch (util_.Parse(for_lib, region_code, &parsed)) {
    case pn::PhoneNumberUtil::NO_PARSING_ERROR:
      break;
    case pn::PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
      return invalid("no valid country code");
    case pn::PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
      return invalid("too short after the international prefix");
    case pn::PhoneNumberUtil::TOO_SHORT_NSN:
      return invalid("too short");
    case pn::PhoneNumberUtil::TOO_LONG_NSN:
      return invalid("too long");
    default:
      return invalid("libphonenumber cannot parse it");
  }
  std::string e164;
  util_.Format(parsed, pn::PhoneNumberUtil::E164, &e164);
  return e164;
}

Normalizer::Normalizer(std::string default_region)
    : impl_(std::make_unique<Impl>(std::move(default_region))) {}

Normalizer::~Normalizer() = default;

const std::string& Normalizer::default_region() const { return impl_->default_region_; }

std::vector<Reading> Normalizer::Readings(std::string_view text, const Context& ctx) const {
  if (std::optional<std::string> fast = impl_->Fast(text, ctx)) {
    return {Reading{Reading::Kind::kNumber, *std::move(fast)}};
  }
  return ReadingsWithoutFastPath(text, ctx);
}

bool Normalizer::TakesFastPathForTest(std::string_view text, const Context& ctx) const {
  return impl_->Fast(text, ctx).has_value();
}

std::vector<Reading> Normalizer::ReadingsWithoutFastPath(std::string_view text,
                                                         const Context& ctx) const {
  if (text.size() > internal::kMaxInputBytes) return {};
  internal::Notation notation = internal::ParseNotation(text);
  ReadingList out;
  if (!notation.sip_uri.empty()) out.Add(Reading::Kind::kUri, notation.sip_uri);
  const RegionInfo& region = impl_->Region(ctx.country);
  for (const NumberText& n : notation.numbers) impl_->ReadNumber(n, ctx.nature, region, out);
  for (const std::string& e : notation.emails) out.Add(Reading::Kind::kEmail, e);
  return std::move(out.readings());
}

absl::StatusOr<std::string> Normalizer::ListNumber(std::string_view text,
                                                   std::string_view region) const {
  return impl_->ListNumber(text, region);
}

absl::StatusOr<std::string> CanonicalSipUri(std::string_view text) {
  if (text.size() > internal::kMaxInputBytes) {
    return absl::InvalidArgumentError("identity: sip URI longer than 2048 bytes");
  }
  std::string uri = internal::CanonicalSip(text);
  if (uri.empty()) return absl::InvalidArgumentError("identity: no sip: or sips: URI");
  return uri;
}

absl::StatusOr<std::string> CanonicalEmail(std::string_view text) {
  if (text.size() > internal::kMaxInputBytes) {
    return absl::InvalidArgumentError("identity: e-mail address longer than 2048 bytes");
  }
  std::vector<std::string> emails = internal::CanonicalEmails(text);
  if (emails.size() != 1) {
    return absl::InvalidArgumentError(emails.empty() ? "identity: not an e-mail address"
                                                     : "identity: more than one e-mail address");
  }
  return std::move(emails.front());
}

}  // namespace tapvault::identity
