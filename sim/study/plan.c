/* plan.c - which runs a study makes, and the module override of each. */
#include "study/mh_study.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const mh__kind_names[] = {
    [MH_STUDY_MAHI] = "mahi",
    [MH_STUDY_FACILE] = "facile",
    [MH_STUDY_OPENCL] = "opencl",
    [MH_STUDY_OPENCL_MAHI] = "opencl_mahi",
    [MH_STUDY_REMOTE] = "remote",
};
#define MH__NKINDS (sizeof mh__kind_names / sizeof mh__kind_names[0])

const char *mh_study_kind_name(mh_study_kind k)
{
    return (size_t)k < MH__NKINDS ? mh__kind_names[k] : "?";
}

mh_status mh_study_kind_parse(const char *text, mh_study_kind *out, char *err, size_t errlen)
{
    for (size_t i = 0; i < MH__NKINDS; i++) {
        if (!strcmp(text, mh__kind_names[i])) {
            *out = (mh_study_kind)i;
            return MH_OK;
        }
    }
    return mh_fail(err, errlen, MH_INVALID,
                   "unknown variant '%s' (known: mahi, facile, opencl, opencl_mahi, remote)", text);
}

/* Splits a comma-separated list in place-free fashion: calls each item
 * (trimmed of spaces) through fn. Empty items are errors. */
typedef mh_status (*mh__item_fn)(const char *item, void *ctx, char *err, size_t errlen);

static mh_status mh__each_item(const char *csv, const char *what, mh__item_fn fn, void *ctx,
                               char *err, size_t errlen)
{
    const char *p = csv;
    while (1) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        while (n && *p == ' ') {
            p++;
            n--;
        }
        while (n && p[n - 1] == ' ')
            n--;
        char item[MH_STUDY_NAME_MAX];
        if (n == 0)
            return mh_fail(err, errlen, MH_INVALID, "%s: empty item in '%s'", what, csv);
        if (n >= sizeof item)
            return mh_fail(err, errlen, MH_INVALID, "%s: item too long in '%s'", what, csv);
        memcpy(item, p, n);
        item[n] = '\0';
        mh_status st = fn(item, ctx, err, errlen);
        if (st != MH_OK)
            return st;
        if (!end)
            return MH_OK;
        p = end + 1;
    }
}

typedef struct mh__plan_ctx {
    mh_study_run *runs;
    size_t max, n;
    const char *rtt_csv;
    /* for scans */
    mh_study_run scan_base;
    const char *scan_names[MH_STUDY_MAX_RUNS];
    size_t nscan_names;
} mh__plan_ctx;

static mh_status mh__push(mh__plan_ctx *c, const mh_study_run *r, char *err, size_t errlen)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->runs[i].name, r->name))
            return mh_fail(err, errlen, MH_INVALID, "variant '%s' given twice", r->name);
    if (c->n >= c->max)
        return mh_fail(err, errlen, MH_INVALID, "too many runs (at most %zu)", c->max);
    c->runs[c->n++] = *r;
    return MH_OK;
}

static mh_status mh__parse_num(const char *item, const char *what, double lo, double hi,
                               double *out, char *err, size_t errlen)
{
    char *end;
    errno = 0;
    double v = strtod(item, &end);
    if (errno || *end || end == item || !isfinite(v) || v < lo || v > hi)
        return mh_fail(err, errlen, MH_INVALID, "%s: '%s' is not a number in [%g, %g]", what,
                       item, lo, hi);
    *out = v;
    return MH_OK;
}

static mh_status mh__rtt_item(const char *item, void *ctx, char *err, size_t errlen)
{
    mh__plan_ctx *c = ctx;
    double rtt;
    mh_status st = mh__parse_num(item, "--rtt", 0, 10000, &rtt, err, errlen);
    if (st != MH_OK)
        return st;
    mh_study_run r = {0};
    r.kind = MH_STUDY_REMOTE;
    r.role = MH_STUDY_ROLE_VARIANT;
    r.rtt_ms = rtt;
    snprintf(r.name, sizeof r.name, "remote_rtt%g", rtt);
    return mh__push(c, &r, err, errlen);
}

static mh_status mh__variant_item(const char *item, void *ctx, char *err, size_t errlen)
{
    mh__plan_ctx *c = ctx;
    mh_study_kind k;
    mh_status st = mh_study_kind_parse(item, &k, err, errlen);
    if (st != MH_OK)
        return st;
    if (k == MH_STUDY_REMOTE)
        return mh__each_item(c->rtt_csv, "--rtt", mh__rtt_item, c, err, errlen);
    mh_study_run r = {0};
    r.kind = k;
    r.role = MH_STUDY_ROLE_VARIANT;
    snprintf(r.name, sizeof r.name, "%s", item);
    return mh__push(c, &r, err, errlen);
}

static mh_status mh__scan_name_item(const char *item, void *ctx, char *err, size_t errlen)
{
    mh__plan_ctx *c = ctx;
    for (size_t i = 0; i < c->n; i++) {
        if (c->runs[i].role == MH_STUDY_ROLE_VARIANT && !strcmp(c->runs[i].name, item)) {
            if (c->nscan_names < MH_STUDY_MAX_RUNS)
                c->scan_names[c->nscan_names++] = c->runs[i].name;
            return MH_OK;
        }
    }
    return mh_fail(err, errlen, MH_INVALID, "--scan: '%s' is not one of the variants", item);
}

