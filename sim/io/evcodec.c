/* evcodec.c - event records and cluster frames of the .mhe format
 * (sim/io/FORMAT.md, "Clusters" and "Event record").
 *
 * Decoding is memcpy of the arrays plus a table fill of capid/soi from one
 * code byte per digi, so that reading stays far cheaper than reconstruction.
 * Every function here is pure (no globals but constant tables): any thread
 * may call it.
 */
#include "io/evfile_internal.h"

#include <stdlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#define S MH_NSAMPLES

/* capid pattern for capid of sample 0 = c, and soi pattern for SOI index s
 * (s == 10: no sample flagged). */
static const uint8_t mh__cap_pat[4][S] = {
    {0, 1, 2, 3, 0, 1, 2, 3, 0, 1},
    {1, 2, 3, 0, 1, 2, 3, 0, 1, 2},
    {2, 3, 0, 1, 2, 3, 0, 1, 2, 3},
    {3, 0, 1, 2, 3, 0, 1, 2, 3, 0},
};
static const uint8_t mh__soi_pat[11][S] = {
    {1, 0, 0, 0, 0, 0, 0, 0, 0, 0}, {0, 1, 0, 0, 0, 0, 0, 0, 0, 0},
    {0, 0, 1, 0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 1, 0, 0, 0, 0, 0, 0},
    {0, 0, 0, 0, 1, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 1, 0, 0, 0, 0},
    {0, 0, 0, 0, 0, 0, 1, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 1, 0, 0},
    {0, 0, 0, 0, 0, 0, 0, 0, 1, 0}, {0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
    {0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
};

/* The cs code of a digi, or -1 if its capid/soi need an exception. */
static int mh__digi_cs(const uint8_t *capid, const uint8_t *soi)
{
    uint8_t c0 = capid[0];
    if (c0 > 3 || memcmp(capid, mh__cap_pat[c0], S))
        return -1;
    const uint8_t *one = memchr(soi, 1, S);
    unsigned s = one ? (unsigned)(one - soi) : MH__EV_CS_NOSOI;
    if (memcmp(soi, mh__soi_pat[s], S))
        return -1;
    return (int)(c0 | (s << 2));
}

size_t mh__ev_record_bound(const mh_rawevent *ev)
{
    if (ev->ndigis > MH__EV_MAX_DIGIS || ev->ngenjets > MH__EV_MAX_GENJETS)
        return 0;
    return MH__EV_RECORD_FIXED + (size_t)ev->ndigis * (MH__EV_DIGI_BYTES + MH__EV_EXC_BYTES) +
           (size_t)ev->ngenjets * MH__EV_GENJET_BYTES;
}

static uint32_t mh__f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float mh__u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

size_t mh__ev_record_encode(const mh_rawevent *ev, uint8_t *dst)
{
    size_t n = ev->ndigis, nj = ev->ngenjets;
    uint8_t *p = dst + MH__EV_RECORD_FIXED;
    mh__st32(dst + 4, ev->run);
    mh__st32(dst + 8, ev->lumi);
    mh__st64(dst + 12, ev->event);
    mh__st16(dst + 20, ev->bx);
    mh__st16(dst + 22, ev->pileup_intime);
    mh__st32(dst + 24, mh__f2u(ev->pileup_true));
    mh__st32(dst + 28, mh__f2u(ev->gen_met));
    mh__st32(dst + 32, mh__f2u(ev->gen_met_phi));
    mh__st32(dst + 36, (uint32_t)n);
    mh__st32(dst + 40, (uint32_t)nj);
    if (n) {
        memcpy(p, ev->channel, n * 4);
        p += n * 4;
        memcpy(p, ev->adc, n * S);
        p += n * S;
    }
    uint8_t *cs = p;
    p += n;
    if (n) {
        memcpy(p, ev->true_e_hard, n * 4);
        p += n * 4;
        memcpy(p, ev->true_e_intime, n * 4);
        p += n * 4;
        memcpy(p, ev->true_e_oot, n * 4);
        p += n * 4;
    }
    if (nj) {
        for (size_t j = 0; j < nj; j++) {
            mh__st32(p, mh__f2u(ev->genjets[j].pt));
            mh__st32(p + 4, mh__f2u(ev->genjets[j].eta));
            mh__st32(p + 8, mh__f2u(ev->genjets[j].phi));
            mh__st32(p + 12, mh__f2u(ev->genjets[j].e));
            p += 16;
        }
    }
    uint32_t nexc = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *capid = ev->capid + i * S, *soi = ev->soi + i * S;
        int code = mh__digi_cs(capid, soi);
        if (code >= 0) {
            cs[i] = (uint8_t)code;
            continue;
        }
        cs[i] = 0;
        mh__st32(p, (uint32_t)i);
        memcpy(p + 4, capid, S);
        memcpy(p + 4 + S, soi, S);
        p += MH__EV_EXC_BYTES;
        nexc++;
    }
    mh__st32(dst + 44, nexc);
    size_t size = (size_t)(p - dst);
    mh__st32(dst, (uint32_t)size);
    return size;
}

#define MH__LOCFMT "%s: cluster %u at byte %llu: "
#define MH__LOCARGS(loc) (loc)->file, (loc)->cluster, (unsigned long long)(loc)->offset

mh_status mh__ev_payload_scan(const uint8_t *p, size_t n, uint32_t nevents, uint32_t *rec_off,
                              const mh__evloc *loc, char *err, size_t errlen)
{
    size_t pos = 0;
    for (uint32_t e = 0; e < nevents; e++) {
        const uint8_t *r = p + pos;
        size_t left = n - pos;
        if (left < MH__EV_RECORD_FIXED)
            return mh_fail(err, errlen, MH_CORRUPT,
                           MH__LOCFMT "event %u (payload byte %zu): record header past end of "
                                      "payload (%zu bytes left)",
                           MH__LOCARGS(loc), e, pos, left);
        uint32_t rsize = mh__ld32(r), nd = mh__ld32(r + 36), nj = mh__ld32(r + 40),
                 nx = mh__ld32(r + 44);
        if (nd > MH__EV_MAX_DIGIS)
            return mh_fail(err, errlen, MH_CORRUPT,
                           MH__LOCFMT "event %u (payload byte %zu): ndigis %u > %u",
                           MH__LOCARGS(loc), e, pos, nd, MH__EV_MAX_DIGIS);
        if (nj > MH__EV_MAX_GENJETS)
            return mh_fail(err, errlen, MH_CORRUPT,
                           MH__LOCFMT "event %u (payload byte %zu): ngenjets %u > %u",
                           MH__LOCARGS(loc), e, pos, nj, MH__EV_MAX_GENJETS);
        if (nx > nd)
            return mh_fail(err, errlen, MH_CORRUPT,
                           MH__LOCFMT "event %u (payload byte %zu): %u exceptions > %u digis",
                           MH__LOCARGS(loc), e, pos, nx, nd);
        size_t expected = MH__EV_RECORD_FIXED + (size_t)nd * MH__EV_DIGI_BYTES +
                          (size_t)nj * MH__EV_GENJET_BYTES + (size_t)nx * MH__EV_EXC_BYTES;
        if (rsize < expected || rsize > left)
            return mh_fail(err, errlen, MH_CORRUPT,
                           MH__LOCFMT "event %u (payload byte %zu): record size %u, need %zu, "
                                      "%zu bytes left",
                           MH__LOCARGS(loc), e, pos, rsize, expected, left);
        const uint8_t *cs = r + MH__EV_RECORD_FIXED + (size_t)nd * (4 + S);
        for (uint32_t i = 0; i < nd; i++)
            if ((cs[i] & 0xC0u) || (cs[i] >> 2) > MH__EV_CS_NOSOI)
                return mh_fail(err, errlen, MH_CORRUPT,
                               MH__LOCFMT "event %u (payload byte %zu): digi %u: bad capid/soi "
                                          "code 0x%02x",
                               MH__LOCARGS(loc), e, pos, i, cs[i]);
        const uint8_t *x = r + expected - (size_t)nx * MH__EV_EXC_BYTES;
        int64_t prev = -1;
        for (uint32_t k = 0; k < nx; k++, x += MH__EV_EXC_BYTES) {
            uint32_t di = mh__ld32(x);
            if ((int64_t)di <= prev || di >= nd)
                return mh_fail(err, errlen, MH_CORRUPT,
                               MH__LOCFMT "event %u (payload byte %zu): exception %u: digi "
                                          "index %u out of order or >= %u",
                               MH__LOCARGS(loc), e, pos, k, di, nd);
            prev = di;
        }
        rec_off[e] = (uint32_t)pos;
        pos += rsize;
    }
    if (pos != n)
        return mh_fail(err, errlen, MH_CORRUPT,
                       MH__LOCFMT "%zu stray payload bytes after %u events", MH__LOCARGS(loc),
                       n - pos, nevents);
    return MH_OK;
}

mh_status mh__ev_record_decode(const uint8_t *r, mh_rawevent *ev)
{
    uint32_t nd = mh__ld32(r + 36), nj = mh__ld32(r + 40), nx = mh__ld32(r + 44);
    mh_status st = mh_rawevent_reserve(ev, nd, nj);
    if (st != MH_OK)
        return st;
    ev->run = mh__ld32(r + 4);
    ev->lumi = mh__ld32(r + 8);
    ev->event = mh__ld64(r + 12);
    ev->bx = mh__ld16(r + 20);
    ev->pileup_intime = mh__ld16(r + 22);
    ev->pileup_true = mh__u2f(mh__ld32(r + 24));
    ev->gen_met = mh__u2f(mh__ld32(r + 28));
    ev->gen_met_phi = mh__u2f(mh__ld32(r + 32));
    ev->ndigis = nd;
    ev->ngenjets = nj;
    size_t n = nd;
    const uint8_t *p = r + MH__EV_RECORD_FIXED;
    if (n) {
        memcpy(ev->channel, p, n * 4);
        p += n * 4;
        memcpy(ev->adc, p, n * S);
        p += n * S;
        const uint8_t *cs = p;
        p += n;
        for (size_t i = 0; i < n; i++) {
            memcpy(ev->capid + i * S, mh__cap_pat[cs[i] & 3u], S);
            memcpy(ev->soi + i * S, mh__soi_pat[cs[i] >> 2], S);
        }
        memcpy(ev->true_e_hard, p, n * 4);
        p += n * 4;
        memcpy(ev->true_e_intime, p, n * 4);
        p += n * 4;
        memcpy(ev->true_e_oot, p, n * 4);
        p += n * 4;
    }
    for (size_t j = 0; j < nj; j++, p += 16) {
        ev->genjets[j].pt = mh__u2f(mh__ld32(p));
        ev->genjets[j].eta = mh__u2f(mh__ld32(p + 4));
        ev->genjets[j].phi = mh__u2f(mh__ld32(p + 8));
        ev->genjets[j].e = mh__u2f(mh__ld32(p + 12));
    }
    for (uint32_t k = 0; k < nx; k++, p += MH__EV_EXC_BYTES) {
        size_t i = mh__ld32(p);
        memcpy(ev->capid + i * S, p + 4, S);
        memcpy(ev->soi + i * S, p + 4 + S, S);
    }
    return MH_OK;
}

mh_status mh__ev_frame_decompress(struct ZSTD_DCtx_s *dctx, const void *frame, size_t size,
                                  uint32_t crc, void *dst, size_t raw_size,
                                  const mh__evloc *loc, char *err, size_t errlen)
{
    uint32_t got = mh__crc32c(0, frame, size);
    if (got != crc)
        return mh_fail(err, errlen, MH_CHECKSUM,
                       MH__LOCFMT "checksum mismatch (frame CRC32C %08x, index says %08x)",
                       MH__LOCARGS(loc), got, crc);
    size_t fsize = ZSTD_findFrameCompressedSize(frame, size);
    if (ZSTD_isError(fsize) || fsize != size)
        return mh_fail(err, errlen, MH_CORRUPT,
                       MH__LOCFMT "not one zstd frame of %zu bytes (%s)", MH__LOCARGS(loc), size,
                       ZSTD_isError(fsize) ? ZSTD_getErrorName(fsize) : "size differs");
    unsigned long long csize = ZSTD_getFrameContentSize(frame, size);
    if (csize != raw_size)
        return mh_fail(err, errlen, MH_CORRUPT,
                       MH__LOCFMT "frame content size %lld differs from index raw size %zu",
                       MH__LOCARGS(loc),
                       csize == ZSTD_CONTENTSIZE_UNKNOWN || csize == ZSTD_CONTENTSIZE_ERROR
                           ? -1LL
                           : (long long)csize,
                       raw_size);
    ZSTD_DCtx *own = NULL;
    if (!dctx) {
        own = ZSTD_createDCtx();
        if (!own)
            return mh_fail(err, errlen, MH_NOMEM, MH__LOCFMT "out of memory", MH__LOCARGS(loc));
        dctx = own;
    }
    size_t r = ZSTD_decompressDCtx(dctx, dst, raw_size, frame, size);
    ZSTD_freeDCtx(own);
    if (ZSTD_isError(r)) {
        mh_status st = ZSTD_getErrorCode(r) == ZSTD_error_checksum_wrong ? MH_CHECKSUM
                                                                         : MH_CORRUPT;
        if (st == MH_CHECKSUM)
            return mh_fail(err, errlen, st,
                           MH__LOCFMT "checksum mismatch (zstd content checksum)",
                           MH__LOCARGS(loc));
        return mh_fail(err, errlen, st, MH__LOCFMT "zstd: %s", MH__LOCARGS(loc),
                       ZSTD_getErrorName(r));
    }
    if (r != raw_size)
        return mh_fail(err, errlen, MH_CORRUPT,
                       MH__LOCFMT "frame decompressed to %zu bytes, index says %zu",
                       MH__LOCARGS(loc), r, raw_size);
    return MH_OK;
}
