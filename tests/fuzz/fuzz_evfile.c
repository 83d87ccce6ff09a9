/* fuzz_evfile.c - libFuzzer target: a whole .mhe file through the reader.
 *
 * The input is the file. Without help almost every mutation would stop at
 * a CRC32C (header, footer, metadata, index, frames), so before reading,
 * the target recomputes every checksum it can locate (mhF_fix_crcs): the
 * fuzzer then reaches the length, count and layout checks behind them. The
 * zstd content checksum inside frames is left alone (the cluster target
 * fuzz_evcluster covers payloads).
 *
 * The file lives in a memfd and is opened by its /proc/self/fd path, so the
 * target exercises the real mh_evreader_open() (pread, fstat) with no disk
 * I/O. Both reading paths run: streaming (mh_evreader_next, with and
 * without SKIP_BAD, plus a seek) and the cluster API. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "io/evfile_internal.h"
#include "io/mh_evfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Recomputes the CRCs of the header, frames, index, metadata and footer
 * of the file f[0..n) wherever their locations are in bounds. */
static void mhF_fix_crcs(uint8_t *f, size_t n)
{
    if (n < 32 + MH__EV_FOOTER_SIZE)
        return;
    uint32_t hsize = mh__ld32(f + 24);
    if (hsize >= 32 && hsize <= MH__EV_HEADER_MAX && hsize % 4 == 0 && hsize <= n)
        mh__st32(f + hsize - 4, mh__crc32c(0, f, hsize - 4));
    uint8_t *ft = f + n - MH__EV_FOOTER_SIZE;
    uint64_t moff = mh__ld64(ft), ioff = mh__ld64(ft + 8);
    uint32_t msize = mh__ld32(ft + 24), isize = mh__ld32(ft + 32), ncl = mh__ld32(ft + 40);
    uint16_t esize = mh__ld16(ft + 44);
    if (moff <= n && msize <= n - moff)
        mh__st32(ft + 28, mh__crc32c(0, f + moff, msize));
    if (ioff <= n && isize <= n - ioff) {
        if (esize >= MH__EV_INDEX_ENTRY && (uint64_t)ncl * esize <= isize) {
            for (uint32_t c = 0; c < ncl; c++) {
                uint8_t *e = f + ioff + (size_t)c * esize;
                uint64_t off = mh__ld64(e);
                uint32_t cs = mh__ld32(e + 16);
                if (off <= n && cs <= n - off)
                    mh__st32(e + 28, mh__crc32c(0, f + off, cs));
            }
        }
        mh__st32(ft + 36, mh__crc32c(0, f + ioff, isize));
    }
    mh__st32(ft + 48, mh__crc32c(0, ft, 48));
}

/* Streams every event; returns the status that ended the loop. */
static mh_status mhF_stream(const char *path, unsigned flags, mh_rawevent *ev)
{
    char err[512];
    mh_evreader *r = NULL;
    mh_status st = mh_evreader_open(path, flags, &r, err, sizeof err);
    if (st != MH_OK)
        return st;
    const mh_evfile_info *info = mh_evreader_info(r);
    uint64_t n = 0;
    while ((st = mh_evreader_next(r, ev, err, sizeof err)) == MH_OK) {
        /* What the reader promises about every event it returns. */
        if (ev->ndigis > MH__EV_MAX_DIGIS || ev->ngenjets > MH__EV_MAX_GENJETS)
            abort();
        n++;
    }
    uint32_t sc = 0;
    uint64_t se = 0;
    mh_evreader_skipped(r, &sc, &se);
    if (st == MH_END && n + se != info->nevents)
        abort(); /* events lost silently */
    if (info->nevents > 0 && mh_evreader_seek(r, info->nevents - 1, err, sizeof err) == MH_OK)
        (void)mh_evreader_next(r, ev, err, sizeof err);
    mh_evreader_close(r);
    return st;
}

/* Reads and decodes every cluster through the cluster API. */
static void mhF_clusters(const char *path)
{
    char err[512];
    mh_evreader *r = NULL;
    if (mh_evreader_open(path, 0, &r, err, sizeof err) != MH_OK)
        return;
    const mh_evfile_info *info = mh_evreader_info(r);
    for (uint32_t ci = 0; ci < info->nclusters; ci++) {
        mh_evcluster *c = NULL;
        if (mh_evreader_read_cluster(r, ci, &c, err, sizeof err) != MH_OK)
            continue;
        mh_rawevent **evs = calloc(c->nevents, sizeof *evs);
        uint32_t made = 0;
        while (evs && made < c->nevents && (evs[made] = mh_rawevent_create()))
            made++;
        if (made == c->nevents)
            (void)mh_evcluster_decode(c, evs, err, sizeof err);
        for (uint32_t i = 0; i < made; i++)
            mh_rawevent_free(evs[i]);
        free(evs);
        mh_evcluster_free(c);
    }
    mh_evreader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz_evfile", MFD_CLOEXEC);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    uint8_t *f = malloc(size ? size : 1);
    if (!f)
        return 0;
    memcpy(f, data, size);
    mhF_fix_crcs(f, size);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, f, size, 0) != (ssize_t)size)
        abort();
    free(f);

    mh_rawevent *ev = mh_rawevent_create();
    if (!ev)
        return 0;
    mh_status plain = mhF_stream(path, 0, ev);
    mh_status skip = mhF_stream(path, MH_EVREADER_SKIP_BAD, ev);
    /* SKIP_BAD turns cluster damage into skips, nothing else. */
    if (plain == MH_END && skip != MH_END)
        abort();
    mh_rawevent_free(ev);
    mhF_clusters(path);
    return 0;
}
