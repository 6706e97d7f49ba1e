// EncodeEntry / DecodeEntry: the canonical entry encoding documented in audit_log.h.
#include <algorithm>
#include <cstring>

#include "audit/audit_log.h"
#include "base/status_macros.h"
#include "base/strings.h"

namespace tapvault::audit {
namespace {

// Valid UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF) without C0 controls or
// DEL: such text prints safely in a terminal, a CSV cell and a log line.
bool CleanUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const uint8_t c = static_cast<uint8_t>(s[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7F) return false;
      ++i;
      continue;
    }
    int extra;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      extra = 1, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + static_cast<size_t>(extra) >= s.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      const uint8_t cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += static_cast<size_t>(extra) + 1;
  }
  return true;
}

// Nesting depth of JSON text (brackets outside strings), so that nothing recursive (dump) ever
// sees a deeply nested value from a file or a caller.
int JsonDepth(std::string_view text) {
  int depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

int ValueDepth(const nlohmann::json& j, int limit) {
  if (limit < 0) return 0;
  if (!j.is_structured()) return 0;
  int deepest = 0;
  for (const auto& child : j) {
    deepest = std::max(deepest, ValueDepth(child, limit - 1));
    if (deepest > limit) break;
  }
  return deepest + 1;
}

struct Field {
  const char* name;
  size_t min, max;
};
constexpr Field kActor{"actor", 1, kMaxActorBytes};
constexpr Field kRole{"role", 0, kMaxRoleBytes};
constexpr Field kAction{"action", 1, kMaxActionBytes};
constexpr Field kObject{"object", 0, kMaxObjectBytes};
constexpr Field kOutcome{"outcome", 0, kMaxOutcomeBytes};

absl::Status CheckField(const Field& f, std::string_view v) {
  if (v.size() < f.min || v.size() > f.max) {
    return absl::InvalidArgumentError(base::StrCat("audit: entry ", f.name, " of ", v.size(),
                                                   " bytes (allowed ", f.min, "..", f.max, ")"));
  }
  if (!CleanUtf8(v)) {
    return absl::InvalidArgumentError(base::StrCat(
        "audit: entry ", f.name, " is not UTF-8 text without control characters"));
  }
  return absl::OkStatus();
}

void PutBE(std::string& out, uint64_t v, int bytes) {
  for (int s = 8 * (bytes - 1); s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xFF));
}
void PutStr(std::string& out, std::string_view v) {
  PutBE(out, v.size(), 2);
  out.append(v);
}

absl::StatusOr<std::string> CanonicalDetail(const nlohmann::json& detail) {
  if (ValueDepth(detail, kMaxDetailDepth) > kMaxDetailDepth) {
    return absl::InvalidArgumentError(
        base::StrCat("audit: entry detail nests deeper than ", kMaxDetailDepth));
  }
  try {
    return detail.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::strict);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(base::StrCat("audit: entry detail: ", e.what()));
  }
}

}  // namespace

absl::StatusOr<std::string> EncodeEntry(const Entry& entry) {
  const Event& e = entry.event;
  RETURN_IF_ERROR(CheckField(kActor, e.actor));
  RETURN_IF_ERROR(CheckField(kRole, e.role));
  RETURN_IF_ERROR(CheckField(kAction, e.action));
  RETURN_IF_ERROR(CheckField(kObject, e.object));
  RETURN_IF_ERROR(CheckField(kOutcome, e.outcome));
  ASSIGN_OR_RETURN(std::string detail, CanonicalDetail(e.detail));
  std::string out;
  out.reserve(1 + 8 + 8 + 6 * 2 + e.actor.size() + e.role.size() + e.action.size() +
              e.object.size() + e.outcome.size() + detail.size());
  out.push_back(static_cast<char>(kEntryVersion));
  PutBE(out, entry.index, 8);
  PutBE(out, static_cast<uint64_t>(e.at_us), 8);
  PutStr(out, e.actor);
  PutStr(out, e.role);
  PutStr(out, e.action);
  PutStr(out, e.object);
  PutStr(out, e.outcome);
  if (detail.size() > 0xFFFF || out.size() + 2 + detail.size() > kMaxEntryBytes) {
    return absl::InvalidArgumentError(base::StrCat(
        "audit: entry of ", out.size() + 2 + detail.size(), " bytes (at most ", kMaxEntryBytes,
        "): shorten its detail"));
  }
  PutStr(out, detail);
  return out;
}

absl::StatusOr<Entry> DecodeEntry(base::Bytes encoded) {
  base::ByteReader r(encoded);
  auto bad = [&](std::string_view what) {
    return absl::InvalidArgumentError(
        base::StrCat("audit: entry: ", what, " at byte ", r.position()));
  };
  uint8_t version;
  if (!r.ReadU8(version)) return bad("empty");
  if (version != kEntryVersion) return bad(base::StrCat("unknown version ", int{version}));
  Entry out;
  uint64_t at;
  if (!r.ReadBigEndian(8, out.index) || !r.ReadBigEndian(8, at)) return bad("short header");
  out.event.at_us = static_cast<int64_t>(at);
  auto str = [&](const Field& f, std::string& dst) -> absl::Status {
    uint64_t len;
    base::Bytes b;
    if (!r.ReadBigEndian(2, len) || !r.ReadSpan(len, b)) return bad(base::StrCat("short ", f.name));
    dst.assign(base::AsString(b));
    return CheckField(f, dst);
  };
  RETURN_IF_ERROR(str(kActor, out.event.actor));
  RETURN_IF_ERROR(str(kRole, out.event.role));
  RETURN_IF_ERROR(str(kAction, out.event.action));
  RETURN_IF_ERROR(str(kObject, out.event.object));
  RETURN_IF_ERROR(str(kOutcome, out.event.outcome));
  uint64_t len;
  base::Bytes b;
  if (!r.ReadBigEndian(2, len) || !r.ReadSpan(len, b)) return bad("short detail");
  if (!r.empty()) return bad("trailing bytes");
  const std::string_view text = base::AsString(b);
  if (JsonDepth(text) > kMaxDetailDepth) return bad("detail nests too deep");
  nlohmann::json detail = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (detail.is_discarded()) return bad("detail is not JSON");
  ASSIGN_OR_RETURN(std::string canonical, CanonicalDetail(detail));
  if (canonical != text) return bad("detail is not canonical JSON");
  out.event.detail = std::move(detail);
  return out;
}

}  // namespace tapvault::audit
