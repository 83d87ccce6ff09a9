/* compare.c - load two JSON timing reports and show what changed. */
#include "timing/mh_compare.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "timing/timing_internal.h"

/* A report larger than this is not something minihlt wrote. */
#define MH__REPORT_MAX_BYTES (256u << 20)

/* One module, path or group of a report. Strings point into the report's
 * JSON tree, which the report keeps alive. */
typedef struct mh__rentry {
    const char *name;
    double cpu_ms, real_ms;
    double accepted, rejected; /* paths */
    int end_path;              /* paths */
    double cpu_fraction, real_fraction; /* groups */
} mh__rentry;

typedef struct mh__rlist {
    mh__rentry *v;
    size_t n;
} mh__rlist;

struct mh_report {
    char *path;
    json_t *root;
    double read, processed, accepted, rejected, failed;
    double wall_s, throughput_hz, total_cpu_ms, total_real_ms;
    mh__rlist modules, paths, groups;
};

void mh_report_free(mh_report *r)
{
    if (!r)
        return;
    free(r->modules.v);
    free(r->paths.v);
    free(r->groups.v);
    json_decref(r->root);
    free(r->path);
    free(r);
}

const json_t *mh_report_json(const mh_report *r)
{
    return r->root;
}

mh_status mh_json_write_atomic(json_t *root, const char *path, char *err, size_t errlen)
{
    return mh__json_write_atomic(root, path, err, errlen);
}

/* ---- loading and validation ------------------------------------------ */

enum { MH__J_NUM, MH__J_STR, MH__J_OBJ, MH__J_ARR, MH__J_BOOL };

static const char *const mh__jtype_name[] = {"a number", "a string", "an object", "an array",
                                             "a boolean"};

static int mh__jtype_ok(const json_t *v, int type)
{
    switch (type) {
    case MH__J_NUM: return json_is_number(v);
    case MH__J_STR: return json_is_string(v);
    case MH__J_OBJ: return json_is_object(v);
    case MH__J_ARR: return json_is_array(v);
    case MH__J_BOOL: return json_is_boolean(v);
    }
    return 0;
}

/* The value of a required key; on failure writes "FILE: missing key 'CTX.KEY'"
 * (or "... is not a number") and returns NULL. ctx is the position of obj
 * in the report ("" at the top, "modules[3]" inside an array). */
static json_t *mh__req(const mh_report *r, json_t *obj, const char *ctx, const char *key, int type,
                       mh_status *st, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    const char *dot = ctx[0] ? "." : "";
    if (!v) {
        *st = mh_fail(err, errlen, MH_FORMAT, "%s: missing key '%s%s%s'", r->path, ctx, dot, key);
        return NULL;
    }
    if (!mh__jtype_ok(v, type)) {
        *st = mh_fail(err, errlen, MH_FORMAT, "%s: key '%s%s%s' is not %s", r->path, ctx, dot, key,
                      mh__jtype_name[type]);
        return NULL;
    }
    return v;
}

