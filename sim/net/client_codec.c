/* client_codec.c - encoding of infer requests and decoding of infer
 * responses for the KServe v2 / Triton HTTP protocol with the binary tensor
 * data extension. JSON goes through jansson; lengths from the peer are
 * checked before any use. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/client_internal.h"

char *mh__client_encode_header(uint64_t id, const char *input_name, size_t n_rows,
                               size_t n_cols, const char *output_name, bool json_output,
                               size_t *len)
{
    char *text = NULL;
    char idbuf[32];
    snprintf(idbuf, sizeof idbuf, "%llu", (unsigned long long)id);
    /* json_pack steals the references of the "o" values, so one failed
     * pack frees everything built inside it. */
    json_t *root = json_pack(
        "{s:s, s:[{s:s, s:[I,I], s:s, s:{s:I}}], s:[{s:s, s:{s:b}}]}", "id", idbuf, "inputs",
        "name", input_name, "shape", (json_int_t)n_rows, (json_int_t)n_cols, "datatype", "FP32",
        "parameters", "binary_data_size", (json_int_t)(n_rows * n_cols * sizeof(float)),
        "outputs", "name", output_name, "parameters", "binary_data", !json_output);
    if (!root)
        return NULL;
    text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (text && len)
        *len = strlen(text);
    return text;
}

/* Reads a non-negative integer parameter "binary_data_size" of an output,
 * -1 if absent; -2 if present but not a valid size. */
static long long binary_size_of(json_t *output)
{
    json_t *params = json_object_get(output, "parameters");
    if (!params)
        return -1;
    if (!json_is_object(params))
        return -2;
    json_t *v = json_object_get(params, "binary_data_size");
    if (!v)
        return -1;
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -2;
    return (long long)json_integer_value(v);
}

