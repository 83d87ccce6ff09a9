// tbb.cpp - the C shim over oneTBB (see mh_tbb.h). The only C++ of minihlt:
// keep it a shim. Every extern "C" entry point catches every exception.
#include "tbb/mh_tbb.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <new>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

// ThreadSanitizer cannot see the synchronisation inside libtbb (not built
// with TSan): a task published by one thread and run by another looks like a
// race on everything the task reads. Tell TSan about the hand-over: release
// on the task's argument when submitting, acquire when the task starts;
// release on the arena when a task ends, acquire when the wait returns.
#if defined(__SANITIZE_THREAD__)
extern "C" void __tsan_acquire(void *addr);
extern "C" void __tsan_release(void *addr);
#define MH__TSAN_ACQUIRE(p) __tsan_acquire((void *)(p))
#define MH__TSAN_RELEASE(p) __tsan_release((void *)(p))
#else
#define MH__TSAN_ACQUIRE(p) ((void)0)
#define MH__TSAN_RELEASE(p) ((void)0)
#endif

struct mh_tbb {
    unsigned threads;
    tbb::task_arena arena;
    tbb::task_group group;
    tbb::task_handle hold;  // empty when not held
    // No slot reserved for the calling thread: with a reserved slot oneTBB
    // still wakes a worker for enqueued tasks ("mandatory concurrency"), and
    // the thread joining in mh_tbb_wait made threads + 1 run modules at once
    // (seen as two modules overlapping with --threads 1).
    explicit mh_tbb(unsigned n) : threads(n), arena(static_cast<int>(n), 0) {}
};

namespace {

// The mh_tbb whose task the calling thread is running (or in whose arena it
// waits): tells mh_tbb_run whether it may spawn locally.
thread_local mh_tbb *tl_current = nullptr;

// The task body: a C function and its argument. The fields are atomics
// (relaxed) only so that ThreadSanitizer sees the copy oneTBB makes on the
// submitting thread and the read on the running thread as atomic accesses:
// the real ordering is oneTBB's queue, invisible to TSan (see above).
struct task_fn {
    std::atomic<mh_tbb *> t;
    std::atomic<mh_tbb_fn> fn;
    std::atomic<void *> arg;
    task_fn(mh_tbb *t_, mh_tbb_fn fn_, void *arg_)
    {
        t.store(t_, std::memory_order_relaxed);
        fn.store(fn_, std::memory_order_relaxed);
        arg.store(arg_, std::memory_order_relaxed);
    }
    task_fn(const task_fn &o)
        : task_fn(o.t.load(std::memory_order_relaxed), o.fn.load(std::memory_order_relaxed),
                  o.arg.load(std::memory_order_relaxed))
    {
    }
    task_fn &operator=(const task_fn &) = delete;
    void operator()() const
    {
        mh_tbb *tt = t.load(std::memory_order_relaxed);
        void *a = arg.load(std::memory_order_relaxed);
        MH__TSAN_ACQUIRE(a);
        mh_tbb *prev = tl_current;
        tl_current = tt;
        fn.load(std::memory_order_relaxed)(a);
        tl_current = prev;
        MH__TSAN_RELEASE(tt);
    }
};

// oneTBB caps its worker pool at the hardware concurrency unless a
// global_control raises it; one process-wide control that only grows, so that
// `--threads 8` means 8 threads on a 2-core machine too (needed to measure
// oversubscription and asynchronous overlap honestly).
std::mutex g_limit_mutex;
std::unique_ptr<tbb::global_control> g_limit;
size_t g_limit_value = 0;

void raise_limit(unsigned threads)
{
    std::lock_guard<std::mutex> lock(g_limit_mutex);
    size_t hw = static_cast<size_t>(tbb::info::default_concurrency());
    if (threads <= hw || threads <= g_limit_value)
        return;
    std::unique_ptr<tbb::global_control> next(
        new tbb::global_control(tbb::global_control::max_allowed_parallelism, threads));
    g_limit = std::move(next);
    g_limit_value = threads;
}

} // namespace

extern "C" unsigned mh_tbb_default_concurrency(void)
{
    try {
        int n = tbb::info::default_concurrency();
        return n > 0 ? static_cast<unsigned>(n) : 1u;
    } catch (...) {
        return 1u;
    }
}

extern "C" mh_status mh_tbb_create(unsigned threads, mh_tbb **out, char *err, size_t errlen)
{
    *out = nullptr;
    if (threads < 1 || threads > 4096)
        return mh_fail(err, errlen, MH_INVALID, "threads must be in 1..4096, got %u", threads);
    try {
        raise_limit(threads + 1);  // n workers (no reserved slot) + the waiting thread
        mh_tbb *t = new mh_tbb(threads);
        t->arena.initialize();
        *out = t;
        return MH_OK;
    } catch (const std::bad_alloc &) {
        return mh_fail(err, errlen, MH_NOMEM, "oneTBB: out of memory creating the arena");
    } catch (const std::exception &e) {
        return mh_fail(err, errlen, MH_INTERNAL, "oneTBB: %s", e.what());
    } catch (...) {
        return mh_fail(err, errlen, MH_INTERNAL, "oneTBB: unknown exception creating the arena");
    }
}

extern "C" void mh_tbb_free(mh_tbb *t)
{
    if (!t)
        return;
    try {
        if (t->hold)
            t->hold = tbb::task_handle();
        t->arena.execute([t] { t->group.wait(); });
        delete t;
    } catch (...) {
        // Nothing sensible is left to do with a broken arena: leak it.
    }
}

extern "C" mh_status mh_tbb_run(mh_tbb *t, mh_tbb_fn fn, void *arg)
{
    try {
        task_fn f(t, fn, arg);
        MH__TSAN_RELEASE(arg);
        if (tl_current == t)
            t->group.run(f);  // a thread of this arena: its own deque
        else
            t->arena.enqueue(t->group.defer(f));  // any other thread: never joins
        return MH_OK;
    } catch (const std::bad_alloc &) {
        return MH_NOMEM;
    } catch (...) {
        return MH_INTERNAL;
    }
}

extern "C" mh_status mh_tbb_hold(mh_tbb *t, char *err, size_t errlen)
{
    try {
        // A deferred, never-submitted task keeps the group's wait count
        // above zero; destroying it (release) drops it.
        t->arena.execute([t] { t->hold = t->group.defer([] {}); });
        return MH_OK;
    } catch (const std::bad_alloc &) {
        return mh_fail(err, errlen, MH_NOMEM, "oneTBB: out of memory");
    } catch (...) {
        return mh_fail(err, errlen, MH_INTERNAL, "oneTBB: exception arming the hold");
    }
}

extern "C" void mh_tbb_release(mh_tbb *t)
{
    try {
        tbb::task_handle h = std::move(t->hold);
        (void)h;  // destroyed here: releases the group's wait count
    } catch (...) {
    }
}

extern "C" mh_status mh_tbb_wait(mh_tbb *t, char *err, size_t errlen)
{
    try {
        t->arena.execute([t] {
            mh_tbb *prev = tl_current;
            tl_current = t;
            t->group.wait();
            tl_current = prev;
        });
        MH__TSAN_ACQUIRE(t);
        return MH_OK;
    } catch (const std::exception &e) {
        return mh_fail(err, errlen, MH_INTERNAL, "oneTBB: %s", e.what());
    } catch (...) {
        return mh_fail(err, errlen, MH_INTERNAL, "oneTBB: unknown exception while waiting");
    }
}

extern "C" unsigned mh_tbb_threads(const mh_tbb *t)
{
    return t->threads;
}
