/* test_client_tsan.c - the asynchronous inference client (sim/net/mh_client.h)
 * against a tiny in-test KServe v2 server built on libmicrohttpd that can
 * answer correctly (binary or JSON outputs), with garbage, with an HTTP
 * error, or close the connection; a listening socket that never accepts
 * plays the hung server, and a closed port the dead one. Also the response
 * decoder on bytes (table-driven). Named *_tsan so that `make tsan` runs it
 * too: worker threads submit while the I/O thread completes. */
#include <arpa/inet.h>
#include <check.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/client_internal.h"
#include "net/mh_client.h"

/* ---------------- the test server ---------------- */

enum mode { M_OK, M_GARBAGE, M_CLOSE, M_404, M_503, M_SHORT };

typedef struct tsrv {
    struct MHD_Daemon *d;
    int port;
    char url[64];
    _Atomic int mode;
    _Atomic int hits;
    _Atomic int connections;
    pthread_mutex_t lock;
    char last_header[2048]; /* JSON header of the last request */
    char last_path[256];
} tsrv;

typedef struct upload {
    char *buf;
    size_t len, cap;
} upload;

static void on_conn(void *cls, struct MHD_Connection *conn, void **socket_context,
                    enum MHD_ConnectionNotificationCode code)
{
    (void)conn;
    (void)socket_context;
    tsrv *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED)
        atomic_fetch_add(&s->connections, 1);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *body,
                             size_t len, long long json_len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (json_len >= 0) {
        char v[32];
        snprintf(v, sizeof v, "%lld", json_len);
        MHD_add_response_header(r, "Inference-Header-Content-Length", v);
        MHD_add_response_header(r, "Content-Type", "application/octet-stream");
    } else {
        MHD_add_response_header(r, "Content-Type", "application/json");
    }
    enum MHD_Result ret = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return ret;
}

