/* sched_event.c - the life of one event on a stream: paths advance module by
 * module, each module runs once per event whoever asks first, consumers wait
 * for on-demand producers, ExternalWork modules split into acquire / async
 * wait / produce. Nothing here blocks or spins: whoever cannot go on leaves a
 * waiter on the module it needs and returns its thread; the module's
 * completion turns its waiters into tasks. See sim/core/README.md. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/sched_internal.h"

/* A call shorter than this counts its real time as CPU time; a call longer
 * than MH__CPU_ON makes the module measure thread CPU time from then on. */
#define MH__CPU_ON_NS 50000u
#define MH__CPU_OFF_NS 10000u

static bool mh__request(mh__stream *st, uint32_t m, mh__waiter *w, long path);
static void mh__path_advance(mh__stream *st, uint32_t p);
static bool mh__complete(mh__stream *st, uint32_t m);

static void mh__spawn(mh_sched *s, mh_tbb_fn fn, void *arg)
{
    /* Creating a task fails only without memory; there is no way to go on
     * with an event whose continuation is lost. */
    if (mh_tbb_run(s->tbb, fn, arg) != MH_OK)
        abort();
}

/* Marks the event failed by module m (first failure wins) and, under
 * on_error: stop, stops the source. */
static void mh__fail(mh__stream *st, uint32_t m, const char *msg)
{
    int expected = 0;
    if (!atomic_compare_exchange_strong(&st->failed, &expected, 1))
        return;
    st->fail_module = m;
    snprintf(st->fail_msg, sizeof st->fail_msg, "%s", msg && msg[0] ? msg : "failed");
    mh_sched *s = st->s;
    if (s->on_error == MH_ON_ERROR_STOP) {
        int z = 0;
        if (atomic_compare_exchange_strong(&s->stop_reported, &z, 1))
            snprintf(s->stop_msg, sizeof s->stop_msg, "event %llu (stream %u): module '%.100s': %.380s",
                     (unsigned long long)st->raw->event, st->index, s->mods[m].label, st->fail_msg);
        atomic_store(&s->stop, true);
    }
}

/* Times one call of a module function. cpu: see MH__CPU_ON_NS. */
typedef struct mh__clock {
    uint64_t t0, c0, t1;
    bool cpu;
} mh__clock;

static inline void mh__clock_start(mh__module *mod, mh__clock *c)
{
    c->cpu = atomic_load_explicit(&mod->measure_cpu, memory_order_relaxed);
    if (c->cpu) {
        c->c0 = mh_thread_cpu_ns();
        c->t0 = mh__now();
    } else {
        c->t0 = mh__tls.t_last ? mh__tls.t_last : mh__now();
    }
}

/* Returns the real time of the call; c->t1 = its end. */
static inline uint64_t mh__clock_stop(mh__module *mod, mh__clock *c, uint64_t *cpu_ns)
{
    uint64_t t1 = mh__now(), real = t1 > c->t0 ? t1 - c->t0 : 0;
    c->t1 = t1;
    if (c->cpu) {
        *cpu_ns = mh_thread_cpu_ns() - c->c0;
        if (real < MH__CPU_OFF_NS)
            atomic_store_explicit(&mod->measure_cpu, false, memory_order_relaxed);
    } else if (real <= MH__CPU_ON_NS) {
        *cpu_ns = real;
    } else {
        /* Not measured and long: the module got slower, or the thread was
         * preempted (an oversubscribed machine). Count at most the threshold
         * as CPU for this call, and measure from now on. */
        *cpu_ns = MH__CPU_ON_NS;
        atomic_store_explicit(&mod->measure_cpu, true, memory_order_relaxed);
    }
    mh__tls.t_last = t1;
    return real;
}

