// Robustness comparison of the asn1c-generated decoder and ours (proto::li_ps::DecodePsPdu) on
// real OpenLI PDUs, for docs/design/0001-ber-decoder.md. Prints plain-text tables:
//
//  1. Differential: every PDU of the four captures, decoded by both; fields both fill (LIID, CIN,
//     sequence number, RTP/SIP content) must agree.
//  2. Mutations of a few real PDUs (IPMM CC, SIP IRI, keep-alive, integrity check): every
//     truncation and every single-bit flip (8 per byte). Per decoder (asn1c; asn1c+c = asn1c
//     followed by asn_check_constraints; ours): accepted (same fields / different fields), asn1c
//     accepted-with-trailing-bytes, want-more, rejected, leaks, crashes.
//  3. Length encodings: every PDU of the captures re-encoded with minimal, 4-octet (84 xx xx xx
//     xx), 8-octet (88 ...) and indefinite lengths (constructed values), decoded by both.
//  4. Deep nesting: an unknown extension in PSHeader holding N nested indefinite-length
//     constructed values (always one child process per input, so a crash is counted).
//
//   asn1c_robustness            in-process; leaks via the malloc counter (non-ASan builds)
//   asn1c_robustness --fork     one child process per input and decoder: crashes are counted
//                               instead of ending the run; under ASan, leaks via LeakSanitizer
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "PS-PDU.h"
#include "ber/reader.h"
#include "corpus.h"
#include "malloc_counter.h"
#include "proto/li_ps/decode.h"

#if defined(__SANITIZE_ADDRESS__)
#define TAPVAULT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TAPVAULT_ASAN 1
#endif
#endif
#ifdef TAPVAULT_ASAN
#include <sanitizer/lsan_interface.h>
// Sanitizer reports end the child with 99, distinct from the result codes below.
extern "C" const char* __asan_default_options() { return "exitcode=99"; }
extern "C" const char* __ubsan_default_options() { return "exitcode=99:print_stacktrace=1"; }
#endif

