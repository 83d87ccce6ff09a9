/* test_server_tsan.c - the inference server in process, spoken to over real HTTP
 * with libcurl: metadata and health, JSON and binary inference checked
 * against the local forward pass, bad requests of every kind (status code
 * and error JSON), body cap, dynamic batching merging concurrent requests,
 * queue overload (503), draining on shutdown, metrics and statistics, and
 * start-up errors. Uses the repository tests/data/models (run from the top
 * of the source tree, as scripts/run_tests.sh does). */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ml/mh_facile.h"
#include "net/mh_server.h"

#define REPO "tests/data/models"
#define NFEAT 46

static char base[64];
static size_t max_buffered; /* opts.max_buffered of the next start() */
static unsigned max_connections; /* opts.max_connections of the next start(); 0: default */

static mh_server *start_backend(size_t max_queue, size_t max_body, const char *backend)
{
    mh_server_opts o;
    mh_server_opts_default(&o);
    o.models_dir = REPO;
    o.backend = backend;
    o.max_buffered = max_buffered;
    if (max_connections)
        o.max_connections = max_connections;
    o.port = 0;
    o.max_queue = max_queue;
    o.max_body = max_body;
    mh_server *s = NULL;
    char err[512] = "";
    mh_status st = mh_server_create(&o, &s, err, sizeof err);
    ck_assert_msg(st == MH_OK, "server: %s", err);
    snprintf(base, sizeof base, "http://127.0.0.1:%u", mh_server_port(s));
    return s;
}

static mh_server *start(size_t max_queue, size_t max_body)
{
    return start_backend(max_queue, max_body, NULL);
}

typedef struct resp {
    long status;
    char *body;
    size_t len;
    size_t hlen; /* Inference-Header-Content-Length, 0 if absent */
    struct curl_slist *hdrs;
    char *req_body;
} resp;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    resp *r = ud;
    char *nb = realloc(r->body, r->len + sz * n + 1);
    ck_assert_ptr_nonnull(nb);
    r->body = nb;
    memcpy(r->body + r->len, p, sz * n);
    r->len += sz * n;
    r->body[r->len] = 0;
    return sz * n;
}

static size_t on_header(char *p, size_t sz, size_t n, void *ud)
{
    resp *r = ud;
    static const char k[] = "Inference-Header-Content-Length:";
    if (sz * n > sizeof k && !strncasecmp(p, k, sizeof k - 1))
        r->hlen = strtoul(p + sizeof k - 1, NULL, 10);
    return sz * n;
}

/* Prepares one request; the body is copied. extra: one header line or NULL. */
static CURL *prep(resp *r, const char *method, const char *path, const void *body, size_t len,
                  const char *extra)
{
    memset(r, 0, sizeof *r);
    CURL *c = curl_easy_init();
    char url[512];
    snprintf(url, sizeof url, "%s%s", base, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
    r->hdrs = curl_slist_append(NULL, "Expect:");
    if (extra)
        r->hdrs = curl_slist_append(r->hdrs, extra);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, r->hdrs);
    if (body) {
        r->req_body = malloc(len + 1);
        memcpy(r->req_body, body, len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->req_body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    return c;
}

static void finish(CURL *c, resp *r)
{
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_cleanup(c);
    curl_slist_free_all(r->hdrs);
    free(r->req_body);
    r->hdrs = NULL;
    r->req_body = NULL;
}

static void http(resp *r, const char *method, const char *path, const void *body, size_t len,
                 const char *extra)
{
    CURL *c = prep(r, method, path, body, len, extra);
    CURLcode cc = curl_easy_perform(c);
    ck_assert_msg(cc == CURLE_OK, "%s %s: %s", method, path, curl_easy_strerror(cc));
    finish(c, r);
}

/* Runs n prepared requests at once. */
static void http_many(CURL **c, resp *r, int n)
{
    CURLM *m = curl_multi_init();
    for (int i = 0; i < n; i++)
        curl_multi_add_handle(m, c[i]);
    int running = n;
    while (running) {
        curl_multi_perform(m, &running);
        if (running)
            curl_multi_poll(m, NULL, 0, 100, NULL);
    }
    for (int i = 0; i < n; i++) {
        curl_multi_remove_handle(m, c[i]);
        finish(c[i], &r[i]);
    }
    curl_multi_cleanup(m);
}

static void resp_free(resp *r)
{
    free(r->body);
    r->body = NULL;
}

static json_t *resp_json(const resp *r)
{
    json_error_t je;
    json_t *j = json_loadb(r->body ? r->body : "", r->hlen ? r->hlen : r->len, 0, &je);
    ck_assert_msg(j != NULL, "not JSON (%s): %.200s", je.text, r->body ? r->body : "");
    return j;
}

/* Deterministic features for row i. */
static void features(size_t row0, size_t rows, float *x)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < NFEAT; k++)
            x[r * NFEAT + k] = (float)(5.0 * sin(0.37 * (double)((row0 + r) * NFEAT + k)) + 3.0);
}

static void reference(const float *x, size_t rows, float *y)
{
    mh_facile *m = NULL;
    char err[256];
    ck_assert_msg(mh_facile_load("tests/data/facile_tiny", 1, &m, err, sizeof err) == MH_OK, "%s",
                  err);
    ck_assert_int_eq(mh_facile_forward(m, x, rows, y, NULL, 0, err, sizeof err), MH_OK);
    mh_facile_free(m);
}

static void check_close(float got, float want)
{
    ck_assert_msg(fabsf(got - want) <= 1e-5f * (1.0f + fabsf(want)), "got %.9g want %.9g", got,
                  want);
}

