/* output.c - the output module of an end path: writes the events accepted
 * by the chosen paths (any path if none is chosen) to a .mhe file through
 * the sim/io writer, which writes a temporary file and renames it at close
 * (end of job), so a file under its final name is always complete. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/mh_module.h"
#include "io/mh_evfile.h"

typedef struct outmod {
    const mh_host *host;
    const char *label;
    const char *file;
    size_t nselect;
    const char **select; /* path names (point into the params) */
    mh_evwriter *w;
    pthread_mutex_t lock; /* the writer is one thread at a time */
    uint64_t written;
} outmod;

static const mh_param_def out_params[] = {
    {"file", MH_PARAM_STRING, "",
     "output .mhe file, relative to the current directory (empty: count, write nothing)"},
    {"select_paths", MH_PARAM_STRING_LIST, "[]",
     "write events accepted by any of these paths (empty: by any path)"},
    {"events_per_cluster", MH_PARAM_INT, "0", "events per compressed cluster (0: default)"},
};

static void out_destroy(void *self)
{
    outmod *o = self;
    if (!o)
        return;
    mh_evwriter_abort(o->w); /* a run that did not reach end_job leaves no file */
    pthread_mutex_destroy(&o->lock);
    free(o->select);
    free(o);
}

static mh_status out_create(const mh_host *h, mh_module_ctx *ctx, const mh_params *p, void **self,
                            char *err, size_t errlen)
{
    outmod *o = calloc(1, sizeof *o);
    if (!o)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    pthread_mutex_init(&o->lock, NULL);
    *self = o;
    o->host = h;
    o->label = h->module_label(ctx);
    o->file = h->param_string(p, "file");
    o->nselect = h->param_list_size(p, "select_paths");
    o->select = calloc(o->nselect + 1, sizeof *o->select);
    if (!o->select)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    for (size_t i = 0; i < o->nselect; i++)
        o->select[i] = h->param_list_at(p, "select_paths", i);
    int64_t epc = h->param_int(p, "events_per_cluster");
    if (epc < 0 || epc > 65536)
        return mh_fail(err, errlen, MH_PARAM, "module '%s': events_per_cluster must be 0..65536",
                       o->label);
    h->reads_truth(ctx); /* the output keeps the whole event, truth included */
    if (!o->file[0])
        return MH_OK;
    mh_evmeta *meta = mh_evmeta_create();
    if (!meta)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    mh_evwriter_opts opts = {(uint32_t)epc, 0};
    mh_status st = mh_evmeta_set(meta, "writer", "minihlt run output");
    if (st == MH_OK)
        st = mh_evwriter_open(o->file, meta, &opts, &o->w, err, errlen);
    mh_evmeta_free(meta);
    if (st != MH_OK)
        return mh_fail_prefix(err, errlen, st, "module '%s': ", o->label);
    return MH_OK;
}

static bool out_selected(const outmod *o, mh_event *ev)
{
    const mh_host *h = o->host;
    size_t n = h->n_paths(ev);
    for (size_t i = 0; i < n; i++) {
        if (!h->path_accepted(ev, i))
            continue;
        if (!o->nselect)
            return true;
        const char *name = h->path_name(ev, i);
        for (size_t k = 0; k < o->nselect; k++)
            if (!strcmp(name, o->select[k]))
                return true;
    }
    return false;
}

static mh_status out_produce(void *self, mh_event *ev, char *err, size_t errlen)
{
    outmod *o = self;
    if (!out_selected(o, ev))
        return MH_OK;
    mh_status st = MH_OK;
    pthread_mutex_lock(&o->lock);
    if (o->w)
        st = mh_evwriter_write(o->w, o->host->event_raw(ev), err, errlen);
    if (st == MH_OK)
        o->written++;
    pthread_mutex_unlock(&o->lock);
    if (st == MH_OK)
        o->host->count(ev, o->file[0] ? "written" : "selected", 1);
    return st;
}

static mh_status out_end_job(void *self, char *err, size_t errlen)
{
    outmod *o = self;
    mh_evwriter *w = o->w;
    o->w = NULL;
    return w ? mh_evwriter_close(w, err, errlen) : MH_OK;
}

static const mh_module_type out_type = {
    .abi_version = MH_MODULE_ABI_VERSION,
    .struct_size = sizeof(mh_module_type),
    .name = "output",
    .help = "writes the events accepted by chosen paths to a .mhe file (end paths)",
    .kind = MH_KIND_OUTPUT,
    .params = out_params,
    .n_params = sizeof out_params / sizeof out_params[0],
    .create = out_create,
    .produce = out_produce,
    .end_job = out_end_job,
    .destroy = out_destroy,
};

static const mh_module_type *const out_types[] = {&out_type};

MH_DEFINE_PLUGIN("output",
                 "event output to .mhe files",
                 out_types);
