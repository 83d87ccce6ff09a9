/* test_evcorrupt.c - every kind of damage to an .mhe file gives its exact
 * status and a message naming file, cluster and byte offset; SKIP_BAD
 * skips and counts damaged clusters; no damage goes unnoticed. */
#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "evtest.h"
#include "io/mh_evfile.h"

static char dir[64];
static char path[128];
static char bad[128];

static void setup(void)
{
    mhT_mkdir(dir);
    snprintf(path, sizeof path, "%s/good.mhe", dir);
    snprintf(bad, sizeof bad, "%s/bad.mhe", dir);
}

static void teardown(void)
{
    mhT_rmdir(dir);
}

#define NEV 20
#define EPC 6 /* clusters of 6, 6, 6, 2 events */

/* A small file (tiny events) for the exhaustive byte-by-byte tests. */
static void write_small(const char *p)
{
    char err[512] = "";
    mh_evwriter *w = NULL;
    mh_evwriter_opts o = {3, 0};
    ck_assert_int_eq(mh_evwriter_open(p, NULL, &o, &w, err, sizeof err), MH_OK);
    mh_rawevent *ev = mh_rawevent_create();
    for (uint64_t i = 0; i < 7; i++) {
        mhT_fill(ev, i, (uint32_t)(i % 3), (uint32_t)(i % 2));
        ck_assert_int_eq(mh_evwriter_write(w, ev, err, sizeof err), MH_OK);
    }
    mh_rawevent_free(ev);
    ck_assert_int_eq(mh_evwriter_close(w, err, sizeof err), MH_OK);
}

/* The cluster holding file byte pos, or -1. */
static int cluster_at(mhT_buf f, uint64_t pos)
{
    for (uint32_t c = 0; c < mhT_nclusters(f); c++) {
        uint64_t off = mh__ld64(mhT_ixent(f, c));
        if (pos >= off && pos < off + mh__ld32(mhT_ixent(f, c) + 16))
            return (int)c;
    }
    return -1;
}

static int contains(const char *err, const char *piece)
{
    return strstr(err, piece) != NULL;
}

START_TEST(truncated_at_every_length)
{
    char err[512], want[256];
    write_small(path);
    mhT_buf f = mhT_slurp(path);
    for (size_t len = 0; len < f.n; len++) {
        mhT_spit(bad, f.b, len);
        uint64_t n = 0;
        mh_status st = mhT_read_all(bad, MH_EVREADER_SKIP_BAD, &n, err, sizeof err);
        ck_assert_msg(st == MH_TRUNCATED, "len %zu: %s: %s", len, mh_status_name(st), err);
        snprintf(want, sizeof want, "%s: truncated: %s (file is %zu bytes)", bad,
                 len < 32 ? "header incomplete" : "footer missing", len);
        ck_assert_msg(!strcmp(err, want), "len %zu: got '%s', want '%s'", len, err, want);
    }
    free(f.b);
}
END_TEST

START_TEST(truncated_at_cluster_boundaries_and_mid_footer)
{
    char err[512], want[256];
    mhT_write(path, NEV, EPC);
    mhT_buf f = mhT_slurp(path);
    size_t cuts[16], nc = 0;
    for (uint32_t c = 0; c < mhT_nclusters(f); c++) {
        uint64_t off = mh__ld64(mhT_ixent(f, c));
        cuts[nc++] = off;                                  /* at a boundary */
        cuts[nc++] = off + mh__ld32(mhT_ixent(f, c) + 16) / 2; /* mid-cluster */
    }
    cuts[nc++] = mhT_meta_off(f);
    cuts[nc++] = mhT_index_off(f);
    cuts[nc++] = f.n - MH__EV_FOOTER_SIZE;
    cuts[nc++] = f.n - 30; /* mid-footer */
    cuts[nc++] = f.n - 1;
    for (size_t k = 0; k < nc; k++) {
        mhT_spit(bad, f.b, cuts[k]);
        mh_evreader *r = NULL;
        ck_assert_int_eq(mh_evreader_open(bad, 0, &r, err, sizeof err), MH_TRUNCATED);
        ck_assert_ptr_null(r);
        snprintf(want, sizeof want, "%s: truncated: footer missing (file is %zu bytes)", bad,
                 cuts[k]);
        ck_assert_str_eq(err, want);
    }
    free(f.b);
}
END_TEST

