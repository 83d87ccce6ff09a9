/* test_sched.c - the scheduler's promises, through real runs over real
 * event files: once per event, on-demand producers before consumers, filters
 * stop paths, prescales, start-up errors, concurrency of paths, external
 * work without threads, failure policies, totals, the source options and the
 * output module. Runs under `make tsan` too (name test_sched*). */
#include "core/sched_internal.h"
#include "schedtest.h"

static const char *sample;

static void setup(void)
{
    schedT_init();
    sample = schedT_sample("sample.mhe", 40);
}

static void teardown(void)
{
    schedT_cleanup();
}

static char menu_buf[16384];

/* A menu with the sample as input and `body` (modules, paths, ...). */
static const char *menu(const char *process, const char *body)
{
    snprintf(menu_buf, sizeof menu_buf, "process: {%s}\nsource: {input: '%s'}\n%s", process,
             sample, body);
    return menu_buf;
}

START_TEST(test_once_per_event)
{
    schedT_run r;
    schedT_go(&r,
              menu("threads: 2, streams: 4",
                   "modules:\n"
                   "  a: {plugin: probe}\n"
                   "  b: {plugin: probe}\n"
                   "  c: {plugin: probe}\n"
                   "  ok: {plugin: pass}\n"
                   "paths:\n"
                   "  P1: [a, b, ok]\n"
                   "  P2: [b, a, c]\n"
                   "  P3: [c, a]\n"
                   "  P4: [a]\n"),
              NULL, 0);
    ck_assert_msg(r.create_st == MH_OK && r.run_st == MH_OK, "%s", r.err);
    ck_assert_int_eq(schedT_events(&r, "failed"), 0); /* a second call would fail the event */
    ck_assert_int_eq(schedT_calls(&r, "a"), 40);
    ck_assert_int_eq(schedT_calls(&r, "b"), 40);
    ck_assert_int_eq(schedT_calls(&r, "c"), 40);
    ck_assert_int_eq(schedT_events(&r, "accepted"), 40);
    schedT_totals(&r, 40);
    schedT_free(&r);
}
END_TEST

START_TEST(test_on_demand_order)
{
    schedT_run r;
    /* p is on no path; c consumes p; d consumes c and p and comes first on
     * its path: the framework runs p then c on demand before d. */
    schedT_go(&r,
              menu("threads: 2, streams: 3",
                   "modules:\n"
                   "  p: {plugin: probe, produces: true}\n"
                   "  c: {plugin: probe, produces: true, consumes: [p]}\n"
                   "  d: {plugin: probe, consumes: [c, p]}\n"
                   "  e: {plugin: probe, consumes: [p]}\n"
                   "paths:\n"
                   "  P1: [d, c]\n"
                   "  P2: [e]\n"),
              NULL, 0);
    ck_assert_msg(r.create_st == MH_OK && r.run_st == MH_OK, "%s", r.err);
    ck_assert_int_eq(schedT_events(&r, "failed"), 0); /* a missing product fails the event */
    ck_assert_int_eq(schedT_calls(&r, "p"), 40);
    ck_assert_int_eq(schedT_calls(&r, "c"), 40);
    ck_assert_int_eq(schedT_calls(&r, "d"), 40);
    ck_assert_int_eq(schedT_calls(&r, "e"), 40);
    schedT_free(&r);
}
END_TEST

