/* mh_infer.h - the KServe v2 / Open Inference Protocol inference messages
 * with Triton's binary tensor data extension, as pure functions over buffers.
 *
 * An inference request body is a JSON object, optionally followed by the raw
 * bytes of the inputs that declare "parameters": {"binary_data_size": N},
 * in the order of the "inputs" array. When binary data follows, the HTTP
 * header Inference-Header-Content-Length gives the JSON part's length
 * (Triton docs/protocol/extension_binary_data.md). Responses are built the
 * same way: outputs asked for with "binary_data": true (or all of them with
 * the request parameter "binary_data_output": true) carry
 * "binary_data_size" and their bytes follow the JSON.
 *
 * Nothing here does I/O or knows about models: the server (server.c) checks
 * a parsed request against a model, and a fuzz target can call
 * mh_infer_request_parse() on any bytes.
 */
#ifndef MH_INFER_H
#define MH_INFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mh_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Tensor datatypes of the protocol ("FP32", ...). */
typedef enum mh_dtype {
    MH_DT_INVALID = 0,
    MH_DT_BOOL,
    MH_DT_UINT8,
    MH_DT_UINT16,
    MH_DT_UINT32,
    MH_DT_UINT64,
    MH_DT_INT8,
    MH_DT_INT16,
    MH_DT_INT32,
    MH_DT_INT64,
    MH_DT_FP16,
    MH_DT_FP32,
    MH_DT_FP64,
    MH_DT_BYTES,
} mh_dtype;

/* "FP32" -> MH_DT_FP32; MH_DT_INVALID for an unknown name. */
mh_dtype mh_dtype_from_name(const char *name);
/* MH_DT_FP32 -> "FP32" (static string; "INVALID" for unknown values). */
const char *mh_dtype_name(mh_dtype dt);
/* Triton model-config spelling: MH_DT_FP32 -> "TYPE_FP32". */
const char *mh_dtype_config_name(mh_dtype dt);
/* Bytes per element; 0 for BYTES (variable) and INVALID. */
size_t mh_dtype_size(mh_dtype dt);

#define MH_INFER_MAX_DIMS 8
#define MH_INFER_MAX_NAME 128
#define MH_INFER_MAX_TENSORS 64

/* One input tensor of a parsed request. data points either into the body
 * given to mh_infer_request_parse (binary inputs) or into memory owned by the
 * request (JSON "data", converted to the little-endian binary layout of the
 * datatype). */
typedef struct mh_infer_input {
    char name[MH_INFER_MAX_NAME];
    mh_dtype dtype;
    size_t ndim;
    int64_t shape[MH_INFER_MAX_DIMS];
    const void *data;
    size_t nbytes;
    bool binary; /* data came as binary_data_size bytes after the JSON */
} mh_infer_input;

/* One requested output ("outputs" entry). */
typedef struct mh_infer_output_req {
    char name[MH_INFER_MAX_NAME];
    bool binary; /* "binary_data": true, or binary_data_output by default */
} mh_infer_output_req;

typedef struct mh_infer_request {
    char id[MH_INFER_MAX_NAME]; /* "" when absent */
    bool has_id;
    bool binary_output; /* request parameter binary_data_output */
    size_t ninputs;
    mh_infer_input inputs[MH_INFER_MAX_TENSORS];
    size_t noutputs; /* 0: the request did not list outputs (all are returned) */
    mh_infer_output_req outputs[MH_INFER_MAX_TENSORS];
    void *owned[MH_INFER_MAX_TENSORS]; /* converted JSON data, freed with the request */
} mh_infer_request;

/* Parses an inference request body of len bytes. header_len is the value of
 * the Inference-Header-Content-Length header, or 0 when the header is absent
 * (then the whole body is the JSON object and no input may be binary).
 * Checks: valid JSON object, "inputs" a non-empty array of objects with
 * string "name", known "datatype", integer "shape" (each >= 0, at most
 * MH_INFER_MAX_DIMS), and either "data" (a flat or nested array of numbers
 * or booleans with exactly prod(shape) elements that fit the datatype) or
 * "parameters": {"binary_data_size": N} with N == prod(shape) * element size;
 * the binary sizes add up exactly to len - header_len; "outputs" entries
 * have a "name". On success *out is a new request owned by the caller
 * (mh_infer_request_free) whose binary input data point into body, which
 * must outlive it. On failure *out is NULL and err names the culprit
 * (MH_INVALID, or MH_NOMEM). Never reads outside body[0..len). */
mh_status mh_infer_request_parse(const char *body, size_t len, size_t header_len,
                                 mh_infer_request **out, char *err, size_t errlen);

/* Frees a request; NULL is a no-op. */
void mh_infer_request_free(mh_infer_request *req);

/* One output tensor of a response. */
typedef struct mh_infer_output {
    const char *name;
    mh_dtype dtype;
    size_t ndim;
    const int64_t *shape;
    const void *data; /* little-endian elements; nbytes = prod(shape) * size */
    size_t nbytes;
    bool binary;
} mh_infer_output;

/* Encodes a response: {"model_name", "model_version", ["id"], "outputs":
 * [{"name", "datatype", "shape", "data" | "parameters":
 * {"binary_data_size"}}]} followed by the bytes of the binary outputs in
 * order. id may be NULL. On success *body is a new malloc'd buffer owned by
 * the caller (free), *len its size and *header_len the JSON part's length
 * (== *len when no output is binary; otherwise the value for the
 * Inference-Header-Content-Length header). */
mh_status mh_infer_response_encode(const char *model, const char *version, const char *id,
                                   const mh_infer_output *outs, size_t nouts, char **body,
                                   size_t *len, size_t *header_len, char *err, size_t errlen);

/* {"error": "MSG"} as a new malloc'd string (caller frees); NULL on out of
 * memory. */
char *mh_infer_error_json(const char *msg);

#ifdef __cplusplus
}
#endif
#endif
