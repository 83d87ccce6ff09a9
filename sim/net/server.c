/* server.c - the HTTP front end of the inference server (libmicrohttpd).
 *
 * libmicrohttpd runs its own poll threads (a pool of opts.threads). A GET
 * is answered inside the access handler. An infer POST is read into a
 * size-capped buffer, parsed (protocol.c), checked against the model and
 * queued to the model's batcher (model.c); the connection is then suspended
 * so that the HTTP threads keep serving other clients, and the batcher's
 * completion resumes it to send the answer. That is what lets a few HTTP
 * threads keep hundreds of requests in flight for the dynamic batcher.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "net/mh_infer.h"
#include "net/mh_server.h"
#include "net/net_internal.h"

#define MH__SERVER_NAME "minihlt"
#define MH__SERVER_VERSION "0.1.0"
/* Request line + headers must fit in libmicrohttpd's per-connection memory
 * pool; beyond it, libmicrohttpd answers 431 by itself. */
#define MH__CONN_MEMORY (64 * 1024)
/* libmicrohttpd's own connection limit is --max-connections plus this
 * margin: the connections in the margin get a 503 JSON answer (and are
 * closed) instead of being dropped unanswered; past the margin,
 * libmicrohttpd still refuses them, so the fds stay bounded. */
#define MH__CONN_MARGIN 64u

struct mh_server {
    mh_server_opts o;
    char models_dir[4096];
    char host[256];
    struct MHD_Daemon *d;
    unsigned port;
    mh__model **models;
    size_t nmodels;
    pthread_mutex_t lock; /* inflight and its condition */
    pthread_cond_t idle;
    size_t inflight;
    size_t buffered; /* body bytes reserved by all requests (opts.max_buffered) */
    bool shut;
    int quiesced_fd; /* the listening socket after MHD_quiesce_daemon, or -1 */
    atomic_bool started;
    atomic_bool draining; /* shutdown began: new requests on open connections get 503 */
    atomic_uint connections; /* open connections (libmicrohttpd's notifications) */
    char mhd_err[256];
};

typedef enum { MH__RECEIVING, MH__WAITING, MH__ANSWERED } mh__state;

/* Per-request state (libmicrohttpd's con_cls). */
typedef struct mh__req {
    mh_server *srv;
    struct MHD_Connection *conn;
    mh__state state;
    uint64_t t0;
    char *body;
    size_t len, cap;
    int reject; /* HTTP status decided while the body was read (413, 503) */
    size_t reserved; /* bytes of s->buffered this request holds */

    mh__model *model;
    mh_infer_request *ireq;
    bool out_binary;
    float *in_copy; /* input realigned for the backend */
    float *out;
    mh__job job;
    pthread_mutex_t lock; /* done / suspended handshake with the batcher */
    bool done, suspended;
} mh__req;

/* ---- responses ------------------------------------------------------------ */

/* Queues the answer; takes ownership of body. close: "Connection: close",
 * libmicrohttpd closes the connection once it is sent. */