namespace {
using namespace tapvault;
using asn1c_bench::Pdu;
using asn1c_bench::Summary;

enum Outcome : int {
  kAcceptSame,       // decoded; the cross-checked fields equal the original's
  kAcceptDifferent,  // decoded; some cross-checked field differs from the original's
  kAcceptTrailing,   // asn1c only: RC_OK but bytes left over (a prefix was taken as the PDU)
  kWantMore,         // asn1c only: RC_WMORE (input ends inside the PDU)
  kReject,           // decode error
  kCrash,            // signal or sanitizer report (fork mode only)
  kOutcomes,
};
const char* const kOutcomeNames[kOutcomes] = {"accept_same", "accept_diff", "accept_trailing",
                                              "want_more",   "reject",      "crash"};

struct Result {
  Outcome outcome = kReject;
  bool leaked = false;
};

// kAsn1cChecked: ber_decode, then asn_check_constraints (SIZE and value ranges) on success.
enum class Decoder { kAsn1c, kAsn1cChecked, kOurs };

bool g_fork = false;

bool LeakCheck(const asn1c_bench::AllocStats& before) {
#ifdef TAPVAULT_ASAN
  (void)before;
  return g_fork && __lsan_do_recoverable_leak_check() != 0;
#else
  return asn1c_bench::MallocCounterEnabled() && asn1c_bench::MallocStats().live() != before.live();
#endif
}

Result DecodeInProcess(Decoder d, const Pdu& in, const Summary& want) {
  Result r;
  const asn1c_bench::AllocStats before = asn1c_bench::MallocStats();
  if (d != Decoder::kOurs) {
    PS_PDU* p = nullptr;
    asn1c_bench::Asn1cResult a = asn1c_bench::DecodeAsn1c(in.data(), in.size(), &p);
    if (a.code == RC_OK && d == Decoder::kAsn1cChecked && !asn1c_bench::CheckConstraintsAsn1c(p)) {
      r.outcome = kReject;
    } else if (a.code == RC_OK) {
      if (a.consumed != in.size()) {
        r.outcome = kAcceptTrailing;
      } else {
        r.outcome = asn1c_bench::SummarizeAsn1c(*p) == want ? kAcceptSame : kAcceptDifferent;
      }
    } else {
      r.outcome = a.code == RC_WMORE ? kWantMore : kReject;
    }
    asn1c_bench::FreeAsn1c(p);
  } else {
    proto::PsPdu pdu;
    if (proto::li_ps::DecodePsPdu(in, pdu).ok()) {
      r.outcome = asn1c_bench::SummarizeOurs(pdu) == want ? kAcceptSame : kAcceptDifferent;
    }
  }
  r.leaked = LeakCheck(before);
  return r;
}

constexpr int kExitBase = 40;  // child exit code = kExitBase + outcome + 8 * leaked

Result Decode(Decoder d, const Pdu& in, const Summary& want) {
  if (!g_fork) return DecodeInProcess(d, in, want);
  std::fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    Result r = DecodeInProcess(d, in, want);
    _exit(kExitBase + r.outcome + (r.leaked ? 8 : 0));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  Result r;
  if (WIFEXITED(status) && WEXITSTATUS(status) >= kExitBase &&
      WEXITSTATUS(status) < kExitBase + 16) {
    const int c = WEXITSTATUS(status) - kExitBase;
    r.outcome = static_cast<Outcome>(c & 7);
    r.leaked = (c & 8) != 0;
  } else {
    r.outcome = kCrash;
  }
  return r;
}

struct Tally {
  long n[kOutcomes] = {};
  long leaks = 0;
  long total = 0;
  void Add(const Result& r) {
    ++n[r.outcome];
    leaks += r.leaked;
    ++total;
  }
};

void PrintTally(const char* what, const char* decoder, const Tally& t) {
  std::printf("  %-14s %-7s total=%-5ld", what, decoder, t.total);
  for (int i = 0; i < kOutcomes; ++i) std::printf(" %s=%ld", kOutcomeNames[i], t.n[i]);
  std::printf(" leaks=%ld\n", t.leaks);
}

Summary Reference(const Pdu& p) {
  PS_PDU* d = nullptr;
  asn1c_bench::DecodeAsn1c(p.data(), p.size(), &d);
  Summary s = d ? asn1c_bench::SummarizeAsn1c(*d) : Summary{};
  asn1c_bench::FreeAsn1c(d);
  return s;
}

const char* const kCaptures[] = {
    "microts_HI2_20261128T204233_34560.raw", "microts_HI3_20261128T204237_45928.raw",
    "integrity_HI2_20261128T204322_41712.raw", "integrity_HI3_20261128T204322_41822.raw"};

// 1. Both decoders over every captured PDU.
void Differential() {
  std::printf("== differential: every PDU of the captures\n");
  for (const char* file : kCaptures) {
    long n = 0, asn1c_ok = 0, ours_ok = 0, both = 0, agree = 0;
    std::map<int, long> classes;
    for (const Pdu& p : asn1c_bench::LoadPdus(file)) {
      ++n;
      ++classes[static_cast<int>(asn1c_bench::Classify(p))];
      PS_PDU* a = nullptr;
      asn1c_bench::Asn1cResult ar = asn1c_bench::DecodeAsn1c(p.data(), p.size(), &a);
      const bool aok = ar.code == RC_OK && ar.consumed == p.size();
      proto::PsPdu ours;
      absl::Status s = proto::li_ps::DecodePsPdu(p, ours);
      asn1c_ok += aok;
      ours_ok += s.ok();
      if (aok && s.ok()) {
        ++both;
        const Summary x = asn1c_bench::SummarizeAsn1c(*a), y = asn1c_bench::SummarizeOurs(ours);
        if (x == y) {
          ++agree;
        } else {
          std::printf("  MISMATCH %s seq %lu: liid %s/%s cin %lld/%lld content %zu/%zu bytes\n",
                      file, x.seq, x.liid.c_str(), y.liid.c_str(), x.cin, y.cin,
                      x.content.size(), y.content.size());
        }
      }
      if (!s.ok()) std::printf("  ours rejects a PDU of %s: %s\n", file, std::string(s.message()).c_str());
      asn1c_bench::FreeAsn1c(a);
    }
    std::printf("  %-42s pdus=%ld asn1c_ok=%ld ours_ok=%ld both=%ld fields_agree=%ld classes:", file,
                n, asn1c_ok, ours_ok, both, agree);
    for (auto [c, k] : classes) std::printf(" %d:%ld", c, k);
    std::printf("\n");
  }
}

// 2. Every truncation and every bit flip of one PDU.
void Mutations(const char* name, const Pdu& original) {
  const Summary want = Reference(original);
  // Warm-up: one-time initialisation (libosip2 tables, ...) must not count as a leak.
  DecodeInProcess(Decoder::kAsn1c, original, want);
  DecodeInProcess(Decoder::kOurs, original, want);
  DecodeInProcess(Decoder::kAsn1cChecked, original, want);
  Tally trunc[3], flip[3];
  long disagree_flip = 0, asn1c_only = 0, ours_only = 0;
  for (size_t len = 0; len < original.size(); ++len) {
    Pdu in(original.begin(), original.begin() + static_cast<long>(len));
    trunc[0].Add(Decode(Decoder::kAsn1c, in, want));
    trunc[1].Add(Decode(Decoder::kOurs, in, want));
    trunc[2].Add(Decode(Decoder::kAsn1cChecked, in, want));
  }
  for (size_t i = 0; i < original.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Pdu in = original;
      in[i] ^= std::byte(1u << bit);
      const Result a = Decode(Decoder::kAsn1c, in, want);
      const Result o = Decode(Decoder::kOurs, in, want);
      flip[0].Add(a);
      flip[1].Add(o);
      const Result c = Decode(Decoder::kAsn1cChecked, in, want);
      flip[2].Add(c);
      if ((a.leaked || o.leaked || c.leaked) && std::getenv("ASN1C_ROBUSTNESS_VERBOSE")) {
        std::printf("    leak: flip byte %zu bit %d: asn1c %d asn1c+c %d ours %d\n", i, bit, a.leaked,
                    c.leaked, o.leaked);
      }
      const bool aacc = a.outcome == kAcceptSame || a.outcome == kAcceptDifferent;
      const bool oacc = o.outcome == kAcceptSame || o.outcome == kAcceptDifferent;
      if (aacc != oacc) {
        ++disagree_flip;
        (aacc ? asn1c_only : ours_only)++;
        if (std::getenv("ASN1C_ROBUSTNESS_VERBOSE")) {
          std::printf("    flip byte %zu bit %d (0x%02x->0x%02x): asn1c %s, ours %s\n", i, bit,
                      unsigned(original[i]), unsigned(in[i]), kOutcomeNames[a.outcome],
                      kOutcomeNames[o.outcome]);
        }
      }
    }
  }
  std::printf("== mutations of %s (%zu bytes)\n", name, original.size());
  PrintTally("truncations", "asn1c", trunc[0]);
  PrintTally("truncations", "asn1c+c", trunc[2]);
  PrintTally("truncations", "ours", trunc[1]);
  PrintTally("bit flips", "asn1c", flip[0]);
  PrintTally("bit flips", "asn1c+c", flip[2]);
  PrintTally("bit flips", "ours", flip[1]);
  std::printf("  bit flips accepted by only one decoder: %ld (asn1c only %ld, ours only %ld)\n",
              disagree_flip, asn1c_only, ours_only);
}

