// Decoding CC PDUs into a reused PsPdu must not touch the heap (the ingest hot path). This
// binary replaces the global operator new/delete with counting versions.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <new>
#include <string>
#include <vector>

#include "ber/reader.h"
#include "proto/li_ps/decode.h"

// The replacements below pair malloc with free on purpose.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

namespace {
std::atomic<long> g_allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }

namespace tapvault::proto::li_ps {
namespace {

std::vector<std::byte> ReadCapture(const std::string& name) {
  const char* shared = std::getenv("TAPVAULT_SHARED_DIR");
  std::ifstream in(std::string(shared ? shared : TAPVAULT_TEST_SHARED_DIR) + "/data/openli/" + name,
                   std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return std::vector<std::byte>(p, p + s.size());
}

// The frames of `stream` whose single item is a CC of `service`.
std::vector<Bytes> CcFrames(const std::vector<std::byte>& stream, Service service) {
  std::vector<Bytes> out;
  Bytes rest(stream);
  PsPdu pdu;
  while (!rest.empty()) {
    ber::Context ctx;
    absl::StatusOr<size_t> n = ber::CompleteTlvLength(rest, ctx);
    if (!n.ok() || *n == 0) break;
    const Bytes frame = rest.first(*n);
    rest = rest.subspan(*n);
    if (DecodePsPdu(frame, pdu).ok() && pdu.items.size() == 1 && pdu.items[0].kind == Kind::kCc &&
        pdu.items[0].service == service) {
      out.push_back(frame);
    }
  }
  return out;
}

void ExpectNoAllocations(Service service) {
  const std::vector<std::byte> stream = ReadCapture("microts_HI3_20261128T204237_45928.raw");
  const std::vector<Bytes> frames = CcFrames(stream, service);
  ASSERT_GE(frames.size(), 30u);
  PsPdu pdu;
  ASSERT_TRUE(DecodePsPdu(frames[0], pdu).ok());  // warm-up: domain_id's buffer
  const long before = g_allocations.load();
  size_t bytes = 0;
  for (int round = 0; round < 3; ++round) {
    for (Bytes frame : frames) {
      const absl::Status s = DecodePsPdu(frame, pdu);
      if (!s.ok()) break;
      bytes += pdu.items[0].content.size();
    }
  }
  EXPECT_EQ(g_allocations.load() - before, 0);
  EXPECT_GT(bytes, 0u);
}

TEST(NoAllocation, IpmmCc) { ExpectNoAllocations(Service::kIpmm); }
TEST(NoAllocation, IpCc) { ExpectNoAllocations(Service::kIpAccess); }

TEST(NoAllocation, CounterWorks) {
  const long before = g_allocations.load();
  auto* v = new std::vector<int>(100);
  delete v;
  EXPECT_GE(g_allocations.load() - before, 2);
}

}  // namespace
}  // namespace tapvault::proto::li_ps
