/* evwriter.c - writes .mhe files (sim/io/FORMAT.md).
 *
 * The writer appends events to an in-memory cluster payload; a full
 * cluster is compressed into one zstd frame and written. Close writes the
 * metadata, the index and the footer into "<path>.tmp-XXXXXX", fsyncs it and
 * renames it to <path>, then fsyncs the directory, so that <path> either
 * does not exist or is complete. Any failure removes the temporary file.
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
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>
#include <zstd.h>

struct mh_evwriter {
    char *path;
    char *tmp;
    int fd;
    uint64_t pos;          /* bytes written so far */
    mh_status failed;      /* sticky: MH_OK until a write fails */
    char why[160];         /* the first write error, repeated by later calls and close */
    mh_evmeta *meta;
    uint32_t epc;
    ZSTD_CCtx *cctx;
    uint8_t *raw;          /* the current cluster's payload */
    size_t raw_len, raw_cap;
    uint32_t raw_events;
    uint8_t *frame;
    size_t frame_cap;
    uint8_t *index;        /* nclusters entries of MH__EV_INDEX_ENTRY bytes */
    uint32_t nclusters;
    size_t index_cap;
    uint64_t nevents;
    uuid_t uuid;
};

static int mh__grow_buf(uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 4096;
    while (c < need)
        c *= 2;
    uint8_t *b = realloc(*buf, c);
    if (!b)
        return -1;
    *buf = b;
    *cap = c;
    return 0;
}

static mh_status mh__write_all(mh_evwriter *w, const void *buf, size_t n, char *err,
                               size_t errlen)
{
    const uint8_t *p = buf;
    while (n) {
        ssize_t k = write(w->fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            int e = k < 0 ? errno : EIO;
            w->failed = MH_IO;
            snprintf(w->why, sizeof w->why, "write failed at byte %" PRIu64 ": %s", w->pos,
                     strerror(e));
            return mh_fail(err, errlen, MH_IO, "%s: %s", w->path, w->why);
        }
        p += k;
        n -= (size_t)k;
        w->pos += (uint64_t)k;
    }
    return MH_OK;
}

static void mh__writer_free(mh_evwriter *w)
{
    if (!w)
        return;
    if (w->fd >= 0)
        close(w->fd);
    free(w->path);
    free(w->tmp);
    mh_evmeta_free(w->meta);
    ZSTD_freeCCtx(w->cctx);
    free(w->raw);
    free(w->frame);
    free(w->index);
    free(w);
}

mh_status mh_evwriter_open(const char *path, const mh_evmeta *meta,
                           const mh_evwriter_opts *opts, mh_evwriter **out, char *err,
                           size_t errlen)
{
    mh_status st;
    if (!out)
        return mh_fail(err, errlen, MH_INVALID, "mh_evwriter_open: out is NULL");
    *out = NULL;
    if (!path || !*path)
        return mh_fail(err, errlen, MH_INVALID, "mh_evwriter_open: empty path");
    uint32_t epc = opts && opts->events_per_cluster ? opts->events_per_cluster : 64;
    int level = opts && opts->zstd_level ? opts->zstd_level : 3;
    if (epc > MH__EV_MAX_CLUSTER_EVENTS)
        return mh_fail(err, errlen, MH_INVALID, "%s: events_per_cluster %u > %u", path, epc,
                       MH__EV_MAX_CLUSTER_EVENTS);
    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
        return mh_fail(err, errlen, MH_INVALID, "%s: zstd level %d not in [%d, %d]", path,
                       level, ZSTD_minCLevel(), ZSTD_maxCLevel());

    mh_evwriter *w = calloc(1, sizeof *w);
    if (!w)
        return mh_fail(err, errlen, MH_NOMEM, "%s: out of memory", path);
    w->fd = -1;
    w->epc = epc;
    size_t plen = strlen(path);
    w->path = malloc(plen + 1);
    w->tmp = malloc(plen + sizeof ".tmp-XXXXXX");
    w->meta = mh_evmeta_create();
    w->cctx = ZSTD_createCCtx();
    if (!w->path || !w->tmp || !w->meta || !w->cctx) {
        st = mh_fail(err, errlen, MH_NOMEM, "%s: out of memory", path);
        goto fail_free;
    }
    memcpy(w->path, path, plen + 1);
    memcpy(w->tmp, path, plen);
    memcpy(w->tmp + plen, ".tmp-XXXXXX", sizeof ".tmp-XXXXXX");
    st = mh__evmeta_copy(w->meta, meta);
    if (st != MH_OK) {
        mh_fail(err, errlen, st, "%s: copying metadata: %s", path, mh_strerror(st));
        goto fail_free;
    }
    if (ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, level)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1)) ||
        ZSTD_isError(ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_contentSizeFlag, 1))) {
        st = mh_fail(err, errlen, MH_INTERNAL, "%s: cannot configure zstd", path);
        goto fail_free;
    }

    /* The temporary file is renamed over path at close: a device, FIFO or directory
     * there (`file: /dev/null`, `/dev/full`) would be replaced by a regular file. */
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        st = mh_fail(err, errlen, MH_INVALID,
                     "%s: exists and is not a regular file (the output would replace it)", path);
        goto fail_free;
    }

    w->fd = mkstemp(w->tmp);
    if (w->fd < 0) {
        st = mh_fail(err, errlen, MH_IO, "%s: cannot create temporary file %s: %s", path,
                     w->tmp, strerror(errno));
        goto fail_free;
    }
    /* mkstemp makes the file 0600; an event sample is meant to be shared. */
    (void)fchmod(w->fd, 0644);

    uuid_generate(w->uuid);
    uint8_t hdr[MH__EV_HEADER_SIZE];
    mh__st32(hdr, MH__EV_MAGIC);
    mh__st16(hdr + 4, MH__EV_VERSION_MAJOR);
    mh__st16(hdr + 6, MH__EV_VERSION_MINOR);
    memcpy(hdr + 8, w->uuid, 16);
    mh__st32(hdr + 24, MH__EV_HEADER_SIZE);
    mh__st32(hdr + 28, mh__crc32c(0, hdr, 28));
    st = mh__write_all(w, hdr, sizeof hdr, err, errlen);
    if (st != MH_OK)
        goto fail_unlink;
    *out = w;
    return MH_OK;

