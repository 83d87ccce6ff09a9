/* fuzz_infer_response.c - libFuzzer target: the inference client's decoder
 * of KServe v2 infer responses (mh__client_decode_response: JSON header
 * through jansson, then the binary tensor section located by
 * Inference-Header-Content-Length and binary_data_size), and the error text
 * extraction (mh__client_error_text). The body comes from a server on the
 * network, which may be broken or hostile.
 *
 * Input layout:
 *   byte 0      n_rows the request had (0..255)
 *   bytes 1-2   Inference-Header-Content-Length, little-endian u16;
 *               0xFFFF = header absent (the whole body is JSON)
 *   bytes 3..   the response body */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/client_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MHF_OUT_CAP 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    size_t n_rows = data[0];
    unsigned jl16 = (unsigned)data[1] | (unsigned)data[2] << 8;
    long long json_len = jl16 == 0xFFFF ? -1 : (long long)jl16;
    size_t len = size - 3;
    /* An exact-size copy, so ASan sees any read past the body. */
    char *body = malloc(len ? len : 1);
    float *out = malloc(MHF_OUT_CAP * sizeof *out);
    if (!body || !out)
        goto done;
    memcpy(body, data + 3, len);
    char err[512] = "";
    size_t per_row = 0;
    mh_status st = mh__client_decode_response(body, len, json_len, "output__0", n_rows, out,
                                              MHF_OUT_CAP, &per_row, err, sizeof err);
    if (st == MH_OK) {
        if (n_rows && per_row > MHF_OUT_CAP / n_rows)
            abort(); /* more values than the caller has room for */
    } else if (st != MH_FORMAT || !err[0]) {
        abort(); /* every bad response is MH_FORMAT with a reason */
    }
    char msg[64];
    memset(msg, 'Z', sizeof msg);
    mh__client_error_text(body, len, msg, sizeof msg);
    size_t ml = strnlen(msg, sizeof msg);
    if (ml == sizeof msg)
        abort(); /* not NUL-terminated */
    for (size_t i = 0; i < ml; i++)
        if ((unsigned char)msg[i] < 0x20 || (unsigned char)msg[i] > 0x7e)
            abort(); /* non-printable bytes must be replaced */
done:
    free(body);
    free(out);
    return 0;
}