static double mh__num_or(json_t *obj, const char *key, double dflt)
{
    json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

typedef enum { MH__K_MODULE, MH__K_PATH, MH__K_GROUP } mh__kind;

static mh_status mh__load_list(mh_report *r, const char *key, mh__kind kind, mh__rlist *out,
                               char *err, size_t errlen)
{
    mh_status st = MH_OK;
    json_t *arr = mh__req(r, r->root, "", key, MH__J_ARR, &st, err, errlen);
    if (!arr)
        return st;
    size_t n = json_array_size(arr);
    out->v = calloc(n ? n : 1, sizeof *out->v);
    if (!out->v)
        return mh_fail(err, errlen, MH_NOMEM, "%s: out of memory", r->path);
    out->n = n;
    const char *name_key = kind == MH__K_MODULE ? "label" : "name";
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_array_get(arr, i);
        char ctx[64];
        snprintf(ctx, sizeof ctx, "%s[%zu]", key, i);
        if (!json_is_object(o))
            return mh_fail(err, errlen, MH_FORMAT, "%s: '%s' is not an object", r->path, ctx);
        mh__rentry *e = &out->v[i];
        json_t *v;
        if (!(v = mh__req(r, o, ctx, name_key, MH__J_STR, &st, err, errlen)))
            return st;
        e->name = json_string_value(v);
        if (!(v = mh__req(r, o, ctx, "real_ms_per_event", MH__J_NUM, &st, err, errlen)))
            return st;
        e->real_ms = json_number_value(v);
        switch (kind) {
        case MH__K_MODULE:
            if (!mh__req(r, o, ctx, "plugin", MH__J_STR, &st, err, errlen) ||
                !mh__req(r, o, ctx, "calls", MH__J_NUM, &st, err, errlen) ||
                !(v = mh__req(r, o, ctx, "cpu_ms_per_event", MH__J_NUM, &st, err, errlen)))
                return st;
            e->cpu_ms = json_number_value(v);
            break;
        case MH__K_PATH:
            if (!(v = mh__req(r, o, ctx, "accepted", MH__J_NUM, &st, err, errlen)))
                return st;
            e->accepted = json_number_value(v);
            e->rejected = mh__num_or(o, "rejected", 0);
            e->cpu_ms = mh__num_or(o, "cpu_ms_per_event", NAN);
            e->end_path = json_is_true(json_object_get(o, "end_path"));
            break;
        case MH__K_GROUP:
            if (!(v = mh__req(r, o, ctx, "cpu_ms_per_event", MH__J_NUM, &st, err, errlen)))
                return st;
            e->cpu_ms = json_number_value(v);
            if (!(v = mh__req(r, o, ctx, "cpu_fraction", MH__J_NUM, &st, err, errlen)))
                return st;
            e->cpu_fraction = json_number_value(v);
            if (!(v = mh__req(r, o, ctx, "real_fraction", MH__J_NUM, &st, err, errlen)))
                return st;
            e->real_fraction = json_number_value(v);
            break;
        }
    }
    return MH_OK;
}

static mh_status mh__parse(mh_report *r, FILE *f, char *err, size_t errlen)
{
    mh_status st = MH_OK;
    json_error_t jerr;
    r->root = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
    if (!r->root)
        return mh_fail(err, errlen, MH_FORMAT, "%s: not a minihlt report (invalid JSON at line %d: %s)",
                       r->path, jerr.line, jerr.text);
    json_t *tool = json_object_get(r->root, "tool");
    if (!json_is_object(r->root) || !json_is_string(tool) ||
        strcmp(json_string_value(tool), MH__REPORT_TOOL) != 0)
        return mh_fail(err, errlen, MH_FORMAT, "%s: not a minihlt report", r->path);
    json_t *ver = mh__req(r, r->root, "", "schema_version", MH__J_NUM, &st, err, errlen);
    if (!ver)
        return st;
    if (!json_is_integer(ver) || json_integer_value(ver) != MH__REPORT_SCHEMA_VERSION)
        return mh_fail(err, errlen, MH_VERSION,
                       "%s: unsupported schema_version %g (this minihlt reads %d)", r->path,
                       json_number_value(ver), MH__REPORT_SCHEMA_VERSION);

    json_t *ev = mh__req(r, r->root, "", "events", MH__J_OBJ, &st, err, errlen);
    if (!ev)
        return st;
    static const char *const ev_keys[] = {"read", "processed", "accepted", "rejected", "failed"};
    double *ev_dst[] = {&r->read, &r->processed, &r->accepted, &r->rejected, &r->failed};
    for (size_t i = 0; i < sizeof ev_keys / sizeof *ev_keys; i++) {
        json_t *v = mh__req(r, ev, "events", ev_keys[i], MH__J_NUM, &st, err, errlen);
        if (!v)
            return st;
        *ev_dst[i] = json_number_value(v);
    }
    static const char *const top_keys[] = {"wall_s", "throughput_hz", "total_cpu_ms_per_event"};
    double *top_dst[] = {&r->wall_s, &r->throughput_hz, &r->total_cpu_ms};
    for (size_t i = 0; i < sizeof top_keys / sizeof *top_keys; i++) {
        json_t *v = mh__req(r, r->root, "", top_keys[i], MH__J_NUM, &st, err, errlen);
        if (!v)
            return st;
        *top_dst[i] = json_number_value(v);
    }
    if ((st = mh__load_list(r, "modules", MH__K_MODULE, &r->modules, err, errlen)) != MH_OK ||
        (st = mh__load_list(r, "paths", MH__K_PATH, &r->paths, err, errlen)) != MH_OK ||
        (st = mh__load_list(r, "groups", MH__K_GROUP, &r->groups, err, errlen)) != MH_OK)
        return st;
    /* Optional (written since version 0.1.0): else the sum over modules. */
    double sum = 0;
    for (size_t i = 0; i < r->modules.n; i++)
        sum += r->modules.v[i].real_ms;
    r->total_real_ms = mh__num_or(r->root, "total_real_ms_per_event", sum);
    return MH_OK;
}

