/* fuzz_infer_request.c - libFuzzer target: the inference server's request
 * parser (mh_infer_request_parse: the JSON header through jansson, tensor
 * declarations, "data" arrays converted per datatype, and the binary
 * section located by Inference-Header-Content-Length and the inputs'
 * binary_data_size), then the response encoder on what was parsed (the
 * inputs echoed as outputs) and the client's decoder on that response.
 * Requests come from any client on the network.
 *
 * Input layout:
 *   bytes 0-1   Inference-Header-Content-Length, little-endian u16;
 *               0 = header absent (the whole body is JSON)
 *   bytes 2..   the request body */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "net/client_internal.h"
#include "net/mh_infer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks what the parser promises about an accepted request. */
static void mhF_check(const mh_infer_request *req, const char *body, size_t len)
{
    if (req->ninputs < 1 || req->ninputs > MH_INFER_MAX_TENSORS ||
        req->noutputs > MH_INFER_MAX_TENSORS)
        abort();
    for (size_t i = 0; i < req->ninputs; i++) {
        const mh_infer_input *in = &req->inputs[i];
        if (in->ndim > MH_INFER_MAX_DIMS || !memchr(in->name, 0, sizeof in->name))
            abort();
        size_t esize = mh_dtype_size(in->dtype);
        if (in->dtype == MH_DT_INVALID)
            abort();
        if (esize) {
            /* nbytes == prod(shape) * element size, without overflow */
            size_t n = 1;
            for (size_t d = 0; d < in->ndim; d++) {
                if (in->shape[d] < 0)
                    abort();
                if (in->shape[d] && n > SIZE_MAX / (size_t)in->shape[d])
                    abort();
                n *= (size_t)in->shape[d];
            }
            if (n > SIZE_MAX / esize || n * esize != in->nbytes)
                abort();
        }
        if (in->binary) {
            /* binary data lies inside the body */
            const char *p = in->data;
            if (in->nbytes && (p < body || p > body + len || in->nbytes > (size_t)(body + len - p)))
                abort();
        }
        /* Touch every byte: ASan checks the pointer and the size. */
        volatile unsigned char sink = 0;
        for (size_t k = 0; k < in->nbytes; k++)
            sink ^= ((const unsigned char *)in->data)[k];
        (void)sink;
    }
}

/* Encodes the inputs back as a response, then decodes it as the client
 * would when the first input is FP32 with rows. */
static void mhF_echo(const mh_infer_request *req)
{
    mh_infer_output outs[MH_INFER_MAX_TENSORS];
    size_t n = 0;
    for (size_t i = 0; i < req->ninputs; i++) {
        const mh_infer_input *in = &req->inputs[i];
        if (in->dtype == MH_DT_BYTES)
            continue;
        outs[n].name = i == 0 ? "output__0" : in->name;
        outs[n].dtype = in->dtype;
        outs[n].ndim = in->ndim;
        outs[n].shape = in->shape;
        outs[n].data = in->data;
        outs[n].nbytes = in->nbytes;
        outs[n].binary = in->binary || req->binary_output;
        n++;
    }
    if (!n)
        return;
    char *body = NULL, err[512];
    size_t len = 0, hl = 0;
    if (mh_infer_response_encode("fuzz", "1", req->has_id ? req->id : NULL, outs, n, &body, &len,
                                 &hl, err, sizeof err) != MH_OK)
        return;
    if (hl > len)
        abort();
    json_error_t jerr;
    json_t *root = json_loadb(body, hl, 0, &jerr);
    if (!root)
        abort(); /* the server wrote a JSON header it cannot read back */
    json_decref(root);
    const mh_infer_input *in0 = &req->inputs[0];
    if (in0->dtype == MH_DT_FP32 && in0->ndim >= 1 && in0->shape[0] > 0 &&
        in0->nbytes <= (1u << 20)) {
        size_t cap = in0->nbytes / sizeof(float) + 1, per_row = 0;
        float *vals = malloc(cap * sizeof *vals);
        if (vals &&
            mh__client_decode_response(body, len, (long long)hl, "output__0",
                                       (size_t)in0->shape[0], vals, cap, &per_row, err,
                                       sizeof err) == MH_OK &&
            in0->nbytes && memcmp(vals, in0->data, in0->nbytes) != 0 && outs[0].binary)
            abort(); /* binary FP32 must round-trip bit for bit */
        free(vals);
    }
    free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t header_len = (size_t)data[0] | (size_t)data[1] << 8;
    size_t len = size - 2;
    /* An exact-size copy, so ASan sees any read past the body. */
    char *body = malloc(len ? len : 1);
    if (!body)
        return 0;
    memcpy(body, data + 2, len);
    char err[512] = "";
    mh_infer_request *req = NULL;
    mh_status st = mh_infer_request_parse(body, len, header_len, &req, err, sizeof err);
    if (st == MH_OK) {
        if (!req)
            abort();
        mhF_check(req, body, len);
        mhF_echo(req);
    } else if (req || !err[0] || (st != MH_INVALID && st != MH_NOMEM)) {
        abort(); /* a failure leaves no request and names the culprit */
    }
    mh_infer_request_free(req);
    free(body);
    return 0;
}
