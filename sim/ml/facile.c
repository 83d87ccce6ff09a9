/* facile.c - FACILE model loading (libfyaml + a raw float32 weights file),
 * feature building and the blocked CPU forward pass. */
#include "ml/mh_facile.h"

#include "core/mh_utf8.h"

#include <errno.h>
#include <libfyaml.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CHUNK_ROWS 64 /* rows per chunk: two activation buffers stay in L1/L2 */
#define COLS 16       /* output columns per register block */
#define ROWS 4        /* rows per register block */
#define ALIGN 64
#define MAX_WIDTH 4096
#define MAX_LAYERS 64
#define MAX_CONFIG_BYTES (1u << 20)

/* ---- features ------------------------------------------------------------ */

mh_status mh_facile_features(const float *charge_fc, size_t nts, size_t first_ts,
                             const float *gain, const int *ieta, const int *iphi,
                             const int *depth, size_t n, float *feat, char *err, size_t errlen)
{
    if (first_ts + MH_FACILE_NTS > nts)
        return mh_fail(err, errlen, MH_INVALID,
                       "facile features: samples %zu..%zu do not fit in %zu per channel",
                       first_ts, first_ts + MH_FACILE_NTS - 1, nts);
    for (size_t c = 0; c < n; c++) {
        int ae = ieta[c] < 0 ? -ieta[c] : ieta[c];
        if (ae < 1 || ae > MH_FACILE_NIETA || depth[c] < 1 || depth[c] > MH_FACILE_NDEPTH ||
            iphi[c] < 1 || iphi[c] > MH_FACILE_NIPHI)
            return mh_fail(err, errlen, MH_INVALID,
                           "facile features: channel %zu: cell (ieta %d, iphi %d, depth %d) is "
                           "not an HBHE cell",
                           c, ieta[c], iphi[c], depth[c]);
        float *f = feat + c * MH_FACILE_NFEAT;
        for (size_t k = 0; k < MH_FACILE_NFEAT; k++)
            f[k] = 0.0f;
        for (size_t k = 0; k < MH_FACILE_NTS; k++)
            f[MH_FACILE_F_CHARGE + k] = charge_fc[c * nts + first_ts + k];
        f[MH_FACILE_F_GAIN] = gain[c];
        f[MH_FACILE_F_IPHI] = (float)iphi[c];
        f[MH_FACILE_F_DEPTH + depth[c] - 1] = 1.0f;
        f[MH_FACILE_F_IETA + ae - 1] = 1.0f;
    }
    return MH_OK;
}

/* ---- the model ----------------------------------------------------------- */

typedef struct layer {
    size_t in, out, out_pad;
    int relu;
    float *w;  /* out x in, folded (the public view) */
    float *b;  /* out */
    float *wt; /* in x out_pad, transposed, zero-padded, ALIGN-aligned */
    float *bp; /* out_pad, zero-padded, ALIGN-aligned */
} layer;

struct mh_facile {
    char name[128];
    char in_name[64];
    char out_name[64];
    size_t nin, nout, max_batch;
    size_t nlayers;
    layer layers[MAX_LAYERS];
    size_t max_pad; /* widest out_pad */
};

static void *aligned_zalloc(size_t nfloats)
{
    size_t bytes = (nfloats * sizeof(float) + ALIGN - 1) / ALIGN * ALIGN;
    void *p = NULL;
    if (bytes == 0)
        bytes = ALIGN;
    if (posix_memalign(&p, ALIGN, bytes) != 0)
        return NULL;
    memset(p, 0, bytes);
    return p;
}

void mh_facile_free(mh_facile *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nlayers; i++) {
        free(m->layers[i].w);
        free(m->layers[i].b);
        free(m->layers[i].wt);
        free(m->layers[i].bp);
    }
    free(m);
}

const char *mh_facile_name(const mh_facile *m) { return m->name; }
const char *mh_facile_input_name(const mh_facile *m) { return m->in_name; }
const char *mh_facile_output_name(const mh_facile *m) { return m->out_name; }
size_t mh_facile_num_inputs(const mh_facile *m) { return m->nin; }
size_t mh_facile_num_outputs(const mh_facile *m) { return m->nout; }
size_t mh_facile_max_batch(const mh_facile *m) { return m->max_batch; }
size_t mh_facile_num_layers(const mh_facile *m) { return m->nlayers; }

