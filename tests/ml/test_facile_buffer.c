/* test_facile_buffer.c - mh_facile_load_buffer (the entry point of the fuzz
 * target tests/fuzz/fuzz_facile_config.c): the same model as from the
 * directory, and the checks in front of libfyaml and of the weights. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ml/mh_facile.h"

#define TINY "tests/data/facile_tiny"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s (run from the source tree top)", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

START_TEST(buffer_model_equals_directory_model)
{
    char err[512] = "";
    size_t clen, wlen;
    char *cfg = slurp(TINY "/config.yaml", &clen);
    char *wts = slurp(TINY "/1/weights.bin", &wlen);
    mh_facile *a = NULL, *b = NULL;
    ck_assert_msg(mh_facile_load(TINY, 1, &a, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_msg(mh_facile_load_buffer("tiny", cfg, clen, wts, wlen, &b, err, sizeof err) ==
                      MH_OK, "%s", err);
    free(cfg);
    free(wts);
    ck_assert_str_eq(mh_facile_name(a), mh_facile_name(b));
    ck_assert_uint_eq(mh_facile_num_layers(a), mh_facile_num_layers(b));
    for (size_t i = 0; i < mh_facile_num_layers(a); i++) {
        mh_facile_layer_view la, lb;
        ck_assert_int_eq(mh_facile_layer(a, i, &la), MH_OK);
        ck_assert_int_eq(mh_facile_layer(b, i, &lb), MH_OK);
        ck_assert_uint_eq(la.in, lb.in);
        ck_assert_uint_eq(la.out, lb.out);
        ck_assert(memcmp(la.w, lb.w, sizeof(float) * la.in * la.out) == 0);
        ck_assert(memcmp(la.b, lb.b, sizeof(float) * la.out) == 0);
    }
    mh_facile_free(a);
    mh_facile_free(b);
}
END_TEST

/* A 2-input linear model: out = 0.5 x0 - 0.5 x1 + 0.25 (3 weights). */
static const char small_cfg[] =
    "name: small\nplatform: minihlt_dense\n"
    "input:\n  - {name: in, data_type: TYPE_FP32, dims: [-1, 2]}\n"
    "output:\n  - {name: out, data_type: TYPE_FP32, dims: [-1, 1]}\n"
    "layers:\n  - {type: dense, name: d, units: 1, activation: linear}\n";
static const float small_w[3] = {0.5f, -0.5f, 0.25f};

START_TEST(small_model_computes)
{
    char err[512] = "";
    mh_facile *m = NULL;
    ck_assert_msg(mh_facile_load_buffer("small", small_cfg, strlen(small_cfg), small_w,
                                        sizeof small_w, &m, err, sizeof err) == MH_OK, "%s", err);
    float in[4] = {2.0f, 1.0f, 0.0f, 4.0f}, out[2];
    ck_assert_int_eq(mh_facile_forward(m, in, 2, out, NULL, 0, err, sizeof err), MH_OK);
    ck_assert_float_eq_tol(out[0], 0.75f, 1e-6f);
    ck_assert_float_eq_tol(out[1], -1.75f, 1e-6f);
    mh_facile_free(m);
}
END_TEST

START_TEST(buffer_errors)
{
    char err[512] = "";
    mh_facile *m = (mh_facile *)1;
    /* Invalid UTF-8 is refused before libfyaml sees it. */
    char bad[sizeof small_cfg];
    memcpy(bad, small_cfg, sizeof small_cfg);
    bad[7] = (char)0xC3; /* "name: s" -> lead byte without continuation */
    ck_assert_int_eq(mh_facile_load_buffer("small", bad, strlen(bad), small_w, sizeof small_w,
                                           &m, err, sizeof err), MH_CONFIG);
    ck_assert_ptr_null(m);
    ck_assert_str_eq(err, "small: config.yaml: not valid UTF-8 (byte 0xc3 at offset 7)");
    /* Tabs are refused too (libfyaml 0.7 crashes on some). */
    bad[7] = '\t';
    ck_assert_int_eq(mh_facile_load_buffer("small", bad, strlen(bad), small_w, sizeof small_w,
                                           &m, err, sizeof err), MH_CONFIG);
    ck_assert_str_eq(err, "small: config.yaml: tab character at offset 7 (use spaces)");
    /* Weights one float short and one byte long. */
    ck_assert_int_eq(mh_facile_load_buffer("small", small_cfg, strlen(small_cfg), small_w, 8, &m,
                                           err, sizeof err), MH_FORMAT);
    ck_assert_str_eq(err, "small: weights: 8 bytes, but config.yaml declares 3 float32 weights "
                          "(12 bytes)");
    ck_assert_int_eq(mh_facile_load_buffer("small", small_cfg, strlen(small_cfg), small_w, 13, &m,
                                           err, sizeof err), MH_FORMAT);
    /* No weights, empty config, too large a config, bad arguments. */
    ck_assert_int_eq(mh_facile_load_buffer("small", small_cfg, strlen(small_cfg), NULL, 0, &m,
                                           err, sizeof err), MH_FORMAT);
    ck_assert_int_eq(mh_facile_load_buffer("e", "", 0, NULL, 0, &m, err, sizeof err), MH_CONFIG);
    size_t big = (1u << 20) + 1;
    char *huge = calloc(1, big);
    ck_assert_int_eq(mh_facile_load_buffer("h", huge, big, NULL, 0, &m, err, sizeof err),
                     MH_CONFIG);
    ck_assert_str_eq(err, "h: config.yaml: 1048577 bytes, more than the 1048576 allowed");
    free(huge);
    ck_assert_int_eq(mh_facile_load_buffer("x", NULL, 4, NULL, 0, &m, err, sizeof err),
                     MH_INVALID);
    ck_assert_int_eq(mh_facile_load_buffer(NULL, "a", 1, NULL, 0, &m, err, sizeof err),
                     MH_INVALID);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("facile_buffer");
    TCase *tc = tcase_create("ml");
    tcase_add_test(tc, buffer_model_equals_directory_model);
    tcase_add_test(tc, small_model_computes);
    tcase_add_test(tc, buffer_errors);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