START_TEST(test_filters_stop_paths)
{
    schedT_run r;
    schedT_go(&r,
              menu("threads: 2, streams: 2",
                   "modules:\n"
                   "  veto: {plugin: reject}\n"
                   "  ok: {plugin: pass}\n"
                   "  after_veto: {plugin: probe}\n"
                   "  after_ok: {plugin: probe}\n"
                   "  half: {plugin: random, probability: 0.5, seed: 7}\n"
                   "  none: {plugin: random, probability: 0}\n"
                   "  quarter: {plugin: prescale, n: 4, offset: 1}\n"
                   "paths:\n"
                   "  Rej: [veto, after_veto]\n"
                   "  Acc: [ok, after_ok]\n"
                   "  Half: [half]\n"
                   "  None: [none]\n"
                   "  Quarter: [quarter]\n"
                   "  Third: {modules: [ok], prescale: 3}\n"
                   "  Off: {modules: [ok], prescale: 0}\n"),
              NULL, 0);
    ck_assert_msg(r.create_st == MH_OK && r.run_st == MH_OK, "%s", r.err);
    ck_assert_int_eq(schedT_calls(&r, "after_veto"), 0);
    ck_assert_int_eq(schedT_calls(&r, "after_ok"), 40);
    ck_assert_int_eq(schedT_path_accepted(&r, "Rej"), 0);
    ck_assert_int_eq(schedT_path_accepted(&r, "Acc"), 40);
    json_int_t half = schedT_path_accepted(&r, "Half");
    ck_assert_msg(half > 8 && half < 32, "random 0.5 accepted %lld of 40", (long long)half);
    ck_assert_int_eq(schedT_path_accepted(&r, "None"), 0);
    ck_assert_int_eq(schedT_path_accepted(&r, "Quarter"), 10);
    ck_assert_int_eq(schedT_path_accepted(&r, "Third"), 14); /* serials 0, 3, ..., 39 */
    ck_assert_int_eq(schedT_path_accepted(&r, "Off"), 0);
    /* prescaled-away events are counted on their path, not lost */
    json_t *third = schedT_entry(&r, "paths", "name", "Third");
    ck_assert_int_eq(json_integer_value(json_object_get(third, "prescaled")), 26);
    ck_assert_int_eq(json_integer_value(json_object_get(third, "rejected")), 0);
    json_t *off = schedT_entry(&r, "paths", "name", "Off");
    ck_assert_int_eq(json_integer_value(json_object_get(off, "prescaled")), 40);
    json_t *quarter = schedT_entry(&r, "paths", "name", "Quarter"); /* a filter, not a prescale */
    ck_assert_int_eq(json_integer_value(json_object_get(quarter, "prescaled")), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(quarter, "rejected")), 30);
    schedT_totals(&r, 40);
    schedT_free(&r);
}
END_TEST

/* One start-up error: status and a piece of the message. */
static void expect_startup_error(const char *body, mh_status want, const char *needle)
{
    schedT_run r;
    schedT_go(&r, menu("threads: 1, streams: 1", body), NULL, 0);
    ck_assert_msg(r.create_st == want, "status %s, want %s: %s", mh_status_name(r.create_st),
                  mh_status_name(want), r.err);
    ck_assert_msg(strstr(r.err, needle), "message '%s' lacks '%s'", r.err, needle);
    schedT_free(&r);
}

START_TEST(test_startup_errors)
{
    expect_startup_error("modules:\n  a: {plugin: probe, consumes: [ghost]}\npaths:\n  P: [a]\n",
                         MH_CONFIG, "module 'a' consumes product 'ghost' (probe) but no module");
    expect_startup_error("modules:\n  a: {plugin: probe, consumes: [b]}\n  b: {plugin: probe}\n"
                         "paths:\n  P: [a]\n",
                         MH_CONFIG, "that module does not produce it");
    expect_startup_error("modules:\n"
                         "  a: {plugin: probe, produces: true, consumes: [c]}\n"
                         "  b: {plugin: probe, produces: true, consumes: [a]}\n"
                         "  c: {plugin: probe, produces: true, consumes: [b]}\n"
                         "paths:\n  P: [a]\n",
                         MH_CYCLE, "dependency cycle: a -> c -> b -> a");
    expect_startup_error("modules:\n  a: {plugin: nosuch}\npaths:\n  P: [a]\n", MH_PLUGIN,
                         "module 'a': unknown plugin 'nosuch'");
    expect_startup_error("modules:\n  a: {plugin: probe, busy_sm: 3}\npaths:\n  P: [a]\n",
                         MH_PARAM, "module 'a': unknown parameter 'busy_sm'");
    expect_startup_error("modules:\n  a: {plugin: probe, busy_ms: fast}\npaths:\n  P: [a]\n",
                         MH_PARAM, "module 'a': parameter 'busy_ms'");
    expect_startup_error("modules:\n  a: {plugin: probe, required_int: 1.5}\npaths:\n  P: [a]\n",
                         MH_PARAM, "required_int");
    expect_startup_error("modules:\n  a: {plugin: prescale}\npaths:\n  P: [a]\n", MH_PARAM,
                         "module 'a': missing required parameter 'n'");
    expect_startup_error("modules:\n  o: {plugin: output}\npaths:\n  P: [o]\n", MH_CONFIG,
                         "put it on an end path");
    /* The bad test plugins are named when a type is not found. */
    expect_startup_error("modules:\n  a: {plugin: from_abi_bad}\npaths:\n  P: [a]\n", MH_PLUGIN,
                         "abi_bad.so failed to load: plugin ABI version 99, this minihlt has version 1");
    expect_startup_error("modules:\n  a: {plugin: from_no_entry}\npaths:\n  P: [a]\n", MH_PLUGIN,
                         "no_entry.so failed to load: no entry symbol minihlt_plugin_entry");
    expect_startup_error("modules:\n  a: {plugin: from_abi_small}\npaths:\n  P: [a]\n", MH_PLUGIN,
                         "abi_small.so failed to load: module type 0: table of 24 bytes, at least");
}
END_TEST

