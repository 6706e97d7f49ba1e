// Turns a Scenario into the byte streams a mediator would send: encoded PS-PDUs for HI2 (IRI,
// keep-alives) and HI3 (CC), plus the control points of the fault injection (keep-alive waits,
// reconnects with a resend window, malformed records). The Player sends these actions; tests
// inspect them directly.
//
//   sim::Generator gen(scenario, start);
//   std::vector<sim::Action> actions;
//   gen.Play(/*instance=*/0, actions);   // one play of the scenario
//
// Sequence numbers are kept per (LIID, CIN), separately for IRI and CC (as OpenLI does), and
// for keep-alives per channel; they continue across Play() calls of one Generator (one mediator
// connection). Instance k > 0 gets distinct CINs and Call-IDs, so that many connections or
// repetitions make distinct communications. Not thread-safe; one Generator per connection.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "base/time.h"
#include "proto/record/record.h"
#include "sim/scenario.h"

namespace tapvault::sim {

struct Action {
  enum class Type : uint8_t {
    kPdu,        // a PS-PDU (IRI, CC): counted, kept in the resend window
    kKeepalive,  // a keep-alive PDU; the response with `seq` is due within timeout_ms
    kRaw,        // malformed bytes (not a valid PDU; not kept in the resend window)
    kReconnect,  // close and reopen the channel, then re-send the last `resend` PDUs
  };
  Type type = Type::kPdu;
  Channel channel = Channel::kHi2;
  std::vector<std::byte> bytes;
  // What the PDU is (kPdu / kKeepalive), for tests and logs.
  proto::Kind kind = proto::Kind::kUnknown;
  std::string liid;
  uint32_t cin = 0;
  uint32_t seq = 0;
  // kKeepalive
  double idle_s = 0;
  uint32_t timeout_ms = 0;
  // kReconnect
  uint32_t resend = 0;
};

// 32-bit FNV-1a; CINs of calls are hashes of their Call-ID (never 0).
uint32_t Fnv1a32(std::string_view text);

class Generator {
 public:
  // `scenario` must outlive the Generator.
  Generator(const Scenario& scenario, base::Timestamp start);

  // Appends the actions of one play of the scenario as instance `instance`.
  void Play(uint32_t instance, std::vector<Action>& out);

 private:
  struct Item;
  uint32_t NextSeq(const std::string& liid, uint32_t cin, bool cc);
  void Emit(const CommonFields& common, uint32_t cin, std::vector<Item>& items,
            std::vector<Action>& out);
  void PlaySip(const SipCall& call, uint32_t instance, size_t index, std::vector<Action>& out);
  void PlayPstn(const PstnCall& call, uint32_t instance, size_t index, std::vector<Action>& out);
  void PlayIp(const IpSession& s, uint32_t instance, size_t index, std::vector<Action>& out);
  void PlayKeepalive(const Keepalive& k, std::vector<Action>& out);
  void PlayMalformed(const Malformed& m, size_t index, std::vector<Action>& out);

  const Scenario& scenario_;
  int64_t now_us_;  // the scenario clock: start of the next event
  std::map<std::tuple<std::string, uint32_t, bool>, uint32_t> seq_;
  uint32_t keepalive_seq_[2] = {0, 0};
  uint32_t malformed_seq_ = 0;
};

}  // namespace tapvault::sim
