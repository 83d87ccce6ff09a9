// tbb.cpp - the C shim over oneTBB (see mh_tbb.h). The only C++ of minihlt:
// keep it a shim. Every extern "C" entry point catches every exception.
#include "tbb/mh_tbb.h"

#include <memory>
#include <mutex>
#include <new>

#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/info.h>
#include <oneapi/tbb/task_arena.h>
#include <oneapi/tbb/task_group.h>

struct mh_tbb {
    unsigned threads;
    tbb::task_arena arena;
    tbb::task_group group;
    tbb::task_handle hold;  // empty when not held
    explicit mh_tbb(unsigned n) : threads(n), arena(static_cast<int>(n), 1) {}
};

namespace {

// The mh_tbb whose task the calling thread is running (or in whose arena it
// waits): tells mh_tbb_run whether it may spawn locally.
thread_local mh_tbb *tl_current = nullptr;

struct task_fn {
    mh_tbb *t;
    mh_tbb_fn fn;
    void *arg;
    void operator()() const
    {
        mh_tbb *prev = tl_current;
        tl_current = t;
        fn(arg);
        tl_current = prev;
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
        task_fn f{t, fn, arg};
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
