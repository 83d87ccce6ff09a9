/* test_plugins_tsan.c - one instance of each HCAL/calo/validation module
 * driven by two threads at once, each thread one stream (as the scheduler
 * does with two streams): per-stream scratch and the validation's shared
 * state must not race (run under TSan by `make tsan`), and the validation
 * must count every event of both streams. */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fakehost.h"
#include "hcal/mh_hcal_products.h"
#include "synth.h"

#define NEV 4

static char g_cond_path[256];
static mh_hcal_conditions *g_cond;
static fh_module g_mods[7];
static const char *const g_order[7] = {"hbheDigis", "hbheReco", "hltTowers", "hltAK4Jets",
                                       "hltMet", "hltHt", "validation"};

static mh_rawevent *small_event(unsigned seed)
{
    mh_rawevent *ev = mh_rawevent_create();
    ev->event = seed;
    for (uint32_t ch = seed % 7; ch < MH_HCAL_NCHANNELS; ch += 97) {
        double amp[8] = {0};
        amp[3] = (double)((ch * 7919u + seed) % 3000);
        amp[(ch + seed) % 8] += 300.0;
        synth_digi(ev, g_cond, ch, amp, 0.0f, (uint8_t)(ch & 3));
    }
    return ev;
}

static void *stream_main(void *arg)
{
    unsigned stream = (unsigned)(uintptr_t)arg;
    for (unsigned e = 0; e < NEV; e++) {
        mh_rawevent *raw = small_event(stream * 100 + e + 1);
        mh_event ev;
        memset(&ev, 0, sizeof ev);
        ev.raw = raw;
        ev.stream = stream;
        ev.npaths = 1;
        ev.path_names[0] = "HLT_X";
        ev.path_acc[0] = (int)(e % 2);
        char err[256] = "";
        for (int m = 0; m < 7; m++) {
            mh_status st = fh_produce(&g_mods[m], &ev, err, sizeof err);
            ck_assert_msg(st == MH_OK, "%s: %s", g_order[m], err);
        }
        fh_event_end(&ev);
        mh_rawevent_free(raw);
    }
    return NULL;
}

START_TEST(two_streams_at_once)
{
    g_cond = synth_conditions(g_cond_path, sizeof g_cond_path);
    ck_assert_ptr_nonnull(g_cond);
    static char cond_param[300];
    snprintf(cond_param, sizeof cond_param, "conditions=%s", g_cond_path);
    const char *up[] = {cond_param, NULL};
    const char *jp[] = {"ptMin=5", NULL};
    struct {
        const char *plugin, *type;
        const char *const *params;
    } spec[7] = {{"hcal_unpack", "hcal_unpack", up}, {"hcal_mahi", "hcal_mahi", NULL},
                 {"calo", "calo_towers", NULL},      {"calo", "calo_jets", jp},
                 {"calo", "calo_met", NULL},         {"calo", "calo_ht", NULL},
                 {"validation", "validation", NULL}};
    char err[256] = "";
    for (int m = 0; m < 7; m++) {
        const mh_module_type *t = fh_type(spec[m].plugin, spec[m].type);
        ck_assert_ptr_nonnull(t);
        ck_assert_msg(fh_create(&g_mods[m], t, g_order[m], spec[m].params, err, sizeof err) ==
                          MH_OK,
                      "%s: %s", g_order[m], err);
    }
    pthread_t th[2];
    for (uintptr_t s = 0; s < 2; s++)
        ck_assert_int_eq(pthread_create(&th[s], NULL, stream_main, (void *)s), 0);
    for (int s = 0; s < 2; s++)
        pthread_join(th[s], NULL);
    fh_module *val = &g_mods[6];
    ck_assert_msg(val->type->end_job(val->self, err, sizeof err) == MH_OK, "%s", err);
    json_t *root = json_loads(val->ctx.section_json, 0, NULL);
    ck_assert_ptr_nonnull(root);
    ck_assert_int_eq(json_integer_value(json_object_get(root, "events")), 2 * NEV);
    ck_assert_str_eq(json_string_value(json_object_get(root, "algo")), "mahi");
    json_t *p0 = json_array_get(json_object_get(root, "paths"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(p0, "accepted")), NEV);
    json_t *all = json_object_get(json_object_get(root, "channel_response"), "all");
    ck_assert_int_gt(json_integer_value(json_object_get(all, "n")), 100);
    json_decref(root);
    for (int m = 6; m >= 0; m--)
        fh_destroy(&g_mods[m]);
    unlink(g_cond_path);
    mh_hcal_conditions_free(g_cond);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("plugins_tsan");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, two_streams_at_once);
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
