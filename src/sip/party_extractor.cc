#include "sip/party_extractor.h"

#include <osipparser2/osip_message.h>
#include <osipparser2/osip_parser.h>

#include <algorithm>
#include <cstdarg>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>

#include "base/strings.h"

namespace tapvault::sip {
namespace {

using proto::Party;
using proto::PartyRole;

constexpr size_t kMaxIdentityBytes = 2048;  // longer "identities" are truncated garbage
constexpr size_t kMaxElementsPerLine = 64;  // comma-separated values in one header line

void DropTrace(const char*, int, osip_trace_level_t, const char*, va_list) {}

void InitOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    parser_init();
    // libosip2 (built with tracing, as Debian's is) logs every parse error to stderr unless a
    // trace function is installed: install one that drops everything, then disable all levels.
    osip_trace_initialize_func(OSIP_FATAL, &DropTrace);
    for (int level = 0; level < END_TRACE_LEVEL; ++level) {
      osip_trace_disable_level(static_cast<osip_trace_level_t>(level));
    }
  });
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Lower(a[i]) != Lower(b[i])) return false;
  }
  return true;
}

bool IsWs(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsWs(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsWs(s.back())) s.remove_suffix(1);
  return s;
}

// The identity headers (RFC 3261 20, RFC 3325, RFC 5806, RFC 7044, RFC 3515, RFC 3892,
// draft-ietf-sip-privacy-04 Remote-Party-ID, RFC 7315 P-Called-Party-ID) and their compact forms
// (RFC 3261 7.3.3, RFC 3515 7.3 r, RFC 3892 b).
struct IdentityHeader {
  std::string_view name;
  std::string_view compact;
  PartyRole role;
};
constexpr IdentityHeader kIdentityHeaders[] = {
    {"from", "f", PartyRole::kSipFrom},
    {"to", "t", PartyRole::kSipTo},
    {"contact", "m", PartyRole::kSipContact},
    {"p-asserted-identity", "", PartyRole::kSipPAssertedIdentity},
    {"p-preferred-identity", "", PartyRole::kSipPPreferredIdentity},
    {"diversion", "", PartyRole::kSipDiversion},
    {"history-info", "", PartyRole::kSipHistoryInfo},
    {"referred-by", "b", PartyRole::kSipReferredBy},
    {"refer-to", "r", PartyRole::kSipReferTo},
    {"remote-party-id", "", PartyRole::kSipRemotePartyId},
    {"p-called-party-id", "", PartyRole::kSipPCalledPartyId},
};

std::optional<PartyRole> RoleOfHeader(std::string_view name) {
  for (const IdentityHeader& h : kIdentityHeaders) {
    if (EqualsIgnoreCase(name, h.name) || (!h.compact.empty() && EqualsIgnoreCase(name, h.compact))) {
      return h.role;
    }
  }
  return std::nullopt;
}

// One logical header line (folding undone) of the header section.
struct HeaderLine {
  std::string_view name;
  std::string value;
};

// The header section as our scanner sees it.
struct Scan {
  std::string_view start_line;
  std::vector<HeaderLine> headers;
  std::string_view section;  // start line through the end of the last header line
  bool truncated = false;    // a bound was hit
};

