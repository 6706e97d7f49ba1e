#include "sim/scenario.h"

#include <fstream>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "base/status_macros.h"
#include "base/strings.h"
#include "sim/packets.h"

namespace tapvault::sim {
namespace {

using base::StrCat;

// Reads the fields of one TOML table, remembering the first error (with its line) and which keys
// were used, so that unknown keys (typos) are reported too.
class Fields {
 public:
  Fields(const toml::table& table, std::string_view source, std::string_view what)
      : table_(table), source_(source), what_(what) {}

  int line() const { return static_cast<int>(table_.source().begin.line); }

  absl::Status Error(const toml::node* node, std::string_view message) {
    int line = node ? static_cast<int>(node->source().begin.line) : this->line();
    return absl::InvalidArgumentError(StrCat(source_, ":", line, ": ", what_, ": ", message));
  }
  void Fail(const toml::node* node, std::string_view message) {
    if (status_.ok()) status_ = Error(node, message);
  }

  const toml::node* Get(std::string_view key) {
    used_.insert(std::string(key));
    return table_.get(key);
  }

  std::string Str(std::string_view key, std::string def) {
    const toml::node* n = Get(key);
    if (!n) return def;
    if (auto v = n->value<std::string>(); v && n->is_string()) return *v;
    Fail(n, StrCat("'", key, "' must be a string"));
    return def;
  }
  std::string RequiredStr(std::string_view key) {
    if (!table_.get(key)) Fail(nullptr, StrCat("'", key, "' is required"));
    return Str(key, "");
  }
  bool Bool(std::string_view key, bool def) {
    const toml::node* n = Get(key);
    if (!n) return def;
    if (n->is_boolean()) return *n->value<bool>();
    Fail(n, StrCat("'", key, "' must be true or false"));
    return def;
  }
  int64_t Int(std::string_view key, int64_t def, int64_t min, int64_t max) {
    const toml::node* n = Get(key);
    if (!n) return def;
    if (!n->is_integer()) {
      Fail(n, StrCat("'", key, "' must be an integer"));
      return def;
    }
    int64_t v = *n->value<int64_t>();
    if (v < min || v > max) {
      Fail(n, StrCat("'", key, "' must be in ", min, "..", max));
      return def;
    }
    return v;
  }
  double Double(std::string_view key, double def, double min, double max) {
    const toml::node* n = Get(key);
    if (!n) return def;
    if (!n->is_number()) {
      Fail(n, StrCat("'", key, "' must be a number"));
      return def;
    }
    double v = *n->value<double>();
    if (!(v >= min && v <= max)) {
      Fail(n, StrCat("'", key, "' must be in ", min, "..", max));
      return def;
    }
    return v;
  }
  std::vector<std::string> StrList(std::string_view key) {
    std::vector<std::string> out;
    const toml::node* n = Get(key);
    if (!n) return out;
    const toml::array* a = n->as_array();
    if (!a) {
      Fail(n, StrCat("'", key, "' must be an array of strings"));
      return out;
    }
    for (const toml::node& e : *a) {
      if (!e.is_string()) {
        Fail(&e, StrCat("'", key, "' must be an array of strings"));
        return out;
      }
      out.push_back(*e.value<std::string>());
    }
    return out;
  }
  // One of `names` (index returned), or `def`.
  template <typename T>
  T Enum(std::string_view key, T def, std::initializer_list<std::pair<std::string_view, T>> names) {
    const toml::node* n = Get(key);
    if (!n) return def;
    std::string list;
    if (n->is_string()) {
      std::string v = *n->value<std::string>();
      for (const auto& [name, value] : names) {
        if (v == name) return value;
      }
    }
    for (const auto& [name, value] : names) list += StrCat(list.empty() ? "" : ", ", name);
    Fail(n, StrCat("'", key, "' must be one of: ", list));
    return def;
  }

  absl::Status Finish() {
    if (!status_.ok()) return status_;
    for (const auto& [key, node] : table_) {
      std::string k(key.str());
      if (!used_.contains(k)) return Error(&node, StrCat("unknown key '", k, "'"));
    }
    return absl::OkStatus();
  }

