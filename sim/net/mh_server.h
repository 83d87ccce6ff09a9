/* mh_server.h - the inference server behind `minihlt serve`: a model
 * repository served over KServe v2 / Open Inference Protocol HTTP/1.1 with
 * Triton's binary tensor data, statistics and model configuration
 * extensions, dynamic batching and Prometheus metrics (sim/net/README.md).
 *
 * The library part never prints and never installs signal handlers: the
 * caller (sim/cli/cmd_serve.c) waits for its signal and calls
 * mh_server_shutdown().
 */
#ifndef MH_SERVER_H
#define MH_SERVER_H

#include <stddef.h>

#include "core/mh_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mh_server_opts {
    const char *models_dir;   /* model repository; default "data/models" */
    const char *host;         /* address to bind; default "127.0.0.1" */
    unsigned port;            /* default 8000; 0 = any free port (mh_server_port) */
    unsigned threads;         /* HTTP threads (libmicrohttpd pool); default 2 */
    size_t max_body;          /* request body cap in bytes (413 beyond); default 64 MiB */
    unsigned max_connections; /* open connections; default 256 */
    size_t max_queue;         /* pending requests per model (503 beyond); default 1024 */
    const char *backend;      /* NULL: each model's instance_group kind; else "cpu", ... */
    size_t max_buffered;      /* request bodies held in memory at once, all connections
                                 together (503 beyond); 0 = 4 * max_body */
} mh_server_opts;

/* Fills the defaults above. */
void mh_server_opts_default(mh_server_opts *o);

typedef struct mh_server mh_server;

/* Loads every model of the repository (each subdirectory with a
 * config.yaml; see sim/ml/README.md) and starts listening. Fails, naming the
 * path or model, if the repository is missing or empty, a model does not
 * load, or the address cannot be bound. On success *out is owned by the
 * caller (mh_server_free). */
mh_status mh_server_create(const mh_server_opts *o, mh_server **out, char *err, size_t errlen);

/* The bound port (useful with port 0). */
unsigned mh_server_port(const mh_server *s);

/* Number of loaded models and their names (owned by the server). */
size_t mh_server_num_models(const mh_server *s);
const char *mh_server_model_name(const mh_server *s, size_t i);

/* Counters of model i since start (for a summary at exit). */
typedef struct mh_server_model_counts {
    unsigned long long requests_ok, requests_failed; /* answered 200 / with an error */
    unsigned long long rows;                         /* rows inferred */
    unsigned long long executions;                   /* backend executions (batches) */
} mh_server_model_counts;

/* MH_INVALID if i is out of range. */
mh_status mh_server_model_counts_get(mh_server *s, size_t i, mh_server_model_counts *out);

/* Graceful stop: stops accepting connections, lets requests in flight
 * finish (waiting at most timeout_ms for their bodies to arrive), runs the
 * queued inferences and answers them, then closes everything. Returns
 * MH_TIMEOUT if requests were still in flight at the deadline (they are
 * answered or dropped by the close). Idempotent. */
mh_status mh_server_shutdown(mh_server *s, unsigned timeout_ms);

/* Shuts down (if not done) and frees; NULL is a no-op. */
void mh_server_free(mh_server *s);

#ifdef __cplusplus
}
#endif
#endif