// Splits the header section (up to the first empty line) into logical lines. RFC 3261 7.3.1:
// a line starting with SP or HT continues the previous one. Accepts bare LF line ends.
Scan ScanHeaders(std::string_view message) {
  Scan scan;
  size_t pos = 0;
  // RFC 3261 7.5: leading CRLFs before the start line are ignored.
  while (pos < message.size() && (message[pos] == '\r' || message[pos] == '\n')) ++pos;
  bool first = true;
  while (pos < message.size()) {
    if (pos >= kMaxHeaderBytes) {
      scan.truncated = true;
      break;
    }
    size_t eol = message.find('\n', pos);
    size_t next = eol == std::string_view::npos ? message.size() : eol + 1;
    std::string_view line = message.substr(pos, (eol == std::string_view::npos ? message.size() : eol) - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // end of the header section
    scan.section = message.substr(0, next);
    pos = next;
    if (first) {
      scan.start_line = line;
      first = false;
      continue;
    }
    if ((line[0] == ' ' || line[0] == '\t') && !scan.headers.empty()) {
      std::string& value = scan.headers.back().value;
      value.push_back(' ');
      value.append(Trim(line));
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // not a header line: skip it
    std::string_view name = Trim(line.substr(0, colon));
    if (name.empty() || name.find_first_of(" \t") != std::string_view::npos) continue;
    if (scan.headers.size() >= kMaxHeaderLines) {
      scan.truncated = true;
      break;
    }
    scan.headers.push_back({name, std::string(Trim(line.substr(colon + 1)))});
  }
  return scan;
}

// Splits a header value into its comma-separated elements (RFC 3261 7.3.1), respecting quoted
// strings (with backslash escapes) and angle brackets.
std::vector<std::string_view> SplitElements(std::string_view value) {
  std::vector<std::string_view> out;
  bool in_quotes = false;
  int angle = 0;
  size_t start = 0;
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (in_quotes) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_quotes = false;
      }
    } else if (c == '"') {
      in_quotes = true;
    } else if (c == '<') {
      ++angle;
    } else if (c == '>') {
      if (angle > 0) --angle;
    } else if (c == ',' && angle == 0) {
      out.push_back(Trim(value.substr(start, i - start)));
      start = i + 1;
      if (out.size() >= kMaxElementsPerLine) return out;
    }
  }
  out.push_back(Trim(value.substr(std::min(start, value.size()))));
  return out;
}

// Our own cut of the URI out of a name-addr / addr-spec, for elements libosip2 rejects.
std::string_view CutUri(std::string_view element) {
  // name-addr: the URI is between the first '<' outside quotes and the next '>'.
  bool in_quotes = false;
  for (size_t i = 0; i < element.size(); ++i) {
    char c = element[i];
    if (in_quotes) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_quotes = false;
      }
    } else if (c == '"') {
      in_quotes = true;
    } else if (c == '<') {
      size_t close = element.find('>', i + 1);
      std::string_view uri = element.substr(i + 1, close == std::string_view::npos
                                                       ? std::string_view::npos
                                                       : close - i - 1);
      return Trim(uri);
    }
  }
  if (in_quotes) {
    // An unterminated display name: nothing usable follows it.
    return {};
  }
  // addr-spec: parameters after ';' belong to the header (RFC 3261 20.10).
  std::string_view uri = element.substr(0, element.find(';'));
  size_t ws = uri.find_first_of(" \t");
  if (ws != std::string_view::npos) uri = uri.substr(0, ws);
  return Trim(uri);
}

std::string_view StripUriHeaders(std::string_view uri) {
  return uri.substr(0, uri.find('?'));  // RFC 3261 19.1.1: headers follow '?'
}

struct OsipFreeDeleter {
  void operator()(char* p) const { osip_free(p); }
};

// The identity of one element: libosip2's parse of it, else our cut.
std::string IdentityOf(std::string_view element) {
  if (element.empty() || element == "*") return {};
  std::string text(element.substr(0, kMaxIdentityBytes));
  osip_from_t* from = nullptr;
  std::string out;
  if (osip_from_init(&from) == 0 && from != nullptr) {
    if (osip_from_parse(from, text.c_str()) == 0 && from->url != nullptr) {
      osip_uri_header_freelist(&from->url->url_headers);
      char* s = nullptr;
      if (osip_uri_to_str(from->url, &s) == 0 && s != nullptr) {
        std::unique_ptr<char, OsipFreeDeleter> owned(s);
        out = Trim(s);
      }
    }
    osip_from_free(from);
  }
  // libosip2 prints a URI it did not understand as "scheme:(null)" or with an empty scheme.
  if (out.empty() || out.find("(null)") != std::string::npos || out.front() == ':') {
    out = std::string(StripUriHeaders(CutUri(text)));
  }
  return out;
}

