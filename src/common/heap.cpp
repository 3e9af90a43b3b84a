#include "common/heap.h"

#include <malloc.h>

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define PETREL_HEAP_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PETREL_HEAP_SANITIZER 1
#endif
#endif

#ifdef PETREL_HEAP_SANITIZER
// The sanitizer runtime's count (sanitizer/allocator_interface.h, which GCC does not always
// install with its runtime: declared here).
extern "C" size_t __sanitizer_get_current_allocated_bytes();
#endif

namespace petrel {

uint64_t heap_in_use() {
#ifdef PETREL_HEAP_SANITIZER
  return __sanitizer_get_current_allocated_bytes();
#else
  const struct mallinfo2 m = mallinfo2();
  return uint64_t(m.uordblks) + uint64_t(m.hblkhd);
#endif
}

void heap_trim() {
#ifndef PETREL_HEAP_SANITIZER
  malloc_trim(0);
#endif
}

}  // namespace petrel