/* The model: output row i = sum of the features of row i. */
static enum MHD_Result infer(tsrv *s, struct MHD_Connection *conn, upload *u)
{
    const char *hl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 "Inference-Header-Content-Length");
    size_t jl = hl ? (size_t)strtoul(hl, NULL, 10) : u->len;
    if (jl > u->len)
        return reply(conn, 400, "{\"error\":\"header length\"}", 25, -1);
    pthread_mutex_lock(&s->lock);
    snprintf(s->last_header, sizeof s->last_header, "%.*s", (int)jl, u->buf);
    pthread_mutex_unlock(&s->lock);
    json_t *root = json_loadb(u->buf, jl, 0, NULL);
    json_t *in = json_array_get(json_object_get(root, "inputs"), 0);
    json_t *shape = json_object_get(in, "shape");
    size_t n = (size_t)json_integer_value(json_array_get(shape, 0));
    size_t k = (size_t)json_integer_value(json_array_get(shape, 1));
    size_t bsz = (size_t)json_integer_value(
        json_object_get(json_object_get(in, "parameters"), "binary_data_size"));
    json_t *o = json_array_get(json_object_get(root, "outputs"), 0);
    int binary = json_is_true(json_object_get(json_object_get(o, "parameters"), "binary_data"));
    char oname[64];
    snprintf(oname, sizeof oname, "%s", json_string_value(json_object_get(o, "name")));
    json_decref(root);
    if (n == 0 || k == 0 || bsz != n * k * 4 || jl + bsz != u->len)
        return reply(conn, 400, "{\"error\":\"sizes\"}", 17, -1);
    /* The binary part follows the JSON at any alignment: copy it out. */
    float *x = malloc(bsz);
    memcpy(x, u->buf + jl, bsz);
    float *y = malloc(n * sizeof *y);
    for (size_t i = 0; i < n; i++) {
        double acc = 0;
        for (size_t j = 0; j < k; j++)
            acc += x[i * k + j];
        y[i] = (float)acc;
    }
    free(x);
    json_t *out = json_pack("{s:s, s:[I,I], s:s}", "name", oname, "shape", (json_int_t)n,
                    (json_int_t)1, "datatype", "FP32");
    if (binary) {
        json_object_set_new(out, "parameters",
                            json_pack("{s:I}", "binary_data_size", (json_int_t)(n * 4)));
    } else {
        json_t *data = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(data, json_real(y[i]));
        json_object_set_new(out, "data", data);
    }
    json_t *resp = json_pack("{s:s, s:[o]}", "model_name", "facile", "outputs", out);
    char *text = json_dumps(resp, JSON_COMPACT);
    json_decref(resp);
    size_t tl = strlen(text);
    enum MHD_Result ret;
    int mode = atomic_load(&s->mode);
    if (binary) {
        size_t total = tl + n * 4;
        char *body = malloc(total);
        memcpy(body, text, tl);
        memcpy(body + tl, y, n * 4);
        /* M_SHORT: one float missing from the binary part. */
        ret = reply(conn, 200, body, mode == M_SHORT ? total - 4 : total, (long long)tl);
        free(body);
    } else {
        ret = reply(conn, 200, text, tl, -1);
    }
    free(text);
    free(y);
    return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *data,
                               size_t *data_size, void **con_cls)
{
    (void)version;
    tsrv *s = cls;
    upload *u = *con_cls;
    if (!u) {
        u = calloc(1, sizeof *u);
        *con_cls = u;
        return MHD_YES;
    }
    if (*data_size) {
        if (u->len + *data_size > u->cap) {
            u->cap = (u->len + *data_size) * 2;
            u->buf = realloc(u->buf, u->cap);
        }
        memcpy(u->buf + u->len, data, *data_size);
        u->len += *data_size;
        *data_size = 0;
        return MHD_YES;
    }
    atomic_fetch_add(&s->hits, 1);
    pthread_mutex_lock(&s->lock);
    snprintf(s->last_path, sizeof s->last_path, "%s %s", method, url);
    pthread_mutex_unlock(&s->lock);
    switch (atomic_load(&s->mode)) {
    case M_GARBAGE:
        return reply(conn, 200, "\x01\x02garbage{{", 11, -1);
    case M_CLOSE:
        return MHD_NO; /* drops the connection without an answer */
    case M_404:
        return reply(conn, 404, "{\"error\":\"unknown model 'nope'\"}", 32, -1);
    case M_503:
        return reply(conn, 503, "{\"error\":\"queue full\"}", 22, -1);
    default:
        return infer(s, conn, u);
    }
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    upload *u = *con_cls;
    if (u) {
        free(u->buf);
        free(u);
        *con_cls = NULL;
    }
}

static tsrv *tsrv_start(int mode)
{
    tsrv *s = calloc(1, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    atomic_store(&s->mode, mode);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
                            NULL, NULL, handler, s, MHD_OPTION_SOCK_ADDR, &a,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, s,
                            MHD_OPTION_NOTIFY_CONNECTION, on_conn, s, MHD_OPTION_END);
    ck_assert_msg(s->d != NULL, "MHD_start_daemon failed");
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di->port;
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
    return s;
}

static void tsrv_stop(tsrv *s)
{
    MHD_stop_daemon(s->d);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* A port that accepts TCP connections (the kernel's backlog) but whose
 * owner never reads nor answers: the hung server. */
static int hung_socket(char *url, size_t urlsz)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    ck_assert(listen(fd, 16) == 0);
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    snprintf(url, urlsz, "http://127.0.0.1:%d", ntohs(a.sin_port));
    return fd;
}

/* A port nobody listens on: the dead server. */
static void dead_url(char *url, size_t urlsz)
{
    int fd = hung_socket(url, urlsz);
    close(fd);
}

/* ---------------- waiting for completions ---------------- */

#define NMAX 64

typedef struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    int done;
    mh_client_result res[NMAX];
    char msg[NMAX][320];
} waiter;

typedef struct slot {
    waiter *w;
    int i;
} slot;

static void on_done(void *user, const mh_client_result *r)
{
    slot *s = user;
    waiter *w = s->w;
    pthread_mutex_lock(&w->lock);
    w->res[s->i] = *r;
    snprintf(w->msg[s->i], sizeof w->msg[s->i], "%s", r->msg);
    w->res[s->i].msg = w->msg[s->i];
    w->done++;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->lock);
}

