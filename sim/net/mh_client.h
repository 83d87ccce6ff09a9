/* mh_client.h - asynchronous inference client (KServe v2 / Open Inference
 * Protocol over HTTP/1.1, with Triton's binary tensor data extension).
 *
 * Every mh_client of a process shares ONE I/O thread running one libcurl
 * multi handle (started by the first client, stopped with the last). Worker
 * threads hand requests in through a locked queue (mh_client_infer() returns
 * at once, it never waits on the network); the I/O thread sends them over
 * kept-alive connections, applies the per-attempt timeout, retries and fails
 * over to the next server, adds the emulated round trip with a timer, and
 * calls the completion callback. A worker thread never sleeps or polls.
 *
 * The wire format is Triton's (docs/protocol/extension_binary_data.md):
 *
 *   POST {server}/v2/models/{model}[/versions/{version}]/infer
 *   Inference-Header-Content-Length: <bytes of the JSON header>
 *   {"id":"17","inputs":[{"name":"input__0","shape":[n,46],"datatype":"FP32",
 *     "parameters":{"binary_data_size":n*46*4}}],
 *    "outputs":[{"name":"output__0","parameters":{"binary_data":true}}]}
 *   <n*46 little-endian float32>
 *
 * The response is either JSON only (outputs with "data") or a JSON header
 * followed by the binary outputs, its length in the response's
 * Inference-Header-Content-Length header; both are decoded. An HTTP error
 * carries {"error": "..."}; its text ends up in the result message.
 *
 * Which failures are retried: connection errors, timeouts, HTTP 5xx (503 =
 * overloaded) and responses that do not decode (garbage). HTTP 4xx means the
 * request itself is wrong (unknown model, bad shape) and fails at once.
 * Every retry goes to the next server of the list (a failover when the list
 * has more than one server), and the client then starts new requests on that
 * server too ("sticky" failover: a dead server costs one timeout, not one
 * per event) until recheck_ms later, when it tries servers[0] again.
 */
#ifndef MH_CLIENT_H
#define MH_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mh_status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mh_client mh_client;

/* Configuration, copied by mh_client_create() (the caller keeps ownership
 * of everything it points to). Zero/NULL fields take the defaults given. */
typedef struct mh_client_config {
    const char *const *servers; /* base URLs, e.g. "http://127.0.0.1:8000"; >= 1 */
    size_t n_servers;
    const char *model;          /* required; [A-Za-z0-9_.-]+ */
    const char *model_version;  /* NULL or "": the server's default version */
    const char *input_name;     /* default "input__0" */
    const char *output_name;    /* default "output__0" */
    unsigned timeout_ms;        /* per attempt, whole transfer; default 5000 */
    unsigned connect_timeout_ms; /* default min(timeout_ms, 2000) */
    unsigned retries;           /* extra attempts after the first; 0 = none */
    unsigned emulate_rtt_ms;    /* fixed delay added before each completion */
    bool json_output;           /* ask for outputs as JSON "data" (default binary) */
    size_t max_response_bytes;  /* cap on a response body; default 64 MiB */
    unsigned recheck_ms;        /* after a failover, new requests go back to
                                 * servers[0] this long after leaving it;
                                 * default 10000 */
} mh_client_config;

/* What a completion reports. Pointers are valid only during the callback. */
typedef struct mh_client_result {
    mh_status status;       /* MH_OK, or MH_NET / MH_TIMEOUT / MH_FORMAT /
                             * MH_OVERLOAD / MH_INVALID / MH_NOTFOUND ... of
                             * the last attempt */
    const char *msg;        /* "" on success, else one line naming the server */
    long http_code;         /* of the last attempt, 0 if no HTTP answer */
    unsigned attempts;      /* 1 + retries made */
    unsigned retries;       /* attempts after the first */
    unsigned failovers;     /* retries that went to a different server */
    size_t server;          /* index of the server of the last attempt */
    size_t n_rows;          /* rows written to the caller's out buffer */
    double latency_ms;      /* from mh_client_infer() to completion */
} mh_client_result;

/* Called once per request, from the client's I/O thread (or from
 * mh_client_free() for requests still pending at shutdown, with MH_NET).
 * It must not block for long: every request of the process shares the
 * thread. It may call mh_client_infer() on the same client. */
typedef void (*mh_client_done_fn)(void *user, const mh_client_result *r);

/* Running totals of a client (all requests since create). */
typedef struct mh_client_stats {
    uint64_t requests;    /* mh_client_infer() calls accepted */
    uint64_t succeeded;
    uint64_t failed;      /* completions with status != MH_OK */
    uint64_t attempts;
    uint64_t retries;
    uint64_t failovers;
    uint64_t timeouts;    /* attempts that timed out */
    uint64_t conn_errors; /* attempts without an HTTP answer (refused, reset) */
    uint64_t http_errors; /* attempts answered with HTTP status != 200 */
    uint64_t bad_responses; /* 200 answers that did not decode */
    uint64_t connects;    /* new TCP connections (keep-alive reuse = fewer) */
    uint64_t bytes_sent;
    uint64_t bytes_received;
} mh_client_stats;

/* Validates cfg (at least one server, each an http:// or https:// URL; a
 * valid model name) and attaches to the process's I/O thread (starting it
 * if this is the first client). On success *out is a new
 * client owned by the caller (mh_client_free). Errors name the bad field. */
mh_status mh_client_create(const mh_client_config *cfg, mh_client **out, char *err,
                           size_t errlen);

/* Detaches the client: its requests still in flight or queued are
 * completed with MH_NET "client shut down", its delayed ones
 * (emulate_rtt_ms) with their result, on the I/O thread; every callback has
 * run when this returns. Other clients are not disturbed; the last client
 * stops the I/O thread.
 * NULL is a no-op. Must not be called from a completion callback. */
void mh_client_free(mh_client *c);

/* Queues one inference of n_rows x n_cols FP32 inputs (row-major) and
 * returns at once. in must stay valid and unchanged, and out (room for
 * out_cap floats) valid, until the callback ran: the client reads in while
 * sending (no copy) and writes the n_rows x (outputs per row) results into
 * out before calling done(user, result). Exactly one callback per MH_OK
 * return; on any other return (MH_INVALID for bad sizes, MH_NOMEM, MH_NET
 * after shutdown) no callback runs. Thread-safe. */
mh_status mh_client_infer(mh_client *c, const float *in, size_t n_rows, size_t n_cols, float *out,
                          size_t out_cap, mh_client_done_fn done, void *user, char *err,
                          size_t errlen);

/* Copies the running totals (thread-safe). */
void mh_client_get_stats(mh_client *c, mh_client_stats *st);

/* The URL of server i (owned by the client), NULL if out of range. */
const char *mh_client_server(const mh_client *c, size_t i);

#ifdef __cplusplus
}
#endif
#endif
