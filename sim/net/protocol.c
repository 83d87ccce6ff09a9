/* protocol.c - KServe v2 inference request parsing and response encoding
 * with Triton's binary tensor data extension (see mh_infer.h). JSON through
 * jansson; every size taken from the message is checked before use. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "net/mh_infer.h"

static const struct {
    const char *name;
    mh_dtype dt;
    size_t size;
} mh__dtypes[] = {
    {"BOOL", MH_DT_BOOL, 1},     {"UINT8", MH_DT_UINT8, 1}, {"UINT16", MH_DT_UINT16, 2},
    {"UINT32", MH_DT_UINT32, 4}, {"UINT64", MH_DT_UINT64, 8}, {"INT8", MH_DT_INT8, 1},
    {"INT16", MH_DT_INT16, 2},   {"INT32", MH_DT_INT32, 4}, {"INT64", MH_DT_INT64, 8},
    {"FP16", MH_DT_FP16, 2},     {"FP32", MH_DT_FP32, 4},   {"FP64", MH_DT_FP64, 8},
    {"BYTES", MH_DT_BYTES, 0},
};
#define MH__NDTYPES (sizeof mh__dtypes / sizeof mh__dtypes[0])

mh_dtype mh_dtype_from_name(const char *name)
{
    if (!name)
        return MH_DT_INVALID;
    for (size_t i = 0; i < MH__NDTYPES; i++)
        if (!strcmp(name, mh__dtypes[i].name))
            return mh__dtypes[i].dt;
    return MH_DT_INVALID;
}

const char *mh_dtype_name(mh_dtype dt)
{
    for (size_t i = 0; i < MH__NDTYPES; i++)
        if (mh__dtypes[i].dt == dt)
            return mh__dtypes[i].name;
    return "INVALID";
}

const char *mh_dtype_config_name(mh_dtype dt)
{
    static const char *const names[] = {
        [MH_DT_INVALID] = "TYPE_INVALID", [MH_DT_BOOL] = "TYPE_BOOL",
        [MH_DT_UINT8] = "TYPE_UINT8",     [MH_DT_UINT16] = "TYPE_UINT16",
        [MH_DT_UINT32] = "TYPE_UINT32",   [MH_DT_UINT64] = "TYPE_UINT64",
        [MH_DT_INT8] = "TYPE_INT8",       [MH_DT_INT16] = "TYPE_INT16",
        [MH_DT_INT32] = "TYPE_INT32",     [MH_DT_INT64] = "TYPE_INT64",
        [MH_DT_FP16] = "TYPE_FP16",       [MH_DT_FP32] = "TYPE_FP32",
        [MH_DT_FP64] = "TYPE_FP64",       [MH_DT_BYTES] = "TYPE_STRING",
    };
    if ((unsigned)dt >= sizeof names / sizeof names[0])
        return "TYPE_INVALID";
    return names[dt];
}

size_t mh_dtype_size(mh_dtype dt)
{
    for (size_t i = 0; i < MH__NDTYPES; i++)
        if (mh__dtypes[i].dt == dt)
            return mh__dtypes[i].size;
    return 0;
}

void mh_infer_request_free(mh_infer_request *req)
{
    if (!req)
        return;
    for (size_t i = 0; i < MH_INFER_MAX_TENSORS; i++)
        free(req->owned[i]);
    free(req);
}

/* Copies a JSON string member into a fixed buffer; an over-long name is an
 * error rather than a silent truncation. */
static mh_status mh__copy_name(json_t *obj, const char *key, char *dst, size_t cap,
                               const char *what, char *err, size_t errlen)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return mh_fail(err, errlen, MH_INVALID, "%s: missing or non-string \"%s\"", what, key);
    size_t n = json_string_length(v);
    if (n == 0 || n >= cap || memchr(json_string_value(v), 0, n))
        return mh_fail(err, errlen, MH_INVALID, "%s: \"%s\" must be 1..%zu characters", what, key,
                       cap - 1);
    memcpy(dst, json_string_value(v), n + 1);
    return MH_OK;
}

/* Counts the leaves of a (possibly nested) JSON array; -1 if a leaf is not
 * a number or boolean or the nesting is too deep. */
