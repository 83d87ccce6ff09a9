/* mh_hash.h - the one non-cryptographic hash of minihlt: FNV-1a, 64 bit.
 *
 * Used for cache keys and integrity checks of our own files (OpenCL program
 * cache), never for security. Incremental: feed pieces with a running state
 * that starts at MH_FNV1A64_INIT. */
#ifndef MH_HASH_H
#define MH_HASH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MH_FNV1A64_INIT UINT64_C(0xcbf29ce484222325)

/* Returns the FNV-1a 64 hash of len bytes at data, continuing from state
 * (MH_FNV1A64_INIT for a fresh hash). data may be NULL when len == 0. */
uint64_t mh_fnv1a64(uint64_t state, const void *data, size_t len);

/* Same for a NUL-terminated string, hashing its bytes and the terminating
 * NUL so that ("ab","c") and ("a","bc") give different results. A NULL
 * string hashes like "". */
uint64_t mh_fnv1a64_str(uint64_t state, const char *s);

#ifdef __cplusplus
}
#endif
#endif