static void waiter_reset(waiter *w)
{
    memset(w, 0, sizeof *w);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cv, NULL);
}

static void wait_for(waiter *w, int n)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 8;
    pthread_mutex_lock(&w->lock);
    while (w->done < n) {
        int rc = pthread_cond_timedwait(&w->cv, &w->lock, &dl);
        ck_assert_msg(rc == 0, "completion callbacks missing: %d of %d", w->done, n);
    }
    pthread_mutex_unlock(&w->lock);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

#define ROWS 300
#define COLS 46

static float IN[NMAX][ROWS * COLS];
static float OUT[NMAX][ROWS];

static void fill_inputs(int n)
{
    for (int r = 0; r < n; r++)
        for (int i = 0; i < ROWS * COLS; i++)
            IN[r][i] = (float)((i * 7 + r * 13) % 101) * 0.25f - 3.0f;
    memset(OUT, 0, sizeof OUT);
}

static void check_outputs(int r)
{
    for (int i = 0; i < ROWS; i++) {
        double acc = 0;
        for (int j = 0; j < COLS; j++)
            acc += IN[r][i * COLS + j];
        ck_assert_msg(OUT[r][i] == (float)acc, "request %d row %d: %g != %g", r, i,
                      (double)OUT[r][i], acc);
    }
}

static mh_client *make_client(const char **servers, size_t n, unsigned timeout, unsigned retries,
                              unsigned rtt, bool json)
{
    mh_client_config cfg = {.servers = servers,
                            .n_servers = n,
                            .model = "facile",
                            .timeout_ms = timeout,
                            .retries = retries,
                            .emulate_rtt_ms = rtt,
                            .json_output = json};
    mh_client *c = NULL;
    char err[256] = "";
    ck_assert_msg(mh_client_create(&cfg, &c, err, sizeof err) == MH_OK, "%s", err);
    return c;
}

/* Sends n requests at once (rows ROWS x COLS) and waits for all. */
static void run_n(mh_client *c, waiter *w, int n)
{
    static slot slots[NMAX];
    waiter_reset(w);
    for (int i = 0; i < n; i++) {
        slots[i] = (slot){w, i};
        char err[256];
        ck_assert(mh_client_infer(c, IN[i], ROWS, COLS, OUT[i], ROWS, on_done, &slots[i], err,
                                  sizeof err) == MH_OK);
    }
    wait_for(w, n);
}

static waiter W;

/* ---------------- tests ---------------- */

START_TEST(binary_roundtrip_and_encoding)
{
    tsrv *s = tsrv_start(M_OK);
    const char *servers[] = {s->url};
    mh_client *c = make_client(servers, 1, 2000, 0, 0, false);
    fill_inputs(1);
    run_n(c, &W, 1);
    ck_assert_msg(W.res[0].status == MH_OK, "%s", W.res[0].msg);
    ck_assert_int_eq(W.res[0].n_rows, ROWS);
    ck_assert_int_eq(W.res[0].attempts, 1);
    check_outputs(0);
    /* What went over the wire. */
    ck_assert_str_eq(s->last_path, "POST /v2/models/facile/infer");
    json_t *h = json_loads(s->last_header, 0, NULL);
    ck_assert(h != NULL);
    json_t *in = json_array_get(json_object_get(h, "inputs"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(in, "name")), "input__0");
    ck_assert_str_eq(json_string_value(json_object_get(in, "datatype")), "FP32");
    ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(in, "shape"), 0)), ROWS);
    ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(in, "shape"), 1)), COLS);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(in, "parameters"),
                                                        "binary_data_size")),
                     ROWS * COLS * 4);
    json_t *o = json_array_get(json_object_get(h, "outputs"), 0);
    ck_assert(json_is_true(json_object_get(json_object_get(o, "parameters"), "binary_data")));
    json_decref(h);
    mh_client_stats st;
    mh_client_get_stats(c, &st);
    ck_assert_int_eq(st.requests, 1);
    ck_assert_int_eq(st.succeeded, 1);
    ck_assert_int_eq(st.bytes_sent, strlen(s->last_header) + ROWS * COLS * 4);
    mh_client_free(c);
    tsrv_stop(s);
}
END_TEST