/* produce() (or filter) of module m, then completion. Returns true. */
static bool mh__produce(mh__stream *st, uint32_t m)
{
    mh_sched *s = st->s;
    mh__module *mod = &s->mods[m];
    mh__modstate *ms = &st->mods[m];
    if (!atomic_load_explicit(&st->failed, memory_order_relaxed)) {
        char err[MH__ERRLEN];
        err[0] = '\0';
        mh__clock c;
        mh__clock_start(mod, &c);
        mh__tls.s = s;
        mh__tls.module = (long)m;
        mh_status rc = mod->type->produce(mod->self, &ms->view, err, sizeof err);
        mh__tls.module = -1;
        uint64_t cpu, real = mh__clock_stop(mod, &c, &cpu);
        mh_timing_module(s->timing, m, ms->path, MH_PHASE_PRODUCE, real, cpu);
        if (rc != MH_OK)
            mh__fail(st, m, err[0] ? err : mh_strerror(rc));
    }
    return mh__complete(st, m);
}

/* Both arrivals of an ExternalWork module are in: account the wait, run
 * produce() unless the external work failed. */
static bool mh__after_async(mh__stream *st, uint32_t m)
{
    mh__modstate *ms = &st->mods[m];
    uint64_t wait = ms->t_done > ms->t_acq_end ? ms->t_done - ms->t_acq_end : 0;
    mh_timing_module(st->s->timing, m, ms->path, MH_PHASE_WAIT, wait, 0);
    if (ms->async_st != MH_OK) {
        mh__fail(st, m, ms->async_msg ? ms->async_msg : mh_strerror(ms->async_st));
        free(ms->async_msg);
        ms->async_msg = NULL;
        return mh__complete(st, m);
    }
    return mh__produce(st, m);
}

static void mh__after_async_task(void *arg)
{
    mh_event *ev = arg;
    mh__tls.t_last = 0;
    mh__after_async(ev->st, ev->mod);
}

/* Runs module m (its dependencies are done). Returns true if it completed
 * before returning (synchronous module), false if it waits on external work. */
static bool mh__exec(mh__stream *st, uint32_t m, long path)
{
    mh_sched *s = st->s;
    mh__module *mod = &s->mods[m];
    mh__modstate *ms = &st->mods[m];
    ms->path = path;
    if (atomic_load_explicit(&st->failed, memory_order_relaxed))
        return mh__complete(st, m);
    if (!mod->async)
        return mh__produce(st, m);
    char err[MH__ERRLEN];
    err[0] = '\0';
    ms->async_st = MH_OK;
    atomic_store_explicit(&ms->arrivals, 0, memory_order_relaxed);
    mh__clock c;
    mh__clock_start(mod, &c);
    mh__tls.s = s;
        mh__tls.module = (long)m;
    mh_status rc = mod->type->acquire(mod->self, &ms->view, (mh_async *)ms, err, sizeof err);
    mh__tls.module = -1;
    uint64_t cpu, real = mh__clock_stop(mod, &c, &cpu);
    ms->t_acq_end = c.t1;
    mh_timing_module(s->timing, m, path, MH_PHASE_ACQUIRE, real, cpu);
    if (rc != MH_OK) {
        /* A failed acquire() promises no async_done(). */
        mh__fail(st, m, err[0] ? err : mh_strerror(rc));
        return mh__complete(st, m);
    }
    if (atomic_fetch_add_explicit(&ms->arrivals, 1, memory_order_acq_rel) == 1)
        return mh__after_async(st, m); /* completed during acquire() */
    return false;
}

void mh__async_done(mh_async *h, mh_status status, const char *msg)
{
    mh__modstate *ms = (mh__modstate *)h;
    ms->t_done = mh__now();
    ms->async_st = status;
    if (status != MH_OK)
        ms->async_msg = strdup(msg && msg[0] ? msg : mh_strerror(status));
    if (atomic_fetch_add_explicit(&ms->arrivals, 1, memory_order_acq_rel) == 1) {
        mh__stream *st = ms->view.st;
        /* Called from any thread: produce() becomes a task of the arena. */
        mh__spawn(st->s, mh__after_async_task, &ms->view);
    }
}

