/* metrics.c - what the server tells about its models: metadata and config
 * JSON, the statistics extension (Triton docs/protocol/
 * extension_statistics.md) and Prometheus metrics with Triton's names. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "net/mh_infer.h"
#include "net/net_internal.h"

void mh__textbuf_printf(mh__textbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t nc = b->cap ? b->cap * 2 : 4096;
        while (nc - b->len <= (size_t)n)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
}

/* A copy of a model's statistics taken under its lock. */
static void mh__snapshot(mh__model *m, mh__stats *s, size_t *queued)
{
    pthread_mutex_lock(&m->stats.lock);
    *s = m->stats;
    s->batches = NULL;
    pthread_mutex_unlock(&m->stats.lock);
    pthread_mutex_lock(&m->lock);
    *queued = m->queued;
    pthread_mutex_unlock(&m->lock);
}

typedef struct mh__family {
    const char *name, *help, *type;
    int which;
} mh__family;

enum {
    MH__M_SUCCESS, MH__M_FAILURE, MH__M_COUNT, MH__M_EXEC, MH__M_PENDING, MH__M_REQ_US,
    MH__M_QUEUE_US, MH__M_CIN_US, MH__M_CINF_US, MH__M_COUT_US,
};

static const mh__family mh__families[] = {
    {"nv_inference_request_success", "Number of successful inference requests, all batch sizes",
     "counter", MH__M_SUCCESS},
    {"nv_inference_request_failure", "Number of failed inference requests, all batch sizes",
     "counter", MH__M_FAILURE},
    {"nv_inference_count", "Number of inferences performed (does not include cached requests)",
     "counter", MH__M_COUNT},
    {"nv_inference_exec_count",
     "Number of model executions performed (does not include cached requests)", "counter",
     MH__M_EXEC},
    {"nv_inference_pending_request_count",
     "Instantaneous number of pending requests awaiting execution per-model.", "gauge",
     MH__M_PENDING},
    {"nv_inference_request_duration_us",
     "Cumulative inference request duration in microseconds (includes cached requests)",
     "counter", MH__M_REQ_US},
    {"nv_inference_queue_duration_us",
     "Cumulative inference queuing duration in microseconds (includes cached requests)",
     "counter", MH__M_QUEUE_US},
    {"nv_inference_compute_input_duration_us",
     "Cumulative compute input duration in microseconds (does not include cached requests)",
     "counter", MH__M_CIN_US},
    {"nv_inference_compute_infer_duration_us",
     "Cumulative compute inference duration in microseconds (does not include cached requests)",
     "counter", MH__M_CINF_US},
    {"nv_inference_compute_output_duration_us",
     "Cumulative inference compute output duration in microseconds (does not include cached "
     "requests)",
     "counter", MH__M_COUT_US},
};

mh_status mh__metrics_render(mh__model *const *models, size_t n, char **out, size_t *len)
{
    static const char *const reasons[MH__FAIL_COUNT] = {"REJECTED", "BACKEND", "OTHER"};
    mh__textbuf b = {0};
    mh__stats *snap = calloc(n ? n : 1, sizeof *snap);
    size_t *queued = calloc(n ? n : 1, sizeof *queued);
    if (!snap || !queued) {
        free(snap);
        free(queued);
        return MH_NOMEM;
    }
    for (size_t i = 0; i < n; i++)
        mh__snapshot(models[i], &snap[i], &queued[i]);
    for (size_t f = 0; f < sizeof mh__families / sizeof mh__families[0]; f++) {
        const mh__family *fam = &mh__families[f];
        mh__textbuf_printf(&b, "# HELP %s %s\n# TYPE %s %s\n", fam->name, fam->help, fam->name,
                           fam->type);
        for (size_t i = 0; i < n; i++) {
            const mh__stats *s = &snap[i];
            const char *mn = models[i]->name, *mv = models[i]->version;
            if (fam->which == MH__M_FAILURE) {
                for (int r = 0; r < MH__FAIL_COUNT; r++)
                    mh__textbuf_printf(&b, "%s{model=\"%s\",reason=\"%s\",version=\"%s\"} %llu\n",
                                       fam->name, mn, reasons[r], mv,
                                       (unsigned long long)s->fail_reason[r]);
                continue;
            }
            unsigned long long v = 0;
            switch (fam->which) {
            case MH__M_SUCCESS: v = s->success.count; break;
            case MH__M_COUNT: v = s->inference_count; break;
            case MH__M_EXEC: v = s->execution_count; break;
            case MH__M_PENDING: v = queued[i]; break;
            case MH__M_REQ_US: v = s->request_duration_us_total; break;
            case MH__M_QUEUE_US: v = s->queue.ns / 1000u; break;
            case MH__M_CIN_US: v = s->compute_input.ns / 1000u; break;
            case MH__M_CINF_US: v = s->compute_infer.ns / 1000u; break;
            case MH__M_COUT_US: v = s->compute_output.ns / 1000u; break;
            default: break;
            }
            mh__textbuf_printf(&b, "%s{model=\"%s\",version=\"%s\"} %llu\n", fam->name, mn, mv, v);
        }
    }
    free(snap);
    free(queued);
    if (b.oom) {
        free(b.p);
        return MH_NOMEM;
    }
    *out = b.p;
    *len = b.len;
    return MH_OK;
}

