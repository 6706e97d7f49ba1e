#include "identity/internal/notation.h"

#include <cstdint>

namespace tapvault::identity::internal {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool IsHigh(char c) { return static_cast<unsigned char>(c) >= 0x80; }

std::string LowerCopy(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = Lower(c);
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// RFC 3986 2.1 percent-decoding. A '%' not followed by two hex digits stays as it is (tolerant:
// the list and the readings use this same function, so they agree). False when the result
// holds a control character: such a string is no identity.
bool PercentDecode(std::string_view in, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 && HexValue(in[i + 2]) >= 0) {
      c = static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2]));
      i += 2;
    }
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    out.push_back(c);
  }
  return true;
}

// RFC 3966 visual-separator, plus what people and switches also write: space, '/', tab.
bool IsSeparator(char c) {
  return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')' || c == '/' || c == '\t';
}

// Digits and separators only (an extension, a phone-context): the digits, or "" if anything
// else occurs.
std::string DigitsOf(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (IsDigit(c)) {
      out.push_back(c);
    } else if (!IsSeparator(c)) {
      return "";
    }
  }
  return out.size() <= kMaxDigits ? out : "";
}

size_t CountDigits(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += IsDigit(c) ? 1 : 0;
  return n;
}

// A user part (of a SIP URI, or the local part of an address) that is written as a telephone
// number: an optional '+', then digits and visual separators, at least 3 digits, optionally
// followed by ";phone-context=..." or other tel parameters.
bool LooksLikeNumber(std::string_view user) {
  std::string_view num = user.substr(0, user.find(';'));
  if (!num.empty() && num[0] == '+') num.remove_prefix(1);
  if (num.empty()) return false;
  for (char c : num) {
    if (!IsDigit(c) && c != '-' && c != '.' && c != '(' && c != ')') return false;
  }
  return CountDigits(num) >= 3;
}

// RFC 5322 3.2.3 atext, and '.' between atoms; UTF-8 (RFC 6531) passes.
bool IsEmailLocalChar(char c) {
  static constexpr std::string_view kSpecials = "!#$%&'*+/=?^_`{|}~.-";
  return IsDigit(c) || IsAlpha(c) || IsHigh(c) || kSpecials.find(c) != std::string_view::npos;
}

bool IsHostChar(char c) { return IsDigit(c) || IsAlpha(c) || IsHigh(c) || c == '-' || c == '_'; }

// A domain: labels of letters, digits, '-', '_' (and UTF-8) separated by single dots (a final
// dot is allowed), or an address literal "[...]" (IPv6).
bool ValidDomain(std::string_view d) {
  if (d.empty() || d.size() > 255) return false;
  if (d.front() == '[') {
    if (d.size() < 3 || d.back() != ']') return false;
    for (char c : d.substr(1, d.size() - 2)) {
      if (!(IsDigit(c) || HexValue(c) >= 0 || c == ':' || c == '.' || IsAlpha(c))) return false;
    }
    return true;
  }
  if (d.back() == '.') d.remove_suffix(1);
  if (d.empty()) return false;
  // RFC 1035 2.3.1: a label neither begins nor ends with '-'.
  size_t label = 0;
  char prev = '.';
  for (char c : d) {
    if (c == '.') {
      if (label == 0 || prev == '-') return false;
      label = 0;
    } else if (IsHostChar(c) && !(c == '-' && label == 0)) {
      ++label;
    } else {
      return false;
    }
    prev = c;
  }
  return label > 0 && prev != '-';
}

// "local@domain" → lower-cased, or "" when it is not an address.
std::string CanonicalAddress(std::string_view a) {
  size_t at = a.find('@');
  if (at == std::string_view::npos || a.find('@', at + 1) != std::string_view::npos) return "";
  std::string_view local = a.substr(0, at);
  std::string_view domain = a.substr(at + 1);
  if (local.empty() || local.size() > 64 || !ValidDomain(domain)) return "";
  if (local.front() == '.' || local.back() == '.') return "";
  for (char c : local) {
    if (!IsEmailLocalChar(c)) return "";
  }
  return LowerCopy(a);
}

void AddEmail(std::string email, Notation& out) {
  for (const std::string& e : out.emails) {
    if (e == email) return;
  }
  out.emails.push_back(std::move(email));
}

// "mailto:" URI (RFC 6068): addresses separated by ',', then "?headers".
void ParseMailto(std::string_view body, Notation& out) {
  body = body.substr(0, body.find('?'));
  while (!body.empty() && out.emails.size() < kMaxAddresses) {
    size_t comma = body.find(',');
    std::string decoded;
    if (PercentDecode(Trim(body.substr(0, comma)), decoded)) {
      std::string e = CanonicalAddress(decoded);
      if (!e.empty()) AddEmail(std::move(e), out);
    }
    if (comma == std::string_view::npos) break;
    body.remove_prefix(comma + 1);
  }
}

