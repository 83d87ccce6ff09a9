/* client.c - the asynchronous inference client: one I/O thread per client
 * running a libcurl multi handle (see mh_client.h for the contract).
 *
 * Threads: workers only touch the submission queue (under c->lock) and wake
 * the I/O thread with curl_multi_wakeup(). Everything else - the multi
 * handle, the easy handles, the in-flight and delayed lists, the sticky
 * server index - belongs to the I/O thread alone. Totals are atomics. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/client_internal.h"
#include "net/mh_client.h"

#define DEFAULT_TIMEOUT_MS 5000u
#define DEFAULT_CONNECT_TIMEOUT_MS 2000u
#define DEFAULT_MAX_RESPONSE (64u << 20)
#define IDLE_POLL_MS 1000

typedef struct req req;
struct req {
    req *next; /* queue, in-flight or delayed list */
    req *prev; /* in-flight list only */
    mh_client *c;
    const float *in;
    size_t n_rows, n_cols;
    float *out;
    size_t out_cap;
    mh_client_done_fn done;
    void *user;

    char *header; /* JSON header of the body */
    size_t header_len, payload_len, send_pos;
    struct curl_slist *hdrs;
    CURL *easy;
    char *body; /* response body of the current attempt */
    size_t body_len, body_cap;
    bool body_overflow;

    size_t server;
    double t_start, due_ms;
    mh_client_result res;
    char msg[320];
};

typedef struct stats_atomic {
    _Atomic uint64_t requests, succeeded, failed, attempts, retries, failovers, timeouts,
        conn_errors, http_errors, bad_responses, connects, bytes_sent, bytes_received;
} stats_atomic;

struct mh_client {
    char **servers;   /* base URLs */
    char **infer_url; /* per server */
    size_t n_servers;
    char *input_name, *output_name;
    unsigned timeout_ms, connect_timeout_ms, retries, rtt_ms;
    bool json_output;
    size_t max_response;

    CURLM *multi;
    pthread_t thread;
    bool thread_started;

    pthread_mutex_t lock; /* guards queue_head/tail, stop, next_id */
    req *queue_head, *queue_tail;
    bool stop;
    uint64_t next_id;

    /* I/O thread only */
    req *active;
    req *delayed_head, *delayed_tail;
    size_t current;
    CURL **pool;
    size_t pool_n, pool_cap;

