/* test_client_tsan.c - the asynchronous inference client (sim/net/mh_client.h)
 * against a tiny in-test KServe v2 server built on libmicrohttpd that can
 * answer correctly (binary or JSON outputs), with garbage, with an HTTP
 * error, or close the connection; a listening socket that never accepts
 * plays the hung server, and a closed port the dead one. Also the response
 * decoder on bytes (table-driven). Named *_tsan so that `make tsan` runs it
 * too: worker threads submit while the I/O thread completes. */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/client_internal.h"
#include "net/mh_client.h"
#include "tsrv.h"

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

/* After a failover the client stays on the second server, and goes back to
 * the first one recheck_ms later (here it recovered meanwhile). */
START_TEST(failover_is_sticky_then_rechecks_the_first_server)
{
    tsrv *a = tsrv_start(M_503);
    tsrv *b = tsrv_start(M_OK);
    const char *servers[] = {a->url, b->url};
    mh_client_config cfg = {.servers = servers,
                            .n_servers = 2,
                            .model = "facile",
                            .timeout_ms = 2000,
                            .retries = 1,
                            .recheck_ms = 300};
    mh_client *c = NULL;
    ck_assert(mh_client_create(&cfg, &c, NULL, 0) == MH_OK);
    fill_inputs(1);
    run_n(c, &W, 1);
    ck_assert_msg(W.res[0].status == MH_OK && W.res[0].server == 1 && W.res[0].failovers == 1,
                  "%s", W.res[0].msg);
    atomic_store(&a->mode, M_OK); /* the first server recovers */
    run_n(c, &W, 1);
    ck_assert_int_eq(W.res[0].server, 1); /* sticky */
    ck_assert_int_eq(W.res[0].attempts, 1);
    ck_assert_int_eq(atomic_load(&a->hits), 1);
    usleep(350 * 1000);
    run_n(c, &W, 1);
    ck_assert_msg(W.res[0].status == MH_OK && W.res[0].server == 0, "%s", W.res[0].msg);
    ck_assert_int_eq(W.res[0].attempts, 1);
    ck_assert_int_eq(atomic_load(&a->hits), 2);
    check_outputs(0);
    mh_client_free(c);
    tsrv_stop(a);
    tsrv_stop(b);
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

static int count_threads(void)
{
    int n = 0;
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    if (f)
        fclose(f);
    return n;
}

/* Two clients share the one I/O thread; closing one (with a request stuck
 * on a hung server) cancels only its own request. */
START_TEST(clients_share_one_io_thread)
{
    tsrv *s = tsrv_start(M_OK);
    char url[64];
    int fd = hung_socket(url, sizeof url);
    const char *hung[] = {url};
    const char *good[] = {s->url};
    int t0 = count_threads();
    mh_client *a = make_client(hung, 1, 5000, 0, 0, false);
    int t1 = count_threads();
    mh_client *b = make_client(good, 1, 2000, 0, 0, false);
    ck_assert_int_eq(t1, t0 + 1);
    ck_assert_int_eq(count_threads(), t1);
    fill_inputs(2);
    static slot sa;
    waiter_reset(&W);
    sa = (slot){&W, 0};
    ck_assert(mh_client_infer(a, IN[0], ROWS, COLS, OUT[0], ROWS, on_done, &sa, NULL, 0) == MH_OK);
    mh_client_free(a);
    ck_assert_int_eq(W.done, 1);
    ck_assert_int_eq(W.res[0].status, MH_NET);
    static waiter w2;
    static slot sb;
    waiter_reset(&w2);
    sb = (slot){&w2, 1};
    ck_assert(mh_client_infer(b, IN[1], ROWS, COLS, OUT[1], ROWS, on_done, &sb, NULL, 0) == MH_OK);
    wait_for(&w2, 1);
    ck_assert_msg(w2.res[1].status == MH_OK, "%s", w2.res[1].msg);
    check_outputs(1);
    mh_client_free(b);
    close(fd);
    tsrv_stop(s); /* joins the server's listening thread, counted in t0 */
    ck_assert_int_eq(count_threads(), t0 - 1);
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

/* Every truncation and 3000 seeded byte flips of a valid binary response
 * decode to MH_OK or MH_FORMAT, reading nothing outside the body (run under
 * ASan by make sanitize). */
START_TEST(decode_survives_truncation_and_flips)
{
    char good[512];
    size_t jl = strlen(OK_HDR);
    memcpy(good, OK_HDR, jl);
    const float vals[2] = {1.5f, -2.0f};
    memcpy(good + jl, vals, sizeof vals);
    size_t len = jl + sizeof vals;
    float out[2];
    for (size_t n = 0; n <= len; n++) {
        /* a heap copy of exactly n bytes, so that ASan sees any overread */
        char *b = malloc(n ? n : 1);
        memcpy(b, good, n);
        for (int hdr = 0; hdr < 2; hdr++) {
            mh_status st = mh__client_decode_response(b, n, hdr ? (long long)jl : -1, "output__0",
                                                      2, out, 2, NULL, NULL, 0);
            ck_assert_msg(st == MH_FORMAT || (st == MH_OK && n == len && hdr),
                          "truncated at %zu: %s", n, mh_status_name(st));
        }
        free(b);
    }
    unsigned seed = 12345;
    int ok = 0;
    for (int k = 0; k < 3000; k++) {
        char *b = malloc(len);
        memcpy(b, good, len);
        for (int f = 0; f < 1 + k % 3; f++) {
            seed = seed * 1103515245u + 12345u;
            b[(seed >> 8) % len] ^= (char)(1u << ((seed >> 4) % 8));
        }
        mh_status st =
            mh__client_decode_response(b, len, (long long)jl, "output__0", 2, out, 2, NULL, NULL, 0);
        ck_assert(st == MH_OK || st == MH_FORMAT);
        ok += st == MH_OK;
        free(b);
    }
    ck_assert_int_lt(ok, 3000); /* the flips do reach the checks */
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
    tcase_add_test(tw, failover_is_sticky_then_rechecks_the_first_server);
    tcase_add_test(tw, server_killed_mid_run);
    tcase_add_test(tw, shutdown_completes_pending);
    tcase_add_test(tw, clients_share_one_io_thread);
    tcase_add_test(tw, bad_config_and_arguments);
    suite_add_tcase(s, tw);
    TCase *td = tcase_create("decode");
    tcase_add_loop_test(td, decode_table, 0, (int)(sizeof DECODE / sizeof DECODE[0]));
    tcase_add_test(td, decode_survives_truncation_and_flips);
    tcase_add_test(td, error_text);
    suite_add_tcase(s, td);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf == 0 ? 0 : 1;
}