/* JSON request with data. */
static char *json_request(const float *x, size_t rows, const char *extra_members)
{
    json_t *data = json_array();
    for (size_t i = 0; i < rows * NFEAT; i++)
        json_array_append_new(data, json_real(x[i]));
    json_t *root = json_pack("{s:s,s:[{s:s,s:s,s:[I,i],s:o}]}", "id", "abc", "inputs", "name",
                             "input__0", "datatype", "FP32", "shape", (json_int_t)rows, NFEAT,
                             "data", data);
    char *s = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(root);
    if (extra_members) {
        size_t n = strlen(s);
        size_t cap = n + strlen(extra_members) + 2;
        char *t = malloc(cap);
        memcpy(t, s, n - 1);
        snprintf(t + n - 1, cap - (n - 1), ",%s}", extra_members);
        free(s);
        s = t;
    }
    return s;
}

/* Binary request; pad spaces after the JSON so that the tensor starts at
 * an odd offset (the server must realign it). *hl gets the JSON length. */
static char *binary_request(const float *x, size_t rows, int pad, size_t *len, size_t *hl)
{
    char js[512];
    int n = snprintf(js, sizeof js,
                     "{\"inputs\":[{\"name\":\"input__0\",\"datatype\":\"FP32\",\"shape\":[%zu,46],"
                     "\"parameters\":{\"binary_data_size\":%zu}}],\"outputs\":[{\"name\":"
                     "\"output__0\",\"parameters\":{\"binary_data\":true}}]}%*s",
                     rows, rows * NFEAT * 4, pad, "");
    size_t nb = rows * NFEAT * 4;
    char *b = malloc((size_t)n + nb);
    memcpy(b, js, (size_t)n);
    memcpy(b + n, x, nb);
    *len = (size_t)n + nb;
    *hl = (size_t)n;
    return b;
}

START_TEST(metadata_and_health)
{
    mh_server *s = start(64, 1 << 20);
    resp r;
    http(&r, "GET", "/v2", NULL, 0, NULL);
    ck_assert_int_eq(r.status, 200);
    json_t *j = resp_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "minihlt");
    json_decref(j);
    resp_free(&r);
    const char *ok200[] = {"/v2/health/live", "/v2/health/ready", "/v2/models/facile_tiny/ready",
                           "/v2/models/facile_tiny/versions/1/ready"};
    for (size_t i = 0; i < sizeof ok200 / sizeof ok200[0]; i++) {
        http(&r, "GET", ok200[i], NULL, 0, NULL);
        ck_assert_msg(r.status == 200, "%s: %ld", ok200[i], r.status);
        resp_free(&r);
    }
    http(&r, "GET", "/v2/models/facile_tiny", NULL, 0, NULL);
    j = resp_json(&r);
    json_t *in = json_array_get(json_object_get(j, "inputs"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(in, "name")), "input__0");
    ck_assert_str_eq(json_string_value(json_object_get(in, "datatype")), "FP32");
    ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(in, "shape"), 1)), 46);
    ck_assert_str_eq(json_string_value(json_array_get(json_object_get(j, "versions"), 0)), "1");
    json_decref(j);
    resp_free(&r);
    http(&r, "GET", "/v2/models/facile_batch/versions/1/config", NULL, 0, NULL);
    j = resp_json(&r);
    ck_assert_int_eq(json_integer_value(json_object_get(j, "max_batch_size")), 256);
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_object_get(j, "dynamic_batching"), "max_queue_delay_microseconds")),
                     20000);
    json_t *ig = json_array_get(json_object_get(j, "instance_group"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(ig, "count")), 2);
    ck_assert_str_eq(json_string_value(json_object_get(ig, "kind")), "KIND_CPU");
    json_decref(j);
    resp_free(&r);
    http(&r, "POST", "/v2/repository/index", "", 0, NULL);
    ck_assert_int_eq(r.status, 200);
    j = resp_json(&r);
    ck_assert_uint_eq(json_array_size(j), 3);
    json_decref(j);
    resp_free(&r);
    mh_server_free(s);
}
END_TEST

START_TEST(infer_json_and_binary)
{
    mh_server *s = start(64, 1 << 20);
    enum { ROWS = 5 };
    float x[ROWS * NFEAT], want[ROWS];
    features(0, ROWS, x);
    reference(x, ROWS, want);

    char *body = json_request(x, ROWS, NULL);
    resp r;
    http(&r, "POST", "/v2/models/facile_tiny/infer", body, strlen(body), NULL);
    free(body);
    ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
    ck_assert_uint_eq(r.hlen, 0);
    json_t *j = resp_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(j, "id")), "abc");
    ck_assert_str_eq(json_string_value(json_object_get(j, "model_name")), "facile_tiny");
    json_t *o = json_array_get(json_object_get(j, "outputs"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(o, "name")), "output__0");
    json_t *data = json_object_get(o, "data");
    ck_assert_uint_eq(json_array_size(data), ROWS);
    for (size_t i = 0; i < ROWS; i++)
        check_close((float)json_number_value(json_array_get(data, i)), want[i]);
    json_decref(j);
    resp_free(&r);

    for (int pad = 0; pad < 4; pad++) {
        size_t len, hl;
        body = binary_request(x, ROWS, pad, &len, &hl);
        char hdr[64];
        snprintf(hdr, sizeof hdr, "Inference-Header-Content-Length: %zu", hl);
        http(&r, "POST", "/v2/models/facile_batch/versions/1/infer", body, len, hdr);
        free(body);
        ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
        ck_assert_uint_gt(r.hlen, 0);
        ck_assert_uint_eq(r.len, r.hlen + ROWS * 4);
        j = resp_json(&r);
        o = json_array_get(json_object_get(j, "outputs"), 0);
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o, "parameters"),
                                                            "binary_data_size")),
                         ROWS * 4);
        json_decref(j);
        for (size_t i = 0; i < ROWS; i++) {
            float y;
            memcpy(&y, r.body + r.hlen + 4 * i, 4);
            check_close(y, want[i]);
        }
        resp_free(&r);
    }

    /* binary_data_output without an outputs list: all outputs binary. */
    body = json_request(x, ROWS, "\"parameters\":{\"binary_data_output\":true}");
    http(&r, "POST", "/v2/models/facile_tiny/infer", body, strlen(body), NULL);
    free(body);
    ck_assert_int_eq(r.status, 200);
    ck_assert_uint_eq(r.len, r.hlen + ROWS * 4);
    resp_free(&r);
    mh_server_free(s);
}
END_TEST

