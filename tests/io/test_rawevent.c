/* test_rawevent.c - mh_rawevent_equal compares by content, bit for bit,
 * as the .mhe format stores it: an event with NaN scalars equals its
 * own copy (regression: tests/fuzz/corpus/evcluster/crash-nan-pileup, found by
 * fuzz_evcluster), while signed zeros and NaN payloads are told apart. */
#include <check.h>
#include <string.h>

#include "io/mh_rawevent.h"

static float bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static mh_rawevent *make(void)
{
    mh_rawevent *ev = mh_rawevent_create();
    ck_assert_ptr_nonnull(ev);
    ck_assert_int_eq(mh_rawevent_reserve(ev, 2, 1), MH_OK);
    ev->run = 1;
    ev->event = 42;
    ev->ndigis = 2;
    for (int i = 0; i < 2 * MH_NSAMPLES; i++) {
        ev->adc[i] = (uint8_t)i;
        ev->capid[i] = (uint8_t)(i & 3);
        ev->soi[i] = 0;
    }
    for (int i = 0; i < 2; i++) {
        ev->channel[i] = (uint32_t)(7 + i);
        ev->true_e_hard[i] = ev->true_e_intime[i] = ev->true_e_oot[i] = 1.0f;
    }
    ev->ngenjets = 1;
    ev->genjets[0] = (mh_genjet){30.0f, 0.1f, 0.2f, 40.0f};
    return ev;
}

typedef struct scalar_case {
    const char *what;
    size_t field;      /* offsetof the float in mh_rawevent */
    uint32_t a, b;     /* bit patterns */
    int equal;
} scalar_case;

static const scalar_case cases[] = {
    {"same NaN pileup_true", offsetof(mh_rawevent, pileup_true), 0xFFFFFFFFu, 0xFFFFFFFFu, 1},
    {"same NaN gen_met", offsetof(mh_rawevent, gen_met), 0x7FC00123u, 0x7FC00123u, 1},
    {"same NaN gen_met_phi", offsetof(mh_rawevent, gen_met_phi), 0x7FC00000u, 0x7FC00000u, 1},
    {"NaN payloads differ", offsetof(mh_rawevent, gen_met), 0x7FC00123u, 0x7FC00124u, 0},
    {"signed zeros differ", offsetof(mh_rawevent, pileup_true), 0x80000000u, 0x00000000u, 0},
    {"plain values differ", offsetof(mh_rawevent, gen_met), 0x3F800000u, 0x40000000u, 0},
    {"plain values equal", offsetof(mh_rawevent, gen_met_phi), 0x3F800000u, 0x3F800000u, 1},
};

START_TEST(scalar_floats_compare_by_bits)
{
    const scalar_case *c = &cases[_i];
    mh_rawevent *a = make(), *b = make();
    float fa = bits(c->a), fb = bits(c->b);
    memcpy((char *)a + c->field, &fa, sizeof fa);
    memcpy((char *)b + c->field, &fb, sizeof fb);
    ck_assert_msg(mh_rawevent_equal(a, b) == c->equal, "%s", c->what);
    ck_assert_msg(mh_rawevent_equal(a, a), "%s: event equals itself", c->what);
    mh_rawevent_free(a);
    mh_rawevent_free(b);
}
END_TEST

START_TEST(copy_of_nan_event_is_equal)
{
    mh_rawevent *a = make(), *b = mh_rawevent_create();
    a->pileup_true = bits(0xFFFFFFFFu);
    a->gen_met = bits(0x7FC00001u);
    ck_assert_int_eq(mh_rawevent_copy(b, a), MH_OK);
    ck_assert(mh_rawevent_equal(a, b));
    b->capid[3] ^= 1;
    ck_assert(!mh_rawevent_equal(a, b));
    mh_rawevent_free(a);
    mh_rawevent_free(b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rawevent");
    TCase *tc = tcase_create("io");
    tcase_add_loop_test(tc, scalar_floats_compare_by_bits, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, copy_of_nan_event_is_equal);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
