/* test_protocol.c - KServe v2 inference messages with Triton's binary tensor
 * extension: parsing JSON and binary requests, every kind of malformed
 * request (table-driven, each must name its culprit), and response
 * encoding (JSON and binary outputs). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "net/mh_infer.h"

static mh_infer_request *parse_ok(const char *body, size_t len, size_t hl)
{
    char err[512] = "";
    mh_infer_request *r = NULL;
    mh_status st = mh_infer_request_parse(body, len, hl, &r, err, sizeof err);
    ck_assert_msg(st == MH_OK, "parse failed: %s", err);
    ck_assert_ptr_nonnull(r);
    return r;
}

START_TEST(json_fp32_nested)
{
    const char *b = "{\"id\":\"r1\",\"inputs\":[{\"name\":\"input__0\",\"datatype\":\"FP32\","
                    "\"shape\":[2,3],\"data\":[[1,2.5,-3],[4,5,6e-1]]}]}";
    mh_infer_request *r = parse_ok(b, strlen(b), 0);
    ck_assert(r->has_id);
    ck_assert_str_eq(r->id, "r1");
    ck_assert_uint_eq(r->ninputs, 1);
    const mh_infer_input *t = &r->inputs[0];
    ck_assert_str_eq(t->name, "input__0");
    ck_assert_int_eq(t->dtype, MH_DT_FP32);
    ck_assert_uint_eq(t->ndim, 2);
    ck_assert_int_eq(t->shape[0], 2);
    ck_assert_int_eq(t->shape[1], 3);
    ck_assert_uint_eq(t->nbytes, 24);
    ck_assert(!t->binary);
    const float want[6] = {1.0f, 2.5f, -3.0f, 4.0f, 5.0f, 0.6f};
    ck_assert_mem_eq(t->data, want, sizeof want);
    ck_assert_uint_eq(r->noutputs, 0);
    ck_assert(!r->binary_output);
    mh_infer_request_free(r);
}
END_TEST

START_TEST(json_integer_types)
{
    const char *b = "{\"inputs\":[{\"name\":\"a\",\"datatype\":\"INT8\",\"shape\":[3],"
                    "\"data\":[-128,0,127]},"
                    "{\"name\":\"b\",\"datatype\":\"UINT16\",\"shape\":[2],\"data\":[0,65535]},"
                    "{\"name\":\"c\",\"datatype\":\"INT64\",\"shape\":[1],\"data\":[-5000000000]},"
                    "{\"name\":\"d\",\"datatype\":\"BOOL\",\"shape\":[2],\"data\":[true,false]},"
                    "{\"name\":\"e\",\"datatype\":\"INT32\",\"shape\":[1],\"data\":[7.0]},"
                    "{\"name\":\"f\",\"datatype\":\"FP64\",\"shape\":[1,1],\"data\":[0.1]}]}";
    mh_infer_request *r = parse_ok(b, strlen(b), 0);
    ck_assert_uint_eq(r->ninputs, 6);
    const int8_t a[3] = {-128, 0, 127};
    ck_assert_mem_eq(r->inputs[0].data, a, 3);
    const uint16_t u[2] = {0, 65535};
    ck_assert_mem_eq(r->inputs[1].data, u, 4);
    const int64_t c = -5000000000LL;
    ck_assert_mem_eq(r->inputs[2].data, &c, 8);
    const unsigned char d[2] = {1, 0};
    ck_assert_mem_eq(r->inputs[3].data, d, 2);
    const int32_t e = 7;
    ck_assert_mem_eq(r->inputs[4].data, &e, 4);
    const double f = 0.1;
    ck_assert_mem_eq(r->inputs[5].data, &f, 8);
    mh_infer_request_free(r);
}
END_TEST

/* Body = JSON header + raw tensors, as tritonclient sends it. */
static size_t make_binary(char *buf, size_t cap, const char *json, const void *bin, size_t nbin)
{
    size_t jl = strlen(json);
    ck_assert(jl + nbin <= cap);
    memcpy(buf, json, jl);
    memcpy(buf + jl, bin, nbin);
    return jl + nbin;
}