START_TEST(test_error_location)
{
    /* Parameter errors point at the menu line and column. */
    expect_startup_error("modules:\n  a: {plugin: probe,\n      busy_sm: 3}\npaths:\n  P: [a]\n",
                         MH_PARAM, "menu.yaml:5:7:");
}
END_TEST

START_TEST(test_paths_overlap)
{
    schedT_run r;
    /* One event at a time (1 stream), two independent 20 ms modules on two
     * paths, 2 threads: they run at the same time. Five events, so that one
     * unlucky event on a loaded machine (the second thread not scheduled by
     * the OS in time) does not decide. */
    schedT_go(&r,
              menu("threads: 2, streams: 1",
                   "modules:\n"
                   "  x: {plugin: probe, busy_ms: 20}\n"
                   "  y: {plugin: probe, busy_ms: 20}\n"
                   "paths:\n  PX: [x]\n  PY: [y]\n"),
              (const char *[]){"source.events=5"}, 1);
    ck_assert_msg(r.create_st == MH_OK && r.run_st == MH_OK, "%s", r.err);
    json_int_t ox = schedT_counter(&r, "x", "overlapped"), oy = schedT_counter(&r, "y", "overlapped");
    /* The later of two overlapping calls sees the other one running. */
    ck_assert_msg(ox + oy >= 1, "no overlap in 5 events (x saw y %lld times, y saw x %lld)",
                  (long long)ox, (long long)oy);
    schedT_free(&r);
    /* With 1 thread they never overlap (the check can fail). */
    schedT_go(&r,
              menu("threads: 1, streams: 1",
                   "modules:\n"
                   "  x: {plugin: probe, busy_ms: 2}\n"
                   "  y: {plugin: probe, busy_ms: 2}\n"
                   "paths:\n  PX: [x]\n  PY: [y]\n"),
              (const char *[]){"source.events=5"}, 1);
    ck_assert_msg(r.create_st == MH_OK && r.run_st == MH_OK, "%s", r.err);
    ck_assert_int_eq(schedT_counter(&r, "x", "overlapped"), 0);
    schedT_free(&r);
}
END_TEST

START_TEST(test_async_no_thread_held)
{
    schedT_run r;
    /* 32 events waiting 50 ms each on 1 thread and 8 streams: serially 1.6 s;
     * with the waits overlapping about 4 x 50 ms. */
    schedT_go(&r,
              menu("threads: 1, streams: 8",
                   "modules:\n"
                   "  remote: {plugin: emulated_async, async_wait_ms: 50}\n"
                   "paths:\n  P: [remote]\n"),
              (const char *[]){"source.events=32"}, 1);
    ck_assert_msg(r.create_st == MH_OK && r.run_st == MH_OK, "%s", r.err);
    ck_assert_int_eq(schedT_events(&r, "processed"), 32);
    ck_assert_msg(r.wall_s < 0.8, "32 x 50 ms async took %.3f s", r.wall_s);
    json_t *m = schedT_entry(&r, "modules", "label", "remote");
    double cpu = json_real_value(json_object_get(m, "cpu_ms_per_event"));
    double wait = json_real_value(json_object_get(m, "wait_ms_per_event"));
    ck_assert_msg(cpu < 1.0, "thread CPU %.3f ms per event while waiting", cpu);
    ck_assert_msg(wait >= 49.0, "wait %.3f ms per event", wait);
    schedT_free(&r);
}
END_TEST

