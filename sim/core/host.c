/* host.c - the mh_host table: the services the framework offers modules
 * (mh_module.h). Start-up services take the module's mh_module_ctx, event
 * services the mh_event handle that names both the event and the caller, so
 * that get/put check what the calling module declared. */
#include <stdlib.h>
#include <string.h>

#include "core/sched_internal.h"

_Thread_local mh__tls_ctx mh__tls __attribute__((tls_model("initial-exec"))) = {NULL, -1, 0};

static const char *mh__module_label(const mh_module_ctx *ctx)
{
    return ctx->s->mods[ctx->index].label;
}

static unsigned mh__n_streams(const mh_module_ctx *ctx)
{
    return ctx->s->streams;
}

static unsigned mh__n_threads(const mh_module_ctx *ctx)
{
    return ctx->s->threads;
}

static double mh__time_scale(const mh_module_ctx *ctx)
{
    return ctx->s->menu->time_scale > 0 ? ctx->s->menu->time_scale : 1.0;
}

int mh__grow(void **arr, size_t *cap, size_t n, size_t elem)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : 4;
    void *p = realloc(*arr, nc * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = nc;
    return 0;
}

static mh_status mh__consumes(mh_module_ctx *ctx, const char *label, const char *instance,
                              const char *type, char *err, size_t errlen)
{
    mh__module *mod = &ctx->s->mods[ctx->index];
    if (!label || !label[0] || !type || !type[0])
        return mh_fail(err, errlen, MH_INVALID, "module '%s': consumes() needs a label and a type",
                       mod->label);
    if (mh__grow((void **)&mod->consumes, &mod->consumes_cap, mod->nconsumes, sizeof *mod->consumes))
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    mh__consumed *c = &mod->consumes[mod->nconsumes];
    c->label = strdup(label);
    c->instance = strdup(instance ? instance : "");
    c->type = strdup(type);
    c->product = UINT32_MAX;
    if (!c->label || !c->instance || !c->type) {
        free(c->label);
        free(c->instance);
        free(c->type);
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    }
    mod->nconsumes++;
    return MH_OK;
}

static mh_status mh__produces(mh_module_ctx *ctx, const char *instance, const char *type,
                              char *err, size_t errlen)
{
    mh_sched *s = ctx->s;
    mh__module *mod = &s->mods[ctx->index];
    if (!instance)
        instance = "";
    if (!type || !type[0])
        return mh_fail(err, errlen, MH_INVALID, "module '%s': produces() needs a type", mod->label);
    for (size_t k = 0; k < mod->nproduces; k++)
        if (!strcmp(s->prods[mod->produces[k]].instance, instance))
            return mh_fail(err, errlen, MH_CONFIG,
                           "module '%s': product instance '%s' declared twice", mod->label,
                           instance);
    if (mh__grow((void **)&s->prods, &s->prods_cap, s->nprods, sizeof *s->prods) ||
        mh__grow((void **)&mod->produces, &mod->produces_cap, mod->nproduces,
                 sizeof *mod->produces))
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    mh__product *p = &s->prods[s->nprods];
    p->label = mod->label;
    p->instance = strdup(instance);
    p->type = strdup(type);
    p->producer = ctx->index;
    if (!p->instance || !p->type) {
        free(p->instance);
        free(p->type);
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    }
    mod->produces[mod->nproduces++] = (uint32_t)s->nprods++;
    return MH_OK;
}

static void mh__reads_truth(mh_module_ctx *ctx)
{
    ctx->s->mods[ctx->index].reads_truth = true;
}

static const char *mh__config_dir(const mh_module_ctx *ctx)
{
    return ctx->s->config_dir;
}

static const struct mh_rawevent *mh__event_raw(mh_event *ev)
{
    mh__stream *st = ev->st;
    return st->s->mods[ev->mod].reads_truth ? st->raw : &st->notruth;
}

static unsigned mh__event_stream(mh_event *ev)
{
    return ev->st->index;
}

static mh_status mh__get(mh_event *ev, const char *label, const char *instance, const char *type,
                         const void **data, char *err, size_t errlen)
{
    mh__stream *st = ev->st;
    const mh__module *mod = &st->s->mods[ev->mod];
    if (!instance)
        instance = "";
    *data = NULL;
    for (size_t k = 0; k < mod->nconsumes; k++) {
        const mh__consumed *c = &mod->consumes[k];
        if (strcmp(c->label, label) || strcmp(c->instance, instance) || strcmp(c->type, type))
            continue;
        mh__slot *sl = &st->slots[c->product];
        if (!atomic_load_explicit(&sl->put, memory_order_acquire))
            return mh_fail(err, errlen, MH_NOTFOUND,
                           "module '%s': product %s:%s (%s) was not put by its producer",
                           mod->label, label, instance, type);
        *data = sl->data;
        return MH_OK;
    }
    return mh_fail(err, errlen, MH_NOTFOUND,
                   "module '%s': product %s:%s (%s) was not declared with consumes()", mod->label,
                   label, instance, type);
}