fail_unlink:
    unlink(w->tmp);
fail_free:
    mh__writer_free(w);
    return st;
}

/* Appends one compressed cluster frame and its index entry; first_event
 * is the file-order number of its first event. */
static mh_status mh__append_frame(mh_evwriter *w, const uint8_t *frame, size_t csize,
                                  size_t raw_size, uint32_t nevents, uint64_t first_event,
                                  char *err, size_t errlen)
{
    if (w->nclusters == UINT32_MAX ||
        mh__grow_buf(&w->index, &w->index_cap, ((size_t)w->nclusters + 1) * MH__EV_INDEX_ENTRY))
        return mh_fail(err, errlen, MH_NOMEM, "%s: out of memory", w->path);
    uint8_t *e = w->index + (size_t)w->nclusters * MH__EV_INDEX_ENTRY;
    mh__st64(e, w->pos);
    mh__st64(e + 8, first_event);
    mh__st32(e + 16, (uint32_t)csize);
    mh__st32(e + 20, (uint32_t)raw_size);
    mh__st32(e + 24, nevents);
    mh__st32(e + 28, mh__crc32c(0, frame, csize));
    mh_status st = mh__write_all(w, frame, csize, err, errlen);
    if (st != MH_OK)
        return st;
    w->nclusters++;
    return MH_OK;
}

static mh_status mh__flush_cluster(mh_evwriter *w, char *err, size_t errlen)
{
    if (w->raw_events == 0)
        return MH_OK;
    size_t bound = ZSTD_compressBound(w->raw_len);
    if (mh__grow_buf(&w->frame, &w->frame_cap, bound))
        return mh_fail(err, errlen, MH_NOMEM, "%s: out of memory", w->path);
    size_t csize = ZSTD_compress2(w->cctx, w->frame, w->frame_cap, w->raw, w->raw_len);
    if (ZSTD_isError(csize))
        return mh_fail(err, errlen, MH_INTERNAL, "%s: cluster %u: zstd: %s", w->path,
                       w->nclusters, ZSTD_getErrorName(csize));
    mh_status st = mh__append_frame(w, w->frame, csize, w->raw_len, w->raw_events,
                                    w->nevents - w->raw_events, err, errlen);
    if (st != MH_OK)
        return st;
    w->raw_len = 0;
    w->raw_events = 0;
    return MH_OK;
}

/* ---- parallel writing --------------------------------------------------- */

struct mh_evframe {
    uint8_t *data;
    size_t size;
    size_t raw_size;
    uint32_t nevents;
};

static mh_status mh__check_event(const mh_rawevent *ev, uint64_t n, const char *who,
                                 char *err, size_t errlen)
{
    if (!ev)
        return mh_fail(err, errlen, MH_INVALID, "%s: NULL event", who);
    if (mh__ev_record_bound(ev) == 0)
        return mh_fail(err, errlen, MH_INVALID,
                       "%s: event %" PRIu64 " (file event %" PRIu64 "): %u digis / %u "
                       "generator jets exceed the format limits (%u / %u)",
                       who, ev->event, n, ev->ndigis, ev->ngenjets, MH__EV_MAX_DIGIS,
                       MH__EV_MAX_GENJETS);
    if ((ev->ndigis && (!ev->channel || !ev->adc || !ev->capid || !ev->soi ||
                        !ev->true_e_hard || !ev->true_e_intime || !ev->true_e_oot)) ||
        (ev->ngenjets && !ev->genjets))
        return mh_fail(err, errlen, MH_INVALID, "%s: event %" PRIu64 ": NULL array", who,
                       ev->event);
    return MH_OK;
}

