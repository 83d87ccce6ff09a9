/* test_facile.c - FACILE: feature building and forward pass against the
 * numpy reference (tests/data/facile_tiny/golden.txt, written by
 * scripts/facile_reference.py), BatchNorm folding, concurrency, and the
 * loader's validation of broken model repositories. Run from the top of the
 * source tree (as scripts/run_tests.sh does). */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ml/mh_facile.h"

#define TINY "tests/data/facile_tiny"
#define NTS 10
#define MAXN 256

typedef struct golden {
    size_t n, nout, first_ts;
    int ieta[MAXN], iphi[MAXN], depth[MAXN];
    float gain[MAXN];
    float q[MAXN * NTS];
    float feat[MAXN * MH_FACILE_NFEAT];
    double out[MAXN];
} golden;

static golden G;

static void load_golden(void)
{
    FILE *f = fopen(TINY "/golden.txt", "r");
    ck_assert_msg(f != NULL, "cannot open " TINY "/golden.txt (run from the source tree top)");
    char line[16384];
    size_t row = 0, n = 0;
    int header = 0;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#')
            continue;
        if (!header) {
            unsigned long a, b, c, d, e;
            ck_assert_int_eq(sscanf(line, "n %lu nts %lu first_ts %lu nfeat %lu nout %lu", &a, &b,
                                    &c, &d, &e),
                             5);
            ck_assert(a <= MAXN && b == NTS && d == MH_FACILE_NFEAT && e == 1);
            n = a;
            G.first_ts = c;
            G.nout = e;
            header = 1;
            continue;
        }
        double v[4 + NTS + MH_FACILE_NFEAT + 1];
        size_t nv = 0;
        char *p = line, *end;
        while (nv < sizeof v / sizeof v[0]) {
            double x = strtod(p, &end);
            if (end == p)
                break;
            v[nv++] = x;
            p = end;
        }
        ck_assert_uint_eq(nv, sizeof v / sizeof v[0]);
        ck_assert(row < n);
        G.ieta[row] = (int)v[0];
        G.iphi[row] = (int)v[1];
        G.depth[row] = (int)v[2];
        G.gain[row] = (float)v[3];
        for (int i = 0; i < NTS; i++)
            G.q[row * NTS + i] = (float)v[4 + i];
        for (int i = 0; i < MH_FACILE_NFEAT; i++)
            G.feat[row * MH_FACILE_NFEAT + i] = (float)v[4 + NTS + i];
        G.out[row] = v[4 + NTS + MH_FACILE_NFEAT];
        row++;
    }
    fclose(f);
    ck_assert_uint_eq(row, n);
    G.n = n;
}

static mh_facile *load_tiny(void)
{
    char err[512];
    mh_facile *m = NULL;
    mh_status st = mh_facile_load(TINY, 1, &m, err, sizeof err);
    ck_assert_msg(st == MH_OK, "load: %s", err);
    return m;
}

static void check_out(const float *out, size_t from, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double ref = G.out[from + i];
        ck_assert_msg(fabs(out[i] - ref) <= 1e-4 * fabs(ref) + 1e-5, "row %zu: %.9g vs numpy %.9g",
                      from + i, (double)out[i], ref);
    }
}

START_TEST(features_match_numpy)
{
    load_golden();
    float *feat = malloc(sizeof(float) * G.n * MH_FACILE_NFEAT);
    char err[256];
    ck_assert_int_eq(mh_facile_features(G.q, NTS, G.first_ts, G.gain, G.ieta, G.iphi, G.depth,
                                        G.n, feat, err, sizeof err),
                     MH_OK);
    ck_assert(memcmp(feat, G.feat, sizeof(float) * G.n * MH_FACILE_NFEAT) == 0);
    /* layout spot check on row 0 */
    ck_assert(feat[MH_FACILE_F_GAIN] == G.gain[0]);
    ck_assert(feat[MH_FACILE_F_IPHI] == (float)G.iphi[0]);
    ck_assert(feat[MH_FACILE_F_DEPTH + G.depth[0] - 1] == 1.0f);
    ck_assert(feat[MH_FACILE_F_IETA + abs(G.ieta[0]) - 1] == 1.0f);
    /* bad cells and a window outside the samples */
    int bad_depth[3] = {1, 2, 0}, ieta[3] = {1, -29, 5}, iphi[3] = {1, 72, 3};
    ck_assert_int_eq(mh_facile_features(G.q, NTS, 0, G.gain, ieta, iphi, bad_depth, 3, feat, err,
                                        sizeof err),
                     MH_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "channel 2"));
    int depth[3] = {1, 2, 3}, bad_ieta[3] = {1, 30, 5};
    ck_assert_int_eq(mh_facile_features(G.q, NTS, 0, G.gain, bad_ieta, iphi, depth, 3, feat, err,
                                        sizeof err),
                     MH_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "channel 1"));
    ck_assert_int_eq(mh_facile_features(G.q, NTS, 3, G.gain, ieta, iphi, depth, 3, feat, err,
                                        sizeof err),
                     MH_INVALID);
    free(feat);
}
END_TEST

