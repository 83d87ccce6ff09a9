/* model.c - a served model: loading from the repository, the dynamic
 * batcher (Triton's scheduler) and the per-model statistics.
 *
 * Each model has one FIFO queue of jobs and `instances` threads, each with
 * its own backend instance. An idle instance takes the oldest job; with
 * dynamic batching it then waits until the queued rows fill max_batch_size
 * or the oldest job has waited max_queue_delay_us, takes as many whole jobs
 * as fit in max_batch_size rows, concatenates their inputs, runs one
 * execution and splits the outputs back per job. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <libfyaml.h>

#include "net/net_internal.h"

/* ---- config.yaml: the server's keys (sim/ml reads the rest) -------------- */

static const char *mh__scalar(struct fy_node *n)
{
    return n && fy_node_is_scalar(n) ? fy_node_get_scalar0(n) : NULL;
}

static mh_status mh__yaml_ulong(struct fy_node *n, const char *path, const char *key,
                                unsigned long lo, unsigned long hi, unsigned long *out,
                                char *err, size_t errlen)
{
    const char *s = mh__scalar(n);
    char *end = NULL;
    errno = 0;
    unsigned long long v = s ? strtoull(s, &end, 10) : 0;
    if (!s || !*s || *end || errno || s[0] == '-' || v < lo || v > hi)
        return mh_fail(err, errlen, MH_CONFIG, "%s: %s must be an integer in [%lu, %lu]", path,
                       key, lo, hi);
    *out = (unsigned long)v;
    return MH_OK;
}

static mh_status mh__check_keys(struct fy_node *map, const char *const *allowed,
                                const char *path, const char *where, char *err, size_t errlen)
{
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(map, &it)) != NULL) {
        const char *k = mh__scalar(fy_node_pair_key(p));
        bool ok = false;
        for (size_t i = 0; k && allowed[i]; i++)
            ok = ok || !strcmp(k, allowed[i]);
        if (!ok)
            return mh_fail(err, errlen, MH_CONFIG, "%s: %s: unknown key '%s'", path, where,
                           k ? k : "?");
    }
    return MH_OK;
}

/* Reads dynamic_batching and instance_group (Triton's keys) and their short
 * forms max_queue_delay_us and instances. */