static const char *fail_body = "modules:\n"
                               "  bad: {plugin: emulated, mean_ms: 0, fail_every: 3}\n"
                               "  abad: {plugin: emulated_async, async_wait_ms: 1, fail_every: 4}\n"
                               "  ok: {plugin: pass}\n"
                               "paths:\n  P: [ok, bad]\n  Q: [abad]\n";

START_TEST(test_failure_skip_event)
{
    schedT_run r;
    schedT_go(&r, menu("threads: 2, streams: 4, on_error: skip-event", fail_body), NULL, 0);
    ck_assert_msg(r.create_st == MH_OK && r.run_st == MH_OK, "%s", r.err);
    /* Events 1000000..1000039: multiples of 3 or 4. */
    int want = 0;
    for (int i = 0; i < 40; i++)
        want += (1000000 + i) % 3 == 0 || (1000000 + i) % 4 == 0;
    ck_assert_int_eq(schedT_events(&r, "failed"), want);
    schedT_totals(&r, 40);
    json_t *f = json_object_get(json_object_get(r.report, "events"), "failures");
    ck_assert_int_gt(json_array_size(f), 0);
    size_t i;
    json_t *v;
    json_int_t sum = 0;
    json_array_foreach(f, i, v)
    {
        const char *mod = json_string_value(json_object_get(v, "module"));
        ck_assert_msg(!strcmp(mod, "bad") || !strcmp(mod, "abad") || !strcmp(mod, "(other)"),
                      "failure of %s", mod);
        sum += json_integer_value(json_object_get(v, "count"));
    }
    ck_assert_int_eq(sum, want);
    schedT_free(&r);
}
END_TEST

START_TEST(test_failure_stop)
{
    schedT_run r;
    schedT_go(&r, menu("threads: 2, streams: 2, on_error: stop", fail_body), NULL, 0);
    ck_assert_msg(r.create_st == MH_OK, "%s", r.err);
    ck_assert_int_eq(r.run_st, MH_MODULE);
    ck_assert_msg(strstr(r.err, "module 'abad'") || strstr(r.err, "module 'bad'"), "%s", r.err);
    ck_assert_msg(strstr(r.err, "on_error: stop"), "%s", r.err);
    json_int_t read = schedT_events(&r, "read");
    ck_assert_int_lt(read, 40); /* stopped early */
    ck_assert_int_ge(schedT_events(&r, "failed"), 1);
    schedT_totals(&r, read);
    schedT_free(&r);
}
END_TEST

START_TEST(test_source_options)
{
    schedT_run r;
    const char *body = "modules:\n  e: {plugin: emulated, mean_ms: 0}\npaths:\n  P: [e]\n";
    schedT_go(&r, menu("threads: 2, streams: 3", body),
              (const char *[]){"source.skip=5", "source.events=10"}, 2);
    ck_assert_msg(r.create_st == MH_OK && r.run_st == MH_OK, "%s", r.err);
    schedT_totals(&r, 10);
    schedT_free(&r);
    schedT_go(&r, menu("threads: 2, streams: 3", body), (const char *[]){"source.loop=3"}, 1);
    schedT_totals(&r, 120);
    schedT_free(&r);
    schedT_go(&r, menu("threads: 2, streams: 3", body),
              (const char *[]){"source.loop=2", "source.skip=35", "source.events=10"}, 3);
    schedT_totals(&r, 10); /* crosses the end of the first pass */
    schedT_free(&r);
    schedT_go(&r, menu("threads: 2, streams: 3", body), (const char *[]){"source.skip=100"}, 1);
    ck_assert_msg(r.create_st == MH_OK && r.run_st == MH_OK, "%s", r.err);
    schedT_totals(&r, 0);
    schedT_free(&r);
}
END_TEST

