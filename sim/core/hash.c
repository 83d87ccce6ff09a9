/* hash.c - FNV-1a 64 (http://www.isthe.com/chongo/tech/comp/fnv/). */
#include "core/mh_hash.h"

#include <string.h>

uint64_t mh_fnv1a64(uint64_t state, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        state ^= p[i];
        state *= UINT64_C(0x100000001b3);
    }
    return state;
}

uint64_t mh_fnv1a64_str(uint64_t state, const char *s)
{
    if (!s)
        s = "";
    return mh_fnv1a64(state, s, strlen(s) + 1);
}
