/* mh_evfile.h - the .mhe event file: writer and reader.
 *
 * The byte layout is specified in sim/io/FORMAT.md. In short: a header with
 * magic, version and a libuuid file UUID; a metadata block of key/value
 * strings; clusters of events, each one zstd frame with content checksum;
 * an index of clusters in a footer found from the last bytes of the file.
 *
 * Writers write to "<path>.tmp-XXXXXX" and rename to <path> on close, so a
 * file under its final name is always complete.
 *
 * Readers never trust a length from the file. Every failure is reported
 * with file name, cluster number and byte offset in the error detail.
 *
 * The reader has two levels:
 *  - mh_evreader_next(): sequential streaming of events (simple use);
 *  - the cluster API (mh_evreader_read_cluster() + mh_evcluster_decode()):
 *    reading the compressed bytes is serial I/O, while decoding a cluster is
 *    pure CPU work that any thread may do, so a source can decompress
 *    clusters ahead on worker threads.
 */
#ifndef MH_EVFILE_H
#define MH_EVFILE_H

#include <stdint.h>
#include <stddef.h>

#include "core/mh_status.h"
#include "io/mh_rawevent.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- metadata: ordered key/value strings ---------------------------- */

typedef struct mh_evmeta mh_evmeta;

/* Creates an empty metadata set. Returns NULL on allocation failure. */
mh_evmeta *mh_evmeta_create(void);
/* Frees; accepts NULL. */
void mh_evmeta_free(mh_evmeta *m);
/* Sets key to value (copies both; replaces an existing key). */
mh_status mh_evmeta_set(mh_evmeta *m, const char *key, const char *value);
/* Returns the value of key or NULL. Pointer valid until m changes. */
const char *mh_evmeta_get(const mh_evmeta *m, const char *key);
/* Number of entries and the i-th entry, in insertion order. */
size_t mh_evmeta_count(const mh_evmeta *m);
void mh_evmeta_at(const mh_evmeta *m, size_t i, const char **key, const char **value);

/* ---- writer ---------------------------------------------------------- */

typedef struct mh_evwriter_opts {
    uint32_t events_per_cluster;  /* 0 = default (64) */
    int zstd_level;               /* 0 = default (3) */
} mh_evwriter_opts;

typedef struct mh_evwriter mh_evwriter;

/* Opens a writer for path. meta is copied (may be NULL); opts may be NULL.
 * The writer sets its own keys "event_count" and "created" at close.
 * On success *out owns the writer: finish with mh_evwriter_close() or
 * mh_evwriter_abort(). */
mh_status mh_evwriter_open(const char *path, const mh_evmeta *meta,
                           const mh_evwriter_opts *opts, mh_evwriter **out,
                           char *err, size_t errlen);

/* Appends one event (copied/serialised; the caller keeps ev). Not
 * thread-safe: one writer is used by one thread at a time. */
mh_status mh_evwriter_write(mh_evwriter *w, const mh_rawevent *ev,
                            char *err, size_t errlen);

/* Flushes the last cluster, writes the index and footer, fsyncs and renames
 * the temporary file to its final name. Frees w whatever the result; on
 * failure the temporary file is removed. */
mh_status mh_evwriter_close(mh_evwriter *w, char *err, size_t errlen);

/* Discards everything written, removes the temporary file, frees w.
 * Accepts NULL. */
void mh_evwriter_abort(mh_evwriter *w);

/* The UUID the writer put in the header, as 36 characters + NUL. */
void mh_evwriter_uuid(const mh_evwriter *w, char out[37]);

/* ---- parallel writing (added after the first contract) --------------
 * A generator that makes events on several threads can also compress on
 * them: each thread encodes a whole cluster with mh_evframe_encode() (pure,
 * any thread), and one thread appends the frames in file order with
 * mh_evwriter_write_frame(). Event numbering in the file is append order. */

typedef struct mh_evframe mh_evframe;

/* Encodes evs[0..n) (1 <= n <= 65536) into one compressed cluster frame
 * with zstd level zstd_level (0 = default 3). Pure function of its inputs:
 * any thread may call it. *out is owned by the caller (mh_evframe_free).
 * MH_INVALID if an event exceeds the format limits. */
mh_status mh_evframe_encode(mh_rawevent *const *evs, uint32_t n, int zstd_level,
                            mh_evframe **out, char *err, size_t errlen);