mh_status mh_facile_layer(const mh_facile *m, size_t i, mh_facile_layer_view *view)
{
    if (!m || i >= m->nlayers)
        return MH_INVALID;
    const layer *l = &m->layers[i];
    view->in = l->in;
    view->out = l->out;
    view->relu = l->relu;
    view->w = l->w;
    view->b = l->b;
    return MH_OK;
}

/* ---- config.yaml --------------------------------------------------------- */

/* A layer as declared in config.yaml, before weights are read. */
typedef struct decl {
    int is_bn;
    char name[64];
    size_t in, units;
    int relu;
    double eps;
} decl;

typedef struct parse_ctx {
    const char *path;
    char *err;
    size_t errlen;
} parse_ctx;

static const char *scalar(struct fy_node *n)
{
    return n && fy_node_is_scalar(n) ? fy_node_get_scalar0(n) : NULL;
}

static mh_status get_str(parse_ctx *pc, struct fy_node *map, const char *key, const char *where,
                         char *dst, size_t dstlen)
{
    const char *s = scalar(fy_node_mapping_lookup_by_string(map, key, FY_NT));
    if (!s || !*s)
        return mh_fail(pc->err, pc->errlen, MH_CONFIG, "%s: %s: missing or empty string '%s'",
                       pc->path, where, key);
    if (strlen(s) >= dstlen)
        return mh_fail(pc->err, pc->errlen, MH_CONFIG, "%s: %s: '%s' longer than %zu characters",
                       pc->path, where, key, dstlen - 1);
    memcpy(dst, s, strlen(s) + 1);
    return MH_OK;
}

static mh_status parse_long(parse_ctx *pc, const char *s, const char *what, const char *where,
                            long lo, long hi, long *v)
{
    char *end;
    errno = 0;
    long x = s ? strtol(s, &end, 10) : 0;
    if (!s || errno || end == s || *end || x < lo || x > hi)
        return mh_fail(pc->err, pc->errlen, MH_CONFIG,
                       "%s: %s: '%s' must be an integer in [%ld, %ld]", pc->path, where, what, lo,
                       hi);
    *v = x;
    return MH_OK;
}

static mh_status check_keys(parse_ctx *pc, struct fy_node *map, const char *const *allowed,
                            const char *where)
{
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(map, &it)) != NULL) {
        const char *k = scalar(fy_node_pair_key(p));
        int ok = 0;
        for (size_t i = 0; k && allowed[i]; i++)
            ok |= strcmp(k, allowed[i]) == 0;
        if (!ok)
            return mh_fail(pc->err, pc->errlen, MH_CONFIG, "%s: %s: unknown key '%s'", pc->path,
                           where, k ? k : "(non-scalar)");
    }
    return MH_OK;
}

/* input/output: a sequence of exactly one tensor {name, data_type TYPE_FP32,
 * dims [-1, W]}; writes the name and W. */
