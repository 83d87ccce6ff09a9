/* source.c - the source: hands events of the .mhe input to idle streams,
 * reading and decompressing clusters ahead on worker threads.
 *
 * The input is seen as the looped sequence of its clusters (loop K times the
 * file); the events delivered are [skip, skip + events) of that sequence.
 * A window of W clusters is in flight: each window slot has its own reader
 * (mh_evreader is one thread per reader), so reading and decoding of several
 * clusters run as independent tasks with no lock. Streams take events from
 * the oldest cluster in order; a cluster's events are freed when the last of
 * them has finished. The lock below is taken once per event and per cluster. */
#include <stdlib.h>
#include <string.h>

#include "core/sched_internal.h"

#define MH__MAX_WINDOW 32

/* Gives a finished cluster's events back to the pool: decoding reuses
 * their buffers, so a steady run allocates nothing per event. */
static void mh__cluster_free(mh__cluster *c)
{
    if (!c)
        return;
    mh__source *src = c->src;
    uint32_t i = 0;
    pthread_mutex_lock(&src->lock);
    size_t need = src->npool + c->n;
    if (need > src->pool_cap) {
        size_t cap = need > 2 * src->pool_cap ? need : 2 * src->pool_cap;
        mh_rawevent **p = realloc(src->pool, cap * sizeof *p);
        if (p) {
            src->pool = p;
            src->pool_cap = cap;
        }
    }
    if (need <= src->pool_cap)
        for (; i < c->n; i++)
            src->pool[src->npool++] = c->evs[i];
    pthread_mutex_unlock(&src->lock);
    for (; i < c->n; i++)
        mh_rawevent_free(c->evs[i]);
    free(c->evs);
    free(c);
}