mh_status mh_evframe_encode(mh_rawevent *const *evs, uint32_t n, int zstd_level,
                            mh_evframe **out, char *err, size_t errlen)
{
    mh_status st;
    uint8_t *raw = NULL;
    ZSTD_CCtx *cc = NULL;
    mh_evframe *f = NULL;
    if (!out || !evs)
        return mh_fail(err, errlen, MH_INVALID, "mh_evframe_encode: NULL argument");
    *out = NULL;
    int level = zstd_level ? zstd_level : 3;
    if (n == 0 || n > MH__EV_MAX_CLUSTER_EVENTS || level < ZSTD_minCLevel() ||
        level > ZSTD_maxCLevel())
        return mh_fail(err, errlen, MH_INVALID,
                       "mh_evframe_encode: %u events (want 1..%u), zstd level %d", n,
                       MH__EV_MAX_CLUSTER_EVENTS, level);
    size_t bound = 0;
    for (uint32_t i = 0; i < n; i++) {
        if ((st = mh__check_event(evs[i], i, "mh_evframe_encode", err, errlen)) != MH_OK)
            return st;
        bound += mh__ev_record_bound(evs[i]);
    }
    raw = malloc(bound);
    f = calloc(1, sizeof *f);
    cc = ZSTD_createCCtx();
    if (!raw || !f || !cc) {
        st = mh_fail(err, errlen, MH_NOMEM, "mh_evframe_encode: out of memory");
        goto fail;
    }
    size_t len = 0;
    for (uint32_t i = 0; i < n; i++)
        len += mh__ev_record_encode(evs[i], raw + len);
    if (len > MH__EV_MAX_RAW) {
        st = mh_fail(err, errlen, MH_INVALID,
                     "mh_evframe_encode: %zu bytes of events > cluster limit %u", len,
                     MH__EV_MAX_RAW);
        goto fail;
    }
    f->data = malloc(ZSTD_compressBound(len));
    if (!f->data) {
        st = mh_fail(err, errlen, MH_NOMEM, "mh_evframe_encode: out of memory");
        goto fail;
    }
    size_t cs = ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level)) ||
                        ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1))
                    ? (size_t)-1
                    : ZSTD_compress2(cc, f->data, ZSTD_compressBound(len), raw, len);
    if (ZSTD_isError(cs)) {
        st = mh_fail(err, errlen, MH_INTERNAL, "mh_evframe_encode: zstd: %s",
                     ZSTD_getErrorName(cs));
        goto fail;
    }
    f->size = cs;
    f->raw_size = len;
    f->nevents = n;
    free(raw);
    ZSTD_freeCCtx(cc);
    *out = f;
    return MH_OK;
fail:
    free(raw);
    ZSTD_freeCCtx(cc);
    mh_evframe_free(f);
    return st;
}

void mh_evframe_free(mh_evframe *f)
{
    if (!f)
        return;
    free(f->data);
    free(f);
}

uint32_t mh_evframe_nevents(const mh_evframe *f)
{
    return f ? f->nevents : 0;
}

mh_status mh_evwriter_write_frame(mh_evwriter *w, const mh_evframe *f, char *err,
                                  size_t errlen)
{
    if (!w || !f)
        return mh_fail(err, errlen, MH_INVALID, "mh_evwriter_write_frame: NULL argument");
    if (w->failed != MH_OK)
        return mh_fail(err, errlen, w->failed, "%s: writer failed earlier (%s)", w->path,
                       w->why);
    mh_status st = mh__flush_cluster(w, err, errlen);
    if (st != MH_OK)
        return st;
    st = mh__append_frame(w, f->data, f->size, f->raw_size, f->nevents, w->nevents, err,
                          errlen);
    if (st != MH_OK)
        return st;
    w->nevents += f->nevents;
    return MH_OK;
}