/* Every single-bit flip anywhere in the file is detected, with the status
 * and message of the structure it hit. */
START_TEST(every_flipped_bit_is_detected)
{
    char err[512], want[256];
    write_small(path);
    mhT_buf f = mhT_slurp(path);
    uint64_t moff = mhT_meta_off(f), ioff = mhT_index_off(f), F = f.n - MH__EV_FOOTER_SIZE;
    for (size_t pos = 0; pos < f.n; pos++) {
        f.b[pos] ^= (uint8_t)(1u << (pos % 8));
        mhT_spit(bad, f.b, f.n);
        f.b[pos] ^= (uint8_t)(1u << (pos % 8));
        uint64_t n = 0;
        mh_status st = mhT_read_all(bad, 0, &n, err, sizeof err);
        ck_assert_msg(st != MH_OK, "flip at byte %zu not detected", pos);
        ck_assert_msg(!strncmp(err, bad, strlen(bad)), "byte %zu: '%s' lacks file name", pos, err);
        int c = cluster_at(f, pos);
        if (pos < 4) {
            ck_assert_int_eq(st, MH_FORMAT);
            snprintf(want, sizeof want, "%s: not an .mhe file (bad magic at byte 0)", bad);
            ck_assert_str_eq(err, want);
        } else if (pos < 6) {
            ck_assert_int_eq(st, MH_VERSION);
            ck_assert(contains(err, "not supported (this reader reads 1.x)"));
        } else if (pos >= 24 && pos < 28) { /* header_size */
            ck_assert_msg(st == MH_CHECKSUM || st == MH_CORRUPT || st == MH_TRUNCATED, "%s", err);
        } else if (pos < 32) {
            ck_assert_int_eq(st, MH_CHECKSUM);
            snprintf(want, sizeof want, "%s: header at byte 0: checksum mismatch", bad);
            ck_assert_str_eq(err, want);
        } else if (c >= 0) {
            ck_assert_msg(st == MH_CHECKSUM, "byte %zu: %s", pos, err);
            ck_assert_uint_eq(n, mh__ld64(mhT_ixent(f, (uint32_t)c) + 8)); /* events before */
            snprintf(want, sizeof want, "%s: cluster %d at byte %" PRIu64 ": checksum mismatch",
                     bad, c, mh__ld64(mhT_ixent(f, (uint32_t)c)));
            ck_assert_msg(!strncmp(err, want, strlen(want)), "got '%s', want '%s'", err, want);
        } else if (pos >= moff && pos < ioff) {
            ck_assert_int_eq(st, MH_CHECKSUM);
            snprintf(want, sizeof want, "%s: metadata at byte %" PRIu64 ": checksum mismatch",
                     bad, moff);
            ck_assert_str_eq(err, want);
        } else if (pos >= ioff && pos < F) {
            ck_assert_int_eq(st, MH_CHECKSUM);
            snprintf(want, sizeof want, "%s: index at byte %" PRIu64 ": checksum mismatch", bad,
                     ioff);
            ck_assert_str_eq(err, want);
        } else if (pos < F + 52) {
            ck_assert_int_eq(st, MH_CHECKSUM);
            snprintf(want, sizeof want, "%s: footer at byte %" PRIu64 ": checksum mismatch",
                     bad, F);
            ck_assert_str_eq(err, want);
        } else {
            ck_assert_int_eq(st, MH_TRUNCATED);
            ck_assert(contains(err, "truncated: footer missing"));
        }
    }
    free(f.b);
}
END_TEST