    stats_atomic st;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init_once(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static void bump(_Atomic uint64_t *a, uint64_t d)
{
    atomic_fetch_add_explicit(a, d, memory_order_relaxed);
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static bool valid_name(const char *s)
{
    if (!s || !*s || strlen(s) > 128 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (const char *p = s; *p; p++) {
        char ch = *p;
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.'))
            return false;
    }
    return true;
}

static bool valid_version(const char *s)
{
    if (!s || !*s || strlen(s) > 18)
        return false;
    for (const char *p = s; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

/* ---- per-transfer callbacks (I/O thread) ---- */

/* Streams the body: the JSON header, then the caller's floats in place. */
static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
    req *r = ud;
    size_t cap = size * nitems, n = 0;
    size_t total = r->header_len + r->payload_len;
    while (n < cap && r->send_pos < total) {
        size_t pos = r->send_pos, chunk;
        const char *src;
        if (pos < r->header_len) {
            src = r->header + pos;
            chunk = r->header_len - pos;
        } else {
            src = (const char *)r->in + (pos - r->header_len);
            chunk = total - pos;
        }
        if (chunk > cap - n)
            chunk = cap - n;
        memcpy(buf + n, src, chunk);
        n += chunk;
        r->send_pos += chunk;
    }
    return n;
}

/* libcurl rewinds when it resends on a new connection (a kept-alive
 * connection the server had closed). */
static int seek_cb(void *ud, curl_off_t offset, int origin)
{
    req *r = ud;
    if (origin != SEEK_SET || offset < 0 || (size_t)offset > r->header_len + r->payload_len)
        return CURL_SEEKFUNC_FAIL;
    r->send_pos = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
    req *r = ud;
    size_t n = size * nmemb;
    size_t max = r->c->max_response;
    if (n > max - r->body_len) {
        r->body_overflow = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (r->body_len + n > r->body_cap) {
        size_t cap = r->body_cap ? r->body_cap : 4096;
        while (cap < r->body_len + n)
            cap = cap > max / 2 ? max : cap * 2;
        char *nb = realloc(r->body, cap);
        if (!nb)
            return 0;
        r->body = nb;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    return n;
}

/* ---- request life cycle (I/O thread) ---- */

static void list_remove_active(mh_client *c, req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        c->active = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->next = r->prev = NULL;
}

static void release_easy(mh_client *c, req *r)
{
    if (!r->easy)
        return;
    curl_multi_remove_handle(c->multi, r->easy);
    if (c->pool_n < c->pool_cap) {
        curl_easy_reset(r->easy);
        c->pool[c->pool_n++] = r->easy;
    } else {
        curl_easy_cleanup(r->easy);
    }
    r->easy = NULL;
}

static void free_req(req *r)
{
    if (!r)
        return;
    curl_slist_free_all(r->hdrs);
    free(r->header);
    free(r->body);
    free(r);
}

/* Runs the callback now (the caller decided there is no delay left). */
static void complete_now(mh_client *c, req *r)
{
    r->res.latency_ms = now_ms() - r->t_start;
    r->res.msg = r->msg;
    bump(r->res.status == MH_OK ? &c->st.succeeded : &c->st.failed, 1);
    r->done(r->user, &r->res);
    free_req(r);
}

/* Completes a request, after the emulated round trip if one is set: the
 * delay is a timer of this thread, no thread sleeps. */
static void complete(mh_client *c, req *r, bool shutting_down)
{
    release_easy(c, r);
    if (c->rtt_ms == 0 || shutting_down) {
        complete_now(c, r);
        return;
    }
    r->due_ms = now_ms() + (double)c->rtt_ms;
    r->next = NULL;
    /* A fixed delay keeps the list sorted by appending. */
    if (c->delayed_tail)
        c->delayed_tail->next = r;
    else
        c->delayed_head = r;
    c->delayed_tail = r;
}

static mh_status start_attempt(mh_client *c, req *r)
{
    CURL *e = r->easy;
    if (!e) {
        e = c->pool_n ? c->pool[--c->pool_n] : curl_easy_init();
        if (!e)
            return mh_fail(r->msg, sizeof r->msg, MH_NOMEM, "curl_easy_init failed");
        r->easy = e;
    }
    r->send_pos = 0;
    r->body_len = 0;
    r->body_overflow = false;
    r->res.attempts++;
    bump(&c->st.attempts, 1);
    curl_easy_setopt(e, CURLOPT_URL, c->infer_url[r->server]);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                     (curl_off_t)(r->header_len + r->payload_len));
    curl_easy_setopt(e, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(e, CURLOPT_READDATA, r);
    curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, seek_cb);
    curl_easy_setopt(e, CURLOPT_SEEKDATA, r);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLMcode mc = curl_multi_add_handle(c->multi, e);
    if (mc != CURLM_OK)
        return mh_fail(r->msg, sizeof r->msg, MH_NET, "%s: curl_multi_add_handle: %s",
                       c->servers[r->server], curl_multi_strerror(mc));
    r->prev = NULL;
    r->next = c->active;
    if (c->active)
        c->active->prev = r;
    c->active = r;
    return MH_OK;
}

/* Starts a queued request (or fails it at once if it cannot start). */
static void begin(mh_client *c, req *r)
{
    r->server = c->current;
    r->res.server = r->server;
    mh_status st = start_attempt(c, r);
    if (st != MH_OK) {
        r->res.status = st;
        complete(c, r, false);
    }
}

/* Classifies a finished attempt: MH_OK (result decoded into r->out), or a
 * failure status with r->msg set; *retryable says whether another attempt
 * may succeed. */
static mh_status judge(mh_client *c, req *r, CURLcode cc, bool *retryable)
{
    const char *srv = c->servers[r->server];
    long code = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &code);
    r->res.http_code = code;
    long nconn = 0;
    if (curl_easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK && nconn > 0)
        bump(&c->st.connects, (uint64_t)nconn);
    bump(&c->st.bytes_sent, r->send_pos);
    bump(&c->st.bytes_received, r->body_len);
    *retryable = true;

    if (cc != CURLE_OK) {
        if (r->body_overflow) {
            bump(&c->st.bad_responses, 1);
            return mh_fail(r->msg, sizeof r->msg, MH_FORMAT,
                           "%s: response larger than %zu bytes", srv, c->max_response);
        }
        if (cc == CURLE_OPERATION_TIMEDOUT) {
            bump(&c->st.timeouts, 1);
            return mh_fail(r->msg, sizeof r->msg, MH_TIMEOUT, "%s: no answer within %u ms", srv,
                           c->timeout_ms);
        }
        bump(&c->st.conn_errors, 1);
        return mh_fail(r->msg, sizeof r->msg, MH_NET, "%s: %s", srv, curl_easy_strerror(cc));
    }
    if (code != 200) {
        char text[200];
        mh__client_error_text(r->body, r->body_len, text, sizeof text);
        bump(&c->st.http_errors, 1);
        mh_status st = MH_NET;
        if (code >= 400 && code < 500) {
            *retryable = false;
            st = code == 404 ? MH_NOTFOUND : MH_INVALID;
        } else if (code == 503) {
            st = MH_OVERLOAD;
        }
        return mh_fail(r->msg, sizeof r->msg, st, "%s: HTTP %ld: %s", srv, code, text);
    }
    long long json_len = -1;
    struct curl_header *h = NULL;
    if (curl_easy_header(r->easy, "Inference-Header-Content-Length", 0, CURLH_HEADER, -1, &h) ==
        CURLHE_OK) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(h->value, &end, 10);
        if (errno || end == h->value || *end != '\0' || v < 0) {
            bump(&c->st.bad_responses, 1);
            return mh_fail(r->msg, sizeof r->msg, MH_FORMAT,
                           "%s: bad Inference-Header-Content-Length '%.40s'", srv, h->value);
        }
        json_len = v;
    }
    char derr[240];
    size_t per_row = 0;
    mh_status st = mh__client_decode_response(r->body, r->body_len, json_len, c->output_name,
                                              r->n_rows, r->out, r->out_cap, &per_row, derr,
                                              sizeof derr);
    if (st != MH_OK) {
        bump(&c->st.bad_responses, 1);
        return mh_fail(r->msg, sizeof r->msg, st, "%s: %s", srv, derr);
    }
    r->res.n_rows = r->n_rows;
    r->msg[0] = '\0';
    return MH_OK;
}

static void finish_attempt(mh_client *c, req *r, CURLcode cc)
{
    list_remove_active(c, r);
    curl_multi_remove_handle(c->multi, r->easy);
    bool retryable;
    mh_status st = judge(c, r, cc, &retryable);
    r->res.status = st;
    if (st == MH_OK || !retryable || r->res.retries >= c->retries) {
        complete(c, r, false);
        return;
    }
    /* Retry on the next server; move the sticky start point off the failed
     * one so that new requests stop paying for it. */
    size_t next = (r->server + 1) % c->n_servers;
    if (c->current == r->server)
        c->current = next;
    r->res.retries++;
    bump(&c->st.retries, 1);
    if (next != r->server) {
        r->res.failovers++;
        bump(&c->st.failovers, 1);
    }
    r->server = next;
    r->res.server = next;
    st = start_attempt(c, r);
    if (st != MH_OK) {
        r->res.status = st;
        complete(c, r, false);
    }
}

static void fail_shutdown(mh_client *c, req *r)
{
    r->res.status = MH_NET;
    mh_fail(r->msg, sizeof r->msg, MH_NET, "client shut down before the request completed");
    complete(c, r, true);
}

static void *io_main(void *arg)
{
    mh_client *c = arg;
    for (;;) {
        pthread_mutex_lock(&c->lock);
        req *q = c->queue_head;
        c->queue_head = c->queue_tail = NULL;
        bool stop = c->stop;
        pthread_mutex_unlock(&c->lock);

        while (q) {
            req *r = q;
            q = q->next;
            r->next = NULL;
            if (stop)
                fail_shutdown(c, r);
            else
                begin(c, r);
        }
        if (stop)
            break;

        int running = 0;
        curl_multi_perform(c->multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(c->multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            req *r = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
            if (r)
                finish_attempt(c, r, m->data.result);
        }

        double t = now_ms();
        while (c->delayed_head && c->delayed_head->due_ms <= t) {
            req *r = c->delayed_head;
            c->delayed_head = r->next;
            if (!c->delayed_head)
                c->delayed_tail = NULL;
            complete_now(c, r);
        }

        long wait = -1;
        curl_multi_timeout(c->multi, &wait);
        if (wait < 0 || wait > IDLE_POLL_MS)
            wait = IDLE_POLL_MS;
        if (c->delayed_head) {
            double d = c->delayed_head->due_ms - now_ms();
            long dl = d <= 0 ? 0 : (long)d + 1;
            if (dl < wait)
                wait = dl;
        }
        if (wait > 0)
            curl_multi_poll(c->multi, NULL, 0, (int)wait, NULL);
    }

    /* Shutdown: in-flight transfers fail, delayed ones already have their
     * result and complete with it. */
    while (c->active) {
        req *r = c->active;
        list_remove_active(c, r);
        fail_shutdown(c, r);
    }
    while (c->delayed_head) {
        req *r = c->delayed_head;
        c->delayed_head = r->next;
        complete_now(c, r);
    }
    c->delayed_tail = NULL;
    return NULL;
}

/* ---- public API ---- */

void mh_client_free(mh_client *c)
{
    if (!c)
        return;
    if (c->thread_started) {
        pthread_mutex_lock(&c->lock);
        c->stop = true;
        pthread_mutex_unlock(&c->lock);
        curl_multi_wakeup(c->multi);
        pthread_join(c->thread, NULL);
    }
    for (size_t i = 0; i < c->pool_n; i++)
        curl_easy_cleanup(c->pool[i]);
    free(c->pool);
    if (c->multi)
        curl_multi_cleanup(c->multi);
    for (size_t i = 0; i < c->n_servers; i++) {
        if (c->servers)
            free(c->servers[i]);
        if (c->infer_url)
            free(c->infer_url[i]);
    }
    free(c->servers);
    free(c->infer_url);
    free(c->input_name);
    free(c->output_name);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

mh_status mh_client_create(const mh_client_config *cfg, mh_client **out, char *err,
                           size_t errlen)
{
    mh_status st = MH_OK;
    mh_client *c = NULL;
    *out = NULL;
    const uint32_t one = 1;
    if (*(const unsigned char *)&one != 1)
        return mh_fail(err, errlen, MH_UNSUPPORTED,
                       "the binary tensor format is little-endian; this host is not");
    if (!cfg || !cfg->servers || cfg->n_servers == 0)
        return mh_fail(err, errlen, MH_INVALID, "servers: at least one URL is needed");
    if (!valid_name(cfg->model))
        return mh_fail(err, errlen, MH_INVALID, "model: '%s' is not a model name ([A-Za-z0-9_.-])",
                       cfg->model ? cfg->model : "");
    const char *ver = cfg->model_version && *cfg->model_version ? cfg->model_version : NULL;
    if (ver && !valid_version(ver))
        return mh_fail(err, errlen, MH_INVALID, "model_version: '%s' is not a number", ver);
    const char *in_name = cfg->input_name ? cfg->input_name : "input__0";
    const char *out_name = cfg->output_name ? cfg->output_name : "output__0";
    if (!valid_name(in_name) || !valid_name(out_name))
        return mh_fail(err, errlen, MH_INVALID, "bad tensor name '%s' / '%s'", in_name, out_name);
    for (size_t i = 0; i < cfg->n_servers; i++) {
        const char *u = cfg->servers[i];
        if (!u || (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) ||
            strlen(u) > 1024)
            return mh_fail(err, errlen, MH_INVALID,
                           "servers[%zu]: '%s' is not an http:// or https:// URL", i,
                           u ? u : "(null)");
    }
    pthread_once(&curl_once, curl_init_once);
    if (curl_init_rc != CURLE_OK)
        return mh_fail(err, errlen, MH_NET, "curl_global_init: %s",
                       curl_easy_strerror(curl_init_rc));

    c = calloc(1, sizeof *c);
    if (!c)
        return mh_fail(err, errlen, MH_NOMEM, "client");
    pthread_mutex_init(&c->lock, NULL);
    c->n_servers = cfg->n_servers;
    c->servers = calloc(c->n_servers, sizeof *c->servers);
    c->infer_url = calloc(c->n_servers, sizeof *c->infer_url);
    c->input_name = dup_str(in_name);
    c->output_name = dup_str(out_name);
    c->pool_cap = 64;
    c->pool = calloc(c->pool_cap, sizeof *c->pool);
    if (!c->servers || !c->infer_url || !c->input_name || !c->output_name || !c->pool) {
        st = mh_fail(err, errlen, MH_NOMEM, "client");
        goto fail;
    }
    for (size_t i = 0; i < c->n_servers; i++) {
        const char *u = cfg->servers[i];
        size_t n = strlen(u);
        while (n > 0 && u[n - 1] == '/')
            n--;
        size_t cap = n + strlen(cfg->model) + (ver ? strlen(ver) : 0) + 40;
        c->servers[i] = malloc(n + 1);
        c->infer_url[i] = malloc(cap);
        if (!c->servers[i] || !c->infer_url[i]) {
            st = mh_fail(err, errlen, MH_NOMEM, "client");
            goto fail;
        }
        memcpy(c->servers[i], u, n);
        c->servers[i][n] = '\0';
        snprintf(c->infer_url[i], cap, "%s/v2/models/%s%s%s/infer", c->servers[i], cfg->model,
                 ver ? "/versions/" : "", ver ? ver : "");
    }
    c->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
    c->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms
                            : c->timeout_ms < DEFAULT_CONNECT_TIMEOUT_MS
                                ? c->timeout_ms
                                : DEFAULT_CONNECT_TIMEOUT_MS;
    c->retries = cfg->retries;
    c->rtt_ms = cfg->emulate_rtt_ms;
    c->json_output = cfg->json_output;
    c->max_response = cfg->max_response_bytes ? cfg->max_response_bytes : DEFAULT_MAX_RESPONSE;

    c->multi = curl_multi_init();
    if (!c->multi) {
        st = mh_fail(err, errlen, MH_NET, "curl_multi_init failed");
        goto fail;
    }
    /* Keep one kept-alive connection per request in flight per server. */
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 64L);
    int rc = pthread_create(&c->thread, NULL, io_main, c);
    if (rc != 0) {
        st = mh_fail(err, errlen, MH_INTERNAL, "cannot start the client I/O thread: %s",
                     strerror(rc));
        goto fail;
    }
    c->thread_started = true;
    *out = c;
    return MH_OK;
fail:
    mh_client_free(c);
    return st;
}

mh_status mh_client_infer(mh_client *c, const float *in, size_t n_rows, size_t n_cols, float *out,
                          size_t out_cap, mh_client_done_fn done, void *user, char *err,
                          size_t errlen)
{
    if (!c || !in || !out || !done)
        return mh_fail(err, errlen, MH_INVALID, "infer: NULL argument");
    if (n_rows == 0 || n_cols == 0)
        return mh_fail(err, errlen, MH_INVALID, "infer: empty tensor (%zu x %zu)", n_rows, n_cols);
    if (n_cols > SIZE_MAX / sizeof(float) / n_rows || out_cap < n_rows)
        return mh_fail(err, errlen, MH_INVALID,
                       "infer: %zu x %zu inputs, room for %zu outputs", n_rows, n_cols, out_cap);
    req *r = calloc(1, sizeof *r);
    if (!r)
        return mh_fail(err, errlen, MH_NOMEM, "infer request");
    r->c = c;
    r->in = in;
    r->n_rows = n_rows;
    r->n_cols = n_cols;
    r->out = out;
    r->out_cap = out_cap;
    r->done = done;
    r->user = user;
    r->payload_len = n_rows * n_cols * sizeof(float);
    r->t_start = now_ms();
    r->res.msg = r->msg;

    pthread_mutex_lock(&c->lock);
    uint64_t id = ++c->next_id;
    pthread_mutex_unlock(&c->lock);

    char line[80];
    r->header = mh__client_encode_header(id, c->input_name, n_rows, n_cols, c->output_name,
                                         c->json_output, &r->header_len);
    if (!r->header)
        goto nomem;
    snprintf(line, sizeof line, "Inference-Header-Content-Length: %zu", r->header_len);
    struct curl_slist *h = curl_slist_append(NULL, line);
    if (!h)
        goto nomem;
    r->hdrs = h;
    /* No "Expect: 100-continue" round trip before large bodies. */
    const char *extra[] = {"Content-Type: application/octet-stream", "Expect:"};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++) {
        h = curl_slist_append(r->hdrs, extra[i]);
        if (!h)
            goto nomem;
        r->hdrs = h;
    }

    pthread_mutex_lock(&c->lock);
    if (c->stop) {
        pthread_mutex_unlock(&c->lock);
        free_req(r);
        return mh_fail(err, errlen, MH_NET, "infer: client is shutting down");
    }
    if (c->queue_tail)
        c->queue_tail->next = r;
    else
        c->queue_head = r;
    c->queue_tail = r;
    bump(&c->st.requests, 1);
    pthread_mutex_unlock(&c->lock);
    curl_multi_wakeup(c->multi);
    return MH_OK;
nomem:
    free_req(r);
    return mh_fail(err, errlen, MH_NOMEM, "infer request");
}

void mh_client_get_stats(mh_client *c, mh_client_stats *s)
{
#define LOAD(f) s->f = atomic_load_explicit(&c->st.f, memory_order_relaxed)
    LOAD(requests);
    LOAD(succeeded);
    LOAD(failed);
    LOAD(attempts);
    LOAD(retries);
    LOAD(failovers);
    LOAD(timeouts);
    LOAD(conn_errors);
    LOAD(http_errors);
    LOAD(bad_responses);
    LOAD(connects);
    LOAD(bytes_sent);
    LOAD(bytes_received);
#undef LOAD
}

const char *mh_client_server(const mh_client *c, size_t i)
{
    return c && i < c->n_servers ? c->servers[i] : NULL;
}
