/* filters.c - trigger filters: pass, reject, prescale (one event in n that
 * reach it) and random (accept with a probability, deterministic per event
 * number). A filter's decision stops or continues the path it is on. */
#include <stdatomic.h>
#include <stdlib.h>

#include "core/mh_emulate.h"
#include "core/mh_module.h"
#include "io/mh_rawevent.h"

typedef struct filt {
    const mh_host *host;
    int64_t n, offset;
    _Atomic uint64_t count; /* prescale: events that reached it */
    double probability;
    uint64_t seed;
} filt;

static void filt_destroy(void *self)
{
    free(self);
}

static mh_status filt_create(const mh_host *h, mh_module_ctx *ctx, const mh_params *p,
                             void **self, char *err, size_t errlen)
{
    (void)ctx;
    (void)p;
    (void)err;
    (void)errlen;
    filt *f = calloc(1, sizeof *f);
    if (!f)
        return MH_NOMEM;
    f->host = h;
    *self = f;
    return MH_OK;
}

static mh_status pass_produce(void *self, mh_event *ev, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    ((filt *)self)->host->set_pass(ev, true);
    return MH_OK;
}

static mh_status reject_produce(void *self, mh_event *ev, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    ((filt *)self)->host->set_pass(ev, false);
    return MH_OK;
}

static mh_status prescale_create(const mh_host *h, mh_module_ctx *ctx, const mh_params *p,
                                 void **self, char *err, size_t errlen)
{
    mh_status st = filt_create(h, ctx, p, self, err, errlen);
    if (st != MH_OK)
        return st;
    filt *f = *self;
    f->n = h->param_int(p, "n");
    f->offset = h->param_int(p, "offset");
    if (f->n < 1 || f->offset < 0 || f->offset >= f->n)
        return mh_fail(err, errlen, MH_PARAM,
                       "module '%s': prescale needs n >= 1 and 0 <= offset < n (n %lld, offset %lld)",
                       h->module_label(ctx), (long long)f->n, (long long)f->offset);
    return MH_OK;
}

static mh_status prescale_produce(void *self, mh_event *ev, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    filt *f = self;
    uint64_t c = atomic_fetch_add_explicit(&f->count, 1, memory_order_relaxed);
    f->host->set_pass(ev, c % (uint64_t)f->n == (uint64_t)f->offset);
    return MH_OK;
}

static mh_status random_create(const mh_host *h, mh_module_ctx *ctx, const mh_params *p,
                               void **self, char *err, size_t errlen)
{
    mh_status st = filt_create(h, ctx, p, self, err, errlen);
    if (st != MH_OK)
        return st;
    filt *f = *self;
    f->probability = h->param_double(p, "probability");
    f->seed = (uint64_t)h->param_int(p, "seed");
    if (!(f->probability >= 0 && f->probability <= 1))
        return mh_fail(err, errlen, MH_PARAM, "module '%s': probability must be in [0, 1], got %g",
                       h->module_label(ctx), f->probability);
    return MH_OK;
}

static mh_status random_produce(void *self, mh_event *ev, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    filt *f = self;
    const mh_rawevent *raw = f->host->event_raw(ev);
    f->host->set_pass(ev, mh_emu_uniform(f->seed, raw->event) < f->probability);
    return MH_OK;
}

static const mh_param_def prescale_params[] = {
    {"n", MH_PARAM_INT, NULL, "accept one event in n of those reaching the filter"},
    {"offset", MH_PARAM_INT, "0", "which one of the n (0..n-1)"},
};

static const mh_param_def random_params[] = {
    {"probability", MH_PARAM_DOUBLE, NULL, "probability to accept, 0..1"},
    {"seed", MH_PARAM_INT, "1", "seed (the decision is a function of seed and event number)"},
};

#define FILTER_TYPE(VAR, NAME, HELP, PARAMS, NPARAMS, CREATE, PRODUCE)                    \
    static const mh_module_type VAR = {                                                   \
        .abi_version = MH_MODULE_ABI_VERSION, .struct_size = sizeof(mh_module_type),      \
        .name = NAME, .help = HELP, .kind = MH_KIND_FILTER, .params = PARAMS,             \
        .n_params = NPARAMS, .create = CREATE, .produce = PRODUCE, .destroy = filt_destroy}

FILTER_TYPE(pass_type, "pass", "accepts every event", NULL, 0, filt_create, pass_produce);
FILTER_TYPE(reject_type, "reject", "rejects every event", NULL, 0, filt_create, reject_produce);
FILTER_TYPE(prescale_type, "prescale", "accepts one event in n of those that reach it",
            prescale_params, 2, prescale_create, prescale_produce);
FILTER_TYPE(random_type, "random", "accepts events with a probability (deterministic per event)",
            random_params, 2, random_create, random_produce);

static const mh_module_type *const filt_types[] = {&pass_type, &reject_type, &prescale_type,
                                                   &random_type};

MH_DEFINE_PLUGIN("filters",
                 "trigger filters: pass, reject, prescale, random",
                 filt_types);
