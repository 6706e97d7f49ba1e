#include "malloc_counter.h"

#include <cstdlib>

#if defined(__SANITIZE_ADDRESS__)
#define TAPVAULT_NO_MALLOC_COUNTER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TAPVAULT_NO_MALLOC_COUNTER 1
#endif
#endif

namespace tapvault::asn1c_bench {
AllocStats g_stats;
AllocStats MallocStats() { return g_stats; }

#ifdef TAPVAULT_NO_MALLOC_COUNTER
bool MallocCounterEnabled() { return false; }
}  // namespace tapvault::asn1c_bench
#else
bool MallocCounterEnabled() { return true; }
void CountAlloc(size_t n) {
  ++g_stats.allocs;
  g_stats.bytes += n;
}
void CountFree(void* p) {
  if (p) ++g_stats.frees;
}
}  // namespace tapvault::asn1c_bench

// glibc exports its allocator under these names; definitions in the executable take precedence
// over libc's malloc for every caller in the process (ELF symbol interposition).
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void __libc_free(void*);

void* malloc(size_t n) {
  tapvault::asn1c_bench::CountAlloc(n);
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  tapvault::asn1c_bench::CountAlloc(n * size);
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  auto& s = tapvault::asn1c_bench::g_stats;
  if (p == nullptr) {
    tapvault::asn1c_bench::CountAlloc(n);
  } else if (n == 0) {
    ++s.frees;  // glibc: realloc(p, 0) frees p
  } else {
    ++s.reallocs;
    s.bytes += n;
  }
  return __libc_realloc(p, n);
}
void free(void* p) {
  tapvault::asn1c_bench::CountFree(p);
  __libc_free(p);
}
}
#endif