/* ---- crafted files: checksums recomputed, so the bounds checks and
 * consistency rules themselves are what fails ---------------------------- */

typedef struct craft_case {
    const char *name;
    void (*mutate)(mhT_buf f);
    mh_status want;
    const char *piece1, *piece2;
    int at_read; /* 0: open fails; 1: reading fails */
} craft_case;

static void m_magic(mhT_buf f) { memcpy(f.b, "GIF8", 4); }
static void m_major(mhT_buf f) { mh__st16(f.b + 4, 2); mhT_fix_header(f); }
static void m_hsize(mhT_buf f) { mh__st32(f.b + 24, 5000); mhT_fix_header(f); }
static void m_index_zero(mhT_buf f) { memset(mhT_ixent(f, 0), 0, 4 * MH__EV_INDEX_ENTRY); }
static void m_index_zero_crc(mhT_buf f) { m_index_zero(f); mhT_fix_index(f); }
static void m_index_past_eof(mhT_buf f) { mh__st64(mhT_foot(f) + 8, f.n + 100); mhT_fix_footer(f); }
static void m_meta_past_eof(mhT_buf f) { mh__st32(mhT_foot(f) + 24, 0xF0000); mhT_fix_footer(f); }
static void m_meta_huge(mhT_buf f) { mh__st32(mhT_foot(f) + 24, 0x7FFFFFFF); mhT_fix_footer(f); }
static void m_nclusters(mhT_buf f) { mh__st32(mhT_foot(f) + 40, 5); mhT_fix_footer(f); }
static void m_entry_size(mhT_buf f) { mh__st16(mhT_foot(f) + 44, 8); mhT_fix_footer(f); }
static void m_nevents(mhT_buf f) { mh__st64(mhT_foot(f) + 16, NEV + 1); mhT_fix_footer(f); }
static void m_frame_past_eof(mhT_buf f) { mh__st32(mhT_ixent(f, 3) + 16, (uint32_t)f.n); mhT_fix_index(f); }
static void m_zero_events(mhT_buf f) { mh__st32(mhT_ixent(f, 1) + 24, 0); mhT_fix_index(f); }
static void m_first_event(mhT_buf f) { mh__st64(mhT_ixent(f, 2) + 8, 13); mhT_fix_index(f); }
static void m_raw_huge(mhT_buf f) { mh__st32(mhT_ixent(f, 0) + 20, 0xFFFFFFFFu); mhT_fix_index(f); }
static void m_raw_off_by_one(mhT_buf f)
{
    uint8_t *e = mhT_ixent(f, 0);
    mh__st32(e + 20, mh__ld32(e + 20) + 1);
    mhT_fix_index(f);
}
static void m_meta_keylen(mhT_buf f) { mh__st16(f.b + mhT_meta_off(f) + 6, 0xFFFF); mhT_fix_meta(f); }
static void m_event_count(mhT_buf f)
{
    uint8_t *m = f.b + mhT_meta_off(f);
    uint8_t *hit = memmem(m, mhT_meta_size(f), "event_count20", 13);
    ck_assert_ptr_nonnull(hit);
    hit[11] = '3';
    mhT_fix_meta(f);
}
/* The frame's own XXH64 content checksum (its last 4 bytes), with the
 * index CRC32C updated so that only zstd can notice. */
static void m_zstd_checksum(mhT_buf f)
{
    uint8_t *e = mhT_ixent(f, 1);
    uint8_t *fr = f.b + mh__ld64(e);
    uint32_t cs = mh__ld32(e + 16);
    fr[cs - 1] ^= 0x40;
    mh__st32(e + 28, mh__crc32c(0, fr, cs));
    mhT_fix_index(f);
}
static void m_frame_byte(mhT_buf f) { f.b[mh__ld64(mhT_ixent(f, 1)) + 20] ^= 0x01; }

