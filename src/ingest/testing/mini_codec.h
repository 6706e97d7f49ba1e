// TEST ONLY: a minimal PS-PDU header decoder and keep-aliveResponse encoder, so that ingest's
// tests and fuzzer do not depend on the state of proto::li_ps (which is built in parallel).
// It reads the PSHeader fields the session needs and recognises the payload kind (IRI, CC,
// keep-alive, keep-aliveResponse, integrityCheck with its fields, HI1). Not for production.
#pragma once

#include <vector>

#include "absl/status/status.h"
#include "ingest/session.h"
#include "proto/record/record.h"

namespace tapvault::ingest::testing {

absl::Status MiniDecode(base::Bytes frame, proto::PsPdu& out);
std::vector<std::byte> MiniKeepaliveResponse(const proto::PsHeader& h);
// Keep-alive with the given sequence number (OpenLI-like header).
std::vector<std::byte> MiniKeepalive(uint32_t seq);
Codec MiniCodec();

}  // namespace tapvault::ingest::testing