START_TEST(forward_matches_numpy_golden)
{
    load_golden();
    mh_facile *m = load_tiny();
    ck_assert_str_eq(mh_facile_name(m), "facile_tiny");
    ck_assert_str_eq(mh_facile_input_name(m), "input__0");
    ck_assert_str_eq(mh_facile_output_name(m), "output__0");
    ck_assert_uint_eq(mh_facile_num_inputs(m), MH_FACILE_NFEAT);
    ck_assert_uint_eq(mh_facile_num_outputs(m), 1);
    ck_assert_uint_eq(mh_facile_max_batch(m), 16384);
    ck_assert_uint_eq(mh_facile_num_layers(m), 4); /* batchnorm folded away */
    mh_facile_layer_view v;
    ck_assert_int_eq(mh_facile_layer(m, 0, &v), MH_OK);
    ck_assert(v.in == 46 && v.out == 20 && v.relu == 1);
    ck_assert_int_eq(mh_facile_layer(m, 3, &v), MH_OK);
    ck_assert(v.in == 5 && v.out == 1 && v.relu == 0);
    ck_assert_int_eq(mh_facile_layer(m, 4, &v), MH_INVALID);

    float out[MAXN];
    char err[256];
    /* whole batch (2 chunks + a tail with a row remainder), own workspace */
    ck_assert_int_eq(mh_facile_forward(m, G.feat, G.n, out, NULL, 0, err, sizeof err), MH_OK);
    check_out(out, 0, G.n);
    /* sub-batches of every awkward size through a caller workspace */
    size_t ws = mh_facile_workspace_size(m);
    char *work = malloc(ws + 3);
    const size_t sizes[] = {1, 2, 3, 4, 5, 7, 63, 64, 65, 129};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t from = (s * 7) % 10, n = sizes[s];
        if (from + n > G.n)
            n = G.n - from;
        memset(out, 0xff, sizeof out);
        ck_assert_int_eq(mh_facile_forward(m, G.feat + from * MH_FACILE_NFEAT, n, out, work + 3,
                                           ws, err, sizeof err),
                         MH_OK);
        check_out(out, from, n);
        ck_assert(isnan(out[n])); /* nothing written past n */
    }
    ck_assert_int_eq(mh_facile_forward(m, G.feat, 0, out, work, ws, err, sizeof err), MH_OK);
    ck_assert_int_eq(mh_facile_forward(m, G.feat, 4, out, work, ws - 1, err, sizeof err),
                     MH_INVALID);
    free(work);
    mh_facile_free(m);
    mh_facile_free(NULL);
}
END_TEST

typedef struct {
    const mh_facile *m;
    float out[MAXN];
    int rc;
} thread_arg;

static void *run_forward(void *p)
{
    thread_arg *a = p;
    size_t ws = mh_facile_workspace_size(a->m);
    void *work = malloc(ws);
    a->rc = 0;
    for (int rep = 0; rep < 50 && a->rc == 0; rep++)
        a->rc = mh_facile_forward(a->m, G.feat, G.n, a->out, work, ws, NULL, 0) != MH_OK;
    free(work);
    return NULL;
}

