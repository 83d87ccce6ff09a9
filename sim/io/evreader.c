/* evreader.c - reads .mhe files (sim/io/FORMAT.md).
 *
 * Open reads and checks the header, the footer, the metadata block and the
 * whole index, so that every later access is a bounds-checked pread of one
 * cluster. Streaming keeps the current cluster decompressed in the reader
 * and decodes one record per mh_evreader_next(); the cluster API hands out
 * compressed bytes for decoding on any thread.
 */
#include "io/evfile_internal.h"
#include "io/evmeta_internal.h"
#include "io/mh_evfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uuid/uuid.h>
#include <zstd.h>

#define MH__NONE UINT32_MAX

typedef struct mh__ixent {
    uint64_t offset;
    uint64_t first;
    uint32_t csize;
    uint32_t raw;
    uint32_t nev;
    uint32_t crc;
} mh__ixent;

struct mh_evreader {
    char *path;
    int fd;
    unsigned flags;
    mh_evfile_info info;
    mh_evmeta *meta;
    mh__ixent *ix;
    uint32_t nclusters;
    /* Streaming position: the next event is event `pos` of cluster `ci`.
     * `loaded` is the cluster whose payload is in raw (or MH__NONE). */
    uint32_t ci, pos, loaded;
    uint8_t *frame;
    size_t frame_cap;
    uint8_t *raw;
    size_t raw_cap;
    uint32_t *rec_off;
    size_t rec_cap;
    ZSTD_DCtx *dctx;
    uint32_t skipped_clusters;
    uint64_t skipped_events;
};

/* Reads exactly n bytes at off; returns the number read (< n at EOF) or
 * -1 with errno set. */
static ssize_t mh__pread_full(int fd, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, (uint8_t *)buf + got, n - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -1;
        if (k == 0)
            break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

/* Reads a block that open() already bounds-checked against the file size. */
static mh_status mh__read_block(mh_evreader *r, void *buf, size_t n, uint64_t off,
                                const char *what, char *err, size_t errlen)
{
    ssize_t k = mh__pread_full(r->fd, buf, n, off);
    if (k < 0)
        return mh_fail(err, errlen, MH_IO, "%s: %s at byte %" PRIu64 ": read failed: %s",
                       r->path, what, off, strerror(errno));
    if ((size_t)k != n)
        return mh_fail(err, errlen, MH_TRUNCATED,
                       "%s: %s at byte %" PRIu64 ": truncated: read %zd of %zu bytes", r->path,
                       what, off, k, n);
    return MH_OK;
}

static int mh__grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap && *buf)
        return 0;
    void *b = realloc(*buf, (need ? need : 1) * elem);
    if (!b)
        return -1;
    *buf = b;
    *cap = need;
    return 0;
}

static mh_status mh__check_header(mh_evreader *r, uint64_t size, uint32_t *hsize_out, char *err,
                                  size_t errlen)
{
    uint8_t h[MH__EV_HEADER_MAX];
    size_t want = size < sizeof h ? (size_t)size : sizeof h;
    mh_status st = mh__read_block(r, h, want, 0, "header", err, errlen);
    if (st != MH_OK)
        return st;
    if (size >= 4 && mh__ld32(h) != MH__EV_MAGIC)
        return mh_fail(err, errlen, MH_FORMAT, "%s: not an .mhe file (bad magic at byte 0)",
                       r->path);
    if (size < 8)
        return mh_fail(err, errlen, MH_TRUNCATED,
                       "%s: truncated: header incomplete (file is %" PRIu64 " bytes)", r->path,
                       size);
    r->info.version_major = mh__ld16(h + 4);
    r->info.version_minor = mh__ld16(h + 6);
    if (r->info.version_major != MH__EV_VERSION_MAJOR)
        return mh_fail(err, errlen, MH_VERSION,
                       "%s: format version %u.%u not supported (this reader reads %u.x)",
                       r->path, r->info.version_major, r->info.version_minor,
                       MH__EV_VERSION_MAJOR);
    if (size < MH__EV_HEADER_SIZE)
        return mh_fail(err, errlen, MH_TRUNCATED,
                       "%s: truncated: header incomplete (file is %" PRIu64 " bytes)", r->path,
                       size);
    uint32_t hsize = mh__ld32(h + 24);
    if (hsize < MH__EV_HEADER_SIZE || hsize > MH__EV_HEADER_MAX || hsize % 4)
        return mh_fail(err, errlen, MH_CORRUPT,
                       "%s: header at byte 24: header size %u out of range [%u, %u]", r->path,
                       hsize, MH__EV_HEADER_SIZE, MH__EV_HEADER_MAX);
    if (size < hsize)
        return mh_fail(err, errlen, MH_TRUNCATED,
                       "%s: truncated: header incomplete (file is %" PRIu64 " bytes)", r->path,
                       size);
    if (mh__crc32c(0, h, hsize - 4) != mh__ld32(h + hsize - 4))
        return mh_fail(err, errlen, MH_CHECKSUM, "%s: header at byte 0: checksum mismatch",
                       r->path);
    uuid_unparse_lower(h + 8, r->info.uuid);
    *hsize_out = hsize;
    return MH_OK;
}