START_TEST(json_outputs_and_model_version)
{
    tsrv *s = tsrv_start(M_OK);
    const char *servers[] = {s->url};
    mh_client_config cfg = {.servers = servers,
                            .n_servers = 1,
                            .model = "facile",
                            .model_version = "3",
                            .timeout_ms = 2000,
                            .json_output = true};
    mh_client *c = NULL;
    char err[256];
    ck_assert(mh_client_create(&cfg, &c, err, sizeof err) == MH_OK);
    fill_inputs(2);
    run_n(c, &W, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(W.res[i].status == MH_OK, "%s", W.res[i].msg);
        /* JSON "data" goes through a double: same float after rounding. */
        check_outputs(i);
    }
    ck_assert_str_eq(s->last_path, "POST /v2/models/facile/versions/3/infer");
    mh_client_free(c);
    tsrv_stop(s);
}
END_TEST

START_TEST(keepalive_reuses_one_connection)
{
    tsrv *s = tsrv_start(M_OK);
    const char *servers[] = {s->url};
    mh_client *c = make_client(servers, 1, 2000, 0, 0, false);
    fill_inputs(1);
    for (int k = 0; k < 20; k++) {
        run_n(c, &W, 1);
        ck_assert(W.res[0].status == MH_OK);
    }
    check_outputs(0);
    ck_assert_int_eq(atomic_load(&s->hits), 20);
    ck_assert_int_eq(atomic_load(&s->connections), 1);
    mh_client_stats st;
    mh_client_get_stats(c, &st);
    ck_assert_int_eq(st.connects, 1);
    mh_client_free(c);
    tsrv_stop(s);
}
END_TEST

START_TEST(concurrent_requests_and_emulated_rtt)
{
    tsrv *s = tsrv_start(M_OK);
    const char *servers[] = {s->url};
    mh_client *c = make_client(servers, 1, 2000, 0, 150, false);
    fill_inputs(16);
    double t0 = now_ms();
    run_n(c, &W, 16);
    double dt = now_ms() - t0;
    for (int i = 0; i < 16; i++) {
        ck_assert_msg(W.res[i].status == MH_OK, "%s", W.res[i].msg);
        ck_assert_msg(W.res[i].latency_ms >= 150.0, "latency %.1f ms < emulated 150 ms",
                      W.res[i].latency_ms);
        check_outputs(i);
    }
    /* 16 delays of 150 ms overlap on the one I/O thread: far below 16 x 150. */
    ck_assert_msg(dt >= 150.0 && dt < 900.0, "16 requests took %.0f ms", dt);
    mh_client_free(c);
    tsrv_stop(s);
}
END_TEST

/* Four worker threads submit at once while the I/O thread completes. */
typedef struct submitter {
    mh_client *c;
    int first, n;
    waiter *w;
    slot *slots;
} submitter;

static void *submit_main(void *arg)
{
    submitter *s = arg;
    for (int i = s->first; i < s->first + s->n; i++) {
        s->slots[i] = (slot){s->w, i};
        ck_assert(mh_client_infer(s->c, IN[i], ROWS, COLS, OUT[i], ROWS, on_done, &s->slots[i],
                                  NULL, 0) == MH_OK);
    }
    return NULL;
}

