/* test_gen_tsan.c - the threaded file writer of sim/gen under
 * ThreadSanitizer (`make tsan` runs test_*tsan*): 4 workers and the writing
 * thread hand clusters over through the slot window; the file must equal the
 * one written by a single worker. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "gen/mh_gen.h"
#include "io/mh_evfile.h"

START_TEST(four_workers_write_what_one_writes)
{
    char err[512], d[] = "/tmp/mh_gent_XXXXXX", p1[64], p4[64];
    ck_assert_ptr_nonnull(mkdtemp(d));
    snprintf(p1, sizeof p1, "%s/1.mhe", d);
    snprintf(p4, sizeof p4, "%s/4.mhe", d);
    mh_hcal_conditions *c = NULL;
    ck_assert_int_eq(mh_gen_conditions(MH_GEN_CONDITIONS_SEED, MH_GEN_CONDITIONS_TAG, &c, err,
                                       sizeof err), MH_OK);
    mh_gen_config cfg;
    mh_gen_config_default(&cfg);
    cfg.pileup = 0.5;
    cfg.process = MH_GEN_SINGLEPION;
    mh_gen *g = NULL;
    ck_assert_int_eq(mh_gen_create(&cfg, c, &g, err, sizeof err), MH_OK);
    /* 9 clusters of 64 (the last short) through a window of 8 slots. */
    const uint64_t n = 8 * 64 + 5;
    mh_gen_summary s1, s4;
    ck_assert_msg(mh_gen_write_file(g, n, 1, 0, p1, NULL, &s1, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_msg(mh_gen_write_file(g, n, 4, 0, p4, NULL, &s4, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_uint_eq(s1.digis, s4.digis);
    mh_evreader *r1 = NULL, *r4 = NULL;
    ck_assert_int_eq(mh_evreader_open(p1, 0, &r1, err, sizeof err), MH_OK);
    ck_assert_int_eq(mh_evreader_open(p4, 0, &r4, err, sizeof err), MH_OK);
    mh_rawevent *a = mh_rawevent_create(), *b = mh_rawevent_create();
    for (uint64_t i = 0; i < n; i++) {
        ck_assert_int_eq(mh_evreader_next(r1, a, err, sizeof err), MH_OK);
        ck_assert_int_eq(mh_evreader_next(r4, b, err, sizeof err), MH_OK);
        ck_assert_msg(mh_rawevent_equal(a, b), "event %llu", (unsigned long long)i);
        ck_assert_uint_eq(a->event, i + 1);
    }
    mh_rawevent_free(a);
    mh_rawevent_free(b);
    mh_evreader_close(r1);
    mh_evreader_close(r4);
    unlink(p1);
    unlink(p4);
    rmdir(d);
    mh_gen_free(g);
    mh_hcal_conditions_free(c);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gen_tsan");
    TCase *tc = tcase_create("gen_tsan");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, four_workers_write_what_one_writes);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