static mh_status parse_tensor(parse_ctx *pc, struct fy_node *root, const char *key, char *name,
                              size_t namelen, size_t *width)
{
    static const char *const keys[] = {"name", "data_type", "dims", NULL};
    struct fy_node *seq = fy_node_mapping_lookup_by_string(root, key, FY_NT);
    if (!seq || !fy_node_is_sequence(seq) || fy_node_sequence_item_count(seq) != 1)
        return mh_fail(pc->err, pc->errlen, MH_CONFIG,
                       "%s: '%s' must be a list of exactly one tensor", pc->path, key);
    struct fy_node *t = fy_node_sequence_get_by_index(seq, 0);
    if (!t || !fy_node_is_mapping(t))
        return mh_fail(pc->err, pc->errlen, MH_CONFIG, "%s: %s[0] must be a mapping", pc->path,
                       key);
    mh_status st = check_keys(pc, t, keys, key);
    if (st != MH_OK)
        return st;
    if ((st = get_str(pc, t, "name", key, name, namelen)) != MH_OK)
        return st;
    const char *dt = scalar(fy_node_mapping_lookup_by_string(t, "data_type", FY_NT));
    if (!dt || strcmp(dt, "TYPE_FP32") != 0)
        return mh_fail(pc->err, pc->errlen, MH_CONFIG, "%s: %s: data_type must be TYPE_FP32",
                       pc->path, key);
    struct fy_node *dims = fy_node_mapping_lookup_by_string(t, "dims", FY_NT);
    if (!dims || !fy_node_is_sequence(dims) || fy_node_sequence_item_count(dims) != 2)
        return mh_fail(pc->err, pc->errlen, MH_CONFIG, "%s: %s: dims must be [-1, N]", pc->path,
                       key);
    long d0, d1;
    if ((st = parse_long(pc, scalar(fy_node_sequence_get_by_index(dims, 0)), "dims[0]", key, -1,
                         -1, &d0)) != MH_OK ||
        (st = parse_long(pc, scalar(fy_node_sequence_get_by_index(dims, 1)), "dims[1]", key, 1,
                         MAX_WIDTH, &d1)) != MH_OK)
        return st;
    *width = (size_t)d1;
    return MH_OK;
}

static mh_status parse_layers(parse_ctx *pc, struct fy_node *root, size_t nin, decl *d,
                              size_t *nd)
{
    static const char *const keys[] = {"type", "name", "units", "activation", "eps", NULL};
    struct fy_node *seq = fy_node_mapping_lookup_by_string(root, "layers", FY_NT);
    if (!seq || !fy_node_is_sequence(seq) || fy_node_sequence_item_count(seq) < 1)
        return mh_fail(pc->err, pc->errlen, MH_CONFIG, "%s: 'layers' must be a non-empty list",
                       pc->path);
    int count = fy_node_sequence_item_count(seq);
    if (count > MAX_LAYERS)
        return mh_fail(pc->err, pc->errlen, MH_CONFIG, "%s: %d layers, at most %d", pc->path,
                       count, MAX_LAYERS);
    size_t width = nin;
    for (int i = 0; i < count; i++) {
        char where[96];
        struct fy_node *l = fy_node_sequence_get_by_index(seq, i);
        snprintf(where, sizeof where, "layer %d", i);
        if (!l || !fy_node_is_mapping(l))
            return mh_fail(pc->err, pc->errlen, MH_CONFIG, "%s: %s must be a mapping", pc->path,
                           where);
        mh_status st = check_keys(pc, l, keys, where);
        if (st != MH_OK)
            return st;
        decl *x = &d[i];
        memset(x, 0, sizeof *x);
        if ((st = get_str(pc, l, "name", where, x->name, sizeof x->name)) != MH_OK)
            return st;
        snprintf(where, sizeof where, "layer %d '%s'", i, x->name);
        const char *type = scalar(fy_node_mapping_lookup_by_string(l, "type", FY_NT));
        long units;
        if ((st = parse_long(pc, scalar(fy_node_mapping_lookup_by_string(l, "units", FY_NT)),
                             "units", where, 1, MAX_WIDTH, &units)) != MH_OK)
            return st;
        x->in = width;
        x->units = (size_t)units;
        if (type && strcmp(type, "batchnorm") == 0) {
            x->is_bn = 1;
            if (x->units != width)
                return mh_fail(pc->err, pc->errlen, MH_CONFIG,
                               "%s: %s: batchnorm has %zu units but its input has %zu", pc->path,
                               where, x->units, width);
            const char *e = scalar(fy_node_mapping_lookup_by_string(l, "eps", FY_NT));
            char *end;
            x->eps = e ? strtod(e, &end) : -1.0;
            if (!e || *end || !(x->eps > 0.0) || !isfinite(x->eps))
                return mh_fail(pc->err, pc->errlen, MH_CONFIG,
                               "%s: %s: batchnorm needs eps > 0", pc->path, where);
            if (fy_node_mapping_lookup_by_string(l, "activation", FY_NT))
                return mh_fail(pc->err, pc->errlen, MH_CONFIG,
                               "%s: %s: batchnorm takes no activation", pc->path, where);
        } else if (type && strcmp(type, "dense") == 0) {
            const char *act = scalar(fy_node_mapping_lookup_by_string(l, "activation", FY_NT));
            if (!act || (strcmp(act, "relu") != 0 && strcmp(act, "linear") != 0))
                return mh_fail(pc->err, pc->errlen, MH_CONFIG,
                               "%s: %s: activation must be relu or linear", pc->path, where);
            if (fy_node_mapping_lookup_by_string(l, "eps", FY_NT))
                return mh_fail(pc->err, pc->errlen, MH_CONFIG, "%s: %s: dense takes no eps",
                               pc->path, where);
            x->relu = strcmp(act, "relu") == 0;
            width = x->units;
        } else {
            return mh_fail(pc->err, pc->errlen, MH_CONFIG,
                           "%s: %s: type must be batchnorm or dense", pc->path, where);
        }
        /* BatchNorm is folded into the next Dense layer, which must exist. */
        if (i > 0 && d[i - 1].is_bn && x->is_bn)
            return mh_fail(pc->err, pc->errlen, MH_CONFIG,
                           "%s: %s: batchnorm must be followed by a dense layer", pc->path, where);
    }
    if (d[count - 1].is_bn)
        return mh_fail(pc->err, pc->errlen, MH_CONFIG,
                       "%s: the last layer must be dense (batchnorm is folded into the next "
                       "dense layer)",
                       pc->path);
    *nd = (size_t)count;
    return MH_OK;
}

