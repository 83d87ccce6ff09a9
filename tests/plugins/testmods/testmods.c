/* testmods.c - modules for the scheduler tests (tests/core/test_sched*.c).
 *
 * `probe` checks what the scheduler promises and fails the event otherwise:
 *   - it runs at most once per event (a second call for the same event
 *     number fails: "called twice");
 *   - every product it consumes is there and belongs to this event (the
 *     product holds the producer's event number).
 * It optionally puts a product of type "probe", busy-waits busy_ms of wall
 * time (so that two calls overlap only if the scheduler ran them at the same
 * time), records its first start and last end in counters (t0_us, t1_us)
 * and counts the calls during which another probe ran at the same time
 * (counter "overlapped"); the tests read them from the JSON report. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mh_module.h"
#include "io/mh_rawevent.h"
#include "timing/mh_timing.h"

#define SEEN 4096

/* Probes running right now, in this process (all instances). */
static _Atomic int probes_running;

typedef struct probe {
    const mh_host *host;
    const char *label;
    const char *produces;
    size_t nconsumes;
    const char **consumes;
    double busy_ms;
    _Atomic uint8_t seen[SEEN];
} probe;

static const mh_param_def probe_params[] = {
    {"produces", MH_PARAM_BOOL, "false", "put a 'probe' product (default instance)"},
    {"consumes", MH_PARAM_STRING_LIST, "[]", "labels of probes whose product to read"},
    {"busy_ms", MH_PARAM_DOUBLE, "0", "wall-clock busy wait per call, ms"},
    {"required_int", MH_PARAM_INT, "0", "an int parameter for the type tests"},
};

static void probe_destroy(void *self)
{
    probe *p = self;
    if (p)
        free(p->consumes);
    free(p);
}

static mh_status probe_create(const mh_host *h, mh_module_ctx *ctx, const mh_params *params,
                              void **self, char *err, size_t errlen)
{
    probe *p = calloc(1, sizeof *p);
    if (!p)
        return MH_NOMEM;
    *self = p;
    p->host = h;
    p->label = h->module_label(ctx);
    p->busy_ms = h->param_double(params, "busy_ms");
    p->nconsumes = h->param_list_size(params, "consumes");
    p->consumes = calloc(p->nconsumes + 1, sizeof *p->consumes);
    if (!p->consumes)
        return MH_NOMEM;
    for (size_t i = 0; i < p->nconsumes; i++) {
        p->consumes[i] = h->param_list_at(params, "consumes", i);
        mh_status st = h->consumes(ctx, p->consumes[i], "", "probe", err, errlen);
        if (st != MH_OK)
            return st;
    }
    if (h->param_bool(params, "produces")) {
        p->produces = "";
        return h->produces(ctx, "", "probe", err, errlen);
    }
    return MH_OK;
}

static mh_status probe_produce(void *self, mh_event *ev, char *err, size_t errlen)
{
    probe *p = self;
    const mh_host *h = p->host;
    uint64_t t0 = mh_now_ns();
    const mh_rawevent *raw = h->event_raw(ev);
    if (atomic_exchange(&p->seen[raw->event % SEEN], 1))
        return mh_fail(err, errlen, MH_MODULE, "%s called twice for event %llu", p->label,
                       (unsigned long long)raw->event);
    for (size_t i = 0; i < p->nconsumes; i++) {
        const void *d = NULL;
        mh_status st = h->get(ev, p->consumes[i], "", "probe", &d, err, errlen);
        if (st != MH_OK)
            return st;
        if (*(const uint64_t *)d != raw->event)
            return mh_fail(err, errlen, MH_MODULE, "%s: product of %s is from event %llu, not %llu",
                           p->label, p->consumes[i], (unsigned long long)*(const uint64_t *)d,
                           (unsigned long long)raw->event);
    }
    atomic_fetch_add(&probes_running, 1);
    bool overlapped = false;
    if (p->busy_ms > 0)
        do /* at least one look after the increment, even if descheduled */
            overlapped |= atomic_load(&probes_running) > 1;
        while (mh_now_ns() - t0 < (uint64_t)(p->busy_ms * 1e6));
    atomic_fetch_sub(&probes_running, 1);
    h->count(ev, "overlapped", overlapped);
    if (p->produces) {
        uint64_t *v = malloc(sizeof *v);
        if (!v)
            return MH_NOMEM;
        *v = raw->event;
        mh_status st = h->put(ev, "", "probe", v, free, err, errlen);
        if (st != MH_OK)
            return st;
    }
    h->count(ev, "t0_us", t0 / 1000);
    h->count(ev, "t1_us", mh_now_ns() / 1000);
    return MH_OK;
}

static const mh_module_type probe_type = {
    .abi_version = MH_MODULE_ABI_VERSION,
    .struct_size = sizeof(mh_module_type),
    .name = "probe",
    .help = "checks once-per-event and product order (tests)",
    .kind = MH_KIND_PRODUCER,
    .params = probe_params,
    .n_params = sizeof probe_params / sizeof probe_params[0],
    .create = probe_create,
    .produce = probe_produce,
    .destroy = probe_destroy,
};

/* `params` reads every kind of parameter through the host and reports what
 * it got as a JSON section (report["sections"][label]) at end of job. */