static mh_status mh__streams_item(const char *item, void *ctx, char *err, size_t errlen)
{
    mh__plan_ctx *c = ctx;
    double s;
    mh_status st = mh__parse_num(item, "--scan-streams", 1, 1024, &s, err, errlen);
    if (st != MH_OK)
        return st;
    if (s != floor(s))
        return mh_fail(err, errlen, MH_INVALID, "--scan-streams: '%s' is not an integer", item);
    mh_study_run r = c->scan_base;
    r.role = MH_STUDY_ROLE_SCAN_STREAMS;
    r.streams = (unsigned)s;
    char name[MH_STUDY_NAME_MAX];
    snprintf(name, sizeof name, "%.40s_s%u", c->scan_base.name, r.streams);
    memcpy(r.name, name, sizeof r.name);
    return mh__push(c, &r, err, errlen);
}

/* The default streams scan: the baseline (the first mahi run, else the
 * first run) and the offload that waits, the first remote run with a
 * non-zero RTT (else the first remote run, else the next variant): an
 * asynchronous module is where more streams than threads pay. */
static void mh__default_scan(mh__plan_ctx *c, size_t nvariants)
{
    size_t base = 0, other = nvariants;
    for (size_t i = nvariants; i-- > 0;)
        if (c->runs[i].kind == MH_STUDY_MAHI)
            base = i;
    for (size_t i = 0; i < nvariants; i++) {
        const mh_study_run *r = &c->runs[i];
        if (r->kind == MH_STUDY_REMOTE &&
            (other == nvariants || (c->runs[other].rtt_ms == 0 && r->rtt_ms > 0)))
            other = i;
    }
    if (other == nvariants)
        other = base + 1 < nvariants ? base + 1 : (base > 0 ? 0 : nvariants);
    c->scan_names[c->nscan_names++] = c->runs[base].name;
    if (other < nvariants && other != base)
        c->scan_names[c->nscan_names++] = c->runs[other].name;
}

mh_status mh_study_plan(const char *variants_csv, const char *rtt_csv, const char *streams_csv,
                        const char *scan_csv, mh_study_run *runs, size_t max, size_t *nruns,
                        char *err, size_t errlen)
{
    mh__plan_ctx c = {.runs = runs, .max = max, .rtt_csv = rtt_csv && *rtt_csv ? rtt_csv : "0"};
    *nruns = 0;
    mh_status st = mh__each_item(variants_csv, "--variants", mh__variant_item, &c, err, errlen);
    if (st != MH_OK)
        return st;
    size_t nvariants = c.n;
    if (streams_csv && *streams_csv) {
        if (scan_csv && *scan_csv) {
            st = mh__each_item(scan_csv, "--scan", mh__scan_name_item, &c, err, errlen);
            if (st != MH_OK)
                return st;
        } else {
            mh__default_scan(&c, nvariants);
        }
        for (size_t i = 0; i < c.nscan_names; i++) {
            for (size_t j = 0; j < nvariants; j++) {
                if (!strcmp(runs[j].name, c.scan_names[i])) {
                    c.scan_base = runs[j];
                    break;
                }
            }
            st = mh__each_item(streams_csv, "--scan-streams", mh__streams_item, &c, err, errlen);
            if (st != MH_OK)
                return st;
        }
    }
    *nruns = c.n;
    return MH_OK;
}

mh_status mh_study_module_yaml(const mh_study_run *run, const char *server_url,
                               const char *model_dir, char *buf, size_t len, char *err,
                               size_t errlen)
{
    int n = -1;
    switch (run->kind) {
    case MH_STUDY_MAHI:
        n = snprintf(buf, len, "{plugin: hcal_mahi}");
        break;
    case MH_STUDY_FACILE:
        n = snprintf(buf, len, "{plugin: hcal_facile, model: '%s'}", model_dir);
        break;
    case MH_STUDY_OPENCL:
        n = snprintf(buf, len, "{plugin: hcal_opencl, backend: facile, model: '%s'}", model_dir);
        break;
    case MH_STUDY_OPENCL_MAHI:
        n = snprintf(buf, len, "{plugin: hcal_opencl, backend: mahi}");
        break;
    case MH_STUDY_REMOTE:
        n = snprintf(buf, len,
                     "{plugin: hcal_remote, servers: ['%s'], emulate_rtt_ms: %g, fallback: cpu, "
                     "model_dir: '%s'}",
                     server_url ? server_url : "http://127.0.0.1:8000", run->rtt_ms, model_dir);
        break;
    }
    if (n < 0 || (size_t)n >= len)
        return mh_fail(err, errlen, MH_INVALID, "%s: module override too long", run->name);
    return MH_OK;
}

double mh_study_metric_sum(const char *text, const char *name, const char *model)
{
    double sum = 0;
    size_t nlen = strlen(name);
    char want[160];
    if (model)
        snprintf(want, sizeof want, "model=\"%s\"", model);
    for (const char *line = text; line && *line;) {
        const char *eol = strchr(line, '\n');
        size_t llen = eol ? (size_t)(eol - line) : strlen(line);
        if (llen > nlen && !strncmp(line, name, nlen) &&
            (line[nlen] == '{' || line[nlen] == ' ')) {
            char tmp[1024];
            size_t n = llen < sizeof tmp - 1 ? llen : sizeof tmp - 1;
            memcpy(tmp, line, n);
            tmp[n] = '\0';
            const char *close = tmp[nlen] == '{' ? strchr(tmp + nlen, '}') : tmp + nlen;
            if (close && (!model || (tmp[nlen] == '{' && strstr(tmp, want) &&
                                     strstr(tmp, want) < close))) {
                char *end;
                double v = strtod(close + (*close == '}'), &end);
                if (end != close + (*close == '}') && isfinite(v))
                    sum += v;
            }
        }
        line = eol ? eol + 1 : NULL;
    }
    return sum;
}