/* Parses config.yaml held in text[0..len); path names it in messages. The
 * text must be UTF-8 without tabs first: libfyaml 0.7 can loop on invalid
 * sequences and crash on some tabs. */
static mh_status parse_config(const char *path, const char *text, size_t len, mh_facile *m,
                              decl *d, size_t *nd, char *err, size_t errlen)
{
    static const char *const keys[] = {"name",  "platform", "max_batch_size", "input",
                                       "output", "layers",  "dynamic_batching",
                                       "instance_group", "parameters",
                                       "max_queue_delay_us", "instances", NULL};
    parse_ctx pc = {path, err, errlen};
    mh_status st = MH_OK;
    size_t bad;
    if (!mh_utf8_check(text, len, &bad))
        return mh_fail(err, errlen, MH_CONFIG, "%s: not valid UTF-8 (byte 0x%02x at offset %zu)",
                       path, (unsigned char)text[bad], bad);
    /* libfyaml 0.7 crashes on some tabs (see sim/config/menu.c mh__parse). */
    const char *tab = memchr(text, '\t', len);
    if (tab)
        return mh_fail(err, errlen, MH_CONFIG, "%s: tab character at offset %zu (use spaces)",
                       path, (size_t)(tab - text));
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    struct fy_diag *diag = fy_diag_create(&dcfg);
    if (!diag)
        return mh_fail(err, errlen, MH_NOMEM, "%s: cannot create YAML diagnostics", path);
    fy_diag_set_collect_errors(diag, true);
    struct fy_parse_cfg cfg = {.search_path = NULL, .flags = FYPCF_QUIET, .userdata = NULL,
                               .diag = diag};
    struct fy_document *doc = fy_document_build_from_string(&cfg, text, len);
    if (!doc) {
        void *it = NULL;
        struct fy_diag_error *e = fy_diag_errors_iterate(diag, &it);
        if (e)
            st = mh_fail(err, errlen, MH_CONFIG, "%s:%d:%d: %s", path, e->line + 1,
                         e->column + 1, e->msg ? e->msg : "YAML error");
        else
            st = mh_fail(err, errlen, MH_CONFIG, "%s: not valid YAML", path);
        goto out_diag;
    }
    struct fy_node *root = fy_document_root(doc);
    if (!root || !fy_node_is_mapping(root)) {
        st = mh_fail(err, errlen, MH_CONFIG, "%s: top level must be a mapping", path);
        goto out_doc;
    }
    if ((st = check_keys(&pc, root, keys, "top level")) != MH_OK)
        goto out_doc;
    if ((st = get_str(&pc, root, "name", "top level", m->name, sizeof m->name)) != MH_OK)
        goto out_doc;
    const char *plat = scalar(fy_node_mapping_lookup_by_string(root, "platform", FY_NT));
    if (!plat || strcmp(plat, "minihlt_dense") != 0) {
        st = mh_fail(err, errlen, MH_CONFIG, "%s: platform must be minihlt_dense", path);
        goto out_doc;
    }
    long mb = 0;
    struct fy_node *mbn = fy_node_mapping_lookup_by_string(root, "max_batch_size", FY_NT);
    if (mbn && (st = parse_long(&pc, scalar(mbn), "max_batch_size", "top level", 0, 1L << 30,
                                &mb)) != MH_OK)
        goto out_doc;
    m->max_batch = (size_t)mb;
    if ((st = parse_tensor(&pc, root, "input", m->in_name, sizeof m->in_name, &m->nin)) !=
            MH_OK ||
        (st = parse_tensor(&pc, root, "output", m->out_name, sizeof m->out_name, &m->nout)) !=
            MH_OK)
        goto out_doc;
    if ((st = parse_layers(&pc, root, m->nin, d, nd)) != MH_OK)
        goto out_doc;
    if (d[*nd - 1].units != m->nout)
        st = mh_fail(err, errlen, MH_CONFIG,
                     "%s: layer %zu '%s' has %zu units but the output tensor has %zu", path,
                     *nd - 1, d[*nd - 1].name, d[*nd - 1].units, m->nout);
out_doc:
    fy_document_destroy(doc);
out_diag:
    fy_diag_destroy(diag);
    return st;
}

