/* binfmt.c - structural checks of prebuilt program binaries (ELF, xclbin)
 * so that a truncated or damaged file is reported by name instead of being
 * handed to a driver that may crash on it. */
#include "ocl/mh_ocl_internal.h"

#include <elf.h>
#include <string.h>

static uint64_t mh__le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* [off, off+size) inside a file of len bytes, without overflow. */
static int mh__inside(uint64_t off, uint64_t size, size_t len)
{
    return off <= len && size <= len - off;
}

static mh_status mh__check_elf(const unsigned char *b, size_t len, char *why, size_t wl)
{
    if (len < EI_NIDENT)
        return mh_fail(why, wl, MH_CORRUPT, "truncated ELF header");
    int is64 = b[EI_CLASS] == ELFCLASS64;
    if (!is64 && b[EI_CLASS] != ELFCLASS32)
        return mh_fail(why, wl, MH_CORRUPT, "ELF: bad class %u", b[EI_CLASS]);
    if (b[EI_DATA] != ELFDATA2LSB)
        return MH_OK; /* big-endian ELF: leave it to the driver */
    size_t ehsize = is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
    if (len < ehsize)
        return mh_fail(why, wl, MH_CORRUPT, "truncated ELF header (%zu bytes)", len);
    uint64_t phoff = is64 ? mh__le(b + 0x20, 8) : mh__le(b + 0x1c, 4);
    uint64_t shoff = is64 ? mh__le(b + 0x28, 8) : mh__le(b + 0x20, 4);
    uint64_t phentsize = mh__le(b + (is64 ? 0x36 : 0x2a), 2);
    uint64_t phnum = mh__le(b + (is64 ? 0x38 : 0x2c), 2);
    uint64_t shentsize = mh__le(b + (is64 ? 0x3a : 0x2e), 2);
    uint64_t shnum = mh__le(b + (is64 ? 0x3c : 0x30), 2);
    size_t shmin = is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
    size_t phmin = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
    if (phnum) {
        if (phentsize < phmin || !mh__inside(phoff, phnum * phentsize, len))
            return mh_fail(why, wl, MH_CORRUPT,
                           "ELF program header table past the end of the file (%zu bytes)", len);
        for (uint64_t i = 0; i < phnum; i++) {
            const unsigned char *ph = b + phoff + i * phentsize;
            uint64_t off = is64 ? mh__le(ph + 0x08, 8) : mh__le(ph + 0x04, 4);
            uint64_t sz = is64 ? mh__le(ph + 0x20, 8) : mh__le(ph + 0x10, 4);
            if (!mh__inside(off, sz, len))
                return mh_fail(why, wl, MH_CORRUPT,
                               "ELF segment %llu past the end of the file (%zu bytes): truncated?",
                               (unsigned long long)i, len);
        }
    }
    if (shnum) {
        if (shentsize < shmin || !mh__inside(shoff, shnum * shentsize, len))
            return mh_fail(why, wl, MH_CORRUPT,
                           "ELF section header table past the end of the file (%zu bytes): "
                           "truncated?",
                           len);
        for (uint64_t i = 0; i < shnum; i++) {
            const unsigned char *sh = b + shoff + i * shentsize;
            uint64_t type = mh__le(sh + 4, 4);
            uint64_t off = is64 ? mh__le(sh + 0x18, 8) : mh__le(sh + 0x10, 4);
            uint64_t sz = is64 ? mh__le(sh + 0x20, 8) : mh__le(sh + 0x14, 4);
            if (type != SHT_NOBITS && !mh__inside(off, sz, len))
                return mh_fail(why, wl, MH_CORRUPT,
                               "ELF section %llu past the end of the file (%zu bytes): truncated?",
                               (unsigned long long)i, len);
        }
    }
    return MH_OK;
}

/* Xilinx xclbin: struct axlf { char m_magic[8] "xclbin2"; int32 sig_len;
 * uchar reserved[28]; uchar keyBlock[256]; uint64 uniqueId; struct
 * axlf_header { uint64 m_length (total file size); ... } }. */
#define MH__XCLBIN_LENGTH_OFF 304

static mh_status mh__check_xclbin(const unsigned char *b, size_t len, char *why, size_t wl)
{
    if (len < MH__XCLBIN_LENGTH_OFF + 8)
        return mh_fail(why, wl, MH_CORRUPT, "truncated xclbin header (%zu bytes)", len);
    uint64_t total = mh__le(b + MH__XCLBIN_LENGTH_OFF, 8);
    if (total != len)
        return mh_fail(why, wl, MH_CORRUPT,
                       "xclbin header says %llu bytes, the file has %zu: truncated or damaged",
                       (unsigned long long)total, len);
    return MH_OK;
}

mh_status mh__ocl_binary_check(const unsigned char *bin, size_t len, char *why, size_t whylen)
{
    if (len >= 4 && !memcmp(bin, ELFMAG, SELFMAG))
        return mh__check_elf(bin, len, why, whylen);
    if (len >= 8 && !memcmp(bin, "xclbin2", 8))
        return mh__check_xclbin(bin, len, why, whylen);
    return MH_OK;
}
