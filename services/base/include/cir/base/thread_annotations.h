// Clang thread-safety annotations (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html) and the
// annotated mutex they need. The macros are LevelDB's / Abseil's: GUARDED_BY on shared state,
// REQUIRES / EXCLUDES on functions, CAPABILITY / SCOPED_CAPABILITY / ACQUIRE / RELEASE on lock
// types. Under clang with -Wthread-safety (the fuzz preset, see services/base/README.md) a read or
// write of guarded state without its lock is a compile error; under GCC they expand to nothing.
//
// std::mutex carries no annotations in libstdc++, so state guarded by one cannot be checked:
// guard it with cir::Mutex and lock it with cir::MutexLock; wait with cir::CondVar (or, for a
// thread's stop request, cir::StopSignal).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define CIR_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define CIR_THREAD_ANNOTATION(x)
#endif

#ifndef CAPABILITY
#define CAPABILITY(name) CIR_THREAD_ANNOTATION(capability(name))
#endif
#ifndef SCOPED_CAPABILITY
#define SCOPED_CAPABILITY CIR_THREAD_ANNOTATION(scoped_lockable)
#endif
#ifndef GUARDED_BY
#define GUARDED_BY(x) CIR_THREAD_ANNOTATION(guarded_by(x))
#endif
#ifndef PT_GUARDED_BY
#define PT_GUARDED_BY(x) CIR_THREAD_ANNOTATION(pt_guarded_by(x))
#endif
#ifndef REQUIRES
#define REQUIRES(...) CIR_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#endif
#ifndef EXCLUDES
#define EXCLUDES(...) CIR_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#endif
#ifndef ACQUIRE
#define ACQUIRE(...) CIR_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#endif
#ifndef RELEASE
#define RELEASE(...) CIR_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#endif
#ifndef NO_THREAD_SAFETY_ANALYSIS
#define NO_THREAD_SAFETY_ANALYSIS CIR_THREAD_ANNOTATION(no_thread_safety_analysis)
#endif

namespace cir {

// A std::mutex the analysis can see. Not recursive. lock()/unlock() are the BasicLockable names
// std::condition_variable_any uses (through CondVar); code locks with MutexLock.
class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// Holds a Mutex for its scope.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() RELEASE() { mu_.unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex& mu_;
};

// A condition variable waited on with a held cir::Mutex, which it releases while it waits and
// holds again when it returns. Wakeups may be spurious: callers loop on their condition (a
// predicate lambda would read guarded state where the analysis cannot see the lock held).
class CondVar {
 public:
  void Wait(Mutex& mu) REQUIRES(mu) { cv_.wait(mu); }
  // Returns false once `timeout` has passed without a notification.
  template <class Rep, class Period>
  bool WaitFor(Mutex& mu, std::chrono::duration<Rep, Period> timeout) REQUIRES(mu) {
    return cv_.wait_for(mu, timeout) == std::cv_status::no_timeout;
  }
  template <class Clock, class Duration>
  bool WaitUntil(Mutex& mu, std::chrono::time_point<Clock, Duration> deadline) REQUIRES(mu) {
    return cv_.wait_until(mu, deadline) == std::cv_status::no_timeout;
  }
  void NotifyOne() { cv_.notify_one(); }
  void NotifyAll() { cv_.notify_all(); }

 private:
  std::condition_variable_any cv_;
};

// A stop request that one thread waits on between rounds of its work and another raises (a
// ticker, a refresher). Thread-safe.
class StopSignal {
 public:
  // Waits up to `timeout` (zero: not at all); false once Stop has been called.
  template <class Rep, class Period>
  bool WaitFor(std::chrono::duration<Rep, Period> timeout) EXCLUDES(mu_) {
    const auto due = std::chrono::steady_clock::now() + timeout;
    MutexLock lock(mu_);
    while (!stopped_ && cv_.WaitUntil(mu_, due)) {
    }
    return !stopped_;
  }
  void Stop() EXCLUDES(mu_) {
    {
      MutexLock lock(mu_);
      stopped_ = true;
    }
    cv_.NotifyAll();
  }

 private:
  Mutex mu_;
  CondVar cv_;
  bool stopped_ GUARDED_BY(mu_) = false;
};

}  // namespace cir
