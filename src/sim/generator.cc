#include "sim/generator.h"

#include <algorithm>
#include <cmath>

#include "base/strings.h"
#include "proto/hi2ops/hi2ops_encode.h"
#include "proto/ipaccess/ipaccess_encode.h"
#include "proto/ipmm/ipmm_encode.h"
#include "proto/li_ps/encode.h"
#include "proto/pstn/pstn_encode.h"
#include "sim/g711.h"
#include "sim/packets.h"
#include "sim/sip_messages.h"

namespace tapvault::sim {
namespace {

using base::StrCat;
using proto::Direction;
using proto::Kind;

constexpr int64_t kUsPerMs = 1000;
constexpr int64_t kUsPerS = 1000000;
constexpr int64_t kFrameUs = 20 * kUsPerMs;  // 20 ms of G.711 per RTP packet / bearer PDU
constexpr size_t kSamplesPerFrame = 160;     // 8000 Hz * 20 ms

base::Bytes AsBytes(const std::vector<uint8_t>& v) {
  return {reinterpret_cast<const std::byte*>(v.data()), v.size()};
}

uint32_t FrameCount(uint32_t packets, double duration_s) {
  if (packets != 0) return packets;
  return static_cast<uint32_t>(std::lround(duration_s * 50));
}

// Instance k > 0 of an explicit CIN: a distinct, stable value.
uint32_t InstanceCin(std::optional<uint32_t> given, std::string_view derived_from,
                     uint32_t instance) {
  if (given && instance == 0) return *given;
  if (given) return Fnv1a32(StrCat(*given, "/", instance));
  return Fnv1a32(derived_from);
}

Direction TargetDirection(bool from_caller, CallDirection d) {
  const bool target_is_caller = d == CallDirection::kOutgoing;
  return from_caller == target_is_caller ? Direction::kFromTarget : Direction::kToTarget;
}

// A PSTN party's digits and nature of address from its notation: "+31..." and "0031..." are
// international, "0..." national (trunk prefix dropped), anything else a subscriber number,
// unless the scenario gives the nature.
std::pair<std::string, proto::NumberNature> Digits(const PstnParty& p) {
  std::string_view n = p.number;
  proto::NumberNature nature;
  if (n.starts_with("+")) {
    n.remove_prefix(1);
    nature = proto::NumberNature::kInternational;
  } else if (n.starts_with("00")) {
    n.remove_prefix(2);
    nature = proto::NumberNature::kInternational;
  } else if (n.starts_with("0")) {
    n.remove_prefix(1);
    nature = proto::NumberNature::kNational;
  } else {
    nature = proto::NumberNature::kSubscriber;
  }
  if (p.nature != proto::NumberNature::kNotGiven) {
    // The scenario gives the nature: take the digits as written (only a '+' is dropped).
    return {std::string(p.number.starts_with("+") ? p.number.substr(1) : p.number), p.nature};
  }
  return {std::string(n), nature};
}

// The identity text of a party in sip-uri / tel-url format.
std::string UriFor(const PstnParty& p) {
  if (p.number.starts_with("sip:") || p.number.starts_with("tel:")) return p.number;
  if (p.format == proto::hi2ops::NumberFormat::kTelUrl) return StrCat("tel:", p.number);
  return StrCat("sip:", p.number, "@pstn.invalid;user=phone");
}

// A deterministic byte generator for garbage (xorshift32).
std::vector<std::byte> Garbage(uint32_t seed, size_t n) {
  std::vector<std::byte> out(n);
  uint32_t x = seed | 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out[i] = static_cast<std::byte>(x >> 24);
  }
  if (!out.empty() && out[0] == std::byte{0x30}) out[0] = std::byte{0x5A};
  return out;
}

}  // namespace

struct Generator::Item {
  bool cc = false;
  int64_t t_us = 0;
  Kind kind = Kind::kCc;
  Direction direction = Direction::kAbsent;
  proto::li_ps::ContentsWriter contents;
};

uint32_t Fnv1a32(std::string_view text) {
  uint32_t h = 2166136261u;
  for (char c : text) {
    h ^= static_cast<uint8_t>(c);
    h *= 16777619u;
  }
  return h == 0 ? 1 : h;
}

Generator::Generator(const Scenario& scenario, base::Timestamp start)
    : scenario_(scenario), now_us_(start.unix_us) {}

