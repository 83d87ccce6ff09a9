/* test_timing_tsan.c - the timing service hammered from 8 threads (run under
 * ThreadSanitizer by `make tsan`): totals are exact, and a reader that
 * snapshots totals during the run is race-free. */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "timing/mh_timing.h"

#define NTHREADS 8
#define NEVENTS 4000 /* per thread */
#define NMOD 4
#define NPATH 3

static const char *const labels[NMOD] = {"m0", "m1", "m2", "m3"};
static const char *const plugins[NMOD] = {"emulated", "emulated", "ext", "emulated"};
static const char *const paths[NPATH] = {"pA", "pB", "end"};
static const size_t g_ext[] = {2};
static const mh_timing_group groups[] = {{"ext", g_ext, 1}};

typedef struct worker {
    mh_timing *t, *other;
    int id;
} worker;

static atomic_int running;

/* Every thread records the same known sequence per event; thread id only
 * changes the latency and the failure reason. Interleaving a second
 * instance exercises the thread-local shard cache. */
static void *work(void *arg)
{
    worker *w = arg;
    for (int e = 0; e < NEVENTS; e++) {
        mh_timing_module(w->t, 0, 0, MH_PHASE_PRODUCE, 1000, 900);
        mh_timing_module(w->t, 1, 1, MH_PHASE_PRODUCE, 2000, 1500);
        mh_timing_module(w->t, 2, 0, MH_PHASE_ACQUIRE, 100, 50);
        mh_timing_module(w->t, 2, 0, MH_PHASE_WAIT, 7000, 0);
        mh_timing_module(w->t, 2, 0, MH_PHASE_PRODUCE, 300, 250);
        mh_timing_module(w->t, 3, 2, MH_PHASE_PRODUCE, 10, 5);
        mh_timing_module(w->other, 0, -1, MH_PHASE_PRODUCE, 1, 1);
        mh_timing_path(w->t, 0, e % 2 == 0);
        mh_timing_path(w->t, 1, e % 4 == 0);
        mh_timing_path(w->t, 2, true);
        mh_timing_count(w->t, 2, "retries", 1);
        if (e % 100 == 99) {
            char reason[32];
            snprintf(reason, sizeof reason, "thread %d", w->id);
            mh_timing_event(w->t, MH_EVENT_FAILED, 1000, "m2", reason);
        } else {
            mh_timing_event(w->t, e % 2 == 0 ? MH_EVENT_ACCEPTED : MH_EVENT_REJECTED,
                            (uint64_t)(e + 1) * 1000, NULL, NULL);
        }
        mh_timing_event(w->other, MH_EVENT_ACCEPTED, 1, NULL, NULL);
    }
    return NULL;
}

static void *reader(void *arg)
{
    mh_timing *t = arg;
    uint64_t last = 0;
    while (atomic_load(&running)) {
        mh_timing_totals tot;
        mh_timing_totals_get(t, &tot);
        uint64_t n = tot.accepted + tot.rejected + tot.failed;
        ck_assert_uint_ge(n, last); /* monotonic snapshots */
        last = n;
        sched_yield();
    }
    return NULL;
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    ck_assert_msg(json_is_number(v), "key '%s'", key);
    return json_number_value(v);
}