/* ---- weights.bin --------------------------------------------------------- */

static size_t decl_floats(const decl *x)
{
    return x->is_bn ? 4 * x->units : x->units * x->in + x->units;
}

static float le_float(const unsigned char *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Converts the weights bytes raw[0..nbytes) into floats (host order),
 * checking that they are exactly `expect` floats (raw NULL: a file of
 * nbytes that was not read). *out is malloc'd, caller
 * frees. */
static mh_status weights_from_bytes(const char *path, const unsigned char *raw, size_t nbytes,
                                    size_t expect, float **out, char *err, size_t errlen)
{
    if (!raw || nbytes / 4 != expect || nbytes % 4)
        return mh_fail(err, errlen, MH_FORMAT,
                       "%s: %zu bytes, but config.yaml declares %zu float32 weights (%zu bytes)",
                       path, nbytes, expect, expect * 4);
    float *w = malloc(expect * sizeof(float) + 1);
    if (!w)
        return mh_fail(err, errlen, MH_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < expect; i++)
        w[i] = le_float(raw + 4 * i);
    *out = w;
    return MH_OK;
}

/* Reads a whole regular file if it holds at most max bytes: then *out is
 * malloc'd (caller frees). A larger file is not read: *out is NULL and
 * *len its size, for the caller's message. */
static mh_status read_file(const char *path, size_t max, unsigned char **out, size_t *len,
                           char *err, size_t errlen)
{
    mh_status st = MH_OK;
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mh_fail(err, errlen, MH_IO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = mh_fail(err, errlen, MH_IO, "%s: not a regular file", path);
        goto out_file;
    }
    *len = (size_t)sb.st_size;
    if ((unsigned long long)sb.st_size > max)
        goto out_file;
    unsigned char *buf = malloc(*len + 1);
    if (!buf) {
        st = mh_fail(err, errlen, MH_NOMEM, "%s: out of memory", path);
        goto out_file;
    }
    if (fread(buf, 1, *len, f) != *len) {
        free(buf);
        st = mh_fail(err, errlen, MH_IO, "%s: short read", path);
        goto out_file;
    }
    *out = buf;
out_file:
    fclose(f);
    return st;
}

/* Turns declared layers + raw weights into computational layers: folds
 * each BatchNorm into the Dense layer after it and builds the padded,
 * transposed copies the forward pass reads. */
static mh_status build_layers(mh_facile *m, const decl *d, size_t nd, const float *wts,
                              const char *wpath, char *err, size_t errlen)
{
    const float *p = wts;
    const float *bn = NULL; /* pending batchnorm parameters */
    double bn_eps = 0.0;
    for (size_t i = 0; i < nd; i++) {
        const decl *x = &d[i];
        size_t nf = decl_floats(x);
        for (size_t k = 0; k < nf; k++)
            if (!isfinite(p[k]))
                return mh_fail(err, errlen, MH_FORMAT,
                               "%s: layer %zu '%s': weight %zu is not finite", wpath, i, x->name,
                               k);
        if (x->is_bn) {
            for (size_t k = 0; k < x->units; k++)
                if (!(p[x->units + k] + x->eps > 0.0))
                    return mh_fail(err, errlen, MH_FORMAT,
                                   "%s: layer %zu '%s': var[%zu] + eps is not positive", wpath, i,
                                   x->name, k);
            bn = p;
            bn_eps = x->eps;
            p += nf;
            continue;
        }
        layer *l = &m->layers[m->nlayers];
        l->in = x->in;
        l->out = x->units;
        l->out_pad = (x->units + COLS - 1) / COLS * COLS;
        l->relu = x->relu;
        l->w = malloc(sizeof(float) * l->in * l->out);
        l->b = malloc(sizeof(float) * l->out);
        l->wt = aligned_zalloc(l->in * l->out_pad);
        l->bp = aligned_zalloc(l->out_pad);
        m->nlayers++;
        if (!l->w || !l->b || !l->wt || !l->bp)
            return mh_fail(err, errlen, MH_NOMEM, "%s: layer %zu '%s': out of memory", wpath, i,
                           x->name);
        const float *W = p, *B = p + l->in * l->out;
        for (size_t j = 0; j < l->out; j++) {
            double bias = B[j];
            for (size_t k = 0; k < l->in; k++) {
                double wjk = W[j * l->in + k];
                if (bn) {
                    /* y = s*x + c with s = gamma/sqrt(var+eps), c = beta - s*mean */
                    const float *mean = bn, *var = bn + l->in, *gamma = bn + 2 * l->in,
                                *beta = bn + 3 * l->in;
                    double s = gamma[k] / sqrt((double)var[k] + bn_eps);
                    bias += wjk * (beta[k] - s * mean[k]);
                    wjk *= s;
                }
                l->w[j * l->in + k] = (float)wjk;
                l->wt[k * l->out_pad + j] = (float)wjk;
            }
            l->b[j] = (float)bias;
            l->bp[j] = (float)bias;
        }
        if (l->out_pad > m->max_pad)
            m->max_pad = l->out_pad;
        bn = NULL;
        p += nf;
    }
    return MH_OK;
}

/* A model being loaded: config parsed, weights not yet read. */
typedef struct loading {
    mh_facile *m;
    decl *d;
    size_t nd;
    size_t total; /* float32 weights the config declares */
} loading;

static void loading_free(loading *L)
{
    free(L->d);
    mh_facile_free(L->m);
}

/* First step of both entry points: parses config.yaml text (cpath names it). */
static mh_status loading_config(loading *L, const char *cpath, const char *config,
                                size_t config_len, char *err, size_t errlen)
{
    L->d = calloc(MAX_LAYERS, sizeof *L->d);
    L->m = calloc(1, sizeof *L->m);
    if (!L->m || !L->d)
        return mh_fail(err, errlen, MH_NOMEM, "facile: out of memory");
    if (config_len > MAX_CONFIG_BYTES)
        return mh_fail(err, errlen, MH_CONFIG, "%s: %zu bytes, more than the %u allowed", cpath,
                       config_len, MAX_CONFIG_BYTES);
    mh_status st = parse_config(cpath, config, config_len, L->m, L->d, &L->nd, err, errlen);
    for (size_t i = 0; st == MH_OK && i < L->nd; i++)
        L->total += decl_floats(&L->d[i]);
    return st;
}

/* Second step: the weights bytes (raw NULL: a file of nbytes not read);
 * on success *out takes the model. */
static mh_status loading_weights(loading *L, const char *wpath, const unsigned char *raw,
                                 size_t nbytes, mh_facile **out, char *err, size_t errlen)
{
    float *wts = NULL;
    mh_status st = weights_from_bytes(wpath, raw, nbytes, L->total, &wts, err, errlen);
    if (st == MH_OK)
        st = build_layers(L->m, L->d, L->nd, wts, wpath, err, errlen);
    free(wts);
    if (st == MH_OK) {
        *out = L->m;
        L->m = NULL;
    }
    return st;
}

mh_status mh_facile_load(const char *model_dir, unsigned version, mh_facile **out, char *err,
                         size_t errlen)
{
    if (!model_dir || !out || version == 0)
        return mh_fail(err, errlen, MH_INVALID, "facile: need a model directory and version >= 1");
    *out = NULL;
    char cpath[4096], wpath[4096];
    if ((size_t)snprintf(cpath, sizeof cpath, "%s/config.yaml", model_dir) >= sizeof cpath ||
        (size_t)snprintf(wpath, sizeof wpath, "%s/%u/weights.bin", model_dir, version) >=
            sizeof wpath)
        return mh_fail(err, errlen, MH_INVALID, "facile: model path too long");
    loading L = {0};
    unsigned char *config = NULL, *weights = NULL;
    size_t clen = 0, wlen = 0;
    mh_status st = read_file(cpath, MAX_CONFIG_BYTES, &config, &clen, err, errlen);
    /* A config file too large to read fails in loading_config on its size. */
    if (st == MH_OK)
        st = loading_config(&L, cpath, config ? (const char *)config : "", clen,
                            err, errlen);
    /* The weights file is read only if its size can match the config. */
    if (st == MH_OK)
        st = read_file(wpath, L.total * 4, &weights, &wlen, err, errlen);
    if (st == MH_OK)
        st = loading_weights(&L, wpath, weights, wlen, out, err, errlen);
    free(config);
    free(weights);
    loading_free(&L);
    return st;
}

mh_status mh_facile_load_buffer(const char *name, const char *config, size_t config_len,
                                const void *weights, size_t weights_len, mh_facile **out,
                                char *err, size_t errlen)
{
    if (!name || !out || (!config && config_len) || (!weights && weights_len))
        return mh_fail(err, errlen, MH_INVALID, "facile: bad arguments");
    *out = NULL;
    char cpath[512], wpath[512];
    snprintf(cpath, sizeof cpath, "%s: config.yaml", name);
    snprintf(wpath, sizeof wpath, "%s: weights", name);
    loading L = {0};
    mh_status st = loading_config(&L, cpath, config ? config : "", config_len, err, errlen);
    if (st == MH_OK)
        st = loading_weights(&L, wpath, weights ? weights : (const void *)"", weights_len, out,
                             err, errlen);
    loading_free(&L);
    return st;
}

/* ---- forward pass -------------------------------------------------------- */

size_t mh_facile_workspace_size(const mh_facile *m)
{
    return 2 * CHUNK_ROWS * m->max_pad * sizeof(float) + ALIGN;
}

/* y[r][0..out_pad) = act(x[r] . W + b) for nr rows; x has row stride xs,
 * y has row stride out_pad. Register blocks of ROWS rows x COLS columns of
 * accumulators (GCC vector extensions: 2 x 8 floats per row); each step
 * broadcasts one input and does one multiply-add per accumulator against a
 * 64-byte aligned row of the transposed weights. On x86-64 the function is
 * also compiled for x86-64-v3 (AVX2 + FMA) and picked at load time (not under
 * the sanitizers: an ifunc resolver runs before their runtime is up). */
typedef float v8sf __attribute__((vector_size(32)));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__) \
    && !defined(__SANITIZE_THREAD__)
