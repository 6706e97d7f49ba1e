// `tapvault inspect`: decodes a raw handover byte stream (a file written by `serve
// --raw-capture`, a mediator capture, or stdin) into JSON lines, one per payload item.
//
//   int exit_code = inspect::Run(std::cin, std::cout, std::cerr);
//
// The stream is read incrementally (bounded memory: one PDU at a time plus the read buffer).
// A PDU that fails to decode is reported on `err` with its byte offset and skipped; bytes that
// cannot start a PDU are skipped to the next plausible PS-PDU start, reported likewise.
// Exit code: 0 when everything decoded, 1 when any error was reported.
#pragma once

#include <cstdint>
#include <istream>
#include <ostream>

namespace tapvault::inspect {

struct Summary {
  uint64_t pdus = 0;
  uint64_t items = 0;
  uint64_t errors = 0;
  uint64_t bytes = 0;
};

// Decodes the whole stream; writes JSON lines to `out` and errors to `err`.
Summary Decode(std::istream& in, std::ostream& out, std::ostream& err);
int Run(std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace tapvault::inspect
