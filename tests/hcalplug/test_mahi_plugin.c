/* test_mahi_plugin.c - the hcal_mahi plugin equals the direct MAHI fit
 * (sim/hcal) on the unpacked digis of a synthetic event, recovers known
 * in-time energies, gives ~0 for a pure out-of-time pulse, and rejects bad
 * parameters naming them. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fakehost.h"
#include "hcal/mh_hcal_products.h"
#include "hcal/mh_mahi.h"
#include "synth.h"

static char g_cond_path[256];
static mh_hcal_conditions *g_cond;

static void setup(void)
{
    g_cond = synth_conditions(g_cond_path, sizeof g_cond_path);
    ck_assert_ptr_nonnull(g_cond);
}

static void teardown(void)
{
    unlink(g_cond_path);
    mh_hcal_conditions_free(g_cond);
}

/* In-time charges (fC) of the test channels; channel 3 has only a BX -1
 * pulse, channel 4 only BX +2, channel 5 in-time plus both. */
static const double amps[][8] = {
    {0, 0, 0, 2000, 0, 0, 0, 0},
    {0, 0, 0, 16000, 0, 0, 0, 0},
    {0, 0, 0, 80000, 0, 0, 0, 0},
    {0, 0, 3000, 0, 0, 0, 0, 0},
    {0, 0, 0, 0, 0, 4000, 0, 0},
    {0, 0, 2500, 8000, 0, 3000, 0, 0},
};
#define NCH (sizeof amps / sizeof amps[0])

static mh_rawevent *event_of_pulses(void)
{
    mh_rawevent *ev = mh_rawevent_create();
    ev->event = 7;
    for (size_t i = 0; i < NCH; i++)
        synth_digi(ev, g_cond, (uint32_t)(100 + 37 * i), amps[i], 0.0f, (uint8_t)(i & 3));
    return ev;
}

START_TEST(mahi_plugin_equals_direct_fit)
{
    char err[256] = "";
    static char cond_param[300];
    snprintf(cond_param, sizeof cond_param, "conditions=%s", g_cond_path);
    const char *up[] = {cond_param, NULL};
    fh_module unpack, mahi;
    const mh_module_type *tu = fh_type("hcal_unpack", "hcal_unpack");
    const mh_module_type *tm = fh_type("hcal_mahi", "hcal_mahi");
    ck_assert_ptr_nonnull(tu);
    ck_assert_ptr_nonnull(tm);
    ck_assert_msg(fh_create(&unpack, tu, "hbheDigis", up, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_msg(fh_create(&mahi, tm, "hbheReco", NULL, err, sizeof err) == MH_OK, "%s", err);
    mh_rawevent *raw = event_of_pulses();
    mh_event ev = {.raw = raw};
    ck_assert_msg(fh_produce(&unpack, &ev, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_msg(fh_produce(&mahi, &ev, err, sizeof err) == MH_OK, "%s", err);
    const void *pd = NULL, *pr = NULL;
    ck_assert_int_eq(fh_get(&ev, "hbheDigis", "", MH_HCAL_DIGIS_TYPE, &pd, err, sizeof err), MH_OK);
    ck_assert_int_eq(fh_get(&ev, "hbheReco", "", MH_HCAL_RECHITS_TYPE, &pr, err, sizeof err),
                     MH_OK);
    const mh_hcal_digis *d = pd;
    const mh_hcal_rechits *r = pr;
    ck_assert_str_eq(r->algo, "mahi");
    ck_assert_uint_eq(r->n, NCH);
    ck_assert(r->has_chi2 && r->has_oot);

    /* The direct fit with the CMSSW defaults and sim/hcal's pulse. */
    mh_mahi_config cfg;
    mh_mahi_config_default(&cfg);
    cfg.timeSlewTzero = MH_HCAL_SLEW_T0;
    cfg.timeSlewSlope = MH_HCAL_SLEW_SLOPE;
    cfg.timeSlewTmax = MH_HCAL_SLEW_TMAX;
    mh_mahi_pulse *pulse = malloc(sizeof *pulse);
    ck_assert_int_eq(mh_hcal_pulse_mahi_table(pulse, err, sizeof err), MH_OK);
    for (size_t i = 0; i < NCH; i++) {
        mh_mahi_result res;
        mh_mahi_fit_channel(&cfg, pulse, d->charge_fc + i * 10, d->adc_bin_width + i * 10,
                            d->ped_width[i], d->gain[i], d->fc_per_pe[i], &res);
        ck_assert_uint_eq(r->channel[i], raw->channel[i]);
        ck_assert_float_eq(r->energy[i], res.energy);
        ck_assert_float_eq(r->chi2[i], res.chi2);
        for (int k = 0; k < MH_MAHI_NOOT; k++)
            ck_assert_float_eq(r->oot[i * MH_MAHI_NOOT + k], res.oot[k]);
        ck_assert_uint_eq(r->flags[i], res.flags);
        /* Physics: in-time energy within 5% (+0.1 GeV) of the truth; a
         * channel with in-time charge is always fitted (ts4Thresh 0), one
         * whose SOI is below the pedestal may be skipped (energy 0). */
        double truth = raw->true_e_intime[i];
        if (truth > 0)
            ck_assert_msg(r->flags[i] & MH_HCAL_RH_FITTED, "channel %zu not fitted", i);
        ck_assert_msg(fabs(r->energy[i] - truth) < 0.05 * truth + 0.1,
                      "channel %zu: reco %g GeV, true %g GeV", i, r->energy[i], truth);
    }
    /* The BX -1-only pulse goes into oot slot of BX -1 (index 2). */
    ck_assert_float_gt(r->oot[3 * MH_MAHI_NOOT + mh_mahi_oot_index(-1)],
                       0.9f * (float)(3000 * d->gain[3]));
    free(pulse);
    fh_event_end(&ev);
    mh_rawevent_free(raw);
    fh_destroy(&mahi);
    fh_destroy(&unpack);
}
END_TEST

static const struct {
    const char *param;
    const char *msg;
} bad_params[] = {
    {"activeBXs=[-3, 7]", "activeBXs: '7' is not an integer in -3..4"},
    {"activeBXs=[-1, 1]", "activeBXs"},
    {"nMaxItersMin=0", "nMaxItersMin: 0 outside 1..1000"},
    {"nMaxItersNNLS=0", "nMaxItersNNLS: 0 outside 1..100000"},
    {"firstSample=3", "firstSample: 3 outside 0..2"},
    {"activeBXs=[a]", "activeBXs: 'a' is not an integer"},
};

START_TEST(mahi_bad_params)
{
    const mh_module_type *tm = fh_type("hcal_mahi", "hcal_mahi");
    ck_assert_ptr_nonnull(tm);
    const char *params[] = {bad_params[_i].param, NULL};
    fh_module m;
    char err[256] = "";
    ck_assert_int_eq(fh_create(&m, tm, "hbheReco", params, err, sizeof err), MH_PARAM);
    ck_assert_msg(strstr(err, bad_params[_i].msg) != NULL, "got '%s'", err);
    fh_destroy(&m);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hcal_mahi");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, mahi_plugin_equals_direct_fit);
    tcase_add_loop_test(tc, mahi_bad_params, 0, sizeof bad_params / sizeof bad_params[0]);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