/* 1 if [off, off+n) lies inside [lo, hi). */
static int mh__inside(uint64_t off, uint64_t n, uint64_t lo, uint64_t hi)
{
    return off >= lo && off <= hi && n <= hi - off;
}

static mh_status mh__check_index(mh_evreader *r, const uint8_t *ib, uint32_t esize,
                                 uint64_t hsize, uint64_t area_end, uint64_t ioff, char *err,
                                 size_t errlen)
{
    uint64_t expect = hsize, first = 0;
    const uint64_t max_frame = ZSTD_COMPRESSBOUND(MH__EV_MAX_RAW);
    for (uint32_t c = 0; c < r->nclusters; c++) {
        const uint8_t *e = ib + (size_t)c * esize;
        mh__ixent *x = &r->ix[c];
        x->offset = mh__ld64(e);
        x->first = mh__ld64(e + 8);
        x->csize = mh__ld32(e + 16);
        x->raw = mh__ld32(e + 20);
        x->nev = mh__ld32(e + 24);
        x->crc = mh__ld32(e + 28);
        const char *bad = NULL;
        char why[160];
        if (x->offset != expect) {
            snprintf(why, sizeof why, "offset %" PRIu64 ", expected %" PRIu64, x->offset, expect);
            bad = why;
        } else if (x->nev == 0 || x->nev > MH__EV_MAX_CLUSTER_EVENTS) {
            snprintf(why, sizeof why, "%u events not in [1, %u]", x->nev,
                     MH__EV_MAX_CLUSTER_EVENTS);
            bad = why;
        } else if (x->first != first) {
            snprintf(why, sizeof why, "first event %" PRIu64 ", expected %" PRIu64, x->first,
                     first);
            bad = why;
        } else if (x->csize == 0 || x->csize > max_frame) {
            snprintf(why, sizeof why, "frame size %u not in [1, %" PRIu64 "]", x->csize,
                     max_frame);
            bad = why;
        } else if (x->raw > MH__EV_MAX_RAW || x->raw < (uint64_t)x->nev * MH__EV_RECORD_FIXED) {
            snprintf(why, sizeof why, "raw size %u not in [%u, %u]", x->raw,
                     x->nev * MH__EV_RECORD_FIXED, MH__EV_MAX_RAW);
            bad = why;
        } else if (!mh__inside(x->offset, x->csize, hsize, area_end)) {
            snprintf(why, sizeof why,
                     "frame (offset %" PRIu64 ", size %u) ends past the cluster area [%" PRIu64
                     ", %" PRIu64 ")",
                     x->offset, x->csize, hsize, area_end);
            bad = why;
        }
        if (bad)
            return mh_fail(err, errlen, MH_CORRUPT, "%s: index at byte %" PRIu64 ": cluster %u: %s",
                           r->path, ioff + (uint64_t)c * esize, c, bad);
        expect = x->offset + x->csize;
        first += x->nev;
        r->info.compressed_bytes += x->csize;
        r->info.raw_bytes += x->raw;
    }
    r->info.nevents = first;
    return MH_OK;
}