// 3. Re-encoding with other length forms.
enum class LengthForm { kMinimal, kFourOctets, kEightOctets, kIndefinite };

void PutLength(Pdu& out, size_t n, LengthForm form) {
  auto put = [&out](unsigned v) { out.push_back(std::byte(v)); };
  if (form == LengthForm::kMinimal) {
    if (n < 128) return put(unsigned(n));
    int k = 0;
    for (size_t v = n; v; v >>= 8) ++k;
    put(0x80u | unsigned(k));
    for (int i = k - 1; i >= 0; --i) put(unsigned(n >> (8 * i)) & 0xffu);
    return;
  }
  const int k = form == LengthForm::kEightOctets ? 8 : 4;
  put(0x80u | unsigned(k));
  for (int i = k - 1; i >= 0; --i) put(unsigned(uint64_t(n) >> (8 * i)) & 0xffu);
}

size_t IdentifierLength(base::Bytes enc) {
  size_t i = 1;
  if ((unsigned(enc[0]) & 0x1f) == 0x1f) {
    while (i < enc.size() && (unsigned(enc[i]) & 0x80)) ++i;
    ++i;
  }
  return i;
}

bool ReEncode(ber::Reader r, LengthForm form, Pdu& out) {
  while (!r.AtEnd()) {
    ber::Tlv t;
    if (!r.Next(t).ok()) return false;
    const size_t id_len = IdentifierLength(t.encoding);
    out.insert(out.end(), t.encoding.begin(), t.encoding.begin() + static_cast<long>(id_len));
    if (!t.tag.constructed) {
      PutLength(out, t.value.size(), form == LengthForm::kIndefinite ? LengthForm::kMinimal : form);
      out.insert(out.end(), t.value.begin(), t.value.end());
      continue;
    }
    auto inner = r.Enter(t);
    if (!inner.ok()) return false;
    Pdu body;
    if (!ReEncode(*inner, form, body)) return false;
    if (form == LengthForm::kIndefinite) {
      out.push_back(std::byte{0x80});
      out.insert(out.end(), body.begin(), body.end());
      out.push_back(std::byte{0});
      out.push_back(std::byte{0});
    } else {
      PutLength(out, body.size(), form);
      out.insert(out.end(), body.begin(), body.end());
    }
  }
  return true;
}

