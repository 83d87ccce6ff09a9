/* client.c - the asynchronous inference client (see mh_client.h for the
 * contract): one I/O thread per process running one libcurl multi handle,
 * shared by every mh_client of the process (reference-counted: the first
 * client starts it, the last one stops it).
 *
 * Threads: workers only touch the submission queue and the closing list
 * (under loop->lock) and wake the I/O thread with curl_multi_wakeup().
 * Everything else - the multi handle and its connection cache, the easy
 * handles, the in-flight and delayed lists, each client's sticky server
 * index - belongs to the I/O thread alone. Totals are atomics. */
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
#define DEFAULT_RECHECK_MS 10000u

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
    bool cancel; /* its client was closing when the I/O thread took it */
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

    struct io_loop *loop;
    bool closing;        /* under loop->lock: mh_client_free() started */
    bool closed;         /* under loop->lock: the I/O thread cancelled all */
    mh_client *close_next; /* the loop's closing list */
    size_t current;      /* I/O thread only: sticky server index */
    double moved_ms;     /* I/O thread only: when current left servers[0] */
    unsigned recheck_ms;
    stats_atomic st;
};

/* The process-wide I/O loop. */
typedef struct io_loop {
    CURLM *multi;
    pthread_t thread;
    unsigned refs; /* clients; under g_loop_lock */

    pthread_mutex_t lock; /* guards the fields down to next_id */
    pthread_cond_t cv;    /* signalled when a closing client is closed */
    req *queue_head, *queue_tail;
    mh_client *closing;
    bool stop;
    uint64_t next_id;

    /* I/O thread only */
    req *active;
    req *delayed_head, *delayed_tail;
    CURL **pool;
    size_t pool_n, pool_cap;
} io_loop;

static pthread_mutex_t g_loop_lock = PTHREAD_MUTEX_INITIALIZER;
static io_loop *g_loop;

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

static void list_remove_active(io_loop *L, req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        L->active = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->next = r->prev = NULL;
}

