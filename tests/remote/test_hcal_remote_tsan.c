/* test_hcal_remote_tsan.c - the hcal_remote plugin (build/plugins/hcal_remote.so)
 * through the module ABI, with a small host that does what the scheduler
 * does for external work (acquire, wait for async_done from any thread,
 * then produce) and records products, counters and the report section;
 * against the in-test server of tsrv.h, a dead port and a hung socket.
 * Checks: the energies are the server's answer row by row (one request per
 * event with every channel), the CPU fallback equals the local FACILE
 * forward pass, fallback none fails the event with the reason, failover,
 * and that the counters add up. Named *_tsan: `make tsan` checks the
 * hand-off from the client I/O thread (async_done) to produce(). */
#include <check.h>
#include <dlfcn.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/mh_module.h"
#include "hcal/mh_hcal_products.h"
#include "ml/mh_facile.h"
#include "tsrv.h"

#define TINY "tests/data/facile_tiny"

/* ---------------- the host ---------------- */

typedef struct tparam {
    const char *name, *value;
} tparam;

struct mh_params {
    const mh_module_type *type;
    const tparam *given; /* NULL-name terminated */
    const char *const *servers;
    size_t nservers;
};

struct mh_module_ctx {
    char section_name[64];
    char section[2048];
    char text[1024];
};

struct mh_event {
    const mh_hcal_digis *digis;
    unsigned stream;
    mh_hcal_rechits *rechits; /* what the module put */
};

struct mh_async {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    int done;
    mh_status status;
    char msg[512];
};

static pthread_mutex_t g_count_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const COUNTERS[] = {"retries", "failovers", "failures", "fallbacks",
                                       "channels"};
static uint64_t g_count[5];

static uint64_t counter(const char *name)
{
    for (size_t i = 0; i < 5; i++)
        if (strcmp(COUNTERS[i], name) == 0) {
            pthread_mutex_lock(&g_count_lock);
            uint64_t v = g_count[i];
            pthread_mutex_unlock(&g_count_lock);
            return v;
        }
    return 0;
}

static void h_count(mh_event *ev, const char *name, uint64_t delta)
{
    (void)ev;
    for (size_t i = 0; i < 5; i++)
        if (strcmp(COUNTERS[i], name) == 0) {
            pthread_mutex_lock(&g_count_lock);
            g_count[i] += delta;
            pthread_mutex_unlock(&g_count_lock);
            return;
        }
    ck_abort_msg("unexpected counter '%s'", name);
}

static const char *pval(const mh_params *p, const char *name)
{
    for (const tparam *t = p->given; t && t->name; t++)
        if (strcmp(t->name, name) == 0)
            return t->value;
    for (size_t i = 0; i < p->type->n_params; i++)
        if (strcmp(p->type->params[i].name, name) == 0)
            return p->type->params[i].default_value;
    ck_abort_msg("the plugin read undeclared parameter '%s'", name);
    return NULL;
}

static int64_t h_param_int(const mh_params *p, const char *name)
{
    return strtoll(pval(p, name), NULL, 10);
}

static const char *h_param_string(const mh_params *p, const char *name)
{
    return pval(p, name);
}

static size_t h_param_list_size(const mh_params *p, const char *name)
{
    ck_assert_str_eq(name, "servers");
    return p->nservers;
}

static const char *h_param_list_at(const mh_params *p, const char *name, size_t i)
{
    ck_assert_str_eq(name, "servers");
    return i < p->nservers ? p->servers[i] : NULL;
}

static const char *h_module_label(const mh_module_ctx *ctx)
{
    (void)ctx;
    return "hbheReco";
}

static unsigned h_n_streams(const mh_module_ctx *ctx)
{
    (void)ctx;
    return 2;
}

static mh_status h_consumes(mh_module_ctx *ctx, const char *label, const char *instance,
                            const char *type, char *err, size_t errlen)
{
    (void)ctx;
    (void)instance;
    (void)err;
    (void)errlen;
    ck_assert_str_eq(label, "hbheDigis");
    ck_assert_str_eq(type, MH_HCAL_DIGIS_TYPE);
    return MH_OK;
}