static mh_status mh__read_server_keys(mh__model *m, const char *path, const char **kind,
                                      char *err, size_t errlen)
{
    static const char *const db_keys[] = {"max_queue_delay_microseconds", "preferred_batch_size",
                                          "preserve_ordering", NULL};
    static const char *const ig_keys[] = {"count", "kind", "name", "gpus", NULL};
    mh_status st = MH_OK;
    /* mh_facile_load has already parsed this file and reported any YAML
     * error with its position, so a quiet parse is enough here. */
    struct fy_parse_cfg cfg = {.search_path = NULL, .flags = FYPCF_QUIET, .userdata = NULL,
                               .diag = NULL};
    struct fy_document *doc = fy_document_build_from_file(&cfg, path);
    struct fy_node *root = doc ? fy_document_root(doc) : NULL;
    if (!root || !fy_node_is_mapping(root)) {
        st = mh_fail(err, errlen, MH_CONFIG, "%s: not a YAML mapping", path);
        goto out;
    }
    struct fy_node *db = fy_node_mapping_lookup_by_string(root, "dynamic_batching", FY_NT);
    if (db) {
        if (!fy_node_is_mapping(db)) {
            st = mh_fail(err, errlen, MH_CONFIG, "%s: dynamic_batching must be a mapping", path);
            goto out;
        }
        if ((st = mh__check_keys(db, db_keys, path, "dynamic_batching", err, errlen)) != MH_OK)
            goto out;
        m->dynamic_batching = true;
        struct fy_node *d =
            fy_node_mapping_lookup_by_string(db, "max_queue_delay_microseconds", FY_NT);
        unsigned long v = 0;
        if (d && (st = mh__yaml_ulong(d, path, "dynamic_batching.max_queue_delay_microseconds",
                                      0, 10000000, &v, err, errlen)) != MH_OK)
            goto out;
        m->max_queue_delay_us = v;
    }
    /* The short names: max_queue_delay_us (turns dynamic batching
     * on, like a dynamic_batching mapping with that delay) and instances: N
     * (instance_group [{count: N}]). Each may not be given twice. */
    struct fy_node *qd = fy_node_mapping_lookup_by_string(root, "max_queue_delay_us", FY_NT);
    if (qd) {
        if (db && fy_node_mapping_lookup_by_string(db, "max_queue_delay_microseconds", FY_NT)) {
            st = mh_fail(err, errlen, MH_CONFIG,
                         "%s: max_queue_delay_us and dynamic_batching.max_queue_delay_microseconds "
                         "are the same setting; give only one",
                         path);
            goto out;
        }
        unsigned long v = 0;
        if ((st = mh__yaml_ulong(qd, path, "max_queue_delay_us", 0, 10000000, &v, err, errlen)) !=
            MH_OK)
            goto out;
        m->dynamic_batching = true;
        m->max_queue_delay_us = v;
    }
    struct fy_node *ig = fy_node_mapping_lookup_by_string(root, "instance_group", FY_NT);
    struct fy_node *ni = fy_node_mapping_lookup_by_string(root, "instances", FY_NT);
    m->instances = 1;
    if (ni) {
        if (ig) {
            st = mh_fail(err, errlen, MH_CONFIG,
                         "%s: instances and instance_group both set the instance count; give "
                         "only one",
                         path);
            goto out;
        }
        unsigned long c = 1;
        if ((st = mh__yaml_ulong(ni, path, "instances", 1, 64, &c, err, errlen)) != MH_OK)
            goto out;
        m->instances = (unsigned)c;
    }
    if (ig) {
        if (!fy_node_is_sequence(ig) || fy_node_sequence_item_count(ig) < 1) {
            st = mh_fail(err, errlen, MH_CONFIG,
                         "%s: instance_group must be a non-empty sequence", path);
            goto out;
        }
        m->instances = 0;
        for (int i = 0; i < fy_node_sequence_item_count(ig); i++) {
            struct fy_node *g = fy_node_sequence_get_by_index(ig, i);
            if (!g || !fy_node_is_mapping(g)) {
                st = mh_fail(err, errlen, MH_CONFIG, "%s: instance_group[%d] must be a mapping",
                             path, i);
                goto out;
            }
            if ((st = mh__check_keys(g, ig_keys, path, "instance_group", err, errlen)) != MH_OK)
                goto out;
            unsigned long c = 1;
            struct fy_node *cn = fy_node_mapping_lookup_by_string(g, "count", FY_NT);
            if (cn && (st = mh__yaml_ulong(cn, path, "instance_group.count", 1, 64, &c, err,
                                           errlen)) != MH_OK)
                goto out;
            m->instances += (unsigned)c;
            const char *k = mh__scalar(fy_node_mapping_lookup_by_string(g, "kind", FY_NT));
            if (k && !strcmp(k, "KIND_GPU"))
                *kind = "opencl";
            else if (k && strcmp(k, "KIND_CPU") && strcmp(k, "KIND_AUTO")) {
                st = mh_fail(err, errlen, MH_CONFIG,
                             "%s: instance_group kind '%s' (expected KIND_CPU, KIND_GPU or "
                             "KIND_AUTO)",
                             path, k);
                goto out;
            }
        }
        if (m->instances > 64) {
            st = mh_fail(err, errlen, MH_CONFIG, "%s: at most 64 instances in all", path);
            goto out;
        }
    }
out:
    fy_document_destroy(doc);
    return st;
}

/* Highest numeric subdirectory of dir: Triton's default version policy
 * (latest 1). */
static mh_status mh__latest_version(const char *dir, const char *name, unsigned *out, char *err,
                                    size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d)
        return mh_fail(err, errlen, MH_IO, "model '%s': %s: %s", name, dir, strerror(errno));
    long best = -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end = NULL;
        errno = 0;
        long v = strtol(e->d_name, &end, 10);
        if (e->d_name[0] < '0' || e->d_name[0] > '9' || *end || errno || v > INT_MAX)
            continue;
        char p[4200];
        struct stat sb;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode) && v > best)
            best = v;
    }
    closedir(d);
    if (best < 0)
        return mh_fail(err, errlen, MH_NOTFOUND,
                       "model '%s': no version directory in %s (expected e.g. %s/1/weights.bin)",
                       name, dir, dir);
    *out = (unsigned)best;
    return MH_OK;
}

/* ---- the batcher ---------------------------------------------------------- */

typedef struct mh__instance {
    mh__model *m;
    void *backend_inst;
    float *in, *out; /* batch buffers, max_batch rows */
} mh__instance;