#define MH__CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define MH__CLONES
#endif

typedef int32_t v8si __attribute__((vector_size(32)));

/* ReLU by masking with the lane-wise comparison (all ones where v > 0). A
 * macro, not a function: passing 32-byte vectors by value changes the ABI
 * between the clones. */
#define relu8(v, relu) ((relu) ? (v8sf)((v8si)(v) & ((v) > zero8)) : (v))

MH__CLONES
static void dense_rows(const layer *l, const float *restrict x, size_t xs, size_t nr,
                       float *restrict y)
{
    const size_t in = l->in, op = l->out_pad;
    const float *restrict wt = l->wt;
    const int relu = l->relu;
    const v8sf zero8 = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t r = 0;
    for (; r + ROWS <= nr; r += ROWS) {
        const float *x0 = x + r * xs;
        for (size_t j0 = 0; j0 < op; j0 += COLS) {
            const v8sf b0 = *(const v8sf *)(l->bp + j0), b1 = *(const v8sf *)(l->bp + j0 + 8);
            v8sf a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1;
            for (size_t k = 0; k < in; k++) {
                const v8sf w0 = *(const v8sf *)(wt + k * op + j0);
                const v8sf w1 = *(const v8sf *)(wt + k * op + j0 + 8);
                const float x0k = x0[k], x1k = x0[xs + k], x2k = x0[2 * xs + k],
                            x3k = x0[3 * xs + k];
                a00 += x0k * w0;
                a01 += x0k * w1;
                a10 += x1k * w0;
                a11 += x1k * w1;
                a20 += x2k * w0;
                a21 += x2k * w1;
                a30 += x3k * w0;
                a31 += x3k * w1;
            }
            float *y0 = y + r * op + j0;
            *(v8sf *)(y0) = relu8(a00, relu);
            *(v8sf *)(y0 + 8) = relu8(a01, relu);
            *(v8sf *)(y0 + op) = relu8(a10, relu);
            *(v8sf *)(y0 + op + 8) = relu8(a11, relu);
            *(v8sf *)(y0 + 2 * op) = relu8(a20, relu);
            *(v8sf *)(y0 + 2 * op + 8) = relu8(a21, relu);
            *(v8sf *)(y0 + 3 * op) = relu8(a30, relu);
            *(v8sf *)(y0 + 3 * op + 8) = relu8(a31, relu);
        }
    }
    for (; r < nr; r++) {
        const float *x0 = x + r * xs;
        for (size_t j0 = 0; j0 < op; j0 += COLS) {
            v8sf a0 = *(const v8sf *)(l->bp + j0), a1 = *(const v8sf *)(l->bp + j0 + 8);
            for (size_t k = 0; k < in; k++) {
                a0 += x0[k] * *(const v8sf *)(wt + k * op + j0);
                a1 += x0[k] * *(const v8sf *)(wt + k * op + j0 + 8);
            }
            *(v8sf *)(y + r * op + j0) = relu8(a0, relu);
            *(v8sf *)(y + r * op + j0 + 8) = relu8(a1, relu);
        }
    }
}

