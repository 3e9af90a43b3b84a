#pragma once
// Bytes of heap the process has allocated and not freed (what memory_limit limits and
// $SYS/broker/heap/current reports): glibc's arenas and mmapped chunks (mallinfo2), or the
// sanitizer allocator's count in an ASan build, where glibc's malloc is not the one in use.
// Takes the allocator's locks briefly: call it a few times a second, not per message.
#include <cstdint>

namespace petrel {

uint64_t heap_in_use();

// Gives free heap pages back to the system (malloc_trim), so that the resident size
// follows the heap down after a peak; a no-op under the sanitizers.
void heap_trim();

}  // namespace petrel