static mh_status mh__put(mh_event *ev, const char *instance, const char *type, void *data,
                         void (*free_fn)(void *), char *err, size_t errlen)
{
    mh__stream *st = ev->st;
    mh_sched *s = st->s;
    const mh__module *mod = &s->mods[ev->mod];
    if (!instance)
        instance = "";
    for (size_t k = 0; k < mod->nproduces; k++) {
        const mh__product *p = &s->prods[mod->produces[k]];
        if (strcmp(p->instance, instance) || strcmp(p->type, type))
            continue;
        mh__slot *sl = &st->slots[mod->produces[k]];
        if (atomic_load_explicit(&sl->put, memory_order_relaxed)) {
            if (free_fn)
                free_fn(data);
            return mh_fail(err, errlen, MH_INVALID, "module '%s': product '%s' put twice",
                           mod->label, instance);
        }
        sl->data = data;
        sl->free_fn = free_fn;
        atomic_store_explicit(&sl->put, true, memory_order_release);
        return MH_OK;
    }
    if (free_fn)
        free_fn(data);
    return mh_fail(err, errlen, MH_NOTFOUND,
                   "module '%s': product %s (%s) was not declared with produces()", mod->label,
                   instance, type);
}

static void mh__set_pass(mh_event *ev, bool pass)
{
    ev->st->mods[ev->mod].pass = pass;
}

static size_t mh__n_paths(mh_event *ev)
{
    return ev->st->s->ntrig;
}

static const char *mh__path_name(mh_event *ev, size_t i)
{
    const mh_sched *s = ev->st->s;
    return i < s->ntrig ? s->paths[i].name : NULL;
}

static bool mh__path_accepted(mh_event *ev, size_t i)
{
    const mh__stream *st = ev->st;
    return i < st->s->ntrig && st->active[i] && st->accepted[i];
}

static void mh__count(mh_event *ev, const char *name, uint64_t delta)
{
    mh_sched *s = ev ? ev->st->s : mh__tls.s;
    long m = ev ? (long)ev->mod : mh__tls.module;
    if (s && m >= 0 && s->timing)
        mh_timing_count(s->timing, (size_t)m, name, delta);
}

static mh_status mh__report_section(mh_module_ctx *ctx, const char *name, const char *json,
                                    char *err, size_t errlen)
{
    mh_sched *s = ctx->s;
    mh_status st = MH_OK;
    pthread_mutex_lock(&s->report_lock);
    if (mh__grow((void **)&s->section_names, &s->sections_cap, s->nsections,
                 sizeof *s->section_names) ||
        mh__grow((void **)&s->section_json, &s->sections_json_cap, s->nsections,
                 sizeof *s->section_json)) {
        st = mh_fail(err, errlen, MH_NOMEM, "out of memory");
        goto out;
    }
    char *n = strdup(name), *j = strdup(json);
    if (!n || !j) {
        free(n);
        free(j);
        st = mh_fail(err, errlen, MH_NOMEM, "out of memory");
        goto out;
    }
    s->section_names[s->nsections] = n;
    s->section_json[s->nsections++] = j;
out:
    pthread_mutex_unlock(&s->report_lock);
    return st;
}

static void mh__report_text(mh_module_ctx *ctx, const char *line)
{
    mh_sched *s = ctx->s;
    pthread_mutex_lock(&s->report_lock);
    char *l = strdup(line);
    if (l && !mh__grow((void **)&s->text_lines, &s->text_cap, s->ntext, sizeof *s->text_lines))
        s->text_lines[s->ntext++] = l;
    else
        free(l);
    pthread_mutex_unlock(&s->report_lock);
}

void mh__host_init(mh_host *h)
{
    memset(h, 0, sizeof *h);
    h->abi_version = MH_MODULE_ABI_VERSION;
    h->struct_size = (uint32_t)sizeof *h;
    h->param_int = mh__param_int;
    h->param_double = mh__param_double;
    h->param_bool = mh__param_bool;
    h->param_string = mh__param_string;
    h->param_list_size = mh__param_list_size;
    h->param_list_at = mh__param_list_at;
    h->param_is_set = mh__param_is_set;
    h->module_label = mh__module_label;
    h->n_streams = mh__n_streams;
    h->n_threads = mh__n_threads;
    h->consumes = mh__consumes;
    h->produces = mh__produces;
    h->reads_truth = mh__reads_truth;
    h->config_dir = mh__config_dir;
    h->event_raw = mh__event_raw;
    h->event_stream = mh__event_stream;
    h->get = mh__get;
    h->put = mh__put;
    h->set_pass = mh__set_pass;
    h->n_paths = mh__n_paths;
    h->path_name = mh__path_name;
    h->path_accepted = mh__path_accepted;
    h->async_done = mh__async_done;
    h->count = mh__count;
    h->report_section = mh__report_section;
    h->report_text = mh__report_text;
    h->time_scale = mh__time_scale;
}
