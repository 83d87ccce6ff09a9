/* timing.c - the timing service: lock-free recording into per-thread shards,
 * merged once when a report is built.
 *
 * Recording. Each thread that records into an mh_timing gets its own shard
 * (module, path and event accumulators, latency samples, counters) the first
 * time it records; the shard is found again through a small thread-local
 * cache keyed by the instance's unique id (ids are never reused, so a stale
 * cache entry of a freed instance can never match). A shard has exactly one
 * writer, its thread: accumulators are C11 atomics updated with relaxed
 * load + store (no lock prefix, no contention), which keeps readers that
 * snapshot totals during the run (mh_timing_totals_get) race-free. New
 * shards are pushed on a lock-free list (CAS). The one lock is the failure
 * reason table, taken only when an event fails.
 *
 * Reporting. The reports merge all shards; they must be called after every
 * record call has returned (after the event loop ended), because latency
 * samples and counter tables are plain memory owned by their shard's thread.
 */
#include "timing/mh_timing.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "timing/timing_internal.h"

#define MH__MAX_FAILURE_REASONS 16
#define MH__LAT_CHUNK 4096
#define MH__TLS_SLOTS 8
#define MH__CACHELINE 64

typedef _Atomic uint64_t mh__acc;

/* Single-writer add: the owner thread is the only one that stores. */
static inline void mh__add(mh__acc *a, uint64_t d)
{
    atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + d,
                          memory_order_relaxed);
}

static inline uint64_t mh__get(const mh__acc *a)
{
    return atomic_load_explicit((mh__acc *)a, memory_order_relaxed);
}

typedef struct mh__mod_acc {
    mh__acc acq_calls, prod_calls;
    mh__acc acq_real, acq_cpu, wait_real, prod_real, prod_cpu;
    mh__acc pad_;
} mh__mod_acc;

typedef struct mh__path_acc {
    mh__acc real, cpu, accepted, rejected, prescaled;
} mh__path_acc;

typedef struct mh__lat_chunk {
    struct mh__lat_chunk *next;
    size_t n;
    uint64_t v[MH__LAT_CHUNK];
} mh__lat_chunk;

typedef struct mh__counter {
    size_t module;
    const char *name;
    uint64_t value;
} mh__counter;

typedef struct mh__shard {
    struct mh__shard *next; /* immutable once published */
    mh__acc outcome[3];
    mh__mod_acc *mods;
    mh__path_acc *paths;
    mh__lat_chunk *lat_head, *lat_tail;
    mh__counter *counters;
    size_t ncounters, capcounters;
    int oom; /* a latency chunk or counter could not be allocated */
} mh__shard;

typedef struct mh__failure {
    char *module, *reason;
    uint64_t count;
} mh__failure;

struct mh_timing {
    uint64_t id;
    size_t nmodules, npaths, nend_paths, ngroups;
    char **labels, **plugins, **paths;
    char **group_names;
    size_t **group_mods;
    size_t *group_nmods;
    unsigned threads, streams;

    _Atomic(mh__shard *) shards;

    mh__acc wall0, wall1, pcpu0, pcpu1;
    atomic_int began, ended;

    pthread_mutex_t fail_mu;
    mh__failure failures[MH__MAX_FAILURE_REASONS];
    size_t nfailures;
    uint64_t failures_other;
};

static _Atomic uint64_t mh__next_id = 1;

typedef struct mh__tls_slot {
    uint64_t id;
    mh__shard *shard;
} mh__tls_slot;
static _Thread_local mh__tls_slot mh__tls[MH__TLS_SLOTS];
static _Thread_local unsigned mh__tls_next;

/* ---- clocks ---------------------------------------------------------- */