static void mh__cluster_unref(mh__cluster *c)
{
    if (atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
        mh__cluster_free(c);
}

/* Task: read and decode one cluster with the reader of its window slot. */
static void mh__decode_task(void *arg)
{
    mh__cluster *c = arg;
    mh__source *src = c->src;
    mh_evcluster *raw = NULL;
    mh_status st = mh_evreader_read_cluster(src->readers[c->slot], c->ci, &raw, c->err,
                                            sizeof c->err);
    if (st == MH_OK) {
        c->evs = calloc(raw->nevents ? raw->nevents : 1, sizeof *c->evs);
        if (!c->evs) {
            st = mh_fail(c->err, sizeof c->err, MH_NOMEM, "out of memory decoding a cluster");
        } else {
            pthread_mutex_lock(&src->lock);
            while (c->n < raw->nevents && src->npool)
                c->evs[c->n++] = src->pool[--src->npool];
            pthread_mutex_unlock(&src->lock);
            for (uint32_t i = c->n; i < raw->nevents && st == MH_OK; i++, c->n++)
                if (!(c->evs[i] = mh_rawevent_create()))
                    st = mh_fail(c->err, sizeof c->err, MH_NOMEM, "out of memory");
            if (st == MH_OK)
                st = mh_evcluster_decode(raw, c->evs, c->err, sizeof c->err);
        }
    }
    mh_evcluster_free(raw);
    pthread_mutex_lock(&src->lock);
    c->st = st;
    c->ready = true;
    pthread_mutex_unlock(&src->lock);
    mh__source_dispatch(src);
}

/* Adds clusters to the window while there is room (lock held). The tasks
 * are collected in spawn[] and started after the lock is dropped. */
static void mh__pump(mh__source *src, mh__cluster **spawn, unsigned *nspawn)
{
    while (src->count < src->window && src->next_seq < src->total_seq && src->st == MH_OK &&
           !atomic_load(&src->s->stop)) {
        uint64_t q = src->next_seq++;
        uint32_t ci = (uint32_t)(q % src->nclusters);
        uint32_t n = 0;
        uint64_t first_in_file = 0;
        mh_evreader_cluster_at(src->readers[0], ci, NULL, NULL, &n, &first_in_file);
        uint64_t g0 = (q / src->nclusters) * src->file_events + first_in_file;
        uint64_t g1 = g0 + n;
        if (g0 >= src->range_end) {
            src->next_seq = src->total_seq; /* past the last wanted event */
            break;
        }
        if (g1 <= src->range_first || n == 0)
            continue;
        mh__cluster *c = calloc(1, sizeof *c);
        if (!c) {
            src->st = mh_fail(src->err, sizeof src->err, MH_NOMEM, "out of memory");
            break;
        }
        c->src = src;
        c->ci = ci;
        c->first = (uint32_t)(src->range_first > g0 ? src->range_first - g0 : 0);
        c->end = (uint32_t)(src->range_end < g1 ? src->range_end - g0 : n);
        c->next = c->first;
        atomic_store(&c->refs, 1);
        unsigned pos = (src->head + src->count) % src->window;
        c->slot = pos;
        src->ring[pos] = c;
        src->count++;
        spawn[(*nspawn)++] = c;
    }
}

void mh__source_dispatch(mh__source *src)
{
    mh_sched *s = src->s;
    mh__cluster *spawn[MH__MAX_WINDOW];
    unsigned nspawn = 0;
    mh__stream *start = NULL; /* streams to start, linked by next_idle */
    mh__cluster *drop[MH__MAX_WINDOW];
    unsigned ndrop = 0;
    bool release = false;

    pthread_mutex_lock(&src->lock);
    mh__pump(src, spawn, &nspawn);
    while (src->idle && src->count && src->st == MH_OK && !atomic_load(&s->stop)) {
        mh__cluster *c = src->ring[src->head];
        if (!c->ready)
            break;
        if (c->st != MH_OK && src->skip_bad &&
            (c->st == MH_CORRUPT || c->st == MH_CHECKSUM || c->st == MH_TRUNCATED ||
             c->st == MH_FORMAT)) {
            src->skipped_bad += c->end - c->next;
            src->skipped_clusters++;
            c->next = c->end;
        } else if (c->st != MH_OK) {
            src->st = c->st;
            snprintf(src->err, sizeof src->err, "%s", c->err);
            atomic_store(&s->stop, true);
            break;
        }
        if (c->next == c->end) {
            src->head = (src->head + 1) % src->window;
            src->count--;
            drop[ndrop++] = c;
            mh__pump(src, spawn, &nspawn);
            continue;
        }
        mh__stream *st = src->idle;
        src->idle = st->next_idle;
        src->nidle--;
        st->raw = c->evs[c->next++];
        st->cluster = c;
        st->serial = src->next_serial++;
        atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
        st->next_idle = start;
        start = st;
    }
    if (!src->finished && src->nidle == s->streams &&
        (src->count == 0 || src->st != MH_OK || atomic_load(&s->stop)) &&
        (src->next_seq >= src->total_seq || src->st != MH_OK || atomic_load(&s->stop))) {
        src->finished = true;
        release = true;
    }
    pthread_mutex_unlock(&src->lock);

    for (unsigned i = 0; i < ndrop; i++)
        mh__cluster_unref(drop[i]);
    for (unsigned i = 0; i < nspawn; i++)
        if (mh_tbb_run(s->tbb, mh__decode_task, spawn[i]) != MH_OK)
            abort(); /* no memory for a task: nothing sensible left */
    while (start) {
        mh__stream *st = start;
        start = st->next_idle;
        if (mh_tbb_run(s->tbb, mh__event_task, &st->begin) != MH_OK)
            abort();
    }
    if (release)
        mh_tbb_release(s->tbb);
}

void mh__source_event_done(mh__source *src, mh__stream *st)
{
    mh__cluster *c = st->cluster;
    st->cluster = NULL;
    st->raw = NULL;
    pthread_mutex_lock(&src->lock);
    st->next_idle = src->idle;
    src->idle = st;
    src->nidle++;
    pthread_mutex_unlock(&src->lock);
    mh__cluster_unref(c);
    mh__source_dispatch(src);
}

mh_status mh__source_open(struct mh_sched *s, mh__source *src, const char *path, int64_t skip,
                          int64_t events, int64_t loop, bool skip_bad, char *err, size_t errlen)
{
    memset(src, 0, sizeof *src);
    src->s = s;
    src->skip_bad = skip_bad;
    if (pthread_mutex_init(&src->lock, NULL))
        return mh_fail(err, errlen, MH_INTERNAL, "cannot create a mutex");
    mh_status st = MH_OK;
    mh_evreader *r0 = NULL;
    if ((st = mh_evreader_open(path, 0, &r0, err, errlen)) != MH_OK)
        goto fail;
    const mh_evfile_info *info = mh_evreader_info(r0);
    src->file_events = info->nevents;
    src->nclusters = info->nclusters;
    double per_cluster = info->nclusters ? (double)info->nevents / info->nclusters : 1.0;
    unsigned w = (unsigned)((double)s->streams / (per_cluster > 1 ? per_cluster : 1.0)) + 2;
    src->window = w > MH__MAX_WINDOW ? MH__MAX_WINDOW : w;
    if (src->nclusters && src->window > src->nclusters * (uint64_t)loop)
        src->window = (unsigned)(src->nclusters * (uint64_t)loop) + 0;
    if (src->window < 1)
        src->window = 1;
    src->readers = calloc(src->window, sizeof *src->readers);
    src->ring = calloc(src->window, sizeof *src->ring);
    src->path = strdup(path);
    if (!src->readers || !src->ring || !src->path) {
        st = mh_fail(err, errlen, MH_NOMEM, "out of memory");
        goto fail;
    }
    src->readers[0] = r0;
    r0 = NULL;
    for (unsigned i = 1; i < src->window; i++)
        if ((st = mh_evreader_open(path, 0, &src->readers[i], err, errlen)) != MH_OK)
            goto fail;
    uint64_t total = src->file_events * (uint64_t)loop;
    src->total_seq = (uint64_t)src->nclusters * (uint64_t)loop;
    src->range_first = (uint64_t)skip < total ? (uint64_t)skip : total;
    src->range_end = events < 0 || (uint64_t)events > total - src->range_first
                         ? total
                         : src->range_first + (uint64_t)events;
    return MH_OK;
fail:
    mh_evreader_close(r0);
    mh__source_close(src);
    return st;
}

void mh__source_close(mh__source *src)
{
    for (unsigned i = 0; src->ring && i < src->count; i++)
        mh__cluster_unref(src->ring[(src->head + i) % src->window]);
    for (unsigned i = 0; src->readers && i < src->window; i++)
        mh_evreader_close(src->readers[i]);
    for (size_t i = 0; i < src->npool; i++)
        mh_rawevent_free(src->pool[i]);
    free(src->pool);
    src->pool = NULL;
    src->npool = src->pool_cap = 0;
    free(src->readers);
    free(src->ring);
    free(src->path);
    src->readers = NULL;
    src->ring = NULL;
    src->path = NULL;
    src->count = 0;
    pthread_mutex_destroy(&src->lock);
}
