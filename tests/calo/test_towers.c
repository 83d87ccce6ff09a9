/* test_towers.c - tower sums, jet matching and the validation histograms. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "calo/mh_calo.h"
#include "calo/mh_calo_valid.h"
#include "hcal/mh_hcal_products.h"
#include "io/mh_rawevent.h"

/* A simple stand-in geometry: eta = 0.087 * (|ieta| - 0.5) with sign,
 * phi = 5 degrees * (iphi - 0.5) wrapped into (-pi, pi]. */
static void fake_centre(void *ctx, int ieta, int iphi, float *eta, float *phi)
{
    int *calls = ctx;
    (*calls)++;
    double a = 0.087 * (abs(ieta) - 0.5);
    *eta = (float)(ieta < 0 ? -a : a);
    double p = (iphi - 0.5) * 5.0 * M_PI / 180.0;
    if (p > M_PI)
        p -= 2 * M_PI;
    *phi = (float)p;
}

static float g_work[MH_CALO_NTOWER_SLOTS];

START_TEST(towers_sum_depths)
{
    /* Three depths of (ieta 5, iphi 10), one hit at (-5, 10), one at
     * (29, 72) and one below threshold at (1, 1). */
    int32_t ieta[] = {5, 5, 5, -5, 29, 1};
    int32_t iphi[] = {10, 10, 10, 10, 72, 1};
    float e[] = {1.0f, 2.5f, 0.5f, 4.0f, 7.0f, 0.1f};
    int32_t oie[8], oip[8];
    float oeta[8], ophi[8], oe[8], oet[8];
    size_t nt = 0;
    int calls = 0;
    char err[128];
    ck_assert_int_eq(mh_calo_sum_towers(ieta, iphi, e, 6, 0.2f, fake_centre, &calls, g_work, 8,
                                        oie, oip, oeta, ophi, oe, oet, &nt, err, sizeof err),
                     MH_OK);
    ck_assert_uint_eq(nt, 3);
    ck_assert_int_eq(calls, 3);
    /* Increasing (ieta, iphi) order. */
    ck_assert_int_eq(oie[0], -5);
    ck_assert_float_eq_tol(oe[0], 4.0f, 1e-6f);
    ck_assert_int_eq(oie[1], 5);
    ck_assert_int_eq(oip[1], 10);
    ck_assert_float_eq_tol(oe[1], 4.0f, 1e-6f);
    ck_assert_float_eq_tol(oet[1], 4.0f / coshf(oeta[1]), 1e-5f);
    ck_assert_int_eq(oie[2], 29);
    ck_assert_float_eq_tol(oe[2], 7.0f, 1e-6f);
    ck_assert_float_eq_tol(oet[2], 7.0f / coshf(0.087f * 28.5f), 1e-4f); /* eta ~ 2.5 */
    /* Energy is conserved above threshold. */
    ck_assert_float_eq_tol(oe[0] + oe[1] + oe[2], 15.0f, 1e-5f);
    /* The scratch grid is zero again. */
    for (size_t i = 0; i < MH_CALO_NTOWER_SLOTS; i++)
        ck_assert(g_work[i] == 0.0f);
}
END_TEST

START_TEST(towers_reject_bad_hit)
{
    int32_t ieta[] = {3, 30};
    int32_t iphi[] = {1, 1};
    float e[] = {1, 1};
    int32_t oie[2], oip[2];
    float oeta[2], ophi[2], oe[2], oet[2];
    size_t nt = 9;
    int calls = 0;
    char err[128];
    ck_assert_int_eq(mh_calo_sum_towers(ieta, iphi, e, 2, 0.0f, fake_centre, &calls, g_work, 2,
                                        oie, oip, oeta, ophi, oe, oet, &nt, err, sizeof err),
                     MH_INVALID);
    ck_assert_str_eq(err, "hit 1: tower (ieta 30, iphi 1) outside HBHE");
    ck_assert_uint_eq(nt, 0);
    iphi[1] = 73;
    ieta[1] = 3;
    ck_assert_int_eq(mh_calo_sum_towers(ieta, iphi, e, 2, 0.0f, fake_centre, &calls, g_work, 2,
                                        oie, oip, oeta, ophi, oe, oet, &nt, err, sizeof err),
                     MH_INVALID);
    for (size_t i = 0; i < MH_CALO_NTOWER_SLOTS; i++)
        ck_assert(g_work[i] == 0.0f);
}
END_TEST

START_TEST(match_closest_once)
{
    mh_genjet gen[3] = {{100, 0.0f, 0.0f, 100}, {80, 0.05f, 0.1f, 80}, {50, 2.0f, 3.1f, 60}};
    mh_jet reco[3] = {{90, 0.02f, 0.12f, 90, 0, 3}, {70, 0.1f, -0.05f, 70, 0, 3},
                      {40, 2.1f, -3.1f, 45, 0, 2}};
    long m[3];
    mh_calo_match(&gen[0].eta, &gen[0].phi, sizeof(mh_genjet), 3, &reco[0].eta, &reco[0].phi,
                  sizeof(mh_jet), 3, 0.3, m);
    /* gen 0 takes the nearer reco 1? dR(g0,r0)=0.122, dR(g0,r1)=0.112 -> r1;
     * gen 1 then gets r0; gen 2 matches across the phi wrap. */
    ck_assert_int_eq(m[0], 1);
    ck_assert_int_eq(m[1], 0);
    ck_assert_int_eq(m[2], 2);
    mh_calo_match(&gen[0].eta, &gen[0].phi, sizeof(mh_genjet), 3, &reco[0].eta, &reco[0].phi,
                  sizeof(mh_jet), 3, 0.03, m);
    ck_assert_int_eq(m[0], -1);
    ck_assert_int_eq(m[1], -1);
    ck_assert_int_eq(m[2], -1);
}
END_TEST

