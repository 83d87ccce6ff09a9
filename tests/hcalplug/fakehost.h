/* fakehost.h - a minimal single-threaded host for testing plugins without
 * the scheduler: loads build/plugins/NAME.so with dlopen, validates nothing
 * beyond what the tests need, keeps products in a small table, and gives
 * the plugins the mh_host services of sim/core/mh_module.h.
 *
 * Parameters are given as "name=value" strings; values are parsed like the
 * menu's scalars (integers, numbers, true/false, a flow list "[a, b]").
 * Unset parameters take the module type's declared default. The build
 * directory is $MINIHLT_BUILD (set by scripts/run_tests.sh) or "build".
 *
 * The host reports 2 streams; an event's stream is its `stream` field, so two
 * threads with events of streams 0 and 1 may drive one module instance
 * concurrently, as the scheduler does.
 *
 * Header-only (static inline) because a test program is one .c file. */
#ifndef FAKEHOST_H
#define FAKEHOST_H

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mh_module.h"
#include "io/mh_rawevent.h"

#define FH_MAXPARAMS 24
#define FH_MAXPRODUCTS 32
#define FH_MAXLIST 16

struct mh_params {
    const mh_module_type *type;
    const char *given[FH_MAXPARAMS]; /* "name=value" strings from the test */
    size_t ngiven;
    char list_buf[FH_MAXLIST][64];
};

typedef struct fh_product {
    char label[64], instance[64], type[64];
    void *data;
    void (*free_fn)(void *);
} fh_product;

struct mh_module_ctx {
    char label[64];
    char consumed[8][64];
    size_t nconsumed;
    int truth;
    char section_name[64];
    char *section_json;
    char text[2048];
};

struct mh_event {
    const mh_rawevent *raw;
    fh_product prods[FH_MAXPRODUCTS];
    size_t nprods;
    const char *current_label; /* module running */
    int pass;
    size_t npaths;
    const char *path_names[4];
    int path_acc[4];
    unsigned stream;           /* what event_stream() returns (0 by default) */
};

/* The value text of parameter name: given or the declared default. */
static inline const char *fh_value(const mh_params *p, const char *name, int *given)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < p->ngiven; i++)
        if (strncmp(p->given[i], name, len) == 0 && p->given[i][len] == '=') {
            if (given)
                *given = 1;
            return p->given[i] + len + 1;
        }
    if (given)
        *given = 0;
    for (size_t i = 0; i < p->type->n_params; i++)
        if (strcmp(p->type->params[i].name, name) == 0)
            return p->type->params[i].default_value;
    return NULL;
}

static inline int64_t fh_param_int(const mh_params *p, const char *name)
{
    const char *v = fh_value(p, name, NULL);
    return v ? strtoll(v, NULL, 0) : 0;
}

static inline double fh_param_double(const mh_params *p, const char *name)
{
    const char *v = fh_value(p, name, NULL);
    return v ? strtod(v, NULL) : 0.0;
}

static inline bool fh_param_bool(const mh_params *p, const char *name)
{
    const char *v = fh_value(p, name, NULL);
    return v && strcmp(v, "true") == 0;
}

static inline const char *fh_param_string(const mh_params *p, const char *name)
{
    const char *v = fh_value(p, name, NULL);
    return v ? v : "";
}

/* Splits a flow list "[a, b, c]" into list_buf; returns the count. */
static inline size_t fh_split(const mh_params *cp, const char *name)
{
    mh_params *p = (mh_params *)cp;
    const char *v = fh_value(p, name, NULL);
    size_t n = 0;
    if (v == NULL)
        return 0;
    while (*v == ' ' || *v == '[')
        v++;
    while (*v && *v != ']' && n < FH_MAXLIST) {
        size_t k = 0;
        while (*v && *v != ',' && *v != ']' && k + 1 < sizeof p->list_buf[n])
            if (*v != ' ')
                p->list_buf[n][k++] = *v++;
            else
                v++;
        p->list_buf[n][k] = '\0';
        if (k > 0)
            n++;
        if (*v == ',')
            v++;
    }
    return n;
}