// A "sip:"/"sips:" URI (RFC 3261 19.1.1; `uri` may carry header parameters after it when it came
// without angle brackets: they are parameters here, and dropped like the URI's own).
void ParseSip(std::string_view uri, Notation& out) {
  std::string_view body = uri.substr(uri.find(':') + 1);
  // '@' occurs in no part after the userinfo (host, parameters, headers are free of it).
  size_t at = body.find('@');
  std::string_view user;
  std::string_view hostpart = body;
  if (at != std::string_view::npos) {
    user = body.substr(0, at);
    hostpart = body.substr(at + 1);
    user = user.substr(0, user.find(':'));  // drop ":password"
    if (user.empty()) return;
  }
  std::string_view host;
  std::string_view rest;
  if (!hostpart.empty() && hostpart.front() == '[') {
    size_t close = hostpart.find(']');
    if (close == std::string_view::npos) return;
    host = hostpart.substr(0, close + 1);
    rest = hostpart.substr(close + 1);
  } else {
    size_t end = hostpart.find_first_of(";?: \t>");
    host = hostpart.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : hostpart.substr(end);
  }
  if (!ValidDomain(host)) return;
  if (!rest.empty() && rest.front() == ':') {  // port
    size_t i = 1;
    while (i < rest.size() && IsDigit(rest[i])) ++i;
    if (i == 1) return;
    rest.remove_prefix(i);
  }
  if (!rest.empty() && rest.front() != ';' && rest.front() != '?') return;
  bool user_phone = false;
  std::string_view params = rest.substr(0, rest.find('?'));
  while (!params.empty()) {
    params.remove_prefix(1);  // ';'
    size_t semi = params.find(';');
    std::string_view p = Trim(params.substr(0, semi));
    if (p.size() == 10 && StartsWithNoCase(p, "user=phone")) user_phone = true;
    if (semi == std::string_view::npos) break;
    params.remove_prefix(semi);
  }
  std::string decoded_user;
  if (!PercentDecode(user, decoded_user)) return;
  std::string canonical = "sip:";
  if (!decoded_user.empty()) {
    if (user_phone) {
      // RFC 3261 19.1.6 / RFC 3966 4: a telephone-subscriber compares without its visual
      // separators ("+31-20-555-1234" equals "+31205551234").
      size_t semi = decoded_user.find(';');
      std::string number;
      for (size_t i = 0; i < decoded_user.size(); ++i) {
        char c = decoded_user[i];
        if (i >= semi || (c != '-' && c != '.' && c != '(' && c != ')')) number.push_back(c);
      }
      if (!number.empty()) decoded_user = std::move(number);
    }
    canonical.append(LowerCopy(decoded_user));
    canonical.push_back('@');
  }
  canonical.append(LowerCopy(host));
  out.sip_uri = std::move(canonical);
  if (!decoded_user.empty() && (user_phone || LooksLikeNumber(decoded_user))) {
    NumberText n;
    if (ParseTelSubscriber(decoded_user, user_phone, n)) out.numbers.push_back(std::move(n));
  }
}

// A bare "local@domain" (no scheme): an e-mail address, and when the local part is written as a
// telephone number (fax and SMS gateways, SIP URIs reported without their scheme) that number.
void ParseBareAddress(std::string_view a, Notation& out) {
  std::string e = CanonicalAddress(a);
  if (e.empty()) return;
  AddEmail(e, out);
  std::string_view local = a.substr(0, a.find('@'));
  if (LooksLikeNumber(local)) {
    NumberText n;
    if (ParseTelSubscriber(local, false, n)) out.numbers.push_back(std::move(n));
  }
}