static mh_status mh__check_footer(mh_evreader *r, uint64_t size, uint64_t hsize, char *err,
                                  size_t errlen)
{
    mh_status st;
    uint8_t *mb = NULL, *ib = NULL;
    if (size < hsize + MH__EV_FOOTER_SIZE)
        return mh_fail(err, errlen, MH_TRUNCATED,
                       "%s: truncated: footer missing (file is %" PRIu64 " bytes)", r->path,
                       size);
    uint64_t F = size - MH__EV_FOOTER_SIZE;
    uint8_t f[MH__EV_FOOTER_SIZE];
    if ((st = mh__read_block(r, f, sizeof f, F, "footer", err, errlen)) != MH_OK)
        return st;
    if (mh__ld32(f + 52) != MH__EV_FOOTER_MAGIC)
        return mh_fail(err, errlen, MH_TRUNCATED,
                       "%s: truncated: footer missing (file is %" PRIu64 " bytes)", r->path,
                       size);
    if (mh__crc32c(0, f, 48) != mh__ld32(f + 48))
        return mh_fail(err, errlen, MH_CHECKSUM, "%s: footer at byte %" PRIu64 ": checksum mismatch",
                       r->path, F);
    uint64_t moff = mh__ld64(f), ioff = mh__ld64(f + 8), nev = mh__ld64(f + 16);
    uint32_t msize = mh__ld32(f + 24), mcrc = mh__ld32(f + 28);
    uint32_t isize = mh__ld32(f + 32), icrc = mh__ld32(f + 36);
    uint32_t ncl = mh__ld32(f + 40);
    uint16_t esize = mh__ld16(f + 44);
    if (esize < MH__EV_INDEX_ENTRY || esize > MH__EV_INDEX_ENTRY_MAX)
        return mh_fail(err, errlen, MH_CORRUPT,
                       "%s: footer at byte %" PRIu64 ": index entry size %u not in [%u, %u]",
                       r->path, F, esize, MH__EV_INDEX_ENTRY, MH__EV_INDEX_ENTRY_MAX);
    if (msize > MH__EV_MAX_META || !mh__inside(moff, msize, hsize, F))
        return mh_fail(err, errlen, MH_CORRUPT,
                       "%s: footer at byte %" PRIu64 ": metadata (offset %" PRIu64
                       ", size %u) outside [%" PRIu64 ", %" PRIu64 ")",
                       r->path, F, moff, msize, hsize, F);
    if (!mh__inside(ioff, isize, hsize, F))
        return mh_fail(err, errlen, MH_CORRUPT,
                       "%s: footer at byte %" PRIu64 ": index (offset %" PRIu64
                       ", size %u) outside [%" PRIu64 ", %" PRIu64 ")",
                       r->path, F, ioff, isize, hsize, F);
    if ((uint64_t)ncl * esize != isize)
        return mh_fail(err, errlen, MH_CORRUPT,
                       "%s: footer at byte %" PRIu64 ": index size %u != %u clusters x %u bytes",
                       r->path, F, isize, ncl, esize);
    if (!(moff + msize <= ioff || ioff + isize <= moff))
        return mh_fail(err, errlen, MH_CORRUPT,
                       "%s: footer at byte %" PRIu64 ": metadata and index overlap", r->path, F);

    mb = malloc(msize ? msize : 1);
    ib = malloc(isize ? isize : 1);
    r->ix = calloc(ncl ? ncl : 1, sizeof *r->ix);
    if (!mb || !ib || !r->ix) {
        st = mh_fail(err, errlen, MH_NOMEM, "%s: out of memory", r->path);
        goto done;
    }
    if ((st = mh__read_block(r, mb, msize, moff, "metadata", err, errlen)) != MH_OK ||
        (st = mh__read_block(r, ib, isize, ioff, "index", err, errlen)) != MH_OK)
        goto done;
    if (mh__crc32c(0, mb, msize) != mcrc) {
        st = mh_fail(err, errlen, MH_CHECKSUM, "%s: metadata at byte %" PRIu64 ": checksum mismatch",
                     r->path, moff);
        goto done;
    }
    if (mh__crc32c(0, ib, isize) != icrc) {
        st = mh_fail(err, errlen, MH_CHECKSUM, "%s: index at byte %" PRIu64 ": checksum mismatch",
                     r->path, ioff);
        goto done;
    }
    char what[512];
    snprintf(what, sizeof what, "%s: metadata at byte %" PRIu64, r->path, moff);
    if ((st = mh__evmeta_decode(mb, msize, r->meta, what, err, errlen)) != MH_OK)
        goto done;
    r->nclusters = ncl;
    r->info.nclusters = ncl;
    uint64_t area_end = moff < ioff ? moff : ioff;
    if ((st = mh__check_index(r, ib, esize, hsize, area_end, ioff, err, errlen)) != MH_OK)
        goto done;
    if (r->info.nevents != nev) {
        st = mh_fail(err, errlen, MH_CORRUPT,
                     "%s: footer at byte %" PRIu64 ": %" PRIu64 " events, index holds %" PRIu64,
                     r->path, F, nev, r->info.nevents);
        goto done;
    }
    const char *ec = mh_evmeta_get(r->meta, "event_count");
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64, nev);
    if (!ec || strcmp(ec, buf)) {
        st = mh_fail(err, errlen, MH_CORRUPT,
                     "%s: metadata at byte %" PRIu64 ": event_count '%s', index holds %" PRIu64,
                     r->path, moff, ec ? ec : "(missing)", nev);
        goto done;
    }
    st = MH_OK;