/* Dependencies of m: returns true if m completed synchronously. */
static bool mh__start(mh__stream *st, uint32_t m, long path)
{
    mh__module *mod = &st->s->mods[m];
    if (!mod->ndeps)
        return mh__exec(st, m, path);
    mh__modstate *ms = &st->mods[m];
    int n = (int)mod->ndeps;
    atomic_store_explicit(&ms->deps_pending, n + 1, memory_order_relaxed);
    int done = 1;
    for (size_t j = 0; j < mod->ndeps; j++) {
        mh__waiter *w = &st->dep_waiters[mod->dep_base + j];
        w->path = path;
        if (mh__request(st, mod->deps[j], w, path))
            done++;
    }
    if (atomic_fetch_sub_explicit(&ms->deps_pending, done, memory_order_acq_rel) == done)
        return mh__exec(st, m, path);
    return false;
}

/* Makes sure module m runs for this event. Returns true if it is done now;
 * false if it is running elsewhere or waiting, in which case w will be
 * resumed (as a task) when it is done. */
static bool mh__request(mh__stream *st, uint32_t m, mh__waiter *w, long path)
{
    mh__modstate *ms = &st->mods[m];
    if (st->s->mods[m].solo) {
        /* Its one caller: run it unless done (a path re-checks after a
         * failure or when resumed). */
        if (atomic_load_explicit(&ms->word, memory_order_relaxed) == MH__DONE)
            return true;
        return mh__exec(st, m, path);
    }
    uintptr_t v = atomic_load_explicit(&ms->word, memory_order_acquire);
    for (;;) {
        if (v == MH__DONE)
            return true;
        if (v == MH__IDLE) {
            if (atomic_compare_exchange_weak_explicit(&ms->word, &v, MH__RUNNING,
                                                      memory_order_acq_rel, memory_order_acquire)) {
                if (mh__start(st, m, path))
                    return true;
                v = atomic_load_explicit(&ms->word, memory_order_acquire);
            }
            continue;
        }
        /* Running: wait, unless it completes meanwhile (the CAS fails). */
        w->next = v == MH__RUNNING ? NULL : (mh__waiter *)v;
        if (atomic_compare_exchange_weak_explicit(&ms->word, &v, (uintptr_t)w, memory_order_acq_rel,
                                                  memory_order_acquire))
            return false;
    }
}

static void mh__resume_task(void *arg)
{
    mh__waiter *w = arg;
    mh__tls.t_last = 0;
    mh__stream *st = w->st;
    if (w->kind == MH__W_PATH) {
        mh__path_advance(st, w->index);
        return;
    }
    /* A dependency of module w->index is done. */
    mh__modstate *ms = &st->mods[w->index];
    if (atomic_fetch_sub_explicit(&ms->deps_pending, 1, memory_order_acq_rel) == 1)
        mh__exec(st, w->index, w->path);
}

/* Module m is done for this event: wake whoever waits for it. */
static bool mh__complete(mh__stream *st, uint32_t m)
{
    mh__modstate *ms = &st->mods[m];
    if (st->s->mods[m].solo) {
        atomic_store_explicit(&ms->word, MH__DONE, memory_order_relaxed);
        return true;
    }
    uintptr_t v = atomic_exchange_explicit(&ms->word, MH__DONE, memory_order_acq_rel);
    mh__waiter *w = v > MH__RUNNING ? (mh__waiter *)v : NULL;
    while (w) {
        mh__waiter *next = w->next;
        mh__spawn(st->s, mh__resume_task, w);
        w = next;
    }
    return true;
}

static void mh__event_end(mh__stream *st)
{
    mh_sched *s = st->s;
    bool failed = atomic_load(&st->failed);
    mh_event_outcome out = MH_EVENT_REJECTED;
    if (failed) {
        out = MH_EVENT_FAILED;
    } else {
        for (size_t p = 0; p < s->ntrig; p++)
            if (st->active[p] && st->accepted[p]) {
                out = MH_EVENT_ACCEPTED;
                break;
            }
    }
    /* Path results are recorded here, once the event's outcome is known, so
     * that for every path accepted + rejected + prescaled = processed events
     * (a failed event counts on no path, even on one that finished before
     * the failure). */
    if (!failed)
        for (size_t p = 0; p < s->npaths; p++) {
            if (st->active[p])
                mh_timing_path(s->timing, p, st->accepted[p]);
            else
                mh_timing_path_prescaled(s->timing, p);
        }
    mh_timing_event(s->timing, out, mh_now_ns() - st->t_start,
                    failed ? s->mods[st->fail_module].label : NULL, failed ? st->fail_msg : NULL);
    for (size_t k = 0; k < s->nprods; k++) {
        mh__slot *sl = &st->slots[k];
        if (atomic_load_explicit(&sl->put, memory_order_relaxed)) {
            if (sl->free_fn)
                sl->free_fn(sl->data);
            sl->data = NULL;
            atomic_store_explicit(&sl->put, false, memory_order_relaxed);
        }
    }
    mh__source_event_done(&s->src, st);
}