static mh_status h_produces(mh_module_ctx *ctx, const char *instance, const char *type,
                            char *err, size_t errlen)
{
    (void)ctx;
    (void)instance;
    (void)err;
    (void)errlen;
    ck_assert_str_eq(type, MH_HCAL_RECHITS_TYPE);
    return MH_OK;
}

static unsigned h_event_stream(mh_event *ev)
{
    return ev->stream;
}

static mh_status h_get(mh_event *ev, const char *label, const char *instance, const char *type,
                       const void **data, char *err, size_t errlen)
{
    (void)instance;
    if (strcmp(label, "hbheDigis") != 0 || strcmp(type, MH_HCAL_DIGIS_TYPE) != 0)
        return mh_fail(err, errlen, MH_NOTFOUND, "no %s", label);
    *data = ev->digis;
    return MH_OK;
}

static mh_status h_put(mh_event *ev, const char *instance, const char *type, void *data,
                       void (*free_fn)(void *), char *err, size_t errlen)
{
    (void)instance;
    (void)free_fn;
    (void)err;
    (void)errlen;
    ck_assert_str_eq(type, MH_HCAL_RECHITS_TYPE);
    ev->rechits = data;
    return MH_OK;
}

static void h_async_done(mh_async *h, mh_status status, const char *msg)
{
    pthread_mutex_lock(&h->lock);
    h->done++;
    h->status = status;
    snprintf(h->msg, sizeof h->msg, "%s", msg ? msg : "");
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->lock);
}

static mh_status h_report_section(mh_module_ctx *ctx, const char *name, const char *json,
                                  char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    snprintf(ctx->section_name, sizeof ctx->section_name, "%s", name);
    snprintf(ctx->section, sizeof ctx->section, "%s", json);
    return MH_OK;
}

static void h_report_text(mh_module_ctx *ctx, const char *line)
{
    snprintf(ctx->text, sizeof ctx->text, "%s", line);
}

static mh_host HOST = {
    .abi_version = MH_MODULE_ABI_VERSION,
    .struct_size = sizeof(mh_host),
    .param_int = h_param_int,
    .param_string = h_param_string,
    .param_list_size = h_param_list_size,
    .param_list_at = h_param_list_at,
    .module_label = h_module_label,
    .n_streams = h_n_streams,
    .consumes = h_consumes,
    .produces = h_produces,
    .event_stream = h_event_stream,
    .get = h_get,
    .put = h_put,
    .async_done = h_async_done,
    .count = h_count,
    .report_section = h_report_section,
    .report_text = h_report_text,
};

static const mh_module_type *plugin_type(void)
{
    const char *build = getenv("MINIHLT_BUILD");
    char path[512];
    snprintf(path, sizeof path, "%s/plugins/hcal_remote.so", build && *build ? build : "build");
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(h != NULL, "%s", dlerror());
    mh_plugin_entry_fn entry;
    *(void **)&entry = dlsym(h, MH_PLUGIN_ENTRY_NAME);
    ck_assert(entry != NULL);
    const mh_plugin *pl = entry();
    ck_assert_int_eq(pl->n_types, 1);
    ck_assert_str_eq(pl->types[0]->name, "hcal_remote");
    return pl->types[0];
}

/* ---------------- events ---------------- */

static mh_hcal_digis *make_digis(uint32_t n, unsigned seed)
{
    mh_hcal_digis *d = mh_hcal_digis_create(n);
    ck_assert(d != NULL);
    d->soi = 3;
    for (uint32_t i = 0; i < n; i++) {
        d->channel[i] = i * 7 + seed;
        d->ieta[i] = (int32_t)((i + seed) % 29 + 1) * ((i & 1) ? -1 : 1);
        d->iphi[i] = (int32_t)((i * 5 + seed) % 72 + 1);
        d->depth[i] = (int32_t)(i % 7 + 1);
        d->gain[i] = 0.005f + 0.0001f * (float)(i % 13);
        for (uint32_t t = 0; t < d->nsamples; t++)
            d->charge_fc[i * d->nsamples + t] =
                (float)(((i + 1) * (t + 3) * 37 + seed) % 5000) * 0.5f - 100.0f;
    }
    return d;
}