START_TEST(test_output_module)
{
    schedT_run r;
    char body[8192], out[PATH_MAX], err[256] = "";
    snprintf(out, sizeof out, "%s/accepted.mhe", schedT_dir);
    snprintf(body, sizeof body,
             "modules:\n"
             "  third: {plugin: prescale, n: 3}\n"
             "  all: {plugin: pass}\n"
             "  out: {plugin: output, file: '%s', select_paths: [Third]}\n"
             "paths:\n  Third: [third]\n  All: [all]\n"
             "end_paths:\n  O: [out]\n",
             out);
    schedT_go(&r, menu("threads: 2, streams: 4", body), NULL, 0);
    ck_assert_msg(r.create_st == MH_OK && r.run_st == MH_OK, "%s", r.err);
    ck_assert_int_eq(schedT_counter(&r, "out", "written"), 14);
    schedT_free(&r);
    mh_evreader *rd = NULL;
    ck_assert_msg(mh_evreader_open(out, 0, &rd, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_int_eq(mh_evreader_info(rd)->nevents, 14);
    mh_evreader_close(rd);
}
END_TEST

START_TEST(test_params_through_host)
{
    schedT_run r;
    schedT_go(&r,
              menu("threads: 1, streams: 1",
                   "modules:\n"
                   "  dflt: {plugin: params, req: r1}\n"
                   "  set: {plugin: params, req: r2, i: 0x10, d: 3, b: true, s: \"42\",\n"
                   "        l: one, m: {a: 1, b: [x, 2.5], c: {d: true}}}\n"
                   "paths:\n  P: [dflt, set]\n"),
              (const char *[]){"source.events=2"}, 1);
    ck_assert_msg(r.create_st == MH_OK && r.run_st == MH_OK, "%s", r.err);
    json_t *sec = json_object_get(r.report, "sections");
    json_t *d = json_object_get(sec, "dflt"), *s = json_object_get(sec, "set");
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_nonnull(s);
    /* defaults */
    ck_assert_int_eq(json_integer_value(json_object_get(d, "i")), 7);
    ck_assert(json_real_value(json_object_get(d, "d")) == 0.5);
    ck_assert(json_is_false(json_object_get(d, "b")));
    ck_assert_str_eq(json_string_value(json_object_get(d, "s")), "dflt");
    ck_assert_int_eq(json_array_size(json_object_get(d, "l")), 2);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(d, "l"), 1)), "y");
    ck_assert_int_eq(json_object_size(json_object_get(d, "m")), 0);
    ck_assert_str_eq(json_string_value(json_object_get(d, "req")), "r1");
    ck_assert(json_is_false(json_object_get(d, "i_set")));
    /* set values: hex int, int as double, quoted number as string, one
     * scalar as a list, a map handed on as JSON with its types */
    ck_assert_int_eq(json_integer_value(json_object_get(s, "i")), 16);
    ck_assert(json_number_value(json_object_get(s, "d")) == 3.0);
    ck_assert(json_is_true(json_object_get(s, "b")));
    ck_assert_str_eq(json_string_value(json_object_get(s, "s")), "42");
    ck_assert_int_eq(json_array_size(json_object_get(s, "l")), 1);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(s, "l"), 0)), "one");
    json_t *m = json_object_get(s, "m");
    ck_assert_int_eq(json_integer_value(json_object_get(m, "a")), 1);
    ck_assert(json_real_value(json_array_get(json_object_get(m, "b"), 1)) == 2.5);
    ck_assert(json_is_true(json_object_get(json_object_get(m, "c"), "d")));
    ck_assert(json_is_true(json_object_get(s, "i_set")) && json_is_true(json_object_get(s, "s_set")));
    /* asking for the wrong type or an unknown name gives the neutral value */
    ck_assert_int_eq(json_integer_value(json_object_get(s, "wrong_type")), 0);
    ck_assert(json_is_false(json_object_get(s, "unknown")));
    schedT_free(&r);
    expect_startup_error("modules:\n  a: {plugin: params}\npaths:\n  P: [a]\n", MH_PARAM,
                         "module 'a': missing required parameter 'req'");
    expect_startup_error("modules:\n  a: {plugin: params, req: x, m: [1]}\npaths:\n  P: [a]\n",
                         MH_PARAM, "module 'a': parameter 'm': expected a mapping");
    expect_startup_error("modules:\n  a: {plugin: params, req: x, b: yes}\npaths:\n  P: [a]\n",
                         MH_PARAM, "module 'a': parameter 'b'");
}
END_TEST