/* Starts the paths of [first, end) (trigger or end paths); when none is
 * active, moves on at once. */
static void mh__paths_start(mh__stream *st, size_t first, size_t end)
{
    mh_sched *s = st->s;
    int n = 0;
    for (size_t p = first; p < end; p++)
        if (st->active[p])
            n++;
    if (!n) {
        if (end == s->npaths)
            mh__event_end(st);
        else
            mh__paths_start(st, s->ntrig, s->npaths);
        return;
    }
    atomic_store_explicit(&st->paths_pending, n, memory_order_relaxed);
    /* Spawn all but the first active path; run the first one here. */
    long firstp = -1;
    for (size_t p = first; p < end; p++) {
        if (!st->active[p])
            continue;
        if (firstp < 0)
            firstp = (long)p;
        else
            mh__spawn(s, mh__resume_task, &st->path_waiters[p]);
    }
    mh__path_advance(st, (uint32_t)firstp);
}

static void mh__path_finish(mh__stream *st, uint32_t p, bool accepted)
{
    mh_sched *s = st->s;
    st->accepted[p] = accepted;
    if (atomic_fetch_sub_explicit(&st->paths_pending, 1, memory_order_acq_rel) != 1)
        return;
    if (p < s->ntrig) {
        /* All trigger paths are done: end paths see their results. A failed
         * event skips them (an output module never writes it). */
        if (!atomic_load(&st->failed) && s->npaths > s->ntrig) {
            mh__paths_start(st, s->ntrig, s->npaths);
            return;
        }
    }
    mh__event_end(st);
}

static void mh__path_advance(mh__stream *st, uint32_t p)
{
    mh_sched *s = st->s;
    const mh__path *path = &s->paths[p];
    mh__waiter *w = &st->path_waiters[p];
    for (;;) {
        if (atomic_load_explicit(&st->failed, memory_order_relaxed)) {
            mh__path_finish(st, p, false);
            return;
        }
        if (st->pos[p] == path->nmodules) {
            mh__path_finish(st, p, true);
            return;
        }
        uint32_t m = path->modules[st->pos[p]];
        if (!mh__request(st, m, w, (long)p))
            return; /* resumed by the module's completion */
        if (s->mods[m].type->kind == MH_KIND_FILTER && !st->mods[m].pass) {
            mh__path_finish(st, p, false);
            return;
        }
        st->pos[p]++;
    }
}

void mh__event_begin(mh__stream *st)
{
    mh_sched *s = st->s;
    st->t_start = mh_now_ns();
    atomic_store_explicit(&st->failed, 0, memory_order_relaxed);
    st->notruth = *st->raw;
    st->notruth.true_e_hard = st->notruth.true_e_intime = st->notruth.true_e_oot = NULL;
    for (size_t m = 0; m < s->nmods; m++) {
        mh__modstate *ms = &st->mods[m];
        atomic_store_explicit(&ms->word, MH__IDLE, memory_order_relaxed);
        ms->pass = true;
    }
    for (size_t p = 0; p < s->npaths; p++) {
        const mh__path *path = &s->paths[p];
        st->pos[p] = 0;
        st->accepted[p] = false;
        /* Prescale N: the path runs on one event in N, counted in the
         * order events leave the source (deterministic for a given run). */
        st->active[p] = path->end_path || (path->prescale && st->serial % path->prescale == 0);
    }
    mh__paths_start(st, 0, s->ntrig);
}

void mh__event_task(void *arg)
{
    mh__waiter *w = arg;
    mh__tls.t_last = 0;
    mh__event_begin(w->st);
}
