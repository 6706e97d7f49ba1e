// Party identities as comparable values: every notation in which a telephone number, SIP/SIPS/tel
// URI or e-mail address reaches us (IRI headers, ISUP/DSS1 digits with a nature of address, a list
// delivered by the bar association) is turned into the readings the privileged-party filter
// compares. Numbers become E.164 ("+" and digits) through libphonenumber, with a fast path for
// input that is already canonical whose answers equal libphonenumber's (tested on a corpus in
// testdata/, measured in bench/).
//
//   identity::Normalizer norm("NL");
//   for (const identity::Reading& r : norm.Readings("\"Mr X\" <sip:020-5551234@ims.example;user=phone>;tag=1",
//                                                   {.country = "NL"})) { ... r.kind, r.value ... }
//   ASSIGN_OR_RETURN(std::string e164, norm.ListNumber("+31 (0)20-555 12 34", "NL"));
//
// When a notation can be read more than one way, every plausible reading is returned: the
// filter errs towards protection (a party matches when any reading matches the list).
// Thread-safe: a Normalizer is immutable after construction; share one.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tapvault::identity {

// How the IRI qualified a number's digits (ISUP Q.763 nature of address / DSS1 type of number).
// Mirrors proto::NumberNature without depending on the decoders.
enum class Nature : uint8_t {
  kNotGiven, kUnknown, kSubscriber, kNational, kInternational, kNetworkSpecific, kAbbreviated,
};

struct Reading {
  enum class Kind : uint8_t { kNumber, kUri, kEmail };
  Kind kind = Kind::kNumber;
  // kNumber: "+" then digits (E.164, possibly with digits dialled after the number, e.g.
  //          "+31205551234123"); the filter compares by prefix.
  // kUri:    "sip:user@host" lower-cased, without display name, parameters, headers or port;
  //          a sips: URI reads as sip:.
  // kEmail:  "local@domain" lower-cased.
  std::string value;
  friend bool operator==(const Reading&, const Reading&) = default;
};

struct Context {
  // ISO 3166-1 alpha-2 region of the intercept ("NL"), from the PS-PDU header's authorization or
  // delivery country code; "" = the Normalizer's default region.
  std::string_view country;
  Nature nature = Nature::kNotGiven;
};

class Normalizer {
 public:
  // `default_region`: ISO 3166-1 alpha-2; used when the context gives no country.
  explicit Normalizer(std::string default_region = "NL");
  ~Normalizer();
  Normalizer(const Normalizer&) = delete;
  Normalizer& operator=(const Normalizer&) = delete;

  // Every plausible reading of a party identity as the decoders report it: bare digits (with
  // ctx.nature), "+31...", "0031...", "tel:" and "sip:"/"sips:" URIs (user=phone, phone-context,
  // visual separators), a whole name-addr ("Name" <sip:...>;tag=x), "mailto:" or a bare e-mail
  // address. Deduplicated, in a stable order. Empty when nothing in `text` can be an identity.
  std::vector<Reading> Readings(std::string_view text, const Context& ctx) const;

  // The same answers computed by libphonenumber alone, without the fast path (the benchmark's
  // baseline and the equality test's reference).
  std::vector<Reading> ReadingsWithoutFastPath(std::string_view text, const Context& ctx) const;

  // Whether Readings(text, ctx) answers on the fast path (tests and the benchmark check that
  // canonical input does).
  bool TakesFastPathForTest(std::string_view text, const Context& ctx) const;

  // A number as a list deliverer writes it ("+31 20 555 1234", "+31 (0)20-555 12 34",
  // "0031205551234", "020-5551234" read in `region`, "tel:+31-20-555-1234") → E.164.
  // InvalidArgument (with the reason) when it is not one telephone number.
  absl::StatusOr<std::string> ListNumber(std::string_view text, std::string_view region) const;

  const std::string& default_region() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// "sip:Mr.X@Law.Example;transport=tcp" → "sip:mr.x@law.example" (the kUri reading of a URI, or
// of a name-addr); InvalidArgument when `text` holds no sip:/sips: URI.
absl::StatusOr<std::string> CanonicalSipUri(std::string_view text);
// "Mr.X@Law.Example" or "mailto:..." → "mr.x@law.example"; InvalidArgument if not an address.
absl::StatusOr<std::string> CanonicalEmail(std::string_view text);

}  // namespace tapvault::identity