static enum MHD_Result mh__send_ex(struct MHD_Connection *c, unsigned status, char *body,
                                   size_t len, const char *ctype, size_t header_len, bool close)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, body ? body : (char *)"",
                                        body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    if (ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (header_len) {
        char v[32];
        snprintf(v, sizeof v, "%zu", header_len);
        MHD_add_response_header(resp, "Inference-Header-Content-Length", v);
    }
    if (close)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result r = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result mh__send(struct MHD_Connection *c, unsigned status, char *body,
                                size_t len, const char *ctype, size_t header_len)
{
    return mh__send_ex(c, status, body, len, ctype, header_len, false);
}

static enum MHD_Result mh__send_json(struct MHD_Connection *c, unsigned status, char *json)
{
    if (!json)
        return mh__send(c, MHD_HTTP_INTERNAL_SERVER_ERROR, NULL, 0, NULL, 0);
    return mh__send(c, status, json, strlen(json), "application/json", 0);
}

/* {"error": "..."} with the status; non-ASCII bytes (e.g. from a URL) are
 * replaced so that the JSON stays valid. */
static enum MHD_Result mh__send_error(struct MHD_Connection *c, unsigned status,
                                      const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static enum MHD_Result mh__send_error(struct MHD_Connection *c, unsigned status,
                                      const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
    return mh__send_json(c, status, mh_infer_error_json(msg));
}

/* ---- routing helpers ------------------------------------------------------ */

#define MH__MAX_SEGS 8

/* Splits "/v2/models/m/infer" into segments (in place in buf); returns
 * the count, or -1 for too many. Empty segments ("//") are kept so that
 * such URLs do not match a route. */
static int mh__split(const char *url, char *buf, size_t cap, char **segs)
{
    if (snprintf(buf, cap, "%s", url) >= (int)cap)
        return -1;
    char *p = buf;
    if (*p == '/')
        p++;
    int n = 0;
    while (p) {
        if (n == MH__MAX_SEGS)
            return -1;
        segs[n++] = p;
        char *s = strchr(p, '/');
        if (s)
            *s++ = 0;
        p = s;
    }
    if (n > 1 && segs[n - 1][0] == 0)
        n--; /* trailing slash */
    return n;
}

static mh__model *mh__find_model(mh_server *s, const char *name)
{
    for (size_t i = 0; i < s->nmodels; i++)
        if (!strcmp(s->models[i]->name, name))
            return s->models[i];
    return NULL;
}

/* ---- infer ---------------------------------------------------------------- */

static void mh__job_done(mh__job *job, void *arg)
{
    (void)job;
    mh__req *r = arg;
    pthread_mutex_lock(&r->lock);
    r->done = true;
    bool susp = r->suspended;
    struct MHD_Connection *c = r->conn;
    pthread_mutex_unlock(&r->lock);
    if (susp)
        MHD_resume_connection(c);
}

/* Checks a parsed request against the model: Triton's rules and messages. */
static bool mh__check_infer(mh__req *r, char *err, size_t errlen)
{
    const mh__model *m = r->model;
    const mh_infer_request *q = r->ireq;
    const char *in_name = mh_facile_input_name(m->net);
    const char *out_name = mh_facile_output_name(m->net);
    if (q->ninputs != 1) {
        mh_fail(err, errlen, MH_INVALID, "expected 1 inputs but got %zu inputs for model '%s'",
                q->ninputs, m->name);
        return false;
    }
    const mh_infer_input *t = &q->inputs[0];
    if (strcmp(t->name, in_name)) {
        mh_fail(err, errlen, MH_INVALID, "unexpected inference input '%s' for model '%s' "
                "(expected '%s')", t->name, m->name, in_name);
        return false;
    }
    if (t->dtype != MH_DT_FP32) {
        mh_fail(err, errlen, MH_INVALID,
                "inference input '%s' data-type is '%s', but model '%s' expects 'FP32'",
                t->name, mh_dtype_name(t->dtype), m->name);
        return false;
    }
    if (t->ndim != 2 || t->shape[1] != (int64_t)m->nin || t->shape[0] < 1) {
        char got[128] = "";
        size_t pos = 0;
        for (size_t d = 0; d < t->ndim && pos < sizeof got; d++)
            pos += (size_t)snprintf(got + pos, sizeof got - pos, "%s%lld", d ? "," : "",
                                    (long long)t->shape[d]);
        mh_fail(err, errlen, MH_INVALID,
                "unexpected shape for input '%s' for model '%s'. Expected [-1,%zu] with at "
                "least 1 row, got [%s]",
                t->name, m->name, m->nin, got);
        return false;
    }
    if (m->max_batch && (size_t)t->shape[0] > m->max_batch) {
        mh_fail(err, errlen, MH_INVALID,
                "inference request batch-size must be <= %zu for '%s' (got %lld rows)",
                m->max_batch, m->name, (long long)t->shape[0]);
        return false;
    }
    r->out_binary = q->binary_output;
    for (size_t i = 0; i < q->noutputs; i++) {
        if (strcmp(q->outputs[i].name, out_name)) {
            mh_fail(err, errlen, MH_INVALID,
                    "unexpected inference output '%s' for model '%s' (it has '%s')",
                    q->outputs[i].name, m->name, out_name);
            return false;
        }
        r->out_binary = q->outputs[i].binary;
    }
    return true;
}

static enum MHD_Result mh__infer_fail(mh__req *r, unsigned status, int reason, const char *msg)
{
    mh__stats_request_done(r->model, false, reason, mh__now_ns() - r->t0, NULL);
    r->state = MH__ANSWERED;
    return mh__send_error(r->conn, status, "%s", msg);
}

static enum MHD_Result mh__infer_finish(mh__req *r);

static enum MHD_Result mh__infer_start(mh__req *r)
{
    struct MHD_Connection *c = r->conn;
    char err[512] = "";
    size_t header_len = 0;
    const char *hl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 "Inference-Header-Content-Length");
    if (hl) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(hl, &end, 10);
        if (!*hl || *hl == '-' || *end || errno || v == 0 || v > r->len)
            return mh__infer_fail(r, MHD_HTTP_BAD_REQUEST, MH__FAIL_OTHER,
                                  "invalid Inference-Header-Content-Length (must be 1..body "
                                  "size)");
        header_len = (size_t)v;
    }
    const char *enc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");
    if (enc && strcmp(enc, "identity"))
        return mh__infer_fail(r, MHD_HTTP_BAD_REQUEST, MH__FAIL_OTHER,
                              "unsupported Content-Encoding (only identity)");
    mh_status st = mh_infer_request_parse(r->body, r->len, header_len, &r->ireq, err, sizeof err);
    if (st != MH_OK)
        return mh__infer_fail(r, st == MH_NOMEM ? MHD_HTTP_INTERNAL_SERVER_ERROR
                                                : MHD_HTTP_BAD_REQUEST,
                              MH__FAIL_OTHER, err);
    if (!mh__check_infer(r, err, sizeof err))
        return mh__infer_fail(r, MHD_HTTP_BAD_REQUEST, MH__FAIL_OTHER, err);
    const mh_infer_input *t = &r->ireq->inputs[0];
    size_t rows = (size_t)t->shape[0];
    const float *in = t->data;
    if ((uintptr_t)t->data % _Alignof(float)) {
        r->in_copy = malloc(t->nbytes);
        if (!r->in_copy)
            return mh__infer_fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, MH__FAIL_OTHER,
                                  "out of memory");
        memcpy(r->in_copy, t->data, t->nbytes);
        in = r->in_copy;
    }
    r->out = malloc(rows * r->model->nout * sizeof(float));
    if (!r->out)
        return mh__infer_fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, MH__FAIL_OTHER,
                              "out of memory");
    r->job.in = in;
    r->job.rows = rows;
    r->job.out = r->out;
    r->job.done = mh__job_done;
    r->job.arg = r;
    r->state = MH__WAITING;
    pthread_mutex_lock(&r->lock);
    st = mh__model_enqueue(r->model, &r->job, err, sizeof err);
    if (st == MH_OK && !r->done) {
        MHD_suspend_connection(c);
        r->suspended = true;
        pthread_mutex_unlock(&r->lock);
        return MHD_YES;
    }
    pthread_mutex_unlock(&r->lock);
    if (st != MH_OK) {
        /* Triton answers UNAVAILABLE (503) when the queue is full. */
        r->state = MH__ANSWERED;
        mh__stats_request_done(r->model, false, MH__FAIL_REJECTED, mh__now_ns() - r->t0, NULL);
        return mh__send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", err);
    }
    return mh__infer_finish(r); /* the batcher was faster than the suspend */
}

