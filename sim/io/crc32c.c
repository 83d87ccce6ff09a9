/* crc32c.c - CRC32C (Castagnoli) for the .mhe format's block checksums.
 *
 * Uses the SSE4.2 crc32 instruction when the CPU has it (several GB/s) and
 * a portable slicing-by-8 table otherwise; both give the same values
 * (CRC32C("123456789") == 0xE3069283).
 */
#include "io/evfile_internal.h"

#include <pthread.h>

#define MH__CRC32C_POLY 0x82F63B78u /* 0x1EDC6F41 reflected */

static uint32_t mh__crc_table[8][256];
static pthread_once_t mh__crc_once = PTHREAD_ONCE_INIT;

static void mh__crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (MH__CRC32C_POLY & (0u - (c & 1u)));
        mh__crc_table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            mh__crc_table[t][i] = (mh__crc_table[t - 1][i] >> 8) ^
                                  mh__crc_table[0][mh__crc_table[t - 1][i] & 0xFFu];
}

static uint32_t mh__crc32c_sw(uint32_t crc, const uint8_t *p, size_t n)
{
    pthread_once(&mh__crc_once, mh__crc_init);
    while (n && ((uintptr_t)p & 7u)) {
        crc = (crc >> 8) ^ mh__crc_table[0][(crc ^ *p++) & 0xFFu];
        n--;
    }
    while (n >= 8) {
        uint64_t w = mh__ld64(p) ^ crc;
        crc = mh__crc_table[7][w & 0xFF] ^ mh__crc_table[6][(w >> 8) & 0xFF] ^
              mh__crc_table[5][(w >> 16) & 0xFF] ^ mh__crc_table[4][(w >> 24) & 0xFF] ^
              mh__crc_table[3][(w >> 32) & 0xFF] ^ mh__crc_table[2][(w >> 40) & 0xFF] ^
              mh__crc_table[1][(w >> 48) & 0xFF] ^ mh__crc_table[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ mh__crc_table[0][(crc ^ *p++) & 0xFFu];
    return crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <nmmintrin.h>

__attribute__((target("sse4.2"))) static uint32_t mh__crc32c_hw(uint32_t crc, const uint8_t *p,
                                                                 size_t n)
{
    uint64_t c = crc;
    while (n >= 8) {
        c = _mm_crc32_u64(c, mh__ld64(p));
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--)
        c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}

static int mh__have_sse42(void)
{
    static int have = -1; /* benign race: every thread computes the same */
    int h = __atomic_load_n(&have, __ATOMIC_RELAXED);
    if (h < 0) {
        __builtin_cpu_init();
        h = __builtin_cpu_supports("sse4.2") ? 1 : 0;
        __atomic_store_n(&have, h, __ATOMIC_RELAXED);
    }
    return h;
}
#endif

uint32_t mh__crc32c(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    crc = ~crc;
#if defined(__x86_64__) && defined(__GNUC__)
    if (mh__have_sse42())
        return ~mh__crc32c_hw(crc, p, n);
#endif
    return ~mh__crc32c_sw(crc, p, n);
}

uint32_t mh__crc32c_portable(uint32_t crc, const void *data, size_t n)
{
    return ~mh__crc32c_sw(~crc, data, n);
}