static void release_easy(io_loop *L, req *r)
{
    if (!r->easy)
        return;
    curl_multi_remove_handle(L->multi, r->easy);
    if (L->pool_n < L->pool_cap) {
        curl_easy_reset(r->easy);
        L->pool[L->pool_n++] = r->easy;
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
static void complete_now(req *r)
{
    mh_client *c = r->c;
    r->res.latency_ms = now_ms() - r->t_start;
    r->res.msg = r->msg;
    bump(r->res.status == MH_OK ? &c->st.succeeded : &c->st.failed, 1);
    r->done(r->user, &r->res);
    free_req(r);
}

/* Completes a request, after the emulated round trip if one is set: the
 * delay is a timer of this thread, no thread sleeps. */
static void complete(io_loop *L, req *r, bool shutting_down)
{
    release_easy(L, r);
    if (r->c->rtt_ms == 0 || shutting_down) {
        complete_now(r);
        return;
    }
    r->due_ms = now_ms() + (double)r->c->rtt_ms;
    r->next = NULL;
    /* Insert sorted by due time (clients may have different delays; the
     * common case - one delay - appends at the tail). */
    req **pp = &L->delayed_head;
    if (L->delayed_tail && L->delayed_tail->due_ms <= r->due_ms) {
        L->delayed_tail->next = r;
        L->delayed_tail = r;
        return;
    }
    while (*pp && (*pp)->due_ms <= r->due_ms)
        pp = &(*pp)->next;
    r->next = *pp;
    *pp = r;
    if (!r->next)
        L->delayed_tail = r;
}

static mh_status start_attempt(io_loop *L, req *r)
{
    mh_client *c = r->c;
    CURL *e = r->easy;
    if (!e) {
        e = L->pool_n ? L->pool[--L->pool_n] : curl_easy_init();
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
    curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    CURLMcode mc = curl_multi_add_handle(L->multi, e);
    if (mc != CURLM_OK)
        return mh_fail(r->msg, sizeof r->msg, MH_NET, "%s: curl_multi_add_handle: %s",
                       c->servers[r->server], curl_multi_strerror(mc));
    r->prev = NULL;
    r->next = L->active;
    if (L->active)
        L->active->prev = r;
    L->active = r;
    return MH_OK;
}

static void fail_shutdown(io_loop *L, req *r)
{
    r->res.status = MH_NET;
    mh_fail(r->msg, sizeof r->msg, MH_NET, "client shut down before the request completed");
    complete(L, r, true);
}

/* Starts a queued request (or fails it at once if it cannot start). */
static void begin(io_loop *L, req *r, bool closing)
{
    if (closing) {
        fail_shutdown(L, r);
        return;
    }
    mh_client *c = r->c;
    /* After a failover, go back to the first (preferred) server once in a
     * while: a server that recovered gets its clients back, one that did
     * not costs one failed attempt per recheck_ms. */
    if (c->current != 0 && now_ms() - c->moved_ms >= (double)c->recheck_ms)
        c->current = 0;
    r->server = c->current;
    r->res.server = r->server;
    mh_status st = start_attempt(L, r);
    if (st != MH_OK) {
        r->res.status = st;
        complete(L, r, false);
    }
}

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

static void finish_attempt(io_loop *L, req *r, CURLcode cc)
{
    mh_client *c = r->c;
    list_remove_active(L, r);
    curl_multi_remove_handle(L->multi, r->easy);
    bool retryable;
    mh_status st = judge(c, r, cc, &retryable);
    r->res.status = st;
    if (st == MH_OK || !retryable || r->res.retries >= c->retries) {
        complete(L, r, false);
        return;
    }
    /* Retry on the next server; move the sticky start point off the failed
     * one so that new requests stop paying for it. */
    size_t next = (r->server + 1) % c->n_servers;
    if (c->current == r->server) {
        if (c->current == 0)
            c->moved_ms = now_ms();
        c->current = next;
    }
    r->res.retries++;
    bump(&c->st.retries, 1);
    if (next != r->server) {
        r->res.failovers++;
        bump(&c->st.failovers, 1);
    }
    r->server = next;
    r->res.server = next;
    st = start_attempt(L, r);
    if (st != MH_OK) {
        r->res.status = st;
        complete(L, r, false);
    }
}


/* Cancels everything of client c: in-flight transfers fail with "shut
 * down", delayed completions run with the result they already have. */
static void cancel_client(io_loop *L, mh_client *c)
{
    for (req *r = L->active, *next; r; r = next) {
        next = r->next;
        if (r->c == c) {
            list_remove_active(L, r);
            fail_shutdown(L, r);
        }
    }
    req **pp = &L->delayed_head;
    L->delayed_tail = NULL;
    while (*pp) {
        req *r = *pp;
        if (r->c == c) {
            *pp = r->next;
            complete_now(r);
        } else {
            L->delayed_tail = r;
            pp = &r->next;
        }
    }
}

static void *io_main(void *arg)
{
    io_loop *L = arg;
    for (;;) {
        pthread_mutex_lock(&L->lock);
        req *q = L->queue_head;
        L->queue_head = L->queue_tail = NULL;
        mh_client *closing = L->closing;
        L->closing = NULL;
        bool stop = L->stop;
        /* Read each request's closing flag under the lock that set it. */
        for (req *r = q; r; r = r->next)
            r->cancel = r->c->closing;
        pthread_mutex_unlock(&L->lock);

        while (q) {
            req *r = q;
            q = q->next;
            r->next = NULL;
            begin(L, r, r->cancel);
        }
        if (closing) {
            for (mh_client *c = closing; c; c = c->close_next)
                cancel_client(L, c);
            pthread_mutex_lock(&L->lock);
            for (mh_client *c = closing; c; c = c->close_next)
                c->closed = true;
            pthread_cond_broadcast(&L->cv);
            pthread_mutex_unlock(&L->lock);
        }
        if (stop)
            break; /* the last client is gone: nothing is left in flight */

        int running = 0;
        curl_multi_perform(L->multi, &running);
        CURLMsg *m;
        int left;
        while ((m = curl_multi_info_read(L->multi, &left))) {
            if (m->msg != CURLMSG_DONE)
                continue;
            req *r = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&r);
            if (r)
                finish_attempt(L, r, m->data.result);
        }

        double t = now_ms();
        while (L->delayed_head && L->delayed_head->due_ms <= t) {
            req *r = L->delayed_head;
            L->delayed_head = r->next;
            if (!L->delayed_head)
                L->delayed_tail = NULL;
            complete_now(r);
        }

        long wait = -1;
        curl_multi_timeout(L->multi, &wait);
        if (wait < 0 || wait > IDLE_POLL_MS)
            wait = IDLE_POLL_MS;
        if (L->delayed_head) {
            double d = L->delayed_head->due_ms - now_ms();
            long dl = d <= 0 ? 0 : (long)d + 1;
            if (dl < wait)
                wait = dl;
        }
        if (wait > 0)
            curl_multi_poll(L->multi, NULL, 0, (int)wait, NULL);
    }
    return NULL;
}

static void loop_free(io_loop *L)
{
    if (!L)
        return;
    for (size_t i = 0; i < L->pool_n; i++)
        curl_easy_cleanup(L->pool[i]);
    free(L->pool);
    if (L->multi)
        curl_multi_cleanup(L->multi);
    pthread_cond_destroy(&L->cv);
    pthread_mutex_destroy(&L->lock);
    free(L);
}

/* Takes a reference on the process's loop, starting it if needed. Called
 * with g_loop_lock held. */
static mh_status loop_acquire(char *err, size_t errlen)
{
    if (g_loop) {
        g_loop->refs++;
        return MH_OK;
    }
    io_loop *L = calloc(1, sizeof *L);
    if (!L)
        return mh_fail(err, errlen, MH_NOMEM, "client I/O loop");
    pthread_mutex_init(&L->lock, NULL);
    pthread_cond_init(&L->cv, NULL);
    L->pool_cap = 64;
    L->pool = calloc(L->pool_cap, sizeof *L->pool);
    L->multi = curl_multi_init();
    if (!L->pool || !L->multi) {
        loop_free(L);
        return mh_fail(err, errlen, MH_NOMEM, "client I/O loop");
    }
    /* The connection cache: enough kept-alive connections for every
     * request in flight (one per stream) to several servers. */
    curl_multi_setopt(L->multi, CURLMOPT_MAXCONNECTS, 256L);
    int rc = pthread_create(&L->thread, NULL, io_main, L);
    if (rc != 0) {
        loop_free(L);
        return mh_fail(err, errlen, MH_INTERNAL, "cannot start the client I/O thread: %s",
                       strerror(rc));
    }
    L->refs = 1;
    g_loop = L;
    return MH_OK;
}

/* Drops a reference; the last one stops and frees the loop. */
static void loop_release(void)
{
    pthread_mutex_lock(&g_loop_lock);
    io_loop *L = g_loop;
    if (L && --L->refs == 0) {
        pthread_mutex_lock(&L->lock);
        L->stop = true;
        pthread_mutex_unlock(&L->lock);
        curl_multi_wakeup(L->multi);
        pthread_join(L->thread, NULL);
        loop_free(L);
        g_loop = NULL;
    }
    pthread_mutex_unlock(&g_loop_lock);
}

/* ---- public API ---- */

static void client_free_config(mh_client *c)
{
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
    free(c);
}

void mh_client_free(mh_client *c)
{
    if (!c)
        return;
    io_loop *L = c->loop;
    pthread_mutex_lock(&L->lock);
    c->closing = true;
    c->close_next = L->closing;
    L->closing = c;
    pthread_mutex_unlock(&L->lock);
    curl_multi_wakeup(L->multi);
    pthread_mutex_lock(&L->lock);
    while (!c->closed)
        pthread_cond_wait(&L->cv, &L->lock);
    pthread_mutex_unlock(&L->lock);
    client_free_config(c);
    loop_release();
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
    c->n_servers = cfg->n_servers;
    c->servers = calloc(c->n_servers, sizeof *c->servers);
    c->infer_url = calloc(c->n_servers, sizeof *c->infer_url);
    c->input_name = dup_str(in_name);
    c->output_name = dup_str(out_name);
    if (!c->servers || !c->infer_url || !c->input_name || !c->output_name) {
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
    c->recheck_ms = cfg->recheck_ms ? cfg->recheck_ms : DEFAULT_RECHECK_MS;
    c->rtt_ms = cfg->emulate_rtt_ms;
    c->json_output = cfg->json_output;
    c->max_response = cfg->max_response_bytes ? cfg->max_response_bytes : DEFAULT_MAX_RESPONSE;

    pthread_mutex_lock(&g_loop_lock);
    st = loop_acquire(err, errlen);
    c->loop = g_loop;
    pthread_mutex_unlock(&g_loop_lock);
    if (st != MH_OK)
        goto fail;
    *out = c;
    return MH_OK;
fail:
    client_free_config(c);
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

    io_loop *L = c->loop;
    pthread_mutex_lock(&L->lock);
    uint64_t id = ++L->next_id;
    pthread_mutex_unlock(&L->lock);

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

    pthread_mutex_lock(&L->lock);
    if (c->closing) {
        pthread_mutex_unlock(&L->lock);
        free_req(r);
        return mh_fail(err, errlen, MH_NET, "infer: client is shutting down");
    }
    if (L->queue_tail)
        L->queue_tail->next = r;
    else
        L->queue_head = r;
    L->queue_tail = r;
    bump(&c->st.requests, 1);
    pthread_mutex_unlock(&L->lock);
    curl_multi_wakeup(L->multi);
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