static enum MHD_Result mh__infer_finish(mh__req *r)
{
    mh__model *m = r->model;
    r->state = MH__ANSWERED;
    if (r->job.st != MH_OK)
        return mh__infer_fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, MH__FAIL_BACKEND, r->job.err);
    int64_t shape[2] = {(int64_t)r->job.rows, (int64_t)m->nout};
    mh_infer_output o = {.name = mh_facile_output_name(m->net),
                         .dtype = MH_DT_FP32,
                         .ndim = 2,
                         .shape = shape,
                         .data = r->out,
                         .nbytes = r->job.rows * m->nout * sizeof(float),
                         .binary = r->out_binary};
    char *body = NULL;
    size_t len = 0, hlen = 0;
    char err[256];
    if (mh_infer_response_encode(m->name, m->version, r->ireq->has_id ? r->ireq->id : NULL, &o,
                                 1, &body, &len, &hlen, err, sizeof err) != MH_OK)
        return mh__infer_fail(r, MHD_HTTP_INTERNAL_SERVER_ERROR, MH__FAIL_OTHER, err);
    mh__stats_request_done(m, true, 0, mh__now_ns() - r->t0, &r->job);
    if (hlen < len)
        return mh__send(r->conn, MHD_HTTP_OK, body, len, "application/octet-stream", hlen);
    return mh__send(r->conn, MHD_HTTP_OK, body, len, "application/json", 0);
}