done:
    free(mb);
    free(ib);
    return st;
}

mh_status mh_evreader_open(const char *path, unsigned flags, mh_evreader **out, char *err,
                           size_t errlen)
{
    mh_status st;
    if (!out || !path)
        return mh_fail(err, errlen, MH_INVALID, "mh_evreader_open: NULL argument");
    *out = NULL;
    mh_evreader *r = calloc(1, sizeof *r);
    if (!r)
        return mh_fail(err, errlen, MH_NOMEM, "%s: out of memory", path);
    r->fd = -1;
    r->flags = flags;
    r->loaded = MH__NONE;
    size_t plen = strlen(path);
    r->path = malloc(plen + 1);
    r->meta = mh_evmeta_create();
    r->dctx = ZSTD_createDCtx();
    if (!r->path || !r->meta || !r->dctx) {
        st = mh_fail(err, errlen, MH_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    memcpy(r->path, path, plen + 1);
    r->info.meta = r->meta;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) {
        st = mh_fail(err, errlen, MH_IO, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    struct stat sb;
    if (fstat(r->fd, &sb) != 0) {
        st = mh_fail(err, errlen, MH_IO, "%s: cannot stat: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = mh_fail(err, errlen, MH_FORMAT, "%s: not a regular file", path);
        goto fail;
    }
    uint64_t size = (uint64_t)sb.st_size;
    r->info.file_bytes = size;
    uint32_t hsize = 0;
    if ((st = mh__check_header(r, size, &hsize, err, errlen)) != MH_OK)
        goto fail;
    if ((st = mh__check_footer(r, size, hsize, err, errlen)) != MH_OK)
        goto fail;
    *out = r;
    return MH_OK;
fail:
    mh_evreader_close(r);
    return st;
}

void mh_evreader_close(mh_evreader *r)
{
    if (!r)
        return;
    if (r->fd >= 0)
        close(r->fd);
    free(r->path);
    mh_evmeta_free(r->meta);
    free(r->ix);
    free(r->frame);
    free(r->raw);
    free(r->rec_off);
    ZSTD_freeDCtx(r->dctx);
    free(r);
}

const mh_evfile_info *mh_evreader_info(const mh_evreader *r)
{
    return &r->info;
}

static mh_status mh__read_frame(mh_evreader *r, uint32_t ci, void *dst, char *err,
                                size_t errlen)
{
    const mh__ixent *x = &r->ix[ci];
    ssize_t k = mh__pread_full(r->fd, dst, x->csize, x->offset);
    if (k < 0)
        return mh_fail(err, errlen, MH_IO, "%s: cluster %u at byte %" PRIu64 ": read failed: %s",
                       r->path, ci, x->offset, strerror(errno));
    if ((size_t)k != x->csize)
        return mh_fail(err, errlen, MH_TRUNCATED,
                       "%s: cluster %u at byte %" PRIu64 ": truncated: read %zd of %u bytes",
                       r->path, ci, x->offset, k, x->csize);
    return MH_OK;
}

/* Reads, decompresses and scans cluster ci into the reader's buffers. */
static mh_status mh__load(mh_evreader *r, uint32_t ci, char *err, size_t errlen)
{
    const mh__ixent *x = &r->ix[ci];
    r->loaded = MH__NONE;
    if (mh__grow((void **)&r->frame, &r->frame_cap, x->csize, 1) ||
        mh__grow((void **)&r->raw, &r->raw_cap, x->raw, 1) ||
        mh__grow((void **)&r->rec_off, &r->rec_cap, x->nev, sizeof(uint32_t)))
        return mh_fail(err, errlen, MH_NOMEM, "%s: cluster %u: out of memory", r->path, ci);
    mh_status st = mh__read_frame(r, ci, r->frame, err, errlen);
    if (st != MH_OK)
        return st;
    mh__evloc loc = {r->path, ci, x->offset};
    st = mh__ev_frame_decompress(r->dctx, r->frame, x->csize, x->crc, r->raw, x->raw, &loc,
                                 err, errlen);
    if (st != MH_OK)
        return st;
    st = mh__ev_payload_scan(r->raw, x->raw, x->nev, r->rec_off, &loc, err, errlen);
    if (st != MH_OK)
        return st;
    r->loaded = ci;
    return MH_OK;
}

static int mh__is_damage(mh_status st)
{
    return st == MH_CHECKSUM || st == MH_CORRUPT || st == MH_TRUNCATED || st == MH_IO;
}

mh_status mh_evreader_next(mh_evreader *r, mh_rawevent *ev, char *err, size_t errlen)
{
    for (;;) {
        if (r->ci >= r->nclusters)
            return MH_END;
        const mh__ixent *x = &r->ix[r->ci];
        if (r->pos >= x->nev) {
            r->ci++;
            r->pos = 0;
            continue;
        }
        if (r->loaded != r->ci) {
            mh_status st = mh__load(r, r->ci, err, errlen);
            if (st != MH_OK) {
                if (!(r->flags & MH_EVREADER_SKIP_BAD) || !mh__is_damage(st))
                    return st;
                r->skipped_clusters++;
                r->skipped_events += x->nev - r->pos;
                r->ci++;
                r->pos = 0;
                continue;
            }
        }
        mh_status st = mh__ev_record_decode(r->raw + r->rec_off[r->pos], ev);
        if (st != MH_OK)
            return mh_fail(err, errlen, st, "%s: cluster %u, event %u: out of memory", r->path,
                           r->ci, r->pos);
        r->pos++;
        return MH_OK;
    }
}

mh_status mh_evreader_seek(mh_evreader *r, uint64_t index, char *err, size_t errlen)
{
    if (index >= r->info.nevents) {
        r->ci = r->nclusters;
        r->pos = 0;
        return mh_fail(err, errlen, MH_END, "%s: event %" PRIu64 " past the end (%" PRIu64
                       " events)", r->path, index, r->info.nevents);
    }
    uint32_t lo = 0, hi = r->nclusters; /* last cluster with first <= index */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (r->ix[mid].first <= index)
            lo = mid;
        else
            hi = mid;
    }
    r->ci = lo;
    r->pos = (uint32_t)(index - r->ix[lo].first);
    return MH_OK;
}

void mh_evreader_skipped(const mh_evreader *r, uint32_t *clusters, uint64_t *events)
{
    if (clusters)
        *clusters = r->skipped_clusters;
    if (events)
        *events = r->skipped_events;
}

/* ---- cluster level ----------------------------------------------------- */

mh_status mh_evreader_cluster_at(const mh_evreader *r, uint32_t ci, uint64_t *offset,
                                 uint32_t *size, uint32_t *nevents, uint64_t *first_event)
{
    if (!r || ci >= r->nclusters)
        return MH_INVALID;
    const mh__ixent *x = &r->ix[ci];
    if (offset)
        *offset = x->offset;
    if (size)
        *size = x->csize;
    if (nevents)
        *nevents = x->nev;
    if (first_event)
        *first_event = x->first;
    return MH_OK;
}

mh_status mh_evreader_read_cluster(mh_evreader *r, uint32_t ci, mh_evcluster **out, char *err,
                                   size_t errlen)
{
    if (!r || !out)
        return mh_fail(err, errlen, MH_INVALID, "mh_evreader_read_cluster: NULL argument");
    *out = NULL;
    if (ci >= r->nclusters)
        return mh_fail(err, errlen, MH_INVALID, "%s: cluster %u does not exist (%u clusters)",
                       r->path, ci, r->nclusters);
    const mh__ixent *x = &r->ix[ci];
    size_t plen = strlen(r->path);
    mh_evcluster *c = calloc(1, sizeof *c + plen + 1);
    if (!c)
        return mh_fail(err, errlen, MH_NOMEM, "%s: cluster %u: out of memory", r->path, ci);
    char *name = (char *)(c + 1);
    memcpy(name, r->path, plen + 1);
    c->file = name;
    c->index = ci;
    c->offset = x->offset;
    c->nevents = x->nev;
    c->first_event = x->first;
    c->size = x->csize;
    c->raw_size = x->raw;
    c->crc32c = x->crc;
    c->data = malloc(x->csize);
    if (!c->data) {
        free(c);
        return mh_fail(err, errlen, MH_NOMEM, "%s: cluster %u: out of memory", r->path, ci);
    }
    mh_status st = mh__read_frame(r, ci, c->data, err, errlen);
    if (st != MH_OK) {
        mh_evcluster_free(c);
        return st;
    }
    *out = c;
    return MH_OK;
}

void mh_evcluster_free(mh_evcluster *c)
{
    if (!c)
        return;
    free(c->data);
    free(c);
}

mh_status mh_evcluster_decode(const mh_evcluster *c, mh_rawevent **evs, char *err,
                              size_t errlen)
{
    if (!c || !evs)
        return mh_fail(err, errlen, MH_INVALID, "mh_evcluster_decode: NULL argument");
    mh__evloc loc = {c->file ? c->file : "(cluster)", c->index, c->offset};
    if (c->nevents == 0 || c->nevents > MH__EV_MAX_CLUSTER_EVENTS || c->raw_size > MH__EV_MAX_RAW)
        return mh_fail(err, errlen, MH_INVALID, "%s: cluster %u at byte %" PRIu64
                       ": %u events / %u raw bytes out of range", loc.file, c->index,
                       c->offset, c->nevents, c->raw_size);
    mh_status st;
    uint8_t *raw = malloc(c->raw_size ? c->raw_size : 1);
    uint32_t *off = malloc(c->nevents * sizeof *off);
    if (!raw || !off) {
        st = mh_fail(err, errlen, MH_NOMEM, "%s: cluster %u: out of memory", loc.file, c->index);
        goto done;
    }
    st = mh__ev_frame_decompress(NULL, c->data, c->size, c->crc32c, raw, c->raw_size, &loc,
                                 err, errlen);
    if (st != MH_OK)
        goto done;
    st = mh__ev_payload_scan(raw, c->raw_size, c->nevents, off, &loc, err, errlen);
    if (st != MH_OK)
        goto done;
    for (uint32_t i = 0; i < c->nevents; i++) {
        st = mh__ev_record_decode(raw + off[i], evs[i]);
        if (st != MH_OK) {
            mh_fail(err, errlen, st, "%s: cluster %u, event %u: out of memory", loc.file,
                    c->index, i);
            goto done;
        }
    }
done:
    free(raw);
    free(off);
    return st;
}