START_TEST(test_async_on_demand_producer)
{
    schedT_run r;
    /* An ExternalWork producer on no path, consumed by modules of two paths:
     * it runs once per event, before both consumers, without a thread. */
    schedT_go(&r,
              menu("threads: 2, streams: 4",
                   "modules:\n"
                   "  remote: {plugin: emulated_async, async_wait_ms: 2, produces: '-'}\n"
                   "  c1: {plugin: emulated, mean_ms: 0, product: remote, scale_with: product}\n"
                   "  c2: {plugin: emulated, mean_ms: 0, product: remote}\n"
                   "paths:\n  P1: [c1]\n  P2: [c2]\n"),
              NULL, 0);
    ck_assert_msg(r.create_st == MH_OK && r.run_st == MH_OK, "%s", r.err);
    ck_assert_int_eq(schedT_events(&r, "failed"), 0);
    ck_assert_int_eq(schedT_calls(&r, "remote"), 40);
    ck_assert_int_eq(schedT_calls(&r, "c1"), 40);
    ck_assert_int_eq(schedT_calls(&r, "c2"), 40);
    json_t *m = schedT_entry(&r, "modules", "label", "remote");
    ck_assert(json_real_value(json_object_get(m, "wait_ms_per_event")) >= 1.9);
    schedT_free(&r);
}
END_TEST

START_TEST(test_async_done_inside_acquire)
{
    schedT_run r;
    schedT_go(&r,
              menu("threads: 2, streams: 3",
                   "modules:\n  inl: {plugin: inline_async}\n  after: {plugin: probe}\n"
                   "paths:\n  P: [inl, after]\n"),
              NULL, 0);
    ck_assert_msg(r.create_st == MH_OK && r.run_st == MH_OK, "%s", r.err);
    ck_assert_int_eq(schedT_events(&r, "failed"), 20); /* the odd event numbers */
    ck_assert_int_eq(schedT_calls(&r, "after"), 20);
    json_t *f = json_array_get(json_object_get(json_object_get(r.report, "events"), "failures"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(f, "reason")), "inline failure");
    schedT_totals(&r, 40);
    schedT_free(&r);
}
END_TEST

START_TEST(test_clock)
{
    /* The module-timing clock (TSC where reliable) agrees with
     * CLOCK_MONOTONIC over a 30 ms interval. */
    mh__clock_init();
    uint64_t t0 = mh__now(), m0 = mh__clock_mono();
    while (mh__clock_mono() - m0 < 30000000u)
        ;
    uint64_t t1 = mh__now(), m1 = mh__clock_mono();
    double ratio = (double)(t1 - t0) / (double)(m1 - m0);
    ck_assert_msg(ratio > 0.99 && ratio < 1.01, "clock ratio %.4f (tsc %d)", ratio,
                  (int)mh__clock_config.use_tsc);
}
END_TEST

static Suite *sched_suite(void)
{
    Suite *s = suite_create("sched");
    TCase *tc = tcase_create("sched");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_once_per_event);
    tcase_add_test(tc, test_on_demand_order);
    tcase_add_test(tc, test_filters_stop_paths);
    tcase_add_test(tc, test_startup_errors);
    tcase_add_test(tc, test_error_location);
    tcase_add_test(tc, test_paths_overlap);
    tcase_add_test(tc, test_async_no_thread_held);
    tcase_add_test(tc, test_failure_skip_event);
    tcase_add_test(tc, test_failure_stop);
    tcase_add_test(tc, test_source_options);
    tcase_add_test(tc, test_output_module);
    tcase_add_test(tc, test_params_through_host);
    tcase_add_test(tc, test_async_on_demand_producer);
    tcase_add_test(tc, test_clock);
    tcase_add_test(tc, test_async_done_inside_acquire);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(sched_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
