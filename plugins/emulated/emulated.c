/* emulated.c - modules that stand for the parts of an HLT menu minihlt does
 * not reconstruct: they burn thread CPU time drawn from a distribution,
 * optionally scaled with pileup or a product's size, optionally consume and
 * produce products, and (emulated_async) wait for asynchronous external work
 * without holding a thread. The logic is in sim/core/mh_emulate.h. */
#include <stdatomic.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "core/mh_emulate.h"
#include "core/mh_module.h"
#include "io/mh_rawevent.h"
#include "timing/mh_timing.h"

/* The product an emulated module puts: a size that consumers can scale
 * with (the event's digi count, times the producer's `size_factor`). */
#define MH_EMU_PRODUCT_TYPE "emulated"
typedef struct mh_emu_product {
    uint64_t size;
} mh_emu_product;

enum { SCALE_NONE, SCALE_PILEUP, SCALE_PRODUCT };

typedef struct emu {
    const mh_host *host;
    const char *label;
    mh_emu_dist dist;
    double mean_ms, sigma_ms, scale_ref, async_wait_ms;
    uint64_t seed;
    int scale;
    int64_t fail_every;
    char *cons_label;      /* owned: "label" of "label[:instance]" */
    const char *cons_inst; /* into cons_label */
    const char *cons_type;
    const char *produces;  /* instance name or NULL */
    mh_timer *timer;       /* emulated_async */
} emu;

/* The parameters both types share; MEAN is the default of mean_ms. */
#define EMU_COMMON_PARAMS(MEAN, FAIL_HELP)                                                       \
    {"distribution", MH_PARAM_STRING, "fixed", "fixed | normal | lognormal | exponential"},      \
    {"mean_ms", MH_PARAM_DOUBLE, MEAN, "mean CPU time per event, ms"},                          \
    {"sigma_ms", MH_PARAM_DOUBLE, "0", "standard deviation, ms (normal, lognormal)"},           \
    {"seed", MH_PARAM_INT, "1", "seed of the per-event draws (deterministic per event number)"}, \
    {"scale_with", MH_PARAM_STRING, "none",                                                     \
     "none | pileup (x pileup/scale_ref) | product (x size of `product`/scale_ref)"},           \
    {"scale_ref", MH_PARAM_DOUBLE, "1", "reference pileup or product size of scale_with"},      \
    {"product", MH_PARAM_STRING, "", "product to consume: LABEL or LABEL:INSTANCE (empty: none)"}, \
    {"product_type", MH_PARAM_STRING, MH_EMU_PRODUCT_TYPE, "type of the consumed product"},     \
    {"produces", MH_PARAM_STRING, "",                                                           \
     "instance name of an 'emulated' product to put (empty: none; '-' = default instance)"},    \
    {"fail_every", MH_PARAM_INT, "0", FAIL_HELP}

static const mh_param_def emu_params[] = {
    EMU_COMMON_PARAMS("1", "fail on events whose number is a multiple of N (0: never)"),
};

static const mh_param_def emu_async_params[] = {
    EMU_COMMON_PARAMS("0", "fail (through the async completion) on events whose number is a "
                           "multiple of N (0: never)"),
    {"async_wait_ms", MH_PARAM_DOUBLE, "10",
     "external work: time from acquire() to completion, ms (a timer thread, no worker waits)"},
};

static void emu_destroy(void *self)
{
    emu *e = self;
    if (!e)
        return;
    mh_timer_free(e->timer);
    free(e->cons_label);
    free(e);
}

