#include "proto/record/record.h"

namespace tapvault::proto {

std::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kUnknown: return "unknown";
    case Kind::kIriBegin: return "iri-begin";
    case Kind::kIriContinue: return "iri-continue";
    case Kind::kIriEnd: return "iri-end";
    case Kind::kIriReport: return "iri-report";
    case Kind::kIri: return "iri";
    case Kind::kCc: return "cc";
    case Kind::kKeepalive: return "keepalive";
    case Kind::kKeepaliveResponse: return "keepalive-response";
    case Kind::kIntegrityCheck: return "integrity-check";
    case Kind::kTestPdu: return "test";
    case Kind::kPadding: return "padding";
    case Kind::kFirstSegment: return "first-segment";
    case Kind::kLastSegment: return "last-segment";
    case Kind::kCinReset: return "cin-reset";
    case Kind::kOperatorMessage: return "operator-message";
    case Kind::kOptionRequest: return "option-request";
    case Kind::kOptionResponse: return "option-response";
    case Kind::kOptionComplete: return "option-complete";
    case Kind::kAckRequest: return "ack-request";
    case Kind::kAckResponse: return "ack-response";
    case Kind::kHi1Operation: return "hi1-operation";
    case Kind::kEncrypted: return "encrypted";
    case Kind::kThreeGppHi1Operation: return "3gpp-hi1-operation";
    case Kind::kIlhi: return "ilhi";
    case Kind::kHi4: return "hi4";
  }
  return "unknown";
}

std::string_view ServiceName(Service service) {
  switch (service) {
    case Service::kNone: return "none";
    case Service::kUnknown: return "unknown";
    case Service::kIpmm: return "ipmm";
    case Service::kIpAccess: return "ipaccess";
    case Service::kPstn: return "pstn";
    case Service::kHi2Ops: return "hi2ops";
    case Service::kEmail: return "email";
    case Service::kMessaging: return "messaging";
    case Service::kL2: return "l2";
    case Service::kUmts: return "umts";
    case Service::kEps: return "eps";
    case Service::kThreeGpp33128: return "3gpp-33128";
    case Service::kOther: return "other";
  }
  return "unknown";
}

std::string_view DirectionName(Direction d) {
  switch (d) {
    case Direction::kFromTarget: return "from-target";
    case Direction::kToTarget: return "to-target";
    case Direction::kIndeterminate: return "indeterminate";
    case Direction::kCombined: return "combined";
    case Direction::kNotApplicable: return "not-applicable";
    case Direction::kAbsent: return "absent";
  }
  return "absent";
}

std::string_view PartyRoleName(PartyRole role) {
  switch (role) {
    case PartyRole::kTarget: return "target";
    case PartyRole::kOriginating: return "originating";
    case PartyRole::kTerminating: return "terminating";
    case PartyRole::kForwardedTo: return "forwarded-to";
    case PartyRole::kRedirecting: return "redirecting";
    case PartyRole::kConferenceMember: return "conference-member";
    case PartyRole::kOther: return "other";
    case PartyRole::kSipRequestUri: return "sip-request-uri";
    case PartyRole::kSipFrom: return "sip-from";
    case PartyRole::kSipTo: return "sip-to";
    case PartyRole::kSipPAssertedIdentity: return "sip-p-asserted-identity";
    case PartyRole::kSipPPreferredIdentity: return "sip-p-preferred-identity";
    case PartyRole::kSipDiversion: return "sip-diversion";
    case PartyRole::kSipHistoryInfo: return "sip-history-info";
    case PartyRole::kSipReferredBy: return "sip-referred-by";
    case PartyRole::kSipReferTo: return "sip-refer-to";
    case PartyRole::kSipContact: return "sip-contact";
    case PartyRole::kSipRemotePartyId: return "sip-remote-party-id";
    case PartyRole::kSipPCalledPartyId: return "sip-p-called-party-id";
  }
  return "other";
}

std::string_view NumberNatureName(NumberNature n) {
  switch (n) {
    case NumberNature::kNotGiven: return "not-given";
    case NumberNature::kUnknown: return "unknown";
    case NumberNature::kSubscriber: return "subscriber";
    case NumberNature::kNational: return "national";
    case NumberNature::kInternational: return "international";
    case NumberNature::kNetworkSpecific: return "network-specific";
    case NumberNature::kAbbreviated: return "abbreviated";
  }
  return "not-given";
}

}  // namespace tapvault::proto