uint32_t Generator::NextSeq(const std::string& liid, uint32_t cin, bool cc) {
  return seq_[{liid, cin, cc}]++;
}

void Generator::Emit(const CommonFields& common, uint32_t cin, std::vector<Item>& items,
                     std::vector<Action>& out) {
  std::stable_sort(items.begin(), items.end(),
                   [](const Item& a, const Item& b) { return a.t_us < b.t_us; });
  if (common.cc_before_iri) {
    // The first few CC PDUs overtake the IRI (a separate HI3 path that is faster than HI2).
    std::vector<Item> reordered;
    size_t moved = 0;
    for (Item& it : items) {
      if (it.cc && moved < 5) {
        reordered.push_back(std::move(it));
        ++moved;
      }
    }
    for (Item& it : items) {
      if (it.contents) reordered.push_back(std::move(it));
    }
    items = std::move(reordered);
  }
  const Warrant& w = *scenario_.FindWarrant(common.liid);
  const proto::li_ps::EncodeOptions options{.length_form = common.encoding.length_form,
                                            .microsecond_timestamp =
                                                common.encoding.microsecond_timestamp};
  uint32_t count[2] = {0, 0};
  for (Item& it : items) {
    uint32_t& n = count[it.cc ? 1 : 0];
    if (common.seq_gap != 0 && common.seq_gap_after != 0 && n == common.seq_gap_after) {
      seq_[{w.liid, cin, it.cc}] += common.seq_gap;
    }
    ++n;
    proto::PsHeader h;
    h.liid = w.liid;
    h.authorization_country_code = w.country;
    h.operator_id = w.operator_id;
    h.network_element_id = w.network_element;
    h.cin = cin;
    h.delivery_country_code = w.country;
    h.sequence_number = NextSeq(w.liid, cin, it.cc);
    h.timestamp = base::Timestamp{it.t_us};
    Action a;
    a.type = Action::Type::kPdu;
    a.channel = it.cc ? Channel::kHi3 : Channel::kHi2;
    a.kind = it.kind;
    a.liid = w.liid;
    a.cin = cin;
    a.seq = h.sequence_number;
    if (it.cc) {
      a.bytes = proto::li_ps::EncodeCcPdu(
          h, {.direction = it.direction, .contents = std::move(it.contents)}, options);
    } else {
      a.bytes = proto::li_ps::EncodeIriPdu(
          h, {.kind = it.kind, .direction = it.direction, .contents = std::move(it.contents)},
          options);
    }
    out.push_back(std::move(a));
  }
}

void Generator::Play(uint32_t instance, std::vector<Action>& out) {
  for (size_t i = 0; i < scenario_.events.size(); ++i) {
    const Event& e = scenario_.events[i];
    if (const auto* c = std::get_if<SipCall>(&e)) {
      PlaySip(*c, instance, i, out);
    } else if (const auto* p = std::get_if<PstnCall>(&e)) {
      PlayPstn(*p, instance, i, out);
    } else if (const auto* s = std::get_if<IpSession>(&e)) {
      PlayIp(*s, instance, i, out);
    } else if (const auto* k = std::get_if<Keepalive>(&e)) {
      PlayKeepalive(*k, out);
    } else if (const auto* r = std::get_if<Reconnect>(&e)) {
      Action a;
      a.type = Action::Type::kReconnect;
      a.channel = r->channel;
      a.resend = r->resend;
      out.push_back(std::move(a));
    } else if (const auto* m = std::get_if<Malformed>(&e)) {
      PlayMalformed(*m, i, out);
    }
  }
}