START_TEST(binary_inputs_and_outputs)
{
    const float x[4] = {1, 2, 3, 4};
    const int32_t y[2] = {-1, 9};
    const char *js = "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[2,2],"
                     "\"parameters\":{\"binary_data_size\":16}},"
                     "{\"name\":\"y\",\"datatype\":\"INT32\",\"shape\":[2],"
                     "\"parameters\":{\"binary_data_size\":8}}],"
                     "\"outputs\":[{\"name\":\"o1\",\"parameters\":{\"binary_data\":true}},"
                     "{\"name\":\"o2\"}],\"parameters\":{\"binary_data_output\":false}}";
    char bin[24], body[1024];
    memcpy(bin, x, 16);
    memcpy(bin + 16, y, 8);
    size_t len = make_binary(body, sizeof body, js, bin, sizeof bin);
    mh_infer_request *r = parse_ok(body, len, strlen(js));
    ck_assert(r->inputs[0].binary && r->inputs[1].binary);
    ck_assert_ptr_eq(r->inputs[0].data, body + strlen(js));
    ck_assert_ptr_eq(r->inputs[1].data, body + strlen(js) + 16);
    ck_assert_mem_eq(r->inputs[1].data, y, 8);
    ck_assert_uint_eq(r->noutputs, 2);
    ck_assert(r->outputs[0].binary);
    ck_assert(!r->outputs[1].binary);
    mh_infer_request_free(r);

    /* binary_data_output makes binary the default for listed outputs. */
    const char *js2 = "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],"
                      "\"data\":[1]}],\"outputs\":[{\"name\":\"o\"}],"
                      "\"parameters\":{\"binary_data_output\":true}}";
    r = parse_ok(js2, strlen(js2), 0);
    ck_assert(r->binary_output);
    ck_assert(r->outputs[0].binary);
    mh_infer_request_free(r);
}
END_TEST

/* A header length equal to the whole body is valid (all JSON). */
START_TEST(header_length_whole_body)
{
    const char *b = "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],"
                    "\"data\":[1]}]}";
    mh_infer_request *r = parse_ok(b, strlen(b), strlen(b));
    mh_infer_request_free(r);
}
END_TEST

typedef struct bad_case {
    const char *json;
    size_t extra;      /* binary bytes appended after the JSON */
    int header;        /* 1: pass the JSON length as header_len; 2: pass len + 1 */
    const char *error; /* expected substring of the error */
} bad_case;

#define IN(rest) "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\"," rest "}]}"