static const craft_case craft_cases[] = {
    {"wrong magic", m_magic, MH_FORMAT, "not an .mhe file (bad magic at byte 0)", NULL, 0},
    {"future major", m_major, MH_VERSION, "format version 2.0 not supported (this reader reads 1.x)", NULL, 0},
    {"header size", m_hsize, MH_CORRUPT, "header at byte 24: header size 5000 out of range", NULL, 0},
    {"zeroed index", m_index_zero, MH_CHECKSUM, "index at byte ", ": checksum mismatch", 0},
    {"zeroed index, CRC fixed", m_index_zero_crc, MH_CORRUPT, "index at byte ", "cluster 0: offset 0, expected 32", 0},
    {"index past EOF", m_index_past_eof, MH_CORRUPT, "footer at byte ", ": index (offset ", 0},
    {"metadata past EOF", m_meta_past_eof, MH_CORRUPT, ": metadata (offset ", "size 983040) outside", 0},
    {"metadata size limit", m_meta_huge, MH_CORRUPT, ": metadata (offset ", "outside", 0},
    {"cluster count", m_nclusters, MH_CORRUPT, "index size 128 != 5 clusters x 32 bytes", NULL, 0},
    {"index entry size", m_entry_size, MH_CORRUPT, "index entry size 8 not in [32, 256]", NULL, 0},
    {"footer event count", m_nevents, MH_CORRUPT, ": 21 events, index holds 20", NULL, 0},
    {"frame past EOF", m_frame_past_eof, MH_CORRUPT, "cluster 3: frame (offset ", "ends past the cluster area", 0},
    {"cluster without events", m_zero_events, MH_CORRUPT, "cluster 1: 0 events not in [1, 65536]", NULL, 0},
    {"first event", m_first_event, MH_CORRUPT, "cluster 2: first event 13, expected 12", NULL, 0},
    {"raw size limit", m_raw_huge, MH_CORRUPT, "cluster 0: raw size 4294967295 not in", NULL, 0},
    {"metadata key length", m_meta_keylen, MH_CORRUPT, "metadata at byte ", ": entry 0: key length 65535", 0},
    {"metadata event_count", m_event_count, MH_CORRUPT, "event_count '30', index holds 20", NULL, 0},
    {"zstd content checksum", m_zstd_checksum, MH_CHECKSUM, "cluster 1 at byte ", ": checksum mismatch (zstd content checksum)", 1},
    {"raw size disagrees with frame", m_raw_off_by_one, MH_CORRUPT, "cluster 0 at byte 32: frame content size", NULL, 1},
    {"flipped frame byte", m_frame_byte, MH_CHECKSUM, "cluster 1 at byte ", ": checksum mismatch (frame CRC32C", 1},
};

START_TEST(crafted_damage)
{
    const craft_case *k = &craft_cases[_i];
    char err[512] = "";
    mhT_write(path, NEV, EPC);
    mhT_buf f = mhT_slurp(path);
    ck_assert_uint_eq(mhT_nclusters(f), 4);
    k->mutate(f);
    mhT_spit(bad, f.b, f.n);
    mh_evreader *r = NULL;
    mh_status st = mh_evreader_open(bad, 0, &r, err, sizeof err);
    if (k->at_read) {
        ck_assert_msg(st == MH_OK, "%s: open: %s", k->name, err);
        mh_rawevent *ev = mh_rawevent_create();
        while ((st = mh_evreader_next(r, ev, err, sizeof err)) == MH_OK)
            ;
        mh_rawevent_free(ev);
        mh_evreader_close(r);
    }
    ck_assert_msg(st == k->want, "%s: got %s (%s)", k->name, mh_status_name(st), err);
    ck_assert_msg(!strncmp(err, bad, strlen(bad)) && err[strlen(bad)] == ':', "%s: '%s'",
                  k->name, err);
    ck_assert_msg(contains(err, k->piece1), "%s: '%s' lacks '%s'", k->name, err, k->piece1);
    ck_assert_msg(!k->piece2 || contains(err, k->piece2), "%s: '%s' lacks '%s'", k->name, err,
                  k->piece2);
    free(f.b);
}
END_TEST