void Generator::PlaySip(const SipCall& call, uint32_t instance, size_t index,
                        std::vector<Action>& out) {
  now_us_ += static_cast<int64_t>(call.common.gap_s * kUsPerS);
  const int64_t t0 = now_us_;
  SipCallSpec spec;
  spec.call_id = call.call_id.empty()
                     ? StrCat(Fnv1a32(StrCat(call.common.liid, "/sip/", index)), "-",
                              Fnv1a32(StrCat(call.caller, call.callee)), "@", call.caller_ip)
                     : call.call_id;
  if (instance != 0) spec.call_id = StrCat(spec.call_id, ".", instance);
  spec.domain = call.domain;
  spec.caller = call.caller;
  spec.caller_display = call.caller_display;
  spec.callee = call.callee;
  spec.caller_ip = call.caller_ip;
  spec.callee_ip = call.callee_ip;
  spec.codec = call.codec;
  spec.clir = call.clir;
  spec.p_asserted_identity = call.p_asserted_identity;
  spec.p_preferred_identity = call.p_preferred_identity;
  spec.forwarded_to = call.forwarded_to;
  spec.forward_reason = call.forward_reason;
  spec.transfer_to = call.transfer_to;
  spec.conference_members = call.conference;
  const uint32_t cin = InstanceCin(call.common.cin, spec.call_id, instance);
  spec.tag_seed = cin;
  spec.caller_rtp_port = static_cast<uint16_t>(20000 + (cin % 10000) * 2);
  spec.callee_rtp_port = static_cast<uint16_t>(30000 + (cin % 10000) * 2);

  const uint32_t frames = FrameCount(call.packets, call.duration_s);
  const int64_t media_start = t0 + 1040 * kUsPerMs;
  const int64_t media_end = media_start + frames * kFrameUs;
  std::vector<Item> items;
  int64_t mid_offset = 0;
  for (const SipMessage& m : BuildSipDialog(spec)) {
    int64_t t;
    Kind kind = Kind::kIriContinue;
    if (m.name == "INVITE") {
      t = t0;
      kind = Kind::kIriBegin;
    } else if (m.name == "100") {
      t = t0 + 10 * kUsPerMs;
    } else if (m.name == "180") {
      t = t0 + 200 * kUsPerMs;
    } else if (m.name == "200-INVITE") {
      t = t0 + 1000 * kUsPerMs;
    } else if (m.name == "ACK") {
      t = t0 + 1020 * kUsPerMs;
    } else if (m.name == "BYE") {
      t = media_end + 20 * kUsPerMs;
    } else if (m.name == "200-BYE") {
      t = media_end + 40 * kUsPerMs;
      kind = Kind::kIriEnd;
    } else {  // REFER / 202 in the middle of the call
      t = media_start + (media_end - media_start) / 2 + (mid_offset += 5 * kUsPerMs);
    }
    const std::string src = m.from_caller ? call.caller_ip : call.callee_ip;
    const std::string dst = m.from_caller ? call.callee_ip : call.caller_ip;
    items.push_back({.cc = false,
                     .t_us = t,
                     .kind = kind,
                     .direction = TargetDirection(m.from_caller, call.direction),
                     .contents = [text = m.text, src, dst](ber::Writer& w) {
                       proto::ipmm::WriteIri(w, {.sip_message = text, .src_ip = src, .dst_ip = dst});
                     }});
  }

  // RTP both ways: the caller sends a 440 + 1000 Hz tone, the callee DTMF "1" (697 + 1209 Hz).
  const Ipv4 caller_ip = *ParseIpv4(call.caller_ip);
  const Ipv4 callee_ip = *ParseIpv4(call.callee_ip);
  for (int side = 0; side < 2; ++side) {
    const bool from_caller = side == 0;
    const ToneSpec tone{.freqs_hz = from_caller ? std::vector<double>{440, 1000}
                                                : std::vector<double>{697, 1209}};
    const uint32_t ssrc = Fnv1a32(StrCat(spec.call_id, from_caller ? "/a" : "/b"));
    const uint16_t seq0 = static_cast<uint16_t>(ssrc & 0x7FFF);
    const uint32_t ts0 = ssrc >> 4;
    for (uint32_t f = 0; f < frames; ++f) {
      std::vector<int16_t> pcm = GenerateTone(tone, uint64_t{f} * kSamplesPerFrame,
                                              kSamplesPerFrame);
      std::vector<uint8_t> rtp = BuildRtp(
          {.payload_type = static_cast<uint8_t>(call.codec),
           .marker = f == 0,
           .seq = static_cast<uint16_t>(seq0 + f),
           .timestamp = ts0 + f * static_cast<uint32_t>(kSamplesPerFrame),
           .ssrc = ssrc},
          EncodeG711(pcm, call.codec));
      proto::li_ps::ContentsWriter contents;
      if (call.media_as_ip) {
        std::vector<uint8_t> ip = from_caller
            ? BuildUdpIpv4(caller_ip, callee_ip, spec.caller_rtp_port, spec.callee_rtp_port, rtp,
                           static_cast<uint16_t>(f))
            : BuildUdpIpv4(callee_ip, caller_ip, spec.callee_rtp_port, spec.caller_rtp_port, rtp,
                           static_cast<uint16_t>(f));
        contents = [ip = std::move(ip)](ber::Writer& w) {
          proto::ipaccess::WriteCc(w, AsBytes(ip));
        };
      } else {
        contents = [rtp = std::move(rtp)](ber::Writer& w) {
          proto::ipmm::WriteCc(w, {.rtp = AsBytes(rtp), .frame_type = 2, .mmcc_protocol = 0});
        };
      }
      items.push_back({.cc = true,
                       .t_us = media_start + f * kFrameUs + (from_caller ? 0 : 1),
                       .kind = Kind::kCc,
                       .direction = TargetDirection(from_caller, call.direction),
                       .contents = std::move(contents)});
    }
  }
  Emit(call.common, cin, items, out);
  now_us_ = media_end + 40 * kUsPerMs;
}