// One addr-spec or bare notation. `in_brackets`: it came inside "<...>" (so it is a URI, not
// digits from an ISUP decoder).
void ParseAddr(std::string_view a, bool in_brackets, Notation& out) {
  a = Trim(a);
  if (a.empty()) return;
  if (StartsWithNoCase(a, "sip:") || StartsWithNoCase(a, "sips:")) {
    ParseSip(a, out);
    return;
  }
  if (StartsWithNoCase(a, "tel:")) {
    std::string decoded;
    NumberText n;
    if (PercentDecode(a.substr(4), decoded) && ParseTelSubscriber(decoded, true, n)) {
      out.numbers.push_back(std::move(n));
    }
    return;
  }
  if (StartsWithNoCase(a, "mailto:")) {
    ParseMailto(a.substr(7), out);
    return;
  }
  if (a.find('@') != std::string_view::npos) {
    ParseBareAddress(a, out);
    return;
  }
  NumberText n;
  if (ParseFreeNumber(a, false, n)) {
    n.bare = !in_brackets;
    out.numbers.push_back(std::move(n));
  }
}

}  // namespace

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (Lower(s[i]) != Lower(prefix[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool ParseFreeNumber(std::string_view text, bool strict, NumberText& out) {
  text = Trim(text);
  out = NumberText();
  if (text.empty() || text.size() > kMaxInputBytes) return false;
  size_t i = 0;
  if (text[0] == '+') {
    out.global = true;
    i = 1;
  }
  std::string without_zero;
  bool trunk_zero = false;
  size_t n = text.size();
  while (i < n) {
    char c = text[i];
    if (IsDigit(c)) {
      out.digits.push_back(c);
      without_zero.push_back(c);
      ++i;
    } else if (c == '(' && !trunk_zero && !out.digits.empty() && text.substr(i, 3) == "(0)") {
      // "+31 (0)20 ...", "0031 (0)20 ...": the trunk prefix, dialled only from inside the
      // country (the reader tries the number with and without it).
      out.digits.push_back('0');
      trunk_zero = true;
      i += 3;
    } else if (IsSeparator(c)) {
      ++i;
    } else if (c == '\xc2' && i + 1 < n && text[i + 1] == '\xa0') {  // U+00A0 no-break space
      i += 2;
    } else if (c == '*' || c == '#') {
      if (strict) return false;
      out.digits.push_back(c);
      without_zero.push_back(c);
      ++i;
    } else if ((c == 'F' || c == 'f') && !strict) {
      // BCD filler (Q.763 3.9: "F" pads an odd number of digits): only at the very end.
      while (i < n && (text[i] == 'F' || text[i] == 'f')) ++i;
      if (i != n) return false;
    } else {
      // An extension: "x12", "ext. 12", "extension 12", ";ext=12", ",12" (a pause, then DTMF).
      if (strict || CountDigits(out.digits) < 3) return false;
      std::string_view rest = text.substr(i);
      size_t skip = 0;
      for (std::string_view marker : {";ext=", "extension", "ext.", "ext", "x", ","}) {
        if (StartsWithNoCase(rest, marker)) {
          skip = marker.size();
          break;
        }
      }
      if (skip == 0) return false;
      rest.remove_prefix(skip);
      while (!rest.empty() && (rest.front() == ':' || rest.front() == ' ')) rest.remove_prefix(1);
      out.ext = DigitsOf(rest);
      if (out.ext.empty()) return false;
      break;
    }
  }
  if (out.global && out.digits.empty()) return false;
  if (CountDigits(out.digits) == 0 || out.digits.size() > kMaxDigits) return false;
  if (trunk_zero) out.digits_without_trunk_zero = std::move(without_zero);
  return true;
}

bool ParseTelSubscriber(std::string_view sub, bool allow_marks, NumberText& out) {
  out = NumberText();
  std::string_view number = Trim(sub.substr(0, sub.find(';')));
  std::string_view params =
      sub.find(';') == std::string_view::npos ? std::string_view() : sub.substr(sub.find(';'));
  // The number itself as a free notation: visual separators, a "(0)" trunk zero (not RFC 3966,
  // but written), and '*', '#' only in local numbers where allowed.
  bool global = !number.empty() && number.front() == '+';
  if (!ParseFreeNumber(number, /*strict=*/global || !allow_marks, out)) return false;
  while (!params.empty()) {
    params.remove_prefix(1);  // ';'
    size_t semi = params.find(';');
    std::string_view p = Trim(params.substr(0, semi));
    size_t eq = p.find('=');
    std::string_view name = p.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : p.substr(eq + 1);
    if (name.size() == 3 && StartsWithNoCase(name, "ext")) {
      out.ext = DigitsOf(value);
    } else if (name.size() == 13 && StartsWithNoCase(name, "phone-context") && !out.global &&
               !value.empty() && value.front() == '+') {
      // RFC 3966 5.1.5: a global-number-digits context is the number's leading digits.
      out.context_digits = DigitsOf(value.substr(1));
    }
    // ";phone-context=<domain>": read in the intercept's country. ";isub=" is a subaddress
    // behind the number, not dialled digits.
    if (semi == std::string_view::npos) break;
    params.remove_prefix(semi);
  }
  return true;
}

Notation ParseNotation(std::string_view text) {
  Notation out;
  if (text.size() > kMaxInputBytes) return out;
  std::string_view t = Trim(text);
  if (t.empty()) return out;
  size_t lt = std::string_view::npos;
  if (t.front() == '"') {
    // Quoted display name (RFC 3261 25.1 quoted-string): may itself contain '<' and '"'.
    size_t i = 1;
    while (i < t.size() && t[i] != '"') i += (t[i] == '\\') ? 2 : 1;
    if (i >= t.size()) return out;
    lt = t.find_first_not_of(" \t", i + 1);
    if (lt == std::string_view::npos || t[lt] != '<') return out;
  } else {
    lt = t.find('<');
  }
  if (lt != std::string_view::npos) {
    size_t gt = t.find('>', lt);
    if (gt == std::string_view::npos) return out;
    ParseAddr(t.substr(lt + 1, gt - lt - 1), /*in_brackets=*/true, out);
  } else {
    ParseAddr(t, /*in_brackets=*/false, out);
  }
  return out;
}

std::string CanonicalSip(std::string_view text) {
  Notation n = ParseNotation(text);
  return n.sip_uri;
}

std::vector<std::string> CanonicalEmails(std::string_view text) {
  Notation n = ParseNotation(text);
  return n.sip_uri.empty() ? n.emails : std::vector<std::string>();
}

}  // namespace tapvault::identity::internal