typedef struct bad_http {
    const char *method, *path, *body, *header;
    long status;
    const char *error;
} bad_http;

#define ROW46 "[1,2,3,4,5,6,7,8,9,10,1,2,3,4,5,6,7,8,9,10,1,2,3,4,5,6,7,8,9,10," \
              "1,2,3,4,5,6,7,8,9,10,1,2,3,4,5,6]"
#define GOOD_INPUT "{\"name\":\"input__0\",\"datatype\":\"FP32\",\"shape\":[1,46],\"data\":" ROW46 "}"

static const bad_http bad[] = {
    {"GET", "/v2/models/nope", NULL, NULL, 404, "unknown model: 'nope' is not found"},
    {"POST", "/v2/models/nope/infer", "{}", NULL, 404, "unknown model: 'nope'"},
    {"GET", "/v2/models/facile_tiny/versions/2", NULL, NULL, 404, "version 2 is not found"},
    {"GET", "/v2/models/facile_tiny/versions/../../x", NULL, NULL, 404, "Not Found"},
    {"GET", "/v2/models/../config", NULL, NULL, 400, "invalid model name '..'"},
    {"GET", "/v2/models/%2e%2e%2f%2e%2e%2fetc/config", NULL, NULL, 400, "invalid model name"},
    {"GET", "/v2/models/.hidden", NULL, NULL, 400, "invalid model name '.hidden'"},
    /* libmicrohttpd decodes %00 and the name ends there: not a path either. */
    {"GET", "/v2/models/a%00b", NULL, NULL, 404, "unknown model: 'a' is not found"},
    {"GET", "/v2/models/facile_tiny/bogus", NULL, NULL, 404, "Not Found"},
    {"GET", "/v3", NULL, NULL, 404, "Not Found"},
    {"GET", "/v2/models/facile_tiny/infer", NULL, NULL, 405, "Method Not Allowed"},
    {"POST", "/v2/models/facile_tiny", "{}", NULL, 405, "Method Not Allowed"},
    {"DELETE", "/v2", NULL, NULL, 405, "Method Not Allowed"},
    {"POST", "/v2/models/facile_tiny/infer", "{\"inputs\":", NULL, 400, "malformed JSON"},
    {"POST", "/v2/models/facile_tiny/infer", "", NULL, 400, "empty request body"},
    {"POST", "/v2/models/facile_tiny/infer",
     "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,46],\"data\":" ROW46 "}]}",
     NULL, 400, "unexpected inference input 'x' for model 'facile_tiny'"},
    {"POST", "/v2/models/facile_tiny/infer",
     "{\"inputs\":[{\"name\":\"input__0\",\"datatype\":\"FP64\",\"shape\":[1,46],\"data\":" ROW46
     "}]}",
     NULL, 400, "data-type is 'FP64', but model 'facile_tiny' expects 'FP32'"},
    {"POST", "/v2/models/facile_tiny/infer",
     "{\"inputs\":[{\"name\":\"input__0\",\"datatype\":\"FP32\",\"shape\":[2,23],\"data\":" ROW46
     "}]}",
     NULL, 400, "Expected [-1,46] with at least 1 row, got [2,23]"},
    {"POST", "/v2/models/facile_tiny/infer",
     "{\"inputs\":[{\"name\":\"input__0\",\"datatype\":\"FP32\",\"shape\":[0,46],\"data\":[]}]}",
     NULL, 400, "got [0,46]"},
    {"POST", "/v2/models/facile_tiny/infer",
     "{\"inputs\":[{\"name\":\"input__0\",\"datatype\":\"FP32\",\"shape\":[46],\"data\":" ROW46
     "}]}",
     NULL, 400, "got [46]"},
    {"POST", "/v2/models/facile_tiny/infer",
     "{\"inputs\":[{\"name\":\"input__0\",\"datatype\":\"FP32\",\"shape\":[2,46],\"data\":" ROW46
     "}]}",
     NULL, 400, "\"data\" has 46 elements, but shape needs 92"},
    {"POST", "/v2/models/facile_batch/infer",
     "{\"inputs\":[{\"name\":\"input__0\",\"datatype\":\"FP32\",\"shape\":[257,46],"
     "\"parameters\":{\"binary_data_size\":47288}}]}",
     NULL, 400, "goes past the end of the body"},
    {"POST", "/v2/models/facile_tiny/infer", "{\"inputs\":[" GOOD_INPUT "," GOOD_INPUT "]}", NULL,
     400, "input 'input__0' appears twice"},
    {"POST", "/v2/models/facile_tiny/infer",
     "{\"inputs\":[" GOOD_INPUT ",{\"name\":\"b\",\"datatype\":\"FP32\",\"shape\":[1],"
     "\"data\":[1]}]}",
     NULL, 400, "expected 1 inputs but got 2 inputs for model 'facile_tiny'"},
    {"POST", "/v2/models/facile_tiny/infer",
     "{\"inputs\":[" GOOD_INPUT "],\"outputs\":[{\"name\":\"nope\"}]}", NULL, 400,
     "unexpected inference output 'nope' for model 'facile_tiny'"},
    {"POST", "/v2/models/facile_tiny/infer", "{\"inputs\":[" GOOD_INPUT "]}",
     "Inference-Header-Content-Length: abc", 400, "invalid Inference-Header-Content-Length"},
    {"POST", "/v2/models/facile_tiny/infer", "{\"inputs\":[" GOOD_INPUT "]}",
     "Inference-Header-Content-Length: 99999", 400, "invalid Inference-Header-Content-Length"},
    {"POST", "/v2/models/facile_tiny/infer", "{\"inputs\":[" GOOD_INPUT "]}  ",
     "Inference-Header-Content-Length: 20", 400, "malformed JSON"},
    {"POST", "/v2/models/facile_tiny/infer", "{\"inputs\":[" GOOD_INPUT "]}",
     "Content-Encoding: gzip", 400, "unsupported Content-Encoding"},
};