mh_status mh__client_decode_response(const char *body, size_t len, long long json_len,
                                     const char *output_name, size_t n_rows, float *out,
                                     size_t out_cap, size_t *per_row, char *err,
                                     size_t errlen)
{
    mh_status st = MH_FORMAT;
    json_t *root = NULL;
    size_t jl = len;
    if (json_len >= 0) {
        if ((unsigned long long)json_len > len) {
            mh_fail(err, errlen, MH_FORMAT,
                    "Inference-Header-Content-Length %lld exceeds the body (%zu bytes)", json_len,
                    len);
            goto cleanup;
        }
        jl = (size_t)json_len;
    }
    const unsigned char *bin = (const unsigned char *)body + jl;
    size_t binlen = len - jl;

    json_error_t jerr;
    root = json_loadb(body, jl, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        mh_fail(err, errlen, MH_FORMAT, "response is not JSON (byte %d: %s)", jerr.position,
                jerr.text);
        goto cleanup;
    }
    json_t *outputs = json_object_get(root, "outputs");
    if (!json_is_object(root) || !json_is_array(outputs)) {
        mh_fail(err, errlen, MH_FORMAT, "response has no \"outputs\" array");
        goto cleanup;
    }

    /* Binary outputs are laid out back to back in the order of "outputs". */
    size_t offset = 0, found_off = 0;
    long long found_bin = -1;
    json_t *found = NULL;
    size_t i;
    json_t *o;
    json_array_foreach(outputs, i, o) {
        if (!json_is_object(o)) {
            mh_fail(err, errlen, MH_FORMAT, "outputs[%zu] is not an object", i);
            goto cleanup;
        }
        long long bs = binary_size_of(o);
        if (bs == -2) {
            mh_fail(err, errlen, MH_FORMAT, "outputs[%zu]: bad binary_data_size", i);
            goto cleanup;
        }
        const char *name = json_string_value(json_object_get(o, "name"));
        if (name && strcmp(name, output_name) == 0 && !found) {
            found = o;
            found_bin = bs;
            found_off = offset;
        }
        if (bs >= 0) {
            if ((unsigned long long)bs > binlen - offset) {
                mh_fail(err, errlen, MH_FORMAT,
                        "outputs[%zu]: binary_data_size %lld runs past the body (%zu binary "
                        "bytes, %zu used before)",
                        i, bs, binlen, offset);
                goto cleanup;
            }
            offset += (size_t)bs;
        }
    }
    if (offset != binlen) {
        mh_fail(err, errlen, MH_FORMAT, "%zu binary bytes after the JSON header, outputs declare %zu",
                binlen, offset);
        goto cleanup;
    }
    if (!found) {
        mh_fail(err, errlen, MH_FORMAT, "no output \"%s\" in the response", output_name);
        goto cleanup;
    }
    const char *dt = json_string_value(json_object_get(found, "datatype"));
    if (!dt || strcmp(dt, "FP32") != 0) {
        mh_fail(err, errlen, MH_FORMAT, "output \"%s\": datatype %s, expected FP32", output_name,
                dt ? dt : "missing");
        goto cleanup;
    }
    json_t *shape = json_object_get(found, "shape");
    size_t rank = json_array_size(shape);
    if (!json_is_array(shape) || rank < 1 || rank > 8) {
        mh_fail(err, errlen, MH_FORMAT, "output \"%s\": missing or bad shape", output_name);
        goto cleanup;
    }
    size_t pr = 1;
    for (size_t d = 0; d < rank; d++) {
        json_t *v = json_array_get(shape, d);
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            (unsigned long long)json_integer_value(v) > SIZE_MAX / 8) {
            mh_fail(err, errlen, MH_FORMAT, "output \"%s\": bad shape[%zu]", output_name, d);
            goto cleanup;
        }
        size_t dim = (size_t)json_integer_value(v);
        if (d == 0) {
            if (dim != n_rows) {
                mh_fail(err, errlen, MH_FORMAT, "output \"%s\": %zu rows, the request had %zu",
                        output_name, dim, n_rows);
                goto cleanup;
            }
            continue;
        }
        if (dim != 0 && pr > SIZE_MAX / 8 / dim) {
            mh_fail(err, errlen, MH_FORMAT, "output \"%s\": shape too large", output_name);
            goto cleanup;
        }
        pr *= dim;
    }
    if (n_rows != 0 && pr > out_cap / n_rows) {
        mh_fail(err, errlen, MH_FORMAT,
                "output \"%s\": %zu x %zu values do not fit the %zu the caller expects",
                output_name, n_rows, pr, out_cap);
        goto cleanup;
    }
    size_t count = n_rows * pr;
    if (found_bin >= 0) {
        if ((size_t)found_bin != count * sizeof(float)) {
            mh_fail(err, errlen, MH_FORMAT,
                    "output \"%s\": binary_data_size %lld, shape needs %zu bytes", output_name,
                    found_bin, count * sizeof(float));
            goto cleanup;
        }
        /* Little-endian on the wire and (checked at client start) in memory. */
        if (count)
            memcpy(out, bin + found_off, count * sizeof(float));
    } else {
        json_t *data = json_object_get(found, "data");
        if (!json_is_array(data) || json_array_size(data) != count) {
            mh_fail(err, errlen, MH_FORMAT,
                    "output \"%s\": neither binary_data_size nor %zu values in \"data\"",
                    output_name, count);
            goto cleanup;
        }
        for (size_t k = 0; k < count; k++) {
            json_t *v = json_array_get(data, k);
            if (!json_is_number(v)) {
                mh_fail(err, errlen, MH_FORMAT, "output \"%s\": data[%zu] is not a number",
                        output_name, k);
                goto cleanup;
            }
            out[k] = (float)json_number_value(v);
        }
    }
    if (per_row)
        *per_row = pr;
    st = MH_OK;
cleanup:
    json_decref(root);
    return st;
}

static void copy_printable(const char *src, size_t n, char *msg, size_t msglen)
{
    size_t k = 0;
    for (; k < n && k + 1 < msglen; k++) {
        unsigned char ch = (unsigned char)src[k];
        msg[k] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    msg[k] = '\0';
}

void mh__client_error_text(const char *body, size_t len, char *msg, size_t msglen)
{
    if (!msg || msglen == 0)
        return;
    msg[0] = '\0';
    json_t *root = json_loadb(body, len, 0, NULL);
    const char *text = json_string_value(json_object_get(root, "error"));
    if (text)
        copy_printable(text, strlen(text), msg, msglen);
    else if (len)
        copy_printable(body, len < 120 ? len : 120, msg, msglen);
    else
        copy_printable("empty body", 10, msg, msglen);
    json_decref(root);
}