START_TEST(concurrent_submitters)
{
    tsrv *s = tsrv_start(M_OK);
    const char *servers[] = {s->url};
    mh_client *c = make_client(servers, 1, 2000, 0, 5, false);
    fill_inputs(NMAX);
    static slot slots[NMAX];
    waiter_reset(&W);
    pthread_t th[4];
    submitter sub[4];
    for (int t = 0; t < 4; t++) {
        sub[t] = (submitter){c, t * 16, 16, &W, slots};
        pthread_create(&th[t], NULL, submit_main, &sub[t]);
    }
    for (int t = 0; t < 4; t++)
        pthread_join(th[t], NULL);
    wait_for(&W, NMAX);
    for (int i = 0; i < NMAX; i++) {
        ck_assert_msg(W.res[i].status == MH_OK, "%d: %s", i, W.res[i].msg);
        check_outputs(i);
    }
    mh_client_stats st;
    mh_client_get_stats(c, &st);
    ck_assert_int_eq(st.requests, NMAX);
    ck_assert_int_eq(st.succeeded, NMAX);
    mh_client_free(c);
    tsrv_stop(s);
}
END_TEST

START_TEST(hung_server_times_out_and_retries)
{
    char url[64];
    int fd = hung_socket(url, sizeof url);
    const char *servers[] = {url};
    mh_client *c = make_client(servers, 1, 200, 1, 0, false);
    fill_inputs(1);
    double t0 = now_ms();
    run_n(c, &W, 1);
    double dt = now_ms() - t0;
    ck_assert_int_eq(W.res[0].status, MH_TIMEOUT);
    ck_assert_int_eq(W.res[0].attempts, 2);
    ck_assert_int_eq(W.res[0].retries, 1);
    ck_assert_int_eq(W.res[0].failovers, 0);
    ck_assert_msg(strstr(W.res[0].msg, url) && strstr(W.res[0].msg, "200 ms"), "%s",
                  W.res[0].msg);
    ck_assert_msg(dt >= 390 && dt < 2000, "two 200 ms attempts took %.0f ms", dt);
    mh_client_stats st;
    mh_client_get_stats(c, &st);
    ck_assert_int_eq(st.timeouts, 2);
    ck_assert_int_eq(st.failed, 1);
    mh_client_free(c);
    close(fd);
}
END_TEST

/* Each bad first server, followed by a good one: the request fails over and
 * succeeds; the next request starts on the good server (sticky). */
static const struct {
    int mode;    /* -1: dead port, -2: hung socket */
    int retried; /* 0 if the failure must not be retried (4xx) */
    mh_status status_alone;
    const char *msg_part;
} FAULTS[] = {
    {-1, 1, MH_NET, "onnect"},
    {-2, 1, MH_TIMEOUT, "no answer within"},
    {M_GARBAGE, 1, MH_FORMAT, "not JSON"},
    {M_CLOSE, 1, MH_NET, "nothing"},
    {M_503, 1, MH_OVERLOAD, "HTTP 503: queue full"},
    {M_SHORT, 1, MH_FORMAT, "binary"},
    {M_404, 0, MH_NOTFOUND, "HTTP 404: unknown model 'nope'"},
};