/* Frees; accepts NULL. */
void mh_evframe_free(mh_evframe *f);

/* Number of events in f. */
uint32_t mh_evframe_nevents(const mh_evframe *f);

/* Appends the ready cluster f to w (first flushing events given to
 * mh_evwriter_write() so far as their own cluster). The caller keeps f. */
mh_status mh_evwriter_write_frame(mh_evwriter *w, const mh_evframe *f, char *err,
                                  size_t errlen);

/* ---- reader ---------------------------------------------------------- */

enum {
    MH_EVREADER_SKIP_BAD = 1u << 0  /* skip clusters that fail to decode */
};

typedef struct mh_evreader mh_evreader;

typedef struct mh_evfile_info {
    char uuid[37];
    uint16_t version_major, version_minor;
    uint64_t nevents;           /* from the index */
    uint32_t nclusters;
    uint64_t file_bytes;
    uint64_t compressed_bytes;  /* sum of cluster frames */
    uint64_t raw_bytes;         /* sum of decompressed cluster payloads */
    const mh_evmeta *meta;      /* owned by the reader */
} mh_evfile_info;

/* Opens path, checks header, metadata, footer and index. flags is a mask
 * of MH_EVREADER_*. On success *out owns the reader (mh_evreader_close). */
mh_status mh_evreader_open(const char *path, unsigned flags, mh_evreader **out,
                           char *err, size_t errlen);

/* Closes; accepts NULL. */
void mh_evreader_close(mh_evreader *r);

/* File facts. Pointers inside stay valid while r is open. */
const mh_evfile_info *mh_evreader_info(const mh_evreader *r);

/* Reads the next event into ev (overwriting it). Returns MH_OK, MH_END at
 * the end of the file, or an error. With MH_EVREADER_SKIP_BAD a bad
 * cluster is skipped and counted (mh_evreader_skipped) instead. */
mh_status mh_evreader_next(mh_evreader *r, mh_rawevent *ev, char *err, size_t errlen);

/* Positions the reader so that the next mh_evreader_next() returns event
 * number index (0-based, in file order). MH_END if index >= nevents. */
mh_status mh_evreader_seek(mh_evreader *r, uint64_t index, char *err, size_t errlen);

/* Clusters and events skipped because of damage so far (SKIP_BAD). */
void mh_evreader_skipped(const mh_evreader *r, uint32_t *clusters, uint64_t *events);

/* ---- cluster level (for read-ahead on worker threads) ---------------- */

/* One cluster's compressed bytes, as read from the file. */
typedef struct mh_evcluster {
    uint32_t index;          /* cluster number in the file */
    uint64_t offset;         /* byte offset of the frame in the file */
    uint32_t nevents;        /* from the index */
    uint64_t first_event;    /* file-order number of its first event */
    size_t size;             /* compressed bytes */
    void *data;              /* owned by the cluster */
    const char *file;        /* for error messages; valid while the cluster lives */
    /* Appended after the first contract (fields are only ever appended): */
    uint32_t raw_size;       /* decompressed payload bytes, from the index */
    uint32_t crc32c;         /* CRC32C of the compressed frame, from the index */
} mh_evcluster;

/* Index facts of cluster ci without reading it (added after the first
 * contract): byte offset and compressed size of its frame, number of
 * events and file-order number of its first event. Any pointer may be
 * NULL. Returns MH_INVALID if ci >= nclusters. */
mh_status mh_evreader_cluster_at(const mh_evreader *r, uint32_t ci, uint64_t *offset,
                                 uint32_t *size, uint32_t *nevents, uint64_t *first_event);

/* Reads the compressed bytes of cluster ci (no decompression). Thread-safe
 * with respect to other readers of other files only: call it from one
 * thread per reader. *out is owned by the caller (mh_evcluster_free). */
mh_status mh_evreader_read_cluster(mh_evreader *r, uint32_t ci, mh_evcluster **out,
                                   char *err, size_t errlen);

void mh_evcluster_free(mh_evcluster *c);

/* Decompresses and checks cluster c and decodes its events into evs[0..n),
 * where n == c->nevents; evs must hold n events created by
 * mh_rawevent_create(). Pure function of c: any thread may call it. */
mh_status mh_evcluster_decode(const mh_evcluster *c, mh_rawevent **evs,
                              char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