static long long mh__count_leaves(json_t *a, int depth)
{
    if (depth > MH_INFER_MAX_DIMS)
        return -1;
    long long n = 0;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (json_is_array(v)) {
            long long k = mh__count_leaves(v, depth + 1);
            if (k < 0)
                return -1;
            n += k;
        } else if (json_is_number(v) || json_is_boolean(v)) {
            n++;
        } else {
            return -1;
        }
    }
    return n;
}

/* Stores one JSON leaf as element idx of the given datatype; false if the
 * value does not fit (wrong kind, out of range, fraction in an integer). */
static bool mh__store(json_t *v, mh_dtype dt, unsigned char *dst, size_t idx)
{
    if (json_is_boolean(v)) {
        if (dt != MH_DT_BOOL)
            return false;
        dst[idx] = json_is_true(v) ? 1 : 0;
        return true;
    }
    if (dt == MH_DT_BOOL)
        return false;
    if (dt == MH_DT_FP32 || dt == MH_DT_FP64) {
        double d = json_number_value(v);
        if (dt == MH_DT_FP32) {
            float f = (float)d;
            if (isinf(f) && !isinf(d))
                return false;
            memcpy(dst + idx * 4, &f, 4);
        } else {
            memcpy(dst + idx * 8, &d, 8);
        }
        return true;
    }
    if (!json_is_integer(v)) {
        /* 3.0 is accepted for an integer tensor; 3.5 is not. */
        double d = json_real_value(v);
        if (!json_is_real(v) || d != floor(d) || fabs(d) > 9.0e15)
            return false;
    }
    long long x = json_is_integer(v) ? (long long)json_integer_value(v)
                                     : (long long)json_real_value(v);
    switch (dt) {
    case MH_DT_UINT8:
        if (x < 0 || x > UINT8_MAX)
            return false;
        dst[idx] = (uint8_t)x;
        return true;
    case MH_DT_INT8: {
        if (x < INT8_MIN || x > INT8_MAX)
            return false;
        int8_t y = (int8_t)x;
        memcpy(dst + idx, &y, 1);
        return true;
    }
    case MH_DT_UINT16: {
        if (x < 0 || x > UINT16_MAX)
            return false;
        uint16_t y = (uint16_t)x;
        memcpy(dst + idx * 2, &y, 2);
        return true;
    }
    case MH_DT_INT16: {
        if (x < INT16_MIN || x > INT16_MAX)
            return false;
        int16_t y = (int16_t)x;
        memcpy(dst + idx * 2, &y, 2);
        return true;
    }
    case MH_DT_UINT32: {
        if (x < 0 || x > (long long)UINT32_MAX)
            return false;
        uint32_t y = (uint32_t)x;
        memcpy(dst + idx * 4, &y, 4);
        return true;
    }
    case MH_DT_INT32: {
        if (x < INT32_MIN || x > INT32_MAX)
            return false;
        int32_t y = (int32_t)x;
        memcpy(dst + idx * 4, &y, 4);
        return true;
    }
    case MH_DT_UINT64: {
        if (x < 0)
            return false;
        uint64_t y = (uint64_t)x;
        memcpy(dst + idx * 8, &y, 8);
        return true;
    }
    case MH_DT_INT64: {
        int64_t y = (int64_t)x;
        memcpy(dst + idx * 8, &y, 8);
        return true;
    }
    default:
        return false;
    }
}

static bool mh__fill(json_t *a, mh_dtype dt, unsigned char *dst, size_t *idx)
{
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        if (json_is_array(v)) {
            if (!mh__fill(v, dt, dst, idx))
                return false;
        } else {
            if (!mh__store(v, dt, dst, *idx))
                return false;
            (*idx)++;
        }
    }
    return true;
}

/* Reads an optional non-negative integer parameter; *present says whether
 * it was there. */
static mh_status mh__param_size(json_t *params, const char *key, const char *what,
                                bool *present, long long *val, char *err, size_t errlen)
{
    *present = false;
    json_t *v = params ? json_object_get(params, key) : NULL;
    if (!v)
        return MH_OK;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return mh_fail(err, errlen, MH_INVALID,
                       "%s: parameter \"%s\" must be a non-negative integer", what, key);
    *present = true;
    *val = (long long)json_integer_value(v);
    return MH_OK;
}

