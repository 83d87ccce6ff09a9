/* test_evfile.c - .mhe round trips, seeking, the cluster API on other
 * threads, metadata, and writer failure handling. */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <zstd.h>

#include "evtest.h"
#include "io/evmeta_internal.h"
#include "io/mh_evfile.h"

static char dir[64];
static char path[128];

static void setup(void)
{
    mhT_mkdir(dir);
    snprintf(path, sizeof path, "%s/t.mhe", dir);
}

static void teardown(void)
{
    mhT_rmdir(dir);
}

/* Reads path sequentially and compares with the standard events. */
static void check_standard(const char *p, uint64_t n, uint32_t epc)
{
    char err[512] = "";
    mh_evreader *r = NULL;
    ck_assert_msg(mh_evreader_open(p, 0, &r, err, sizeof err) == MH_OK, "%s", err);
    const mh_evfile_info *info = mh_evreader_info(r);
    ck_assert_uint_eq(info->nevents, n);
    if (epc) /* 0: clusters of mixed sizes */
        ck_assert_uint_eq(info->nclusters, (n + epc - 1) / epc);
    ck_assert_uint_eq(info->version_major, 1);
    ck_assert_uint_eq(info->version_minor, 0);
    mh_rawevent *want = mh_rawevent_create(), *got = mh_rawevent_create();
    for (uint64_t i = 0; i < n; i++) {
        mhT_fill(want, i, mhT_nd(i), mhT_nj(i));
        ck_assert_msg(mh_evreader_next(r, got, err, sizeof err) == MH_OK, "%s", err);
        ck_assert_msg(mh_rawevent_equal(want, got), "event %llu differs", (unsigned long long)i);
    }
    ck_assert_int_eq(mh_evreader_next(r, got, err, sizeof err), MH_END);
    ck_assert_int_eq(mh_evreader_next(r, got, err, sizeof err), MH_END);
    uint32_t sc = 9;
    uint64_t se = 9;
    mh_evreader_skipped(r, &sc, &se);
    ck_assert_uint_eq(sc, 0);
    ck_assert_uint_eq(se, 0);
    mh_rawevent_free(want);
    mh_rawevent_free(got);
    mh_evreader_close(r);
}

START_TEST(round_trip_cluster_layouts)
{
    /* (events, events per cluster): one partial cluster, exact multiples,
     * a last short cluster, one event per cluster. */
    static const struct { uint64_t n; uint32_t epc; } cases[] = {
        {1, 64}, {64, 64}, {200, 16}, {33, 1}, {130, 64},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        mhT_write(path, cases[c].n, cases[c].epc);
        check_standard(path, cases[c].n, cases[c].epc);
        ck_assert_int_eq(mhT_count_files(dir), 1); /* no temporary left */
    }
}
END_TEST

START_TEST(round_trip_metadata_and_info)
{
    char err[512] = "";
    mh_evmeta *m = mh_evmeta_create();
    ck_assert_int_eq(mh_evmeta_set(m, "process", "ttbar"), MH_OK);
    ck_assert_int_eq(mh_evmeta_set(m, "conditions_tag", "MH_RUN3_V1"), MH_OK);
    ck_assert_int_eq(mh_evmeta_set(m, "event_count", "999"), MH_OK); /* writer overrides */
    ck_assert_int_eq(mh_evmeta_set(m, "empty", ""), MH_OK);
    mh_evwriter *w = NULL;
    ck_assert_int_eq(mh_evwriter_open(path, m, NULL, &w, err, sizeof err), MH_OK);
    mh_evmeta_free(m);
    char uuid[37];
    mh_evwriter_uuid(w, uuid);
    ck_assert_uint_eq(strlen(uuid), 36);
    mh_rawevent *ev = mh_rawevent_create();
    for (int i = 0; i < 70; i++) {
        mhT_fill(ev, (uint64_t)i, 10, 2);
        ck_assert_int_eq(mh_evwriter_write(w, ev, err, sizeof err), MH_OK);
    }
    mh_rawevent_free(ev);
    ck_assert_msg(mh_evwriter_close(w, err, sizeof err) == MH_OK, "%s", err);

    mh_evreader *r = NULL;
    ck_assert_msg(mh_evreader_open(path, 0, &r, err, sizeof err) == MH_OK, "%s", err);
    const mh_evfile_info *info = mh_evreader_info(r);
    ck_assert_str_eq(info->uuid, uuid);
    ck_assert_uint_eq(info->nclusters, 2); /* default 64 events per cluster */
    ck_assert_uint_eq(info->nevents, 70);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_uint_eq(info->file_bytes, (uint64_t)sb.st_size);
    ck_assert_uint_eq(info->raw_bytes, 70 * (48 + 27 * 10 + 16 * 2 + 24 * 2));
    ck_assert_uint_lt(info->compressed_bytes, info->file_bytes);
    ck_assert_str_eq(mh_evmeta_get(info->meta, "process"), "ttbar");
    ck_assert_str_eq(mh_evmeta_get(info->meta, "conditions_tag"), "MH_RUN3_V1");
    ck_assert_str_eq(mh_evmeta_get(info->meta, "event_count"), "70");
    ck_assert_str_eq(mh_evmeta_get(info->meta, "empty"), "");
    const char *created = mh_evmeta_get(info->meta, "created");
    ck_assert_ptr_nonnull(created);
    ck_assert_uint_eq(strlen(created), 20); /* 2024-01-01T00:00:00Z */
    ck_assert_int_eq(created[19], 'Z');
    const char *k, *v;
    mh_evmeta_at(info->meta, 0, &k, &v);
    ck_assert_str_eq(k, "process"); /* insertion order kept */
    ck_assert_uint_eq(mh_evmeta_count(info->meta), 5);
    ck_assert_int_eq(sb.st_mode & 0777, 0644);
    mh_evreader_close(r);
}
END_TEST