void Generator::PlayPstn(const PstnCall& call, uint32_t instance, size_t index,
                         std::vector<Action>& out) {
  namespace h2 = proto::hi2ops;
  now_us_ += static_cast<int64_t>(call.common.gap_s * kUsPerS);
  const int64_t t0 = now_us_;
  const uint32_t cin = InstanceCin(
      call.common.cin, StrCat(call.common.liid, "/pstn/", index, "/", instance, "/",
                              call.caller.number, "/", call.callee.number),
      instance);
  const Warrant& w = *scenario_.FindWarrant(call.common.liid);

  // Owned party texts; the PartySpecs (views) are built inside the writers.
  struct PartyText {
    h2::PartyQualifier qualifier;
    h2::NumberFormat format;
    std::string digits;
    proto::NumberNature nature;
    bool restricted = false;
    std::string redirecting;  // forwarded-to party: the number that diverted the call
  };
  auto text_of = [](const PstnParty& p, h2::PartyQualifier q) {
    PartyText t{.qualifier = q, .format = p.format};
    if (p.format == h2::NumberFormat::kSipUri || p.format == h2::NumberFormat::kTelUrl) {
      t.digits = UriFor(p);
      t.nature = proto::NumberNature::kNotGiven;
    } else {
      auto [digits, nature] = Digits(p);
      t.digits = std::move(digits);
      t.nature = nature;
    }
    return t;
  };
  std::vector<PartyText> parties;
  parties.push_back(text_of(call.caller, h2::PartyQualifier::kOriginating));
  parties.back().restricted = call.clir;
  parties.push_back(text_of(call.callee, h2::PartyQualifier::kTerminating));
  if (call.forwarded_to) {
    parties.push_back(text_of(*call.forwarded_to, h2::PartyQualifier::kForwardedTo));
    const PartyText& callee = parties[1];
    if (callee.format == h2::NumberFormat::kIsup || callee.format == h2::NumberFormat::kDss1) {
      parties.back().redirecting = callee.digits;
    }
  }
  const h2::CallDirection dir = call.direction == CallDirection::kOutgoing
                                    ? h2::CallDirection::kOriginatingTarget
                                    : h2::CallDirection::kTerminatingTarget;
  const std::string cin_text = StrCat(cin);
  auto hi2_iri = [&, parties, cin_text](Kind kind, int64_t t, uint8_t call_state,
                                        bool with_parties) {
    return [&w, parties, cin_text, kind, t, call_state, with_parties, dir,
            ne = call.network_element_e164](ber::Writer& wr) {
      h2::Hi2IriSpec spec{.kind = kind,
                          .liid = w.liid,
                          .cin = cin_text,
                          .operator_id = w.operator_id,
                          .network_element_e164 = ne,
                          .timestamp = base::Timestamp{t},
                          .direction = dir,
                          .call_state = call_state};
      if (with_parties) {
        for (const PartyText& p : parties) {
          h2::PartySpec ps{.qualifier = p.qualifier,
                           .format = p.format,
                           .digits = p.digits,
                           .nature = p.nature,
                           .presentation_restricted = p.restricted};
          if (!p.redirecting.empty()) {
            ps.supplementary = {.redirecting_number = p.redirecting,
                                .original_called_number =
                                    p.format == h2::NumberFormat::kIsup ? std::string_view(p.redirecting)
                                                                        : std::string_view(),
                                .nature = parties[1].nature};
          }
          spec.parties.push_back(ps);
        }
      }
      h2::WriteIri(wr, spec);
    };
  };

  const uint32_t frames = FrameCount(call.packets, call.duration_s);
  const int64_t answer = t0 + 3 * kUsPerS;
  const int64_t media_end = answer + frames * kFrameUs;
  std::vector<Item> items;
  items.push_back({.t_us = t0, .kind = Kind::kIriBegin, .direction = Direction::kAbsent,
                   .contents = hi2_iri(Kind::kIriBegin, t0, 2, true)});
  items.push_back({.t_us = answer, .kind = Kind::kIriContinue, .direction = Direction::kAbsent,
                   .contents = hi2_iri(Kind::kIriContinue, answer, 3, true)});
  // The bearer's media format (TS 102 232-6 SupplementaryInfo), as a PstnIsdnIRI.
  items.push_back({.t_us = answer + 1, .kind = Kind::kIriContinue,
                   .direction = Direction::kAbsent,
                   .contents = [](ber::Writer& wr) {
                     proto::pstn::WriteIri(wr, {.applies_to = Direction::kCombined,
                                                .cc_link_id = 1,
                                                .media_format = 8,
                                                .frame_type = 3});
                   }});
  for (int side = 0; side < 2; ++side) {
    const bool from_caller = side == 0;
    const ToneSpec tone{.freqs_hz = from_caller ? std::vector<double>{440, 1000}
                                                : std::vector<double>{697, 1209}};
    for (uint32_t f = 0; f < frames; ++f) {
      std::vector<uint8_t> bearer = EncodeG711(
          GenerateTone(tone, uint64_t{f} * kSamplesPerFrame, kSamplesPerFrame), Codec::kPcma);
      items.push_back({.cc = true,
                       .t_us = answer + f * kFrameUs + (from_caller ? 2 : 3),
                       .kind = Kind::kCc,
                       .direction = TargetDirection(from_caller, call.direction),
                       .contents = [bearer = std::move(bearer)](ber::Writer& wr) {
                         proto::pstn::WriteCc(wr, {.bearer = AsBytes(bearer), .cc_link_id = 1});
                       }});
    }
  }
  items.push_back({.t_us = media_end + 10 * kUsPerMs, .kind = Kind::kIriEnd,
                   .direction = Direction::kAbsent,
                   .contents = hi2_iri(Kind::kIriEnd, media_end + 10 * kUsPerMs, 1, true)});
  Emit(call.common, cin, items, out);
  now_us_ = media_end + 10 * kUsPerMs;
}