static mh_status mh__param_bool(json_t *params, const char *key, const char *what, bool *val,
                                char *err, size_t errlen)
{
    json_t *v = params ? json_object_get(params, key) : NULL;
    if (!v)
        return MH_OK;
    if (!json_is_boolean(v))
        return mh_fail(err, errlen, MH_INVALID, "%s: parameter \"%s\" must be a boolean", what,
                       key);
    *val = json_is_true(v);
    return MH_OK;
}

static mh_status mh__parse_input(json_t *in, size_t i, mh_infer_request *req, const char *bin,
                                 size_t binlen, size_t *binpos, char *err, size_t errlen)
{
    char what[MH_INFER_MAX_NAME + 32];
    mh_infer_input *t = &req->inputs[i];
    snprintf(what, sizeof what, "inputs[%zu]", i);
    if (!json_is_object(in))
        return mh_fail(err, errlen, MH_INVALID, "%s: expected an object", what);
    mh_status st = mh__copy_name(in, "name", t->name, sizeof t->name, what, err, errlen);
    if (st != MH_OK)
        return st;
    snprintf(what, sizeof what, "input '%s'", t->name);
    json_t *dtv = json_object_get(in, "datatype");
    if (!json_is_string(dtv))
        return mh_fail(err, errlen, MH_INVALID, "%s: missing or non-string \"datatype\"", what);
    t->dtype = mh_dtype_from_name(json_string_value(dtv));
    if (t->dtype == MH_DT_INVALID)
        return mh_fail(err, errlen, MH_INVALID, "%s: unknown datatype '%.32s'", what,
                       json_string_value(dtv));
    json_t *shape = json_object_get(in, "shape");
    if (!json_is_array(shape))
        return mh_fail(err, errlen, MH_INVALID, "%s: missing or non-array \"shape\"", what);
    t->ndim = json_array_size(shape);
    if (t->ndim > MH_INFER_MAX_DIMS)
        return mh_fail(err, errlen, MH_INVALID, "%s: shape has %zu dims (at most %d)", what,
                       t->ndim, MH_INFER_MAX_DIMS);
    /* Element count with an overflow guard: 2^40 elements is far past any
     * body size cap, so anything above is rejected before multiplying on. */
    unsigned long long count = 1;
    for (size_t d = 0; d < t->ndim; d++) {
        json_t *dv = json_array_get(shape, d);
        if (!json_is_integer(dv) || json_integer_value(dv) < 0)
            return mh_fail(err, errlen, MH_INVALID,
                           "%s: shape[%zu] must be a non-negative integer", what, d);
        t->shape[d] = (int64_t)json_integer_value(dv);
        if (t->shape[d] > (1LL << 40))
            return mh_fail(err, errlen, MH_INVALID, "%s: shape[%zu] = %lld is too large", what,
                           d, (long long)t->shape[d]);
        count *= (unsigned long long)t->shape[d];
        if (count > (1ULL << 40))
            return mh_fail(err, errlen, MH_INVALID, "%s: shape has too many elements", what);
    }
    size_t esize = mh_dtype_size(t->dtype);
    json_t *params = json_object_get(in, "parameters");
    if (params && !json_is_object(params))
        return mh_fail(err, errlen, MH_INVALID, "%s: \"parameters\" must be an object", what);
    bool has_bin = false;
    long long binsize = 0;
    if ((st = mh__param_size(params, "binary_data_size", what, &has_bin, &binsize, err,
                             errlen)) != MH_OK)
        return st;
    json_t *data = json_object_get(in, "data");
    if (has_bin) {
        if (data)
            return mh_fail(err, errlen, MH_INVALID,
                           "%s: has both \"data\" and binary_data_size", what);
        if (esize && (unsigned long long)binsize != count * esize)
            return mh_fail(err, errlen, MH_INVALID,
                           "%s: binary_data_size is %lld bytes, but shape and datatype %s "
                           "need %llu",
                           what, binsize, mh_dtype_name(t->dtype), count * esize);
        if ((unsigned long long)binsize > binlen - *binpos)
            return mh_fail(err, errlen, MH_INVALID,
                           "%s: binary_data_size %lld goes past the end of the body (%zu "
                           "binary bytes left%s)",
                           what, binsize, binlen - *binpos,
                           binlen ? ""
                                  : "; binary data follows the JSON, whose length in bytes "
                                    "the Inference-Header-Content-Length header gives");
        t->data = bin + *binpos;
        t->nbytes = (size_t)binsize;
        t->binary = true;
        *binpos += (size_t)binsize;
        return MH_OK;
    }
    if (!data)
        return mh_fail(err, errlen, MH_INVALID,
                       "%s: has neither \"data\" nor parameter binary_data_size", what);
    if (!json_is_array(data))
        return mh_fail(err, errlen, MH_INVALID, "%s: \"data\" must be an array", what);
    if (t->dtype == MH_DT_BYTES || t->dtype == MH_DT_FP16)
        return mh_fail(err, errlen, MH_INVALID,
                       "%s: datatype %s is only supported as binary data", what,
                       mh_dtype_name(t->dtype));
    long long leaves = mh__count_leaves(data, 1);
    if (leaves < 0)
        return mh_fail(err, errlen, MH_INVALID,
                       "%s: \"data\" must hold only numbers or booleans", what);
    if ((unsigned long long)leaves != count)
        return mh_fail(err, errlen, MH_INVALID,
                       "%s: \"data\" has %lld elements, but shape needs %llu", what, leaves,
                       count);
    size_t nbytes = (size_t)count * esize;
    unsigned char *buf = malloc(nbytes ? nbytes : 1);
    if (!buf)
        return mh_fail(err, errlen, MH_NOMEM, "%s: out of memory", what);
    req->owned[i] = buf;
    size_t idx = 0;
    if (!mh__fill(data, t->dtype, buf, &idx))
        return mh_fail(err, errlen, MH_INVALID, "%s: a \"data\" element is not a valid %s",
                       what, mh_dtype_name(t->dtype));
    t->data = buf;
    t->nbytes = count * esize;
    return MH_OK;
}