class PartySink {
 public:
  explicit PartySink(std::vector<Party>& parties) : parties_(parties), first_(parties.size()) {}

  void Add(PartyRole role, std::string id) {
    if (id.empty()) return;
    for (size_t i = first_; i < parties_.size(); ++i) {
      if (parties_[i].role == role && parties_[i].id == id) return;
    }
    if (parties_.size() - first_ >= kMaxParties) {
      overflow_ = true;
      return;
    }
    parties_.push_back({.role = role, .id = std::move(id)});
  }
  void AddHeader(PartyRole role, std::string_view value) {
    for (std::string_view element : SplitElements(value)) Add(role, IdentityOf(element));
  }
  bool overflow() const { return overflow_; }

 private:
  std::vector<Party>& parties_;
  size_t first_;
  bool overflow_ = false;
};

struct StartLine {
  bool valid = false;
  bool request = false;
  std::string_view method;
  std::string_view uri;
  std::string_view status;
  std::string_view reason;
};

// RFC 3261 7.1 / 7.2: "METHOD SP Request-URI SP SIP/2.0" or "SIP/2.0 SP code SP reason".
StartLine ParseStartLine(std::string_view line) {
  StartLine out;
  line = Trim(line);
  auto is_version = [](std::string_view v) {
    return v.size() >= 4 && EqualsIgnoreCase(v.substr(0, 4), "SIP/");
  };
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return out;
  std::string_view first = line.substr(0, sp1);
  std::string_view rest = Trim(line.substr(sp1 + 1));
  if (is_version(first)) {
    size_t sp2 = rest.find(' ');
    out.status = rest.substr(0, sp2);
    out.reason = sp2 == std::string_view::npos ? std::string_view() : Trim(rest.substr(sp2 + 1));
    out.valid = out.status.size() == 3 &&
                std::all_of(out.status.begin(), out.status.end(),
                            [](char c) { return c >= '0' && c <= '9'; });
    return out;
  }
  size_t sp2 = rest.rfind(' ');
  if (sp2 == std::string_view::npos || !is_version(Trim(rest.substr(sp2 + 1)))) return out;
  out.method = first;
  out.uri = Trim(rest.substr(0, sp2));
  out.request = true;
  out.valid = !out.method.empty() && !out.uri.empty() &&
              std::all_of(first.begin(), first.end(), [](char c) {
                return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == '!' || c == '%' || c == '*' || c == '_' ||
                       c == '+' || c == '`' || c == '\'' || c == '~';
              });
  return out;
}

// libosip2's verdict on the start line and header lines. The body is never handed to it (SIP-I
// bodies are binary, and the SDP names no party), so neither are Content-Type / Content-Length,
// which would make it look for one. On success fills the request URI as libosip2 prints it.
bool OsipParses(const Scan& scan, std::string& request_uri) {
  std::string text;
  text.reserve(scan.section.size() + 2);
  text.append(scan.start_line).append("\r\n");
  for (const HeaderLine& h : scan.headers) {
    if (EqualsIgnoreCase(h.name, "content-type") || EqualsIgnoreCase(h.name, "c") ||
        EqualsIgnoreCase(h.name, "content-length") || EqualsIgnoreCase(h.name, "l")) {
      continue;
    }
    text.append(h.name).append(": ").append(h.value).append("\r\n");
  }
  text.append("\r\n");
  osip_message_t* msg = nullptr;
  if (osip_message_init(&msg) != 0 || msg == nullptr) return false;
  bool ok = osip_message_parse(msg, text.data(), text.size()) == 0;
  if (ok && msg->req_uri != nullptr) {
    osip_uri_header_freelist(&msg->req_uri->url_headers);
    char* s = nullptr;
    if (osip_uri_to_str(msg->req_uri, &s) == 0 && s != nullptr) {
      std::unique_ptr<char, OsipFreeDeleter> owned(s);
      request_uri = s;
    }
  }
  osip_message_free(msg);
  return ok;
}

}  // namespace