START_TEST(faults_fail_over_or_fail)
{
    char url[64];
    int fd = -1;
    tsrv *bad = NULL;
    if (FAULTS[_i].mode == -1) {
        dead_url(url, sizeof url);
    } else if (FAULTS[_i].mode == -2) {
        fd = hung_socket(url, sizeof url);
    } else {
        bad = tsrv_start(FAULTS[_i].mode);
        snprintf(url, sizeof url, "%s", bad->url);
    }
    tsrv *good = tsrv_start(M_OK);
    fill_inputs(2);

    /* Alone, with two retries: the failure is reported, with its kind. */
    const char *alone[] = {url};
    mh_client *c = make_client(alone, 1, 300, 2, 0, false);
    run_n(c, &W, 1);
    ck_assert_msg(W.res[0].status == FAULTS[_i].status_alone, "fault %d: status %s (%s)", _i,
                  mh_status_name(W.res[0].status), W.res[0].msg);
    ck_assert_msg(strstr(W.res[0].msg, FAULTS[_i].msg_part), "fault %d: '%s'", _i, W.res[0].msg);
    ck_assert_int_eq(W.res[0].attempts, FAULTS[_i].retried ? 3 : 1);
    mh_client_stats st;
    mh_client_get_stats(c, &st);
    ck_assert_int_eq(st.failed, 1);
    ck_assert_int_eq(st.attempts, FAULTS[_i].retried ? 3 : 1);
    ck_assert_int_eq(st.retries, FAULTS[_i].retried ? 2 : 0);
    mh_client_free(c);

    /* Bad server first, good second, one retry. */
    const char *pair[] = {url, good->url};
    c = make_client(pair, 2, 300, 1, 0, false);
    run_n(c, &W, 1);
    if (FAULTS[_i].retried) {
        ck_assert_msg(W.res[0].status == MH_OK, "fault %d: %s", _i, W.res[0].msg);
        ck_assert_int_eq(W.res[0].failovers, 1);
        ck_assert_int_eq(W.res[0].server, 1);
        check_outputs(0);
        run_n(c, &W, 1);
        ck_assert_int_eq(W.res[0].status, MH_OK);
        ck_assert_int_eq(W.res[0].attempts, 1); /* sticky: straight to the good one */
        mh_client_get_stats(c, &st);
        ck_assert_int_eq(st.succeeded, 2);
        ck_assert_int_eq(st.failovers, 1);
        ck_assert_int_eq(st.attempts, 3);
    } else {
        ck_assert_int_eq(W.res[0].status, FAULTS[_i].status_alone);
        ck_assert_int_eq(W.res[0].attempts, 1);
    }
    mh_client_free(c);
    tsrv_stop(good);
    if (bad)
        tsrv_stop(bad);
    if (fd >= 0)
        close(fd);
}
END_TEST

/* A server that dies mid-run: every request either succeeds on it, or fails
 * over to the second one; none is lost, the totals add up. */
START_TEST(server_killed_mid_run)
{
    tsrv *a = tsrv_start(M_OK);
    tsrv *b = tsrv_start(M_OK);
    const char *servers[] = {a->url, b->url};
    mh_client *c = make_client(servers, 2, 500, 2, 0, false);
    fill_inputs(NMAX);
    run_n(c, &W, 16);
    MHD_stop_daemon(a->d);
    a->d = NULL;
    run_n(c, &W, 32);
    for (int i = 0; i < 32; i++) {
        ck_assert_msg(W.res[i].status == MH_OK, "%d: %s", i, W.res[i].msg);
        check_outputs(i);
    }
    mh_client_stats st;
    mh_client_get_stats(c, &st);
    ck_assert_int_eq(st.requests, 48);
    ck_assert_int_eq(st.succeeded + st.failed, st.requests);
    ck_assert_int_eq(st.failed, 0);
    ck_assert_uint_ge(st.failovers, 1);
    ck_assert_int_eq(st.attempts, st.requests + st.retries);
    mh_client_free(c);
    pthread_mutex_destroy(&a->lock);
    free(a);
    tsrv_stop(b);
}
END_TEST

START_TEST(shutdown_completes_pending)
{
    char url[64];
    int fd = hung_socket(url, sizeof url);
    const char *servers[] = {url};
    mh_client *c = make_client(servers, 1, 5000, 0, 0, false);
    fill_inputs(4);
    static slot slots[4];
    waiter_reset(&W);
    for (int i = 0; i < 4; i++) {
        slots[i] = (slot){&W, i};
        ck_assert(mh_client_infer(c, IN[i], ROWS, COLS, OUT[i], ROWS, on_done, &slots[i], NULL,
                                  0) == MH_OK);
    }
    double t0 = now_ms();
    mh_client_free(c);
    ck_assert_msg(now_ms() - t0 < 1000, "free waited for the 5 s timeout");
    ck_assert_int_eq(W.done, 4);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(W.res[i].status, MH_NET);
        ck_assert(strstr(W.res[i].msg, "shut down"));
    }
    close(fd);
}
END_TEST

