/* mh_utf8.h - strict UTF-8 validation of text that comes from outside.
 *
 * YAML parsers (libfyaml 0.7) can loop or misbehave on byte sequences that
 * are not UTF-8, so every YAML loader checks its input with mh_utf8_check()
 * first and reports the first bad byte. Strict means RFC 3629: no overlong
 * forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no
 * truncated sequence at the end. NUL bytes are valid UTF-8; callers that
 * want text without NUL check that themselves. */
#ifndef MH_UTF8_H
#define MH_UTF8_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Returns true if the len bytes at data are well-formed UTF-8. On false,
 * *bad_offset (if not NULL) receives the byte offset of the first byte of
 * the first ill-formed sequence. data may be NULL when len == 0. */
bool mh_utf8_check(const void *data, size_t len, size_t *bad_offset);

#ifdef __cplusplus
}
#endif
#endif
