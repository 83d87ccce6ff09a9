/* net_internal.h - internals of the inference server (sim/net only):
 * backends, the served model with its dynamic batcher and statistics. */
#ifndef MH_NET_INTERNAL_H
#define MH_NET_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mh_status.h"
#include "ml/mh_facile.h"

/* ---- backends ------------------------------------------------------------
 * An inference backend runs the FACILE forward pass of a batch. Like curl's
 * vtls backends: one const table per backend, one file each, and a
 * NULL-terminated list of the ones built in (backends.c). Each model instance
 * (instance_group count) owns one backend instance, used by one thread at a
 * time. Fields are only ever appended. */
typedef struct mh_net_backend {
    size_t struct_size; /* sizeof(mh_net_backend) when the table was written */
    const char *name;   /* "cpu", "opencl" */
    /* Creates an instance for the model (which outlives it). */
    mh_status (*instance_create)(const mh_facile *model, void **inst, char *err, size_t errlen);
    /* in: rows x num_inputs, out: rows x num_outputs (float, aligned). */
    mh_status (*execute)(void *inst, const float *in, size_t rows, float *out, char *err,
                         size_t errlen);
    void (*instance_free)(void *inst); /* NULL is a no-op */
} mh_net_backend;

extern const mh_net_backend mh__net_backend_cpu;
extern const mh_net_backend mh__net_backend_opencl;

/* The built-in backends, NULL-terminated. */
extern const mh_net_backend *const mh__net_backends[];

/* Finds a backend by name; NULL if it is not built in. */
const mh_net_backend *mh__net_backend_find(const char *name);

/* Nanoseconds of CLOCK_MONOTONIC. */
uint64_t mh__now_ns(void);

/* ---- jobs and the batcher ------------------------------------------------ */

/* One inference request waiting for, or done by, the batcher. The server
 * owns it; the batcher fills st/err/out/timings and calls done() exactly
 * once, from an instance thread. */
typedef struct mh__job {
    struct mh__job *next;
    const float *in; /* rows x nin, float-aligned */
    size_t rows;
    float *out; /* rows x nout, owned by the server */
    uint64_t t_enqueue, t_start, t_end;
    uint64_t compute_input_ns, compute_infer_ns, compute_output_ns;
    mh_status st;
    char err[256];
    void (*done)(struct mh__job *job, void *arg);
    void *arg;
} mh__job;

/* Duration counter as in Triton's statistics: count and total ns. */
typedef struct mh__dur {
    uint64_t count;
    uint64_t ns;
} mh__dur;

typedef struct mh__batch_stat {
    size_t batch_size; /* rows */
    mh__dur compute_input, compute_infer, compute_output;
} mh__batch_stat;

/* Failure reasons of nv_inference_request_failure (Triton's labels). */
enum { MH__FAIL_REJECTED, MH__FAIL_BACKEND, MH__FAIL_OTHER, MH__FAIL_COUNT };

typedef struct mh__stats {
    pthread_mutex_t lock;
    uint64_t last_inference_ms; /* wall clock ms of the last request */
    uint64_t inference_count;   /* rows inferred */
    uint64_t execution_count;   /* backend executions (batches) */
    mh__dur success, fail, queue, compute_input, compute_infer, compute_output;
    uint64_t fail_reason[MH__FAIL_COUNT];
    uint64_t request_duration_us_total; /* success + failure, as Triton */
    mh__batch_stat *batches;            /* sorted by batch_size */
    size_t nbatches, capbatches;
} mh__stats;

/* A served model: the FACILE network, its repository config and its
 * scheduler (Triton's dynamic batcher: requests are queued and merged up to
 * max_batch_size rows, waiting at most max_queue_delay_us for more). */
typedef struct mh__model {
    char name[128];
    char version[32];
    char dir[4096];
    mh_facile *net;
    size_t nin, nout, max_batch;
    bool dynamic_batching;
    uint64_t max_queue_delay_us;
    unsigned instances;
    const mh_net_backend *backend;
    size_t max_queue; /* pending requests; beyond: overload (503) */

    pthread_mutex_t lock;
    pthread_cond_t cond;
    mh__job *head, *tail;
    size_t queued, queued_rows;
    bool stopping;
    pthread_t *threads;
    size_t nthreads;

    mh__stats stats;
} mh__model;

/* Loads the model in repository directory dir (name = the directory's last
 * component, must equal the config's name; the highest numeric version
 * subdirectory is served), reads dynamic_batching and instance_group from
 * config.yaml, creates the backend instances and starts the instance
 * threads. backend_override (NULL: from instance_group kind) names a backend.
 * On success *out is owned by the caller (mh__model_free). */
mh_status mh__model_load(const char *dir, const char *name, const char *backend_override,
                         size_t max_queue, mh__model **out, char *err, size_t errlen);

/* Queues a job. MH_OVERLOAD if the queue is full, MH_INVALID if the model
 * is shutting down; on those the job is not taken and done() is not called. */
mh_status mh__model_enqueue(mh__model *m, mh__job *job, char *err, size_t errlen);

/* Stops accepting jobs (enqueue answers MH_INVALID), runs the queued ones
 * to completion and joins the instance threads. Idempotent. */
void mh__model_stop(mh__model *m);

/* Stops accepting jobs, runs the queued ones to completion, joins the
 * threads and frees the model. NULL is a no-op. */
void mh__model_free(mh__model *m);

/* Statistics updates. */
void mh__stats_request_done(mh__model *m, bool ok, int fail_reason, uint64_t duration_ns,
                            const mh__job *job);

/* Appends this model's Prometheus lines for one metric family to a growing
 * text buffer; returns false on out of memory. Used by metrics.c. */
typedef struct mh__textbuf {
    char *p;
    size_t len, cap;
    bool oom;
} mh__textbuf;
void mh__textbuf_printf(mh__textbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Renders Triton's Prometheus metrics for the models into *out (malloc'd,
 * caller frees). */
mh_status mh__metrics_render(mh__model *const *models, size_t n, char **out, size_t *len);

/* Renders the statistics extension JSON ({"model_stats": [...]}) for the
 * models (malloc'd string, caller frees; NULL on out of memory). */
char *mh__stats_json(mh__model *const *models, size_t n);

/* Model metadata and config JSON (malloc'd, caller frees). */
char *mh__model_metadata_json(const mh__model *m);
char *mh__model_config_json(const mh__model *m);

/* True if name is a safe model name: 1..127 of [A-Za-z0-9_.-], not starting
 * with '.', so it never names anything outside the repository. */
bool mh__valid_model_name(const char *name);

#endif