 private:
  const toml::table& table_;
  std::string_view source_;
  std::string what_;  // owned: callers pass temporaries ("party 'x'")
  std::set<std::string> used_;
  absl::Status status_;
};

Encoding ReadEncoding(Fields& f, const Encoding& def) {
  Encoding e = def;
  e.length_form = f.Enum<ber::LengthForm>("ber_length", def.length_form,
                                          {{"minimal", ber::LengthForm::kMinimal},
                                           {"long3", ber::LengthForm::kLong3},
                                           {"indefinite", ber::LengthForm::kIndefinite}});
  e.microsecond_timestamp =
      f.Enum<bool>("timestamp", def.microsecond_timestamp,
                   {{"generalized", false}, {"microseconds", true}});
  return e;
}

Channel ReadChannel(Fields& f, Channel def) {
  return f.Enum<Channel>("channel", def, {{"hi2", Channel::kHi2}, {"hi3", Channel::kHi3}});
}

CallDirection ReadDirection(Fields& f) {
  return f.Enum<CallDirection>("direction", CallDirection::kOutgoing,
                               {{"outgoing", CallDirection::kOutgoing},
                                {"incoming", CallDirection::kIncoming}});
}

CommonFields ReadCommon(Fields& f, const Scenario& s) {
  CommonFields c;
  c.liid = f.RequiredStr("liid");
  if (f.Get("cin")) c.cin = static_cast<uint32_t>(f.Int("cin", 0, 0, 0xFFFFFFFFll));
  c.gap_s = f.Double("gap_s", 1.0, 0, 86400);
  c.encoding = ReadEncoding(f, s.encoding);
  c.cc_before_iri = f.Bool("cc_before_iri", false);
  c.seq_gap_after = static_cast<uint32_t>(f.Int("seq_gap_after", 0, 0, 1 << 30));
  c.seq_gap = static_cast<uint32_t>(f.Int("seq_gap", 0, 0, 1 << 30));
  if (!c.liid.empty() && !s.FindWarrant(c.liid)) {
    f.Fail(f.Get("liid"), StrCat("liid '", c.liid, "' names no [[warrant]]"));
  }
  return c;
}

absl::StatusOr<PstnParty> ReadPstnParty(Fields& f, std::string_view key, std::string_view source) {
  PstnParty p;
  const toml::node* n = f.Get(key);
  auto bad = [&](const toml::node* at) {
    return f.Error(at, StrCat("'", key,
                              "' must be a number string or a table {number, nature, format}"));
  };
  const auto nature_names = std::initializer_list<std::pair<std::string_view, proto::NumberNature>>{
      {"international", proto::NumberNature::kInternational},
      {"national", proto::NumberNature::kNational},
      {"subscriber", proto::NumberNature::kSubscriber},
      {"unknown", proto::NumberNature::kUnknown}};
  const auto format_names =
      std::initializer_list<std::pair<std::string_view, proto::hi2ops::NumberFormat>>{
          {"isup", proto::hi2ops::NumberFormat::kIsup},
          {"dss1", proto::hi2ops::NumberFormat::kDss1},
          {"map", proto::hi2ops::NumberFormat::kMap},
          {"msisdn", proto::hi2ops::NumberFormat::kMsisdn},
          {"e164", proto::hi2ops::NumberFormat::kE164},
          {"sip", proto::hi2ops::NumberFormat::kSipUri},
          {"tel", proto::hi2ops::NumberFormat::kTelUrl}};
  if (n->is_string()) {
    p.number = *n->value<std::string>();
  } else if (const toml::table* t = n->as_table()) {
    Fields pf(*t, source, StrCat("party '", key, "'"));
    p.number = pf.RequiredStr("number");
    p.nature = pf.Enum<proto::NumberNature>("nature", proto::NumberNature::kNotGiven, nature_names);
    p.format = pf.Enum<proto::hi2ops::NumberFormat>("format", proto::hi2ops::NumberFormat::kIsup,
                                                    format_names);
    RETURN_IF_ERROR(pf.Finish());
  } else {
    return bad(n);
  }
  if (p.number.empty()) return bad(n);
  return p;
}

absl::StatusOr<Event> ReadEvent(const toml::table& t, const Scenario& s, std::string_view src) {
  Fields f(t, src, "[[event]]");
  std::string type = f.RequiredStr("type");
  if (type.empty()) {
    RETURN_IF_ERROR(f.Finish());
    return f.Error(nullptr, "'type' is required");
  }
  Event out;
  if (type == "sip-call") {
    SipCall c;
    c.common = ReadCommon(f, s);
    c.call_id = f.Str("call_id", "");
    c.domain = f.Str("domain", c.domain);
    c.caller = f.RequiredStr("caller");
    c.callee = f.RequiredStr("callee");
    c.caller_display = f.Str("caller_display", "");
    c.direction = ReadDirection(f);
    c.duration_s = f.Double("duration_s", c.duration_s, 0, 86400);
    c.codec = f.Enum<Codec>("codec", Codec::kPcmu, {{"PCMU", Codec::kPcmu}, {"PCMA", Codec::kPcma}});
    c.packets = static_cast<uint32_t>(f.Int("packets", 0, 0, 10'000'000));
    c.clir = f.Bool("clir", false);
    c.p_asserted_identity = f.Str("p_asserted_identity", "");
    c.p_preferred_identity = f.Str("p_preferred_identity", "");
    c.forwarded_to = f.Str("forwarded_to", "");
    c.forward_reason = f.Str("forward_reason", c.forward_reason);
    c.transfer_to = f.Str("transfer_to", "");
    c.conference = f.StrList("conference");
    c.caller_ip = f.Str("caller_ip", c.caller_ip);
    c.callee_ip = f.Str("callee_ip", c.callee_ip);
    c.media_as_ip = f.Enum<bool>("media", false, {{"rtp", false}, {"ip", true}});
    for (const std::string* ip : {&c.caller_ip, &c.callee_ip}) {
      if (!ParseIpv4(*ip)) f.Fail(nullptr, StrCat("'", *ip, "' is not an IPv4 address"));
    }
    out = std::move(c);
  } else if (type == "pstn-call") {
    PstnCall c;
    c.common = ReadCommon(f, s);
    if (!t.get("caller") || !t.get("callee")) {
      return f.Error(nullptr, "'caller' and 'callee' are required");
    }
    ASSIGN_OR_RETURN(c.caller, ReadPstnParty(f, "caller", src));
    ASSIGN_OR_RETURN(c.callee, ReadPstnParty(f, "callee", src));
    if (t.get("forwarded_to")) {
      ASSIGN_OR_RETURN(c.forwarded_to, ReadPstnParty(f, "forwarded_to", src));
    }
    c.direction = ReadDirection(f);
    c.duration_s = f.Double("duration_s", c.duration_s, 0, 86400);
    c.packets = static_cast<uint32_t>(f.Int("packets", 0, 0, 10'000'000));
    c.clir = f.Bool("clir", false);
    c.network_element_e164 = f.Str("network_element_e164", "");
    out = std::move(c);
  } else if (type == "ip-session") {
    IpSession c;
    c.common = ReadCommon(f, s);
    c.username = f.Str("username", "");
    c.target_ip = f.Str("target_ip", c.target_ip);
    c.duration_s = f.Double("duration_s", c.duration_s, 0, 86400);
    if (!ParseIpv4(c.target_ip)) f.Fail(f.Get("target_ip"), "'target_ip' is not an IPv4 address");
    if (const toml::node* pn = f.Get("packets")) {
      const toml::array* a = pn->as_array();
      if (!a) return f.Error(pn, "'packets' must be an array of tables");
      for (const toml::node& e : *a) {
        const toml::table* pt = e.as_table();
        if (!pt) return f.Error(&e, "'packets' must be an array of tables");
        Fields ff(*pt, src, "packet");
        IpPacket p;
        p.proto = ff.Enum<IpPacket::Proto>("proto", IpPacket::Proto::kUdp,
                                           {{"udp", IpPacket::Proto::kUdp},
                                            {"tcp", IpPacket::Proto::kTcp},
                                            {"icmp", IpPacket::Proto::kIcmp}});
        p.from_target = ff.Enum<bool>("direction", true, {{"from-target", true}, {"to-target", false}});
        p.peer_ip = ff.Str("peer_ip", p.peer_ip);
        p.peer_port = static_cast<uint16_t>(ff.Int("peer_port", p.peer_port, 0, 65535));
        p.data = ff.Str("data", "");
        if (!ParseIpv4(p.peer_ip)) ff.Fail(ff.Get("peer_ip"), "'peer_ip' is not an IPv4 address");
        RETURN_IF_ERROR(ff.Finish());
        c.packets.push_back(std::move(p));
      }
    }
    out = std::move(c);
  } else if (type == "keepalive") {
    Keepalive k;
    k.channel = ReadChannel(f, Channel::kHi2);
    k.idle_s = f.Double("idle_s", 0, 0, 3600);
    k.timeout_ms = static_cast<uint32_t>(f.Int("timeout_ms", k.timeout_ms, 1, 3'600'000));
    out = k;
  } else if (type == "reconnect") {
    Reconnect r;
    r.channel = ReadChannel(f, Channel::kHi2);
    r.resend = static_cast<uint32_t>(f.Int("resend", r.resend, 0, 100000));
    out = r;
  } else if (type == "malformed") {
    Malformed m;
    m.channel = ReadChannel(f, Channel::kHi2);
    m.kind = f.Enum<MalformKind>("kind", MalformKind::kGarbage,
                                 {{"bad-length", MalformKind::kBadLength},
                                  {"bad-tag", MalformKind::kBadTag},
                                  {"truncated", MalformKind::kTruncated},
                                  {"garbage", MalformKind::kGarbage}});
    m.liid = f.Str("liid", "");
    m.garbage_bytes = static_cast<uint32_t>(f.Int("garbage_bytes", m.garbage_bytes, 1, 1 << 20));
    if (!m.liid.empty() && !s.FindWarrant(m.liid)) {
      return f.Error(f.Get("liid"), StrCat("liid '", m.liid, "' names no [[warrant]]"));
    }
    out = m;
  } else if (!type.empty()) {
    return f.Error(f.Get("type"),
                   StrCat("unknown type '", type,
                          "' (sip-call, pstn-call, ip-session, keepalive, reconnect, malformed)"));
  }
  RETURN_IF_ERROR(f.Finish());
  return out;
}

}  // namespace

std::string_view ChannelName(Channel c) { return c == Channel::kHi2 ? "hi2" : "hi3"; }

std::string_view MalformKindName(MalformKind k) {
  switch (k) {
    case MalformKind::kBadLength: return "bad-length";
    case MalformKind::kBadTag: return "bad-tag";
    case MalformKind::kTruncated: return "truncated";
    case MalformKind::kGarbage: return "garbage";
  }
  return "?";
}

const Warrant* Scenario::FindWarrant(std::string_view liid) const {
  for (const Warrant& w : warrants) {
    if (w.liid == liid) return &w;
  }
  return nullptr;
}

absl::StatusOr<Scenario> ParseScenario(std::string_view text, std::string_view source_name) {
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(StrCat(source_name, ":", e.source().begin.line, ": ",
                                             std::string_view(e.description())));
  }
  Scenario s;
  Fields top(root, source_name, "scenario file");
  top.Get("scenario");
  top.Get("warrant");
  top.Get("event");
  RETURN_IF_ERROR(top.Finish());