/* The features the plugin must have sent (mh_facile_features, firstSample 0). */
static float *features_of(const mh_hcal_digis *d)
{
    float *f = malloc(((size_t)d->n + 1) * MH_FACILE_NFEAT * sizeof *f);
    char err[256];
    ck_assert(mh_facile_features(d->charge_fc, d->nsamples, 0, d->gain, d->ieta, d->iphi,
                                 d->depth, d->n, f, err, sizeof err) == MH_OK);
    return f;
}

typedef struct run {
    mh_event ev;
    mh_async async;
    mh_status acquire_st, produce_st;
    char err[512];
} run;

/* What the scheduler does for one event with external work. */
static void run_event(const mh_module_type *t, void *self, const mh_hcal_digis *d,
                      unsigned stream, run *r)
{
    memset(r, 0, sizeof *r);
    r->ev.digis = d;
    r->ev.stream = stream;
    pthread_mutex_init(&r->async.lock, NULL);
    pthread_cond_init(&r->async.cv, NULL);
    r->acquire_st = t->acquire(self, &r->ev, &r->async, r->err, sizeof r->err);
    if (r->acquire_st != MH_OK)
        return;
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 8;
    pthread_mutex_lock(&r->async.lock);
    while (!r->async.done)
        ck_assert_msg(pthread_cond_timedwait(&r->async.cv, &r->async.lock, &dl) == 0,
                      "async_done never called");
    pthread_mutex_unlock(&r->async.lock);
    ck_assert_int_eq(r->async.done, 1);
    if (r->async.status == MH_OK)
        r->produce_st = t->produce(self, &r->ev, r->err, sizeof r->err);
}

/* A fresh module instance (and fresh counters) for one test. */
static void *create_ok(const mh_module_type **tp, mh_module_ctx *ctx, const tparam *given,
                       const char *const *servers, size_t nservers)
{
    pthread_mutex_lock(&g_count_lock);
    memset(g_count, 0, sizeof g_count);
    pthread_mutex_unlock(&g_count_lock);
    memset(ctx, 0, sizeof *ctx);
    const mh_module_type *t = *tp = plugin_type();
    mh_params p = {t, given, servers, nservers};
    void *self = NULL;
    char err[512] = "";
    mh_status st = t->create(&HOST, ctx, &p, &self, err, sizeof err);
    ck_assert_msg(st == MH_OK, "create: %s", err);
    return self;
}

/* ---------------- tests ---------------- */

START_TEST(served_remotely)
{
    tsrv *s = tsrv_start(M_OK);
    const char *servers[] = {s->url};
    const tparam given[] = {{"fallback", "none"}, {NULL, NULL}};
    const mh_module_type *t;
    mh_module_ctx ctx;
    void *self = create_ok(&t, &ctx, given, servers, 1);
    for (unsigned e = 0; e < 4; e++) {
        mh_hcal_digis *d = make_digis(150 + 50 * e, e);
        run r;
        run_event(t, self, d, e % 2, &r);
        ck_assert_msg(r.acquire_st == MH_OK && r.async.status == MH_OK && r.produce_st == MH_OK,
                      "%s %s", r.err, r.async.msg);
        mh_hcal_rechits *rh = r.ev.rechits;
        ck_assert_int_eq(rh->n, d->n);
        float *f = features_of(d);
        for (uint32_t i = 0; i < d->n; i++) {
            double sum = 0;
            for (int k = 0; k < MH_FACILE_NFEAT; k++)
                sum += f[(size_t)i * MH_FACILE_NFEAT + k];
            ck_assert_msg(rh->energy[i] == (float)sum, "event %u row %u", e, i);
            ck_assert_int_eq(rh->channel[i], d->channel[i]);
        }
        free(f);
        mh_hcal_product_free(rh);
        mh_hcal_product_free(d);
    }
    /* one request per event */
    ck_assert_int_eq(atomic_load(&s->hits), 4);
    ck_assert_int_eq(counter("channels"), 150 + 200 + 250 + 300);
    ck_assert_int_eq(counter("failures") + counter("fallbacks") + counter("retries"), 0);
    ck_assert(t->end_job(self, NULL, 0) == MH_OK);
    ck_assert_str_eq(ctx.section_name, "remote:hbheReco");
    json_t *j = json_loads(ctx.section, 0, NULL);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "requests")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "succeeded")), 4);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "connects")), 1);
    json_decref(j);
    ck_assert_msg(strstr(ctx.text, "4 remote requests") && strstr(ctx.text, s->url), "%s",
                  ctx.text);
    t->destroy(self);
    tsrv_stop(s);
}
END_TEST