START_TEST(bad_requests)
{
    mh_server *s = start(64, 1 << 20);
    const bad_http *c = &bad[_i];
    resp r;
    http(&r, c->method, c->path, c->body, c->body ? strlen(c->body) : 0, c->header);
    ck_assert_msg(r.status == c->status, "case %d %s %s: status %ld, want %ld (%s)", _i,
                  c->method, c->path, r.status, c->status, r.body ? r.body : "");
    json_t *j = resp_json(&r);
    const char *e = json_string_value(json_object_get(j, "error"));
    ck_assert_msg(e && strstr(e, c->error), "case %d: error '%s' lacks '%s'", _i, e ? e : "(none)",
                  c->error);
    json_decref(j);
    resp_free(&r);
    /* The server is still fine. */
    http(&r, "GET", "/v2/health/live", NULL, 0, NULL);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    mh_server_free(s);
}
END_TEST

START_TEST(body_and_header_caps)
{
    mh_server *s = start(64, 4096);
    size_t n = 10000;
    char *big = malloc(n);
    memset(big, ' ', n);
    resp r;
    http(&r, "POST", "/v2/models/facile_tiny/infer", big, n, NULL);
    ck_assert_int_eq(r.status, 413);
    json_t *j = resp_json(&r);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "error")), "--max-body"));
    json_decref(j);
    resp_free(&r);
    /* Request headers above libmicrohttpd's 64 KiB connection pool: 431
     * (libmicrohttpd's own answer, with its HTML body: the one answer that
     * is not JSON), the connection closed, and the server goes on serving;
     * repeated so that a leak per refusal would show under the sanitizers. */
    size_t hn = 70 * 1024;
    char *hdr = malloc(hn + 16);
    memcpy(hdr, "X-Big: ", 7);
    memset(hdr + 7, 'a', hn);
    hdr[7 + hn] = 0;
    for (int i = 0; i < 5; i++) {
        CURL *c = prep(&r, "GET", "/v2", NULL, 0, hdr);
        CURLcode cc = curl_easy_perform(c);
        ck_assert_msg(cc == CURLE_OK, "%s", curl_easy_strerror(cc));
        finish(c, &r);
        ck_assert_int_eq(r.status, 431);
        ck_assert_ptr_nonnull(r.body);
        ck_assert_ptr_nonnull(strstr(r.body, "Your HTTP header was too big"));
        resp_free(&r);
        http(&r, "GET", "/v2", NULL, 0, NULL);
        ck_assert_int_eq(r.status, 200);
        j = resp_json(&r);
        ck_assert_str_eq(json_string_value(json_object_get(j, "name")), "minihlt");
        json_decref(j);
        resp_free(&r);
    }
    free(hdr);
    free(big);
    /* The same cap on a chunked upload (no Content-Length). */
    big = malloc(n);
    memset(big, ' ', n);
    http(&r, "POST", "/v2/models/facile_tiny/infer", big, n, "Transfer-Encoding: chunked");
    ck_assert_int_eq(r.status, 413);
    resp_free(&r);
    free(big);
    http(&r, "GET", "/v2/health/ready", NULL, 0, NULL);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    mh_server_free(s);
}
END_TEST

/* All request bodies together are capped too: 503, the server goes on. */
START_TEST(buffered_bytes_cap)
{
    max_buffered = 2000;
    mh_server *s = start(64, 4096);
    char body[3000];
    memset(body, ' ', sizeof body);
    resp r;
    http(&r, "POST", "/v2/models/facile_tiny/infer", body, sizeof body, NULL);
    ck_assert_int_eq(r.status, 503);
    json_t *j = resp_json(&r);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "error")), "server busy"));
    json_decref(j);
    resp_free(&r);
    http(&r, "POST", "/v2/models/facile_tiny/infer", body, sizeof body, "Transfer-Encoding: chunked");
    ck_assert_int_eq(r.status, 503);
    resp_free(&r);
    const char *ok = "{\"inputs\":[" GOOD_INPUT "]}";
    for (int i = 0; i < 3; i++) { /* reservations are given back */
        http(&r, "POST", "/v2/models/facile_tiny/infer", ok, strlen(ok), NULL);
        ck_assert_int_eq(r.status, 200);
        resp_free(&r);
    }
    mh_server_free(s);
    max_buffered = 0;
}
END_TEST

static long long metric(const char *text, const char *series)
{
    const char *p = strstr(text, series);
    ck_assert_msg(p != NULL, "no series %s in metrics", series);
    return strtoll(p + strlen(series), NULL, 10);
}

