// Syntax of party identities, without any numbering-plan knowledge: splits a notation (name-addr,
// sip:/sips:/tel:/mailto: URI, bare e-mail address, number with separators, ISUP digits) into the
// telephone numbers, the canonical SIP URI and the e-mail addresses it holds. identity.cc turns
// the numbers into E.164 readings with libphonenumber. Private to identity/.
// Thread-safe: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tapvault::identity::internal {

inline constexpr size_t kMaxInputBytes = 2048;  // longer input is garbage, not an identity
inline constexpr size_t kMaxDigits = 48;        // per number; ISUP allows 2 x 16 digits at most
inline constexpr size_t kMaxAddresses = 16;     // e-mail addresses of one mailto: URI

// A telephone number as written, before it is read in a numbering plan.
struct NumberText {
  // Written as a global number ("+31...", tel:+..., a phone-context of "+..." prepended).
  bool global = false;
  // Digits as dialled: 0-9, and '*' / '#' (ISUP, DSS1 and tel: local numbers may carry them).
  std::string digits;
  // "+31 (0)20...": the digits without the parenthesised trunk zero (empty when none).
  std::string digits_without_trunk_zero;
  // tel: ";ext=" or "ext./x" in a free notation: digits dialled after the number.
  std::string ext;
  // A local number whose phone-context is a global number: the context's digits ("3120").
  // digits then holds the local part only; the reader prepends the context.
  std::string context_digits;
  // The decoder's nature of address applies (bare digits as an IRI gives them); false for URIs.
  bool bare = false;
};

struct Notation {
  std::vector<NumberText> numbers;
  std::string sip_uri;              // canonical "sip:user@host", or "" when none
  std::vector<std::string> emails;  // canonical "local@domain"
  bool empty() const { return numbers.empty() && sip_uri.empty() && emails.empty(); }
};

// Everything `text` can be read as, syntactically. Empty when it is none of the notations.
Notation ParseNotation(std::string_view text);

// The canonical sip URI of a "sip:"/"sips:" URI or of a name-addr holding one; "" if none.
std::string CanonicalSip(std::string_view text);
// The canonical e-mail address(es) of "mailto:..." or a bare "local@domain"; empty if none.
std::vector<std::string> CanonicalEmails(std::string_view text);

// A free notation of one number ("+31 (0)20-555 12 34", "0031205551234", "020/5551234 x12",
// ISUP digits with '*', '#' or trailing filler 'F'). False when `text` is not one number.
// `strict` (list import): no '*', '#', filler or extension.
bool ParseFreeNumber(std::string_view text, bool strict, NumberText& out);

// A tel: URI's telephone-subscriber (after "tel:"), or a SIP user part read as one. `allow_marks`:
// '*' and '#' are allowed (tel: local numbers, user=phone).
bool ParseTelSubscriber(std::string_view sub, bool allow_marks, NumberText& out);

// Case-insensitive ASCII prefix test.
bool StartsWithNoCase(std::string_view s, std::string_view prefix);
std::string_view Trim(std::string_view s);

}  // namespace tapvault::identity::internal
