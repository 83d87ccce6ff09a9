/* test_gen.c - the event generator: determinism (per event and per file,
 * whatever the number of threads), the pileup mean, Run 3 occupancy and
 * out-of-time share at pileup 60, truth consistency (MAHI on generated
 * pulses gives back the true energy), zero suppression, and the committed
 * golden sample data/samples/ttbar_pu60.mhe (its metadata, and that the
 * documented command regenerates identical events).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen/mh_gen.h"
#include "hcal/mh_hcal.h"
#include "hcal/mh_mahi.h"
#include "io/mh_evfile.h"

#define GOLDEN "data/samples/ttbar_pu60.mhe"
#define GOLDEN_EVENTS 24

static mh_hcal_conditions *g_cond;

static void setup(void)
{
    char err[512];
    ck_assert_msg(mh_gen_conditions(MH_GEN_CONDITIONS_SEED, MH_GEN_CONDITIONS_TAG, &g_cond, err,
                                    sizeof err) == MH_OK, "%s", err);
}

static void teardown(void)
{
    mh_hcal_conditions_free(g_cond);
    g_cond = NULL;
}

static mh_gen *make_gen(mh_gen_process p, double pu, uint64_t seed)
{
    char err[512];
    mh_gen_config cfg;
    mh_gen_config_default(&cfg);
    cfg.process = p;
    cfg.pileup = pu;
    cfg.seed = seed;
    mh_gen *g = NULL;
    ck_assert_msg(mh_gen_create(&cfg, g_cond, &g, err, sizeof err) == MH_OK, "%s", err);
    return g;
}

static void gen_one(const mh_gen *g, mh_gen_work *w, uint64_t i, mh_rawevent *ev,
                    mh_gen_evstats *s)
{
    char err[512];
    ck_assert_msg(mh_gen_event(g, w, i, ev, s, err, sizeof err) == MH_OK, "%s", err);
}

START_TEST(same_event_whatever_order_and_work_area)
{
    mh_gen *g = make_gen(MH_GEN_TTBAR, 20, 7);
    mh_gen_work *w1 = mh_gen_work_create(), *w2 = mh_gen_work_create();
    mh_rawevent *a = mh_rawevent_create(), *b = mh_rawevent_create();
    gen_one(g, w1, 0, a, NULL);
    gen_one(g, w1, 1, a, NULL);
    gen_one(g, w1, 2, a, NULL); /* event 2 after 0 and 1 ... */
    gen_one(g, w2, 2, b, NULL); /* ... and straight away in a fresh area */
    ck_assert(mh_rawevent_equal(a, b));
    ck_assert_uint_eq(a->event, 3);
    ck_assert_uint_gt(a->ndigis, 100);
    gen_one(g, w2, 3, b, NULL);
    ck_assert(!mh_rawevent_equal(a, b));
    mh_gen *g2 = make_gen(MH_GEN_TTBAR, 20, 8); /* other seed, other event */
    gen_one(g2, w2, 2, b, NULL);
    ck_assert(!mh_rawevent_equal(a, b));
    mh_gen_free(g2);
    mh_rawevent_free(a);
    mh_rawevent_free(b);
    mh_gen_work_free(w1);
    mh_gen_work_free(w2);
    mh_gen_free(g);
}
END_TEST

