// C11 thread creation for the ThreadSanitizer build (CMakePresets.json "tsan"), linked into
// every executable of that build only.
//
// librdkafka creates its threads with C11 thrd_create(). Debian 12's glibc (2.36) implements it
// inside libc by calling its pthread_create directly, not through the PLT, so neither GCC's nor
// clang's TSan runtime sees the thread start: a librdkafka thread has no TSan thread state and
// its first malloc() crashes the runtime ("SEGV ... in SizeClassAllocator64LocalCache::Allocate",
// thread "rdk:..."). These definitions take precedence over libc's for every library (the
// executable comes first in symbol lookup) and forward to the pthread calls TSan intercepts;
// glibc's thrd_t is pthread_t. librdkafka's mtx_*/cnd_* calls are left to libc on purpose: the
// library hands its locks between threads with atomics TSan cannot see (it is not instrumented),
// so a visible lock on invisibly published memory is only a false report.
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>

_Static_assert(sizeof(thrd_t) == sizeof(pthread_t), "thrd_t is pthread_t in glibc");

static int FromErrno(int rc) {
  return rc == 0 ? thrd_success
         : rc == ENOMEM ? thrd_nomem
         : rc == ETIMEDOUT ? thrd_timedout
         : rc == EBUSY ? thrd_busy
                        : thrd_error;
}

struct Start {
  thrd_start_t function;
  void* argument;
};

static void* Trampoline(void* start) {
  struct Start s = *(struct Start*)start;
  free(start);
  return (void*)(intptr_t)s.function(s.argument);
}

int thrd_create(thrd_t* thread, thrd_start_t function, void* argument) {
  struct Start* start = malloc(sizeof *start);
  if (start == NULL) return thrd_nomem;
  start->function = function;
  start->argument = argument;
  const int rc = pthread_create((pthread_t*)thread, NULL, Trampoline, start);
  if (rc != 0) {
    free(start);
    return rc == EAGAIN ? thrd_nomem : thrd_error;
  }
  return thrd_success;
}

int thrd_join(thrd_t thread, int* result) {
  void* value = NULL;
  const int rc = pthread_join((pthread_t)thread, &value);
  if (rc == 0 && result != NULL) *result = (int)(intptr_t)value;
  return FromErrno(rc);
}

int thrd_detach(thrd_t thread) { return FromErrno(pthread_detach((pthread_t)thread)); }
