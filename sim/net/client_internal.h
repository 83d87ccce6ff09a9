/* client_internal.h - the wire-format half of the inference client, apart
 * from the transport so that unit tests and fuzz targets can call it on
 * bytes directly. Not a public header. */
#ifndef MH_CLIENT_INTERNAL_H
#define MH_CLIENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mh_status.h"

/* Builds the JSON header of a binary-input infer request (compact, no
 * trailing NUL counted in *len). Returns a malloc'ed string owned by the
 * caller, or NULL when out of memory. */
char *mh__client_encode_header(uint64_t id, const char *input_name, size_t n_rows,
                               size_t n_cols, const char *output_name, bool json_output,
                               size_t *len);

/* Decodes an infer response body of len bytes. json_len is the value of
 * the response's Inference-Header-Content-Length header, or -1 when it was
 * absent (then the whole body is JSON). Finds the output named
 * output_name, checks datatype FP32 and shape [n_rows, ...], and writes its
 * values (binary or JSON "data") into out (room for out_cap floats);
 * *per_row gets the values per row. Every size and offset is checked
 * against len; errors (MH_FORMAT) say what is wrong. Never reads past
 * body + len. */
mh_status mh__client_decode_response(const char *body, size_t len, long long json_len,
                                     const char *output_name, size_t n_rows, float *out,
                                     size_t out_cap, size_t *per_row, char *err,
                                     size_t errlen);

/* Extracts the text of an {"error": "..."} body into msg (NUL-terminated,
 * at most msglen - 1 bytes, non-printable bytes replaced by '?'); when the
 * body is not such a JSON object, its first bytes are used instead. */
void mh__client_error_text(const char *body, size_t len, char *msg, size_t msglen);

#endif