static json_t *mh__dur_json(const mh__dur *d)
{
    return json_pack("{s:I,s:I}", "count", (json_int_t)d->count, "ns", (json_int_t)d->ns);
}

static json_t *mh__model_stats_json(mh__model *m)
{
    mh__stats *s = &m->stats;
    pthread_mutex_lock(&s->lock);
    json_t *batches = json_array();
    for (size_t i = 0; batches && i < s->nbatches; i++) {
        const mh__batch_stat *b = &s->batches[i];
        json_array_append_new(batches,
                              json_pack("{s:I,s:o,s:o,s:o}", "batch_size",
                                        (json_int_t)b->batch_size, "compute_input",
                                        mh__dur_json(&b->compute_input), "compute_infer",
                                        mh__dur_json(&b->compute_infer), "compute_output",
                                        mh__dur_json(&b->compute_output)));
    }
    mh__dur zero = {0, 0};
    json_t *inf = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "success",
                            mh__dur_json(&s->success), "fail", mh__dur_json(&s->fail), "queue",
                            mh__dur_json(&s->queue), "compute_input",
                            mh__dur_json(&s->compute_input), "compute_infer",
                            mh__dur_json(&s->compute_infer), "compute_output",
                            mh__dur_json(&s->compute_output), "cache_hit", mh__dur_json(&zero),
                            "cache_miss", mh__dur_json(&zero));
    json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:I,s:o,s:o,s:o,s:[]}", "name", m->name, "version",
                          m->version, "last_inference", (json_int_t)s->last_inference_ms,
                          "inference_count", (json_int_t)s->inference_count, "execution_count",
                          (json_int_t)s->execution_count, "inference_stats", inf,
                          "response_stats", json_object(), "batch_stats", batches,
                          "memory_usage");
    pthread_mutex_unlock(&s->lock);
    return o;
}

char *mh__stats_json(mh__model *const *models, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, mh__model_stats_json(models[i]));
    json_t *root = json_pack("{s:o}", "model_stats", arr);
    char *s = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    return s;
}

/* Triton's metadata shape includes the batch dimension as -1. */
static json_t *mh__tensor_meta(const char *name, size_t width)
{
    return json_pack("{s:s,s:s,s:[i,I]}", "name", name, "datatype", "FP32", "shape", -1,
                     (json_int_t)width);
}

/* Config dims: without the batch dimension when the model batches. */
static json_t *mh__dims(const mh__model *m, size_t width)
{
    return m->max_batch ? json_pack("[I]", (json_int_t)width)
                        : json_pack("[i,I]", -1, (json_int_t)width);
}

char *mh__model_metadata_json(const mh__model *m)
{
    json_t *o = json_pack("{s:s,s:[s],s:s,s:[o],s:[o]}", "name", m->name, "versions",
                          m->version, "platform", "minihlt_dense", "inputs",
                          mh__tensor_meta(mh_facile_input_name(m->net), m->nin),
                          "outputs",
                          mh__tensor_meta(mh_facile_output_name(m->net), m->nout));
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* The model configuration as Triton's JSON form of config.pbtxt: with
 * max_batch_size > 0, dims exclude the batch dimension. */
char *mh__model_config_json(const mh__model *m)
{
    json_t *o = json_pack(
        "{s:s,s:s,s:s,s:I,s:[{s:s,s:s,s:s,s:o}],s:[{s:s,s:s,s:o}],s:[{s:s,s:i,s:s}]}",
        "name", m->name, "platform", "minihlt_dense", "backend", m->backend->name,
        "max_batch_size", (json_int_t)m->max_batch, "input", "name",
        mh_facile_input_name(m->net), "data_type", "TYPE_FP32", "format", "FORMAT_NONE", "dims",
        mh__dims(m, m->nin), "output", "name", mh_facile_output_name(m->net), "data_type",
        "TYPE_FP32", "dims", mh__dims(m, m->nout), "instance_group", "name", m->name, "count",
        (int)m->instances, "kind", strcmp(m->backend->name, "cpu") ? "KIND_GPU" : "KIND_CPU");
    if (o && m->dynamic_batching)
        json_object_set_new(o, "dynamic_batching",
                            json_pack("{s:I,s:[]}", "max_queue_delay_microseconds",
                                      (json_int_t)m->max_queue_delay_us, "preferred_batch_size"));
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}