void LengthForms() {
  std::printf("== length encodings: every PDU of the captures, re-encoded\n");
  const char* const names[] = {"minimal", "4-octet (84)", "8-octet (88)", "indefinite"};
  for (int f = 0; f < 4; ++f) {
    Tally t[2];
    for (const char* file : kCaptures) {
      for (const Pdu& p : asn1c_bench::LoadPdus(file)) {
        ber::Context ctx;
        Pdu re;
        if (!ReEncode(ber::Reader(p, ctx), static_cast<LengthForm>(f), re)) continue;
        const Summary want = Reference(p);
        t[0].Add(Decode(Decoder::kAsn1c, re, want));
        t[1].Add(Decode(Decoder::kOurs, re, want));
      }
    }
    PrintTally(names[f], "asn1c", t[0]);
    PrintTally(names[f], "ours", t[1]);
  }
}

// 4. A keep-alive whose PSHeader ends with an unknown extension [30] nested `depth` times, all
// lengths indefinite (be 80 per level going in, 00 00 coming out).
void DeepNesting(const Pdu& keepalive) {
  std::printf("== deep nesting: unknown extension in PSHeader, N nested indefinite-length values\n");
  ber::Context ctx;
  ber::Reader top(keepalive, ctx);
  ber::Tlv pdu, header, payload;
  if (!top.Next(pdu).ok()) return;
  auto fields = top.Enter(pdu);
  if (!fields.ok() || !fields->Next(header).ok() || !fields->Next(payload).ok()) return;
  const Summary want = Reference(keepalive);
  const bool saved_fork = g_fork;
  g_fork = true;
  for (int depth : {10, 1000, 100000, 1000000}) {
    Pdu in = {std::byte{0x30}, std::byte{0x80}, std::byte{0xa1}, std::byte{0x80}};
    in.insert(in.end(), header.value.begin(), header.value.end());
    for (int i = 0; i < depth; ++i) {
      in.push_back(std::byte{0xbe});
      in.push_back(std::byte{0x80});
    }
    for (int i = 0; i < depth; ++i) {
      in.push_back(std::byte{0});
      in.push_back(std::byte{0});
    }
    in.push_back(std::byte{0});
    in.push_back(std::byte{0});
    in.insert(in.end(), payload.encoding.begin(), payload.encoding.end());
    in.push_back(std::byte{0});
    in.push_back(std::byte{0});
    const Result a = Decode(Decoder::kAsn1c, in, want);
    const Result o = Decode(Decoder::kOurs, in, want);
    std::printf("  depth=%-8d bytes=%-8zu asn1c %-12s ours %s\n", depth, in.size(),
                kOutcomeNames[a.outcome], kOutcomeNames[o.outcome]);
  }
  g_fork = saved_fork;
}

const Pdu* First(const std::vector<Pdu>& pdus, asn1c_bench::PduClass c) {
  for (const Pdu& p : pdus) {
    if (asn1c_bench::Classify(p) == c) return &p;
  }
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--fork") == 0) g_fork = true;
  }
  std::printf("mode: %s; leak detection: %s\n", g_fork ? "fork per input" : "in-process",
#ifdef TAPVAULT_ASAN
              g_fork ? "LeakSanitizer (unless ASAN_OPTIONS=detect_leaks=0)" : "none (use --fork)"
#else
              asn1c_bench::MallocCounterEnabled() ? "malloc counter (live blocks)" : "none"
#endif
  );
  Differential();
  const auto hi2 = asn1c_bench::LoadPdus(kCaptures[0]);
  const auto hi3 = asn1c_bench::LoadPdus(kCaptures[1]);
  const auto ihi3 = asn1c_bench::LoadPdus(kCaptures[3]);
  struct Sample {
    const char* name;
    const Pdu* pdu;
  } samples[] = {
      {"IPMM CC (RTP)", First(hi3, asn1c_bench::PduClass::kIpmmCc)},
      {"IPMM IRI (SIP INVITE)", First(hi2, asn1c_bench::PduClass::kIpmmIri)},
      {"keep-alive", First(hi2, asn1c_bench::PduClass::kKeepalive)},
      {"integrity check", First(ihi3, asn1c_bench::PduClass::kIntegrityCheck)},
  };
  for (const Sample& s : samples) {
    if (s.pdu) {
      Mutations(s.name, *s.pdu);
    } else {
      std::printf("== %s: no such PDU in the captures\n", s.name);
    }
  }
  LengthForms();
  if (samples[2].pdu) DeepNesting(*samples[2].pdu);
  return 0;
}
