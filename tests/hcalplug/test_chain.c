/* test_chain.c - the FACILE plugin against the direct feature building and
 * forward pass; the calorimeter modules (towers, jets, MET, HT and their
 * filters) against sim/calo on the same inputs; the validation module's
 * report section on an event with known response. */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calo/mh_calo.h"
#include "fakehost.h"
#include "hcal/mh_hcal_products.h"
#include "ml/mh_facile.h"
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

/* A few hundred channels with pulses of varied size, in-time and not. */
static mh_rawevent *busy_event(void)
{
    mh_rawevent *ev = mh_rawevent_create();
    ev->event = 11;
    srand(3);
    for (uint32_t ch = 5; ch < MH_HCAL_NCHANNELS; ch += 53) {
        double amp[8] = {0};
        amp[3] = (rand() % 1000) * 10.0;
        amp[rand() % 8] += (rand() % 100) * 20.0;
        synth_digi(ev, g_cond, ch, amp, 0.0f, (uint8_t)(ch & 3));
    }
    return ev;
}

static void create_ok(fh_module *m, const char *plugin, const char *type, const char *label,
                      const char *const *params)
{
    char err[256] = "";
    const mh_module_type *t = fh_type(plugin, type);
    ck_assert_msg(t != NULL, "no %s in %s", type, plugin);
    ck_assert_msg(fh_create(m, t, label, params, err, sizeof err) == MH_OK, "%s: %s", label, err);
}

static const void *get_ok(mh_event *ev, const char *label, const char *type)
{
    char err[256] = "";
    const void *p = NULL;
    ck_assert_msg(fh_get(ev, label, "", type, &p, err, sizeof err) == MH_OK, "%s", err);
    return p;
}