void Generator::PlayIp(const IpSession& s, uint32_t instance, size_t index,
                       std::vector<Action>& out) {
  now_us_ += static_cast<int64_t>(s.common.gap_s * kUsPerS);
  const int64_t t0 = now_us_;
  const uint32_t cin = InstanceCin(
      s.common.cin, StrCat(s.common.liid, "/ip/", s.target_ip, "/", index, "/", instance),
      instance);
  std::vector<IpPacket> packets = s.packets;
  if (packets.empty()) {
    packets = {
        {IpPacket::Proto::kUdp, true, "192.0.2.53", 53, "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03org\x00\x00\x01\x00\x01"},
        {IpPacket::Proto::kUdp, false, "192.0.2.53", 53, "\x12\x34\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00"},
        {IpPacket::Proto::kIcmp, true, "198.51.100.7", 0, "tapvault-ping"},
        {IpPacket::Proto::kIcmp, false, "198.51.100.7", 0, "tapvault-ping"},
        {IpPacket::Proto::kTcp, true, "203.0.113.80", 80,
         "GET / HTTP/1.1\r\nHost: example.org\r\n\r\n"},
        {IpPacket::Proto::kTcp, false, "203.0.113.80", 80,
         "HTTP/1.1 204 No Content\r\n\r\n"},
    };
  }
  const Ipv4 target = *ParseIpv4(s.target_ip);
  constexpr uint16_t kTargetPort = 49152;
  uint32_t target_tcp_seq = 1000, peer_tcp_seq = 5000;
  uint64_t octets_out = 0, octets_in = 0;
  std::vector<Item> items;
  const int64_t step = std::max<int64_t>(1, static_cast<int64_t>(s.duration_s * kUsPerS) /
                                                static_cast<int64_t>(packets.size() + 1));
  for (size_t i = 0; i < packets.size(); ++i) {
    const IpPacket& p = packets[i];
    const Ipv4 peer = *ParseIpv4(p.peer_ip);
    const Ipv4& src = p.from_target ? target : peer;
    const Ipv4& dst = p.from_target ? peer : target;
    const std::span<const uint8_t> data(reinterpret_cast<const uint8_t*>(p.data.data()),
                                        p.data.size());
    const uint16_t id = static_cast<uint16_t>(i + 1);
    std::vector<uint8_t> ip;
    switch (p.proto) {
      case IpPacket::Proto::kUdp:
        ip = p.from_target ? BuildUdpIpv4(src, dst, kTargetPort, p.peer_port, data, id)
                           : BuildUdpIpv4(src, dst, p.peer_port, kTargetPort, data, id);
        break;
      case IpPacket::Proto::kTcp:
        if (p.from_target) {
          ip = BuildTcpIpv4(src, dst, kTargetPort + 1, p.peer_port, target_tcp_seq, peer_tcp_seq,
                            TcpFlags::kPsh | TcpFlags::kAck, data, id);
          target_tcp_seq += static_cast<uint32_t>(data.size());
        } else {
          ip = BuildTcpIpv4(src, dst, p.peer_port, kTargetPort + 1, peer_tcp_seq, target_tcp_seq,
                            TcpFlags::kPsh | TcpFlags::kAck, data, id);
          peer_tcp_seq += static_cast<uint32_t>(data.size());
        }
        break;
      case IpPacket::Proto::kIcmp:
        ip = BuildIcmpEchoIpv4(src, dst, !p.from_target, 1, static_cast<uint16_t>(i / 2 + 1),
                               data, id);
        break;
    }
    (p.from_target ? octets_out : octets_in) += ip.size();
    items.push_back({.cc = true,
                     .t_us = t0 + static_cast<int64_t>(i + 1) * step,
                     .kind = Kind::kCc,
                     .direction = p.from_target ? Direction::kFromTarget : Direction::kToTarget,
                     .contents = [ip = std::move(ip)](ber::Writer& w) {
                       proto::ipaccess::WriteCc(w, AsBytes(ip));
                     }});
  }
  const int64_t t_end = t0 + static_cast<int64_t>(s.duration_s * kUsPerS);
  items.push_back({.t_us = t0, .kind = Kind::kIriBegin, .direction = Direction::kAbsent,
                   .contents = [&s, t0](ber::Writer& w) {
                     proto::ipaccess::WriteIri(
                         w, {.event = proto::ipaccess::AccessEvent::kSessionStart,
                             .target_username = s.username,
                             .access_type = proto::ipaccess::InternetAccessType::kXDsl,
                             .target_ip = s.target_ip,
                             .target_prefix_len = 32,
                             .start_time = base::Timestamp{t0}});
                   }});
  items.push_back({.t_us = t_end, .kind = Kind::kIriEnd, .direction = Direction::kAbsent,
                   .contents = [&s, t0, t_end, octets_in, octets_out](ber::Writer& w) {
                     proto::ipaccess::WriteIri(
                         w, {.event = proto::ipaccess::AccessEvent::kSessionEnd,
                             .target_username = s.username,
                             .access_type = proto::ipaccess::InternetAccessType::kXDsl,
                             .target_ip = s.target_ip,
                             .target_prefix_len = 32,
                             .start_time = base::Timestamp{t0},
                             .end_time = base::Timestamp{t_end},
                             .octets_received = octets_in,
                             .octets_transmitted = octets_out});
                   }});
  Emit(s.common, cin, items, out);
  now_us_ = t_end;
}

