/* test_hcal.c - the HBHE detector model: geometry and its indices, QIE11
 * over all 256 codes, the SiPM pulse shape and time slew, conditions (the
 * committed file, its regeneration, and every kind of damage the loader
 * must name with a line number). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gen/mh_gen.h"
#include "hcal/mh_hcal.h"

#define COND_FILE "data/conditions/MH_HBHE_Run3_v1.txt"

/* ---- geometry ----------------------------------------------------------- */

START_TEST(geometry_counts_and_round_trip)
{
    uint32_t nhb = 0, nhe = 0, per_depth[MH_HCAL_MAX_DEPTH + 1] = {0};
    for (uint32_t ch = 0; ch < MH_HCAL_NCHANNELS; ch++) {
        const mh_hcal_cell *c = mh_hcal_cell_at(ch);
        ck_assert_ptr_nonnull(c);
        ck_assert_int_eq(mh_hcal_channel_index(c->ieta, c->iphi, c->depth), (int32_t)ch);
        int a = abs(c->ieta);
        ck_assert(a >= 1 && a <= 29 && c->iphi >= 1 && c->iphi <= 72);
        if (a >= MH_HCAL_DOUBLE_PHI_IETA)
            ck_assert_msg(c->iphi & 1, "even iphi %u at ieta %d", c->iphi, c->ieta);
        if (c->subdet == MH_HCAL_HB) {
            ck_assert_msg(ch < MH_HCAL_NCHANNELS_HB, "HB channel %u after HE ones", ch);
            ck_assert(a <= 16 && c->depth <= 4);
            nhb++;
        } else {
            ck_assert_int_eq(c->subdet, MH_HCAL_HE);
            ck_assert(a >= 16 && c->depth <= 7);
            nhe++;
        }
        const mh_hcal_tower *t = mh_hcal_tower_at(c->tower);
        ck_assert_ptr_nonnull(t);
        ck_assert_int_eq(t->ieta, c->ieta);
        ck_assert_uint_eq(t->iphi, c->iphi);
        per_depth[c->depth]++;
    }
    ck_assert_uint_eq(nhb, 9072);
    ck_assert_uint_eq(nhe, 6768);
    ck_assert_uint_eq(nhb + nhe, MH_HCAL_NCHANNELS);
    ck_assert_uint_eq(per_depth[7], 2 * 3 * 36);  /* |ieta| 26-28 only */
    ck_assert_ptr_null(mh_hcal_cell_at(MH_HCAL_NCHANNELS));
}
END_TEST