mh_status mh_infer_request_parse(const char *body, size_t len, size_t header_len,
                                 mh_infer_request **out, char *err, size_t errlen)
{
    mh_status st = MH_OK;
    json_t *root = NULL;
    mh_infer_request *req = NULL;
    *out = NULL;
    if (!body && len)
        return mh_fail(err, errlen, MH_INVALID, "no request body");
    if (header_len > len)
        return mh_fail(err, errlen, MH_INVALID,
                       "Inference-Header-Content-Length %zu is larger than the body (%zu bytes)",
                       header_len, len);
    size_t jlen = header_len ? header_len : len;
    if (jlen == 0)
        return mh_fail(err, errlen, MH_INVALID, "empty request body");
    json_error_t jerr;
    root = json_loadb(body, jlen, JSON_REJECT_DUPLICATES, &jerr);
    if (!root && !header_len) {
        /* A JSON object followed by other bytes is most likely a binary
         * request sent without its Inference-Header-Content-Length. */
        json_error_t jerr2;
        json_t *head =
            json_loadb(body, jlen, JSON_REJECT_DUPLICATES | JSON_DISABLE_EOF_CHECK, &jerr2);
        json_decref(head);
        if (head && jerr2.position > 0 && (size_t)jerr2.position < len)
            return mh_fail(err, errlen, MH_INVALID,
                           "%zu bytes follow the request's JSON (%d bytes): a binary request "
                           "needs the Inference-Header-Content-Length header (the JSON's "
                           "length)",
                           len - (size_t)jerr2.position, jerr2.position);
    }
    if (!root)
        return mh_fail(err, errlen, MH_INVALID, "malformed JSON at byte %d: %s", jerr.position,
                       jerr.text);
    if (!json_is_object(root)) {
        st = mh_fail(err, errlen, MH_INVALID, "request JSON must be an object");
        goto fail_root;
    }
    req = calloc(1, sizeof *req);
    if (!req) {
        st = mh_fail(err, errlen, MH_NOMEM, "out of memory");
        goto fail_root;
    }
    json_t *id = json_object_get(root, "id");
    if (id) {
        if (!json_is_string(id) || json_string_length(id) >= sizeof req->id) {
            st = mh_fail(err, errlen, MH_INVALID, "\"id\" must be a string of < %zu characters",
                         sizeof req->id);
            goto fail_req;
        }
        memcpy(req->id, json_string_value(id), json_string_length(id) + 1);
        req->has_id = true;
    }
    json_t *params = json_object_get(root, "parameters");
    if (params && !json_is_object(params)) {
        st = mh_fail(err, errlen, MH_INVALID, "request \"parameters\" must be an object");
        goto fail_req;
    }
    if ((st = mh__param_bool(params, "binary_data_output", "request", &req->binary_output, err,
                             errlen)) != MH_OK)
        goto fail_req;
    json_t *inputs = json_object_get(root, "inputs");
    if (!json_is_array(inputs) || json_array_size(inputs) == 0) {
        st = mh_fail(err, errlen, MH_INVALID, "\"inputs\" must be a non-empty array");
        goto fail_req;
    }
    if (json_array_size(inputs) > MH_INFER_MAX_TENSORS) {
        st = mh_fail(err, errlen, MH_INVALID, "too many inputs (%zu, at most %d)",
                     json_array_size(inputs), MH_INFER_MAX_TENSORS);
        goto fail_req;
    }
    const char *bin = body + jlen;
    size_t binlen = len - jlen;
    size_t binpos = 0;
    req->ninputs = json_array_size(inputs);
    for (size_t i = 0; i < req->ninputs; i++) {
        if ((st = mh__parse_input(json_array_get(inputs, i), i, req, bin, binlen, &binpos, err,
                                  errlen)) != MH_OK)
            goto fail_req;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(req->inputs[j].name, req->inputs[i].name)) {
                st = mh_fail(err, errlen, MH_INVALID, "input '%s' appears twice",
                             req->inputs[i].name);
                goto fail_req;
            }
    }
    if (binpos != binlen) {
        st = mh_fail(err, errlen, MH_INVALID,
                     header_len ? "%zu bytes of binary data after the JSON header, but the "
                                  "inputs' binary_data_size add up to %zu"
                                : "%zu bytes after the JSON object (missing "
                                  "Inference-Header-Content-Length?), inputs declare %zu",
                     binlen, binpos);
        goto fail_req;
    }
    json_t *outputs = json_object_get(root, "outputs");
    if (outputs) {
        if (!json_is_array(outputs)) {
            st = mh_fail(err, errlen, MH_INVALID, "\"outputs\" must be an array");
            goto fail_req;
        }
        if (json_array_size(outputs) > MH_INFER_MAX_TENSORS) {
            st = mh_fail(err, errlen, MH_INVALID, "too many outputs requested");
            goto fail_req;
        }
        req->noutputs = json_array_size(outputs);
        for (size_t i = 0; i < req->noutputs; i++) {
            char what[64];
            snprintf(what, sizeof what, "outputs[%zu]", i);
            json_t *o = json_array_get(outputs, i);
            mh_infer_output_req *r = &req->outputs[i];
            if (!json_is_object(o)) {
                st = mh_fail(err, errlen, MH_INVALID, "%s: expected an object", what);
                goto fail_req;
            }
            if ((st = mh__copy_name(o, "name", r->name, sizeof r->name, what, err, errlen)) !=
                MH_OK)
                goto fail_req;
            json_t *op = json_object_get(o, "parameters");
            if (op && !json_is_object(op)) {
                st = mh_fail(err, errlen, MH_INVALID, "output '%s': \"parameters\" must be an "
                             "object", r->name);
                goto fail_req;
            }
            r->binary = req->binary_output;
            if ((st = mh__param_bool(op, "binary_data", what, &r->binary, err, errlen)) !=
                MH_OK)
                goto fail_req;
            for (size_t j = 0; j < i; j++)
                if (!strcmp(req->outputs[j].name, r->name)) {
                    st = mh_fail(err, errlen, MH_INVALID, "output '%s' requested twice",
                                 r->name);
                    goto fail_req;
                }
        }
    }
    json_decref(root);
    *out = req;
    return MH_OK;