mh_status mh_facile_forward(const mh_facile *m, const float *in, size_t n, float *out, void *work,
                            size_t work_size, char *err, size_t errlen)
{
    if (!m || (n > 0 && (!in || !out)))
        return mh_fail(err, errlen, MH_INVALID, "facile forward: NULL argument");
    size_t need = mh_facile_workspace_size(m);
    void *own = NULL;
    if (!work) {
        own = malloc(need);
        if (!own)
            return mh_fail(err, errlen, MH_NOMEM, "facile forward: no memory for workspace");
        work = own;
        work_size = need;
    } else if (work_size < need) {
        return mh_fail(err, errlen, MH_INVALID,
                       "facile forward: workspace of %zu bytes, need %zu", work_size, need);
    }
    uintptr_t base = ((uintptr_t)work + ALIGN - 1) / ALIGN * ALIGN;
    float *buf[2];
    buf[0] = (float *)base;
    buf[1] = buf[0] + CHUNK_ROWS * m->max_pad;

    for (size_t c0 = 0; c0 < n; c0 += CHUNK_ROWS) {
        size_t nr = n - c0 < CHUNK_ROWS ? n - c0 : CHUNK_ROWS;
        const float *x = in + c0 * m->nin;
        size_t xs = m->nin;
        for (size_t li = 0; li < m->nlayers; li++) {
            float *y = buf[li & 1];
            dense_rows(&m->layers[li], x, xs, nr, y);
            x = y;
            xs = m->layers[li].out_pad;
        }
        for (size_t r = 0; r < nr; r++)
            for (size_t j = 0; j < m->nout; j++)
                out[(c0 + r) * m->nout + j] = x[r * xs + j];
    }
    free(own);
    return MH_OK;
}