static void mh__add_dur(mh__dur *d, uint64_t ns)
{
    d->count++;
    d->ns += ns;
}

static void mh__record_batch(mh__model *m, size_t rows, uint64_t cin, uint64_t cinf,
                             uint64_t cout)
{
    mh__stats *s = &m->stats;
    pthread_mutex_lock(&s->lock);
    s->execution_count++;
    s->inference_count += rows;
    size_t i = 0;
    while (i < s->nbatches && s->batches[i].batch_size < rows)
        i++;
    if (i == s->nbatches || s->batches[i].batch_size != rows) {
        if (s->nbatches == s->capbatches) {
            size_t nc = s->capbatches ? 2 * s->capbatches : 16;
            mh__batch_stat *nb = realloc(s->batches, nc * sizeof *nb);
            if (!nb)
                goto out; /* statistics only: drop this sample rather than fail */
            s->batches = nb;
            s->capbatches = nc;
        }
        memmove(&s->batches[i + 1], &s->batches[i], (s->nbatches - i) * sizeof *s->batches);
        memset(&s->batches[i], 0, sizeof *s->batches);
        s->batches[i].batch_size = rows;
        s->nbatches++;
    }
    mh__add_dur(&s->batches[i].compute_input, cin);
    mh__add_dur(&s->batches[i].compute_infer, cinf);
    mh__add_dur(&s->batches[i].compute_output, cout);
out:
    pthread_mutex_unlock(&s->lock);
}

/* Runs the jobs of one batch (list linked by next, total rows). */
static void mh__execute(mh__instance *ins, mh__job *first, size_t njobs, size_t rows)
{
    mh__model *m = ins->m;
    uint64_t t0 = mh__now_ns();
    const float *in = first->in;
    float *out = first->out;
    if (njobs > 1) {
        size_t r = 0;
        for (mh__job *j = first; j; j = j->next) {
            memcpy(ins->in + r * m->nin, j->in, j->rows * m->nin * sizeof(float));
            r += j->rows;
        }
        in = ins->in;
        out = ins->out;
    }
    uint64_t t1 = mh__now_ns();
    char err[256] = "";
    mh_status st = m->backend->execute(ins->backend_inst, in, rows, out, err, sizeof err);
    uint64_t t2 = mh__now_ns();
    if (njobs > 1 && st == MH_OK) {
        size_t r = 0;
        for (mh__job *j = first; j; j = j->next) {
            memcpy(j->out, ins->out + r * m->nout, j->rows * m->nout * sizeof(float));
            r += j->rows;
        }
    }
    uint64_t t3 = mh__now_ns();
    mh__record_batch(m, rows, t1 - t0, t2 - t1, t3 - t2);
    mh__job *j = first;
    while (j) {
        mh__job *next = j->next; /* done() may free the job */
        j->next = NULL;
        j->st = st;
        if (st != MH_OK)
            snprintf(j->err, sizeof j->err, "%.32s backend: %.200s", m->backend->name,
                     err[0] ? err : mh_strerror(st));
        j->t_end = t3;
        j->compute_input_ns = t1 - t0;
        j->compute_infer_ns = t2 - t1;
        j->compute_output_ns = t3 - t2;
        j->done(j, j->arg);
        j = next;
    }
}

static void mh__deadline(uint64_t t_ns, struct timespec *ts)
{
    /* The condition variable uses CLOCK_MONOTONIC (set in mh__model_load). */
    ts->tv_sec = (time_t)(t_ns / 1000000000u);
    ts->tv_nsec = (long)(t_ns % 1000000000u);
}

