// TS 103 120 import with libxml2: size check, DOCTYPE refusal, parse (no network, no entity
// substitution, no DTD loading), XSD validation against the embedded subset schemas, then a walk
// over the validated tree. Because validation comes first, the walk may rely on the structure the
// schema guarantees (required children present, sequence order) but still checks every value it
// converts (times, identifiers) and reports the line of the element at fault.
#include "warrant/ts103120.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlschemas.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <memory>
#include <mutex>
#include <set>

#include "absl/status/status.h"
#include "base/status_macros.h"
#include "base/strings.h"
#include "base/time.h"

namespace tapvault::warrant {

namespace internal {
std::vector<std::pair<std::string_view, std::string_view>> EmbeddedXsd();  // generated
}  // namespace internal

std::vector<std::pair<std::string_view, std::string_view>> EmbeddedSchemas() {
  return internal::EmbeddedXsd();
}

namespace {

// TS 103 120 namespaces (clause 5 / annex C of the standard).
constexpr std::string_view kCoreNs = "http://uri.etsi.org/03120/common/2019/10/Core";
constexpr std::string_view kCommonNs = "http://uri.etsi.org/03120/common/2016/02/Common";
constexpr std::string_view kAuthNs = "http://uri.etsi.org/03120/common/2020/09/Authorisation";
constexpr std::string_view kTaskNs = "http://uri.etsi.org/03120/common/2020/09/Task";
constexpr const char* kXsiNs = "http://www.w3.org/2001/XMLSchema-instance";
constexpr std::string_view kBundleName = "tapvault-ts103120-bundle.xsd";

// Bounds on what one message may carry (beyond max_bytes).
constexpr size_t kMaxObjects = 1000;
constexpr size_t kMaxErrorsReported = 5;

std::string_view Sv(const xmlChar* s) {
  return s == nullptr ? std::string_view() : std::string_view(reinterpret_cast<const char*>(s));
}

// Serves the embedded schema files to libxml2 by name and refuses everything else, so that no
// schema import, DTD or external entity ever reads a file or the network.
xmlParserInputPtr EmbeddedOnlyLoader(const char* url, const char* id, xmlParserCtxtPtr ctxt) {
  std::string_view name = url == nullptr ? std::string_view() : std::string_view(url);
  if (size_t slash = name.rfind('/'); slash != std::string_view::npos) {
    name.remove_prefix(slash + 1);
  }
  for (const auto& [file, text] : internal::EmbeddedXsd()) {
    if (name != file) continue;
    xmlParserInputBufferPtr buf = xmlParserInputBufferCreateMem(
        text.data(), static_cast<int>(text.size()), XML_CHAR_ENCODING_NONE);
    if (buf == nullptr) return nullptr;
    xmlParserInputPtr in = xmlNewIOInputStream(ctxt, buf, XML_CHAR_ENCODING_NONE);
    if (in == nullptr) {
      xmlFreeParserInputBuffer(buf);
      return nullptr;
    }
    in->filename = reinterpret_cast<const char*>(xmlStrdup(reinterpret_cast<const xmlChar*>(url)));
    return in;
  }
  return nullptr;
}

struct Errors {
  std::vector<std::string> lines;
  size_t count = 0;
  static void Collect(void* ctx, xmlErrorPtr e) {
    auto* self = static_cast<Errors*>(ctx);
    if (e == nullptr || e->level < XML_ERR_ERROR) return;
    ++self->count;
    if (self->lines.size() >= kMaxErrorsReported) return;
    std::string msg = e->message != nullptr ? e->message : "error";
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    self->lines.push_back(base::StrCat("line ", e->line, ": ", msg));
  }
  std::string Join() const {
    std::string out;
    for (const std::string& l : lines) {
      if (!out.empty()) out += "; ";
      out += l;
    }
    if (count > lines.size()) out += base::StrCat(" (and ", count - lines.size(), " more)");
    return out;
  }
};

struct CompiledSchema {
  xmlSchemaPtr schema = nullptr;
  std::string error;  // why compiling failed (our bug)
};

const CompiledSchema& Schema() {
  static const CompiledSchema* compiled = [] {
    auto* c = new CompiledSchema;
    xmlInitParser();
    xmlSetExternalEntityLoader(EmbeddedOnlyLoader);
    std::string_view bundle;
    for (const auto& [file, text] : internal::EmbeddedXsd()) {
      if (file == kBundleName) bundle = text;
    }
    Errors errors;
    xmlSchemaParserCtxtPtr pc =
        xmlSchemaNewMemParserCtxt(bundle.data(), static_cast<int>(bundle.size()));
    if (pc == nullptr) {
      c->error = "cannot create the schema parser";
      return c;
    }
    xmlSchemaSetParserStructuredErrors(pc, &Errors::Collect, &errors);
    c->schema = xmlSchemaParse(pc);
    xmlSchemaFreeParserCtxt(pc);
    if (c->schema == nullptr) c->error = errors.Join();
    return c;
  }();
  return *compiled;
}

struct DocDeleter {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using DocPtr = std::unique_ptr<xmlDoc, DocDeleter>;

absl::Status AtLine(long line, std::string_view what) {
  return absl::InvalidArgumentError(base::StrCat("ts103120: line ", line, ": ", what));
}
absl::Status AtNode(const xmlNode* n, std::string_view what) {
  return AtLine(xmlGetLineNo(n), what);
}

bool Is(const xmlNode* n, std::string_view ns, std::string_view name) {
  return n != nullptr && n->type == XML_ELEMENT_NODE && n->ns != nullptr &&
         Sv(n->ns->href) == ns && Sv(n->name) == name;
}

const xmlNode* Child(const xmlNode* n, std::string_view ns, std::string_view name) {
  if (n == nullptr) return nullptr;
  for (const xmlNode* c = n->children; c != nullptr; c = c->next) {
    if (Is(c, ns, name)) return c;
  }
  return nullptr;
}

std::vector<const xmlNode*> Children(const xmlNode* n, std::string_view ns,
                                     std::string_view name) {
  std::vector<const xmlNode*> out;
  if (n == nullptr) return out;
  for (const xmlNode* c = n->children; c != nullptr; c = c->next) {
    if (Is(c, ns, name)) out.push_back(c);
  }
  return out;
}

const xmlNode* FirstElement(const xmlNode* n) {
  for (const xmlNode* c = n->children; c != nullptr; c = c->next) {
    if (c->type == XML_ELEMENT_NODE) return c;
  }
  return nullptr;
}

std::string_view Trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// The text of an element, trimmed; "" for a missing element.
std::string Text(const xmlNode* n) {
  if (n == nullptr) return "";
  xmlChar* c = xmlNodeGetContent(n);
  std::string out(Trim(Sv(c)));
  xmlFree(c);
  return out;
}

absl::StatusOr<int64_t> Time(const xmlNode* n) {
  absl::StatusOr<base::Timestamp> t = base::ParseRfc3339(Text(n));
  if (!t.ok()) return AtNode(n, base::View(t.status().message()));
  return t->unix_us;
}

absl::StatusOr<uint64_t> Unsigned(const xmlNode* n) {
  std::string s = Text(n);
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return AtNode(n, base::StrCat(Sv(n->name), " is not a number within 64 bits"));
  }
  return v;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool AllDigits(std::string_view s, size_t min, size_t max) {
  return s.size() >= min && s.size() <= max &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// One HI1Object as read from the tree.
struct Object {
  const xmlNode* node = nullptr;
  bool create = false;  // in a CREATE (else UPDATE)
  std::string id;
  std::vector<std::string> associated;
};

struct Authorisation : Object {
  WarrantSpec spec;
  // The AuthorisationTimespan as given; what it lacks is taken from the tasks' Timespan.
  std::optional<int64_t> start_us, end_us, termination_us;
};

struct Task : Object {
  std::string liid;
  std::vector<std::string> targets;
  std::optional<int64_t> start_us, end_us;  // its Timespan (EndTime or TerminationTime)
};

absl::Status ReadBase(const xmlNode* obj, Object& o) {
  o.node = obj;
  o.id = Text(Child(obj, kCoreNs, "ObjectIdentifier"));
  if (o.id.empty()) return AtNode(obj, "HI1Object without ObjectIdentifier");
  for (const xmlNode* a :
       Children(Child(obj, kCoreNs, "AssociatedObjects"), kCoreNs, "AssociatedObject")) {
    o.associated.push_back(Text(a));
  }
  return absl::OkStatus();
}

bool IsProsecutorRole(std::string_view role) {
  std::string r = Lower(role);
  return r.find("prosecut") != std::string::npos || r.find("officier van justitie") !=
                                                        std::string::npos;
}

absl::StatusOr<Authorisation> ReadAuthorisation(const xmlNode* obj) {
  Authorisation a;
  RETURN_IF_ERROR(ReadBase(obj, a));
  WarrantSpec& s = a.spec;
  s.id = a.id;
  s.source = "ts103120";
  if (const xmlNode* g = Child(obj, kCoreNs, "Generation")) {
    ASSIGN_OR_RETURN(s.generation, Unsigned(g));
  }
  std::string auth_reference = Text(Child(obj, kAuthNs, "AuthorisationReference"));
  s.legal_basis =
      Text(Child(Child(obj, kAuthNs, "AuthorisationLegalType"), kCommonNs, "Value"));
  const xmlNode* span = Child(obj, kAuthNs, "AuthorisationTimespan");
  if (const xmlNode* start = Child(span, kAuthNs, "StartTime")) {
    ASSIGN_OR_RETURN(a.start_us, Time(start));
  }
  if (const xmlNode* end = Child(span, kAuthNs, "EndTime")) {
    ASSIGN_OR_RETURN(a.end_us, Time(end));
  }
  if (const xmlNode* term = Child(obj, kAuthNs, "AuthorisationTerminationTimestamp")) {
    ASSIGN_OR_RETURN(a.termination_us, Time(term));
  }
  int64_t created_us = 0;
  if (const xmlNode* c = Child(obj, kAuthNs, "AuthorisationCreationTimestamp")) {
    ASSIGN_OR_RETURN(created_us, Time(c));
  }
  bool have_judge = false, have_prosecutor = false;
  std::string judge_reference;
  int64_t judge_us = 0;
  for (const xmlNode* ad : Children(obj, kAuthNs, "AuthorisationApprovalDetails")) {
    const xmlNode* who = Child(ad, kCommonNs, "ApproverDetails");
    std::string name = Text(Child(who, kCommonNs, "Name"));
    std::string role = Text(Child(who, kCommonNs, "Role"));
    std::string ref = Text(Child(ad, kCommonNs, "ApprovalReference"));
    int64_t at_us = 0;
    if (const xmlNode* ts = Child(ad, kCommonNs, "ApprovalTimestamp")) {
      ASSIGN_OR_RETURN(at_us, Time(ts));
    }
    if (IsProsecutorRole(role)) {
      if (have_prosecutor) continue;
      have_prosecutor = true;
      s.prosecutor = name;
      s.prosecutor_reference = ref;
    } else if (!have_judge) {
      have_judge = true;
      s.authority = name;
      judge_reference = ref;
      judge_us = at_us;
    }
  }
  s.authority_reference = !judge_reference.empty() ? judge_reference : auth_reference;
  s.issued_us = judge_us != 0 ? judge_us : created_us;
  return a;
}

absl::StatusOr<Task> ReadTask(const xmlNode* obj) {
  Task t;
  RETURN_IF_ERROR(ReadBase(obj, t));
  t.liid = Text(Child(obj, kTaskNs, "Reference"));
  if (t.liid.empty()) return AtNode(obj, base::StrCat("task ", t.id, ": Reference (LIID) empty"));
  const xmlNode* values =
      Child(Child(obj, kTaskNs, "TargetIdentifier"), kTaskNs, "TargetIdentifierValues");
  for (const xmlNode* v : Children(values, kTaskNs, "TargetIdentifierValue")) {
    const xmlNode* format = Child(v, kTaskNs, "FormatType");
    absl::StatusOr<std::string> target =
        CanonicalTarget(Text(Child(format, kTaskNs, "FormatOwner")),
                        Text(Child(format, kTaskNs, "FormatName")),
                        Text(Child(v, kTaskNs, "Value")));
    if (!target.ok()) return AtNode(v, base::View(target.status().message()));
    if (std::find(t.targets.begin(), t.targets.end(), *target) == t.targets.end()) {
      t.targets.push_back(*std::move(target));
    }
  }
  if (t.targets.empty()) {
    return AtNode(obj, base::StrCat("task ", t.id, ": no TargetIdentifierValue"));
  }
  const xmlNode* span = Child(obj, kTaskNs, "Timespan");
  if (const xmlNode* start = Child(span, kTaskNs, "StartTime")) {
    ASSIGN_OR_RETURN(t.start_us, Time(start));
  }
  for (const char* name : {"EndTime", "TerminationTime"}) {
    if (const xmlNode* end = Child(span, kTaskNs, name)) {
      ASSIGN_OR_RETURN(int64_t e, Time(end));
      t.end_us = t.end_us ? std::min(*t.end_us, e) : e;
    }
  }
  return t;
}

// The concrete type named by xsi:type, as (namespace, local name).
std::pair<std::string, std::string> XsiType(const xmlNode* obj) {
  xmlChar* raw = xmlGetNsProp(obj, reinterpret_cast<const xmlChar*>("type"),
                              reinterpret_cast<const xmlChar*>(kXsiNs));
  std::string qname(Trim(Sv(raw)));
  xmlFree(raw);
  std::string prefix, local = qname;
  if (size_t colon = qname.find(':'); colon != std::string::npos) {
    prefix = qname.substr(0, colon);
    local = qname.substr(colon + 1);
  }
  xmlNs* ns = xmlSearchNs(obj->doc, const_cast<xmlNode*>(obj),
                          prefix.empty() ? nullptr : reinterpret_cast<const xmlChar*>(prefix.c_str()));
  return {ns != nullptr ? std::string(Sv(ns->href)) : std::string(), local};
}

absl::StatusOr<DocPtr> ParseAndValidate(std::string_view xml, const ImportOptions& options) {
  if (xml.size() > options.max_bytes) {
    return absl::ResourceExhaustedError(base::StrCat(
        "ts103120: message of ", xml.size(), " bytes is larger than the limit of ",
        options.max_bytes));
  }
  // A DOCTYPE can declare entities (XXE, entity expansion): refuse it before libxml2 sees it.
  // This also refuses the text "<!DOCTYPE" inside a comment or CDATA: no HI-1 message has one.
  if (size_t at = xml.find("<!DOCTYPE"); at != std::string_view::npos) {
    long line = 1 + static_cast<long>(std::count(xml.begin(), xml.begin() + at, '\n'));
    return AtLine(line, "a DOCTYPE is not allowed (no DTDs, no entities)");
  }
  const CompiledSchema& schema = Schema();
  if (schema.schema == nullptr) {
    return absl::InternalError(base::StrCat("ts103120: embedded schema: ", schema.error));
  }
  xmlParserCtxtPtr pc = xmlNewParserCtxt();
  if (pc == nullptr) return absl::ResourceExhaustedError("ts103120: out of memory");
  // No XML_PARSE_NOENT (no entity substitution), no XML_PARSE_DTDLOAD, no network; errors are
  // collected, never printed.
  constexpr int kOptions =
      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES;
  DocPtr doc(xmlCtxtReadMemory(pc, xml.data(), static_cast<int>(xml.size()), "hi1message.xml",
                               nullptr, kOptions));
  if (doc == nullptr || !pc->wellFormed) {
    const xmlError* e = xmlCtxtGetLastError(pc);
    std::string msg = e != nullptr && e->message != nullptr ? e->message : "not well-formed XML";
    long line = e != nullptr ? e->line : 0;
    xmlFreeParserCtxt(pc);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return AtLine(line, base::StrCat("not well-formed XML: ", msg));
  }
  xmlFreeParserCtxt(pc);
  if (doc->intSubset != nullptr || doc->extSubset != nullptr) {
    return AtLine(1, "a DOCTYPE is not allowed (no DTDs, no entities)");
  }
  xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt(schema.schema);
  if (vc == nullptr) return absl::ResourceExhaustedError("ts103120: out of memory");
  Errors errors;
  xmlSchemaSetValidStructuredErrors(vc, &Errors::Collect, &errors);
  int rc = xmlSchemaValidateDoc(vc, doc.get());
  xmlSchemaFreeValidCtxt(vc);
  if (rc != 0) {
    if (errors.lines.empty()) return absl::InvalidArgumentError("ts103120: not a valid HI1Message");
    return absl::InvalidArgumentError(
        base::StrCat("ts103120: not a valid HI1Message: ", errors.Join()));
  }
  return doc;
}

}  // namespace

absl::StatusOr<std::string> CanonicalTarget(std::string_view format_owner,
                                            std::string_view format_name, std::string_view value) {
  value = Trim(value);
  if (value.empty()) return absl::InvalidArgumentError("target identifier value is empty");
  for (char c : value) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError("target identifier holds a control character");
    }
  }
  auto bad = [&](std::string_view want) {
    return absl::InvalidArgumentError(
        base::StrCat("target identifier of format ", format_name, ": ", want));
  };
  if (format_owner == "ETSI") {
    if (format_name == "InternationalE164") {
      std::string_view d = value;
      if (!d.empty() && d.front() == '+') d.remove_prefix(1);
      if (!AllDigits(d, 1, 15)) return bad("want 1 to 15 digits");
      return base::StrCat("+", d);
    }
    if (format_name == "SIPURI") {
      std::string l = Lower(value.substr(0, 5));
      if (l.rfind("sip:", 0) != 0 && l.rfind("sips:", 0) != 0) return bad("want sip: or sips:");
      return std::string(value);
    }
    if (format_name == "TELURI") {
      if (Lower(value.substr(0, 4)) != "tel:") return bad("want tel:");
      return std::string(value);
    }
    if (format_name == "IMSI") {
      if (!AllDigits(value, 6, 15)) return bad("want 6 to 15 digits");
      return base::StrCat("imsi:", value);
    }
    if (format_name == "IMEI") {
      if (!AllDigits(value, 14, 16)) return bad("want 14 to 16 digits");
      return base::StrCat("imei:", value);
    }
    if (format_name == "EmailAddress") {
      if (value.find('@') == std::string_view::npos) return bad("want an address with @");
      return std::string(value);
    }
  }
  if (format_owner.empty() || format_name.empty()) {
    return absl::InvalidArgumentError("target identifier without FormatOwner or FormatName");
  }
  return base::StrCat(Lower(format_owner), ".", format_name, ":", value);
}

absl::StatusOr<std::vector<WarrantSpec>> ParseHi1Message(std::string_view xml,
                                                         const ImportOptions& options) {
  if (Trim(options.team).empty()) {
    return absl::InvalidArgumentError("ts103120: the importing team is required");
  }
  ASSIGN_OR_RETURN(DocPtr doc, ParseAndValidate(xml, options));
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!Is(root, kCoreNs, "HI1Message")) {
    return absl::InvalidArgumentError("ts103120: the root is not a Core HI1Message");
  }
  const xmlNode* payload = Child(root, kCoreNs, "Payload");
  const xmlNode* request = Child(payload, kCoreNs, "RequestPayload");
  if (request == nullptr) {
    return AtNode(payload, "only a RequestPayload can be imported (this is a response)");
  }
  std::vector<Authorisation> auths;
  std::vector<Task> tasks;
  for (const xmlNode* ar :
       Children(Child(request, kCoreNs, "ActionRequests"), kCoreNs, "ActionRequest")) {
    const xmlNode* action = nullptr;
    for (const xmlNode* c = ar->children; c != nullptr; c = c->next) {
      if (c->type == XML_ELEMENT_NODE && !Is(c, kCoreNs, "ActionIdentifier")) action = c;
    }
    if (action == nullptr) return AtNode(ar, "ActionRequest without an action");
    bool create = Is(action, kCoreNs, "CREATE");
    // GET, LIST, DELIVER ask the receiver for something; they carry no warrant to import.
    if (!create && !Is(action, kCoreNs, "UPDATE")) continue;
    const xmlNode* obj = FirstElement(action);
    if (auths.size() + tasks.size() >= kMaxObjects) {
      return AtNode(obj, base::StrCat("more than ", kMaxObjects, " objects in one message"));
    }
    auto [ns, type] = XsiType(obj);
    if (ns == kAuthNs && type == "AuthorisationObject") {
      ASSIGN_OR_RETURN(Authorisation a, ReadAuthorisation(obj));
      a.create = create;
      auths.push_back(std::move(a));
    } else if (ns == kTaskNs && type == "LITaskObject") {
      ASSIGN_OR_RETURN(Task t, ReadTask(obj));
      t.create = create;
      tasks.push_back(std::move(t));
    }
    // Other objects (the warrant's DocumentObject, notifications, delivery objects) travel with
    // the authorisation and its tasks; they are validated by the schema and not imported.
  }
  std::map<std::string, size_t> auth_by_id;
  for (size_t i = 0; i < auths.size(); ++i) {
    if (!auth_by_id.emplace(auths[i].id, i).second) {
      return AtNode(auths[i].node,
                    base::StrCat("authorisation ", auths[i].id, " appears twice in the message"));
    }
  }
  // Join each task with its authorisation(s): the task names the authorisation, or the
  // authorisation names the task (TS 103 120 allows either direction).
  std::map<size_t, int64_t> task_start, task_end;
  for (const Task& t : tasks) {
    std::set<size_t> linked;
    for (const std::string& id : t.associated) {
      if (auto it = auth_by_id.find(id); it != auth_by_id.end()) linked.insert(it->second);
    }
    for (size_t i = 0; i < auths.size(); ++i) {
      const auto& as = auths[i].associated;
      if (std::find(as.begin(), as.end(), t.id) != as.end()) linked.insert(i);
    }
    if (linked.empty()) {
      return AtNode(t.node, base::StrCat("task ", t.id,
                                         " is associated with no AuthorisationObject in the "
                                         "message"));
    }
    for (size_t i : linked) {
      WarrantSpec& s = auths[i].spec;
      if (!s.liid.empty() && s.liid != t.liid) {
        return AtNode(t.node, base::StrCat("authorisation ", s.id,
                                           " has tasks for different LIIDs; tapvault keeps one "
                                           "warrant per LIID: send one authorisation per LIID"));
      }
      s.liid = t.liid;
      // What the authorisation's timespan leaves open, its tasks' timespans give: the earliest
      // start and the latest end of them.
      if (t.start_us) task_start[i] = task_start.count(i) ? std::min(task_start[i], *t.start_us)
                                                           : *t.start_us;
      if (t.end_us) task_end[i] = task_end.count(i) ? std::max(task_end[i], *t.end_us) : *t.end_us;
      for (const std::string& target : t.targets) {
        if (std::find(s.targets.begin(), s.targets.end(), target) == s.targets.end()) {
          s.targets.push_back(target);
        }
      }
    }
  }
  std::vector<WarrantSpec> out;
  out.reserve(auths.size());
  for (size_t i = 0; i < auths.size(); ++i) {
    Authorisation& a = auths[i];
    std::optional<int64_t> from = a.start_us, to = a.end_us;
    if (!from && task_start.count(i)) from = task_start[i];
    if (!to && task_end.count(i)) to = task_end[i];
    if (!from || !to) {
      return AtNode(a.node, base::StrCat("authorisation ", a.id,
                                         ": a StartTime and an EndTime are required (in its "
                                         "AuthorisationTimespan or its task's Timespan)"));
    }
    a.spec.valid_from_us = *from;
    a.spec.valid_to_us = a.termination_us ? std::min(*to, *a.termination_us) : *to;
    if (a.spec.valid_from_us >= a.spec.valid_to_us) {
      return AtNode(a.node, base::StrCat("authorisation ", a.id, ": its timespan is empty (the "
                                         "end, or the termination, is not after the start)"));
    }
    if (a.create && a.spec.liid.empty()) {
      return AtNode(a.node, base::StrCat("CREATE of authorisation ", a.id,
                                         " without an associated LITaskObject (no LIID)"));
    }
    a.spec.team = std::string(Trim(options.team));
    a.spec.retention_days = options.retention_days;
    out.push_back(std::move(a.spec));
  }
  if (out.empty()) return absl::InvalidArgumentError("ts103120: no AuthorisationObject in message");
  return out;
}

}  // namespace tapvault::warrant
