/* evmeta_internal.h - the metadata block encoding (sim/io only and tests). */
#ifndef MH_EVMETA_INTERNAL_H
#define MH_EVMETA_INTERNAL_H

#include <stdint.h>
#include <stddef.h>

#include "io/mh_evfile.h"

/* 1 if key[0..len) is a valid key: 1-255 printable ASCII, no space or '='. */
int mh__evmeta_key_ok(const char *key, size_t len);
/* mh_evmeta_set with explicit lengths. */
mh_status mh__evmeta_setn(mh_evmeta *m, const char *key, size_t klen, const char *value,
                          size_t vlen);
/* Sets every entry of src in dst. */
mh_status mh__evmeta_copy(mh_evmeta *dst, const mh_evmeta *src);
/* Bytes of the metadata block for m, and the encoding itself. */
size_t mh__evmeta_encoded_size(const mh_evmeta *m);
void mh__evmeta_encode(const mh_evmeta *m, uint8_t *dst);
/* Parses a metadata block of n bytes into m (which should be empty);
 * entries of unknown type are skipped. Errors are MH_CORRUPT with
 * messages prefixed by what (e.g. "x.mhe: metadata at byte 123"). */
mh_status mh__evmeta_decode(const uint8_t *p, size_t n, mh_evmeta *m, const char *what,
                            char *err, size_t errlen);

#endif