/* ---- damaged payloads inside valid frames ------------------------------ */

/* Replaces cluster 0's payload by raw[0..n) (recompressed, all checksums
 * and offsets updated) and returns the new file. */
static mhT_buf replace_payload0(mhT_buf f, const uint8_t *raw, size_t n)
{
    size_t bound = ZSTD_compressBound(n);
    uint8_t *frame = malloc(bound);
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
    size_t cs = ZSTD_compress2(cc, frame, bound, raw, n);
    ck_assert(!ZSTD_isError(cs));
    ZSTD_freeCCtx(cc);
    uint8_t *e0 = mhT_ixent(f, 0);
    size_t old = mh__ld32(e0 + 16);
    int64_t d = (int64_t)cs - (int64_t)old;
    mhT_buf g = {malloc(f.n + cs), (size_t)((int64_t)f.n + d)};
    memcpy(g.b, f.b, 32);
    memcpy(g.b + 32, frame, cs);
    memcpy(g.b + 32 + cs, f.b + 32 + old, f.n - 32 - old);
    uint8_t *ft = mhT_foot(g);
    mh__st64(ft, (uint64_t)((int64_t)mh__ld64(ft) + d));
    mh__st64(ft + 8, (uint64_t)((int64_t)mh__ld64(ft + 8) + d));
    for (uint32_t c = 1; c < mhT_nclusters(g); c++) {
        uint8_t *e = mhT_ixent(g, c);
        mh__st64(e, (uint64_t)((int64_t)mh__ld64(e) + d));
    }
    e0 = mhT_ixent(g, 0);
    mh__st32(e0 + 16, (uint32_t)cs);
    mh__st32(e0 + 20, (uint32_t)n);
    mh__st32(e0 + 28, mh__crc32c(0, frame, cs));
    mhT_fix_index(g);
    free(frame);
    return g;
}

typedef struct payload_case {
    const char *name;
    size_t at;       /* payload byte to overwrite (u32), or SIZE_MAX: append */
    uint32_t value;
    const char *piece;
} payload_case;

/* Event 0 of the standard file: 5 digis (digi 3 an exception), 1 jet:
 * record size 48 + 5*27 + 16 + 24 = 223. */
static const payload_case payload_cases[] = {
    {"ndigis", 36, 99999, "event 0 (payload byte 0): ndigis 99999 > 20000"},
    {"ngenjets", 40, 5000, "event 0 (payload byte 0): ngenjets 5000 > 1024"},
    {"exceptions", 44, 6, "event 0 (payload byte 0): 6 exceptions > 5 digis"},
    {"record size", 0, 1u << 30, "event 0 (payload byte 0): record size 1073741824, need 223"},
    {"record too short", 0, 100, "record size 100, need 223"},
    {"capid code", 48 + 5 * 14, 0xFF, "event 0 (payload byte 0): digi 0: bad capid/soi code 0xff"},
    {"exception index", 223 - 24, 7, "exception 0: digi index 7 out of order or >= 5"},
    {"stray bytes", SIZE_MAX, 0, "4 stray payload bytes after 6 events"},
};