/* ---- GET endpoints -------------------------------------------------------- */

static char *mh__server_metadata(void)
{
    json_t *o = json_pack("{s:s,s:s,s:[s,s,s,s]}", "name", MH__SERVER_NAME, "version",
                          MH__SERVER_VERSION, "extensions", "binary_tensor_data", "statistics",
                          "model_configuration", "model_repository");
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

static char *mh__repository_index(mh_server *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < s->nmodels; i++)
        json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "name", s->models[i]->name,
                                           "version", s->models[i]->version, "state", "READY"));
    char *t = a ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    return t;
}

static enum MHD_Result mh__metrics(mh_server *s, struct MHD_Connection *c)
{
    char *text = NULL;
    size_t len = 0;
    if (mh__metrics_render(s->models, s->nmodels, &text, &len) != MH_OK)
        return mh__send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    return mh__send(c, MHD_HTTP_OK, text, len, "text/plain; version=0.0.4; charset=utf-8", 0);
}

/* /v2/models/{m}[/versions/{v}][/ready|/config|/stats|/infer] */
static enum MHD_Result mh__model_route(mh__req *r, bool is_get, bool is_post, char **seg,
                                       int n)
{
    struct MHD_Connection *c = r->conn;
    mh_server *s = r->srv;
    const char *name = seg[2];
    if (!mh__valid_model_name(name))
        return mh__send_error(c, MHD_HTTP_BAD_REQUEST,
                              "invalid model name '%.128s': use 1-127 of [A-Za-z0-9_.-], not "
                              "starting with '.'",
                              name);
    int i = 3;
    const char *version = NULL;
    if (n > i && !strcmp(seg[i], "versions")) {
        if (n == i + 1)
            return mh__send_error(c, MHD_HTTP_NOT_FOUND, "Not Found");
        version = seg[i + 1];
        i += 2;
    }
    if (n > i + 1)
        return mh__send_error(c, MHD_HTTP_NOT_FOUND, "Not Found");
    const char *action = n > i ? seg[i] : "";
    bool known = !strcmp(action, "") || !strcmp(action, "ready") || !strcmp(action, "config") ||
                 !strcmp(action, "stats") || !strcmp(action, "infer");
    if (!known)
        return mh__send_error(c, MHD_HTTP_NOT_FOUND, "Not Found");
    bool want_post = !strcmp(action, "infer");
    if (want_post ? !is_post : !is_get)
        return mh__send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed");
    mh__model *m = mh__find_model(s, name);
    if (!m)
        return mh__send_error(c, MHD_HTTP_NOT_FOUND, "Request for unknown model: '%s' is not found",
                              name);
    if (version && strcmp(version, m->version))
        return mh__send_error(c, MHD_HTTP_NOT_FOUND,
                              "Request for unknown model: '%s' version %.32s is not found", name,
                              version);
    if (!strcmp(action, ""))
        return mh__send_json(c, MHD_HTTP_OK, mh__model_metadata_json(m));
    if (!strcmp(action, "ready"))
        return mh__send(c, MHD_HTTP_OK, NULL, 0, NULL, 0);
    if (!strcmp(action, "config"))
        return mh__send_json(c, MHD_HTTP_OK, mh__model_config_json(m));
    if (!strcmp(action, "stats"))
        return mh__send_json(c, MHD_HTTP_OK, mh__stats_json(&m, 1));
    r->model = m;
    return mh__infer_start(r);
}