static inline size_t fh_param_list_size(const mh_params *p, const char *name)
{
    return fh_split(p, name);
}

static inline const char *fh_param_list_at(const mh_params *p, const char *name, size_t i)
{
    size_t n = fh_split(p, name);
    return i < n ? p->list_buf[i] : NULL;
}

static inline bool fh_param_is_set(const mh_params *p, const char *name)
{
    int given = 0;
    fh_value(p, name, &given);
    return given != 0;
}

static inline const char *fh_module_label(const mh_module_ctx *ctx) { return ctx->label; }
static inline unsigned fh_n_streams(const mh_module_ctx *ctx) { (void)ctx; return 2; }
static inline unsigned fh_n_threads(const mh_module_ctx *ctx) { (void)ctx; return 1; }

static inline mh_status fh_consumes(mh_module_ctx *ctx, const char *label, const char *instance,
                                    const char *type, char *err, size_t errlen)
{
    (void)instance;
    (void)type;
    (void)err;
    (void)errlen;
    if (ctx->nconsumed < 8)
        snprintf(ctx->consumed[ctx->nconsumed++], 64, "%s", label);
    return MH_OK;
}

static inline mh_status fh_produces(mh_module_ctx *ctx, const char *instance, const char *type,
                                    char *err, size_t errlen)
{
    (void)ctx;
    (void)instance;
    (void)type;
    (void)err;
    (void)errlen;
    return MH_OK;
}

static inline void fh_reads_truth(mh_module_ctx *ctx) { ctx->truth = 1; }
static inline const char *fh_config_dir(const mh_module_ctx *ctx) { (void)ctx; return "."; }
static inline const struct mh_rawevent *fh_event_raw(mh_event *ev) { return ev->raw; }
static inline unsigned fh_event_stream(mh_event *ev) { return ev->stream; }

static inline mh_status fh_get(mh_event *ev, const char *label, const char *instance,
                               const char *type, const void **data, char *err, size_t errlen)
{
    for (size_t i = 0; i < ev->nprods; i++) {
        fh_product *p = &ev->prods[i];
        if (strcmp(p->label, label) == 0 && strcmp(p->instance, instance) == 0 &&
            strcmp(p->type, type) == 0) {
            *data = p->data;
            return MH_OK;
        }
    }
    return mh_fail(err, errlen, MH_NOTFOUND, "no product %s:%s of type %s", label, instance,
                   type);
}

static inline mh_status fh_put(mh_event *ev, const char *instance, const char *type, void *data,
                               void (*free_fn)(void *), char *err, size_t errlen)
{
    if (ev->nprods >= FH_MAXPRODUCTS) {
        free_fn(data);
        return mh_fail(err, errlen, MH_NOMEM, "fake host: too many products");
    }
    fh_product *p = &ev->prods[ev->nprods++];
    snprintf(p->label, sizeof p->label, "%s", ev->current_label);
    snprintf(p->instance, sizeof p->instance, "%s", instance);
    snprintf(p->type, sizeof p->type, "%s", type);
    p->data = data;
    p->free_fn = free_fn;
    return MH_OK;
}

static inline void fh_set_pass(mh_event *ev, bool pass) { ev->pass = pass; }
static inline size_t fh_n_paths(mh_event *ev) { return ev->npaths; }
static inline const char *fh_path_name(mh_event *ev, size_t i) { return ev->path_names[i]; }
static inline bool fh_path_accepted(mh_event *ev, size_t i) { return ev->path_acc[i] != 0; }
static inline void fh_async_done(mh_async *h, mh_status status, const char *msg)
{
    (void)h;
    (void)status;
    (void)msg;
}
static inline void fh_count(mh_event *ev, const char *name, uint64_t delta)
{
    (void)ev;
    (void)name;
    (void)delta;
}

static inline mh_status fh_report_section(mh_module_ctx *ctx, const char *name, const char *json,
                                          char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    snprintf(ctx->section_name, sizeof ctx->section_name, "%s", name);
    free(ctx->section_json);
    ctx->section_json = strdup(json);
    return MH_OK;
}