START_TEST(damaged_payload)
{
    const payload_case *k = &payload_cases[_i];
    char err[512] = "";
    mhT_write(path, NEV, EPC);
    mhT_buf f = mhT_slurp(path);
    uint8_t *e0 = mhT_ixent(f, 0);
    size_t raw_n = mh__ld32(e0 + 20);
    uint8_t *raw = malloc(raw_n + 4);
    ck_assert_uint_eq(ZSTD_decompress(raw, raw_n, f.b + 32, mh__ld32(e0 + 16)), raw_n);
    ck_assert_uint_eq(mh__ld32(raw), 223);
    if (k->at == SIZE_MAX) {
        mh__st32(raw + raw_n, 0);
        raw_n += 4;
    } else if (k->value == 0xFF) {
        raw[k->at] = 0xFF;
    } else {
        mh__st32(raw + k->at, k->value);
    }
    mhT_buf g = replace_payload0(f, raw, raw_n);
    mhT_spit(bad, g.b, g.n);

    /* Streaming: the error names file, cluster 0 and its offset. */
    uint64_t n = 0;
    mh_status st = mhT_read_all(bad, 0, &n, err, sizeof err);
    ck_assert_msg(st == MH_CORRUPT, "%s: %s %s", k->name, mh_status_name(st), err);
    char want[256];
    snprintf(want, sizeof want, "%s: cluster 0 at byte 32: ", bad);
    ck_assert_msg(!strncmp(err, want, strlen(want)), "%s: '%s'", k->name, err);
    ck_assert_msg(contains(err, k->piece), "%s: '%s' lacks '%s'", k->name, err, k->piece);
    ck_assert_uint_eq(n, 0);

    /* Cluster API: same verdict. */
    mh_evreader *r = NULL;
    ck_assert_int_eq(mh_evreader_open(bad, 0, &r, err, sizeof err), MH_OK);
    mh_evcluster *c = NULL;
    ck_assert_int_eq(mh_evreader_read_cluster(r, 0, &c, err, sizeof err), MH_OK);
    mh_rawevent *evs[EPC];
    for (int i = 0; i < EPC; i++)
        evs[i] = mh_rawevent_create();
    ck_assert_int_eq(mh_evcluster_decode(c, evs, err, sizeof err), MH_CORRUPT);
    ck_assert_msg(contains(err, k->piece), "%s: '%s'", k->name, err);
    for (int i = 0; i < EPC; i++)
        mh_rawevent_free(evs[i]);
    mh_evcluster_free(c);
    mh_evreader_close(r);

    /* SKIP_BAD: the other 14 events are read. */
    ck_assert_int_eq(mhT_read_all(bad, MH_EVREADER_SKIP_BAD, &n, err, sizeof err), MH_OK);
    ck_assert_uint_eq(n, NEV - EPC);
    free(raw);
    free(f.b);
    free(g.b);
}
END_TEST

START_TEST(skip_bad_accounting)
{
    char err[512] = "";
    mhT_write(path, NEV, EPC);
    mhT_buf f = mhT_slurp(path);
    f.b[mh__ld64(mhT_ixent(f, 1)) + 10] ^= 0x10; /* cluster 1: events 6..11 */
    f.b[mh__ld64(mhT_ixent(f, 3)) + 10] ^= 0x10; /* cluster 3: events 18..19 */
    mhT_spit(bad, f.b, f.n);

    mh_evreader *r = NULL;
    ck_assert_int_eq(mh_evreader_open(bad, MH_EVREADER_SKIP_BAD, &r, err, sizeof err), MH_OK);
    mh_rawevent *ev = mh_rawevent_create(), *want = mh_rawevent_create();
    static const uint64_t expect[] = {0, 1, 2, 3, 4, 5, 12, 13, 14, 15, 16, 17};
    for (size_t k = 0; k < sizeof expect / sizeof expect[0]; k++) {
        ck_assert_msg(mh_evreader_next(r, ev, err, sizeof err) == MH_OK, "%s", err);
        mhT_fill(want, expect[k], mhT_nd(expect[k]), mhT_nj(expect[k]));
        ck_assert(mh_rawevent_equal(ev, want));
    }
    ck_assert_int_eq(mh_evreader_next(r, ev, err, sizeof err), MH_END);
    uint32_t sc = 0;
    uint64_t se = 0;
    mh_evreader_skipped(r, &sc, &se);
    ck_assert_uint_eq(sc, 2);
    ck_assert_uint_eq(se, 8);
    /* Seeking into the middle of a bad cluster skips the rest of it. */
    ck_assert_int_eq(mh_evreader_seek(r, 8, err, sizeof err), MH_OK);
    ck_assert_int_eq(mh_evreader_next(r, ev, err, sizeof err), MH_OK);
    ck_assert_uint_eq(ev->event, 1000000 + 12);
    mh_evreader_skipped(r, &sc, &se);
    ck_assert_uint_eq(sc, 3);
    ck_assert_uint_eq(se, 12);
    mh_evreader_close(r);

    /* Without SKIP_BAD the first bad cluster stops the reader, for good. */
    ck_assert_int_eq(mh_evreader_open(bad, 0, &r, err, sizeof err), MH_OK);
    ck_assert_int_eq(mh_evreader_seek(r, 5, err, sizeof err), MH_OK);
    ck_assert_int_eq(mh_evreader_next(r, ev, err, sizeof err), MH_OK);
    ck_assert_int_eq(mh_evreader_next(r, ev, err, sizeof err), MH_CHECKSUM);
    char w[256];
    snprintf(w, sizeof w, "%s: cluster 1 at byte %" PRIu64 ": checksum mismatch", bad,
             mh__ld64(mhT_ixent(f, 1)));
    ck_assert_msg(!strncmp(err, w, strlen(w)), "'%s'", err);
    ck_assert_int_eq(mh_evreader_next(r, ev, err, sizeof err), MH_CHECKSUM);
    mh_evreader_close(r);
    mh_rawevent_free(ev);
    mh_rawevent_free(want);
    free(f.b);
}
END_TEST