static enum MHD_Result mh__route(mh__req *r, const char *url, const char *method)
{
    struct MHD_Connection *c = r->conn;
    mh_server *s = r->srv;
    bool is_get = !strcmp(method, MHD_HTTP_METHOD_GET);
    bool is_post = !strcmp(method, MHD_HTTP_METHOD_POST);
    char buf[1024];
    char *seg[MH__MAX_SEGS];
    int n = mh__split(url, buf, sizeof buf, seg);
    if (n < 1)
        return mh__send_error(c, MHD_HTTP_NOT_FOUND, "Not Found");
    if (n == 1 && !strcmp(seg[0], "metrics"))
        return is_get ? mh__metrics(s, c)
                      : mh__send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed");
    if (strcmp(seg[0], "v2"))
        return mh__send_error(c, MHD_HTTP_NOT_FOUND, "Not Found");
    if (n == 3 && !strcmp(seg[1], "repository") && !strcmp(seg[2], "index"))
        return is_post ? mh__send_json(c, MHD_HTTP_OK, mh__repository_index(s))
                       : mh__send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed");
    if (n >= 3 && !strcmp(seg[1], "models") && !(n == 3 && !strcmp(seg[2], "stats")))
        return mh__model_route(r, is_get, is_post, seg, n);
    if (!is_get)
        return mh__send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed");
    if (n == 1)
        return mh__send_json(c, MHD_HTTP_OK, mh__server_metadata());
    if (n == 3 && !strcmp(seg[1], "health") &&
        (!strcmp(seg[2], "live") || !strcmp(seg[2], "ready")))
        return mh__send(c, MHD_HTTP_OK, NULL, 0, NULL, 0);
    if (n == 3 && !strcmp(seg[1], "models") && !strcmp(seg[2], "stats"))
        return mh__send_json(c, MHD_HTTP_OK, mh__stats_json(s->models, s->nmodels));
    return mh__send_error(c, MHD_HTTP_NOT_FOUND, "Not Found");
}

/* ---- libmicrohttpd callbacks ---------------------------------------------- */

/* The socket context of a connection opened above --max-connections. */
static char mh__over_cap;

/* Counts open connections and marks those above --max-connections, which
 * get a 503 (mh__handler) rather than libmicrohttpd's silent close. */
static void mh__notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                                  enum MHD_ConnectionNotificationCode toe)
{
    (void)c;
    mh_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        unsigned n = atomic_fetch_add(&s->connections, 1) + 1;
        *socket_context = n > s->o.max_connections ? &mh__over_cap : NULL;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        atomic_fetch_sub(&s->connections, 1);
    }
}

static bool mh__is_over_cap(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci && ci->socket_context == &mh__over_cap;
}

/* Reserves n more bytes of the server's body budget for r; false if the
 * budget (all connections together) would be exceeded. */
