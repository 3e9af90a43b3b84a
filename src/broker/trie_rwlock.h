#pragma once
// A writer-preferring reader/writer lock for the subscription trie. std::shared_mutex on
// glibc is a reader-preferring pthread_rwlock: under a steady publish load (readers
// matching back to back on every worker) a SUBSCRIBE can wait indefinitely. Here a
// waiting writer holds back new readers, so (un)subscribe latency is bounded by the
// matches already in progress. Meets SharedMutex, so std::shared_lock / std::unique_lock
// work with it. Not recursive: a reader must not take it again while holding it.
#include <pthread.h>

#include <system_error>

namespace petrel::broker {

class TrieRwLock {
 public:
  TrieRwLock() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
#if defined(__GLIBC__)
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
    const int rc = pthread_rwlock_init(&rw_, &attr);
    pthread_rwlockattr_destroy(&attr);
    if (rc != 0) throw std::system_error(rc, std::generic_category(), "pthread_rwlock_init");
  }
  ~TrieRwLock() { pthread_rwlock_destroy(&rw_); }
  TrieRwLock(const TrieRwLock&) = delete;
  TrieRwLock& operator=(const TrieRwLock&) = delete;

  void lock() { pthread_rwlock_wrlock(&rw_); }
  bool try_lock() { return pthread_rwlock_trywrlock(&rw_) == 0; }
  void unlock() { pthread_rwlock_unlock(&rw_); }
  void lock_shared() { pthread_rwlock_rdlock(&rw_); }
  bool try_lock_shared() { return pthread_rwlock_tryrdlock(&rw_) == 0; }
  void unlock_shared() { pthread_rwlock_unlock(&rw_); }

 private:
  pthread_rwlock_t rw_;
};

}  // namespace petrel::broker
