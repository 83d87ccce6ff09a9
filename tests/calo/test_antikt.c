/* test_antikt.c - anti-kt against a brute-force O(n^3) reference, MET, HT. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "calo/mh_calo.h"

/* Reference: recompute every distance at every step, straight from the
 * definition. Returns the jets sorted by pt (no ptmin cut). */
typedef struct { double px, py, pz, e; unsigned n; int on; } ref_pj;

static double ref_y(const ref_pj *p) { return 0.5 * log((p->e + p->pz) / (p->e - p->pz)); }
static double ref_phi(const ref_pj *p) { return atan2(p->py, p->px); }
static double ref_kt2(const ref_pj *p) { return p->px * p->px + p->py * p->py; }

static int cmp_pt(const void *a, const void *b)
{
    const mh_jet *x = a, *y = b;
    return (x->pt < y->pt) - (x->pt > y->pt);
}

static size_t ref_antikt(const float *et, const float *eta, const float *phi, size_t n, double R,
                         mh_jet *out)
{
    ref_pj *p = calloc(n, sizeof *p);
    for (size_t i = 0; i < n; i++) {
        p[i] = (ref_pj){et[i] * cos(phi[i]), et[i] * sin(phi[i]), et[i] * sinh(eta[i]),
                        et[i] * cosh(eta[i]), 1, 1};
    }
    size_t nj = 0;
    for (;;) {
        double dmin = DBL_MAX;
        long bi = -1, bj = -1;
        for (size_t i = 0; i < n; i++) {
            if (!p[i].on)
                continue;
            double diB = 1.0 / ref_kt2(&p[i]);
            if (diB < dmin) { dmin = diB; bi = (long)i; bj = -1; }
            for (size_t j = i + 1; j < n; j++) {
                if (!p[j].on)
                    continue;
                double dy = ref_y(&p[i]) - ref_y(&p[j]);
                double dphi = mh_delta_phi(ref_phi(&p[i]), ref_phi(&p[j]));
                double dij = fmin(1.0 / ref_kt2(&p[i]), 1.0 / ref_kt2(&p[j])) *
                             (dy * dy + dphi * dphi) / (R * R);
                if (dij < dmin) { dmin = dij; bi = (long)i; bj = (long)j; }
            }
        }
        if (bi < 0)
            break;
        if (bj < 0) {
            ref_pj *q = &p[bi];
            double pt = sqrt(ref_kt2(q));
            out[nj++] = (mh_jet){(float)pt, (float)asinh(q->pz / pt), (float)ref_phi(q),
                                 (float)q->e, 0, q->n};
            q->on = 0;
        } else {
            p[bi].px += p[bj].px; p[bi].py += p[bj].py;
            p[bi].pz += p[bj].pz; p[bi].e += p[bj].e;
            p[bi].n += p[bj].n; p[bj].on = 0;
        }
    }
    free(p);
    qsort(out, nj, sizeof *out, cmp_pt);
    return nj;
}

static uint64_t rng_state;
static double urand(void)
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) * (1.0 / 9007199254740992.0);
}

/* Random events: a few hard "showers" plus soft uniform noise. */
static size_t make_event(unsigned seed, float *et, float *eta, float *phi, size_t maxn)
{
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    size_t n = 0;
    int nshow = 1 + (int)(urand() * 5);
    for (int s = 0; s < nshow && n < maxn; s++) {
        double ceta = -2.5 + 5.0 * urand(), cphi = -M_PI + 2 * M_PI * urand();
        double escale = 20 + 300 * urand();
        int k = 3 + (int)(urand() * 25);
        for (int i = 0; i < k && n < maxn; i++, n++) {
            eta[n] = (float)(ceta + 0.3 * (urand() - 0.5));
            phi[n] = (float)remainder(cphi + 0.3 * (urand() - 0.5), 2 * M_PI);
            et[n] = (float)(escale * urand() / k);
        }
    }
    while (n < maxn) {
        eta[n] = (float)(-3 + 6 * urand());
        phi[n] = (float)(-M_PI + 2 * M_PI * urand());
        et[n] = (float)(0.1 + 2 * urand());
        n++;
    }
    return n;
}