static const bad_case bad[] = {
    {"", 0, 0, "empty request body"},
    {"{", 0, 0, "malformed JSON"},
    {"{\"inputs\":[] ", 0, 0, "malformed JSON"},
    {"[1,2]", 0, 0, "must be an object"},
    {"{}", 0, 0, "\"inputs\" must be a non-empty array"},
    {"{\"inputs\":[]}", 0, 0, "\"inputs\" must be a non-empty array"},
    {"{\"inputs\":{}}", 0, 0, "\"inputs\" must be a non-empty array"},
    {"{\"inputs\":[1]}", 0, 0, "inputs[0]: expected an object"},
    {"{\"inputs\":[{\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}]}", 0, 0,
     "inputs[0]: missing or non-string \"name\""},
    {"{\"inputs\":[{\"name\":\"\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}]}", 0, 0,
     "\"name\" must be 1..127 characters"},
    {"{\"inputs\":[{\"name\":\"x\",\"shape\":[1],\"data\":[1]}]}", 0, 0,
     "input 'x': missing or non-string \"datatype\""},
    {"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP128\",\"shape\":[1],\"data\":[1]}]}", 0, 0,
     "input 'x': unknown datatype 'FP128'"},
    {IN("\"data\":[1]"), 0, 0, "input 'x': missing or non-array \"shape\""},
    {IN("\"shape\":[-1],\"data\":[1]"), 0, 0, "shape[0] must be a non-negative integer"},
    {IN("\"shape\":[1.5],\"data\":[1]"), 0, 0, "shape[0] must be a non-negative integer"},
    {IN("\"shape\":[1,1,1,1,1,1,1,1,1],\"data\":[1]"), 0, 0, "shape has 9 dims"},
    {IN("\"shape\":[1099511627777],\"data\":[1]"), 0, 0, "too large"},
    {IN("\"shape\":[1048576,1048576,2],\"data\":[1]"), 0, 0, "too many elements"},
    {IN("\"shape\":[3],\"data\":[1,2]"), 0, 0, "\"data\" has 2 elements, but shape needs 3"},
    {IN("\"shape\":[2],\"data\":[[1],[2,3]]"), 0, 0, "\"data\" has 3 elements, but shape needs 2"},
    {IN("\"shape\":[2],\"data\":[1,\"a\"]"), 0, 0, "must hold only numbers or booleans"},
    {IN("\"shape\":[1],\"data\":[null]"), 0, 0, "must hold only numbers or booleans"},
    {IN("\"shape\":[1],\"data\":[true]"), 0, 0, "is not a valid FP32"},
    {IN("\"shape\":[1],\"data\":[1e300]"), 0, 0, "is not a valid FP32"},
    {IN("\"shape\":[1],\"data\":5"), 0, 0, "\"data\" must be an array"},
    {"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"INT8\",\"shape\":[1],\"data\":[300]}]}", 0, 0,
     "is not a valid INT8"},
    {"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"UINT32\",\"shape\":[1],\"data\":[-1]}]}", 0, 0,
     "is not a valid UINT32"},
    {"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"INT32\",\"shape\":[1],\"data\":[1.5]}]}", 0, 0,
     "is not a valid INT32"},
    {"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"BOOL\",\"shape\":[1],\"data\":[1]}]}", 0, 0,
     "is not a valid BOOL"},
    {"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"BYTES\",\"shape\":[1],\"data\":[1]}]}", 0, 0,
     "BYTES is only supported as binary data"},
    {"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP16\",\"shape\":[1],\"data\":[1]}]}", 0, 0,
     "FP16 is only supported as binary data"},
    {IN("\"shape\":[1]"), 0, 0, "has neither \"data\" nor parameter binary_data_size"},
    {IN("\"shape\":[1],\"parameters\":[]"), 0, 0, "\"parameters\" must be an object"},
    {IN("\"shape\":[1],\"parameters\":{\"binary_data_size\":\"4\"}"), 4, 1,
     "binary_data_size\" must be a non-negative integer"},
    {IN("\"shape\":[1],\"parameters\":{\"binary_data_size\":-4}"), 4, 1,
     "binary_data_size\" must be a non-negative integer"},
    {IN("\"shape\":[1],\"data\":[1],\"parameters\":{\"binary_data_size\":4}"), 4, 1,
     "has both \"data\" and binary_data_size"},
    {IN("\"shape\":[2],\"parameters\":{\"binary_data_size\":4}"), 4, 1,
     "binary_data_size is 4 bytes, but shape and datatype FP32 need 8"},
    {IN("\"shape\":[2],\"parameters\":{\"binary_data_size\":8}"), 4, 1,
     "goes past the end of the body (4 binary bytes left)"},
    {IN("\"shape\":[1],\"parameters\":{\"binary_data_size\":4}"), 8, 1,
     "8 bytes of binary data after the JSON header, but the inputs' binary_data_size add up "
     "to 4"},
    /* A binary request without Inference-Header-Content-Length: the error
     * names the missing header, whether binary bytes follow or not. */
    {IN("\"shape\":[1],\"parameters\":{\"binary_data_size\":4}"), 4, 0,
     "4 bytes follow the request's JSON (91 bytes): a binary request needs the "
     "Inference-Header-Content-Length header"},
    {IN("\"shape\":[1],\"parameters\":{\"binary_data_size\":4}"), 0, 0,
     "goes past the end of the body (0 binary bytes left; binary data follows the JSON, whose "
     "length in bytes the Inference-Header-Content-Length header gives)"},
    {"{\"inputs\":[]} x", 0, 0, "2 bytes follow the request's JSON (13 bytes)"},
    {IN("\"shape\":[1],\"data\":[1]"), 0, 2, "larger than the body"},
    {"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]},"
     "{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}]}",
     0, 0, "input 'x' appears twice"},
    {"{\"id\":5,\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}]}",
     0, 0, "\"id\" must be a string"},
    {"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}],"
     "\"outputs\":{}}",
     0, 0, "\"outputs\" must be an array"},
    {"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}],"
     "\"outputs\":[{}]}",
     0, 0, "outputs[0]: missing or non-string \"name\""},
    {"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}],"
     "\"outputs\":[{\"name\":\"o\"},{\"name\":\"o\"}]}",
     0, 0, "output 'o' requested twice"},
    {"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}],"
     "\"outputs\":[{\"name\":\"o\",\"parameters\":{\"binary_data\":1}}]}",
     0, 0, "parameter \"binary_data\" must be a boolean"},
    {"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}],"
     "\"parameters\":{\"binary_data_output\":\"yes\"}}",
     0, 0, "parameter \"binary_data_output\" must be a boolean"},
    {"{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1],\"data\":[1]}],"
     "\"inputs\":[]}",
     0, 0, "malformed JSON"},
};

START_TEST(bad_request)
{
    const bad_case *c = &bad[_i];
    char body[2048];
    size_t jl = strlen(c->json);
    ck_assert(jl + c->extra <= sizeof body);
    memcpy(body, c->json, jl);
    memset(body + jl, 0x41, c->extra);
    size_t len = jl + c->extra;
    size_t hl = c->header == 1 ? jl : c->header == 2 ? len + 1 : 0;
    char err[512] = "";
    mh_infer_request *r = (mh_infer_request *)1;
    mh_status st = mh_infer_request_parse(body, len, hl, &r, err, sizeof err);
    ck_assert_msg(st == MH_INVALID, "case %d (%s): status %d", _i, c->json, st);
    ck_assert_ptr_null(r);
    ck_assert_msg(strstr(err, c->error) != NULL, "case %d: error '%s' lacks '%s'", _i, err,
                  c->error);
}
END_TEST