static mh_status emu_create_common(const mh_host *h, mh_module_ctx *ctx, const mh_params *p,
                                   void **self, bool async, char *err, size_t errlen)
{
    emu *e = calloc(1, sizeof *e);
    if (!e)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    *self = e;
    e->host = h;
    e->label = h->module_label(ctx);
    const char *dist = h->param_string(p, "distribution");
    if (mh_emu_dist_parse(dist, &e->dist) != MH_OK)
        return mh_fail(err, errlen, MH_PARAM,
                       "module '%s': parameter 'distribution': expected fixed, normal, lognormal "
                       "or exponential, got '%s'", e->label, dist);
    e->mean_ms = h->param_double(p, "mean_ms");
    e->sigma_ms = h->param_double(p, "sigma_ms");
    if (e->mean_ms < 0 || e->sigma_ms < 0)
        return mh_fail(err, errlen, MH_PARAM, "module '%s': mean_ms and sigma_ms must be >= 0",
                       e->label);
    /* process.time_scale shrinks (or stretches) every emulated cost alike,
     * so the shares between emulated modules stay as profiled. */
    double scale = h->struct_size >= offsetof(mh_host, time_scale) + sizeof h->time_scale &&
                           h->time_scale
                       ? h->time_scale(ctx)
                       : 1.0;
    e->mean_ms *= scale;
    e->sigma_ms *= scale;
    e->seed = (uint64_t)h->param_int(p, "seed");
    e->scale_ref = h->param_double(p, "scale_ref");
    const char *sw = h->param_string(p, "scale_with");
    if (!strcmp(sw, "none"))
        e->scale = SCALE_NONE;
    else if (!strcmp(sw, "pileup"))
        e->scale = SCALE_PILEUP;
    else if (!strcmp(sw, "product"))
        e->scale = SCALE_PRODUCT;
    else
        return mh_fail(err, errlen, MH_PARAM,
                       "module '%s': parameter 'scale_with': expected none, pileup or product, got '%s'",
                       e->label, sw);
    if (e->scale != SCALE_NONE && !(e->scale_ref > 0))
        return mh_fail(err, errlen, MH_PARAM, "module '%s': parameter 'scale_ref' must be > 0",
                       e->label);
    e->fail_every = h->param_int(p, "fail_every");
    if (e->fail_every < 0)
        return mh_fail(err, errlen, MH_PARAM, "module '%s': parameter 'fail_every' must be >= 0",
                       e->label);
    const char *prod = h->param_string(p, "product");
    e->cons_type = h->param_string(p, "product_type");
    if (prod[0]) {
        if (!(e->cons_label = strdup(prod)))
            return mh_fail(err, errlen, MH_NOMEM, "out of memory");
        char *colon = strchr(e->cons_label, ':');
        e->cons_inst = "";
        if (colon) {
            *colon = '\0';
            e->cons_inst = colon + 1;
        }
        mh_status st = h->consumes(ctx, e->cons_label, e->cons_inst, e->cons_type, err, errlen);
        if (st != MH_OK)
            return st;
    }
    if (e->scale == SCALE_PRODUCT && (!prod[0] || strcmp(e->cons_type, MH_EMU_PRODUCT_TYPE)))
        return mh_fail(err, errlen, MH_PARAM,
                       "module '%s': scale_with: product needs `product` of type '%s'", e->label,
                       MH_EMU_PRODUCT_TYPE);
    const char *out = h->param_string(p, "produces");
    if (out[0]) {
        e->produces = strcmp(out, "-") ? out : "";
        mh_status st = h->produces(ctx, e->produces, MH_EMU_PRODUCT_TYPE, err, errlen);
        if (st != MH_OK)
            return st;
    }
    if (async) {
        e->async_wait_ms = h->param_double(p, "async_wait_ms") * scale;
        if (e->async_wait_ms < 0)
            return mh_fail(err, errlen, MH_PARAM, "module '%s': async_wait_ms must be >= 0",
                           e->label);
        return mh_timer_create(&e->timer, err, errlen);
    }
    return MH_OK;
}

static mh_status emu_create(const mh_host *h, mh_module_ctx *ctx, const mh_params *p, void **self,
                            char *err, size_t errlen)
{
    return emu_create_common(h, ctx, p, self, false, err, errlen);
}

static mh_status emu_async_create(const mh_host *h, mh_module_ctx *ctx, const mh_params *p,
                                  void **self, char *err, size_t errlen)
{
    return emu_create_common(h, ctx, p, self, true, err, errlen);
}

static bool emu_should_fail(const emu *e, const mh_rawevent *raw)
{
    return e->fail_every > 0 && raw->event % (uint64_t)e->fail_every == 0;
}

static void emu_free_product(void *p)
{
    free(p);
}