static bool mh__reserve(mh_server *s, mh__req *r, size_t n)
{
    bool ok;
    pthread_mutex_lock(&s->lock);
    ok = n <= s->o.max_buffered - s->buffered;
    if (ok) {
        s->buffered += n;
        r->reserved += n;
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

static enum MHD_Result mh__handler(void *cls, struct MHD_Connection *c, const char *url,
                                   const char *method, const char *version,
                                   const char *upload_data, size_t *upload_data_size,
                                   void **con_cls)
{
    (void)version;
    mh_server *s = cls;
    mh__req *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r)
            return MHD_NO;
        r->srv = s;
        r->conn = c;
        r->t0 = mh__now_ns();
        pthread_mutex_init(&r->lock, NULL);
        pthread_mutex_lock(&s->lock);
        s->inflight++;
        pthread_mutex_unlock(&s->lock);
        *con_cls = r;
        if (atomic_load(&s->draining)) {
            /* A keep-alive client must not hold the drain open: it is told
             * to go elsewhere (the remote plugin fails over). */
            r->state = MH__ANSWERED;
            return mh__send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "server is shutting down");
        }
        if (mh__is_over_cap(c)) {
            r->state = MH__ANSWERED;
            char msg[160];
            snprintf(msg, sizeof msg,
                     "server busy: more than %u open connections (--max-connections); retry "
                     "later",
                     s->o.max_connections);
            char *j = mh_infer_error_json(msg);
            return j ? mh__send_ex(c, MHD_HTTP_SERVICE_UNAVAILABLE, j, strlen(j),
                                   "application/json", 0, true)
                     : MHD_NO;
        }
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end = NULL;
            errno = 0;
            unsigned long long v = strtoull(cl, &end, 10);
            if (*end || errno || v > s->o.max_body) {
                r->state = MH__ANSWERED;
                return mh__send_error(c, MHD_HTTP_CONTENT_TOO_LARGE,
                                      "request body of %s bytes exceeds the limit of %zu bytes "
                                      "(--max-body)",
                                      cl, s->o.max_body);
            }
            if (v && !mh__reserve(s, r, (size_t)v + 1)) {
                r->state = MH__ANSWERED;
                return mh__send_error(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                                      "server busy: request bodies in memory would exceed %zu "
                                      "bytes; retry later",
                                      s->o.max_buffered);
            }
            if (v) {
                r->body = malloc((size_t)v + 1);
                if (!r->body)
                    return MHD_NO;
                r->cap = (size_t)v + 1;
            }
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->reject)
            return MHD_YES;
        if (n > s->o.max_body - r->len) {
            r->reject = MHD_HTTP_CONTENT_TOO_LARGE;
            return MHD_YES;
        }
        if (r->len + n + 1 > r->cap) {
            size_t nc = r->cap ? r->cap : 4096;
            while (nc < r->len + n + 1)
                nc *= 2;
            if (nc > r->reserved && !mh__reserve(s, r, nc - r->reserved)) {
                r->reject = MHD_HTTP_SERVICE_UNAVAILABLE;
                return MHD_YES;
            }
            char *nb = realloc(r->body, nc);
            if (!nb)
                return MHD_NO;
            r->body = nb;
            r->cap = nc;
        }
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        return MHD_YES;
    }
    if (r->state == MH__WAITING) {
        pthread_mutex_lock(&r->lock);
        bool done = r->done;
        pthread_mutex_unlock(&r->lock);
        if (!done)
            return MHD_YES; /* cannot happen: resumed only when done */
        return mh__infer_finish(r);
    }
    if (r->state == MH__ANSWERED)
        return MHD_YES;
    if (r->reject == MHD_HTTP_SERVICE_UNAVAILABLE) {
        r->state = MH__ANSWERED;
        return mh__send_error(c, r->reject, "server busy: request bodies in memory would "
                              "exceed %zu bytes; retry later", s->o.max_buffered);
    }
    if (r->reject) {
        r->state = MH__ANSWERED;
        return mh__send_error(c, r->reject, "request body exceeds the limit of %zu bytes "
                              "(--max-body)", s->o.max_body);
    }
    return mh__route(r, url, method);
}

static void mh__completed(void *cls, struct MHD_Connection *c, void **con_cls,
                          enum MHD_RequestTerminationCode toe)
{
    (void)c;
    (void)toe;
    mh_server *s = cls;
    mh__req *r = *con_cls;
    if (!r)
        return;
    *con_cls = NULL;
    size_t reserved = r->reserved;
    mh_infer_request_free(r->ireq);
    free(r->body);
    free(r->in_copy);
    free(r->out);
    pthread_mutex_destroy(&r->lock);
    free(r);
    pthread_mutex_lock(&s->lock);
    s->buffered -= reserved;
    s->inflight--;
    if (s->inflight == 0)
        pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->lock);
}

/* libmicrohttpd's messages: kept (the first one) while starting, so that a
 * bind failure can be explained; dropped afterwards (library code does not
 * print). */
static void mh__mhd_log(void *cls, const char *fmt, va_list ap)
{
    mh_server *s = cls;
    if (atomic_load(&s->started) || s->mhd_err[0])
        return;
    vsnprintf(s->mhd_err, sizeof s->mhd_err, fmt, ap);
    size_t n = strlen(s->mhd_err);
    while (n && (s->mhd_err[n - 1] == '\n' || s->mhd_err[n - 1] == '\r'))
        s->mhd_err[--n] = 0;
}

/* ---- lifecycle ------------------------------------------------------------ */

void mh_server_opts_default(mh_server_opts *o)
{
    memset(o, 0, sizeof *o);
    o->models_dir = "data/models";
    o->host = "127.0.0.1";
    o->port = 8000;
    o->threads = 2;
    o->max_body = 64u << 20;
    o->max_connections = 256;
    o->max_queue = 1024;
}

