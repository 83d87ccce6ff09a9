/* hcal_remote.c - module type `hcal_remote`: the FACILE network served by a
 * remote KServe v2 / Triton-protocol inference server (SONIC-style external
 * work), digis -> rechits. A thin adapter over sim/net/mh_client.h.
 *
 * acquire() builds the 46 features of every channel of the event with
 * mh_facile_features() (the one place every backend gets them from) into a
 * per-stream buffer reused from event to event, sends ONE request carrying
 * all channels and returns: the worker thread goes on with other modules.
 * The client's I/O thread calls back when the answer is in (or every retry
 * and server failed); the callback signals the framework through
 * host->async_done(). produce() then copies the energies into the rechit
 * product - or, when the remote call failed and `fallback: cpu`, runs the
 * network locally on the worker thread (never on the shared I/O thread).
 *
 * Every retry, failover, failure and fallback is counted (host->count), so
 * the report says for each event whether it was served remotely, served
 * after a retry, computed locally, or failed (fallback: none). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/mh_module.h"
#include "hcal/mh_hcal_products.h"
#include "ml/mh_facile.h"
#include "net/mh_client.h"

typedef struct remote_mod remote_mod;

/* Per stream: at most one event per stream is in flight, so no lock. */
typedef struct remote_stream {
    remote_mod *mod;
    float *feat;   /* cap x MH_FACILE_NFEAT, the request payload */
    float *energy; /* cap, the response */
    size_t cap;    /* rows */
    void *work;    /* CPU fallback workspace, allocated on first use */
    mh_event *ev;  /* the event in flight (valid until async_done) */
    mh_async *done;
    int remote_ok; /* 1: energy[] holds the server's answer */
} remote_stream;

struct remote_mod {
    const mh_host *host;
    mh_module_ctx *ctx; /* for the report, valid until end_job() returns */
    const char *digis;
    size_t first_ts;
    int fallback_cpu;
    mh_client *client;
    mh_facile *model; /* only with fallback: cpu */
    size_t work_size;
    unsigned nstreams;
    remote_stream *streams;
};

static const mh_param_def remote_params[] = {
    {"digis", MH_PARAM_STRING, "hbheDigis", "label of the hcal_unpack module"},
    {"servers", MH_PARAM_STRING_LIST, "[\"http://127.0.0.1:8000\"]",
     "KServe v2 / Triton HTTP base URLs, in failover order"},
    {"model", MH_PARAM_STRING, "facile", "model name on the server"},
    {"model_version", MH_PARAM_STRING, "", "model version on the server (\"\": its default)"},
    {"timeout_ms", MH_PARAM_INT, "2000", "per attempt, connect + send + answer"},
    {"retries", MH_PARAM_INT, "2", "attempts after the first, each on the next server"},
    {"recheck_ms", MH_PARAM_INT, "10000",
     "after a failover, new requests go back to the first server this long later"},
    {"fallback", MH_PARAM_STRING, "cpu",
     "when every attempt failed: cpu (run the network locally from model_dir) or none (the "
     "event fails)"},
    {"model_dir", MH_PARAM_STRING, "data/models/facile",
     "model repository for fallback: cpu (config.yaml + VERSION/weights.bin)"},
    {"model_dir_version", MH_PARAM_INT, "1", "version subdirectory of model_dir"},
    {"emulate_rtt_ms", MH_PARAM_INT, "0",
     "fixed delay added to every answer, to model a remote site (10 on-premises, 60 cloud)"},
    {"firstSample", MH_PARAM_INT, "0",
     "first digi sample of the 8 charges fed to the network (as MAHI's; must match training)"},
};

static void remote_destroy(void *vself)
{
    remote_mod *self = vself;
    if (self == NULL)
        return;
    /* The client first: its shutdown completes every request still in
     * flight, whose callbacks use the streams. */
    mh_client_free(self->client);
    if (self->streams != NULL)
        for (unsigned s = 0; s < self->nstreams; s++) {
            free(self->streams[s].feat);
            free(self->streams[s].energy);
            free(self->streams[s].work);
        }
    free(self->streams);
    mh_facile_free(self->model);
    free(self);
}