static uint64_t mh__clock_ns(clockid_t c)
{
    struct timespec ts;
    if (clock_gettime(c, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t mh_now_ns(void) { return mh__clock_ns(CLOCK_MONOTONIC); }
uint64_t mh_thread_cpu_ns(void) { return mh__clock_ns(CLOCK_THREAD_CPUTIME_ID); }

/* ---- create / free --------------------------------------------------- */

static char *mh__dup(const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static char **mh__dup_list(const char *const *src, size_t n, int *ok)
{
    char **d = calloc(n ? n : 1, sizeof *d);
    if (!d) {
        *ok = 0;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        d[i] = mh__dup(src ? src[i] : NULL);
        if (!d[i])
            *ok = 0;
    }
    return d;
}

static void mh__free_list(char **l, size_t n)
{
    if (!l)
        return;
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

static void mh__shard_free(mh__shard *s)
{
    if (!s)
        return;
    for (mh__lat_chunk *c = s->lat_head; c;) {
        mh__lat_chunk *nx = c->next;
        free(c);
        c = nx;
    }
    free(s->counters);
    free(s->mods);
    free(s->paths);
    free(s);
}

void mh_timing_free(mh_timing *t)
{
    if (!t)
        return;
    mh__shard *s = atomic_load_explicit(&t->shards, memory_order_acquire);
    while (s) {
        mh__shard *nx = s->next;
        mh__shard_free(s);
        s = nx;
    }
    mh__free_list(t->labels, t->nmodules);
    mh__free_list(t->plugins, t->nmodules);
    mh__free_list(t->paths, t->npaths);
    mh__free_list(t->group_names, t->ngroups);
    if (t->group_mods)
        for (size_t g = 0; g < t->ngroups; g++)
            free(t->group_mods[g]);
    free(t->group_mods);
    free(t->group_nmods);
    for (size_t i = 0; i < t->nfailures; i++) {
        free(t->failures[i].module);
        free(t->failures[i].reason);
    }
    pthread_mutex_destroy(&t->fail_mu);
    free(t);
}

mh_status mh_timing_create(const mh_timing_setup *setup, mh_timing **out, char *err, size_t errlen)
{
    if (!out)
        return mh_fail(err, errlen, MH_INVALID, "timing: NULL output handle");
    *out = NULL;
    if (!setup)
        return mh_fail(err, errlen, MH_INVALID, "timing: NULL setup");
    if (setup->nend_paths > setup->npaths)
        return mh_fail(err, errlen, MH_INVALID, "timing: %zu end paths but only %zu paths",
                       setup->nend_paths, setup->npaths);
    for (size_t g = 0; g < setup->ngroups; g++) {
        const mh_timing_group *gr = &setup->groups[g];
        for (size_t k = 0; k < gr->nmodules; k++)
            if (gr->modules[k] >= setup->nmodules)
                return mh_fail(err, errlen, MH_INVALID,
                               "timing: group '%s': module index %zu out of range (%zu modules)",
                               gr->name ? gr->name : "", gr->modules[k], setup->nmodules);
    }
    mh_timing *t = calloc(1, sizeof *t);
    if (!t)
        return mh_fail(err, errlen, MH_NOMEM, "timing: out of memory");
    if (pthread_mutex_init(&t->fail_mu, NULL) != 0) {
        free(t);
        return mh_fail(err, errlen, MH_INTERNAL, "timing: cannot create a mutex");
    }
    t->id = atomic_fetch_add(&mh__next_id, 1);
    t->nmodules = setup->nmodules;
    t->npaths = setup->npaths;
    t->nend_paths = setup->nend_paths;
    t->threads = setup->threads;
    t->streams = setup->streams;
    atomic_init(&t->shards, NULL);
    int ok = 1;
    t->labels = mh__dup_list(setup->module_labels, t->nmodules, &ok);
    t->plugins = mh__dup_list(setup->module_plugins, t->nmodules, &ok);
    t->paths = mh__dup_list(setup->path_names, t->npaths, &ok);
    t->ngroups = setup->ngroups;
    t->group_names = calloc(t->ngroups ? t->ngroups : 1, sizeof *t->group_names);
    t->group_mods = calloc(t->ngroups ? t->ngroups : 1, sizeof *t->group_mods);
    t->group_nmods = calloc(t->ngroups ? t->ngroups : 1, sizeof *t->group_nmods);
    if (!t->group_names || !t->group_mods || !t->group_nmods)
        ok = 0;
    for (size_t g = 0; ok && g < t->ngroups; g++) {
        const mh_timing_group *gr = &setup->groups[g];
        t->group_names[g] = mh__dup(gr->name);
        t->group_mods[g] = calloc(gr->nmodules ? gr->nmodules : 1, sizeof(size_t));
        if (!t->group_names[g] || !t->group_mods[g]) {
            ok = 0;
            break;
        }
        /* A module listed twice in one group counts once in it. */
        size_t n = 0;
        for (size_t k = 0; k < gr->nmodules; k++) {
            int seen = 0;
            for (size_t j = 0; j < n; j++)
                seen |= t->group_mods[g][j] == gr->modules[k];
            if (!seen)
                t->group_mods[g][n++] = gr->modules[k];
        }
        t->group_nmods[g] = n;
    }
    if (!ok) {
        mh_timing_free(t);
        return mh_fail(err, errlen, MH_NOMEM, "timing: out of memory");
    }
    *out = t;
    return MH_OK;
}

/* ---- recording ------------------------------------------------------- */

static void *mh__zalloc_aligned(size_t n)
{
    size_t sz = (n + MH__CACHELINE - 1) / MH__CACHELINE * MH__CACHELINE;
    if (sz == 0)
        sz = MH__CACHELINE;
    void *p = aligned_alloc(MH__CACHELINE, sz);
    if (p)
        memset(p, 0, sz);
    return p;
}

static mh__shard *mh__shard_new(mh_timing *t)
{
    mh__shard *s = mh__zalloc_aligned(sizeof *s);
    if (!s)
        return NULL;
    s->mods = mh__zalloc_aligned(t->nmodules * sizeof *s->mods);
    s->paths = mh__zalloc_aligned(t->npaths * sizeof *s->paths);
    if (!s->mods || !s->paths) {
        mh__shard_free(s);
        return NULL;
    }
    mh__shard *head = atomic_load_explicit(&t->shards, memory_order_relaxed);
    do {
        s->next = head;
    } while (!atomic_compare_exchange_weak_explicit(&t->shards, &head, s, memory_order_release,
                                                    memory_order_relaxed));
    return s;
}

/* The calling thread's shard of t; NULL only when out of memory. */
static mh__shard *mh__shard_get(mh_timing *t)
{
    if (mh__tls[0].id == t->id)
        return mh__tls[0].shard;
    for (unsigned i = 1; i < MH__TLS_SLOTS; i++)
        if (mh__tls[i].id == t->id)
            return mh__tls[i].shard;
    mh__shard *s = mh__shard_new(t);
    if (!s)
        return NULL;
    unsigned slot = mh__tls_next++ % MH__TLS_SLOTS;
    mh__tls[slot].id = t->id;
    mh__tls[slot].shard = s;
    return s;
}

void mh_timing_begin_at(mh_timing *t, uint64_t wall_ns, uint64_t process_cpu_ns)
{
    if (!t)
        return;
    atomic_store_explicit(&t->wall0, wall_ns, memory_order_relaxed);
    atomic_store_explicit(&t->pcpu0, process_cpu_ns, memory_order_relaxed);
    atomic_store_explicit(&t->ended, 0, memory_order_relaxed);
    atomic_store_explicit(&t->began, 1, memory_order_release);
}

void mh_timing_end_at(mh_timing *t, uint64_t wall_ns, uint64_t process_cpu_ns)
{
    if (!t)
        return;
    atomic_store_explicit(&t->wall1, wall_ns, memory_order_relaxed);
    atomic_store_explicit(&t->pcpu1, process_cpu_ns, memory_order_relaxed);
    atomic_store_explicit(&t->ended, 1, memory_order_release);
}

void mh_timing_begin(mh_timing *t)
{
    mh_timing_begin_at(t, mh_now_ns(), mh__clock_ns(CLOCK_PROCESS_CPUTIME_ID));
}

void mh_timing_end(mh_timing *t)
{
    mh_timing_end_at(t, mh_now_ns(), mh__clock_ns(CLOCK_PROCESS_CPUTIME_ID));
}

void mh_timing_module(mh_timing *t, size_t module, long path, mh_timing_phase phase,
                      uint64_t real_ns, uint64_t cpu_ns)
{
    if (!t || module >= t->nmodules)
        return;
    mh__shard *s = mh__shard_get(t);
    if (!s)
        return;
    mh__mod_acc *m = &s->mods[module];
    switch (phase) {
    case MH_PHASE_ACQUIRE:
        mh__add(&m->acq_calls, 1);
        mh__add(&m->acq_real, real_ns);
        mh__add(&m->acq_cpu, cpu_ns);
        break;
    case MH_PHASE_WAIT:
        mh__add(&m->wait_real, real_ns);
        return; /* the wait occupies no thread: not charged to the path */
    case MH_PHASE_PRODUCE:
        mh__add(&m->prod_calls, 1);
        mh__add(&m->prod_real, real_ns);
        mh__add(&m->prod_cpu, cpu_ns);
        break;
    default:
        return;
    }
    if (path >= 0 && (size_t)path < t->npaths) {
        mh__add(&s->paths[path].real, real_ns);
        mh__add(&s->paths[path].cpu, cpu_ns);
    }
}

void mh_timing_path(mh_timing *t, size_t path, bool accepted)
{
    if (!t || path >= t->npaths)
        return;
    mh__shard *s = mh__shard_get(t);
    if (!s)
        return;
    mh__add(accepted ? &s->paths[path].accepted : &s->paths[path].rejected, 1);
}

void mh_timing_path_prescaled(mh_timing *t, size_t path)
{
    if (!t || path >= t->npaths)
        return;
    mh__shard *s = mh__shard_get(t);
    if (!s)
        return;
    mh__add(&s->paths[path].prescaled, 1);
}

static void mh__record_failure(mh_timing *t, const char *module, const char *reason)
{
    if (!module)
        module = "";
    if (!reason)
        reason = "";
    pthread_mutex_lock(&t->fail_mu);
    size_t i;
    for (i = 0; i < t->nfailures; i++)
        if (!strcmp(t->failures[i].module, module) && !strcmp(t->failures[i].reason, reason))
            break;
    if (i < t->nfailures) {
        t->failures[i].count++;
    } else if (t->nfailures < MH__MAX_FAILURE_REASONS) {
        char *m = mh__dup(module), *r = mh__dup(reason);
        if (m && r) {
            t->failures[t->nfailures].module = m;
            t->failures[t->nfailures].reason = r;
            t->failures[t->nfailures].count = 1;
            t->nfailures++;
        } else {
            free(m);
            free(r);
            t->failures_other++;
        }
    } else {
        t->failures_other++;
    }
    pthread_mutex_unlock(&t->fail_mu);
}

void mh_timing_event(mh_timing *t, mh_event_outcome outcome, uint64_t latency_ns,
                     const char *module, const char *reason)
{
    if (!t || (int)outcome < MH_EVENT_ACCEPTED || outcome > MH_EVENT_FAILED)
        return;
    mh__shard *s = mh__shard_get(t);
    if (!s)
        return;
    if (!s->lat_tail || s->lat_tail->n == MH__LAT_CHUNK) {
        mh__lat_chunk *c = malloc(sizeof *c);
        if (c) {
            c->next = NULL;
            c->n = 0;
            if (s->lat_tail)
                s->lat_tail->next = c;
            else
                s->lat_head = c;
            s->lat_tail = c;
        } else {
            s->oom = 1;
        }
    }
    if (s->lat_tail && s->lat_tail->n < MH__LAT_CHUNK)
        s->lat_tail->v[s->lat_tail->n++] = latency_ns;
    if (outcome == MH_EVENT_FAILED)
        mh__record_failure(t, module, reason);
    /* Counted last, so that a concurrent totals snapshot never sees an
     * event whose failure reason is not yet recorded. */
    mh__add(&s->outcome[outcome], 1);
}

void mh_timing_count(mh_timing *t, size_t module, const char *name, uint64_t delta)
{
    if (!t || module >= t->nmodules || !name)
        return;
    mh__shard *s = mh__shard_get(t);
    if (!s)
        return;
    for (size_t i = 0; i < s->ncounters; i++)
        if (s->counters[i].module == module &&
            (s->counters[i].name == name || !strcmp(s->counters[i].name, name))) {
            s->counters[i].value += delta;
            return;
        }
    if (s->ncounters == s->capcounters) {
        size_t cap = s->capcounters ? 2 * s->capcounters : 8;
        mh__counter *c = realloc(s->counters, cap * sizeof *c);
        if (!c) {
            s->oom = 1;
            return;
        }
        s->counters = c;
        s->capcounters = cap;
    }
    s->counters[s->ncounters++] = (mh__counter){module, name, delta};
}

/* ---- merging --------------------------------------------------------- */

typedef struct mh__mod_sum {
    uint64_t calls, acq_calls, prod_calls;
    uint64_t acq_real, acq_cpu, wait_real, prod_real, prod_cpu;
} mh__mod_sum;

typedef struct mh__path_sum {
    uint64_t real, cpu, accepted, rejected, prescaled;
} mh__path_sum;

/* Everything a report needs, derived from all shards. */
typedef struct mh__merged {
    uint64_t outcome[3];
    uint64_t read, processed;
    double wall_s, pcpu_s, throughput_hz, cpu_util;
    mh__mod_sum *mods;
    mh__path_sum *paths;
    uint64_t *lat; /* sorted */
    size_t nlat;
    mh__counter *counters; /* merged, sorted by module then name */
    size_t ncounters;
    uint64_t total_real, total_cpu, total_wait;
    double *group_cpu, *group_real; /* ns totals */
    mh__failure failures[MH__MAX_FAILURE_REASONS];
    size_t nfailures;
    uint64_t failures_other;
    int oom;
} mh__merged;

static int mh__cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int mh__cmp_counter(const void *a, const void *b)
{
    const mh__counter *x = a, *y = b;
    if (x->module != y->module)
        return x->module < y->module ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void mh__clock_totals(const mh_timing *t, double *wall_s, double *pcpu_s)
{
    mh_timing *tm = (mh_timing *)t;
    *wall_s = *pcpu_s = 0;
    if (!atomic_load_explicit(&tm->began, memory_order_acquire))
        return;
    uint64_t w0 = mh__get(&t->wall0), c0 = mh__get(&t->pcpu0);
    uint64_t w1, c1;
    if (atomic_load_explicit(&tm->ended, memory_order_acquire)) {
        w1 = mh__get(&t->wall1);
        c1 = mh__get(&t->pcpu1);
    } else { /* still running: up to now */
        w1 = mh_now_ns();
        c1 = mh__clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    }
    *wall_s = w1 > w0 ? (double)(w1 - w0) * 1e-9 : 0;
    *pcpu_s = c1 > c0 ? (double)(c1 - c0) * 1e-9 : 0;
}

static void mh__merged_free(mh__merged *m)
{
    free(m->mods);
    free(m->paths);
    free(m->lat);
    free(m->counters);
    free(m->group_cpu);
    free(m->group_real);
    memset(m, 0, sizeof *m);
}

static mh_status mh__merge(const mh_timing *t, mh__merged *m)
{
    memset(m, 0, sizeof *m);
    m->mods = calloc(t->nmodules ? t->nmodules : 1, sizeof *m->mods);
    m->paths = calloc(t->npaths ? t->npaths : 1, sizeof *m->paths);
    m->group_cpu = calloc(t->ngroups ? t->ngroups : 1, sizeof *m->group_cpu);
    m->group_real = calloc(t->ngroups ? t->ngroups : 1, sizeof *m->group_real);
    if (!m->mods || !m->paths || !m->group_cpu || !m->group_real)
        goto fail;

    size_t nlat = 0, ncnt = 0;
    mh__shard *head = atomic_load_explicit(&((mh_timing *)t)->shards, memory_order_acquire);
    for (mh__shard *s = head; s; s = s->next) {
        for (int o = 0; o < 3; o++)
            m->outcome[o] += mh__get(&s->outcome[o]);
        for (size_t i = 0; i < t->nmodules; i++) {
            const mh__mod_acc *a = &s->mods[i];
            mh__mod_sum *d = &m->mods[i];
            d->acq_calls += mh__get(&a->acq_calls);
            d->prod_calls += mh__get(&a->prod_calls);
            d->acq_real += mh__get(&a->acq_real);
            d->acq_cpu += mh__get(&a->acq_cpu);
            d->wait_real += mh__get(&a->wait_real);
            d->prod_real += mh__get(&a->prod_real);
            d->prod_cpu += mh__get(&a->prod_cpu);
        }
        for (size_t p = 0; p < t->npaths; p++) {
            m->paths[p].real += mh__get(&s->paths[p].real);
            m->paths[p].cpu += mh__get(&s->paths[p].cpu);
            m->paths[p].accepted += mh__get(&s->paths[p].accepted);
            m->paths[p].rejected += mh__get(&s->paths[p].rejected);
            m->paths[p].prescaled += mh__get(&s->paths[p].prescaled);
        }
        for (mh__lat_chunk *c = s->lat_head; c; c = c->next)
            nlat += c->n;
        ncnt += s->ncounters;
        m->oom |= s->oom;
    }

    m->lat = malloc((nlat ? nlat : 1) * sizeof *m->lat);
    m->counters = malloc((ncnt ? ncnt : 1) * sizeof *m->counters);
    if (!m->lat || !m->counters)
        goto fail;
    for (mh__shard *s = head; s; s = s->next) {
        for (mh__lat_chunk *c = s->lat_head; c; c = c->next) {
            memcpy(m->lat + m->nlat, c->v, c->n * sizeof *c->v);
            m->nlat += c->n;
        }
        if (s->ncounters)
            memcpy(m->counters + m->ncounters, s->counters, s->ncounters * sizeof *s->counters);
        m->ncounters += s->ncounters;
    }
    qsort(m->lat, m->nlat, sizeof *m->lat, mh__cmp_u64);
    qsort(m->counters, m->ncounters, sizeof *m->counters, mh__cmp_counter);
    size_t w = 0; /* fold equal (module, name) */
    for (size_t i = 0; i < m->ncounters; i++) {
        if (w > 0 && !mh__cmp_counter(&m->counters[w - 1], &m->counters[i]))
            m->counters[w - 1].value += m->counters[i].value;
        else
            m->counters[w++] = m->counters[i];
    }
    m->ncounters = w;

    for (size_t i = 0; i < t->nmodules; i++) {
        mh__mod_sum *d = &m->mods[i];
        d->calls = d->acq_calls > d->prod_calls ? d->acq_calls : d->prod_calls;
        m->total_real += d->acq_real + d->prod_real;
        m->total_cpu += d->acq_cpu + d->prod_cpu;
        m->total_wait += d->wait_real;
    }
    for (size_t g = 0; g < t->ngroups; g++)
        for (size_t k = 0; k < t->group_nmods[g]; k++) {
            const mh__mod_sum *d = &m->mods[t->group_mods[g][k]];
            m->group_cpu[g] += (double)(d->acq_cpu + d->prod_cpu);
            m->group_real[g] += (double)(d->acq_real + d->prod_real);
        }

    pthread_mutex_lock(&((mh_timing *)t)->fail_mu);
    m->nfailures = t->nfailures;
    memcpy(m->failures, t->failures, sizeof m->failures); /* strings stay owned by t */
    m->failures_other = t->failures_other;
    pthread_mutex_unlock(&((mh_timing *)t)->fail_mu);

    m->processed = m->outcome[MH_EVENT_ACCEPTED] + m->outcome[MH_EVENT_REJECTED];
    m->read = m->processed + m->outcome[MH_EVENT_FAILED];
    mh__clock_totals(t, &m->wall_s, &m->pcpu_s);
    m->throughput_hz = m->wall_s > 0 ? (double)m->read / m->wall_s : 0;
    m->cpu_util = (m->wall_s > 0 && t->threads > 0) ? m->pcpu_s / (m->wall_s * t->threads) : 0;
    return MH_OK;
fail:
    mh__merged_free(m);
    return MH_NOMEM;
}

void mh_timing_totals_get(const mh_timing *t, mh_timing_totals *out)
{
    if (!out)
        return;
    memset(out, 0, sizeof *out);
    if (!t)
        return;
    uint64_t o[3] = {0, 0, 0};
    mh__shard *head = atomic_load_explicit(&((mh_timing *)t)->shards, memory_order_acquire);
    for (mh__shard *s = head; s; s = s->next)
        for (int k = 0; k < 3; k++)
            o[k] += mh__get(&s->outcome[k]);
    out->accepted = o[MH_EVENT_ACCEPTED];
    out->rejected = o[MH_EVENT_REJECTED];
    out->failed = o[MH_EVENT_FAILED];
    double pcpu;
    mh__clock_totals(t, &out->wall_s, &pcpu);
    uint64_t read = o[0] + o[1] + o[2];
    out->throughput_hz = out->wall_s > 0 ? (double)read / out->wall_s : 0;
}

/* ---- derived numbers ------------------------------------------------- */

/* ns total -> ms per event read (0 when no event was read). */
static double mh__per_ev_ms(double ns, uint64_t read)
{
    return read ? ns * 1e-6 / (double)read : 0;
}

static double mh__frac(double part, double whole)
{
    return whole > 0 ? part / whole : 0;
}

/* Nearest-rank percentile of a sorted sample: the value at rank
 * ceil(p/100 * n) (1-based); 0 for an empty sample. */
static uint64_t mh__percentile(const uint64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    double r = ceil(p * (double)n / 100.0); /* p * n is exact for integer p */
    size_t rank = r < 1 ? 1 : (size_t)r;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

static double mh__lat_mean_ms(const mh__merged *m)
{
    if (!m->nlat)
        return 0;
    long double sum = 0;
    for (size_t i = 0; i < m->nlat; i++)
        sum += m->lat[i];
    return (double)(sum / m->nlat) * 1e-6;
}

static int mh__has_external_work(const mh__mod_sum *d)
{
    return d->acq_calls > 0 || d->wait_real > 0;
}

/* Module order of the text report: CPU time per event, descending; then real
 * time, then label. */
typedef struct mh__sort_ctx {
    const mh_timing *t;
    const mh__merged *m;
} mh__sort_ctx;
static _Thread_local const mh__sort_ctx *mh__sort;

static int mh__cmp_module(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    const mh__mod_sum *x = &mh__sort->m->mods[i], *y = &mh__sort->m->mods[j];
    uint64_t xc = x->acq_cpu + x->prod_cpu, yc = y->acq_cpu + y->prod_cpu;
    if (xc != yc)
        return xc > yc ? -1 : 1;
    uint64_t xr = x->acq_real + x->prod_real, yr = y->acq_real + y->prod_real;
    if (xr != yr)
        return xr > yr ? -1 : 1;
    return strcmp(mh__sort->t->labels[i], mh__sort->t->labels[j]);
}

/* ---- text report ----------------------------------------------------- */

static int mh__maxlen(char *const *names, size_t n, int floor)
{
    int w = floor;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(names[i]);
        if ((int)l > w)
            w = l > 200 ? 200 : (int)l;
    }
    return w;
}

static void mh__text_paths(const mh_timing *t, const mh__merged *m, FILE *out, size_t first,
                           size_t last, const char *title)
{
    if (first >= last)
        return;
    int w = mh__maxlen(t->paths + first, last - first, 4);
    fprintf(out, "\n%s\n  %-*s %10s %10s %10s %8s %11s %11s\n", title, w, "name", "accepted",
            "rejected", "prescaled", "rate %", "real ms/ev", "CPU ms/ev");
    for (size_t p = first; p < last; p++) {
        const mh__path_sum *s = &m->paths[p];
        fprintf(out, "  %-*s %10llu %10llu %10llu %8.2f %11.3f %11.3f\n", w, t->paths[p],
                (unsigned long long)s->accepted, (unsigned long long)s->rejected,
                (unsigned long long)s->prescaled,
                100.0 * mh__frac((double)s->accepted, (double)m->processed),
                mh__per_ev_ms((double)s->real, m->read), mh__per_ev_ms((double)s->cpu, m->read));
    }
}

void mh_timing_report_text(const mh_timing *t, FILE *out)
{
    if (!t || !out)
        return;
    mh__merged m;
    if (mh__merge(t, &m) != MH_OK) {
        fprintf(out, "minihlt timing report: out of memory\n");
        return;
    }
    fprintf(out, "minihlt timing report\n");
    fprintf(out, "  events    read %llu, processed %llu (accepted %llu, rejected %llu), failed %llu\n",
            (unsigned long long)m.read, (unsigned long long)m.processed,
            (unsigned long long)m.outcome[MH_EVENT_ACCEPTED],
            (unsigned long long)m.outcome[MH_EVENT_REJECTED],
            (unsigned long long)m.outcome[MH_EVENT_FAILED]);
    fprintf(out, "  wall      %.3f s, throughput %.2f ev/s, CPU utilisation %.1f%% (%u threads, %u streams)\n",
            m.wall_s, m.throughput_hz, 100.0 * m.cpu_util, t->threads, t->streams);
    fprintf(out, "  HLT time  %.3f ms CPU / %.3f ms real per event (sum over modules; per event read)\n",
            mh__per_ev_ms((double)m.total_cpu, m.read), mh__per_ev_ms((double)m.total_real, m.read));
    if (m.total_wait)
        fprintf(out, "  ext. wait %.3f ms per event (async, no thread held)\n",
                mh__per_ev_ms((double)m.total_wait, m.read));

    /* Modules. */
    size_t *order = malloc((t->nmodules ? t->nmodules : 1) * sizeof *order);
    if (order && t->nmodules) {
        for (size_t i = 0; i < t->nmodules; i++)
            order[i] = i;
        mh__sort_ctx ctx = {t, &m};
        mh__sort = &ctx;
        qsort(order, t->nmodules, sizeof *order, mh__cmp_module);
        mh__sort = NULL;
        int wl = mh__maxlen(t->labels, t->nmodules, 5);
        int wp = mh__maxlen(t->plugins, t->nmodules, 6);
        fprintf(out, "\nModules (sorted by CPU time per event)\n");
        fprintf(out, "  %-*s %-*s %10s %11s %11s %7s\n", wl, "label", wp, "plugin", "calls",
                "real ms/ev", "CPU ms/ev", "% CPU");
        for (size_t k = 0; k < t->nmodules; k++) {
            size_t i = order[k];
            const mh__mod_sum *d = &m.mods[i];
            double cpu = (double)(d->acq_cpu + d->prod_cpu);
            fprintf(out, "  %-*s %-*s %10llu %11.3f %11.3f %7.2f\n", wl, t->labels[i], wp,
                    t->plugins[i], (unsigned long long)d->calls,
                    mh__per_ev_ms((double)(d->acq_real + d->prod_real), m.read),
                    mh__per_ev_ms(cpu, m.read), 100.0 * mh__frac(cpu, (double)m.total_cpu));
            if (mh__has_external_work(d))
                fprintf(out,
                        "  %-*s   acquire %.3f real / %.3f CPU, wait %.3f, produce %.3f real / %.3f CPU (ms/ev)\n",
                        wl, "", mh__per_ev_ms((double)d->acq_real, m.read),
                        mh__per_ev_ms((double)d->acq_cpu, m.read),
                        mh__per_ev_ms((double)d->wait_real, m.read),
                        mh__per_ev_ms((double)d->prod_real, m.read),
                        mh__per_ev_ms((double)d->prod_cpu, m.read));
        }
    }
    free(order);

    mh__text_paths(t, &m, out, 0, t->npaths - t->nend_paths, "Paths");
    mh__text_paths(t, &m, out, t->npaths - t->nend_paths, t->npaths, "End paths");

    if (t->ngroups) {
        int w = mh__maxlen(t->group_names, t->ngroups, 5);
        fprintf(out, "\nGroups (HLT time fraction: share of the summed module time and of the "
                     "mean event latency)\n");
        fprintf(out, "  %-*s %8s %11s %7s %11s %7s %9s\n", w, "group", "modules", "CPU ms/ev",
                "% CPU", "real ms/ev", "% real", "% latency");
        double lat_mean = mh__lat_mean_ms(&m);
        for (size_t g = 0; g < t->ngroups; g++) {
            double real_ms = mh__per_ev_ms(m.group_real[g], m.read);
            fprintf(out, "  %-*s %8zu %11.3f %7.2f %11.3f %7.2f %9.2f\n", w, t->group_names[g],
                    t->group_nmods[g], mh__per_ev_ms(m.group_cpu[g], m.read),
                    100.0 * mh__frac(m.group_cpu[g], (double)m.total_cpu), real_ms,
                    100.0 * mh__frac(m.group_real[g], (double)m.total_real),
                    100.0 * mh__frac(real_ms, lat_mean));
        }
    }

    fprintf(out, "\nEvent latency (ms, %zu events): p50 %.3f  p90 %.3f  p99 %.3f  mean %.3f  max %.3f\n",
            m.nlat, (double)mh__percentile(m.lat, m.nlat, 50) * 1e-6,
            (double)mh__percentile(m.lat, m.nlat, 90) * 1e-6,
            (double)mh__percentile(m.lat, m.nlat, 99) * 1e-6, mh__lat_mean_ms(&m),
            (double)(m.nlat ? m.lat[m.nlat - 1] : 0) * 1e-6);

    if (m.nfailures || m.failures_other) {
        int w = 6;
        for (size_t i = 0; i < m.nfailures; i++)
            if ((int)strlen(m.failures[i].module) > w)
                w = (int)strlen(m.failures[i].module);
        fprintf(out, "\nFailures\n  %-*s %10s  %s\n", w, "module", "events", "reason");
        for (size_t i = 0; i < m.nfailures; i++)
            fprintf(out, "  %-*s %10llu  %s\n", w, m.failures[i].module,
                    (unsigned long long)m.failures[i].count, m.failures[i].reason);
        if (m.failures_other)
            fprintf(out, "  %-*s %10llu  %s\n", w, "(other)", (unsigned long long)m.failures_other,
                    "(further distinct reasons not kept)");
    }

    if (m.ncounters) {
        int w = mh__maxlen(t->labels, t->nmodules, 6), wn = 7;
        for (size_t i = 0; i < m.ncounters; i++)
            if ((int)strlen(m.counters[i].name) > wn)
                wn = (int)strlen(m.counters[i].name);
        fprintf(out, "\nCounters\n  %-*s %-*s %12s\n", w, "module", wn, "counter", "value");
        for (size_t i = 0; i < m.ncounters; i++)
            fprintf(out, "  %-*s %-*s %12llu\n", w, t->labels[m.counters[i].module], wn,
                    m.counters[i].name, (unsigned long long)m.counters[i].value);
    }
    if (m.oom)
        fprintf(out, "\nwarning: out of memory while recording: some latencies or counters are missing\n");
    mh__merged_free(&m);
}

/* ---- JSON report ----------------------------------------------------- */

/* json_object_set_new that remembers a failed allocation in *ok. */
static void mh__jset(json_t *obj, const char *key, json_t *v, int *ok)
{
    if (!v || json_object_set_new(obj, key, v) != 0)
        *ok = 0;
}

static void mh__jappend(json_t *arr, json_t *v, int *ok)
{
    if (!v || json_array_append_new(arr, v) != 0)
        *ok = 0;
}

static json_t *mh__build_json(const mh_timing *t, const mh__merged *m, const char *config_yaml,
                              const char *input)
{
    int ok = 1;
    uint64_t rd = m->read;
    json_t *root = json_object();
    if (!root)
        return NULL;
    mh__jset(root, "schema_version", json_integer(MH__REPORT_SCHEMA_VERSION), &ok);
    mh__jset(root, "tool", json_string(MH__REPORT_TOOL), &ok);
    mh__jset(root, "version", json_string(MH_VERSION_STRING), &ok);

    json_t *ev = json_object(), *fails = json_array();
    if (ev && fails) {
        mh__jset(ev, "read", json_integer((json_int_t)rd), &ok);
        mh__jset(ev, "processed", json_integer((json_int_t)m->processed), &ok);
        mh__jset(ev, "accepted", json_integer((json_int_t)m->outcome[MH_EVENT_ACCEPTED]), &ok);
        mh__jset(ev, "rejected", json_integer((json_int_t)m->outcome[MH_EVENT_REJECTED]), &ok);
        mh__jset(ev, "failed", json_integer((json_int_t)m->outcome[MH_EVENT_FAILED]), &ok);
        for (size_t i = 0; i < m->nfailures; i++)
            mh__jappend(fails,
                        json_pack("{s:s, s:s, s:I}", "module", m->failures[i].module, "reason",
                                  m->failures[i].reason, "count",
                                  (json_int_t)m->failures[i].count),
                        &ok);
        if (m->failures_other)
            mh__jappend(fails,
                        json_pack("{s:s, s:s, s:I}", "module", "(other)", "reason",
                                  "(further distinct reasons not kept)", "count",
                                  (json_int_t)m->failures_other),
                        &ok);
        mh__jset(ev, "failures", fails, &ok);
    } else {
        json_decref(fails);
        ok = 0;
    }
    mh__jset(root, "events", ev, &ok);

    mh__jset(root, "wall_s", json_real(m->wall_s), &ok);
    mh__jset(root, "throughput_hz", json_real(m->throughput_hz), &ok);
    mh__jset(root, "cpu_utilisation", json_real(m->cpu_util), &ok);
    mh__jset(root, "threads", json_integer(t->threads), &ok);
    mh__jset(root, "streams", json_integer(t->streams), &ok);
    mh__jset(root, "latency_ms",
             json_pack("{s:f, s:f, s:f, s:f, s:f}", "p50",
                       (double)mh__percentile(m->lat, m->nlat, 50) * 1e-6, "p90",
                       (double)mh__percentile(m->lat, m->nlat, 90) * 1e-6, "p99",
                       (double)mh__percentile(m->lat, m->nlat, 99) * 1e-6, "mean",
                       mh__lat_mean_ms(m), "max",
                       (double)(m->nlat ? m->lat[m->nlat - 1] : 0) * 1e-6),
             &ok);

    json_t *mods = json_array();
    for (size_t i = 0; mods && i < t->nmodules; i++) {
        const mh__mod_sum *d = &m->mods[i];
        json_t *cnt = json_object();
        for (size_t k = 0; cnt && k < m->ncounters; k++)
            if (m->counters[k].module == i)
                mh__jset(cnt, m->counters[k].name, json_integer((json_int_t)m->counters[k].value),
                         &ok);
        json_t *o = json_pack(
            "{s:s, s:s, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:o*}", "label", t->labels[i],
            "plugin", t->plugins[i], "calls", (json_int_t)d->calls, "real_ms_per_event",
            mh__per_ev_ms((double)(d->acq_real + d->prod_real), rd), "cpu_ms_per_event",
            mh__per_ev_ms((double)(d->acq_cpu + d->prod_cpu), rd), "acquire_real_ms_per_event",
            mh__per_ev_ms((double)d->acq_real, rd), "acquire_cpu_ms_per_event",
            mh__per_ev_ms((double)d->acq_cpu, rd), "wait_ms_per_event",
            mh__per_ev_ms((double)d->wait_real, rd), "produce_real_ms_per_event",
            mh__per_ev_ms((double)d->prod_real, rd), "produce_cpu_ms_per_event",
            mh__per_ev_ms((double)d->prod_cpu, rd), "counters", cnt);
        if (!cnt)
            ok = 0;
        mh__jappend(mods, o, &ok);
    }
    mh__jset(root, "modules", mods, &ok);

    json_t *paths = json_array();
    for (size_t p = 0; paths && p < t->npaths; p++) {
        const mh__path_sum *s = &m->paths[p];
        mh__jappend(paths,
                    json_pack("{s:s, s:b, s:I, s:I, s:I, s:f, s:f}", "name", t->paths[p],
                              "end_path", p >= t->npaths - t->nend_paths, "accepted",
                              (json_int_t)s->accepted, "rejected", (json_int_t)s->rejected,
                              "prescaled", (json_int_t)s->prescaled, "real_ms_per_event",
                              mh__per_ev_ms((double)s->real, rd), "cpu_ms_per_event",
                              mh__per_ev_ms((double)s->cpu, rd)),
                    &ok);
    }
    mh__jset(root, "paths", paths, &ok);

    json_t *groups = json_array();
    double lat_mean = mh__lat_mean_ms(m);
    for (size_t g = 0; groups && g < t->ngroups; g++) {
        json_t *names = json_array();
        for (size_t k = 0; names && k < t->group_nmods[g]; k++)
            mh__jappend(names, json_string(t->labels[t->group_mods[g][k]]), &ok);
        if (!names)
            ok = 0;
        mh__jappend(groups,
                    json_pack("{s:s, s:o*, s:f, s:f, s:f, s:f, s:f}", "name", t->group_names[g],
                              "modules", names, "cpu_ms_per_event",
                              mh__per_ev_ms(m->group_cpu[g], rd), "real_ms_per_event",
                              mh__per_ev_ms(m->group_real[g], rd), "cpu_fraction",
                              mh__frac(m->group_cpu[g], (double)m->total_cpu), "real_fraction",
                              mh__frac(m->group_real[g], (double)m->total_real),
                              "latency_fraction",
                              mh__frac(mh__per_ev_ms(m->group_real[g], rd), lat_mean)),
                    &ok);
    }
    mh__jset(root, "groups", groups, &ok);

    mh__jset(root, "total_cpu_ms_per_event", json_real(mh__per_ev_ms((double)m->total_cpu, rd)), &ok);
    mh__jset(root, "total_real_ms_per_event", json_real(mh__per_ev_ms((double)m->total_real, rd)), &ok);
    mh__jset(root, "total_wait_ms_per_event", json_real(mh__per_ev_ms((double)m->total_wait, rd)), &ok);
    mh__jset(root, "config", config_yaml ? json_string(config_yaml) : json_null(), &ok);
    mh__jset(root, "input", input ? json_string(input) : json_null(), &ok);
    if (!ok) {
        json_decref(root);
        return NULL;
    }
    return root;
}

mh_status mh_timing_report_json(const mh_timing *t, const char *path, const char *config_yaml,
                                const char *input, char *err, size_t errlen)
{
    if (!t || !path)
        return mh_fail(err, errlen, MH_INVALID, "timing report: NULL argument");
    mh__merged m;
    if (mh__merge(t, &m) != MH_OK)
        return mh_fail(err, errlen, MH_NOMEM, "%s: out of memory building the report", path);
    json_t *root = mh__build_json(t, &m, config_yaml, input);
    mh__merged_free(&m);
    if (!root)
        return mh_fail(err, errlen, MH_NOMEM,
                       "%s: cannot build the report (out of memory or a non-UTF-8 label/config)",
                       path);
    mh_status st = mh__json_write_atomic(root, path, err, errlen);
    json_decref(root);
    return st;
}