fail_req:
    mh_infer_request_free(req);
fail_root:
    json_decref(root);
    return st;
}

/* Appends the elements of a fixed-size tensor to a JSON array as numbers. */
static mh_status mh__data_json(const mh_infer_output *o, json_t *arr, char *err, size_t errlen)
{
    size_t es = mh_dtype_size(o->dtype);
    if (!es)
        return mh_fail(err, errlen, MH_UNSUPPORTED, "output '%s': %s cannot be sent as JSON",
                       o->name, mh_dtype_name(o->dtype));
    const unsigned char *p = o->data;
    size_t n = o->nbytes / es;
    for (size_t i = 0; i < n; i++) {
        json_t *v = NULL;
        const unsigned char *e = p + i * es;
        switch (o->dtype) {
        case MH_DT_BOOL: v = json_boolean(e[0] != 0); break;
        case MH_DT_UINT8: v = json_integer(e[0]); break;
        case MH_DT_INT8: { int8_t x; memcpy(&x, e, 1); v = json_integer(x); break; }
        case MH_DT_UINT16: { uint16_t x; memcpy(&x, e, 2); v = json_integer(x); break; }
        case MH_DT_INT16: { int16_t x; memcpy(&x, e, 2); v = json_integer(x); break; }
        case MH_DT_UINT32: { uint32_t x; memcpy(&x, e, 4); v = json_integer(x); break; }
        case MH_DT_INT32: { int32_t x; memcpy(&x, e, 4); v = json_integer(x); break; }
        case MH_DT_UINT64: { uint64_t x; memcpy(&x, e, 8); v = json_integer((json_int_t)x); break; }
        case MH_DT_INT64: { int64_t x; memcpy(&x, e, 8); v = json_integer(x); break; }
        case MH_DT_FP32: { float x; memcpy(&x, e, 4); v = isfinite(x) ? json_real(x) : json_null(); break; }
        case MH_DT_FP64: { double x; memcpy(&x, e, 8); v = isfinite(x) ? json_real(x) : json_null(); break; }
        default:
            return mh_fail(err, errlen, MH_UNSUPPORTED, "output '%s': %s cannot be sent as JSON",
                           o->name, mh_dtype_name(o->dtype));
        }
        if (!v || json_array_append_new(arr, v))
            return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    }
    return MH_OK;
}

