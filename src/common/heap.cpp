#include "common/heap.h"

#include <malloc.h>

#if defined(__SANITIZE_ADDRESS__)
#define PETREL_HEAP_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PETREL_HEAP_SANITIZER 1
#endif
#endif

#ifdef PETREL_HEAP_SANITIZER
#include <sanitizer/allocator_interface.h>
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