START_TEST(antikt_matches_brute_force)
{
    enum { N = 180 };
    float et[N], eta[N], phi[N];
    mh_jet fast[N], ref[N];
    size_t n = make_event((unsigned)_i + 1, et, eta, phi, 40 + (size_t)(_i * 7) % (N - 40));
    size_t nf = 0;
    ck_assert_int_eq(mh_antikt(et, eta, phi, n, 0.4, 0.0, fast, N, &nf), MH_OK);
    size_t nr = ref_antikt(et, eta, phi, n, 0.4, ref);
    ck_assert_uint_eq(nf, nr);
    unsigned total = 0;
    for (size_t i = 0; i < nf; i++) {
        ck_assert_float_eq_tol(fast[i].pt, ref[i].pt, 1e-3 * ref[i].pt + 1e-4);
        ck_assert_float_eq_tol(fast[i].eta, ref[i].eta, 1e-3);
        ck_assert_float_le(mh_delta_phi(fast[i].phi, ref[i].phi), 1e-3);
        ck_assert_uint_eq(fast[i].nconst, ref[i].nconst);
        total += fast[i].nconst;
    }
    ck_assert_uint_eq(total, n); /* every input ends in exactly one jet */
}
END_TEST

START_TEST(antikt_ptmin_cap_and_edge_cases)
{
    float et[4] = {100, 0, -5, 30}, eta[4] = {0, 1, 1, 0.1f}, phi[4] = {0, 1, 1, 0.1f};
    mh_jet j[4];
    size_t nj = 99;
    ck_assert_int_eq(mh_antikt(et, eta, phi, 4, 0.4, 0.0, j, 4, &nj), MH_OK);
    ck_assert_uint_eq(nj, 1); /* zero and negative inputs ignored; the two merge */
    ck_assert_uint_eq(j[0].nconst, 2);
    ck_assert_float_eq_tol(j[0].pt, 130, 0.2);
    ck_assert_int_eq(mh_antikt(et, eta, phi, 4, 0.4, 200.0, j, 4, &nj), MH_OK);
    ck_assert_uint_eq(nj, 0);
    float far_eta[2] = {-2, 2}, far_phi[2] = {0, 3}, far_et[2] = {10, 20};
    ck_assert_int_eq(mh_antikt(far_et, far_eta, far_phi, 2, 0.4, 0.0, j, 1, &nj), MH_OK);
    ck_assert_uint_eq(nj, 2); /* count all, write cap */
    ck_assert_float_eq_tol(j[0].pt, 20, 1e-4);
    ck_assert_int_eq(mh_antikt(NULL, NULL, NULL, 0, 0.4, 0.0, j, 1, &nj), MH_OK);
    ck_assert_uint_eq(nj, 0);
    ck_assert_int_eq(mh_antikt(et, eta, phi, 4, 0.0, 0.0, j, 4, &nj), MH_INVALID);
}
END_TEST

START_TEST(met_and_ht)
{
    float et[3] = {10, 10, 5}, phi[3] = {0, (float)M_PI_2, 0};
    float met, mphi;
    mh_met(et, phi, 3, &met, &mphi);
    ck_assert_float_eq_tol(met, sqrtf(15 * 15 + 10 * 10), 1e-4);
    ck_assert_float_eq_tol(mphi, atan2f(-10, -15), 1e-5);
    float bal[2] = {7, 7}, bphi[2] = {1, (float)(1 - M_PI)};
    mh_met(bal, bphi, 2, &met, &mphi);
    ck_assert_float_lt(met, 1e-5);
    mh_jet jets[3] = {{50, 0.5f, 0, 60, 0, 3}, {40, 2.8f, 0, 300, 0, 2}, {20, 0, 0, 20, 0, 1}};
    ck_assert_float_eq_tol(mh_ht(jets, 3, 30, 2.5f), 50, 1e-5);
    ck_assert_float_eq_tol(mh_ht(jets, 3, 10, 3.0f), 110, 1e-5);
}
END_TEST

START_TEST(delta_phi_wraps)
{
    ck_assert_double_eq_tol(mh_delta_phi(3.1, -3.1), 2 * M_PI - 6.2, 1e-12);
    ck_assert_double_eq_tol(mh_delta_phi(0.5, 0.2), 0.3, 1e-12);
    ck_assert_double_le(mh_delta_phi(-M_PI, M_PI), 1e-12);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("calo");
    TCase *tc = tcase_create("antikt");
    tcase_add_loop_test(tc, antikt_matches_brute_force, 0, 40);
    tcase_add_test(tc, antikt_ptmin_cap_and_edge_cases);
    tcase_add_test(tc, met_and_ht);
    tcase_add_test(tc, delta_phi_wraps);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