mh_status mh_report_load(const char *path, mh_report **out, char *err, size_t errlen)
{
    if (!out || !path)
        return mh_fail(err, errlen, MH_INVALID, "compare: NULL argument");
    *out = NULL;
    mh_status st;
    mh_report *r = calloc(1, sizeof *r);
    if (!r || !(r->path = strdup(path))) {
        free(r);
        return mh_fail(err, errlen, MH_NOMEM, "%s: out of memory", path);
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        st = mh_fail(err, errlen, MH_IO, "%s: cannot read: %s", path, strerror(errno));
        goto fail;
    }
    struct stat sb = {0};
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = mh_fail(err, errlen, MH_IO, "%s: cannot read: %s", path,
                     S_ISDIR(sb.st_mode) ? "is a directory" : "not a regular file");
        goto fail_close;
    }
    if ((uintmax_t)sb.st_size > MH__REPORT_MAX_BYTES) {
        st = mh_fail(err, errlen, MH_FORMAT, "%s: not a minihlt report (%jd bytes, too large)",
                     path, (intmax_t)sb.st_size);
        goto fail_close;
    }
    st = mh__parse(r, f, err, errlen);
    if (st != MH_OK)
        goto fail_close;
    fclose(f);
    *out = r;
    return MH_OK;
fail_close:
    fclose(f);
fail:
    mh_report_free(r);
    return st;
}

/* ---- comparison ------------------------------------------------------ */

void mh_compare_summary_get(const mh_report *b, const mh_report *n, mh_compare_summary *s)
{
    memset(s, 0, sizeof *s);
    if (!b || !n)
        return;
    s->base_cpu_ms = b->total_cpu_ms;
    s->new_cpu_ms = n->total_cpu_ms;
    s->cpu_change_pct = mh__pct_change(b->total_cpu_ms, n->total_cpu_ms);
    s->base_real_ms = b->total_real_ms;
    s->new_real_ms = n->total_real_ms;
    s->real_change_pct = mh__pct_change(b->total_real_ms, n->total_real_ms);
    s->base_throughput_hz = b->throughput_hz;
    s->new_throughput_hz = n->throughput_hz;
    s->throughput_change_pct = mh__pct_change(b->throughput_hz, n->throughput_hz);
}

/* "+3.2%", "-0.4%", "n/a"; values that round to zero print "+0.0%". */
static const char *mh__fmt_pct(char *buf, size_t len, double v)
{
    if (isnan(v))
        snprintf(buf, len, "n/a");
    else
        snprintf(buf, len, "%+.1f%%", fabs(v) < 0.05 ? 0.0 : v);
    return buf;
}

