/* test_unpack.c - the hcal_unpack plugin on known digis: charges, bin
 * widths, cells and conditions per row; every kind of bad raw data fails
 * the event with a message naming digi and channel. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fakehost.h"
#include "hcal/mh_hcal_products.h"
#include "synth.h"

static char g_cond_path[256];
static mh_hcal_conditions *g_cond;
static const mh_module_type *g_type;

static void setup(void)
{
    g_cond = synth_conditions(g_cond_path, sizeof g_cond_path);
    ck_assert_ptr_nonnull(g_cond);
    g_type = fh_type("hcal_unpack", "hcal_unpack");
    ck_assert_ptr_nonnull(g_type);
}

static void teardown(void)
{
    unlink(g_cond_path);
    mh_hcal_conditions_free(g_cond);
}

/* A module reading the test conditions. */
static void make_module(fh_module *m)
{
    static char param[300];
    snprintf(param, sizeof param, "conditions=%s", g_cond_path);
    const char *params[] = {param, NULL};
    char err[256] = "";
    mh_status st = fh_create(m, g_type, "hbheDigis", params, err, sizeof err);
    ck_assert_msg(st == MH_OK, "create: %s", err);
}

/* Three digis with hand-written ADC codes (all four QIE ranges). */
static mh_rawevent *known_event(void)
{
    mh_rawevent *ev = mh_rawevent_create();
    mh_rawevent_reserve(ev, 3, 0);
    ev->event = 42;
    ev->ndigis = 3;
    const uint32_t ch[3] = {(uint32_t)mh_hcal_channel_index(-29, 1, 3),
                            (uint32_t)mh_hcal_channel_index(1, 72, 1),
                            (uint32_t)mh_hcal_channel_index(16, 5, 4)};
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_lt(ch[i], MH_HCAL_NCHANNELS);
        ev->channel[i] = ch[i];
        for (int k = 0; k < MH_NSAMPLES; k++) {
            ev->adc[i * 10 + k] = (uint8_t)(5 + 25 * k + i);
            ev->capid[i * 10 + k] = mh_qie11_capid((uint8_t)i, k);
            ev->soi[i * 10 + k] = k == MH_SOI;
        }
    }
    return ev;
}

START_TEST(unpack_known_digis)
{
    fh_module m;
    make_module(&m);
    mh_rawevent *raw = known_event();
    mh_event ev = {.raw = raw};
    char err[256] = "";
    ck_assert_msg(fh_produce(&m, &ev, err, sizeof err) == MH_OK, "%s", err);
    const void *p = NULL;
    ck_assert_int_eq(fh_get(&ev, "hbheDigis", "", MH_HCAL_DIGIS_TYPE, &p, err, sizeof err), MH_OK);
    const mh_hcal_digis *d = p;
    ck_assert_uint_eq(d->n, 3);
    ck_assert_uint_eq(d->soi, MH_SOI);
    for (uint32_t i = 0; i < 3; i++) {
        uint32_t ch = raw->channel[i];
        const mh_hcal_cell *cell = mh_hcal_cell_at(ch);
        ck_assert_uint_eq(d->channel[i], ch);
        ck_assert_int_eq(d->ieta[i], cell->ieta);
        ck_assert_int_eq(d->iphi[i], cell->iphi);
        ck_assert_int_eq(d->depth[i], cell->depth);
        ck_assert_float_eq(d->gain[i], g_cond->gain[ch]);
        ck_assert_float_eq(d->ped_width[i], 1.5f);
        ck_assert_float_eq(d->fc_per_pe[i], 40.0f);
        for (int k = 0; k < MH_NSAMPLES; k++) {
            uint8_t a = raw->adc[i * 10 + k];
            ck_assert_float_eq(d->charge_fc[i * 10 + k], mh_qie11_fc(a) - g_cond->pedestal[ch]);
            ck_assert_float_eq(d->adc_bin_width[i * 10 + k], mh_qie11_bin_width(a));
            ck_assert_uint_eq(d->capid[i * 10 + k], raw->capid[i * 10 + k]);
        }
    }
    /* The first row's first code: 5 is in range 0 (bin width 1 unit). */
    ck_assert_float_eq_tol(d->adc_bin_width[0], MH_QIE11_UNIT_FC, 1e-5f);
    fh_event_end(&ev);
    /* An empty event gives an empty product. */
    raw->ndigis = 0;
    ck_assert_int_eq(fh_produce(&m, &ev, err, sizeof err), MH_OK);
    ck_assert_int_eq(fh_get(&ev, "hbheDigis", "", MH_HCAL_DIGIS_TYPE, &p, err, sizeof err), MH_OK);
    ck_assert_uint_eq(((const mh_hcal_digis *)p)->n, 0);
    fh_event_end(&ev);
    mh_rawevent_free(raw);
    fh_destroy(&m);
}
END_TEST