mh_status mh_evwriter_write(mh_evwriter *w, const mh_rawevent *ev, char *err, size_t errlen)
{
    if (!w || !ev)
        return mh_fail(err, errlen, MH_INVALID, "mh_evwriter_write: NULL argument");
    if (w->failed != MH_OK)
        return mh_fail(err, errlen, w->failed, "%s: writer failed earlier (%s)", w->path,
                       w->why);
    mh_status st = mh__check_event(ev, w->nevents, w->path, err, errlen);
    if (st != MH_OK)
        return st;
    size_t bound = mh__ev_record_bound(ev);
    if (mh__grow_buf(&w->raw, &w->raw_cap, w->raw_len + bound))
        return mh_fail(err, errlen, MH_NOMEM, "%s: out of memory", w->path);
    w->raw_len += mh__ev_record_encode(ev, w->raw + w->raw_len);
    w->raw_events++;
    w->nevents++;
    if (w->raw_events >= w->epc || w->raw_len >= MH__EV_FLUSH_RAW)
        return mh__flush_cluster(w, err, errlen);
    return MH_OK;
}

/* fsync of the directory holding path, so that the rename is durable. */
static void mh__fsync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) {
        dir[0] = '.';
        dir[1] = '\0';
    } else if (slash == path) {
        dir[0] = '/';
        dir[1] = '\0';
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir)
            return;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

mh_status mh_evwriter_close(mh_evwriter *w, char *err, size_t errlen)
{
    if (!w)
        return mh_fail(err, errlen, MH_INVALID, "mh_evwriter_close: NULL writer");
    mh_status st = w->failed;
    uint8_t *meta = NULL;
    if (st != MH_OK) {
        mh_fail(err, errlen, st, "%s: writer failed earlier (%s); nothing written", w->path,
                w->why);
        goto fail;
    }
    st = mh__flush_cluster(w, err, errlen);
    if (st != MH_OK)
        goto fail;

    char buf[64];
    snprintf(buf, sizeof buf, "%" PRIu64, w->nevents);
    st = mh_evmeta_set(w->meta, "event_count", buf);
    time_t now = time(NULL);
    struct tm tm;
    if (st == MH_OK && gmtime_r(&now, &tm) && strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
        st = mh_evmeta_set(w->meta, "created", buf);
    if (st != MH_OK) {
        mh_fail(err, errlen, st, "%s: metadata: %s", w->path, mh_strerror(st));
        goto fail;
    }
    size_t msize = mh__evmeta_encoded_size(w->meta);
    if (msize > MH__EV_MAX_META) {
        st = mh_fail(err, errlen, MH_INVALID, "%s: metadata of %zu bytes > limit %u", w->path,
                     msize, MH__EV_MAX_META);
        goto fail;
    }
    meta = malloc(msize);
    if (!meta) {
        st = mh_fail(err, errlen, MH_NOMEM, "%s: out of memory", w->path);
        goto fail;
    }
    mh__evmeta_encode(w->meta, meta);
    size_t isize = (size_t)w->nclusters * MH__EV_INDEX_ENTRY;

    uint8_t foot[MH__EV_FOOTER_SIZE] = {0};
    mh__st64(foot, w->pos);
    mh__st64(foot + 8, w->pos + msize);
    mh__st64(foot + 16, w->nevents);
    mh__st32(foot + 24, (uint32_t)msize);
    mh__st32(foot + 28, mh__crc32c(0, meta, msize));
    mh__st32(foot + 32, (uint32_t)isize);
    mh__st32(foot + 36, mh__crc32c(0, w->index, isize));
    mh__st32(foot + 40, w->nclusters);
    mh__st16(foot + 44, MH__EV_INDEX_ENTRY);
    mh__st32(foot + 48, mh__crc32c(0, foot, 48));
    mh__st32(foot + 52, MH__EV_FOOTER_MAGIC);

    if ((st = mh__write_all(w, meta, msize, err, errlen)) != MH_OK ||
        (st = mh__write_all(w, w->index, isize, err, errlen)) != MH_OK ||
        (st = mh__write_all(w, foot, sizeof foot, err, errlen)) != MH_OK)
        goto fail;
    if (fsync(w->fd) != 0) {
        st = mh_fail(err, errlen, MH_IO, "%s: fsync failed: %s", w->path, strerror(errno));
        goto fail;
    }
    int fd = w->fd;
    w->fd = -1;
    if (close(fd) != 0) {
        st = mh_fail(err, errlen, MH_IO, "%s: close failed: %s", w->path, strerror(errno));
        goto fail;
    }
    if (rename(w->tmp, w->path) != 0) {
        st = mh_fail(err, errlen, MH_IO, "%s: cannot rename %s to it: %s", w->path, w->tmp,
                     strerror(errno));
        goto fail;
    }
    mh__fsync_dir(w->path);
    free(meta);
    mh__writer_free(w);
    return MH_OK;

fail:
    free(meta);
    unlink(w->tmp);
    mh__writer_free(w);
    return st;
}

void mh_evwriter_abort(mh_evwriter *w)
{
    if (!w)
        return;
    unlink(w->tmp);
    mh__writer_free(w);
}

void mh_evwriter_uuid(const mh_evwriter *w, char out[37])
{
    uuid_unparse_lower(w->uuid, out);
}