  if (const toml::node* n = root.get("scenario")) {
    const toml::table* t = n->as_table();
    if (!t) return top.Error(n, "[scenario] must be a table");
    Fields f(*t, source_name, "[scenario]");
    s.name = f.Str("name", "");
    if (const toml::node* sn = f.Get("start")) {
      std::string text_start = f.Str("start", "");
      if (text_start != "now") {
        auto ts = base::ParseRfc3339(text_start);
        if (!ts.ok()) return f.Error(sn, "'start' must be an RFC 3339 date-time or \"now\"");
        s.start = *ts;
      }
    }
    s.encoding = ReadEncoding(f, s.encoding);
    s.keepalive_liid = f.Str("keepalive_liid", s.keepalive_liid);
    s.keepalive_network_element = f.Str("keepalive_network_element", s.keepalive_network_element);
    s.operator_id = f.Str("operator_id", s.operator_id);
    s.network_element = f.Str("network_element", s.network_element);
    s.country = f.Str("country", s.country);
    s.ack_every = static_cast<uint32_t>(f.Int("ack_every", 0, 0, 1000000000));
    RETURN_IF_ERROR(f.Finish());
  }

  if (const toml::node* n = root.get("warrant")) {
    const toml::array* a = n->as_array();
    if (!a || !a->is_array_of_tables()) return top.Error(n, "'warrant' must be [[warrant]] tables");
    for (const toml::node& e : *a) {
      Fields f(*e.as_table(), source_name, "[[warrant]]");
      Warrant w;
      w.liid = f.RequiredStr("liid");
      w.operator_id = f.Str("operator_id", s.operator_id);
      w.network_element = f.Str("network_element", s.network_element);
      w.country = f.Str("country", s.country);
      w.target = f.Str("target", "");
      if (w.liid.size() > 25) f.Fail(f.Get("liid"), "'liid' is at most 25 characters");
      if (!w.liid.empty() && s.FindWarrant(w.liid)) {
        f.Fail(f.Get("liid"), StrCat("duplicate liid '", w.liid, "'"));
      }
      RETURN_IF_ERROR(f.Finish());
      s.warrants.push_back(std::move(w));
    }
  }
  if (s.warrants.empty()) {
    return absl::InvalidArgumentError(StrCat(source_name, ": at least one [[warrant]] is needed"));
  }

  if (const toml::node* n = root.get("event")) {
    const toml::array* a = n->as_array();
    if (!a || !a->is_array_of_tables()) return top.Error(n, "'event' must be [[event]] tables");
    for (const toml::node& e : *a) {
      ASSIGN_OR_RETURN(Event ev, ReadEvent(*e.as_table(), s, source_name));
      s.events.push_back(std::move(ev));
      s.event_lines.push_back(static_cast<int>(e.source().begin.line));
    }
  }
  return s;
}

absl::StatusOr<Scenario> LoadScenario(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("cannot open scenario file ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseScenario(ss.str(), path);
}

}  // namespace tapvault::sim