/* The file shrinks after open: the short read is TRUNCATED with the
 * cluster and offset, not a crash or garbage. */
START_TEST(file_shrinks_after_open)
{
    char err[512] = "";
    mhT_write(path, NEV, EPC);
    mh_evreader *r = NULL;
    ck_assert_int_eq(mh_evreader_open(path, 0, &r, err, sizeof err), MH_OK);
    ck_assert_int_eq(truncate(path, 100), 0);
    mh_rawevent *ev = mh_rawevent_create();
    ck_assert_int_eq(mh_evreader_next(r, ev, err, sizeof err), MH_TRUNCATED);
    char w[256];
    snprintf(w, sizeof w, "%s: cluster 0 at byte 32: truncated: read 68 of ", path);
    ck_assert_msg(!strncmp(err, w, strlen(w)), "'%s'", err);
    mh_evcluster *c = NULL;
    ck_assert_int_eq(mh_evreader_read_cluster(r, 2, &c, err, sizeof err), MH_TRUNCATED);
    ck_assert_ptr_null(c);
    mh_rawevent_free(ev);
    mh_evreader_close(r);
}
END_TEST

START_TEST(not_a_file)
{
    char err[512] = "";
    mh_evreader *r = NULL;
    ck_assert_int_eq(mh_evreader_open(dir, 0, &r, err, sizeof err), MH_FORMAT);
    ck_assert(contains(err, "not a regular file"));
    ck_assert_int_eq(mh_evreader_open(bad, 0, &r, err, sizeof err), MH_IO);
    ck_assert(contains(err, "cannot open: No such file or directory"));
    mhT_spit(bad, (const uint8_t *)"hello, world\n", 13);
    ck_assert_int_eq(mh_evreader_open(bad, 0, &r, err, sizeof err), MH_FORMAT);
    ck_assert(contains(err, "not an .mhe file (bad magic at byte 0)"));
    ck_assert_ptr_null(r);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("evcorrupt");
    TCase *tc = tcase_create("damage");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, truncated_at_every_length);
    tcase_add_test(tc, truncated_at_cluster_boundaries_and_mid_footer);
    tcase_add_test(tc, every_flipped_bit_is_detected);
    tcase_add_loop_test(tc, crafted_damage, 0, sizeof craft_cases / sizeof craft_cases[0]);
    tcase_add_loop_test(tc, damaged_payload, 0, sizeof payload_cases / sizeof payload_cases[0]);
    tcase_add_test(tc, skip_bad_accounting);
    tcase_add_test(tc, file_shrinks_after_open);
    tcase_add_test(tc, not_a_file);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
