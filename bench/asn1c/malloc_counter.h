// Counts calls to malloc/calloc/realloc (operator new goes through malloc in libstdc++) made by
// this process, by interposing glibc's allocator. Compiled out under AddressSanitizer, which
// interposes the allocator itself (Enabled() is then false). Not thread-safe: single-threaded
// measurement tools only.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tapvault::asn1c_bench {

struct AllocStats {
  uint64_t allocs = 0;     // new blocks: malloc, calloc, realloc(nullptr, n)
  uint64_t reallocs = 0;   // realloc of an existing block
  uint64_t frees = 0;      // blocks released: free(non-null), realloc(p, 0)
  uint64_t bytes = 0;      // bytes requested by all of the above
  uint64_t live() const { return allocs - frees; }
};

bool MallocCounterEnabled();
AllocStats MallocStats();

}  // namespace tapvault::asn1c_bench
