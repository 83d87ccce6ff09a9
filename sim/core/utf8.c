/* utf8.c - strict UTF-8 validation (RFC 3629, Unicode table 3-7 of
 * well-formed byte sequences). */
#include "core/mh_utf8.h"

#include <stdint.h>

bool mh_utf8_check(const void *data, size_t len, size_t *bad_offset)
{
    const uint8_t *p = data;
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        /* Lead byte: number of continuation bytes and the allowed range of
         * the first one (this excludes overlongs, surrogates and > U+10FFFF). */
        size_t n;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            if (c == 0xE0)
                lo = 0xA0;
            else if (c == 0xED)
                hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            if (c == 0xF0)
                lo = 0x90;
            else if (c == 0xF4)
                hi = 0x8F;
        } else {
            goto bad;
        }
        if (len - i <= n)
            goto bad;
        if (p[i + 1] < lo || p[i + 1] > hi)
            goto bad;
        for (size_t k = 2; k <= n; k++)
            if ((p[i + k] & 0xC0) != 0x80)
                goto bad;
        i += n + 1;
    }
    return true;
bad:
    if (bad_offset)
        *bad_offset = i;
    return false;
}