START_TEST(eight_threads_exact_totals)
{
    mh_timing_setup s = {labels, plugins, NMOD, paths, NPATH, 1, groups, 1, NTHREADS, NTHREADS};
    mh_timing *t = NULL, *other = NULL;
    ck_assert_int_eq(mh_timing_create(&s, &t, NULL, 0), MH_OK);
    ck_assert_int_eq(mh_timing_create(&s, &other, NULL, 0), MH_OK);
    mh_timing_begin(t);
    atomic_store(&running, 1);
    pthread_t th[NTHREADS], rd;
    worker w[NTHREADS];
    ck_assert_int_eq(pthread_create(&rd, NULL, reader, t), 0);
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (worker){t, other, i};
        ck_assert_int_eq(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    atomic_store(&running, 0);
    pthread_join(rd, NULL);
    mh_timing_end(t);

    const uint64_t n = (uint64_t)NTHREADS * NEVENTS;
    const uint64_t nfail = (uint64_t)NTHREADS * (NEVENTS / 100);
    mh_timing_totals tot;
    mh_timing_totals_get(t, &tot);
    ck_assert_uint_eq(tot.accepted + tot.rejected + tot.failed, n);
    ck_assert_uint_eq(tot.failed, nfail);
    ck_assert_uint_eq(tot.accepted, (uint64_t)NTHREADS * (NEVENTS / 2));
    ck_assert_uint_eq(tot.rejected, n - nfail - tot.accepted);
    mh_timing_totals_get(other, &tot);
    ck_assert_uint_eq(tot.accepted, n);

    char path[] = "/tmp/mh_timing_tsan_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    char err[256];
    ck_assert_int_eq(mh_timing_report_json(t, path, NULL, NULL, err, sizeof err), MH_OK);
    json_t *r = json_load_file(path, 0, NULL);
    unlink(path);
    ck_assert_ptr_nonnull(r);
    json_t *ev = json_object_get(r, "events");
    ck_assert_uint_eq((uint64_t)num(ev, "read"), n);
    json_t *fl = json_object_get(ev, "failures");
    ck_assert_uint_eq(json_array_size(fl), NTHREADS); /* one distinct reason per thread */
    double fsum = 0;
    for (size_t i = 0; i < json_array_size(fl); i++)
        fsum += num(json_array_get(fl, i), "count");
    ck_assert_uint_eq((uint64_t)fsum, nfail);

    /* Exact per-event averages: the totals are sums of known integers. */
    json_t *mods = json_object_get(r, "modules");
    static const double cpu_ns[NMOD] = {900, 1500, 300, 5}, real_ns[NMOD] = {1000, 2000, 400, 10};
    for (size_t i = 0; i < NMOD; i++) {
        json_t *m = json_array_get(mods, i);
        ck_assert_uint_eq((uint64_t)num(m, "calls"), n);
        ck_assert_double_eq_tol(num(m, "cpu_ms_per_event"), cpu_ns[i] * 1e-6, 1e-12);
        ck_assert_double_eq_tol(num(m, "real_ms_per_event"), real_ns[i] * 1e-6, 1e-12);
    }
    ck_assert_double_eq_tol(num(json_array_get(mods, 2), "wait_ms_per_event"), 7e-3, 1e-12);
    ck_assert_uint_eq((uint64_t)num(json_object_get(json_array_get(mods, 2), "counters"), "retries"), n);
    json_t *ps = json_object_get(r, "paths");
    ck_assert_uint_eq((uint64_t)num(json_array_get(ps, 0), "accepted"), n / 2);
    ck_assert_uint_eq((uint64_t)num(json_array_get(ps, 1), "accepted"), n / 4);
    ck_assert_uint_eq((uint64_t)num(json_array_get(ps, 1), "rejected"), n - n / 4);
    ck_assert_uint_eq((uint64_t)num(json_array_get(ps, 2), "accepted"), n);
    ck_assert_double_eq_tol(num(json_array_get(ps, 0), "real_ms_per_event"), 1400e-6, 1e-12);
    ck_assert_double_eq_tol(num(json_object_get(r, "latency_ms"), "max"), (NEVENTS - 1) * 1e-3, 1e-12);
    ck_assert_double_eq_tol(num(json_array_get(json_object_get(r, "groups"), 0), "cpu_fraction"),
                            300.0 / 2705.0, 1e-12);
    json_decref(r);
    mh_timing_free(t);
    mh_timing_free(other);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("timing_tsan");
    TCase *tc = tcase_create("concurrency");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, eight_threads_exact_totals);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