mh_status mh_infer_response_encode(const char *model, const char *version, const char *id,
                                   const mh_infer_output *outs, size_t nouts, char **body,
                                   size_t *len, size_t *header_len, char *err, size_t errlen)
{
    mh_status st = MH_NOMEM;
    char *js = NULL;
    *body = NULL;
    json_t *root = json_object();
    json_t *arr = json_array();
    if (!root || !arr)
        goto fail;
    json_object_set_new(root, "model_name", json_string(model));
    json_object_set_new(root, "model_version", json_string(version));
    if (id && id[0])
        json_object_set_new(root, "id", json_string(id));
    size_t binbytes = 0;
    for (size_t i = 0; i < nouts; i++) {
        const mh_infer_output *o = &outs[i];
        json_t *t = json_object();
        json_t *shape = json_array();
        if (!t || !shape || json_array_append_new(arr, t)) {
            json_decref(shape);
            goto fail;
        }
        json_object_set_new(t, "name", json_string(o->name));
        json_object_set_new(t, "datatype", json_string(mh_dtype_name(o->dtype)));
        for (size_t d = 0; d < o->ndim; d++)
            json_array_append_new(shape, json_integer(o->shape[d]));
        json_object_set_new(t, "shape", shape);
        if (o->binary) {
            json_t *p = json_object();
            if (!p)
                goto fail;
            json_object_set_new(p, "binary_data_size", json_integer((json_int_t)o->nbytes));
            json_object_set_new(t, "parameters", p);
            binbytes += o->nbytes;
        } else {
            json_t *data = json_array();
            if (!data)
                goto fail;
            json_object_set_new(t, "data", data);
            if ((st = mh__data_json(o, data, err, errlen)) != MH_OK)
                goto fail_quiet;
        }
    }
    json_object_set_new(root, "outputs", arr);
    arr = NULL;
    /* 9 significant digits round-trip any float32 exactly. */
    js = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(9));
    if (!js)
        goto fail;
    size_t jl = strlen(js);
    char *buf = malloc(jl + binbytes + 1);
    if (!buf)
        goto fail;
    memcpy(buf, js, jl);
    size_t pos = jl;
    for (size_t i = 0; i < nouts; i++)
        if (outs[i].binary && outs[i].nbytes) {
            memcpy(buf + pos, outs[i].data, outs[i].nbytes);
            pos += outs[i].nbytes;
        }
    buf[pos] = 0;
    free(js);
    json_decref(root);
    *body = buf;
    *len = pos;
    *header_len = jl;
    return MH_OK;

fail:
    st = mh_fail(err, errlen, MH_NOMEM, "out of memory encoding the response");
fail_quiet:
    free(js);
    json_decref(arr);
    json_decref(root);
    return st;
}

char *mh_infer_error_json(const char *msg)
{
    json_t *o = json_pack("{s:s}", "error", msg ? msg : "");
    if (!o)
        return NULL;
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}