START_TEST(batching_merges_requests)
{
    mh_server *s = start(64, 1 << 20);
    enum { N = 16 };
    CURL *c[N];
    resp r[N];
    float *x[N];
    size_t total = 0;
    for (int i = 0; i < N; i++) {
        size_t rows = (size_t)i + 1, len, hl;
        x[i] = malloc(rows * NFEAT * sizeof(float));
        features(total, rows, x[i]);
        total += rows;
        char *body = binary_request(x[i], rows, i % 4, &len, &hl);
        char hdr[64];
        snprintf(hdr, sizeof hdr, "Inference-Header-Content-Length: %zu", hl);
        c[i] = prep(&r[i], "POST", "/v2/models/facile_batch/infer", body, len, hdr);
        free(body);
    }
    http_many(c, r, N);
    for (int i = 0; i < N; i++) {
        size_t rows = (size_t)i + 1;
        ck_assert_msg(r[i].status == 200, "request %d: %ld %s", i, r[i].status, r[i].body);
        ck_assert_uint_eq(r[i].len, r[i].hlen + rows * 4);
        float *want = malloc(rows * sizeof(float));
        reference(x[i], rows, want);
        for (size_t k = 0; k < rows; k++) {
            float y;
            memcpy(&y, r[i].body + r[i].hlen + 4 * k, 4);
            check_close(y, want[k]);
        }
        free(want);
        free(x[i]);
        resp_free(&r[i]);
    }
    resp m;
    http(&m, "GET", "/metrics", NULL, 0, NULL);
    ck_assert_int_eq(m.status, 200);
    long long req = metric(m.body, "nv_inference_request_success{model=\"facile_batch\",version=\"1\"} ");
    long long cnt = metric(m.body, "nv_inference_count{model=\"facile_batch\",version=\"1\"} ");
    long long exec = metric(m.body, "nv_inference_exec_count{model=\"facile_batch\",version=\"1\"} ");
    ck_assert_int_eq(req, N);
    ck_assert_int_eq(cnt, (long long)total);
    ck_assert_msg(exec < N, "exec count %lld not below request count %d: nothing merged", exec, N);
    ck_assert_int_gt(exec, 0);
    resp_free(&m);
    /* Statistics extension: the same counts, and a batch bigger than any
     * single request (16 rows). */
    http(&m, "GET", "/v2/models/facile_batch/stats", NULL, 0, NULL);
    json_t *j = resp_json(&m);
    json_t *st = json_array_get(json_object_get(j, "model_stats"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(st, "execution_count")), exec);
    ck_assert_int_eq(json_integer_value(json_object_get(st, "inference_count")), (json_int_t)total);
    json_t *succ = json_object_get(json_object_get(st, "inference_stats"), "success");
    ck_assert_int_eq(json_integer_value(json_object_get(succ, "count")), N);
    json_int_t biggest = 0;
    size_t i;
    json_t *b;
    json_array_foreach(json_object_get(st, "batch_stats"), i, b)
    {
        json_int_t bs = json_integer_value(json_object_get(b, "batch_size"));
        biggest = bs > biggest ? bs : biggest;
    }
    ck_assert_int_gt(biggest, 16);
    json_decref(j);
    resp_free(&m);
    mh_server_free(s);
}
END_TEST

/* Sends n concurrent one-row requests to facile_slow (held 0.5 s each);
 * counts those served (200) and those answered 503 with an error JSON that
 * contains busy_text. Any other answer (or a 503 without it) fails. */
static void slow_burst(int n, const char *busy_text, int *ok, int *busy)
{
    enum { NMAX = 8 };
    ck_assert_int_le(n, NMAX);
    float x[NFEAT];
    features(0, 1, x);
    char *body = json_request(x, 1, NULL);
    CURL *c[NMAX];
    resp r[NMAX];
    for (int i = 0; i < n; i++)
        c[i] = prep(&r[i], "POST", "/v2/models/facile_slow/infer", body, strlen(body), NULL);
    free(body);
    http_many(c, r, n);
    *ok = *busy = 0;
    for (int i = 0; i < n; i++) {
        if (r[i].status == 200) {
            (*ok)++;
        } else {
            ck_assert_msg(r[i].status == 503, "status %ld: %s", r[i].status, r[i].body);
            json_t *j = resp_json(&r[i]);
            const char *e = json_string_value(json_object_get(j, "error"));
            ck_assert_msg(e && strstr(e, busy_text), "%s", r[i].body);
            json_decref(j);
            (*busy)++;
        }
        resp_free(&r[i]);
    }
}

/* facile_slow keeps requests queued 0.5 s: with --max-queue 2, the third
 * concurrent request is answered 503 at once. */
START_TEST(overload_answers_503)
{
    mh_server *s = start(2, 1 << 20);
    enum { N = 5 };
    int ok, busy;
    slow_burst(N, "exceeds maximum queue size", &ok, &busy);
    ck_assert_int_eq(ok, 2);
    ck_assert_int_eq(busy, N - 2);
    resp m;
    http(&m, "GET", "/metrics", NULL, 0, NULL);
    ck_assert_int_eq(
        metric(m.body,
               "nv_inference_request_failure{model=\"facile_slow\",reason=\"REJECTED\",version=\"1\"} "),
        N - 2);
    resp_free(&m);
    mh_server_free(s);
}
END_TEST

/* Beyond --max-connections a connection is answered 503 (error JSON) and
 * closed; those within the limit are served, and the server goes on. */