static int mh__cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static mh_status mh__load_repository(mh_server *s, char *err, size_t errlen)
{
    struct stat sb;
    if (stat(s->models_dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return mh_fail(err, errlen, MH_NOTFOUND,
                       "model repository '%s' not found (a directory of models, each "
                       "NAME/config.yaml + NAME/<version>/weights.bin; pass --models DIR)",
                       s->models_dir);
    DIR *d = opendir(s->models_dir);
    if (!d)
        return mh_fail(err, errlen, MH_IO, "model repository '%s': %s", s->models_dir,
                       strerror(errno));
    mh_status st = MH_OK;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char cfg[8400];
        snprintf(cfg, sizeof cfg, "%s/%s/config.yaml", s->models_dir, e->d_name);
        if (stat(cfg, &sb) != 0)
            continue; /* not a model directory (as Triton: skipped) */
        if (!mh__valid_model_name(e->d_name)) {
            st = mh_fail(err, errlen, MH_CONFIG,
                         "model repository '%s': '%s' is not a valid model name", s->models_dir,
                         e->d_name);
            goto out;
        }
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 8;
            char **nn = realloc(names, nc * sizeof *nn);
            if (!nn) {
                st = mh_fail(err, errlen, MH_NOMEM, "out of memory");
                goto out;
            }
            names = nn;
            cap = nc;
        }
        if (!(names[n] = strdup(e->d_name))) {
            st = mh_fail(err, errlen, MH_NOMEM, "out of memory");
            goto out;
        }
        n++;
    }
    if (n == 0) {
        st = mh_fail(err, errlen, MH_NOTFOUND,
                     "model repository '%s' has no model (no NAME/config.yaml)", s->models_dir);
        goto out;
    }
    qsort(names, n, sizeof *names, mh__cmp_str);
    s->models = calloc(n, sizeof *s->models);
    if (!s->models) {
        st = mh_fail(err, errlen, MH_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char dir[8400];
        snprintf(dir, sizeof dir, "%s/%s", s->models_dir, names[i]);
        if ((st = mh__model_load(dir, names[i], s->o.backend, s->o.max_queue, &s->models[i], err,
                                 errlen)) != MH_OK)
            goto out;
        s->nmodels++;
    }
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return st;
}

static mh_status mh__listen(mh_server *s, char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char port[16];
    snprintf(port, sizeof port, "%u", s->o.port);
    int gai = getaddrinfo(s->host, port, &hints, &ai);
    if (gai != 0 || !ai)
        return mh_fail(err, errlen, MH_NET, "cannot resolve host '%s': %s", s->host,
                       gai_strerror(gai));
    /* poll, not epoll: libmicrohttpd 0.9.75's edge-triggered epoll misses a client's close
     * when it arrives with the last bytes of a partial request (headers or body), and the
     * connection then holds its fd until the 60 s timeout - an easy fd exhaustion
     * (tests/e2e/load.sh, "abandoned" requests). */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ITC |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    unsigned limit = s->o.max_connections > UINT_MAX - MH__CONN_MARGIN
                         ? UINT_MAX
                         : s->o.max_connections + MH__CONN_MARGIN;
    struct MHD_OptionItem ops[] = {
        {MHD_OPTION_SOCK_ADDR, 0, ai->ai_addr},
        {MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)mh__completed, s},
        {MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)mh__notify_connection, s},
        {MHD_OPTION_CONNECTION_LIMIT, (intptr_t)limit, NULL},
        {MHD_OPTION_CONNECTION_MEMORY_LIMIT, MH__CONN_MEMORY, NULL},
        {MHD_OPTION_CONNECTION_TIMEOUT, 60, NULL},
        {MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mh__mhd_log, s},
        {s->o.threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
         (intptr_t)s->o.threads, NULL},
        {MHD_OPTION_END, 0, NULL},
    };
    s->d = MHD_start_daemon(flags, 0, NULL, NULL, mh__handler, s, MHD_OPTION_ARRAY, ops,
                            MHD_OPTION_END);
    freeaddrinfo(ai);
    if (!s->d)
        return mh_fail(err, errlen, MH_NET, "cannot listen on %s:%u: %s", s->host, s->o.port,
                       s->mhd_err[0] ? s->mhd_err : "libmicrohttpd could not start");
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : s->o.port;
    atomic_store(&s->started, true);
    return MH_OK;
}