START_TEST(bad_config_and_arguments)
{
    char err[256];
    mh_client *c = NULL;
    const char *bad_url[] = {"ftp://x"};
    mh_client_config cfg = {.servers = bad_url, .n_servers = 1, .model = "facile"};
    ck_assert_int_eq(mh_client_create(&cfg, &c, err, sizeof err), MH_INVALID);
    ck_assert(strstr(err, "servers[0]") && strstr(err, "ftp://x"));
    const char *ok_url[] = {"http://127.0.0.1:1/"};
    cfg.servers = ok_url;
    cfg.model = "../etc";
    ck_assert_int_eq(mh_client_create(&cfg, &c, err, sizeof err), MH_INVALID);
    ck_assert(strstr(err, "model"));
    cfg.model = "facile";
    cfg.model_version = "1a";
    ck_assert_int_eq(mh_client_create(&cfg, &c, err, sizeof err), MH_INVALID);
    ck_assert(strstr(err, "model_version"));
    cfg.model_version = NULL;
    cfg.n_servers = 0;
    ck_assert_int_eq(mh_client_create(&cfg, &c, err, sizeof err), MH_INVALID);
    cfg.n_servers = 1;
    ck_assert_int_eq(mh_client_create(&cfg, &c, err, sizeof err), MH_OK);
    ck_assert_str_eq(mh_client_server(c, 0), "http://127.0.0.1:1");
    float x[4] = {0}, y[1];
    ck_assert_int_eq(mh_client_infer(c, x, 0, 4, y, 1, on_done, NULL, err, sizeof err),
                     MH_INVALID);
    ck_assert_int_eq(mh_client_infer(c, x, 2, 2, y, 1, on_done, NULL, err, sizeof err),
                     MH_INVALID);
    mh_client_free(c);
    mh_client_free(NULL);
}
END_TEST

/* ---------------- the decoder on bytes ---------------- */

static const char OK_HDR[] =
    "{\"outputs\":[{\"name\":\"output__0\",\"datatype\":\"FP32\",\"shape\":[2,1],"
    "\"parameters\":{\"binary_data_size\":8}}]}";

static const struct {
    const char *json;
    int bin_floats; /* floats appended after the JSON */
    int json_len;   /* 1: header present = strlen(json); 0: absent; >1: this value */
    mh_status want;
    const char *msg_part;
} DECODE[] = {
    {OK_HDR, 2, 1, MH_OK, NULL},
    {"{\"outputs\":[{\"name\":\"output__0\",\"datatype\":\"FP32\",\"shape\":[2,1],"
     "\"data\":[1.5,-2]}]}",
     0, 0, MH_OK, NULL},
    /* two binary outputs: ours is the second */
    {"{\"outputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],"
     "\"parameters\":{\"binary_data_size\":4}},{\"name\":\"output__0\",\"datatype\":\"FP32\","
     "\"shape\":[2,1],\"parameters\":{\"binary_data_size\":8}}]}",
     3, 1, MH_OK, NULL},
    {OK_HDR, 1, 1, MH_FORMAT, "runs past"},
    {OK_HDR, 3, 1, MH_FORMAT, "binary bytes"},
    {OK_HDR, 2, 100000, MH_FORMAT, "exceeds the body"},
    {OK_HDR, 2, 0, MH_FORMAT, "not JSON"},
    {"[1,2]", 0, 0, MH_FORMAT, "no \"outputs\""},
    {"{\"outputs\":[]}", 0, 0, MH_FORMAT, "no output \"output__0\""},
    {"{\"outputs\":[{\"name\":\"output__0\",\"datatype\":\"INT8\",\"shape\":[2,1],"
     "\"data\":[1,2]}]}",
     0, 0, MH_FORMAT, "datatype INT8"},
    {"{\"outputs\":[{\"name\":\"output__0\",\"datatype\":\"FP32\",\"shape\":[3,1],"
     "\"data\":[1,2,3]}]}",
     0, 0, MH_FORMAT, "3 rows, the request had 2"},
    {"{\"outputs\":[{\"name\":\"output__0\",\"datatype\":\"FP32\",\"shape\":[2,1],"
     "\"data\":[1]}]}",
     0, 0, MH_FORMAT, "2 values"},
    {"{\"outputs\":[{\"name\":\"output__0\",\"datatype\":\"FP32\",\"shape\":[2,1],"
     "\"data\":[1,\"a\"]}]}",
     0, 0, MH_FORMAT, "data[1]"},
    {"{\"outputs\":[{\"name\":\"output__0\",\"datatype\":\"FP32\",\"shape\":[2,4],"
     "\"data\":[1,2,3,4,5,6,7,8]}]}",
     0, 0, MH_FORMAT, "do not fit"},
    {"{\"outputs\":[{\"name\":\"output__0\",\"datatype\":\"FP32\",\"shape\":[2,-1],"
     "\"data\":[]}]}",
     0, 0, MH_FORMAT, "shape[1]"},
    {"{\"outputs\":[{\"name\":\"output__0\",\"datatype\":\"FP32\",\"shape\":[2,1],"
     "\"parameters\":{\"binary_data_size\":-8}}]}",
     0, 1, MH_FORMAT, "bad binary_data_size"},
    {"{\"outputs\":[{\"name\":\"output__0\",\"datatype\":\"FP32\",\"shape\":[2,1],"
     "\"parameters\":{\"binary_data_size\":4}}]}",
     1, 1, MH_FORMAT, "shape needs 8 bytes"},
};