START_TEST(connection_limit)
{
    max_connections = 2;
    mh_server *s = start(64, 1 << 20);
    /* facile_slow holds its requests 0.5 s: the first two connections are
     * still open when the last two arrive. */
    int ok, busy;
    slow_burst(4, "more than 2 open connections (--max-connections)", &ok, &busy);
    /* Every connection answered: the two within the cap served, the two
     * above it told 503 (not dropped). */
    ck_assert_msg(ok == 2 && busy == 2, "%d served, %d busy", ok, busy);
    /* All four connections are closed now; once the server has seen the
     * closes (its poll loop, a few ms), they are uncounted and new
     * connections are served again. */
    long st = 0;
    for (int i = 0; i < 200 && st != 200; i++) {
        resp h;
        http(&h, "GET", "/v2/health/live", NULL, 0, NULL);
        st = h.status;
        resp_free(&h);
        if (st != 200)
            usleep(10000);
    }
    ck_assert_int_eq(st, 200);
    mh_server_free(s);
    max_connections = 0;
}
END_TEST

typedef struct drain_arg {
    CURL **c;
    resp *r;
    int n;
} drain_arg;

static void *drain_client(void *p)
{
    drain_arg *a = p;
    http_many(a->c, a->r, a->n);
    return NULL;
}

/* Requests queued when shutdown starts are all answered. */
START_TEST(shutdown_drains_queued_requests)
{
    mh_server *s = start(64, 1 << 20);
    enum { N = 4 };
    float x[NFEAT];
    features(3, 1, x);
    float want;
    reference(x, 1, &want);
    char *body = json_request(x, 1, NULL);
    CURL *c[N];
    resp r[N];
    for (int i = 0; i < N; i++)
        c[i] = prep(&r[i], "POST", "/v2/models/facile_slow/infer", body, strlen(body), NULL);
    free(body);
    drain_arg a = {c, r, N};
    pthread_t t;
    pthread_create(&t, NULL, drain_client, &a);
    /* Wait until all four sit in the queue. */
    long long pending = 0;
    for (int tries = 0; tries < 200 && pending < N; tries++) {
        resp m;
        http(&m, "GET", "/metrics", NULL, 0, NULL);
        pending = metric(m.body, "nv_inference_pending_request_count{model=\"facile_slow\",version=\"1\"} ");
        resp_free(&m);
        if (pending < N)
            usleep(5000);
    }
    ck_assert_int_eq(pending, N);
    ck_assert_int_eq(mh_server_shutdown(s, 5000), MH_OK);
    pthread_join(t, NULL);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(r[i].status == 200, "request %d: %ld", i, r[i].status);
        json_t *j = resp_json(&r[i]);
        json_t *d = json_object_get(json_array_get(json_object_get(j, "outputs"), 0), "data");
        check_close((float)json_number_value(json_array_get(d, 0)), want);
        json_decref(j);
        resp_free(&r[i]);
    }
    mh_server_free(s);
}
END_TEST

static void *shutdown_thread(void *p)
{
    mh_server_shutdown(p, 5000);
    return NULL;
}

/* While draining, a new request on an already open keep-alive connection is
 * answered 503 (clients go elsewhere) while the queued one completes. */
START_TEST(draining_refuses_new_requests)
{
    mh_server *s = start(64, 1 << 20);
    resp r;
    CURL *keep = prep(&r, "GET", "/v2/health/ready", NULL, 0, NULL);
    ck_assert_int_eq(curl_easy_perform(keep), CURLE_OK);
    long st = 0;
    curl_easy_getinfo(keep, CURLINFO_RESPONSE_CODE, &st);
    ck_assert_int_eq(st, 200);
    resp_free(&r);

    float x[NFEAT];
    features(5, 1, x);
    char *body = json_request(x, 1, NULL);
    CURL *c[1];
    resp rs[1];
    c[0] = prep(&rs[0], "POST", "/v2/models/facile_slow/infer", body, strlen(body), NULL);
    free(body);
    drain_arg a = {c, rs, 1};
    pthread_t client, stopper;
    pthread_create(&client, NULL, drain_client, &a);
    long long pending = 0;
    for (int tries = 0; tries < 200 && pending < 1; tries++) {
        resp m;
        http(&m, "GET", "/metrics", NULL, 0, NULL);
        pending = metric(m.body, "nv_inference_pending_request_count{model=\"facile_slow\",version=\"1\"} ");
        resp_free(&m);
        if (pending < 1)
            usleep(5000);
    }
    ck_assert_int_eq(pending, 1);
    pthread_create(&stopper, NULL, shutdown_thread, s);
    usleep(100000); /* the slow request holds the drain open for ~0.4 s more */
    ck_assert_int_eq(curl_easy_perform(keep), CURLE_OK);
    curl_easy_getinfo(keep, CURLINFO_RESPONSE_CODE, &st);
    ck_assert_int_eq(st, 503);
    ck_assert_ptr_nonnull(strstr(r.body, "server is shutting down"));
    resp_free(&r);
    curl_easy_cleanup(keep);
    curl_slist_free_all(r.hdrs);
    pthread_join(stopper, NULL);
    pthread_join(client, NULL);
    ck_assert_int_eq(rs[0].status, 200);
    resp_free(&rs[0]);
    mh_server_free(s);
}
END_TEST