static inline void fh_report_text(mh_module_ctx *ctx, const char *line)
{
    size_t used = strlen(ctx->text);
    snprintf(ctx->text + used, sizeof ctx->text - used, "%s\n", line);
}

static inline const mh_host *fh_host(void)
{
    static mh_host h;
    h.abi_version = MH_MODULE_ABI_VERSION;
    h.struct_size = sizeof h;
    h.param_int = fh_param_int;
    h.param_double = fh_param_double;
    h.param_bool = fh_param_bool;
    h.param_string = fh_param_string;
    h.param_list_size = fh_param_list_size;
    h.param_list_at = fh_param_list_at;
    h.param_is_set = fh_param_is_set;
    h.module_label = fh_module_label;
    h.n_streams = fh_n_streams;
    h.n_threads = fh_n_threads;
    h.consumes = fh_consumes;
    h.produces = fh_produces;
    h.reads_truth = fh_reads_truth;
    h.config_dir = fh_config_dir;
    h.event_raw = fh_event_raw;
    h.event_stream = fh_event_stream;
    h.get = fh_get;
    h.put = fh_put;
    h.set_pass = fh_set_pass;
    h.n_paths = fh_n_paths;
    h.path_name = fh_path_name;
    h.path_accepted = fh_path_accepted;
    h.async_done = fh_async_done;
    h.count = fh_count;
    h.report_section = fh_report_section;
    h.report_text = fh_report_text;
    return &h;
}

/* The module type `type` of plugin build/plugins/<plugin>.so (the handle
 * is kept open for the life of the test program), or NULL. */
static inline const mh_module_type *fh_type(const char *plugin, const char *type)
{
    const char *build = getenv("MINIHLT_BUILD");
    char path[512];
    snprintf(path, sizeof path, "%s/plugins/%s.so", build && *build ? build : "build", plugin);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        fprintf(stderr, "fakehost: %s\n", dlerror());
        return NULL;
    }
    mh_plugin_entry_fn entry;
    *(void **)&entry = dlsym(h, MH_PLUGIN_ENTRY_NAME);
    if (entry == NULL)
        return NULL;
    const mh_plugin *pl = entry();
    for (size_t i = 0; i < pl->n_types; i++)
        if (strcmp(pl->types[i]->name, type) == 0)
            return pl->types[i];
    return NULL;
}

/* A created module instance. */
typedef struct fh_module {
    const mh_module_type *type;
    mh_module_ctx ctx;
    mh_params params;
    void *self;
} fh_module;

/* Creates module `label` of `type` with params (NULL-terminated list of
 * "name=value"). Returns the create status; err has the message. */
static inline mh_status fh_create(fh_module *m, const mh_module_type *type, const char *label,
                                  const char *const *params, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    m->type = type;
    snprintf(m->ctx.label, sizeof m->ctx.label, "%s", label);
    m->params.type = type;
    for (size_t i = 0; params && params[i] && i < FH_MAXPARAMS; i++)
        m->params.given[m->params.ngiven++] = params[i];
    return type->create(fh_host(), &m->ctx, &m->params, &m->self, err, errlen);
}

/* Runs produce() of m on ev (as the module with m's label). */
static inline mh_status fh_produce(fh_module *m, mh_event *ev, char *err, size_t errlen)
{
    ev->current_label = m->ctx.label;
    ev->pass = 1;
    return m->type->produce(m->self, ev, err, errlen);
}

static inline void fh_destroy(fh_module *m)
{
    if (m->type)
        m->type->destroy(m->self);
    free(m->ctx.section_json);
    m->ctx.section_json = NULL;
    m->self = NULL;
}

/* Frees the products of ev (the end of the event). */
static inline void fh_event_end(mh_event *ev)
{
    for (size_t i = 0; i < ev->nprods; i++)
        ev->prods[i].free_fn(ev->prods[i].data);
    ev->nprods = 0;
}

#endif