static void *mh__instance_main(void *arg)
{
    mh__instance *ins = arg;
    mh__model *m = ins->m;
    pthread_mutex_lock(&m->lock);
    for (;;) {
        while (!m->head && !m->stopping)
            pthread_cond_wait(&m->cond, &m->lock);
        if (!m->head)
            break; /* stopping and drained */
        if (m->dynamic_batching && m->max_queue_delay_us > 0) {
            /* Wait for more rows until the oldest job's delay runs out. */
            while (m->head && !m->stopping && m->queued_rows < m->max_batch) {
                uint64_t deadline = m->head->t_enqueue + m->max_queue_delay_us * 1000u;
                if (mh__now_ns() >= deadline)
                    break;
                struct timespec ts;
                mh__deadline(deadline, &ts);
                pthread_cond_timedwait(&m->cond, &m->lock, &ts);
            }
            if (!m->head)
                continue; /* another instance took them */
        }
        mh__job *first = m->head, *last = first;
        size_t rows = first->rows, njobs = 1;
        if (m->dynamic_batching)
            while (last->next && rows + last->next->rows <= m->max_batch) {
                last = last->next;
                rows += last->rows;
                njobs++;
            }
        m->head = last->next;
        if (!m->head)
            m->tail = NULL;
        last->next = NULL;
        m->queued -= njobs;
        m->queued_rows -= rows;
        uint64_t now = mh__now_ns();
        for (mh__job *j = first; j; j = j->next)
            j->t_start = now;
        pthread_mutex_unlock(&m->lock);
        mh__execute(ins, first, njobs, rows);
        pthread_mutex_lock(&m->lock);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

mh_status mh__model_enqueue(mh__model *m, mh__job *job, char *err, size_t errlen)
{
    mh_status st = MH_OK;
    job->next = NULL;
    job->t_enqueue = mh__now_ns();
    pthread_mutex_lock(&m->lock);
    if (m->stopping) {
        st = mh_fail(err, errlen, MH_INVALID, "model '%s' is shutting down", m->name);
    } else if (m->queued >= m->max_queue) {
        st = mh_fail(err, errlen, MH_OVERLOAD,
                     "model '%s': exceeds maximum queue size (%zu requests pending)", m->name,
                     m->queued);
    } else {
        if (m->tail)
            m->tail->next = job;
        else
            m->head = job;
        m->tail = job;
        m->queued++;
        m->queued_rows += job->rows;
        /* Broadcast: a batching instance may be waiting for this row count. */
        pthread_cond_broadcast(&m->cond);
    }
    pthread_mutex_unlock(&m->lock);
    if (st == MH_OVERLOAD) {
        pthread_mutex_lock(&m->stats.lock);
        m->stats.fail_reason[MH__FAIL_REJECTED]++;
        pthread_mutex_unlock(&m->stats.lock);
    }
    return st;
}

void mh__stats_request_done(mh__model *m, bool ok, int fail_reason, uint64_t duration_ns,
                            const mh__job *job)
{
    mh__stats *s = &m->stats;
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    pthread_mutex_lock(&s->lock);
    s->last_inference_ms = (uint64_t)wall.tv_sec * 1000u + (uint64_t)wall.tv_nsec / 1000000u;
    s->request_duration_us_total += duration_ns / 1000u;
    if (ok) {
        mh__add_dur(&s->success, duration_ns);
    } else {
        mh__add_dur(&s->fail, duration_ns);
        /* Rejections were counted at enqueue time. */
        if (fail_reason != MH__FAIL_REJECTED && fail_reason >= 0 && fail_reason < MH__FAIL_COUNT)
            s->fail_reason[fail_reason]++;
    }
    if (ok && job) {
        mh__add_dur(&s->queue, job->t_start - job->t_enqueue);
        mh__add_dur(&s->compute_input, job->compute_input_ns);
        mh__add_dur(&s->compute_infer, job->compute_infer_ns);
        mh__add_dur(&s->compute_output, job->compute_output_ns);
    }
    pthread_mutex_unlock(&s->lock);
}

/* ---- load and free -------------------------------------------------------- */

static void mh__instance_free(mh__model *m, mh__instance *ins)
{
    if (!ins)
        return;
    if (m->backend)
        m->backend->instance_free(ins->backend_inst);
    free(ins->in);
    free(ins->out);
    free(ins);
}

/* Threads hold their mh__instance; m->threads[i] pairs with insts[i]. */
typedef struct mh__model_priv {
    mh__model pub;
    mh__instance **insts;
} mh__model_priv;

void mh__model_stop(mh__model *m)
{
    pthread_mutex_lock(&m->lock);
    m->stopping = true;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    for (size_t i = 0; i < m->nthreads; i++)
        pthread_join(m->threads[i], NULL);
    m->nthreads = 0;
}

void mh__model_free(mh__model *m)
{
    if (!m)
        return;
    mh__model_priv *p = (mh__model_priv *)m;
    mh__model_stop(m);
    for (size_t i = 0; p->insts && i < m->instances; i++)
        mh__instance_free(m, p->insts[i]);
    free(p->insts);
    free(m->threads);
    mh_facile_free(m->net);
    free(m->stats.batches);
    pthread_mutex_destroy(&m->stats.lock);
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->lock);
    free(p);
}

mh_status mh__model_load(const char *dir, const char *name, const char *backend_override,
                         size_t max_queue, mh__model **out, char *err, size_t errlen)
{
    mh_status st = MH_OK;
    *out = NULL;
    mh__model_priv *p = calloc(1, sizeof *p);
    if (!p)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    mh__model *m = &p->pub;
    pthread_mutex_init(&m->lock, NULL);
    pthread_mutex_init(&m->stats.lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cond, &ca);
    pthread_condattr_destroy(&ca);
    m->max_queue = max_queue;
    if (snprintf(m->name, sizeof m->name, "%s", name) >= (int)sizeof m->name ||
        snprintf(m->dir, sizeof m->dir, "%s", dir) >= (int)sizeof m->dir) {
        st = mh_fail(err, errlen, MH_INVALID, "model '%s': name or path too long", name);
        goto fail;
    }
    unsigned version = 0;
    if ((st = mh__latest_version(dir, name, &version, err, errlen)) != MH_OK)
        goto fail;
    snprintf(m->version, sizeof m->version, "%u", version);
    if ((st = mh_facile_load(dir, version, &m->net, err, errlen)) != MH_OK) {
        mh_fail_prefix(err, errlen, st, "model '%s': ", name);
        goto fail;
    }
    if (strcmp(mh_facile_name(m->net), name) != 0) {
        st = mh_fail(err, errlen, MH_CONFIG,
                     "model '%s': %s/config.yaml says name '%s'; it must match the directory "
                     "name",
                     name, dir, mh_facile_name(m->net));
        goto fail;
    }
    m->nin = mh_facile_num_inputs(m->net);
    m->nout = mh_facile_num_outputs(m->net);
    m->max_batch = mh_facile_max_batch(m->net);
    char cfgpath[4200];
    snprintf(cfgpath, sizeof cfgpath, "%s/config.yaml", dir);
    const char *kind = "cpu";
    if ((st = mh__read_server_keys(m, cfgpath, &kind, err, errlen)) != MH_OK)
        goto fail;
    if (m->max_batch == 0) {
        /* No batch dimension declared: requests are never merged, and one
         * request may carry any number of rows. */
        m->dynamic_batching = false;
    }
    const char *bname = backend_override ? backend_override : kind;
    m->backend = mh__net_backend_find(bname);
    if (!m->backend) {
        st = mh_fail(err, errlen, MH_UNSUPPORTED, "model '%s': backend '%s' is not built in "
                     "(available: cpu, opencl)", name, bname);
        goto fail;
    }
    p->insts = calloc(m->instances, sizeof *p->insts);
    m->threads = calloc(m->instances, sizeof *m->threads);
    if (!p->insts || !m->threads) {
        st = mh_fail(err, errlen, MH_NOMEM, "out of memory");
        goto fail;
    }
    for (unsigned i = 0; i < m->instances; i++) {
        mh__instance *ins = calloc(1, sizeof *ins);
        if (!ins) {
            st = mh_fail(err, errlen, MH_NOMEM, "out of memory");
            goto fail;
        }
        p->insts[i] = ins;
        ins->m = m;
        if (m->dynamic_batching) {
            ins->in = malloc(m->max_batch * m->nin * sizeof(float));
            ins->out = malloc(m->max_batch * m->nout * sizeof(float));
            if (!ins->in || !ins->out) {
                st = mh_fail(err, errlen, MH_NOMEM, "model '%s': out of memory for batch buffers",
                             name);
                goto fail;
            }
        }
        if ((st = m->backend->instance_create(m->net, &ins->backend_inst, err, errlen)) != MH_OK) {
            mh_fail_prefix(err, errlen, st, "model '%s' instance %u: ", name, i);
            goto fail;
        }
    }
    for (unsigned i = 0; i < m->instances; i++) {
        if (pthread_create(&m->threads[i], NULL, mh__instance_main, p->insts[i]) != 0) {
            st = mh_fail(err, errlen, MH_INTERNAL, "model '%s': cannot start a thread", name);
            goto fail;
        }
        m->nthreads++;
    }
    *out = m;
    return MH_OK;
fail:
    mh__model_free(m);
    return st;
}