void Generator::PlayKeepalive(const Keepalive& k, std::vector<Action>& out) {
  now_us_ += static_cast<int64_t>(k.idle_s * kUsPerS);
  proto::PsHeader h;
  h.liid = scenario_.keepalive_liid;
  h.authorization_country_code = scenario_.country;
  h.operator_id = scenario_.operator_id;
  h.network_element_id = scenario_.keepalive_network_element;
  h.cin = 0;
  h.delivery_country_code = scenario_.country;
  h.sequence_number = keepalive_seq_[static_cast<int>(k.channel)]++;
  h.timestamp = base::Timestamp{now_us_};
  Action a;
  a.type = Action::Type::kKeepalive;
  a.channel = k.channel;
  a.kind = Kind::kKeepalive;
  a.liid = scenario_.keepalive_liid;
  a.seq = h.sequence_number;
  a.idle_s = k.idle_s;
  a.timeout_ms = k.timeout_ms;
  a.bytes = proto::li_ps::EncodeTriPdu(
      h, Kind::kKeepalive,
      {.length_form = scenario_.encoding.length_form,
       .microsecond_timestamp = scenario_.encoding.microsecond_timestamp});
  out.push_back(std::move(a));
}

void Generator::PlayMalformed(const Malformed& m, size_t index, std::vector<Action>& out) {
  Action a;
  a.type = Action::Type::kRaw;
  a.channel = m.channel;
  a.kind = Kind::kUnknown;
  const uint32_t seed = Fnv1a32(StrCat("malformed/", index, "/", malformed_seq_));
  if (m.kind == MalformKind::kGarbage) {
    a.bytes = Garbage(seed, m.garbage_bytes);
    out.push_back(std::move(a));
    ++malformed_seq_;
    return;
  }
  const Warrant& w = m.liid.empty() ? scenario_.warrants.front() : *scenario_.FindWarrant(m.liid);
  proto::PsHeader h;
  h.liid = w.liid;
  h.authorization_country_code = w.country;
  h.operator_id = w.operator_id;
  h.network_element_id = w.network_element;
  h.cin = 0x0BAD0000u | (malformed_seq_ & 0xFFFF);
  h.delivery_country_code = w.country;
  h.sequence_number = malformed_seq_++;
  h.timestamp = base::Timestamp{now_us_};
  // Long-3 lengths, so that the position of every length is known: 30 82 hh ll A1 82 hh ll ...
  const proto::li_ps::EncodeOptions options{.length_form = ber::LengthForm::kLong3};
  std::vector<std::byte> pdu;
  if (m.channel == Channel::kHi2) {
    pdu = proto::li_ps::EncodeIriPdu(
        h, {.kind = Kind::kIriReport,
            .contents = [&](ber::Writer& wr) {
              proto::hi2ops::WriteIri(
                  wr, {.kind = Kind::kIriReport, .liid = w.liid, .operator_id = w.operator_id,
                       .timestamp = base::Timestamp{now_us_},
                       .parties = {{.qualifier = proto::hi2ops::PartyQualifier::kOriginating,
                                    .digits = "31201234567"}}});
            }},
        options);
  } else {
    const std::vector<uint8_t> ip = BuildUdpIpv4({10, 0, 0, 1}, {10, 0, 0, 2}, 1000, 2000,
                                                 std::vector<uint8_t>(32, 0x55));
    pdu = proto::li_ps::EncodeCcPdu(
        h, {.direction = Direction::kFromTarget,
            .contents = [&](ber::Writer& wr) { proto::ipaccess::WriteCc(wr, AsBytes(ip)); }},
        options);
  }
  constexpr size_t kChildTag = 4, kChildLength = 5;  // after the outer 30 82 hh ll
  if (pdu.size() > kChildLength + 2) {
    switch (m.kind) {
      case MalformKind::kBadLength:  // PSHeader claims 65535 octets: past the end of the PDU
        pdu[kChildLength] = std::byte{0x82};
        pdu[kChildLength + 1] = std::byte{0xFF};
        pdu[kChildLength + 2] = std::byte{0xFF};
        break;
      case MalformKind::kBadTag:  // PSHeader [1] becomes [9]: no PSHeader
        pdu[kChildTag] = std::byte{0xA9};
        break;
      case MalformKind::kTruncated:  // the last third is missing; the next PDU follows
        pdu.resize(pdu.size() * 2 / 3);
        break;
      case MalformKind::kGarbage:
        break;
    }
  }
  a.liid = w.liid;
  a.cin = *h.cin;
  a.seq = h.sequence_number;
  a.bytes = std::move(pdu);
  out.push_back(std::move(a));
}

}  // namespace tapvault::sim
