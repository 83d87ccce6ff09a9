// tbb.cpp - the C shim over oneTBB (see mh_tbb.h). The only C++ of minihlt:
// keep it a shim. Every extern "C" entry point catches every exception.
#include "tbb/mh_tbb.h"

#include <atomic>
#include <memory>
#include <condition_variable>
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

// T worker slots and none reserved for the thread that waits: that thread
// sleeps on a condition variable instead of joining, so exactly T threads run
// tasks. (An arena of 1 slot reserved for its waiting thread would get an
// extra worker from oneTBB's "mandatory concurrency" the first time a task
// is enqueued from outside, e.g. by a timer thread: 2 threads for T = 1.)
struct mh_tbb {
    unsigned threads;
    tbb::task_arena arena;
    tbb::task_group group;
    std::mutex lock;
    std::condition_variable cond;
    bool held = false;
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
    // The limit counts an external thread too: T workers need T + 1.
    size_t want = static_cast<size_t>(threads) + 1;
    size_t hw = static_cast<size_t>(tbb::info::default_concurrency());
    if (want <= hw || want <= g_limit_value)
        return;
    std::unique_ptr<tbb::global_control> next(
        new tbb::global_control(tbb::global_control::max_allowed_parallelism, want));
    g_limit = std::move(next);
    g_limit_value = want;
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
        raise_limit(threads);
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
        t->group.wait();
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
        std::lock_guard<std::mutex> g(t->lock);
        t->held = true;
        return MH_OK;
    } catch (...) {
        return mh_fail(err, errlen, MH_INTERNAL, "oneTBB shim: cannot lock");
    }
}

extern "C" void mh_tbb_release(mh_tbb *t)
{
    try {
        std::lock_guard<std::mutex> g(t->lock);
        t->held = false;
        t->cond.notify_all();
    } catch (...) {
    }
}

extern "C" mh_status mh_tbb_wait(mh_tbb *t, char *err, size_t errlen)
{
    try {
        {
            std::unique_lock<std::mutex> g(t->lock);
            t->cond.wait(g, [t] { return !t->held; });
        }
        // Tasks still running after the release (e.g. the one that
        // released): wait for the group from outside the arena (joining it
        // with execute() could take a slot from a worker, or run the wait
        // as a task on a worker).
        t->group.wait();
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
