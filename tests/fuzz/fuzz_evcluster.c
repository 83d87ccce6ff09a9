/* fuzz_evcluster.c - libFuzzer target: one cluster through
 * mh_evcluster_decode() (frame checks, decompression, payload scan, record
 * decoding), the part of the reader that worker threads run.
 *
 * Input layout:
 *   byte 0      mode: bit 0 clear = the rest is a decompressed payload,
 *               which the target compresses into a valid frame (so the
 *               fuzzer works on event records directly); bit 0 set = the
 *               rest is the zstd frame itself (frame checks and zstd)
 *   byte 1      nevents - 1 (1..256 events)
 *   bytes 2..   payload or frame
 * The frame CRC32C and raw_size are taken from the data, as a writer would
 * put them in the index; mode bit 1 set corrupts raw_size by one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "io/evfile_internal.h"
#include "io/mh_evfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Largest payload the target accepts, to keep one run fast. */
#define MHF_MAX_RAW (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    uint8_t mode = data[0];
    uint32_t nev = (uint32_t)data[1] + 1;
    const uint8_t *body = data + 2;
    size_t blen = size - 2;
    void *frame = NULL;
    size_t fsize = 0;
    uint64_t raw = 0;
    if (!(mode & 1)) {
        if (blen > MHF_MAX_RAW)
            return 0;
        ZSTD_CCtx *cc = ZSTD_createCCtx();
        fsize = ZSTD_compressBound(blen);
        frame = malloc(fsize);
        if (!cc || !frame) {
            ZSTD_freeCCtx(cc);
            free(frame);
            return 0;
        }
        ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, 1);
        ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
        ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 1);
        fsize = ZSTD_compress2(cc, frame, fsize, body, blen);
        ZSTD_freeCCtx(cc);
        if (ZSTD_isError(fsize)) {
            free(frame);
            return 0;
        }
        raw = blen;
    } else {
        unsigned long long cs = ZSTD_getFrameContentSize(body, blen);
        raw = (cs == ZSTD_CONTENTSIZE_UNKNOWN || cs == ZSTD_CONTENTSIZE_ERROR) ? blen : cs;
        if (raw > MHF_MAX_RAW)
            return 0;
        frame = malloc(blen ? blen : 1);
        if (!frame)
            return 0;
        memcpy(frame, body, blen);
        fsize = blen;
    }
    if (mode & 2)
        raw = raw ? raw - 1 : 1;

    mh_evcluster c = {0};
    c.index = 7;
    c.offset = 32;
    c.nevents = nev;
    c.size = fsize;
    c.data = frame;
    c.file = "fuzz.mhe";
    c.raw_size = (uint32_t)raw;
    c.crc32c = mh__crc32c(0, frame, fsize);

    mh_rawevent *evs[256];
    uint32_t made = 0;
    while (made < nev && (evs[made] = mh_rawevent_create()))
        made++;
    if (made == nev) {
        char err[512];
        mh_status st = mh_evcluster_decode(&c, evs, err, sizeof err);
        if (st == MH_OK) {
            for (uint32_t i = 0; i < nev; i++) {
                const mh_rawevent *ev = evs[i];
                if (ev->ndigis > MH__EV_MAX_DIGIS || ev->ngenjets > MH__EV_MAX_GENJETS)
                    abort();
                /* Re-encoding a decoded event gives a record the reader accepts. */
                size_t bound = mh__ev_record_bound(ev);
                uint8_t *rec = bound ? malloc(bound) : NULL;
                if (!rec)
                    abort();
                size_t n = mh__ev_record_encode(ev, rec);
                uint32_t off;
                mh__evloc loc = {"re-encoded", 0, 0};
                if (mh__ev_payload_scan(rec, n, 1, &off, &loc, err, sizeof err) != MH_OK)
                    abort();
                mh_rawevent *back = mh_rawevent_create();
                if (!back || mh__ev_record_decode(rec, back) != MH_OK ||
                    !mh_rawevent_equal(back, ev))
                    abort();
                mh_rawevent_free(back);
                free(rec);
            }
        }
    }
    for (uint32_t i = 0; i < made; i++)
        mh_rawevent_free(evs[i]);
    free(frame);
    return 0;
}