START_TEST(binned_gaussian_summary)
{
    double edges[] = {0, 10, 20};
    mh_binned a, b;
    char err[128];
    ck_assert_int_eq(mh_binned_init(&a, edges, 2, 0.0, 3.0, err, sizeof err), MH_OK);
    ck_assert_int_eq(mh_binned_init(&b, edges, 2, 0.0, 3.0, err, sizeof err), MH_OK);
    /* Bin 0: Gaussian mean 1, sigma 0.1 (Box-Muller, fixed seed), split
     * over two accumulators to exercise the merge. */
    srand(7);
    for (int i = 0; i < 200000; i++) {
        double u1 = (rand() + 1.0) / (RAND_MAX + 2.0), u2 = (rand() + 1.0) / (RAND_MAX + 2.0);
        double g = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
        mh_binned_fill(i % 2 ? &a : &b, 5.0, 1.0 + 0.1 * g);
    }
    mh_binned_fill(&a, 15.0, 5.0);  /* overflow in bin 1 */
    mh_binned_fill(&a, 25.0, 1.0);  /* outside the x bins: ignored */
    mh_binned_fill(&a, 15.0, NAN);  /* ignored */
    ck_assert_int_eq(mh_binned_merge(&a, &b, err, sizeof err), MH_OK);
    mh_binned_stat st;
    mh_binned_stat_of(&a, 0, &st);
    ck_assert_uint_eq(st.n, 200000);
    ck_assert_double_eq_tol(st.mean, 1.0, 2e-3);
    ck_assert_double_eq_tol(st.rms, 0.1, 2e-3);
    ck_assert_double_eq_tol(st.median, 1.0, 5e-3);
    ck_assert_double_eq_tol(st.sigma_eff, 0.1, 5e-3);
    ck_assert_double_eq_tol(st.xmean, 5.0, 1e-9);
    mh_binned_stat_of(&a, 1, &st);
    ck_assert_uint_eq(st.n, 1);
    ck_assert_double_eq_tol(st.median, 3.0, 1e-9);
    mh_binned_stat_all(&a, &st);
    ck_assert_uint_eq(st.n, 200001);
    /* Merging different binnings is refused. */
    double other[] = {0, 10, 30};
    ck_assert_int_eq(mh_binned_init(&b, other, 2, 0.0, 3.0, err, sizeof err), MH_OK);
    ck_assert_int_eq(mh_binned_merge(&a, &b, err, sizeof err), MH_INVALID);
    double bad[] = {0, 10, 10};
    ck_assert_int_eq(mh_binned_init(&b, bad, 2, 0.0, 3.0, err, sizeof err), MH_INVALID);
    ck_assert_str_eq(err, "bin edge 2 (10) not increasing");
}
END_TEST

START_TEST(products_layout)
{
    mh_hcal_digis *d = mh_hcal_digis_create(1000);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(d->nsamples, MH_HCAL_PROD_NTS);
    /* Arrays are disjoint and inside one block: write all, read back. */
    for (uint32_t i = 0; i < 1000; i++) {
        d->channel[i] = i;
        d->ieta[i] = -(int32_t)i;
        d->gain[i] = (float)i;
        d->fc_per_pe[i] = 2.0f * (float)i;
        for (int k = 0; k < MH_HCAL_PROD_NTS; k++) {
            d->charge_fc[i * 10 + k] = (float)k;
            d->capid[i * 10 + k] = (uint8_t)(k & 3);
        }
    }
    for (uint32_t i = 0; i < 1000; i++) {
        ck_assert_uint_eq(d->channel[i], i);
        ck_assert_int_eq(d->ieta[i], -(int32_t)i);
        ck_assert_float_eq(d->gain[i], (float)i);
        ck_assert_float_eq(d->fc_per_pe[i], 2.0f * (float)i);
        ck_assert_float_eq(d->charge_fc[i * 10 + 9], 9.0f);
    }
    ck_assert_uint_eq((uintptr_t)d->charge_fc % 64, 0);
    mh_hcal_product_free(d);
    mh_hcal_rechits *r = mh_hcal_rechits_create(5, "a-very-long-algorithm-name-indeed");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->algo, "a-very-long-algorithm-n");
    ck_assert_float_eq(r->energy[4], 0.0f);
    ck_assert_float_eq(r->oot[5 * MH_HCAL_PROD_NOOT - 1], 0.0f);
    mh_hcal_product_free(r);
    mh_hcal_rechits *z = mh_hcal_rechits_create(0, "mahi");
    ck_assert_ptr_nonnull(z);
    mh_hcal_product_free(z);
    mh_hcal_product_free(NULL);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("towers");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, towers_sum_depths);
    tcase_add_test(tc, towers_reject_bad_hit);
    tcase_add_test(tc, match_closest_once);
    tcase_add_test(tc, binned_gaussian_summary);
    tcase_add_test(tc, products_layout);
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