START_TEST(metrics_families_and_failures)
{
    mh_server *s = start(64, 1 << 20);
    resp r;
    http(&r, "POST", "/v2/models/facile_tiny/infer", "{\"inputs\":[" GOOD_INPUT "]}",
         strlen("{\"inputs\":[" GOOD_INPUT "]}"), NULL);
    ck_assert_int_eq(r.status, 200);
    resp_free(&r);
    http(&r, "POST", "/v2/models/facile_tiny/infer", "{", 1, NULL);
    ck_assert_int_eq(r.status, 400);
    resp_free(&r);
    http(&r, "GET", "/metrics", NULL, 0, NULL);
    ck_assert_int_eq(r.status, 200);
    static const char *fam[] = {
        "nv_inference_request_success",          "nv_inference_request_failure",
        "nv_inference_count",                    "nv_inference_exec_count",
        "nv_inference_pending_request_count",    "nv_inference_request_duration_us",
        "nv_inference_queue_duration_us",        "nv_inference_compute_input_duration_us",
        "nv_inference_compute_infer_duration_us", "nv_inference_compute_output_duration_us"};
    for (size_t i = 0; i < sizeof fam / sizeof fam[0]; i++) {
        char t[128];
        snprintf(t, sizeof t, "# TYPE %s ", fam[i]);
        ck_assert_msg(strstr(r.body, t), "missing %s", fam[i]);
    }
    ck_assert_int_eq(metric(r.body, "nv_inference_request_success{model=\"facile_tiny\",version=\"1\"} "), 1);
    ck_assert_int_eq(metric(r.body, "nv_inference_count{model=\"facile_tiny\",version=\"1\"} "), 1);
    ck_assert_int_eq(
        metric(r.body,
               "nv_inference_request_failure{model=\"facile_tiny\",reason=\"OTHER\",version=\"1\"} "),
        1);
    ck_assert_int_ge(metric(r.body, "nv_inference_request_duration_us{model=\"facile_tiny\",version=\"1\"} "), 1);
    resp_free(&r);
    http(&r, "GET", "/v2/models/stats", NULL, 0, NULL);
    json_t *j = resp_json(&r);
    ck_assert_uint_eq(json_array_size(json_object_get(j, "model_stats")), 3);
    json_decref(j);
    resp_free(&r);
    mh_server_free(s);
}
END_TEST

static mh_status try_create(const char *dir, unsigned port, const char *backend, char *err,
                            size_t errlen)
{
    mh_server_opts o;
    mh_server_opts_default(&o);
    o.models_dir = dir;
    o.port = port;
    o.backend = backend;
    o.max_buffered = max_buffered;
    if (max_connections)
        o.max_connections = max_connections;
    mh_server *s = NULL;
    mh_status st = mh_server_create(&o, &s, err, errlen);
    mh_server_free(s);
    return st;
}

START_TEST(startup_errors)
{
    char err[1024];
    ck_assert_int_eq(try_create("tests/data/no_such_repo", 0, NULL, err, sizeof err), MH_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(err, "model repository 'tests/data/no_such_repo' not found"));
    ck_assert_int_eq(try_create("tests/data/facile_tiny/1", 0, NULL, err, sizeof err), MH_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(err, "has no model"));
    ck_assert_int_eq(try_create(REPO, 0, "tpu", err, sizeof err), MH_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(err, "backend 'tpu' is not built in"));

    /* A model whose config names another model. */
    char tmpl[] = "/tmp/mh_net_repoXXXXXX";
    char *dir = mkdtemp(tmpl);
    ck_assert_ptr_nonnull(dir);
    char p[512], q[512];
    snprintf(p, sizeof p, "%s/renamed", dir);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/renamed/1", dir);
    char cwd[400];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(q, sizeof q, "%s/tests/data/facile_tiny/1", cwd);
    ck_assert_int_eq(symlink(q, p), 0);
    snprintf(p, sizeof p, "%s/renamed/config.yaml", dir);
    snprintf(q, sizeof q, "%s/tests/data/facile_tiny/config.yaml", cwd);
    ck_assert_int_eq(symlink(q, p), 0);
    ck_assert_int_eq(try_create(dir, 0, NULL, err, sizeof err), MH_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "says name 'facile_tiny'; it must match the directory name"));
    snprintf(p, sizeof p, "%s/renamed/1", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/renamed/config.yaml", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/renamed", dir);
    rmdir(p);
    rmdir(dir);

    /* Port in use. */
    mh_server *s = start(8, 1 << 20);
    ck_assert_int_eq(try_create(REPO, mh_server_port(s), NULL, err, sizeof err), MH_NET);
    ck_assert_ptr_nonnull(strstr(err, "cannot listen on 127.0.0.1:"));
    mh_server_free(s);
}
END_TEST

/* The short keys in a model's config.yaml: extra lines appended to
 * facile_tiny's config (renamed 'm'); either the server starts and the
 * model's /config shows the delay (-1: no dynamic_batching) and instance
 * count, or it refuses with the error. */
static const struct short_key_case {
    const char *extra;
    long delay_us;
    long count;
    const char *error; /* NULL: loads */
} short_keys[] = {
    {"", -1, 1, NULL},
    {"max_queue_delay_us: 250\n", 250, 1, NULL},
    {"instances: 3\n", -1, 3, NULL},
    {"max_queue_delay_us: 0\ninstances: 2\n", 0, 2, NULL},
    {"dynamic_batching: {preferred_batch_size: [8]}\nmax_queue_delay_us: 40\n", 40, 1, NULL},
    {"dynamic_batching: {max_queue_delay_microseconds: 100}\nmax_queue_delay_us: 100\n", 0, 0,
     "max_queue_delay_us and dynamic_batching.max_queue_delay_microseconds are the same "
     "setting; give only one"},
    {"instances: 2\ninstance_group:\n  - {count: 2}\n", 0, 0,
     "instances and instance_group both set the instance count; give only one"},
    {"instance_group:\n  - {count: 0}\n", 0, 0, "instance_group.count must be an integer in [1, 64]"},
    {"instances: 0\n", 0, 0, "instances must be an integer in [1, 64]"},
    {"instances: 65\n", 0, 0, "instances must be an integer in [1, 64]"},
    {"max_queue_delay_us: -5\n", 0, 0, "max_queue_delay_us must be an integer in [0, 10000000]"},
    {"max_queue_delay_us: soon\n", 0, 0, "max_queue_delay_us must be an integer in [0, 10000000]"},
};