START_TEST(concurrent_forward_passes_agree)
{
    load_golden();
    mh_facile *m = load_tiny();
    thread_arg args[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        args[i].m = m;
        ck_assert_int_eq(pthread_create(&th[i], NULL, run_forward, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        ck_assert_int_eq(args[i].rc, 0);
        check_out(args[i].out, 0, G.n);
        ck_assert(memcmp(args[i].out, args[0].out, sizeof(float) * G.n) == 0);
    }
    mh_facile_free(m);
}
END_TEST

/* ---- hand-made models in a temporary directory -------------------------- */

static char tmpdir[64];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s", "/tmp/mh_facile_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    char p[128];
    snprintf(p, sizeof p, "%s/1", tmpdir);
    ck_assert_int_eq(mkdir(p, 0755), 0);
}

static void remove_tmpdir(void)
{
    char p[128];
    snprintf(p, sizeof p, "%s/1/weights.bin", tmpdir);
    unlink(p);
    snprintf(p, sizeof p, "%s/1", tmpdir);
    rmdir(p);
    snprintf(p, sizeof p, "%s/config.yaml", tmpdir);
    unlink(p);
    rmdir(tmpdir);
}

/* Writes config.yaml and 1/weights.bin into tmpdir; 0 on success. */
static int write_model_files(const char *config, const float *w, size_t nw)
{
    char p[128];
    snprintf(p, sizeof p, "%s/config.yaml", tmpdir);
    FILE *f = fopen(p, "w");
    if (!f)
        return -1;
    fputs(config, f);
    fclose(f);
    snprintf(p, sizeof p, "%s/1/weights.bin", tmpdir);
    f = fopen(p, "wb");
    if (!f)
        return -1;
    /* little-endian on disk; the test hosts are little-endian */
    size_t put = fwrite(w, sizeof(float), nw, f);
    fclose(f);
    return put == nw ? 0 : -1;
}

static void write_model(const char *config, const float *w, size_t nw)
{
    ck_assert_int_eq(write_model_files(config, w, nw), 0);
}

#define HEAD                                                                                   \
    "name: t\nplatform: minihlt_dense\nmax_batch_size: 8\n"                                    \
    "input:\n  - {name: input__0, data_type: TYPE_FP32, dims: [-1, 2]}\n"                     \
    "output:\n  - {name: output__0, data_type: TYPE_FP32, dims: [-1, 1]}\n"
#define GOOD_LAYERS                                                                            \
    "layers:\n  - {type: batchnorm, name: bn, units: 2, eps: 0.5}\n"                           \
    "  - {type: dense, name: d1, units: 1, activation: linear}\n"

START_TEST(batchnorm_folding_by_hand)
{
    /* bn: mean (1, -2), var (3.5, 0.5), gamma (2, 1), beta (0.5, 0); eps 0.5
     * => s = (1, 1), c = (-0.5, 2); dense w = (3, -1), b = 0.25
     * y = 3*(x0 - 0.5) - (x1 + 2) + 0.25 */
    const float w[] = {1, -2, 3.5f, 0.5f, 2, 1, 0.5f, 0, 3, -1, 0.25f};
    write_model(HEAD GOOD_LAYERS, w, 11);
    char err[256];
    mh_facile *m = NULL;
    ck_assert_msg(mh_facile_load(tmpdir, 1, &m, err, sizeof err) == MH_OK, "%s", err);
    const float in[6] = {1, 1, 0, 0, -2, 5};
    float out[3];
    ck_assert_int_eq(mh_facile_forward(m, in, 3, out, NULL, 0, err, sizeof err), MH_OK);
    for (int r = 0; r < 3; r++)
        ck_assert_float_eq_tol(out[r], 3 * (in[2 * r] - 0.5f) - (in[2 * r + 1] + 2) + 0.25f,
                               1e-5f);
    mh_facile_free(m);
}
END_TEST

typedef struct {
    const char *what;
    const char *config; /* NULL: no config.yaml at all */
    int nw;             /* weights written (the good model needs 11) */
    mh_status st;
    const char *needle; /* must appear in err */
} bad_case;

static const bad_case bad_cases[] = {
    {"weights one float short", HEAD GOOD_LAYERS, 10, MH_FORMAT, "weights.bin: 40 bytes"},
    {"weights one float long", HEAD GOOD_LAYERS, 12, MH_FORMAT, "declares 11 float32"},
    {"unknown top-level key", HEAD "colour: red\n" GOOD_LAYERS, 11, MH_CONFIG, "'colour'"},
    {"unknown layer key", HEAD "layers:\n  - {type: dense, name: d1, units: 1, activation: "
                               "linear, dropout: 0.1}\n", 3, MH_CONFIG, "'dropout'"},
    {"last layer width != output dims", HEAD "layers:\n  - {type: dense, name: wide, units: 2, "
                                             "activation: relu}\n", 6, MH_CONFIG, "'wide'"},
    {"batchnorm width mismatch", HEAD "layers:\n  - {type: batchnorm, name: bnx, units: 3, eps: "
                                      "0.1}\n  - {type: dense, name: d1, units: 1, activation: "
                                      "linear}\n", 15, MH_CONFIG, "'bnx'"},
    {"batchnorm last", HEAD "layers:\n  - {type: dense, name: d1, units: 1, activation: linear}\n"
                            "  - {type: batchnorm, name: bn, units: 1, eps: 0.1}\n", 7,
     MH_CONFIG, "last layer"},
    {"bad activation", HEAD "layers:\n  - {type: dense, name: d1, units: 1, activation: tanh}\n",
     3, MH_CONFIG, "activation"},
    {"bad dtype", "name: t\nplatform: minihlt_dense\ninput:\n  - {name: input__0, data_type: "
                  "TYPE_FP16, dims: [-1, 2]}\n", 0, MH_CONFIG, "TYPE_FP32"},
    {"bad platform", "name: t\nplatform: onnxruntime_onnx\n", 0, MH_CONFIG, "platform"},
    {"bad dims", "name: t\nplatform: minihlt_dense\ninput:\n  - {name: i, data_type: "
                 "TYPE_FP32, dims: [-1, zero]}\n", 0, MH_CONFIG, "dims[1]"},
    {"malformed YAML", "name: [unclosed\n", 0, MH_CONFIG, "config.yaml:"},
    {"no config.yaml", NULL, 0, MH_IO, "config.yaml"},
};

START_TEST(loader_rejects_broken_models)
{
    const bad_case *c = &bad_cases[_i];
    float w[16];
    for (int i = 0; i < 16; i++)
        w[i] = 0.5f;
    if (c->config)
        write_model(c->config, w, (size_t)c->nw);
    char err[512] = "";
    mh_facile *m = (mh_facile *)&err; /* must be reset to NULL */
    mh_status st = mh_facile_load(tmpdir, 1, &m, err, sizeof err);
    ck_assert_msg(st == c->st, "%s: status %s (%s)", c->what, mh_status_name(st), err);
    ck_assert_ptr_null(m);
    ck_assert_msg(strstr(err, c->needle) != NULL, "%s: '%s' lacks '%s'", c->what, err, c->needle);
}
END_TEST

START_TEST(loader_rejects_bad_numbers)
{
    char err[512];
    mh_facile *m = NULL;
    float w[11] = {1, -2, 3.5f, 0.5f, 2, 1, 0.5f, 0, 3, -1, 0.25f};
    w[9] = NAN;
    write_model(HEAD GOOD_LAYERS, w, 11);
    ck_assert_int_eq(mh_facile_load(tmpdir, 1, &m, err, sizeof err), MH_FORMAT);
    ck_assert_ptr_nonnull(strstr(err, "'d1'"));
    w[9] = -1;
    w[3] = -0.5f; /* var + eps = 0 */
    write_model(HEAD GOOD_LAYERS, w, 11);
    ck_assert_int_eq(mh_facile_load(tmpdir, 1, &m, err, sizeof err), MH_FORMAT);
    ck_assert_ptr_nonnull(strstr(err, "'bn'"));
    ck_assert_int_eq(mh_facile_load(tmpdir, 2, &m, err, sizeof err), MH_IO); /* no version 2 */
    ck_assert_int_eq(mh_facile_load(tmpdir, 0, &m, err, sizeof err), MH_INVALID);
}
END_TEST

/* ---- benchmark mode -----------------------------------------------------
 * `test_facile --bench [NCHANNELS]`: writes a random model with the FACILE
 * architecture (46-50-30-20-10-5-1, BatchNorm first) to a temporary
 * repository, and times one-thread forward passes over a batch of
 * NCHANNELS rows (an event's HBHE channels). Prints; asserts nothing. */
static int bench(long n)
{
    static const char cfg[] =
        "name: facile_bench\nplatform: minihlt_dense\nmax_batch_size: 0\n"
        "input:\n  - {name: input__0, data_type: TYPE_FP32, dims: [-1, 46]}\n"
        "output:\n  - {name: output__0, data_type: TYPE_FP32, dims: [-1, 1]}\n"
        "layers:\n  - {type: batchnorm, name: bn0, units: 46, eps: 0.001}\n"
        "  - {type: dense, name: d1, units: 50, activation: relu}\n"
        "  - {type: dense, name: d2, units: 30, activation: relu}\n"
        "  - {type: dense, name: d3, units: 20, activation: relu}\n"
        "  - {type: dense, name: d4, units: 10, activation: relu}\n"
        "  - {type: dense, name: d5, units: 5, activation: relu}\n"
        "  - {type: dense, name: out, units: 1, activation: relu}\n";
    const int widths[] = {46, 50, 30, 20, 10, 5, 1};
    size_t nw = 4 * 46;
    for (int i = 1; i < 7; i++)
        nw += (size_t)widths[i] * (size_t)widths[i - 1] + (size_t)widths[i];
    float *w = malloc(nw * sizeof(float));
    float *in = malloc(sizeof(float) * (size_t)n * MH_FACILE_NFEAT);
    float *out = malloc(sizeof(float) * (size_t)n);
    if (!w || !in || !out)
        return 1;
    srand(7);
    for (size_t i = 0; i < nw; i++)
        w[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    for (size_t i = 46; i < 92; i++) /* variances */
        w[i] = 1.0f + w[i];
    for (size_t i = 0; i < (size_t)n * MH_FACILE_NFEAT; i++)
        in[i] = (float)(rand() % 1000) / 10.0f;
    snprintf(tmpdir, sizeof tmpdir, "%s", "/tmp/mh_facile_XXXXXX");
    char p[128], err[512];
    if (!mkdtemp(tmpdir))
        return 1;
    snprintf(p, sizeof p, "%s/1", tmpdir);
    mkdir(p, 0755);
    if (write_model_files(cfg, w, nw) != 0)
        return 1;
    mh_facile *m = NULL;
    mh_status st = mh_facile_load(tmpdir, 1, &m, err, sizeof err);
    remove_tmpdir();
    if (st != MH_OK) {
        fprintf(stderr, "test_facile: %s\n", err);
        return 1;
    }
    size_t ws = mh_facile_workspace_size(m);
    void *work = malloc(ws);
    int reps = (int)(2000000 / n) + 3;
    mh_facile_forward(m, in, (size_t)n, out, work, ws, NULL, 0); /* warm up */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int r = 0; r < reps; r++)
        mh_facile_forward(m, in, (size_t)n, out, work, ws, NULL, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) /
                1e3 / reps;
    printf("facile: batch of %ld channels: %.1f us per batch, %.1f ns per channel (one thread)\n",
           n, us, us * 1e3 / (double)n);
    mh_facile_free(m);
    free(work);
    free(w);
    free(in);
    free(out);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "--bench") == 0) {
        long n = argc >= 3 ? strtol(argv[2], NULL, 10) : 8000;
        if (n <= 0 || n > 10000000)
            n = 8000;
        return bench(n);
    }
    Suite *s = suite_create("facile");
    TCase *tg = tcase_create("golden");
    tcase_add_test(tg, features_match_numpy);
    tcase_add_test(tg, forward_matches_numpy_golden);
    tcase_add_test(tg, concurrent_forward_passes_agree);
    suite_add_tcase(s, tg);
    TCase *tl = tcase_create("loader");
    tcase_add_checked_fixture(tl, make_tmpdir, remove_tmpdir);
    tcase_add_test(tl, batchnorm_folding_by_hand);
    tcase_add_loop_test(tl, loader_rejects_broken_models, 0,
                        (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tl, loader_rejects_bad_numbers);
    suite_add_tcase(s, tl);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