/* Reads an integer parameter that must lie in lo..hi. */
static mh_status int_param(const mh_host *host, const mh_params *params, const char *name,
                           int64_t lo, int64_t hi, int64_t *v, char *err, size_t errlen)
{
    *v = host->param_int(params, name);
    if (*v < lo || *v > hi)
        return mh_fail(err, errlen, MH_PARAM, "%s: %lld outside %lld..%lld", name,
                       (long long)*v, (long long)lo, (long long)hi);
    return MH_OK;
}

static mh_status remote_create(const mh_host *host, mh_module_ctx *ctx, const mh_params *params,
                               void **out, char *err, size_t errlen)
{
    mh_status st;
    const char **urls = NULL;
    remote_mod *self = calloc(1, sizeof *self);
    *out = self;
    if (self == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    self->host = host;
    self->ctx = ctx;
    self->digis = host->param_string(params, "digis");

    int64_t timeout, retries, rtt, first, dir_version, recheck;
    if ((st = int_param(host, params, "timeout_ms", 1, 600000, &timeout, err, errlen)) != MH_OK ||
        (st = int_param(host, params, "retries", 0, 100, &retries, err, errlen)) != MH_OK ||
        (st = int_param(host, params, "recheck_ms", 1, 86400000, &recheck, err, errlen)) !=
            MH_OK ||
        (st = int_param(host, params, "emulate_rtt_ms", 0, 600000, &rtt, err, errlen)) != MH_OK ||
        (st = int_param(host, params, "firstSample", 0, MH_HCAL_PROD_NTS - MH_FACILE_NTS, &first,
                        err, errlen)) != MH_OK ||
        (st = int_param(host, params, "model_dir_version", 1, 1000000, &dir_version, err,
                        errlen)) != MH_OK)
        return st;
    self->first_ts = (size_t)first;

    const char *fallback = host->param_string(params, "fallback");
    if (strcmp(fallback, "cpu") == 0)
        self->fallback_cpu = 1;
    else if (strcmp(fallback, "none") != 0)
        return mh_fail(err, errlen, MH_PARAM, "fallback: '%s' is neither cpu nor none", fallback);
    if (self->fallback_cpu) {
        const char *dir = host->param_string(params, "model_dir");
        st = mh_facile_load(dir, (unsigned)dir_version, &self->model, err, errlen);
        if (st != MH_OK)
            return mh_fail_prefix(err, errlen, st, "model_dir (for fallback: cpu): ");
        if (mh_facile_num_inputs(self->model) != MH_FACILE_NFEAT ||
            mh_facile_num_outputs(self->model) != 1)
            return mh_fail(err, errlen, MH_PARAM,
                           "model_dir: %s takes %zu inputs and gives %zu outputs; FACILE needs "
                           "%d and 1",
                           dir, mh_facile_num_inputs(self->model),
                           mh_facile_num_outputs(self->model), MH_FACILE_NFEAT);
        self->work_size = mh_facile_workspace_size(self->model);
    }

    size_t nserv = host->param_list_size(params, "servers");
    if (nserv == 0)
        return mh_fail(err, errlen, MH_PARAM, "servers: at least one URL is needed");
    urls = calloc(nserv, sizeof *urls);
    if (urls == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    for (size_t i = 0; i < nserv; i++)
        urls[i] = host->param_list_at(params, "servers", i);
    mh_client_config cfg = {
        .servers = urls,
        .n_servers = nserv,
        .model = host->param_string(params, "model"),
        .model_version = host->param_string(params, "model_version"),
        .timeout_ms = (unsigned)timeout,
        .retries = (unsigned)retries,
        .recheck_ms = (unsigned)recheck,
        .emulate_rtt_ms = (unsigned)rtt,
    };
    st = mh_client_create(&cfg, &self->client, err, errlen);
    free(urls);
    if (st != MH_OK) /* the client's message names the field (servers[1], model) */
        return mh_fail_prefix(err, errlen, st == MH_INVALID ? MH_PARAM : st, "%s", "");

    self->nstreams = host->n_streams(ctx);
    if (self->nstreams == 0)
        self->nstreams = 1;
    self->streams = calloc(self->nstreams, sizeof *self->streams);
    if (self->streams == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    for (unsigned s = 0; s < self->nstreams; s++)
        self->streams[s].mod = self;
    st = host->consumes(ctx, self->digis, "", MH_HCAL_DIGIS_TYPE, err, errlen);
    if (st != MH_OK)
        return st;
    return host->produces(ctx, "", MH_HCAL_RECHITS_TYPE, err, errlen);
}

/* The client's I/O thread: record the outcome, count it, wake the event. */
static void remote_done(void *user, const mh_client_result *r)
{
    remote_stream *rs = user;
    const mh_host *host = rs->mod->host;
    mh_event *ev = rs->ev;
    if (r->retries)
        host->count(ev, "retries", r->retries);
    if (r->failovers)
        host->count(ev, "failovers", r->failovers);
    if (r->status == MH_OK) {
        rs->remote_ok = 1;
        host->async_done(rs->done, MH_OK, NULL);
        return;
    }
    host->count(ev, "failures", 1);
    rs->remote_ok = 0;
    if (rs->mod->fallback_cpu) {
        host->async_done(rs->done, MH_OK, NULL); /* produce() computes locally */
        return;
    }
    char msg[400];
    snprintf(msg, sizeof msg, "remote inference failed after %u attempt%s: %s", r->attempts,
             r->attempts == 1 ? "" : "s", r->msg);
    host->async_done(rs->done, r->status, msg);
}

static mh_status get_digis(remote_mod *self, mh_event *ev, const mh_hcal_digis **d,
                           remote_stream **rs, char *err, size_t errlen)
{
    const void *p = NULL;
    mh_status st = self->host->get(ev, self->digis, "", MH_HCAL_DIGIS_TYPE, &p, err, errlen);
    if (st != MH_OK)
        return st;
    *d = p;
    unsigned s = self->host->event_stream(ev);
    if (s >= self->nstreams)
        return mh_fail(err, errlen, MH_INTERNAL, "stream %u of %u", s, self->nstreams);
    *rs = &self->streams[s];
    return MH_OK;
}

static mh_status remote_acquire(void *vself, mh_event *ev, mh_async *done, char *err,
                                size_t errlen)
{
    remote_mod *self = vself;
    const mh_hcal_digis *d;
    remote_stream *rs;
    mh_status st = get_digis(self, ev, &d, &rs, err, errlen);
    if (st != MH_OK)
        return st;
    if (d->n > rs->cap) {
        float *f = realloc(rs->feat, (size_t)d->n * MH_FACILE_NFEAT * sizeof *f);
        if (f)
            rs->feat = f;
        float *e = f ? realloc(rs->energy, (size_t)d->n * sizeof *e) : NULL;
        if (e)
            rs->energy = e;
        if (!f || !e)
            return mh_fail(err, errlen, MH_NOMEM, "out of memory for %u channels", d->n);
        rs->cap = d->n;
    }
    st = mh_facile_features(d->charge_fc, d->nsamples, self->first_ts, d->gain, d->ieta, d->iphi,
                            d->depth, d->n, rs->feat, err, errlen);
    if (st != MH_OK)
        return st;
    rs->ev = ev;
    rs->done = done;
    rs->remote_ok = 0;
    if (d->n == 0) {
        rs->remote_ok = 1; /* nothing to ask */
        self->host->async_done(done, MH_OK, NULL);
        return MH_OK;
    }
    st = mh_client_infer(self->client, rs->feat, d->n, MH_FACILE_NFEAT, rs->energy, d->n,
                         remote_done, rs, err, errlen);
    if (st != MH_OK) {
        /* Could not even be queued (out of memory): a failed remote call. */
        self->host->count(ev, "failures", 1);
        if (!self->fallback_cpu)
            return st;
        self->host->async_done(done, MH_OK, NULL);
    }
    return MH_OK;
}

static mh_status remote_produce(void *vself, mh_event *ev, char *err, size_t errlen)
{
    remote_mod *self = vself;
    const mh_host *host = self->host;
    const mh_hcal_digis *d;
    remote_stream *rs;
    mh_status st = get_digis(self, ev, &d, &rs, err, errlen);
    if (st != MH_OK)
        return st;
    mh_hcal_rechits *r = mh_hcal_rechits_create(d->n, "facile_remote");
    if (r == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory for %u rechits", d->n);
    memcpy(r->channel, d->channel, (size_t)d->n * sizeof *r->channel);
    memset(r->flags, MH_HCAL_RH_FITTED, d->n);
    if (rs->remote_ok) {
        if (d->n) /* an empty event sent nothing: rs->energy may be NULL */
            memcpy(r->energy, rs->energy, (size_t)d->n * sizeof *r->energy);
    } else {
        /* fallback: cpu (remote_done only lets a failed event through then). */
        if (rs->work == NULL && (rs->work = malloc(self->work_size ? self->work_size : 1)) == NULL)
            st = mh_fail(err, errlen, MH_NOMEM, "out of memory");
        else
            st = mh_facile_forward(self->model, rs->feat, d->n, r->energy, rs->work,
                                   self->work_size, err, errlen);
        if (st != MH_OK) {
            mh_hcal_product_free(r);
            return st;
        }
        host->count(ev, "fallbacks", 1);
    }
    host->count(ev, "channels", d->n);
    return host->put(ev, "", MH_HCAL_RECHITS_TYPE, r, mh_hcal_product_free, err, errlen);
}

/* The client's totals go into the report (section "remote:LABEL" and one
 * text line): the transport-level view - attempts, timeouts, connections,
 * bytes - next to the per-event counters. */
static mh_status remote_end_job(void *vself, char *err, size_t errlen)
{
    remote_mod *self = vself;
    const mh_host *host = self->host;
    mh_client_stats s;
    mh_client_get_stats(self->client, &s);
    const char *label = host->module_label(self->ctx);
    char line[400], name[160];
    snprintf(line, sizeof line,
             "%s: %llu remote requests on %s%s: %llu ok, %llu failed%s, %llu retries, %llu "
             "failovers, %llu timeouts, %llu connections",
             label, (unsigned long long)s.requests, mh_client_server(self->client, 0),
             mh_client_server(self->client, 1) ? " (+failover)" : "",
             (unsigned long long)s.succeeded, (unsigned long long)s.failed,
             self->fallback_cpu ? " (computed on the CPU)" : " (events failed)",
             (unsigned long long)s.retries, (unsigned long long)s.failovers,
             (unsigned long long)s.timeouts, (unsigned long long)s.connects);
    host->report_text(self->ctx, line);
    json_t *j = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "requests",
        (json_int_t)s.requests, "succeeded", (json_int_t)s.succeeded, "failed",
        (json_int_t)s.failed, "attempts", (json_int_t)s.attempts, "retries",
        (json_int_t)s.retries, "failovers", (json_int_t)s.failovers, "timeouts",
        (json_int_t)s.timeouts, "conn_errors", (json_int_t)s.conn_errors, "http_errors",
        (json_int_t)s.http_errors, "bad_responses", (json_int_t)s.bad_responses, "connects",
        (json_int_t)s.connects, "bytes_sent", (json_int_t)s.bytes_sent, "bytes_received",
        (json_int_t)s.bytes_received, "fallback", self->fallback_cpu ? "cpu" : "none");
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (text == NULL)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory for the report section");
    snprintf(name, sizeof name, "remote:%s", label);
    mh_status st = host->report_section(self->ctx, name, text, err, errlen);
    free(text);
    return st;
}

static const mh_module_type remote_type = {
    .abi_version = MH_MODULE_ABI_VERSION,
    .struct_size = sizeof(mh_module_type),
    .name = "hcal_remote",
    .help = "HBHE reconstruction with FACILE on a remote KServe v2 / Triton server, digis -> "
            "rechits (async, retries, failover, CPU fallback)",
    .kind = MH_KIND_PRODUCER,
    .params = remote_params,
    .n_params = sizeof remote_params / sizeof remote_params[0],
    .create = remote_create,
    .acquire = remote_acquire,
    .produce = remote_produce,
    .end_job = remote_end_job,
    .destroy = remote_destroy,
};

static const mh_module_type *const remote_types[] = {&remote_type};

MH_DEFINE_PLUGIN("hcal_remote",
                 "FACILE served by a remote KServe v2 / Triton inference server (SONIC)",
                 remote_types);