mh_status mh_server_create(const mh_server_opts *o, mh_server **out, char *err, size_t errlen)
{
    *out = NULL;
    mh_server_opts def;
    mh_server_opts_default(&def);
    mh_server *s = calloc(1, sizeof *s);
    if (!s)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    s->o = o ? *o : def;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->idle, NULL);
    s->quiesced_fd = -1;
    mh_status st = MH_OK;
    if (!s->o.models_dir)
        s->o.models_dir = def.models_dir;
    if (!s->o.host)
        s->o.host = def.host;
    if (s->o.threads == 0)
        s->o.threads = 1;
    if (s->o.max_buffered == 0)
        s->o.max_buffered = s->o.max_body > SIZE_MAX / 4 ? SIZE_MAX : 4 * s->o.max_body;
    if (s->o.max_queue == 0 || s->o.max_body == 0 || s->o.max_connections == 0) {
        st = mh_fail(err, errlen, MH_INVALID, "max_queue, max_body and max_connections must be "
                     "positive");
        goto fail;
    }
    if (s->o.backend && !mh__net_backend_find(s->o.backend)) {
        st = mh_fail(err, errlen, MH_UNSUPPORTED, "backend '%s' is not built in (available: cpu, opencl)",
                     s->o.backend);
        goto fail;
    }
    if (snprintf(s->models_dir, sizeof s->models_dir, "%s", s->o.models_dir) >=
            (int)sizeof s->models_dir ||
        snprintf(s->host, sizeof s->host, "%s", s->o.host) >= (int)sizeof s->host) {
        st = mh_fail(err, errlen, MH_INVALID, "models directory or host name too long");
        goto fail;
    }
    s->o.models_dir = s->models_dir;
    s->o.host = s->host;
    if ((st = mh__load_repository(s, err, errlen)) != MH_OK)
        goto fail;
    if ((st = mh__listen(s, err, errlen)) != MH_OK)
        goto fail;
    *out = s;
    return MH_OK;
fail:
    mh_server_free(s);
    return st;
}

unsigned mh_server_port(const mh_server *s)
{
    return s->port;
}

size_t mh_server_num_models(const mh_server *s)
{
    return s->nmodels;
}

const char *mh_server_model_name(const mh_server *s, size_t i)
{
    return i < s->nmodels ? s->models[i]->name : NULL;
}

mh_status mh_server_model_counts_get(mh_server *s, size_t i, mh_server_model_counts *out)
{
    if (i >= s->nmodels)
        return MH_INVALID;
    mh__stats *st = &s->models[i]->stats;
    pthread_mutex_lock(&st->lock);
    out->requests_ok = st->success.count;
    out->requests_failed = st->fail.count;
    out->rows = st->inference_count;
    out->executions = st->execution_count;
    pthread_mutex_unlock(&st->lock);
    return MH_OK;
}

mh_status mh_server_shutdown(mh_server *s, unsigned timeout_ms)
{
    if (s->shut)
        return MH_OK;
    s->shut = true;
    mh_status st = MH_OK;
    atomic_store(&s->draining, true);
    if (s->d) {
        /* Stop accepting; connections already open go on. The listening
         * socket is ours now, but the pool threads may still hold it in
         * their poll sets: it is closed after MHD_stop_daemon. */
        s->quiesced_fd = MHD_quiesce_daemon(s->d);
        struct timespec dl;
        clock_gettime(CLOCK_REALTIME, &dl);
        dl.tv_sec += timeout_ms / 1000;
        dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
            dl.tv_sec++;
            dl.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&s->lock);
        while (s->inflight > 0)
            if (pthread_cond_timedwait(&s->idle, &s->lock, &dl) != 0)
                break;
        if (s->inflight > 0)
            st = MH_TIMEOUT;
        pthread_mutex_unlock(&s->lock);
    }
    /* Run what is queued and resume those connections before libmicrohttpd
     * stops: a suspended connection must not be closed under a queued job. */
    for (size_t i = 0; i < s->nmodels; i++)
        mh__model_stop(s->models[i]);
    if (s->d) {
        MHD_stop_daemon(s->d);
        s->d = NULL;
    }
    if (s->quiesced_fd >= 0) {
        close(s->quiesced_fd);
        s->quiesced_fd = -1;
    }
    return st;
}

void mh_server_free(mh_server *s)
{
    if (!s)
        return;
    mh_server_shutdown(s, 0);
    for (size_t i = 0; i < s->nmodels; i++)
        mh__model_free(s->models[i]);
    free(s->models);
    pthread_cond_destroy(&s->idle);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