START_TEST(cpu_fallback_equals_local_forward)
{
    char dead[64];
    dead_url(dead, sizeof dead);
    const char *servers[] = {dead};
    const tparam given[] = {
        {"fallback", "cpu"}, {"model_dir", TINY}, {"retries", "1"}, {NULL, NULL}};
    const mh_module_type *t;
    mh_module_ctx ctx;
    void *self = create_ok(&t, &ctx, given, servers, 1);
    mh_hcal_digis *d = make_digis(200, 3);
    run r;
    run_event(t, self, d, 1, &r);
    ck_assert_msg(r.async.status == MH_OK && r.produce_st == MH_OK, "%s", r.err);
    mh_facile *m = NULL;
    char err[256];
    ck_assert(mh_facile_load(TINY, 1, &m, err, sizeof err) == MH_OK);
    float *f = features_of(d);
    float *want = malloc(d->n * sizeof *want);
    ck_assert(mh_facile_forward(m, f, d->n, want, NULL, 0, err, sizeof err) == MH_OK);
    for (uint32_t i = 0; i < d->n; i++)
        ck_assert_msg(r.ev.rechits->energy[i] == want[i], "row %u", i);
    ck_assert_int_eq(counter("failures"), 1);
    ck_assert_int_eq(counter("fallbacks"), 1);
    ck_assert_int_eq(counter("retries"), 1);
    ck_assert_int_eq(counter("failovers"), 0);
    free(want);
    free(f);
    mh_facile_free(m);
    mh_hcal_product_free(r.ev.rechits);
    mh_hcal_product_free(d);
    t->destroy(self);
}
END_TEST

START_TEST(fallback_none_fails_the_event)
{
    char url[64];
    int fd = hung_socket(url, sizeof url);
    const char *servers[] = {url};
    const tparam given[] = {
        {"fallback", "none"}, {"timeout_ms", "150"}, {"retries", "1"}, {NULL, NULL}};
    const mh_module_type *t;
    mh_module_ctx ctx;
    void *self = create_ok(&t, &ctx, given, servers, 1);
    mh_hcal_digis *d = make_digis(50, 1);
    run r;
    run_event(t, self, d, 0, &r);
    ck_assert_int_eq(r.async.status, MH_TIMEOUT);
    ck_assert_msg(strstr(r.async.msg, "remote inference failed after 2 attempts") &&
                      strstr(r.async.msg, url) && strstr(r.async.msg, "150 ms"),
                  "%s", r.async.msg);
    ck_assert(r.ev.rechits == NULL);
    ck_assert_int_eq(counter("failures"), 1);
    ck_assert_int_eq(counter("fallbacks"), 0);
    ck_assert(t->end_job(self, NULL, 0) == MH_OK);
    ck_assert_msg(strstr(ctx.text, "1 failed (events failed)"), "%s", ctx.text);
    mh_hcal_product_free(d);
    t->destroy(self);
    close(fd);
}
END_TEST