START_TEST(geometry_invalid_cells)
{
    static const int bad[][3] = {
        {0, 1, 1},   {30, 1, 1},  {-30, 1, 1}, {1, 0, 1},  {1, 73, 1}, {1, 1, 0},
        {1, 1, 5},   {15, 1, 5},  {16, 1, 5},  {17, 1, 1}, {17, 1, 4}, {18, 1, 6},
        {21, 2, 1},  {-25, 72, 1}, {29, 1, 4},  {26, 1, 8}, {20, 1, 7},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(mh_hcal_channel_index(bad[i][0], bad[i][1], bad[i][2]) < 0,
                      "(%d,%d,%d) should not exist", bad[i][0], bad[i][1], bad[i][2]);
    /* ieta 16: HB depths 1-3 and the HE depth 4, all in one tower. */
    for (int d = 1; d <= 4; d++) {
        int32_t ch = mh_hcal_channel_index(-16, 7, d);
        ck_assert_int_ge(ch, 0);
        ck_assert_int_eq(mh_hcal_cell_at((uint32_t)ch)->subdet, d < 4 ? MH_HCAL_HB : MH_HCAL_HE);
    }
    int d0, d1;
    ck_assert(mh_hcal_depth_range(MH_HCAL_HE, 18, &d0, &d1) && d0 == 1 && d1 == 5);
    ck_assert(!mh_hcal_depth_range(MH_HCAL_HB, 17, &d0, &d1));
    ck_assert(!mh_hcal_depth_range(MH_HCAL_HE, 15, &d0, &d1));
}
END_TEST

START_TEST(geometry_towers)
{
    uint32_t total = 0, ch[16];
    for (uint32_t t = 0; t < MH_HCAL_NTOWERS; t++) {
        const mh_hcal_tower *tw = mh_hcal_tower_at(t);
        ck_assert_int_eq(mh_hcal_tower_index(tw->ieta, tw->iphi), (int32_t)t);
        uint32_t n = mh_hcal_tower_channels(t, ch, 16);
        ck_assert_uint_eq(n, tw->nchannels);
        ck_assert_uint_ge(n, 1);
        for (uint32_t i = 0; i < n; i++) {
            ck_assert_uint_eq(mh_hcal_cell_at(ch[i])->tower, t);
            if (i)
                ck_assert_uint_gt(mh_hcal_cell_at(ch[i])->depth, mh_hcal_cell_at(ch[i - 1])->depth);
        }
        ck_assert(fabsf(tw->eta) > tw->eta_lo && fabsf(tw->eta) < tw->eta_hi);
        ck_assert(tw->phi > -(float)M_PI && tw->phi <= (float)M_PI);
        total += n;
    }
    ck_assert_uint_eq(total, MH_HCAL_NCHANNELS);
    ck_assert_ptr_null(mh_hcal_tower_at(MH_HCAL_NTOWERS));
    ck_assert_int_lt(mh_hcal_tower_index(22, 4), 0);
    /* Centres: ring 1 is 0..0.087, iphi 1 covers 0..5 degrees; a 10-degree
     * tower iphi 71 covers 350..360 degrees (centre -5 degrees). */
    const mh_hcal_tower *t = mh_hcal_tower_at((uint32_t)mh_hcal_tower_index(1, 1));
    ck_assert_float_eq_tol(t->eta, 0.0435f, 1e-5f);
    ck_assert_float_eq_tol(t->phi, (float)(2.5 * M_PI / 180), 1e-6f);
    t = mh_hcal_tower_at((uint32_t)mh_hcal_tower_index(-25, 71));
    ck_assert_float_eq_tol(t->eta, -0.5f * (2.172f + 2.322f), 1e-5f);
    ck_assert_float_eq_tol(t->phi, (float)(-5.0 * M_PI / 180), 1e-6f);
    ck_assert_float_eq_tol(t->dphi, (float)(10.0 * M_PI / 180), 1e-6f);
    float lo, hi;
    ck_assert(mh_hcal_ring_edges(29, &lo, &hi) && lo == 2.868f && hi == 3.0f);
    ck_assert(!mh_hcal_ring_edges(30, &lo, &hi));
}
END_TEST

/* ---- QIE11 -------------------------------------------------------------- */

START_TEST(qie11_all_codes)
{
    static const int widths[4] = {1, 2, 4, 8}, counts[4] = {16, 20, 21, 7};
    for (int c = 0; c < MH_QIE11_NCODES; c++) {
        uint8_t code = (uint8_t)c;
        float q = mh_qie11_fc(code), lo = mh_qie11_low_edge(code), w = mh_qie11_bin_width(code);
        ck_assert_msg(mh_qie11_adc(q) == code, "code %d -> %g fC -> %u", c, q, mh_qie11_adc(q));
        ck_assert_uint_eq(mh_qie11_adc(lo), code);
        ck_assert_uint_eq(mh_qie11_adc(lo + 0.999f * w), code);
        ck_assert_float_eq_tol(q, lo + 0.5f * w, 1e-3f);
        /* Expected width from range and mantissa. */
        int range = c >> 6, m = c & 63, seg = 0, acc = counts[0];
        while (m >= acc)
            acc += counts[++seg];
        float want = MH_QIE11_UNIT_FC * (float)widths[seg] * (float)(1 << (3 * range));
        ck_assert_msg(fabsf(w - want) <= 1e-4f * want, "code %d width %g want %g", c, w, want);
        if (c) /* contiguous: each bin starts where the previous ends */
            ck_assert_float_eq_tol(lo, mh_qie11_low_edge(code - 1) + mh_qie11_bin_width(code - 1),
                                   1e-3f * w);
    }
    ck_assert_float_eq(mh_qie11_low_edge(0), 0.0f);
    ck_assert_uint_eq(mh_qie11_adc(-5.0f), 0);
    ck_assert_uint_eq(mh_qie11_adc(NAN), 0);
    ck_assert_uint_eq(mh_qie11_adc(1e9f), 255);
    float full = mh_qie11_low_edge(255) + mh_qie11_bin_width(255);
    ck_assert_float_eq_tol(full, 114660.0f * MH_QIE11_UNIT_FC, 1.0f);
    /* A typical pedestal of 17.3 fC sits in code 5 (15.5-18.6 fC). */
    ck_assert_uint_eq(mh_qie11_adc(17.3f), 5);
    for (int k = 0; k < 10; k++)
        ck_assert_uint_eq(mh_qie11_capid(2, k), (2 + k) % 4);
}
END_TEST

/* ---- pulse shape -------------------------------------------------------- */

START_TEST(pulse_fractions_sum_to_containment)
{
    const float *tab = mh_hcal_pulse_table();
    double s = 0;
    for (int i = 0; i < MH_HCAL_PULSE_NBINS; i++) {
        ck_assert(tab[i] >= 0.0f);
        s += tab[i];
    }
    ck_assert_double_eq_tol(s, 1.0, 1e-5);
    for (float t = -100.0f; t <= 200.0f; t += 0.37f) {
        float f[MH_NSAMPLES], sum = 0.0f;
        mh_hcal_pulse_fractions(t, f);
        for (int k = 0; k < MH_NSAMPLES; k++) {
            ck_assert_msg(f[k] >= -1e-7f, "t %g TS%d fraction %g", t, k, f[k]);
            sum += f[k];
        }
        float c = mh_hcal_pulse_containment(t);
        ck_assert_msg(fabsf(sum - c) < 2e-6f, "t %g sum %g containment %g", t, sum, c);
        ck_assert(c >= 0.0f && c <= 1.0f + 1e-6f);
    }
    /* A pulse arriving at the start of the SOI: most of it in the SOI, the
     * rest in the next samples, nothing before, nearly all contained. */
    float f[MH_NSAMPLES];
    mh_hcal_pulse_fractions(0.0f, f);
    ck_assert_float_eq(f[MH_SOI - 1], 0.0f);
    ck_assert(f[MH_SOI] > 0.65f && f[MH_SOI] < 0.85f);
    ck_assert(f[MH_SOI + 1] > 0.1f && f[MH_SOI + 1] < 0.25f);
    ck_assert(mh_hcal_pulse_containment(0.0f) > 0.99f);
    /* A pulse from crossing -4 (arrives 25 ns before TS0): only its tail. */
    ck_assert(mh_hcal_pulse_containment(-100.0f) < 0.35f);
    ck_assert(mh_hcal_pulse_containment(-100.0f) > 0.1f);
    ck_assert_float_eq(mh_hcal_pulse_cdf(-1.0f), 0.0f);
    ck_assert_float_eq(mh_hcal_pulse_cdf(1000.0f), 1.0f);
}
END_TEST

START_TEST(pulse_derivative_matches_finite_difference)
{
    /* Inside a 1-ns bin the fractions are linear in t, so a small central
     * difference that stays inside the bin is exact. */
    for (float t = -20.0f; t < 40.0f; t += 1.0f) {
        float tm = t + 0.3f, h = 0.1f, d[MH_NSAMPLES], fp[MH_NSAMPLES], fm[MH_NSAMPLES];
        mh_hcal_pulse_derivative(tm, d);
        mh_hcal_pulse_fractions(tm + h, fp);
        mh_hcal_pulse_fractions(tm - h, fm);
        for (int k = 0; k < MH_NSAMPLES; k++)
            ck_assert_msg(fabsf((fp[k] - fm[k]) / (2 * h) - d[k]) < 1e-4f, "t %g TS%d", tm, k);
    }
}
END_TEST

START_TEST(pulse_time_slew_and_mahi_table)
{
    ck_assert_float_eq(mh_hcal_time_slew(0.1f), 10.0f);
    ck_assert_float_eq(mh_hcal_time_slew(1.0f), 10.0f); /* 11.98 clamped */
    ck_assert_float_eq_tol(mh_hcal_time_slew(100.0f), 11.977461f - 1.5610227f * logf(100.0f),
                           1e-5f);
    ck_assert_float_eq(mh_hcal_time_slew(1e6f), 0.0f);
    mh_mahi_config cfg;
    mh_mahi_config_default(&cfg);
    for (float q = 0.5f; q < 1e5f; q *= 1.7f)
        ck_assert_float_eq_tol(mh_hcal_time_slew(q), mh_mahi_time_slew(&cfg, q), 1e-5f);

    char err[256];
    mh_mahi_pulse *p = malloc(sizeof *p);
    ck_assert_ptr_nonnull(p);
    ck_assert_msg(mh_hcal_pulse_mahi_table(p, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_msg(mh_mahi_config_check(&cfg, p, err, sizeof err) == MH_OK, "%s", err);
    float a[MH_NSAMPLES], b[MH_NSAMPLES];
    mh_mahi_pulse_eval(p, 5.0f, a);
    mh_hcal_pulse_fractions(5.0f, b);
    for (int k = 0; k < MH_NSAMPLES; k++)
        ck_assert_float_eq_tol(a[k], b[k], 1e-6f);
    free(p);
}
END_TEST

/* ---- conditions --------------------------------------------------------- */

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s (run from the repository root)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    b[n] = '\0';
    *len = (size_t)n;
    return b;
}

START_TEST(conditions_committed_file)
{
    char err[512] = "";
    mh_hcal_conditions *c = NULL, *g = NULL;
    ck_assert_msg(mh_hcal_conditions_load(COND_FILE, &c, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_str_eq(c->tag, MH_GEN_CONDITIONS_TAG);
    ck_assert_msg(mh_hcal_conditions_check(c, err, sizeof err) == MH_OK, "%s", err);
    double sp = 0, sw = 0, sg = 0, sf = 0;
    for (uint32_t i = 0; i < c->n; i++) {
        sp += c->pedestal[i];
        sw += c->ped_width[i];
        sg += c->gain[i];
        sf += c->fc_per_pe[i];
    }
    ck_assert_double_eq_tol(sp / c->n, 17.3, 0.05);
    ck_assert_double_eq_tol(sw / c->n, 1.5, 0.01);
    ck_assert_double_eq_tol(sg / c->n, 6.25e-4, 3e-6);
    ck_assert_double_eq_tol(sf / c->n, 40.0, 0.1);
    /* The committed file is exactly what the generator makes from its seed. */
    ck_assert_msg(mh_gen_conditions(MH_GEN_CONDITIONS_SEED, MH_GEN_CONDITIONS_TAG, &g, err,
                                    sizeof err) == MH_OK, "%s", err);
    ck_assert(!memcmp(c->pedestal, g->pedestal, c->n * sizeof(float)));
    ck_assert(!memcmp(c->ped_width, g->ped_width, c->n * sizeof(float)));
    ck_assert(!memcmp(c->gain, g->gain, c->n * sizeof(float)));
    ck_assert(!memcmp(c->fc_per_pe, g->fc_per_pe, c->n * sizeof(float)));
    char *text = NULL, *file;
    size_t len = 0, flen = 0;
    ck_assert_int_eq(mh_hcal_conditions_format(g, &text, &len, err, sizeof err), MH_OK);
    file = read_all(COND_FILE, &flen);
    ck_assert_msg(len == flen && !memcmp(text, file, len),
                  COND_FILE " differs from `minihlt gen --conditions-out`: regenerate it");
    free(text);
    free(file);
    mh_hcal_conditions_free(c);
    mh_hcal_conditions_free(g);
    /* A different seed gives different values. */
    ck_assert_int_eq(mh_gen_conditions(7, "other", &g, err, sizeof err), MH_OK);
    ck_assert_str_eq(g->tag, "other");
    mh_hcal_conditions_free(g);
    ck_assert_int_eq(mh_gen_conditions(7, "bad tag", &g, err, sizeof err), MH_INVALID);
    ck_assert_int_eq(mh_hcal_conditions_load("/nonexistent/c.txt", &c, err, sizeof err), MH_IO);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/c.txt"));
}
END_TEST

/* Damage cases: replace the first occurrence of `find` in the committed
 * file by `repl`, expect a status and an error containing `msg`. */
static const struct {
    const char *find, *repl;
    mh_status st;
    const char *msg;
} damage[] = {
    {"format minihlt-hbhe-conditions 1", "format something-else 1", MH_FORMAT, "c.txt:5: expected 'format"},
    {"format minihlt-hbhe-conditions 1", "format minihlt-hbhe-conditions 2", MH_VERSION, "c.txt:5: conditions format version 2"},
    {"tag MH_HBHE_Run3_v1\n", "tag\n", MH_FORMAT, "c.txt:6: expected one 'tag NAME'"},
    {"channels 15840", "channels 100", MH_INVALID, "c.txt:7: channels 100, the HBHE geometry has 15840"},
    {"channels 15840", "channels x", MH_FORMAT, "c.txt:7: expected one 'channels N'"},
    {"-16 1 1 17.317", "-16 1 1 17.3x7", MH_FORMAT, "c.txt:9: pedestal_fC '17.3x7' is not a number"},
    {"-16 1 1 17.317", "-16 1 1 -17.317", MH_INVALID, "c.txt:9: pedestal_fC -17.317 outside"},
    {"-16 1 1 17.317 1.583", "-16 1 1 17.317 nan", MH_INVALID, "c.txt:9: pedestal_width_fC nan outside"},
    {"-16 1 1 17.317", "-16 1 9 17.317", MH_INVALID, "c.txt:9: no HBHE cell at ieta -16 iphi 1 depth 9"},
    {"-16 1 2 ", "-16 1 1 ", MH_INVALID, "c.txt:10: channel (-16,1,1) given twice (first on line 9)"},
    {"-16 1 1 17.317 1.583 6.5611e-04 41.193\n", "-16 1 1 17.317 1.583 6.5611e-04\n", MH_FORMAT, "c.txt:9: expected 7 fields"},
    {"-16 1 1 17.317 1.583 6.5611e-04 41.193\n", "-16 1 1 17.317 1.583 6.5611e-04 41.193 9 9\n", MH_FORMAT, "got more than 7"},
    {"-16 1 1 17.317 1.583 6.5611e-04 41.193\n", "", MH_INVALID, "15839 of 15840 channels given; channel (-16,1,1) is missing"},
    {"-16 1 1 17.317 1.583 6.5611e-04", "-16 1 1 17.317 1.583 0.5", MH_INVALID, "c.txt:9: gain_GeV_per_fC 0.5 outside"},
    {"-16 1 1 17.317", "-16 one 1 17.317", MH_FORMAT, "c.txt:9: iphi 'one' is not a small integer"},
};

START_TEST(conditions_damage)
{
    size_t len = 0;
    char *file = read_all(COND_FILE, &len);
    const char *at = strstr(file, damage[_i].find);
    ck_assert_msg(at != NULL, "case %d: '%s' not in the file", _i, damage[_i].find);
    size_t pre = (size_t)(at - file), fl = strlen(damage[_i].find), rl = strlen(damage[_i].repl);
    char *text = malloc(len - fl + rl + 1);
    memcpy(text, file, pre);
    memcpy(text + pre, damage[_i].repl, rl);
    memcpy(text + pre + rl, at + fl, len - pre - fl);
    size_t tl = len - fl + rl;
    char err[512] = "";
    mh_hcal_conditions *c = (mh_hcal_conditions *)1;
    mh_status st = mh_hcal_conditions_parse(text, tl, "c.txt", &c, err, sizeof err);
    ck_assert_msg(st == damage[_i].st, "case %d: status %s (%s)", _i, mh_status_name(st), err);
    ck_assert_ptr_null(c);
    ck_assert_msg(strstr(err, damage[_i].msg) != NULL, "case %d: error '%s' lacks '%s'", _i, err,
                  damage[_i].msg);
    free(text);
    free(file);
}
END_TEST

START_TEST(conditions_degenerate_inputs)
{
    char err[512] = "";
    mh_hcal_conditions *c = NULL;
    ck_assert_int_eq(mh_hcal_conditions_parse("", 0, "e.txt", &c, err, sizeof err), MH_FORMAT);
    ck_assert_ptr_nonnull(strstr(err, "e.txt: empty"));
    ck_assert_int_eq(mh_hcal_conditions_parse("# only\n\n", 8, "e.txt", &c, err, sizeof err),
                     MH_FORMAT);
    const char nul[] = "format minihlt-hbhe-conditions 1\ntag a\0b\n";
    ck_assert_int_eq(mh_hcal_conditions_parse(nul, sizeof nul - 1, "n.txt", &c, err, sizeof err),
                     MH_FORMAT);
    ck_assert_ptr_nonnull(strstr(err, "n.txt:2: NUL byte"));
    char longl[600];
    memset(longl, 'x', sizeof longl);
    memcpy(longl, "format minihlt-hbhe-conditions 1\n", 33);
    ck_assert_int_eq(mh_hcal_conditions_parse(longl, sizeof longl, "l.txt", &c, err, sizeof err),
                     MH_FORMAT);
    ck_assert_ptr_nonnull(strstr(err, "l.txt:2: line longer than"));
    const char rowfirst[] = "format minihlt-hbhe-conditions 1\n1 1 1 17 1.5 6e-4 40\n";
    ck_assert_int_eq(mh_hcal_conditions_parse(rowfirst, sizeof rowfirst - 1, "r.txt", &c, err,
                                              sizeof err),
                     MH_FORMAT);
    ck_assert_ptr_nonnull(strstr(err, "r.txt:2: a channel row before"));
    /* Write and reload through a file. */
    mh_hcal_conditions *g = NULL;
    ck_assert_int_eq(mh_gen_conditions(3, "T3", &g, err, sizeof err), MH_OK);
    char path[] = "/tmp/mh_cond_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_msg(mh_hcal_conditions_write(g, path, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_msg(mh_hcal_conditions_load(path, &c, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_str_eq(c->tag, "T3");
    ck_assert(!memcmp(c->gain, g->gain, c->n * sizeof(float)));
    g->gain[5] = -1.0f;
    ck_assert_int_eq(mh_hcal_conditions_write(g, path, err, sizeof err), MH_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "gain_GeV_per_fC -1"));
    unlink(path);
    mh_hcal_conditions_free(c);
    mh_hcal_conditions_free(g);
    ck_assert_ptr_null(mh_hcal_conditions_create(""));
    mh_hcal_conditions_free(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hcal");
    TCase *tc = tcase_create("hcal");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, geometry_counts_and_round_trip);
    tcase_add_test(tc, geometry_invalid_cells);
    tcase_add_test(tc, geometry_towers);
    tcase_add_test(tc, qie11_all_codes);
    tcase_add_test(tc, pulse_fractions_sum_to_containment);
    tcase_add_test(tc, pulse_derivative_matches_finite_difference);
    tcase_add_test(tc, pulse_time_slew_and_mahi_table);
    tcase_add_test(tc, conditions_committed_file);
    tcase_add_loop_test(tc, conditions_damage, 0, (int)(sizeof damage / sizeof damage[0]));
    tcase_add_test(tc, conditions_degenerate_inputs);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