START_TEST(config_short_keys)
{
    const struct short_key_case *t = &short_keys[_i];
    char tmpl[] = "/tmp/mh_net_keysXXXXXX";
    char *dir = mkdtemp(tmpl);
    ck_assert_ptr_nonnull(dir);
    char p[512], q[512], cwd[400];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    snprintf(p, sizeof p, "%s/m", dir);
    ck_assert_int_eq(mkdir(p, 0755), 0);
    snprintf(p, sizeof p, "%s/m/1", dir);
    snprintf(q, sizeof q, "%s/tests/data/facile_tiny/1", cwd);
    ck_assert_int_eq(symlink(q, p), 0);
    snprintf(p, sizeof p, "%s/m/config.yaml", dir);
    FILE *in = fopen("tests/data/facile_tiny/config.yaml", "r");
    FILE *out = fopen(p, "w");
    ck_assert(in && out);
    char line[512];
    while (fgets(line, sizeof line, in))
        fputs(strncmp(line, "name:", 5) ? line : "name: m\n", out);
    fputs(t->extra, out);
    fclose(in);
    fclose(out);

    mh_server_opts o;
    mh_server_opts_default(&o);
    o.models_dir = dir;
    o.port = 0;
    mh_server *s = NULL;
    char err[1024] = "";
    mh_status st = mh_server_create(&o, &s, err, sizeof err);
    if (t->error) {
        ck_assert_int_eq(st, MH_CONFIG);
        ck_assert_msg(strstr(err, t->error) && strstr(err, "m/config.yaml"), "%s", err);
    } else {
        ck_assert_msg(st == MH_OK, "%s", err);
        snprintf(base, sizeof base, "http://127.0.0.1:%u", mh_server_port(s));
        resp r;
        http(&r, "GET", "/v2/models/m/config", NULL, 0, NULL);
        ck_assert_int_eq(r.status, 200);
        json_t *j = resp_json(&r);
        json_t *db = json_object_get(j, "dynamic_batching");
        if (t->delay_us < 0)
            ck_assert_ptr_null(db);
        else
            ck_assert_int_eq(
                json_integer_value(json_object_get(db, "max_queue_delay_microseconds")),
                t->delay_us);
        json_t *ig = json_array_get(json_object_get(j, "instance_group"), 0);
        ck_assert_int_eq(json_integer_value(json_object_get(ig, "count")), t->count);
        json_decref(j);
        resp_free(&r);
    }
    mh_server_free(s);
    unlink(p);
    snprintf(p, sizeof p, "%s/m/1", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/m", dir);
    rmdir(p);
    rmdir(dir);
}
END_TEST

/* The same answers from the opencl backend (PoCL in the tests) as from the
 * CPU forward pass, for a batch of merged requests too. */
START_TEST(opencl_backend)
{
    mh_server *s = start_backend(64, 1 << 20, "opencl");
    resp r;
    http(&r, "GET", "/v2/models/facile_batch/config", NULL, 0, NULL);
    json_t *j = resp_json(&r);
    ck_assert_str_eq(json_string_value(json_object_get(j, "backend")), "opencl");
    json_decref(j);
    resp_free(&r);
    enum { N = 4, ROWS = 37 };
    CURL *c[N];
    resp rr[N];
    float x[N][ROWS * NFEAT], want[N][ROWS];
    for (int i = 0; i < N; i++) {
        size_t len, hl;
        features((size_t)i * ROWS, ROWS, x[i]);
        reference(x[i], ROWS, want[i]);
        char *body = binary_request(x[i], ROWS, i, &len, &hl);
        char hdr[64];
        snprintf(hdr, sizeof hdr, "Inference-Header-Content-Length: %zu", hl);
        c[i] = prep(&rr[i], "POST", "/v2/models/facile_batch/infer", body, len, hdr);
        free(body);
    }
    http_many(c, rr, N);
    for (int i = 0; i < N; i++) {
        ck_assert_msg(rr[i].status == 200, "%ld %s", rr[i].status, rr[i].body);
        ck_assert_uint_eq(rr[i].len, rr[i].hlen + ROWS * 4);
        for (size_t k = 0; k < ROWS; k++) {
            float y;
            memcpy(&y, rr[i].body + rr[i].hlen + 4 * k, 4);
            ck_assert_msg(fabsf(y - want[i][k]) <= 1e-4f * (1.0f + fabsf(want[i][k])),
                          "row %zu: %.9g vs cpu %.9g", k, y, want[i][k]);
        }
        resp_free(&rr[i]);
    }
    mh_server_free(s);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("net_server");
    TCase *tc = tcase_create("server");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, metadata_and_health);
    tcase_add_test(tc, infer_json_and_binary);
    tcase_add_loop_test(tc, bad_requests, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, body_and_header_caps);
    tcase_add_test(tc, buffered_bytes_cap);
    tcase_add_test(tc, batching_merges_requests);
    tcase_add_test(tc, overload_answers_503);
    tcase_add_test(tc, connection_limit);
    tcase_add_test(tc, shutdown_drains_queued_requests);
    tcase_add_test(tc, draining_refuses_new_requests);
    tcase_add_test(tc, metrics_families_and_failures);
    tcase_add_test(tc, startup_errors);
    tcase_add_loop_test(tc, config_short_keys, 0, (int)(sizeof short_keys / sizeof short_keys[0]));
    tcase_add_test(tc, opencl_backend);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    curl_global_cleanup();
    return failed ? 1 : 0;
}