void mh_compare_headline(const mh_compare_summary *s, char *buf, size_t len)
{
    char a[32], b[32];
    snprintf(buf, len, "HLT time per event %s, throughput %s",
             mh__fmt_pct(a, sizeof a, s->cpu_change_pct),
             mh__fmt_pct(b, sizeof b, s->throughput_change_pct));
}

static const mh__rentry *mh__find(const mh__rlist *l, const char *name)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i].name, name))
            return &l->v[i];
    return NULL;
}

/* The union of two lists' names, base order first: calls fn for each pair
 * (either side may be NULL). */
typedef void (*mh__pair_fn)(const mh__rentry *b, const mh__rentry *n, void *ctx);

static void mh__each_pair(const mh__rlist *b, const mh__rlist *n, mh__pair_fn fn, void *ctx)
{
    for (size_t i = 0; i < b->n; i++)
        if (mh__find(b, b->v[i].name) == &b->v[i]) /* first of duplicate names */
            fn(&b->v[i], mh__find(n, b->v[i].name), ctx);
    for (size_t i = 0; i < n->n; i++)
        if (!mh__find(b, n->v[i].name) && mh__find(n, n->v[i].name) == &n->v[i])
            fn(NULL, &n->v[i], ctx);
}

static int mh__width(const mh__rlist *b, const mh__rlist *n, int floor)
{
    int w = floor;
    const mh__rlist *ls[2] = {b, n};
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < ls[k]->n; i++) {
            size_t l = strlen(ls[k]->v[i].name);
            if ((int)l > w)
                w = l > 200 ? 200 : (int)l;
        }
    return w;
}

typedef struct mh__print_ctx {
    FILE *out;
    int w;
    const mh_report *b, *n;
} mh__print_ctx;

/* A row for a name present in one run only: its values in that run's
 * columns ("-" in the other), and a note. cpu=false shows real time only
 * (paths). */
static void mh__print_only(FILE *out, int w, const mh__rentry *b, const mh__rentry *n, int cpu)
{
    const mh__rentry *e = b ? b : n;
    char v[32];
    snprintf(v, sizeof v, "%.3f", cpu ? e->cpu_ms : e->real_ms);
    fprintf(out, "  %-*s %10s %10s %10s %8s   %s\n", w, e->name, b ? v : "-", b ? "-" : v, "", "",
            b ? "(only in base)" : "(only in new)");
}

static void mh__print_module(const mh__rentry *b, const mh__rentry *n, void *vctx)
{
    mh__print_ctx *c = vctx;
    char p1[32], p2[32];
    if (!b || !n) {
        mh__print_only(c->out, c->w, b, n, 1);
        return;
    }
    fprintf(c->out, "  %-*s %10.3f %10.3f %+10.3f %8s   %10.3f %10.3f %8s\n", c->w, b->name,
            b->cpu_ms, n->cpu_ms, n->cpu_ms - b->cpu_ms,
            mh__fmt_pct(p1, sizeof p1, mh__pct_change(b->cpu_ms, n->cpu_ms)), b->real_ms,
            n->real_ms, mh__fmt_pct(p2, sizeof p2, mh__pct_change(b->real_ms, n->real_ms)));
}

static double mh__rate(double accepted, const mh_report *r)
{
    return r->processed > 0 ? 100.0 * accepted / r->processed : 0;
}

static void mh__print_path(const mh__rentry *b, const mh__rentry *n, void *vctx)
{
    mh__print_ctx *c = vctx;
    char p1[32];
    if (!b || !n) {
        mh__print_only(c->out, c->w, b, n, 0);
        return;
    }
    double rb = mh__rate(b->accepted, c->b), rn = mh__rate(n->accepted, c->n);
    fprintf(c->out, "  %-*s %10.3f %10.3f %+10.3f %8s   %8.2f %8.2f %+8.2f\n", c->w, b->name,
            b->real_ms, n->real_ms, n->real_ms - b->real_ms,
            mh__fmt_pct(p1, sizeof p1, mh__pct_change(b->real_ms, n->real_ms)), rb, rn, rn - rb);
}

