/* test_client_server_tsan.c - minihlt's own client (mh_client.h) against
 * minihlt's own server (mh_server.h), in one process: concurrent
 * asynchronous requests with different row counts, binary and JSON outputs,
 * merged by the server's batcher and split back right; a request above
 * max_batch_size fails with the server's message. Also run under TSan. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ml/mh_facile.h"
#include "net/mh_client.h"
#include "net/mh_server.h"

#define NFEAT 46
#define NREQ 24

typedef struct waiter {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    mh_client_result res[NREQ];
} waiter;

typedef struct slot {
    waiter *w;
    int i;
} slot;

static void on_done(void *user, const mh_client_result *r)
{
    slot *s = user;
    pthread_mutex_lock(&s->w->lock);
    s->w->res[s->i] = *r;
    s->w->res[s->i].msg = NULL; /* valid during the call only */
    s->w->done++;
    pthread_cond_broadcast(&s->w->cond);
    pthread_mutex_unlock(&s->w->lock);
}

static mh_server *start(char *url, size_t len)
{
    mh_server_opts o;
    mh_server_opts_default(&o);
    o.models_dir = "tests/data/models";
    o.port = 0;
    mh_server *s = NULL;
    char err[512] = "";
    ck_assert_msg(mh_server_create(&o, &s, err, sizeof err) == MH_OK, "%s", err);
    snprintf(url, len, "http://127.0.0.1:%u", mh_server_port(s));
    return s;
}

static void run(bool json_output)
{
    char url[64];
    mh_server *srv = start(url, sizeof url);
    const char *servers[] = {url};
    mh_client_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.servers = servers;
    cfg.n_servers = 1;
    cfg.model = "facile_batch";
    cfg.timeout_ms = 10000;
    cfg.json_output = json_output;
    mh_client *c = NULL;
    char err[512] = "";
    ck_assert_msg(mh_client_create(&cfg, &c, err, sizeof err) == MH_OK, "%s", err);

    mh_facile *m = NULL;
    ck_assert_int_eq(mh_facile_load("tests/data/facile_tiny", 1, &m, err, sizeof err), MH_OK);
    waiter w = {.done = 0};
    pthread_mutex_init(&w.lock, NULL);
    pthread_cond_init(&w.cond, NULL);
    slot slots[NREQ];
    float *in[NREQ], *out[NREQ];
    size_t rows[NREQ];
    for (int i = 0; i < NREQ; i++) {
        rows[i] = (size_t)(i * 5 % 17) + 1;
        in[i] = malloc(rows[i] * NFEAT * sizeof(float));
        out[i] = calloc(rows[i], sizeof(float));
        for (size_t k = 0; k < rows[i] * NFEAT; k++)
            in[i][k] = (float)(4.0 * cos(0.11 * (double)(k + 977u * (unsigned)i)) + 2.0);
        slots[i] = (slot){&w, i};
        ck_assert_msg(mh_client_infer(c, in[i], rows[i], NFEAT, out[i], rows[i], on_done,
                                      &slots[i], err, sizeof err) == MH_OK,
                      "%s", err);
    }
    pthread_mutex_lock(&w.lock);
    while (w.done < NREQ)
        pthread_cond_wait(&w.cond, &w.lock);
    pthread_mutex_unlock(&w.lock);
    for (int i = 0; i < NREQ; i++) {
        ck_assert_msg(w.res[i].status == MH_OK, "request %d: status %d http %ld", i,
                      w.res[i].status, w.res[i].http_code);
        ck_assert_uint_eq(w.res[i].n_rows, rows[i]);
        float *want = malloc(rows[i] * sizeof(float));
        ck_assert_int_eq(mh_facile_forward(m, in[i], rows[i], want, NULL, 0, err, sizeof err),
                         MH_OK);
        for (size_t k = 0; k < rows[i]; k++)
            ck_assert_msg(fabsf(out[i][k] - want[k]) <= 1e-5f * (1.0f + fabsf(want[k])),
                          "request %d row %zu: %.9g vs %.9g", i, k, out[i][k], want[k]);
        free(want);
        free(in[i]);
        free(out[i]);
    }
    mh_facile_free(m);

    /* 300 rows > max_batch_size 256: the server refuses, the client says so. */
    float *big = calloc(300 * NFEAT, sizeof(float)), *bout = calloc(300, sizeof(float));
    w.done = 0;
    slots[0] = (slot){&w, 0};
    ck_assert_int_eq(mh_client_infer(c, big, 300, NFEAT, bout, 300, on_done, &slots[0], err,
                                     sizeof err),
                     MH_OK);
    pthread_mutex_lock(&w.lock);
    while (w.done < 1)
        pthread_cond_wait(&w.cond, &w.lock);
    pthread_mutex_unlock(&w.lock);
    ck_assert_int_ne(w.res[0].status, MH_OK);
    ck_assert_int_eq(w.res[0].http_code, 400);
    free(big);
    free(bout);
    mh_client_free(c);
    pthread_cond_destroy(&w.cond);
    pthread_mutex_destroy(&w.lock);
    mh_server_free(srv);
}

START_TEST(client_binary_outputs)
{
    run(false);
}
END_TEST

START_TEST(client_json_outputs)
{
    run(true);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("net_client_server");
    TCase *tc = tcase_create("client_server");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, client_binary_outputs);
    tcase_add_test(tc, client_json_outputs);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