START_TEST(round_trip_extremes)
{
    char err[512] = "";
    mh_evwriter *w = NULL;
    mh_evwriter_opts o = {3, 1};
    ck_assert_int_eq(mh_evwriter_open(path, NULL, &o, &w, err, sizeof err), MH_OK);
    mh_rawevent *evs[5];
    for (int i = 0; i < 5; i++)
        evs[i] = mh_rawevent_create();
    mhT_fill(evs[0], 0, 0, 0);                       /* empty event */
    mhT_fill(evs[1], 1, 20000, 1024);                /* largest allowed */
    mhT_fill(evs[2], 2, 3, 0);
    for (int k = 0; k < 30; k++) {                   /* every capid/soi oddity */
        evs[2]->capid[k] = (uint8_t)(k * 37);
        evs[2]->soi[k] = (uint8_t)(k % 3 == 0 ? 2 : 0);
    }
    mhT_fill(evs[3], 3, 1, 1);
    evs[3]->pileup_true = -0.0f;                     /* bit patterns survive */
    uint32_t nan = 0x7FC00123u;
    memcpy(&evs[3]->gen_met, &nan, 4);
    evs[3]->event = UINT64_MAX;
    evs[3]->bx = UINT16_MAX;
    mhT_fill(evs[4], 4, 20000, 0);
    for (int i = 0; i < 5; i++)
        ck_assert_msg(mh_evwriter_write(w, evs[i], err, sizeof err) == MH_OK, "%s", err);

    mh_rawevent *big = mh_rawevent_create();
    mhT_fill(big, 9, 20001, 0);
    ck_assert_int_eq(mh_evwriter_write(w, big, err, sizeof err), MH_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "20001 digis"));
    mhT_fill(big, 9, 1, 1025);
    ck_assert_int_eq(mh_evwriter_write(w, big, err, sizeof err), MH_INVALID);
    mh_rawevent_free(big);
    ck_assert_msg(mh_evwriter_close(w, err, sizeof err) == MH_OK, "%s", err);

    mh_evreader *r = NULL;
    ck_assert_msg(mh_evreader_open(path, 0, &r, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_uint_eq(mh_evreader_info(r)->nevents, 5);
    mh_rawevent *got = mh_rawevent_create();
    for (int i = 0; i < 5; i++) {
        ck_assert_msg(mh_evreader_next(r, got, err, sizeof err) == MH_OK, "%s", err);
        ck_assert_msg(mh_rawevent_equal(evs[i], got) || i == 3, "event %d differs", i);
        if (i == 3) /* NaN != NaN: compare bits */
            ck_assert_int_eq(memcmp(&got->gen_met, &nan, 4), 0);
    }
    ck_assert_int_eq(mh_evreader_next(r, got, err, sizeof err), MH_END);
    mh_rawevent_free(got);
    mh_evreader_close(r);
    for (int i = 0; i < 5; i++)
        mh_rawevent_free(evs[i]);
}
END_TEST

START_TEST(empty_file)
{
    char err[512] = "";
    mh_evwriter *w = NULL;
    ck_assert_int_eq(mh_evwriter_open(path, NULL, NULL, &w, err, sizeof err), MH_OK);
    ck_assert_int_eq(mh_evwriter_close(w, err, sizeof err), MH_OK);
    mh_evreader *r = NULL;
    ck_assert_msg(mh_evreader_open(path, 0, &r, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_uint_eq(mh_evreader_info(r)->nevents, 0);
    ck_assert_uint_eq(mh_evreader_info(r)->nclusters, 0);
    mh_rawevent *ev = mh_rawevent_create();
    ck_assert_int_eq(mh_evreader_next(r, ev, err, sizeof err), MH_END);
    ck_assert_int_eq(mh_evreader_seek(r, 0, err, sizeof err), MH_END);
    mh_evcluster *c = NULL;
    ck_assert_int_eq(mh_evreader_read_cluster(r, 0, &c, err, sizeof err), MH_INVALID);
    mh_rawevent_free(ev);
    mh_evreader_close(r);
}
END_TEST

START_TEST(seek_to_any_event)
{
    char err[512] = "";
    mhT_write(path, 100, 16);
    mh_evreader *r = NULL;
    ck_assert_int_eq(mh_evreader_open(path, 0, &r, err, sizeof err), MH_OK);
    static const uint64_t idx[] = {0, 15, 16, 17, 99, 50, 3, 3, 64, 63, 98};
    mh_rawevent *want = mh_rawevent_create(), *got = mh_rawevent_create();
    for (size_t k = 0; k < sizeof idx / sizeof idx[0]; k++) {
        uint64_t i = idx[k];
        ck_assert_int_eq(mh_evreader_seek(r, i, err, sizeof err), MH_OK);
        mhT_fill(want, i, mhT_nd(i), mhT_nj(i));
        ck_assert_int_eq(mh_evreader_next(r, got, err, sizeof err), MH_OK);
        ck_assert_msg(mh_rawevent_equal(want, got), "seek %llu", (unsigned long long)i);
        if (i + 1 < 100) { /* and streaming continues from there */
            mhT_fill(want, i + 1, mhT_nd(i + 1), mhT_nj(i + 1));
            ck_assert_int_eq(mh_evreader_next(r, got, err, sizeof err), MH_OK);
            ck_assert(mh_rawevent_equal(want, got));
        }
    }
    ck_assert_int_eq(mh_evreader_seek(r, 100, err, sizeof err), MH_END);
    ck_assert_int_eq(mh_evreader_next(r, got, err, sizeof err), MH_END);
    ck_assert_int_eq(mh_evreader_seek(r, 0, err, sizeof err), MH_OK);
    ck_assert_int_eq(mh_evreader_next(r, got, err, sizeof err), MH_OK);
    ck_assert_uint_eq(got->event, 1000000);
    mh_rawevent_free(want);
    mh_rawevent_free(got);
    mh_evreader_close(r);
}
END_TEST

typedef struct decode_job {
    mh_evcluster *c;
    mh_rawevent **evs;
    mh_status st;
    char err[256];
} decode_job;

static void *decode_thread(void *arg)
{
    decode_job *j = arg;
    j->st = mh_evcluster_decode(j->c, j->evs, j->err, sizeof j->err);
    return NULL;
}

START_TEST(cluster_api_decodes_on_other_threads)
{
    char err[512] = "";
    mhT_write(path, 90, 8);
    mh_evreader *r = NULL;
    ck_assert_int_eq(mh_evreader_open(path, 0, &r, err, sizeof err), MH_OK);
    uint32_t nc = mh_evreader_info(r)->nclusters;
    ck_assert_uint_eq(nc, 12);
    decode_job jobs[12];
    pthread_t th[12];
    for (uint32_t c = 0; c < nc; c++) { /* serial I/O ... */
        ck_assert_int_eq(mh_evreader_read_cluster(r, c, &jobs[c].c, err, sizeof err), MH_OK);
        ck_assert_uint_eq(jobs[c].c->index, c);
        ck_assert_uint_eq(jobs[c].c->first_event, 8u * c);
        ck_assert_uint_eq(jobs[c].c->nevents, c == 11 ? 2 : 8);
        jobs[c].evs = calloc(jobs[c].c->nevents, sizeof *jobs[c].evs);
        for (uint32_t i = 0; i < jobs[c].c->nevents; i++)
            jobs[c].evs[i] = mh_rawevent_create();
    }
    mh_evreader_close(r); /* clusters stay usable without the reader */
    for (uint32_t c = 0; c < nc; c++) /* ... parallel decoding */
        ck_assert_int_eq(pthread_create(&th[c], NULL, decode_thread, &jobs[c]), 0);
    mh_rawevent *want = mh_rawevent_create();
    for (uint32_t c = 0; c < nc; c++) {
        pthread_join(th[c], NULL);
        ck_assert_msg(jobs[c].st == MH_OK, "%s", jobs[c].err);
        for (uint32_t i = 0; i < jobs[c].c->nevents; i++) {
            uint64_t e = jobs[c].c->first_event + i;
            mhT_fill(want, e, mhT_nd(e), mhT_nj(e));
            ck_assert(mh_rawevent_equal(want, jobs[c].evs[i]));
            mh_rawevent_free(jobs[c].evs[i]);
        }
        free(jobs[c].evs);
        mh_evcluster_free(jobs[c].c);
    }
    mh_rawevent_free(want);
    mh_evcluster_free(NULL);
}
END_TEST

typedef struct encode_job {
    uint64_t first;
    uint32_t n;
    mh_evframe *f;
    mh_status st;
} encode_job;

static void *encode_thread(void *arg)
{
    encode_job *j = arg;
    mh_rawevent *evs[10];
    for (uint32_t i = 0; i < j->n; i++) {
        evs[i] = mh_rawevent_create();
        mhT_fill(evs[i], j->first + i, mhT_nd(j->first + i), mhT_nj(j->first + i));
    }
    j->st = mh_evframe_encode(evs, j->n, 0, &j->f, NULL, 0);
    for (uint32_t i = 0; i < j->n; i++)
        mh_rawevent_free(evs[i]);
    return NULL;
}

/* Clusters compressed on worker threads and appended in order, mixed with
 * events written one by one, read back as one standard sequence. */
START_TEST(parallel_frames_round_trip)
{
    char err[512] = "";
    mh_evwriter *w = NULL;
    mh_evwriter_opts o = {4, 0};
    ck_assert_int_eq(mh_evwriter_open(path, NULL, &o, &w, err, sizeof err), MH_OK);
    mh_rawevent *ev = mh_rawevent_create();
    for (uint64_t i = 0; i < 3; i++) { /* events 0..2: a pending short cluster */
        mhT_fill(ev, i, mhT_nd(i), mhT_nj(i));
        ck_assert_int_eq(mh_evwriter_write(w, ev, err, sizeof err), MH_OK);
    }
    encode_job jobs[4] = {{3, 10, NULL, MH_OK}, {13, 1, NULL, MH_OK}, {14, 7, NULL, MH_OK},
                          {21, 10, NULL, MH_OK}};
    pthread_t th[4];
    for (int k = 0; k < 4; k++)
        ck_assert_int_eq(pthread_create(&th[k], NULL, encode_thread, &jobs[k]), 0);
    for (int k = 0; k < 4; k++) {
        pthread_join(th[k], NULL);
        ck_assert_int_eq(jobs[k].st, MH_OK);
        ck_assert_uint_eq(mh_evframe_nevents(jobs[k].f), jobs[k].n);
        ck_assert_msg(mh_evwriter_write_frame(w, jobs[k].f, err, sizeof err) == MH_OK, "%s", err);
        mh_evframe_free(jobs[k].f);
    }
    for (uint64_t i = 31; i < 36; i++) { /* and one by one again: 4 + 1 */
        mhT_fill(ev, i, mhT_nd(i), mhT_nj(i));
        ck_assert_int_eq(mh_evwriter_write(w, ev, err, sizeof err), MH_OK);
    }
    ck_assert_msg(mh_evwriter_close(w, err, sizeof err) == MH_OK, "%s", err);

    mh_evreader *r = NULL;
    ck_assert_int_eq(mh_evreader_open(path, 0, &r, err, sizeof err), MH_OK);
    ck_assert_uint_eq(mh_evreader_info(r)->nclusters, 7);
    static const uint32_t nev[7] = {3, 10, 1, 7, 10, 4, 1};
    uint64_t first = 0;
    for (uint32_t c = 0; c < 7; c++) {
        uint32_t n = 0;
        uint64_t f0 = 0;
        ck_assert_int_eq(mh_evreader_cluster_at(r, c, NULL, NULL, &n, &f0), MH_OK);
        ck_assert_uint_eq(n, nev[c]);
        ck_assert_uint_eq(f0, first);
        first += n;
    }
    ck_assert_int_eq(mh_evreader_cluster_at(r, 7, NULL, NULL, NULL, NULL), MH_INVALID);
    mh_evreader_close(r);
    check_standard(path, 36, 0);

    mh_evframe *f = NULL;
    ck_assert_int_eq(mh_evframe_encode(&ev, 0, 0, &f, err, sizeof err), MH_INVALID);
    mhT_fill(ev, 0, 20001, 0);
    ck_assert_int_eq(mh_evframe_encode(&ev, 1, 0, &f, err, sizeof err), MH_INVALID);
    ck_assert_ptr_null(f);
    mh_evframe_free(NULL);
    mh_rawevent_free(ev);
}
END_TEST

START_TEST(metadata_set_get_validate)
{
    mh_evmeta *m = mh_evmeta_create();
    ck_assert_uint_eq(mh_evmeta_count(m), 0);
    ck_assert_ptr_null(mh_evmeta_get(m, "a"));
    ck_assert_int_eq(mh_evmeta_set(m, "a", "1"), MH_OK);
    ck_assert_int_eq(mh_evmeta_set(m, "b.c-d_e", "x y = z"), MH_OK);
    ck_assert_int_eq(mh_evmeta_set(m, "a", "2"), MH_OK);
    ck_assert_uint_eq(mh_evmeta_count(m), 2);
    ck_assert_str_eq(mh_evmeta_get(m, "a"), "2");
    static const char *bad[] = {"", "a b", "a=b", "tab\tkey", "nl\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_int_eq(mh_evmeta_set(m, bad[i], "v"), MH_INVALID);
    char longkey[300];
    memset(longkey, 'k', sizeof longkey - 1);
    longkey[sizeof longkey - 1] = '\0';
    ck_assert_int_eq(mh_evmeta_set(m, longkey, "v"), MH_INVALID);
    ck_assert_int_eq(mh_evmeta_set(m, "k", NULL), MH_INVALID);
    ck_assert_uint_eq(mh_evmeta_count(m), 2);
    mh_evmeta_free(m);
    mh_evmeta_free(NULL);
}
END_TEST

/* A newer minor version (1.3) adds a metadata entry of an unknown type:
 * a 1.0 reader opens the file, skips that entry and keeps the rest. */
START_TEST(metadata_unknown_types_skipped)
{
    char err[512] = "";
    mhT_write(path, 10, 4);
    mhT_buf f = mhT_slurp(path);
    uint64_t moff = mhT_meta_off(f);
    uint32_t msize = mhT_meta_size(f);
    /* New metadata block: the old entries plus one of type 7 in front. */
    static const char key[] = "future.blob";
    uint32_t extra = 8 + (uint32_t)strlen(key) + 5;
    size_t n2 = f.n + extra;
    uint8_t *b = malloc(n2);
    memcpy(b, f.b, moff);
    uint8_t *mb = b + moff;
    mh__st32(mb, mh__ld32(f.b + moff) + 1);
    mb[4] = 7;
    mb[5] = 0;
    mh__st16(mb + 6, (uint16_t)strlen(key));
    mh__st32(mb + 8, 5);
    memcpy(mb + 12, key, strlen(key));
    memcpy(mb + 12 + strlen(key), "\0\1\2\3\4", 5); /* not a string: NULs */
    memcpy(mb + 4 + extra, f.b + moff + 4, f.n - moff - 4);
    mhT_buf g = {b, n2};
    uint8_t *ft = mhT_foot(g);
    mh__st64(ft + 8, mh__ld64(ft + 8) + extra); /* index moved */
    mh__st32(ft + 24, msize + extra);
    mhT_fix_meta(g);
    mh__st16(g.b + 6, 3); /* version 1.3 */
    mhT_fix_header(g);
    mhT_spit(path, g.b, g.n);

    mh_evreader *r = NULL;
    ck_assert_msg(mh_evreader_open(path, 0, &r, err, sizeof err) == MH_OK, "%s", err);
    const mh_evfile_info *info = mh_evreader_info(r);
    ck_assert_uint_eq(info->version_minor, 3);
    ck_assert_ptr_null(mh_evmeta_get(info->meta, "future.blob"));
    ck_assert_str_eq(mh_evmeta_get(info->meta, "generator"), "evtest");
    ck_assert_str_eq(mh_evmeta_get(info->meta, "event_count"), "10");
    mh_evreader_close(r);
    uint64_t n = 0;
    ck_assert_int_eq(mhT_read_all(path, 0, &n, err, sizeof err), MH_OK);
    ck_assert_uint_eq(n, 10);
    free(f.b);
    free(b);
}
END_TEST

START_TEST(crc32c_known_values)
{
    ck_assert_uint_eq(mh__crc32c(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(mh__crc32c_portable(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(mh__crc32c(0, "", 0), 0);
    uint8_t buf[1000];
    uint64_t s = 5;
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)mhT_rand(&s);
    for (size_t off = 0; off < 9; off++)
        for (size_t n = 0; n < 40; n += 3) {
            uint32_t a = mh__crc32c(0, buf + off, n + 900);
            ck_assert_uint_eq(a, mh__crc32c_portable(0, buf + off, n + 900));
            /* incremental == one shot */
            uint32_t part = mh__crc32c(0, buf + off, n);
            ck_assert_uint_eq(mh__crc32c(part, buf + off + n, 900), a);
        }
}
END_TEST

START_TEST(writer_abort_leaves_nothing)
{
    char err[512] = "";
    mh_evwriter *w = NULL;
    ck_assert_int_eq(mh_evwriter_open(path, NULL, NULL, &w, err, sizeof err), MH_OK);
    ck_assert_int_eq(mhT_count_files(dir), 1); /* the temporary */
    mh_rawevent *ev = mh_rawevent_create();
    mhT_fill(ev, 0, 10, 1);
    ck_assert_int_eq(mh_evwriter_write(w, ev, err, sizeof err), MH_OK);
    mh_rawevent_free(ev);
    mh_evwriter_abort(w);
    mh_evwriter_abort(NULL);
    ck_assert_int_eq(mhT_count_files(dir), 0);
    ck_assert_int_eq(access(path, F_OK), -1);
}
END_TEST

START_TEST(writer_unwritable_directory)
{
    char err[512] = "";
    mh_evwriter *w = (mh_evwriter *)1;
    char p[200];
    snprintf(p, sizeof p, "%s/no/such/dir/x.mhe", dir);
    ck_assert_int_eq(mh_evwriter_open(p, NULL, NULL, &w, err, sizeof err), MH_IO);
    ck_assert_ptr_null(w);
    ck_assert_msg(strstr(err, p) && strstr(err, "cannot create temporary file") &&
                      strstr(err, strerror(ENOENT)),
                  "%s", err);
    /* A read-only directory: EACCES for ordinary users; root ignores
     * permissions, so it gets a read-only file system (/proc) instead. */
    if (geteuid() != 0) {
        char ro[128];
        snprintf(ro, sizeof ro, "%s/ro", dir);
        ck_assert_int_eq(mkdir(ro, 0500), 0);
        snprintf(p, sizeof p, "%s/x.mhe", ro);
        ck_assert_int_eq(mh_evwriter_open(p, NULL, NULL, &w, err, sizeof err), MH_IO);
        ck_assert_msg(strstr(err, strerror(EACCES)), "%s", err);
        ck_assert_int_eq(mhT_count_files(ro), 0);
        rmdir(ro);
    } else {
        ck_assert_int_eq(mh_evwriter_open("/proc/x.mhe", NULL, NULL, &w, err, sizeof err), MH_IO);
        ck_assert_msg(strstr(err, "/proc/x.mhe: cannot create temporary file"), "%s", err);
    }
    ck_assert_int_eq(mhT_count_files(dir), 0);
}
END_TEST

/* A full disk: RLIMIT_FSIZE makes write() fail (EFBIG) like ENOSPC would.
 * The writer reports the file, the byte offset and the reason, stays
 * failed, and close removes the temporary file. (Check forks each test, so
 * the limit stays in this test.) */
START_TEST(writer_write_failure_is_clean)
{
    char err[512] = "";
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {20000, 20000};
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    mh_evwriter *w = NULL;
    mh_evwriter_opts o = {1, 1};
    ck_assert_int_eq(mh_evwriter_open(path, NULL, &o, &w, err, sizeof err), MH_OK);
    mh_rawevent *ev = mh_rawevent_create();
    mh_status st = MH_OK;
    for (int i = 0; i < 100 && st == MH_OK; i++) {
        mhT_fill(ev, (uint64_t)i, 2000, 0); /* random ADCs: ~30 kB frames */
        st = mh_evwriter_write(w, ev, err, sizeof err);
    }
    ck_assert_int_eq(st, MH_IO);
    ck_assert_msg(strstr(err, path) && strstr(err, "write failed at byte") &&
                      strstr(err, strerror(EFBIG)),
                  "%s", err);
    ck_assert_int_eq(mh_evwriter_write(w, ev, err, sizeof err), MH_IO);
    ck_assert_int_eq(mh_evwriter_close(w, err, sizeof err), MH_IO);
    mh_rawevent_free(ev);
    ck_assert_int_eq(mhT_count_files(dir), 0);
}
END_TEST

START_TEST(writer_rejects_bad_options)
{
    char err[512] = "";
    mh_evwriter *w = NULL;
    mh_evwriter_opts o = {70000, 0};
    ck_assert_int_eq(mh_evwriter_open(path, NULL, &o, &w, err, sizeof err), MH_INVALID);
    o.events_per_cluster = 0;
    o.zstd_level = 99;
    ck_assert_int_eq(mh_evwriter_open(path, NULL, &o, &w, err, sizeof err), MH_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "zstd level 99"));
    ck_assert_int_eq(mhT_count_files(dir), 0);
}
END_TEST

/* The committed golden file tests/io/golden-1.0.mhe (written once by this
 * test with MH_WRITE_GOLDEN=1) must keep reading back the same events: a
 * guard against changing the 1.0 layout by accident. */
#define GOLDEN "tests/io/golden-1.0.mhe"
#define GOLDEN_UUID "4f1e0c1a-6d0b-4c55-9a8e-3f1a2b3c4d5e"

START_TEST(golden_file_reads_back)
{
    char err[512] = "";
    if (getenv("MH_WRITE_GOLDEN")) {
        mhT_write(GOLDEN, 12, 5);
        mhT_buf f = mhT_slurp(GOLDEN); /* a fixed UUID, for the test below */
        static const uint8_t u[16] = {0x4f, 0x1e, 0x0c, 0x1a, 0x6d, 0x0b, 0x4c, 0x55,
                                      0x9a, 0x8e, 0x3f, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e};
        memcpy(f.b + 8, u, 16);
        mhT_fix_header(f);
        mhT_spit(GOLDEN, f.b, f.n);
        free(f.b);
    }
    ck_assert_msg(access(GOLDEN, R_OK) == 0, "%s not found (run from the source tree)", GOLDEN);
    mh_evreader *r = NULL;
    ck_assert_msg(mh_evreader_open(GOLDEN, 0, &r, err, sizeof err) == MH_OK, "%s", err);
    const mh_evfile_info *info = mh_evreader_info(r);
    ck_assert_str_eq(info->uuid, GOLDEN_UUID);
    ck_assert_uint_eq(info->nclusters, 3);
    ck_assert_str_eq(mh_evmeta_get(info->meta, "generator"), "evtest");
    mh_evreader_close(r);
    check_standard(GOLDEN, 12, 5);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("evfile");
    TCase *tc = tcase_create("roundtrip");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, round_trip_cluster_layouts);
    tcase_add_test(tc, round_trip_metadata_and_info);
    tcase_add_test(tc, round_trip_extremes);
    tcase_add_test(tc, empty_file);
    tcase_add_test(tc, seek_to_any_event);
    tcase_add_test(tc, cluster_api_decodes_on_other_threads);
    tcase_add_test(tc, parallel_frames_round_trip);
    tcase_add_test(tc, metadata_set_get_validate);
    tcase_add_test(tc, metadata_unknown_types_skipped);
    tcase_add_test(tc, crc32c_known_values);
    tcase_add_test(tc, golden_file_reads_back);
    suite_add_tcase(s, tc);
    TCase *tw = tcase_create("writer");
    tcase_add_checked_fixture(tw, setup, teardown);
    tcase_add_test(tw, writer_abort_leaves_nothing);
    tcase_add_test(tw, writer_unwritable_directory);
    tcase_add_test(tw, writer_write_failure_is_clean);
    tcase_add_test(tw, writer_rejects_bad_options);
    suite_add_tcase(s, tw);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