static const mh_param_def params_params[] = {
    {"i", MH_PARAM_INT, "7", "an int"},
    {"d", MH_PARAM_DOUBLE, "0.5", "a double"},
    {"b", MH_PARAM_BOOL, "false", "a bool"},
    {"s", MH_PARAM_STRING, "dflt", "a string"},
    {"l", MH_PARAM_STRING_LIST, "[x, y]", "a list"},
    {"m", MH_PARAM_MAP, "{}", "a map"},
    {"req", MH_PARAM_STRING, NULL, "required"},
};

typedef struct pmod {
    const mh_host *host;
    mh_module_ctx *ctx;
    char json[1024];
} pmod;

static mh_status params_create(const mh_host *h, mh_module_ctx *ctx, const mh_params *p,
                               void **self, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    pmod *m = calloc(1, sizeof *m);
    if (!m)
        return MH_NOMEM;
    *self = m;
    m->host = h;
    m->ctx = ctx;
    char list[256] = "";
    size_t off = 0;
    for (size_t i = 0; i < h->param_list_size(p, "l") && off < sizeof list; i++)
        off += (size_t)snprintf(list + off, sizeof list - off, "%s\"%s\"", i ? ", " : "",
                                h->param_list_at(p, "l", i));
    snprintf(m->json, sizeof m->json,
             "{\"i\": %lld, \"d\": %g, \"b\": %s, \"s\": \"%s\", \"l\": [%s], \"m\": %s, "
             "\"req\": \"%s\", \"i_set\": %s, \"s_set\": %s, \"wrong_type\": %lld, "
             "\"unknown\": %s}",
             (long long)h->param_int(p, "i"), h->param_double(p, "d"),
             h->param_bool(p, "b") ? "true" : "false", h->param_string(p, "s"), list,
             h->param_string(p, "m"), h->param_string(p, "req"),
             h->param_is_set(p, "i") ? "true" : "false", h->param_is_set(p, "s") ? "true" : "false",
             (long long)h->param_int(p, "s"), h->param_string(p, "nosuch") ? "true" : "false");
    return MH_OK;
}

static mh_status params_produce(void *self, mh_event *ev, char *err, size_t errlen)
{
    (void)self;
    (void)ev;
    (void)err;
    (void)errlen;
    return MH_OK;
}

static mh_status params_end_job(void *self, char *err, size_t errlen)
{
    pmod *m = self;
    m->host->report_text(m->ctx, "params: end of job");
    return m->host->report_section(m->ctx, m->host->module_label(m->ctx), m->json, err, errlen);
}

static const mh_module_type params_type = {
    .abi_version = MH_MODULE_ABI_VERSION,
    .struct_size = sizeof(mh_module_type),
    .name = "params",
    .help = "reports its parameters as read through the host (tests)",
    .kind = MH_KIND_PRODUCER,
    .params = params_params,
    .n_params = sizeof params_params / sizeof params_params[0],
    .create = params_create,
    .produce = params_produce,
    .end_job = params_end_job,
    .destroy = free,
};

/* `inline_async` completes its external work inside acquire() (as a module
 * does when a result is cached or a request fails at once): async_done is
 * called before acquire returns; odd events complete with an error. */
typedef struct inl {
    const mh_host *host;
} inl;

static mh_status inl_create(const mh_host *h, mh_module_ctx *ctx, const mh_params *p,
                            void **self, char *err, size_t errlen)
{
    (void)ctx;
    (void)p;
    (void)err;
    (void)errlen;
    inl *m = calloc(1, sizeof *m);
    if (!m)
        return MH_NOMEM;
    m->host = h;
    *self = m;
    return MH_OK;
}

static mh_status inl_acquire(void *self, mh_event *ev, mh_async *done, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    inl *m = self;
    if (m->host->event_raw(ev)->event % 2)
        m->host->async_done(done, MH_NET, "inline failure");
    else
        m->host->async_done(done, MH_OK, NULL);
    return MH_OK;
}

static mh_status inl_produce(void *self, mh_event *ev, char *err, size_t errlen)
{
    inl *m = self;
    if (m->host->event_raw(ev)->event % 2)
        return mh_fail(err, errlen, MH_INTERNAL, "produce() ran after a failed async_done");
    return MH_OK;
}

static const mh_module_type inl_type = {
    .abi_version = MH_MODULE_ABI_VERSION,
    .struct_size = sizeof(mh_module_type),
    .name = "inline_async",
    .help = "calls async_done inside acquire (tests)",
    .kind = MH_KIND_PRODUCER,
    .create = inl_create,
    .acquire = inl_acquire,
    .produce = inl_produce,
    .destroy = free,
};

static const mh_module_type *const testmods_types[] = {&probe_type, &params_type, &inl_type};

static const mh_plugin testmods_plugin = {
    .abi_version = MH_MODULE_ABI_VERSION,
    .struct_size = sizeof(mh_plugin),
    .name = "testmods",
    .description = "modules for the scheduler tests",
    .types = testmods_types,
    .n_types = 3,
};

MH_PLUGIN_EXPORT const mh_plugin *minihlt_plugin_entry(void);
const mh_plugin *minihlt_plugin_entry(void)
{
    return &testmods_plugin;
}