START_TEST(fails_over_to_the_second_server)
{
    char dead[64];
    dead_url(dead, sizeof dead);
    tsrv *s = tsrv_start(M_OK);
    const char *servers[] = {dead, s->url};
    const tparam given[] = {{"fallback", "none"}, {"retries", "1"}, {NULL, NULL}};
    const mh_module_type *t;
    mh_module_ctx ctx;
    void *self = create_ok(&t, &ctx, given, servers, 2);
    for (unsigned e = 0; e < 3; e++) {
        mh_hcal_digis *d = make_digis(80, e);
        run r;
        run_event(t, self, d, 0, &r);
        ck_assert_msg(r.async.status == MH_OK && r.produce_st == MH_OK, "%s", r.async.msg);
        mh_hcal_product_free(r.ev.rechits);
        mh_hcal_product_free(d);
    }
    /* the first event failed over; the next ones went straight to the good server */
    ck_assert_int_eq(counter("failovers"), 1);
    ck_assert_int_eq(counter("retries"), 1);
    ck_assert_int_eq(counter("failures"), 0);
    ck_assert_int_eq(atomic_load(&s->hits), 3);
    t->destroy(self);
    tsrv_stop(s);
}
END_TEST

START_TEST(empty_event_needs_no_request)
{
    tsrv *s = tsrv_start(M_OK);
    const char *servers[] = {s->url};
    const tparam given[] = {{"fallback", "none"}, {NULL, NULL}};
    const mh_module_type *t;
    mh_module_ctx ctx;
    void *self = create_ok(&t, &ctx, given, servers, 1);
    mh_hcal_digis *d = make_digis(0, 0);
    run r;
    run_event(t, self, d, 0, &r);
    ck_assert(r.async.status == MH_OK && r.produce_st == MH_OK);
    ck_assert_int_eq(r.ev.rechits->n, 0);
    ck_assert_int_eq(atomic_load(&s->hits), 0);
    mh_hcal_product_free(r.ev.rechits);
    mh_hcal_product_free(d);
    t->destroy(self);
    tsrv_stop(s);
}
END_TEST

static const struct {
    const char *key, *value;
    const char *fallback; /* the other parameter given */
    const char *server;
    const char *msg_part;
} BAD[] = {
    {"fallback", "gpu", "none", "http://127.0.0.1:1", "fallback: 'gpu' is neither cpu nor none"},
    {"timeout_ms", "0", "none", "http://127.0.0.1:1", "timeout_ms: 0 outside"},
    {"retries", "-1", "none", "http://127.0.0.1:1", "retries: -1 outside"},
    {"model", "../x", "none", "http://127.0.0.1:1", "model: '../x'"},
    {"model_dir", "/nonexistent/model", "cpu", "http://127.0.0.1:1",
     "model_dir (for fallback: cpu)"},
    {"model_version", "latest", "none", "http://127.0.0.1:1", "model_version: 'latest'"},
    {"emulate_rtt_ms", "-5", "none", "http://127.0.0.1:1", "emulate_rtt_ms: -5 outside"},
    {"digis", "hbheDigis", "none", "ftp://host", "servers[0]: 'ftp://host'"},
};

START_TEST(bad_parameters_are_named)
{
    const tparam given[] = {
        {BAD[_i].key, BAD[_i].value}, {"fallback", BAD[_i].fallback}, {NULL, NULL}};
    const char *servers[] = {BAD[_i].server};
    const mh_module_type *t = plugin_type();
    mh_module_ctx ctx = {0};
    mh_params p = {t, given, servers, 1};
    void *self = NULL;
    char err[512] = "";
    mh_status st = t->create(&HOST, &ctx, &p, &self, err, sizeof err);
    ck_assert_msg(st != MH_OK && strstr(err, BAD[_i].msg_part), "case %d: %s '%s'", _i,
                  mh_status_name(st), err);
    t->destroy(self);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hcal_remote");
    TCase *tc = tcase_create("plugin");
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, served_remotely);
    tcase_add_test(tc, cpu_fallback_equals_local_forward);
    tcase_add_test(tc, fallback_none_fails_the_event);
    tcase_add_test(tc, fails_over_to_the_second_server);
    tcase_add_test(tc, empty_event_needs_no_request);
    tcase_add_loop_test(tc, bad_parameters_are_named, 0, (int)(sizeof BAD / sizeof BAD[0]));
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf == 0 ? 0 : 1;
}