START_TEST(decode_table)
{
    char body[1024];
    size_t jl = strlen(DECODE[_i].json);
    memcpy(body, DECODE[_i].json, jl);
    const float vals[3] = {9.0f, 1.5f, -2.0f};
    const float *src = DECODE[_i].bin_floats == 3 ? vals : vals + 1;
    memcpy(body + jl, src, (size_t)DECODE[_i].bin_floats * 4);
    size_t len = jl + (size_t)DECODE[_i].bin_floats * 4;
    long long hl = DECODE[_i].json_len == 1 ? (long long)jl
                   : DECODE[_i].json_len == 0 ? -1
                                              : DECODE[_i].json_len;
    float out[2] = {0, 0};
    size_t per_row = 0;
    char err[256] = "";
    mh_status st =
        mh__client_decode_response(body, len, hl, "output__0", 2, out, 2, &per_row, err,
                                   sizeof err);
    ck_assert_msg(st == DECODE[_i].want, "case %d: %s (%s)", _i, mh_status_name(st), err);
    if (st == MH_OK) {
        ck_assert_int_eq(per_row, 1);
        ck_assert(out[0] == 1.5f && out[1] == -2.0f);
    } else {
        ck_assert_msg(strstr(err, DECODE[_i].msg_part), "case %d: '%s'", _i, err);
    }
}
END_TEST

START_TEST(error_text)
{
    char msg[64];
    const char *e = "{\"error\":\"bad\\nthing\"}";
    mh__client_error_text(e, strlen(e), msg, sizeof msg);
    ck_assert_str_eq(msg, "bad?thing");
    mh__client_error_text("<html>", 6, msg, sizeof msg);
    ck_assert_str_eq(msg, "<html>");
    mh__client_error_text(NULL, 0, msg, sizeof msg);
    ck_assert_str_eq(msg, "empty body");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("client");
    TCase *tw = tcase_create("wire");
    tcase_set_timeout(tw, 20);
    tcase_add_test(tw, binary_roundtrip_and_encoding);
    tcase_add_test(tw, json_outputs_and_model_version);
    tcase_add_test(tw, keepalive_reuses_one_connection);
    tcase_add_test(tw, concurrent_requests_and_emulated_rtt);
    tcase_add_test(tw, concurrent_submitters);
    tcase_add_test(tw, hung_server_times_out_and_retries);
    tcase_add_loop_test(tw, faults_fail_over_or_fail, 0, (int)(sizeof FAULTS / sizeof FAULTS[0]));
    tcase_add_test(tw, server_killed_mid_run);
    tcase_add_test(tw, shutdown_completes_pending);
    tcase_add_test(tw, bad_config_and_arguments);
    suite_add_tcase(s, tw);
    TCase *td = tcase_create("decode");
    tcase_add_loop_test(td, decode_table, 0, (int)(sizeof DECODE / sizeof DECODE[0]));
    tcase_add_test(td, error_text);
    suite_add_tcase(s, td);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf == 0 ? 0 : 1;
}