/* Reads every event of two files and compares them. */
static void files_equal(const char *p1, const char *p2, uint64_t n)
{
    char err[512];
    mh_evreader *r1 = NULL, *r2 = NULL;
    ck_assert_msg(mh_evreader_open(p1, 0, &r1, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_msg(mh_evreader_open(p2, 0, &r2, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_uint_eq(mh_evreader_info(r1)->nevents, n);
    ck_assert_uint_eq(mh_evreader_info(r2)->nevents, n);
    mh_rawevent *a = mh_rawevent_create(), *b = mh_rawevent_create();
    for (uint64_t i = 0; i < n; i++) {
        ck_assert_int_eq(mh_evreader_next(r1, a, err, sizeof err), MH_OK);
        ck_assert_int_eq(mh_evreader_next(r2, b, err, sizeof err), MH_OK);
        ck_assert_msg(mh_rawevent_equal(a, b), "event %llu differs", (unsigned long long)i);
    }
    ck_assert_int_eq(mh_evreader_next(r1, a, err, sizeof err), MH_END);
    mh_rawevent_free(a);
    mh_rawevent_free(b);
    mh_evreader_close(r1);
    mh_evreader_close(r2);
}

START_TEST(same_file_for_any_thread_count)
{
    char err[512], d[] = "/tmp/mh_gen_XXXXXX", p1[64], p3[64];
    ck_assert_ptr_nonnull(mkdtemp(d));
    snprintf(p1, sizeof p1, "%s/t1.mhe", d);
    snprintf(p3, sizeof p3, "%s/t3.mhe", d);
    mh_gen *g = make_gen(MH_GEN_QCD, 2, 11);
    mh_gen_summary s1, s3;
    /* 150 events = 3 clusters, the last one short. */
    ck_assert_msg(mh_gen_write_file(g, 150, 1, 0, p1, NULL, &s1, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_msg(mh_gen_write_file(g, 150, 3, 0, p3, NULL, &s3, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_uint_eq(s1.events, 150);
    ck_assert_uint_eq(s1.digis, s3.digis);
    ck_assert_uint_eq(s1.intime_pileup, s3.intime_pileup);
    files_equal(p1, p3, 150);
    /* Metadata: the generator's settings. */
    mh_evreader *r = NULL;
    ck_assert_int_eq(mh_evreader_open(p1, 0, &r, err, sizeof err), MH_OK);
    const mh_evmeta *m = mh_evreader_info(r)->meta;
    ck_assert_str_eq(mh_evmeta_get(m, "process"), "qcd");
    ck_assert_str_eq(mh_evmeta_get(m, "pileup"), "2");
    ck_assert_str_eq(mh_evmeta_get(m, "seed"), "11");
    ck_assert_str_eq(mh_evmeta_get(m, "conditions_tag"), MH_GEN_CONDITIONS_TAG);
    ck_assert_str_eq(mh_evmeta_get(m, "event_count"), "150");
    mh_evreader_close(r);
    /* Failures leave nothing behind. */
    ck_assert_int_eq(mh_gen_write_file(g, 10, 0, 0, p1, NULL, NULL, err, sizeof err), MH_INVALID);
    ck_assert_int_eq(mh_gen_write_file(g, 10, 1, MH_GEN_MAX_EVENTS_PER_CLUSTER + 1, p1, NULL, NULL,
                                       err, sizeof err),
                     MH_INVALID);
    ck_assert_msg(strstr(err, "1025 events per cluster outside [1, 1024]"), "%s", err);
    ck_assert_int_ne(mh_gen_write_file(g, 10, 1, 0, "/nonexistent-dir/x.mhe", NULL, NULL, err,
                                       sizeof err), MH_OK);
    unlink(p1);
    unlink(p3);
    rmdir(d);
    mh_gen_free(g);
}
END_TEST

START_TEST(pileup_mean)
{
    /* 200 events at mu = 8: the in-time count is Poisson(8), so its mean
     * is 8 +- 0.2; a 5 sigma window cannot fail by chance. Also the total
     * over all 9 crossings. */
    mh_gen *g = make_gen(MH_GEN_MINBIAS, 8, 3);
    mh_gen_work *w = mh_gen_work_create();
    mh_rawevent *ev = mh_rawevent_create();
    double sum = 0, sum2 = 0, tot = 0;
    const int n = 200;
    for (int i = 0; i < n; i++) {
        mh_gen_evstats s;
        gen_one(g, w, (uint64_t)i, ev, &s);
        ck_assert_float_eq(ev->pileup_true, 8.0f);
        sum += ev->pileup_intime;
        sum2 += (double)ev->pileup_intime * ev->pileup_intime;
        tot += s.ninteractions;
    }
    double mean = sum / n, var = sum2 / n - mean * mean;
    ck_assert_msg(fabs(mean - 8.0) < 5.0 * sqrt(8.0 / n), "in-time mean %g", mean);
    ck_assert_msg(var > 4.5 && var < 12.0, "in-time variance %g (Poisson: 8)", var);
    ck_assert_msg(fabs(tot / n - 72.0) < 5.0 * sqrt(72.0 / n), "all crossings mean %g", tot / n);
    mh_rawevent_free(ev);
    mh_gen_work_free(w);
    mh_gen_free(g);
}
END_TEST

START_TEST(run3_occupancy_and_oot_share_at_pu60)
{
    mh_gen *g = make_gen(MH_GEN_TTBAR, 60, 1);
    mh_gen_work *w = mh_gen_work_create();
    mh_rawevent *ev = mh_rawevent_create();
    double digis = 0, soi_in = 0, soi_oot = 0, ehard = 0, njets = 0;
    const int n = 6;
    for (int i = 0; i < n; i++) {
        mh_gen_evstats s;
        gen_one(g, w, (uint64_t)i, ev, &s);
        digis += ev->ndigis;
        soi_in += s.soi_intime_fc;
        soi_oot += s.soi_oot_fc;
        ehard += s.e_hard;
        njets += ev->ngenjets;
        /* Digis: ascending channels, capid rotating, SOI flagged at TS3. */
        for (uint32_t d = 0; d < ev->ndigis; d++) {
            if (d)
                ck_assert_uint_gt(ev->channel[d], ev->channel[d - 1]);
            ck_assert_uint_lt(ev->channel[d], MH_HCAL_NCHANNELS);
            for (int k = 0; k < MH_NSAMPLES; k++) {
                ck_assert_uint_eq(ev->capid[d * MH_NSAMPLES + k],
                                  mh_qie11_capid(ev->capid[d * MH_NSAMPLES], k));
                ck_assert_uint_eq(ev->soi[d * MH_NSAMPLES + k], k == MH_SOI);
            }
            ck_assert(ev->true_e_hard[d] >= 0.0f && ev->true_e_oot[d] >= 0.0f);
            ck_assert(ev->true_e_intime[d] >= ev->true_e_hard[d]);
        }
    }
    double occ = digis / n / MH_HCAL_NCHANNELS, oot = soi_oot / (soi_in + soi_oot);
    ck_assert_msg(occ > 0.40 && occ < 0.80, "occupancy %g", occ);
    ck_assert_msg(oot > 0.15 && oot < 0.40, "out-of-time share of the SOI charge %g", oot);
    ck_assert_msg(ehard / n > 100 && ehard / n < 1000, "hard-scatter energy %g GeV", ehard / n);
    ck_assert_msg(njets / n >= 3, "generator jets per ttbar event %g", njets / n);
    mh_rawevent_free(ev);
    mh_gen_work_free(w);
    mh_gen_free(g);
}
END_TEST

START_TEST(no_pileup_single_pion_is_quiet_and_mahi_recovers_it)
{
    char err[256];
    mh_gen *g = make_gen(MH_GEN_SINGLEPION, 0, 5);
    mh_gen_work *w = mh_gen_work_create();
    mh_rawevent *ev = mh_rawevent_create();
    mh_mahi_pulse *pulse = malloc(sizeof *pulse);
    mh_mahi_config cfg;
    mh_mahi_config_default(&cfg);
    ck_assert_int_eq(mh_hcal_pulse_mahi_table(pulse, err, sizeof err), MH_OK);
    double etrue = 0, ereco = 0;
    for (int i = 0; i < 40; i++) {
        mh_gen_evstats s;
        gen_one(g, w, (uint64_t)i, ev, &s);
        ck_assert_uint_eq(ev->pileup_intime, 0);
        ck_assert_uint_lt(ev->ndigis, 150);
        ck_assert_double_eq(s.e_oot, 0.0);
        for (uint32_t d = 0; d < ev->ndigis; d++) {
            uint32_t ch = ev->channel[d];
            ck_assert_float_eq(ev->true_e_hard[d], ev->true_e_intime[d]);
            ck_assert_float_eq(ev->true_e_oot[d], 0.0f);
            float q[MH_NSAMPLES], bw[MH_NSAMPLES];
            for (int k = 0; k < MH_NSAMPLES; k++) {
                uint8_t a = ev->adc[d * MH_NSAMPLES + k];
                q[k] = mh_qie11_fc(a) - g_cond->pedestal[ch];
                bw[k] = mh_qie11_bin_width(a);
            }
            mh_mahi_result r;
            mh_mahi_fit_channel(&cfg, pulse, q, bw, g_cond->ped_width[ch], g_cond->gain[ch],
                                g_cond->fc_per_pe[ch], &r);
            etrue += ev->true_e_intime[d];
            ereco += r.energy;
        }
    }
    /* The fit with the generator's own pulse shape and conditions returns
     * the deposited energy (photo-statistics and ZS losses: a few %). */
    ck_assert_msg(etrue > 100.0, "pions deposited only %g GeV", etrue);
    ck_assert_msg(fabs(ereco / etrue - 1.0) < 0.06, "MAHI %g GeV vs true %g GeV", ereco, etrue);
    free(pulse);
    mh_rawevent_free(ev);
    mh_gen_work_free(w);
    mh_gen_free(g);
}
END_TEST

START_TEST(generator_jets_and_met)
{
    /* qcd without pileup: a leading generator jet near the parton pT
     * (> 30 GeV), jets sorted by pT, no neutrinos so no MET. ttbar: MET
     * from the W -> l nu neutrinos in the 54% (semi)leptonic events. */
    mh_gen *g = make_gen(MH_GEN_QCD, 0, 21);
    mh_gen_work *w = mh_gen_work_create();
    mh_rawevent *ev = mh_rawevent_create();
    int lead_ok = 0;
    const int n = 40;
    for (int i = 0; i < n; i++) {
        gen_one(g, w, (uint64_t)i, ev, NULL);
        ck_assert_uint_ge(ev->ngenjets, 1);
        for (uint32_t j = 1; j < ev->ngenjets; j++)
            ck_assert(ev->genjets[j].pt <= ev->genjets[j - 1].pt);
        for (uint32_t j = 0; j < ev->ngenjets; j++) {
            ck_assert(ev->genjets[j].pt >= 10.0f);
            ck_assert(ev->genjets[j].e >= ev->genjets[j].pt);
            ck_assert(fabsf(ev->genjets[j].phi) <= (float)M_PI);
        }
        lead_ok += ev->genjets[0].pt > 25.0f;
        ck_assert_float_eq(ev->gen_met, 0.0f);
    }
    ck_assert_msg(lead_ok >= n * 9 / 10, "%d of %d leading jets above 25 GeV", lead_ok, n);
    mh_gen_free(g);
    g = make_gen(MH_GEN_TTBAR, 0, 22);
    int met = 0;
    for (int i = 0; i < 200; i++) {
        gen_one(g, w, (uint64_t)i, ev, NULL);
        met += ev->gen_met > 20.0f;
    }
    ck_assert_msg(met > 60 && met < 130, "%d of 200 ttbar events with MET > 20 GeV", met);
    mh_gen_free(g);
    mh_rawevent_free(ev);
    mh_gen_work_free(w);
}
END_TEST

START_TEST(zero_suppression_off_keeps_every_channel)
{
    char err[256];
    mh_gen_config cfg;
    mh_gen_config_default(&cfg);
    cfg.zs_threshold_fc = 0.0f;
    mh_gen *g = NULL;
    ck_assert_int_eq(mh_gen_create(&cfg, g_cond, &g, err, sizeof err), MH_OK);
    mh_gen_work *w = mh_gen_work_create();
    mh_rawevent *ev = mh_rawevent_create();
    gen_one(g, w, 0, ev, NULL);
    ck_assert_uint_eq(ev->ndigis, MH_HCAL_NCHANNELS);
    /* Channels without true energy read the pedestal (codes 2..9 around
     * 17 fC); a few hold one photo-electron from a deposit below the 4 MeV
     * truth precision. */
    uint32_t quiet = 0, ped = 0;
    for (uint32_t d = 0; d < ev->ndigis; d++) {
        ck_assert_uint_eq(ev->channel[d], d);
        if (ev->true_e_intime[d] == 0.0f && ev->true_e_oot[d] == 0.0f) {
            quiet++;
            int ok = 1;
            for (int k = 0; k < MH_NSAMPLES; k++) {
                uint8_t a = ev->adc[d * MH_NSAMPLES + k];
                ok &= a >= 2 && a <= 9;
            }
            ped += ok;
        }
    }
    ck_assert_uint_gt(quiet, 10000);
    ck_assert_msg(ped >= 0.99 * quiet, "%u of %u quiet channels at pedestal", ped, quiet);
    mh_rawevent_free(ev);
    mh_gen_work_free(w);
    mh_gen_free(g);
}
END_TEST

START_TEST(bad_settings)
{
    char err[256];
    mh_gen_config cfg;
    mh_gen *g = NULL;
    mh_gen_config_default(&cfg);
    cfg.pileup = -1;
    ck_assert_int_eq(mh_gen_create(&cfg, g_cond, &g, err, sizeof err), MH_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "pileup -1"));
    mh_gen_config_default(&cfg);
    cfg.pion_emax = 0.5f;
    ck_assert_int_eq(mh_gen_create(&cfg, g_cond, &g, err, sizeof err), MH_INVALID);
    mh_gen_config_default(&cfg);
    g_cond->gain[7] = 0.0f;
    ck_assert_int_eq(mh_gen_create(&cfg, g_cond, &g, err, sizeof err), MH_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "gain_GeV_per_fC 0"));
    ck_assert_ptr_null(g);
    mh_gen_process p;
    ck_assert_int_eq(mh_gen_process_parse("ttbar", &p, err, sizeof err), MH_OK);
    ck_assert_int_eq(p, MH_GEN_TTBAR);
    ck_assert_str_eq(mh_gen_process_name(p), "ttbar");
    ck_assert_int_eq(mh_gen_process_parse("tt", &p, err, sizeof err), MH_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "unknown process 'tt'"));
}
END_TEST

START_TEST(golden_sample)
{
    char err[512];
    mh_evreader *r = NULL;
    ck_assert_msg(mh_evreader_open(GOLDEN, 0, &r, err, sizeof err) == MH_OK,
                  "%s (run from the repository root)", err);
    const mh_evfile_info *in = mh_evreader_info(r);
    ck_assert_uint_eq(in->nevents, GOLDEN_EVENTS);
    ck_assert_str_eq(mh_evmeta_get(in->meta, "process"), "ttbar");
    ck_assert_str_eq(mh_evmeta_get(in->meta, "pileup"), "60");
    ck_assert_str_eq(mh_evmeta_get(in->meta, "seed"), "2026");
    ck_assert_str_eq(mh_evmeta_get(in->meta, "conditions_tag"), MH_GEN_CONDITIONS_TAG);
    /* --events-per-cluster 4: six clusters of 4 events, so that damage loses
     * one cluster only and seeking has something to skip */
    ck_assert_uint_eq(in->nclusters, GOLDEN_EVENTS / 4);
    for (uint32_t c = 0; c < in->nclusters; c++) {
        uint32_t nev = 0;
        uint64_t first = 0;
        ck_assert_int_eq(mh_evreader_cluster_at(r, c, NULL, NULL, &nev, &first), MH_OK);
        ck_assert_uint_eq(nev, 4);
        ck_assert_uint_eq(first, 4 * c);
    }
    mh_evreader_close(r);
    /* The documented command (data/samples/README.md), through the library:
     * minihlt gen -n 24 --pileup 60 --process ttbar --seed 2026
     * --events-per-cluster 4, here written with the default 64 events per
     * cluster: the events must not depend on the cluster size. */
    char d[] = "/tmp/mh_gold_XXXXXX", p[64];
    ck_assert_ptr_nonnull(mkdtemp(d));
    snprintf(p, sizeof p, "%s/regen.mhe", d);
    mh_gen *g = make_gen(MH_GEN_TTBAR, 60, 2026);
    ck_assert_msg(mh_gen_write_file(g, GOLDEN_EVENTS, 2, 0, p, NULL, NULL, err, sizeof err) == MH_OK,
                  "%s", err);
    files_equal(GOLDEN, p, GOLDEN_EVENTS);
    unlink(p);
    rmdir(d);
    mh_gen_free(g);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gen");
    TCase *tc = tcase_create("gen");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, same_event_whatever_order_and_work_area);
    tcase_add_test(tc, same_file_for_any_thread_count);
    tcase_add_test(tc, pileup_mean);
    tcase_add_test(tc, run3_occupancy_and_oot_share_at_pu60);
    tcase_add_test(tc, no_pileup_single_pion_is_quiet_and_mahi_recovers_it);
    tcase_add_test(tc, generator_jets_and_met);
    tcase_add_test(tc, zero_suppression_off_keeps_every_channel);
    tcase_add_test(tc, bad_settings);
    tcase_add_test(tc, golden_sample);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