/* Each corruption of the known event and the message it must give. */
static const struct {
    int digi, ts;
    enum { BAD_CHANNEL, BAD_CAPID, BAD_ROTATION, BAD_SOI, NO_SOI, DUP } what;
    const char *msg;
} bad_cases[] = {
    {1, 0, BAD_CHANNEL, "event 42 digi 1: channel id 15840 outside 0..15839"},
    {2, 4, BAD_CAPID, "capid 7 at TS4 outside 0..3"},
    {0, 6, BAD_ROTATION, "capid 3 at TS6, expected 2 (capids must rotate)"},
    {1, 4, BAD_SOI, "SOI flag 1 at TS4 (the SOI is TS3)"},
    {2, 3, NO_SOI, "SOI flag 0 at TS3 (the SOI is TS3)"},
    {2, 0, DUP, "event 42 digi 2: channel"},
};

START_TEST(unpack_bad_digis)
{
    fh_module m;
    make_module(&m);
    mh_rawevent *raw = known_event();
    int i = bad_cases[_i].digi, k = bad_cases[_i].ts;
    switch (bad_cases[_i].what) {
    case BAD_CHANNEL: raw->channel[i] = MH_HCAL_NCHANNELS; break;
    case BAD_CAPID: raw->capid[i * 10 + k] = 7; break;
    case BAD_ROTATION: raw->capid[i * 10 + k] = 3; break;
    case BAD_SOI: raw->soi[i * 10 + k] = 1; break;
    case NO_SOI: raw->soi[i * 10 + k] = 0; break;
    case DUP: raw->channel[i] = raw->channel[0]; break;
    }
    mh_event ev = {.raw = raw};
    char err[256] = "";
    ck_assert_int_eq(fh_produce(&m, &ev, err, sizeof err), MH_CORRUPT);
    ck_assert_msg(strstr(err, bad_cases[_i].msg) != NULL, "got '%s'", err);
    ck_assert_uint_eq(ev.nprods, 0);
    /* The next good event on the same stream is fine (no stale state). */
    mh_rawevent_free(raw);
    raw = known_event();
    ev.raw = raw;
    ck_assert_msg(fh_produce(&m, &ev, err, sizeof err) == MH_OK, "%s", err);
    fh_event_end(&ev);
    mh_rawevent_free(raw);
    fh_destroy(&m);
}
END_TEST

START_TEST(unpack_bad_conditions)
{
    fh_module m;
    const char *params[] = {"conditions=/nonexistent/cond.txt", NULL};
    char err[256] = "";
    ck_assert_int_ne(fh_create(&m, g_type, "hbheDigis", params, err, sizeof err), MH_OK);
    ck_assert_msg(strncmp(err, "conditions: ", 12) == 0 && strstr(err, "/nonexistent/cond.txt"),
                  "got '%s'", err);
    fh_destroy(&m);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("hcal_unpack");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, unpack_known_digis);
    tcase_add_loop_test(tc, unpack_bad_digis, 0, sizeof bad_cases / sizeof bad_cases[0]);
    tcase_add_test(tc, unpack_bad_conditions);
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