static void mh__print_group(const mh__rentry *b, const mh__rentry *n, void *vctx)
{
    mh__print_ctx *c = vctx;
    char p1[32];
    if (!b || !n) {
        mh__print_only(c->out, c->w, b, n, 1);
        return;
    }
    fprintf(c->out, "  %-*s %10.3f %10.3f %+10.3f %8s   %7.2f %7.2f   %7.2f %7.2f\n", c->w,
            b->name, b->cpu_ms, n->cpu_ms, n->cpu_ms - b->cpu_ms,
            mh__fmt_pct(p1, sizeof p1, mh__pct_change(b->cpu_ms, n->cpu_ms)),
            100.0 * b->cpu_fraction, 100.0 * n->cpu_fraction, 100.0 * b->real_fraction,
            100.0 * n->real_fraction);
}

void mh_compare_print(const mh_report *b, const mh_report *n, FILE *out)
{
    if (!b || !n || !out)
        return;
    mh__print_ctx c = {out, 0, b, n};
    fprintf(out, "base: %s (%.0f events read, %.2f ev/s)\n", b->path, b->read, b->throughput_hz);
    fprintf(out, "new:  %s (%.0f events read, %.2f ev/s)\n", n->path, n->read, n->throughput_hz);

    c.w = mh__width(&b->modules, &n->modules, 5);
    fprintf(out, "\nModules (ms per event)\n  %-*s %10s %10s %10s %8s   %10s %10s %8s\n", c.w,
            "label", "base CPU", "new CPU", "change", "%", "base real", "new real", "%");
    mh__each_pair(&b->modules, &n->modules, mh__print_module, &c);

    c.w = mh__width(&b->paths, &n->paths, 4);
    fprintf(out, "\nPaths (real ms per event; accept rate %% of processed events)\n"
                 "  %-*s %10s %10s %10s %8s   %8s %8s %8s\n",
            c.w, "name", "base", "new", "change", "%", "base %", "new %", "points");
    mh__each_pair(&b->paths, &n->paths, mh__print_path, &c);

    if (b->groups.n || n->groups.n) {
        c.w = mh__width(&b->groups, &n->groups, 5);
        fprintf(out, "\nGroups (CPU ms per event; fractions of the HLT time in %%)\n"
                     "  %-*s %10s %10s %10s %8s   %7s %7s   %7s %7s\n",
                c.w, "group", "base", "new", "change", "%", "CPU b", "CPU n", "real b", "real n");
        mh__each_pair(&b->groups, &n->groups, mh__print_group, &c);
    }

    mh_compare_summary s;
    mh_compare_summary_get(b, n, &s);
    char p1[32], p2[32], p3[32], head[128];
    fprintf(out, "\nHLT CPU time per event   %10.3f -> %10.3f ms  (%s)\n", s.base_cpu_ms,
            s.new_cpu_ms, mh__fmt_pct(p1, sizeof p1, s.cpu_change_pct));
    fprintf(out, "HLT real time per event  %10.3f -> %10.3f ms  (%s)\n", s.base_real_ms,
            s.new_real_ms, mh__fmt_pct(p2, sizeof p2, s.real_change_pct));
    fprintf(out, "throughput               %10.2f -> %10.2f ev/s (%s)\n", s.base_throughput_hz,
            s.new_throughput_hz, mh__fmt_pct(p3, sizeof p3, s.throughput_change_pct));
    mh_compare_headline(&s, head, sizeof head);
    fprintf(out, "%s\n", head);
}

/* ---- JSON ------------------------------------------------------------ */

static json_t *mh__jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

/* {"base": b, "new": n, "change": n - b, "change_pct": %} with nulls for
 * missing sides. */
static json_t *mh__jdelta(const mh__rentry *be, double b, const mh__rentry *ne, double n)
{
    double bb = be ? b : NAN, nn = ne ? n : NAN;
    return json_pack("{s:o, s:o, s:o, s:o}", "base", mh__jnum(bb), "new", mh__jnum(nn), "change",
                     mh__jnum(nn - bb), "change_pct", mh__jnum(mh__pct_change(bb, nn)));
}