START_TEST(facile_plugin_equals_direct)
{
    static char cond_param[300];
    snprintf(cond_param, sizeof cond_param, "conditions=%s", g_cond_path);
    const char *up[] = {cond_param, NULL};
    const char *fp[] = {"model=tests/data/facile_tiny", NULL};
    fh_module unpack, facile;
    create_ok(&unpack, "hcal_unpack", "hcal_unpack", "hbheDigis", up);
    create_ok(&facile, "hcal_facile", "hcal_facile", "hbheReco", fp);
    mh_rawevent *raw = busy_event();
    mh_event ev = {.raw = raw};
    char err[256] = "";
    ck_assert_msg(fh_produce(&unpack, &ev, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_msg(fh_produce(&facile, &ev, err, sizeof err) == MH_OK, "%s", err);
    const mh_hcal_digis *d = get_ok(&ev, "hbheDigis", MH_HCAL_DIGIS_TYPE);
    const mh_hcal_rechits *r = get_ok(&ev, "hbheReco", MH_HCAL_RECHITS_TYPE);
    ck_assert_str_eq(r->algo, "facile");
    ck_assert_uint_eq(r->n, d->n);
    ck_assert_uint_gt(r->n, 200);

    /* Direct: features, then the forward pass. */
    float *feat = malloc((size_t)d->n * MH_FACILE_NFEAT * sizeof *feat);
    float *out = malloc((size_t)d->n * sizeof *out);
    ck_assert_int_eq(mh_facile_features(d->charge_fc, 10, 0, d->gain, d->ieta, d->iphi, d->depth,
                                        d->n, feat, err, sizeof err), MH_OK);
    /* Spot-check the feature layout on row 0. */
    ck_assert_float_eq(feat[MH_FACILE_F_CHARGE + 3], d->charge_fc[3]);
    ck_assert_float_eq(feat[MH_FACILE_F_GAIN], d->gain[0]);
    ck_assert_float_eq(feat[MH_FACILE_F_IPHI], (float)d->iphi[0]);
    ck_assert_float_eq(feat[MH_FACILE_F_DEPTH + d->depth[0] - 1], 1.0f);
    ck_assert_float_eq(feat[MH_FACILE_F_IETA + abs(d->ieta[0]) - 1], 1.0f);
    mh_facile *model = NULL;
    ck_assert_int_eq(mh_facile_load("tests/data/facile_tiny", 1, &model, err, sizeof err), MH_OK);
    ck_assert_int_eq(mh_facile_forward(model, feat, d->n, out, NULL, 0, err, sizeof err), MH_OK);
    for (uint32_t i = 0; i < d->n; i++) {
        ck_assert_uint_eq(r->channel[i], d->channel[i]);
        ck_assert_float_eq(r->energy[i], out[i]);
    }
    mh_facile_free(model);
    free(feat);
    free(out);
    fh_event_end(&ev);
    mh_rawevent_free(raw);
    fh_destroy(&facile);
    fh_destroy(&unpack);
}
END_TEST

START_TEST(facile_bad_model)
{
    fh_module m;
    const mh_module_type *t = fh_type("hcal_facile", "hcal_facile");
    const char *fp[] = {"model=/nonexistent/model", NULL};
    char err[256] = "";
    ck_assert_int_ne(fh_create(&m, t, "hbheReco", fp, err, sizeof err), MH_OK);
    ck_assert_msg(strncmp(err, "model: ", 7) == 0 && strstr(err, "/nonexistent/model"), "got '%s'",
                  err);
    fh_destroy(&m);
}
END_TEST

/* Puts a rechit product "hbheReco" with the given energies on the
 * channels of raw (as a reconstruction would). */
static void put_rechits(mh_event *ev, const mh_rawevent *raw, float scale)
{
    mh_hcal_rechits *r = mh_hcal_rechits_create(raw->ndigis, "test");
    for (uint32_t i = 0; i < raw->ndigis; i++) {
        r->channel[i] = raw->channel[i];
        r->energy[i] = scale * raw->true_e_intime[i];
    }
    char err[128];
    ev->current_label = "hbheReco";
    ck_assert_int_eq(fh_put(ev, "", MH_HCAL_RECHITS_TYPE, r, mh_hcal_product_free, err, sizeof err),
                     MH_OK);
}

static void centre(void *ctx, int ieta, int iphi, float *eta, float *phi)
{
    (void)ctx;
    const mh_hcal_tower *t = mh_hcal_tower_at((uint32_t)mh_hcal_tower_index(ieta, iphi));
    *eta = t->eta;
    *phi = t->phi;
}

START_TEST(calo_chain_matches_sim_calo)
{
    mh_rawevent *raw = busy_event();
    mh_event ev = {.raw = raw};
    put_rechits(&ev, raw, 1.0f);
    const char *tp[] = {"hitThreshold=0.5", NULL};
    const char *jp[] = {"ptMin=5", "towerEtMin=0.3", NULL};
    const char *hp[] = {"ptMin=10", NULL};
    fh_module towers, jets, met, ht;
    create_ok(&towers, "calo", "calo_towers", "hltTowers", tp);
    create_ok(&jets, "calo", "calo_jets", "hltAK4Jets", jp);
    create_ok(&met, "calo", "calo_met", "hltMet", NULL);
    create_ok(&ht, "calo", "calo_ht", "hltHt", hp);
    char err[256] = "";
    ck_assert_msg(fh_produce(&towers, &ev, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_msg(fh_produce(&jets, &ev, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_msg(fh_produce(&met, &ev, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_msg(fh_produce(&ht, &ev, err, sizeof err) == MH_OK, "%s", err);
    const mh_calo_towers *t = get_ok(&ev, "hltTowers", MH_CALO_TOWERS_TYPE);
    const mh_calo_jets *j = get_ok(&ev, "hltAK4Jets", MH_CALO_JETS_TYPE);
    const mh_calo_met *m = get_ok(&ev, "hltMet", MH_CALO_MET_TYPE);
    const mh_calo_ht *h = get_ok(&ev, "hltHt", MH_CALO_HT_TYPE);

    /* Towers: energy above threshold is conserved, each tower's energy is
     * the sum of its hits, positions from the geometry. */
    double ein = 0, eout = 0;
    for (uint32_t i = 0; i < raw->ndigis; i++)
        if (raw->true_e_intime[i] >= 0.5f)
            ein += raw->true_e_intime[i];
    for (uint32_t k = 0; k < t->n; k++) {
        eout += t->e[k];
        double sum = 0;
        for (uint32_t i = 0; i < raw->ndigis; i++) {
            const mh_hcal_cell *c = mh_hcal_cell_at(raw->channel[i]);
            if (c->ieta == t->ieta[k] && c->iphi == t->iphi[k] && raw->true_e_intime[i] >= 0.5f)
                sum += raw->true_e_intime[i];
        }
        ck_assert_double_eq_tol(t->e[k], sum, 1e-3 * sum + 1e-4);
        float eta, phi;
        centre(NULL, t->ieta[k], t->iphi[k], &eta, &phi);
        ck_assert_float_eq(t->eta[k], eta);
        ck_assert_float_eq(t->phi[k], phi);
    }
    ck_assert_uint_gt(t->n, 50);
    ck_assert_double_eq_tol(eout, ein, 1e-4 * ein);

    /* Jets, MET and HT equal sim/calo on the same towers. */
    float *et = malloc(t->n * sizeof *et);
    double sumet = 0;
    for (uint32_t k = 0; k < t->n; k++) {
        et[k] = t->et[k] >= 0.3f ? t->et[k] : 0.0f;
        sumet += et[k];
    }
    mh_jet ref[512];
    size_t nref = 0;
    ck_assert_int_eq(mh_antikt(et, t->eta, t->phi, t->n, 0.4, 5.0, ref, 512, &nref), MH_OK);
    ck_assert_uint_eq(j->n, nref);
    ck_assert_uint_gt(j->n, 0);
    ck_assert_float_eq(j->R, 0.4f);
    for (uint32_t k = 0; k < j->n; k++) {
        ck_assert_float_eq(j->jets[k].pt, ref[k].pt);
        ck_assert_float_eq(j->jets[k].eta, ref[k].eta);
    }
    /* jetScale multiplies the jets; ptMin applies to the scaled pt. */
    const char *jp2[] = {"ptMin=10", "towerEtMin=0.3", "jetScale=2", NULL};
    fh_module jets2;
    create_ok(&jets2, "calo", "calo_jets", "scaledJets", jp2);
    ck_assert_msg(fh_produce(&jets2, &ev, err, sizeof err) == MH_OK, "%s", err);
    const mh_calo_jets *j2 = get_ok(&ev, "scaledJets", MH_CALO_JETS_TYPE);
    ck_assert_uint_eq(j2->n, nref); /* 2 x (pt >= 5) == (2 pt >= 10) */
    for (uint32_t k = 0; k < j2->n; k++) {
        ck_assert_float_eq_tol(j2->jets[k].pt, 2.0f * ref[k].pt, 1e-4f * ref[k].pt);
        ck_assert_float_eq_tol(j2->jets[k].e, 2.0f * ref[k].e, 1e-4f * ref[k].e);
        ck_assert_float_eq(j2->jets[k].eta, ref[k].eta);
    }
    fh_destroy(&jets2);
    float rmet, rphi;
    mh_met(et, t->phi, t->n, &rmet, &rphi);
    ck_assert_float_eq(m->met, rmet);
    ck_assert_float_eq(m->phi, rphi);
    ck_assert_double_eq_tol(m->sumet, sumet, 1e-3);
    ck_assert_float_eq(h->ht, mh_ht(ref, nref, 10.0f, 2.5f));
    free(et);

    /* Filters: thresholds just below and above the event's values. */
    struct {
        const char *type, *param_lo, *param_hi;
    } filt[3];
    static char buf[6][64];
    snprintf(buf[0], 64, "minMET=%g", m->met * 0.99);
    snprintf(buf[1], 64, "minMET=%g", m->met * 1.01 + 0.01);
    snprintf(buf[2], 64, "minHT=%g", h->ht * 0.99);
    snprintf(buf[3], 64, "minHT=%g", h->ht * 1.01 + 0.01);
    snprintf(buf[4], 64, "minPt=%g", j->jets[0].pt * 0.99);
    snprintf(buf[5], 64, "minPt=%g", j->jets[0].pt * 1.01 + 0.01);
    filt[0].type = "calo_met_filter";
    filt[1].type = "calo_ht_filter";
    filt[2].type = "calo_jet_filter";
    for (int f = 0; f < 3; f++) {
        filt[f].param_lo = buf[2 * f];
        filt[f].param_hi = buf[2 * f + 1];
        const char *lo[] = {filt[f].param_lo, "maxEta=5", NULL};
        const char *hi[] = {filt[f].param_hi, "maxEta=5", NULL};
        if (f < 2)
            lo[1] = hi[1] = NULL;
        fh_module a, b;
        create_ok(&a, "calo", filt[f].type, "fa", lo);
        create_ok(&b, "calo", filt[f].type, "fb", hi);
        ck_assert_int_eq(fh_produce(&a, &ev, err, sizeof err), MH_OK);
        ck_assert_msg(ev.pass == 1, "%s %s should pass", filt[f].type, filt[f].param_lo);
        ck_assert_int_eq(fh_produce(&b, &ev, err, sizeof err), MH_OK);
        ck_assert_msg(ev.pass == 0, "%s %s should fail", filt[f].type, filt[f].param_hi);
        fh_destroy(&a);
        fh_destroy(&b);
    }
    fh_event_end(&ev);
    mh_rawevent_free(raw);
    fh_destroy(&ht);
    fh_destroy(&met);
    fh_destroy(&jets);
    fh_destroy(&towers);
}
END_TEST

START_TEST(calo_bad_params)
{
    const mh_module_type *t = fh_type("calo", "calo_jets");
    fh_module m;
    char err[256] = "";
    const char *p1[] = {"R=0", NULL};
    ck_assert_int_eq(fh_create(&m, t, "j", p1, err, sizeof err), MH_PARAM);
    ck_assert_str_eq(err, "R: 0 outside (0.05, 2]");
    fh_destroy(&m);
    const char *p2[] = {"ptMin=-1", NULL};
    ck_assert_int_eq(fh_create(&m, t, "j", p2, err, sizeof err), MH_PARAM);
    ck_assert_str_eq(err, "ptMin: -1 must be a finite number >= 0");
    fh_destroy(&m);
    t = fh_type("calo", "calo_jet_filter");
    const char *p3[] = {"minN=0", NULL};
    ck_assert_int_eq(fh_create(&m, t, "f", p3, err, sizeof err), MH_PARAM);
    ck_assert_str_eq(err, "minN: 0 outside 1..100");
    fh_destroy(&m);
}
END_TEST

/* Validation: rechits at 0.9 x truth, reco jets at 0.8 x gen pt, two paths. */
START_TEST(validation_section)
{
    mh_rawevent *raw = busy_event();
    mh_rawevent_reserve(raw, raw->ndigis, 2);
    raw->ngenjets = 2;
    raw->genjets[0] = (mh_genjet){100.0f, 0.5f, 1.0f, 113.0f};
    raw->genjets[1] = (mh_genjet){50.0f, -1.0f, -2.0f, 77.0f};
    raw->gen_met = 30.0f;
    raw->gen_met_phi = 0.0f;
    fh_module val;
    create_ok(&val, "validation", "validation", "validation", NULL);
    ck_assert(val.ctx.truth);
    char err[256] = "";
    for (int e = 0; e < 4; e++) {
        mh_event ev = {.raw = raw, .npaths = 2, .path_names = {"HLT_A", "HLT_B"},
                       .path_acc = {1, e == 0}};
        put_rechits(&ev, raw, 0.9f);
        mh_calo_jets *j = mh_calo_jets_create(2);
        j->jets[0] = (mh_jet){80.0f, 0.52f, 1.01f, 90.0f, 0.0f, 5};
        j->jets[1] = (mh_jet){40.0f, -1.05f, -2.02f, 61.0f, 0.0f, 4};
        mh_calo_met *m = calloc(1, sizeof *m);
        m->met = 35.0f;
        m->sumet = 500.0f;
        ev.current_label = "hltAK4Jets";
        fh_put(&ev, "", MH_CALO_JETS_TYPE, j, mh_hcal_product_free, err, sizeof err);
        ev.current_label = "hltMet";
        fh_put(&ev, "", MH_CALO_MET_TYPE, m, mh_hcal_product_free, err, sizeof err);
        ck_assert_msg(fh_produce(&val, &ev, err, sizeof err) == MH_OK, "%s", err);
        fh_event_end(&ev);
    }
    ck_assert_msg(val.type->end_job(val.self, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_str_eq(val.ctx.section_name, "validation");
    json_error_t jerr;
    json_t *root = json_loads(val.ctx.section_json, 0, &jerr);
    ck_assert_msg(root != NULL, "bad JSON: %s", jerr.text);
    ck_assert_str_eq(json_string_value(json_object_get(root, "algo")), "test");
    ck_assert_int_eq(json_integer_value(json_object_get(root, "events")), 4);
    json_t *all = json_object_get(json_object_get(root, "channel_response"), "all");
    ck_assert_double_eq_tol(json_real_value(json_object_get(all, "median")), 0.9, 0.013);
    ck_assert_double_eq_tol(json_real_value(json_object_get(all, "mean")), 0.9, 1e-5);
    json_t *jr = json_object_get(root, "jet_response");
    json_t *jall = json_object_get(jr, "all");
    ck_assert_int_eq(json_integer_value(json_object_get(jall, "n")), 8);
    ck_assert_double_eq_tol(json_real_value(json_object_get(jall, "mean")), 0.8, 1e-5);
    /* gen 50 GeV is in bin [40, 60), gen 100 in [80, 120): all matched. */
    json_t *eff = json_object_get(jr, "match_efficiency");
    ck_assert_double_eq_tol(json_real_value(json_array_get(eff, 2)), 1.0, 1e-9);
    ck_assert_double_eq_tol(json_real_value(json_array_get(eff, 4)), 1.0, 1e-9);
    ck_assert(json_is_null(json_array_get(eff, 0)));
    json_t *met = json_object_get(json_object_get(root, "met"), "all");
    ck_assert_double_eq_tol(json_real_value(json_object_get(met, "mean")), 5.0, 1e-4);
    json_t *paths = json_object_get(root, "paths");
    ck_assert_uint_eq(json_array_size(paths), 2);
    ck_assert_str_eq(json_string_value(json_object_get(json_array_get(paths, 1), "name")), "HLT_B");
    ck_assert_double_eq_tol(json_real_value(json_object_get(json_array_get(paths, 0), "rate")), 1.0,
                            1e-9);
    ck_assert_double_eq_tol(json_real_value(json_object_get(json_array_get(paths, 1), "rate")), 0.25,
                            1e-9);
    json_decref(root);
    ck_assert_ptr_nonnull(strstr(val.ctx.text, "validation (test, 4 events)"));
    fh_destroy(&val);
    mh_rawevent_free(raw);
}
END_TEST

/* Runs unpack + validation with `dump` and the extra validation parameters
 * (prescale...) on busy_event(); returns the rows written (*nrows of 47
 * floats, caller frees) and the event in *raw_out (caller frees). The digi
 * product is copied into *digis_out when not NULL (caller frees). */
static float *run_dump(const char *extra1, const char *extra2, size_t *nrows,
                       mh_rawevent **raw_out, mh_hcal_digis **digis_out)
{
    static char cond_param[300], dump_param[300], path[256];
    snprintf(cond_param, sizeof cond_param, "conditions=%s", g_cond_path);
    snprintf(path, sizeof path, "/tmp/mh_test_dump_%ld.f32", (long)getpid());
    snprintf(dump_param, sizeof dump_param, "dump=%s", path);
    const char *up[] = {cond_param, NULL};
    const char *vp[] = {dump_param, extra1, extra2, NULL};
    fh_module unpack, val;
    create_ok(&unpack, "hcal_unpack", "hcal_unpack", "hbheDigis", up);
    create_ok(&val, "validation", "validation", "validation", vp);
    mh_rawevent *raw = busy_event();
    mh_event ev = {.raw = raw};
    char err[256] = "";
    ck_assert_int_eq(fh_produce(&unpack, &ev, err, sizeof err), MH_OK);
    put_rechits(&ev, raw, 1.0f);
    ev.current_label = "hltAK4Jets";
    fh_put(&ev, "", MH_CALO_JETS_TYPE, mh_calo_jets_create(0), mh_hcal_product_free, err, sizeof err);
    ev.current_label = "hltMet";
    fh_put(&ev, "", MH_CALO_MET_TYPE, calloc(1, sizeof(mh_calo_met)), mh_hcal_product_free, err,
           sizeof err);
    ck_assert_msg(fh_produce(&val, &ev, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_msg(val.type->end_job(val.self, err, sizeof err) == MH_OK, "%s", err);
    if (digis_out != NULL) {
        const mh_hcal_digis *d = get_ok(&ev, "hbheDigis", MH_HCAL_DIGIS_TYPE);
        mh_hcal_digis *c = mh_hcal_digis_create(d->n);
        memcpy(c->charge_fc, d->charge_fc, (size_t)d->n * 10 * sizeof(float));
        memcpy(c->gain, d->gain, d->n * sizeof(float));
        memcpy(c->ieta, d->ieta, d->n * sizeof(int32_t));
        memcpy(c->iphi, d->iphi, d->n * sizeof(int32_t));
        memcpy(c->depth, d->depth, d->n * sizeof(int32_t));
        *digis_out = c;
    }
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t w = MH_FACILE_NFEAT + 1;
    float *rows = malloc((raw->ndigis + 1) * w * sizeof *rows);
    *nrows = fread(rows, w * sizeof(float), raw->ndigis + 1, f);
    fclose(f);
    unlink(path);
    fh_event_end(&ev);
    fh_destroy(&val);
    fh_destroy(&unpack);
    *raw_out = raw;
    return rows;
}

START_TEST(validation_dump_rows)
{
    size_t nrows = 0, w = MH_FACILE_NFEAT + 1;
    mh_rawevent *raw = NULL;
    mh_hcal_digis *d = NULL;
    float *rows = run_dump(NULL, NULL, &nrows, &raw, &d);
    ck_assert_uint_eq(nrows, raw->ndigis);
    float feat[MH_FACILE_NFEAT];
    char err[256] = "";
    for (uint32_t i = 0; i < d->n; i += 17) {
        ck_assert_int_eq(mh_facile_features(d->charge_fc + i * 10, 10, 0, d->gain + i, d->ieta + i,
                                            d->iphi + i, d->depth + i, 1, feat, err, sizeof err),
                         MH_OK);
        ck_assert_int_eq(memcmp(rows + i * w, feat, sizeof feat), 0);
        ck_assert_float_eq(rows[i * w + MH_FACILE_NFEAT], raw->true_e_intime[i]);
    }
    free(rows);
    mh_hcal_product_free(d);
    mh_rawevent_free(raw);
}
END_TEST

/* dumpKeepAbove keeps every channel above the threshold whatever the
 * prescale; the prescale thins the others. */
START_TEST(validation_dump_keep_above)
{
    size_t nrows = 0, w = MH_FACILE_NFEAT + 1;
    mh_rawevent *raw = NULL;
    float *rows = run_dump("dumpPrescale=1000", "dumpKeepAbove=3", &nrows, &raw, NULL);
    size_t above = 0, got_above = 0;
    for (uint32_t i = 0; i < raw->ndigis; i++)
        above += raw->true_e_intime[i] >= 3.0f;
    ck_assert_uint_gt(above, 10);
    for (size_t r = 0; r < nrows; r++)
        got_above += rows[r * w + MH_FACILE_NFEAT] >= 3.0f;
    ck_assert_uint_eq(got_above, above);
    ck_assert_uint_lt(nrows, above + 5); /* 1 in 1000 of ~300 others */
    free(rows);
    mh_rawevent_free(raw);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("chain");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, facile_plugin_equals_direct);
    tcase_add_test(tc, facile_bad_model);
    tcase_add_test(tc, calo_chain_matches_sim_calo);
    tcase_add_test(tc, calo_bad_params);
    tcase_add_test(tc, validation_section);
    tcase_add_test(tc, validation_dump_rows);
    tcase_add_test(tc, validation_dump_keep_above);
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