/* The emulated work of produce(): burn, then put the product. */
static mh_status emu_work(emu *e, mh_event *ev, char *err, size_t errlen)
{
    const mh_host *h = e->host;
    const mh_rawevent *raw = h->event_raw(ev);
    double ms = mh_emu_draw(e->dist, e->mean_ms, e->sigma_ms, e->seed, raw->event);
    const void *in = NULL;
    if (e->cons_label) {
        mh_status st = h->get(ev, e->cons_label, e->cons_inst, e->cons_type, &in, err, errlen);
        if (st != MH_OK)
            return st;
    }
    if (e->scale == SCALE_PILEUP)
        ms *= raw->pileup_true / e->scale_ref;
    else if (e->scale == SCALE_PRODUCT)
        ms *= (double)((const mh_emu_product *)in)->size / e->scale_ref;
    mh_emu_burn_ns((uint64_t)(ms * 1e6));
    if (!e->timer && emu_should_fail(e, raw))
        return mh_fail(err, errlen, MH_MODULE, "emulated failure on event %llu (fail_every %lld)",
                       (unsigned long long)raw->event, (long long)e->fail_every);
    if (e->produces) {
        mh_emu_product *out = malloc(sizeof *out);
        if (!out)
            return mh_fail(err, errlen, MH_NOMEM, "out of memory");
        out->size = raw->ndigis;
        return h->put(ev, e->produces, MH_EMU_PRODUCT_TYPE, out, emu_free_product, err, errlen);
    }
    return MH_OK;
}

static mh_status emu_produce(void *self, mh_event *ev, char *err, size_t errlen)
{
    return emu_work(self, ev, err, errlen);
}

/* emulated_async: acquire() arms a timer; the timer thread completes the
 * external work; produce() then does the CPU part. */
typedef struct emu_pending {
    const mh_host *host;
    mh_async *done;
    bool fail;
    uint64_t event;
} emu_pending;

static void emu_timer_fired(void *arg)
{
    emu_pending *p = arg;
    char msg[128];
    if (p->fail) {
        snprintf(msg, sizeof msg, "emulated external work failed on event %llu",
                 (unsigned long long)p->event);
        p->host->async_done(p->done, MH_MODULE, msg);
    } else {
        p->host->async_done(p->done, MH_OK, NULL);
    }
    free(p);
}

static mh_status emu_acquire(void *self, mh_event *ev, mh_async *done, char *err, size_t errlen)
{
    emu *e = self;
    const mh_rawevent *raw = e->host->event_raw(ev);
    emu_pending *p = malloc(sizeof *p);
    if (!p)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    *p = (emu_pending){e->host, done, emu_should_fail(e, raw), raw->event};
    mh_status st = mh_timer_add(e->timer, mh_now_ns() + (uint64_t)(e->async_wait_ms * 1e6),
                                emu_timer_fired, p);
    if (st != MH_OK) {
        free(p);
        return mh_fail(err, errlen, st, "cannot arm the timer");
    }
    return MH_OK;
}

static const mh_module_type emu_type = {
    .abi_version = MH_MODULE_ABI_VERSION,
    .struct_size = sizeof(mh_module_type),
    .name = "emulated",
    .help = "burns CPU time drawn from a distribution (stands for unmodelled menu parts)",
    .kind = MH_KIND_PRODUCER,
    .params = emu_params,
    .n_params = sizeof emu_params / sizeof emu_params[0],
    .create = emu_create,
    .produce = emu_produce,
    .destroy = emu_destroy,
};

static const mh_module_type emu_async_type = {
    .abi_version = MH_MODULE_ABI_VERSION,
    .struct_size = sizeof(mh_module_type),
    .name = "emulated_async",
    .help = "external work: waits async_wait_ms without a thread, then burns CPU in produce()",
    .kind = MH_KIND_PRODUCER,
    .params = emu_async_params,
    .n_params = sizeof emu_async_params / sizeof emu_async_params[0],
    .create = emu_async_create,
    .acquire = emu_acquire,
    .produce = emu_produce,
    .destroy = emu_destroy,
};

static const mh_module_type *const emu_types[] = {&emu_type, &emu_async_type};

MH_DEFINE_PLUGIN("emulated",
                 "emulated CPU and asynchronous work",
                 emu_types);