/* Every prefix of a valid binary request is rejected without reading past
 * its end (run under ASan by make sanitize). */
START_TEST(truncated_bodies)
{
    const char *js = "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[2],"
                     "\"parameters\":{\"binary_data_size\":8}}]}";
    char full[512];
    float v[2] = {1, 2};
    size_t len = make_binary(full, sizeof full, js, v, sizeof v);
    for (size_t n = 0; n < len; n++) {
        char *copy = malloc(n ? n : 1);
        memcpy(copy, full, n);
        mh_infer_request *r = NULL;
        size_t hl = strlen(js) <= n ? strlen(js) : 0;
        ck_assert_int_ne(mh_infer_request_parse(copy, n, hl, &r, NULL, 0), MH_OK);
        ck_assert_ptr_null(r);
        free(copy);
    }
}
END_TEST

START_TEST(encode_json_and_binary)
{
    const float a[3] = {1.5f, -2.25f, 0.1f};
    const int64_t shape[2] = {3, 1};
    mh_infer_output o = {"output__0", MH_DT_FP32, 2, shape, a, sizeof a, false};
    char *body = NULL;
    size_t len = 0, hl = 0;
    ck_assert_int_eq(mh_infer_response_encode("m", "1", "req-7", &o, 1, &body, &len, &hl, NULL, 0),
                     MH_OK);
    ck_assert_uint_eq(hl, len);
    json_error_t je;
    json_t *root = json_loadb(body, len, 0, &je);
    ck_assert_ptr_nonnull(root);
    ck_assert_str_eq(json_string_value(json_object_get(root, "model_name")), "m");
    ck_assert_str_eq(json_string_value(json_object_get(root, "model_version")), "1");
    ck_assert_str_eq(json_string_value(json_object_get(root, "id")), "req-7");
    json_t *out = json_array_get(json_object_get(root, "outputs"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(out, "datatype")), "FP32");
    ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(out, "shape"), 0)), 3);
    json_t *data = json_object_get(out, "data");
    ck_assert_uint_eq(json_array_size(data), 3);
    for (size_t i = 0; i < 3; i++) /* 9 digits: float32 round trip is exact */
        ck_assert_float_eq((float)json_number_value(json_array_get(data, i)), a[i]);
    json_decref(root);
    free(body);

    o.binary = true;
    ck_assert_int_eq(mh_infer_response_encode("m", "1", NULL, &o, 1, &body, &len, &hl, NULL, 0),
                     MH_OK);
    ck_assert_uint_eq(len, hl + sizeof a);
    ck_assert_mem_eq(body + hl, a, sizeof a);
    root = json_loadb(body, hl, 0, &je);
    ck_assert_ptr_nonnull(root);
    ck_assert_ptr_null(json_object_get(root, "id"));
    out = json_array_get(json_object_get(root, "outputs"), 0);
    ck_assert_ptr_null(json_object_get(out, "data"));
    ck_assert_int_eq(
        json_integer_value(json_object_get(json_object_get(out, "parameters"), "binary_data_size")),
        (json_int_t)sizeof a);
    json_decref(root);
    free(body);
}
END_TEST

START_TEST(dtypes_and_error_json)
{
    ck_assert_int_eq(mh_dtype_from_name("FP32"), MH_DT_FP32);
    ck_assert_int_eq(mh_dtype_from_name("fp32"), MH_DT_INVALID);
    ck_assert_int_eq(mh_dtype_from_name(NULL), MH_DT_INVALID);
    ck_assert_str_eq(mh_dtype_name(MH_DT_UINT64), "UINT64");
    ck_assert_str_eq(mh_dtype_config_name(MH_DT_BYTES), "TYPE_STRING");
    ck_assert_uint_eq(mh_dtype_size(MH_DT_FP64), 8);
    ck_assert_uint_eq(mh_dtype_size(MH_DT_BYTES), 0);
    char *e = mh_infer_error_json("bad \"thing\"");
    ck_assert_str_eq(e, "{\"error\":\"bad \\\"thing\\\"\"}");
    free(e);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("net_protocol");
    TCase *tc = tcase_create("protocol");
    tcase_add_test(tc, json_fp32_nested);
    tcase_add_test(tc, json_integer_types);
    tcase_add_test(tc, binary_inputs_and_outputs);
    tcase_add_test(tc, header_length_whole_body);
    tcase_add_loop_test(tc, bad_request, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, truncated_bodies);
    tcase_add_test(tc, encode_json_and_binary);
    tcase_add_test(tc, dtypes_and_error_json);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