absl::Status ExtractParties(std::string_view message, std::vector<Party>& parties,
                            std::vector<std::pair<std::string_view, std::string>>& facts) {
  InitOnce();
  Scan scan = ScanHeaders(message);
  StartLine start = ParseStartLine(scan.start_line);
  PartySink sink(parties);

  bool osip_ok = false;
  std::string osip_request_uri;
  // NUL bytes in the header section make it garbage for a C-string parser: scanner only.
  if (start.valid && !scan.truncated && scan.section.find('\0') == std::string_view::npos) {
    osip_ok = OsipParses(scan, osip_request_uri);
  }

  if (start.valid && start.request) {
    std::string uri = osip_request_uri.empty() || osip_request_uri.find("(null)") != std::string::npos
                          ? IdentityOf(base::StrCat("<", start.uri, ">"))
                          : osip_request_uri;
    sink.Add(PartyRole::kSipRequestUri, std::move(uri));
  }

  std::string_view call_id;
  std::string_view cseq;
  for (const HeaderLine& h : scan.headers) {
    if (std::optional<PartyRole> role = RoleOfHeader(h.name)) {
      sink.AddHeader(*role, h.value);
    } else if (call_id.empty() && (EqualsIgnoreCase(h.name, "call-id") || EqualsIgnoreCase(h.name, "i"))) {
      call_id = h.value;
    } else if (cseq.empty() && EqualsIgnoreCase(h.name, "cseq")) {
      cseq = h.value;
    }
  }

  if (start.valid) {
    if (start.request) {
      facts.emplace_back("sip.method", std::string(start.method));
    } else {
      facts.emplace_back("sip.status", std::string(start.status));
      if (!start.reason.empty()) facts.emplace_back("sip.reason", std::string(start.reason));
      size_t sp = cseq.find_first_of(" \t");
      if (sp != std::string_view::npos) {
        facts.emplace_back("sip.method", std::string(Trim(cseq.substr(sp + 1))));
      }
    }
  }
  if (!call_id.empty()) facts.emplace_back("sip.call_id", std::string(call_id.substr(0, 256)));
  if (!cseq.empty()) facts.emplace_back("sip.cseq", std::string(cseq.substr(0, 64)));
  if (start.valid && !osip_ok) facts.emplace_back("sip.parser", "fallback");

  if (!start.valid) {
    return absl::InvalidArgumentError(
        base::StrCat("sip: not a SIP message (no start line), ", parties.size(), " identities scanned"));
  }
  if (scan.truncated) {
    return absl::ResourceExhaustedError(base::StrCat(
        "sip: header section over ", kMaxHeaderBytes, " bytes or ", kMaxHeaderLines, " lines"));
  }
  if (sink.overflow()) {
    return absl::ResourceExhaustedError(base::StrCat("sip: more than ", kMaxParties, " identities"));
  }
  return absl::OkStatus();
}

absl::Status ExtractPartiesFromHeaderLine(std::string_view line, std::vector<Party>& parties) {
  InitOnce();
  line = Trim(line);
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return absl::InvalidArgumentError("sip: header line without ':'");
  }
  std::string_view name = Trim(line.substr(0, colon));
  if (name.empty() || name.find_first_of(" \t") != std::string_view::npos) {
    return absl::InvalidArgumentError("sip: bad header name");
  }
  if (std::optional<PartyRole> role = RoleOfHeader(name)) {
    PartySink sink(parties);
    sink.AddHeader(*role, Trim(line.substr(colon + 1).substr(0, kMaxHeaderBytes)));
  }
  return absl::OkStatus();
}

}  // namespace tapvault::sip