typedef struct mh__json_ctx {
    json_t *arr;
    const mh_report *b, *n;
    mh__kind kind;
    int ok;
} mh__json_ctx;

static void mh__json_pair(const mh__rentry *b, const mh__rentry *n, void *vctx)
{
    mh__json_ctx *c = vctx;
    const mh__rentry *e = b ? b : n;
    json_t *o = json_pack("{s:s, s:s}", c->kind == MH__K_MODULE ? "label" : "name", e->name, "in",
                          b && n ? "both" : b ? "base" : "new");
    if (!o) {
        c->ok = 0;
        return;
    }
    int ok = 1;
    ok &= !json_object_set_new(o, "cpu_ms_per_event",
                               mh__jdelta(b, b ? b->cpu_ms : 0, n, n ? n->cpu_ms : 0));
    ok &= !json_object_set_new(o, "real_ms_per_event",
                               mh__jdelta(b, b ? b->real_ms : 0, n, n ? n->real_ms : 0));
    if (c->kind == MH__K_PATH)
        ok &= !json_object_set_new(
            o, "accept_rate_pct",
            mh__jdelta(b, b ? mh__rate(b->accepted, c->b) : 0, n, n ? mh__rate(n->accepted, c->n) : 0));
    if (c->kind == MH__K_GROUP) {
        ok &= !json_object_set_new(o, "cpu_fraction",
                                   mh__jdelta(b, b ? b->cpu_fraction : 0, n, n ? n->cpu_fraction : 0));
        ok &= !json_object_set_new(o, "real_fraction",
                                   mh__jdelta(b, b ? b->real_fraction : 0, n, n ? n->real_fraction : 0));
    }
    if (!ok || json_array_append_new(c->arr, o) != 0)
        c->ok = 0;
}

mh_status mh_compare_write_json(const mh_report *b, const mh_report *n, const char *path,
                                char *err, size_t errlen)
{
    if (!b || !n || !path)
        return mh_fail(err, errlen, MH_INVALID, "compare: NULL argument");
    mh_compare_summary s;
    mh_compare_summary_get(b, n, &s);
    char head[128];
    mh_compare_headline(&s, head, sizeof head);
    mh__rentry one = {0};
    json_t *root = json_pack(
        "{s:i, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o}", "schema_version",
        MH__REPORT_SCHEMA_VERSION, "tool", MH__REPORT_TOOL, "kind", "compare", "base", b->path,
        "new", n->path, "headline", head, "hlt_cpu_ms_per_event",
        mh__jdelta(&one, s.base_cpu_ms, &one, s.new_cpu_ms), "hlt_real_ms_per_event",
        mh__jdelta(&one, s.base_real_ms, &one, s.new_real_ms), "throughput_hz",
        mh__jdelta(&one, s.base_throughput_hz, &one, s.new_throughput_hz));
    if (!root)
        return mh_fail(err, errlen, MH_NOMEM, "%s: cannot build the comparison", path);
    static const char *const keys[] = {"modules", "paths", "groups"};
    const mh__rlist *bl[] = {&b->modules, &b->paths, &b->groups};
    const mh__rlist *nl[] = {&n->modules, &n->paths, &n->groups};
    int ok = 1;
    for (int k = 0; k < 3; k++) {
        mh__json_ctx c = {json_array(), b, n, (mh__kind)k, 1};
        if (c.arr)
            mh__each_pair(bl[k], nl[k], mh__json_pair, &c);
        ok &= c.ok && c.arr && json_object_set_new(root, keys[k], c.arr) == 0;
    }
    mh_status st = ok ? mh__json_write_atomic(root, path, err, errlen)
                      : mh_fail(err, errlen, MH_NOMEM, "%s: cannot build the comparison", path);
    json_decref(root);
    return st;
}
