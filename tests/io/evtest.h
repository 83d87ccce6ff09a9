/* evtest.h - helpers shared by the sim/io tests (header only, static).
 *
 * A small deterministic event filler (the generator is not needed to test
 * the file format), a temporary directory, whole-file read/write and
 * in-place surgery of .mhe files that keeps or recomputes checksums.
 */
#ifndef MH_TEST_EVTEST_H
#define MH_TEST_EVTEST_H

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/evfile_internal.h"
#include "io/mh_evfile.h"

static inline uint32_t mhT_rand(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*s >> 33);
}

/* Fills ev with a deterministic event number i: nd digis, nj generator
 * jets. Every 17th digi has an irregular capid or soi pattern (stored as an
 * exception), every 13th has no SOI flag. */
static inline void mhT_fill(mh_rawevent *ev, uint64_t i, uint32_t nd, uint32_t nj)
{
    uint64_t s = i * 7919u + 1;
    ck_assert_int_eq(mh_rawevent_reserve(ev, nd, nj), MH_OK);
    ev->run = 355000 + (uint32_t)(i / 1000);
    ev->lumi = 1 + (uint32_t)(i / 100);
    ev->event = 1000000 + i;
    ev->bx = (uint16_t)(1 + mhT_rand(&s) % 3564);
    ev->pileup_true = 40.0f + (float)(mhT_rand(&s) % 4000) / 100.0f;
    ev->pileup_intime = (uint16_t)(mhT_rand(&s) % 90);
    ev->ndigis = nd;
    uint32_t ch = mhT_rand(&s) % 7;
    for (uint32_t d = 0; d < nd; d++) {
        ch += 1 + mhT_rand(&s) % 3;
        ev->channel[d] = ch;
        uint8_t c0 = (uint8_t)(mhT_rand(&s) & 3);
        for (int k = 0; k < MH_NSAMPLES; k++) {
            size_t j = (size_t)d * MH_NSAMPLES + (size_t)k;
            ev->adc[j] = (uint8_t)(mhT_rand(&s) & 0xFF);
            ev->capid[j] = (uint8_t)((c0 + k) & 3);
            ev->soi[j] = (d % 13 != 5 && k == MH_SOI) ? 1 : 0;
        }
        if (d % 17 == 3)
            ev->capid[(size_t)d * MH_NSAMPLES + 4] ^= 1; /* broken rotation */
        if (d % 17 == 9)
            ev->soi[(size_t)d * MH_NSAMPLES + 7] = 1; /* two SOI flags */
        ev->true_e_hard[d] = (float)(mhT_rand(&s) % 1000) * 0.01f;
        ev->true_e_intime[d] = ev->true_e_hard[d] + (float)(mhT_rand(&s) % 1000) * 0.001f;
        ev->true_e_oot[d] = (float)(mhT_rand(&s) % 500) * 0.002f;
    }
    ev->ngenjets = nj;
    for (uint32_t j = 0; j < nj; j++) {
        ev->genjets[j].pt = 20.0f + (float)(mhT_rand(&s) % 20000) * 0.01f;
        ev->genjets[j].eta = -3.0f + (float)(mhT_rand(&s) % 600) * 0.01f;
        ev->genjets[j].phi = -3.14f + (float)(mhT_rand(&s) % 628) * 0.01f;
        ev->genjets[j].e = ev->genjets[j].pt * 1.5f;
    }
    ev->gen_met = (float)(mhT_rand(&s) % 10000) * 0.01f;
    ev->gen_met_phi = -3.14f + (float)(mhT_rand(&s) % 628) * 0.01f;
}

/* Digis and jets of event i in the standard test files: sizes vary, with
 * empty events (i % 10 == 7) and events without jets (i % 4 == 1). */
static inline uint32_t mhT_nd(uint64_t i) { return i % 10 == 7 ? 0 : (uint32_t)(5 + (i * 37) % 120); }
static inline uint32_t mhT_nj(uint64_t i) { return i % 4 == 1 ? 0 : (uint32_t)(1 + i % 6); }

/* Writes n standard events (mhT_fill with mhT_nd/mhT_nj) to path. */
static inline void mhT_write(const char *path, uint64_t n, uint32_t epc)
{
    char err[512] = "";
    mh_evmeta *m = mh_evmeta_create();
    ck_assert_int_eq(mh_evmeta_set(m, "generator", "evtest"), MH_OK);
    ck_assert_int_eq(mh_evmeta_set(m, "seed", "42"), MH_OK);
    mh_evwriter_opts o = {epc, 0};
    mh_evwriter *w = NULL;
    ck_assert_msg(mh_evwriter_open(path, m, &o, &w, err, sizeof err) == MH_OK, "%s", err);
    mh_evmeta_free(m);
    mh_rawevent *ev = mh_rawevent_create();
    for (uint64_t i = 0; i < n; i++) {
        mhT_fill(ev, i, mhT_nd(i), mhT_nj(i));
        ck_assert_msg(mh_evwriter_write(w, ev, err, sizeof err) == MH_OK, "%s", err);
    }
    mh_rawevent_free(ev);
    ck_assert_msg(mh_evwriter_close(w, err, sizeof err) == MH_OK, "%s", err);
}

/* A fresh temporary directory (removed by mhT_rmdir). */
static inline void mhT_mkdir(char dir[64])
{
    snprintf(dir, 64, "/tmp/mhe-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static inline int mhT_count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static inline void mhT_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    char p[512];
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    rmdir(dir);
}

typedef struct mhT_buf {
    uint8_t *b;
    size_t n;
} mhT_buf;

static inline mhT_buf mhT_slurp(const char *path)
{
    mhT_buf f = {NULL, 0};
    FILE *fp = fopen(path, "rb");
    ck_assert_ptr_nonnull(fp);
    fseek(fp, 0, SEEK_END);
    f.n = (size_t)ftell(fp);
    fseek(fp, 0, SEEK_SET);
    f.b = malloc(f.n ? f.n : 1);
    ck_assert_uint_eq(fread(f.b, 1, f.n, fp), f.n);
    fclose(fp);
    return f;
}

static inline void mhT_spit(const char *path, const uint8_t *b, size_t n)
{
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(b, 1, n, fp), n);
    fclose(fp);
}

/* Footer fields of a whole file in memory (sim/io/FORMAT.md, "Footer"). */
static inline uint8_t *mhT_foot(mhT_buf f) { return f.b + f.n - MH__EV_FOOTER_SIZE; }
static inline uint64_t mhT_meta_off(mhT_buf f) { return mh__ld64(mhT_foot(f)); }
static inline uint64_t mhT_index_off(mhT_buf f) { return mh__ld64(mhT_foot(f) + 8); }
static inline uint32_t mhT_meta_size(mhT_buf f) { return mh__ld32(mhT_foot(f) + 24); }
static inline uint32_t mhT_nclusters(mhT_buf f) { return mh__ld32(mhT_foot(f) + 40); }
static inline uint8_t *mhT_ixent(mhT_buf f, uint32_t c)
{
    return f.b + mhT_index_off(f) + (size_t)c * MH__EV_INDEX_ENTRY;
}

/* Recomputes the checksums after surgery, so that the bounds checks
 * themselves are tested rather than the CRCs. */
static inline void mhT_fix_header(mhT_buf f) { mh__st32(f.b + 28, mh__crc32c(0, f.b, 28)); }
static inline void mhT_fix_footer(mhT_buf f)
{
    uint8_t *ft = mhT_foot(f);
    mh__st32(ft + 48, mh__crc32c(0, ft, 48));
}
static inline void mhT_fix_index(mhT_buf f)
{
    uint8_t *ft = mhT_foot(f);
    mh__st32(ft + 36, mh__crc32c(0, f.b + mhT_index_off(f), mh__ld32(ft + 32)));
    mhT_fix_footer(f);
}
static inline void mhT_fix_meta(mhT_buf f)
{
    uint8_t *ft = mhT_foot(f);
    mh__st32(ft + 28, mh__crc32c(0, f.b + mhT_meta_off(f), mhT_meta_size(f)));
    mhT_fix_footer(f);
}

/* Opens path and reads every event; returns the first failure status (or
 * MH_OK) with its message in err. */
static inline mh_status mhT_read_all(const char *path, unsigned flags, uint64_t *nread,
                                     char *err, size_t errlen)
{
    mh_evreader *r = NULL;
    *nread = 0;
    mh_status st = mh_evreader_open(path, flags, &r, err, errlen);
    if (st != MH_OK)
        return st;
    mh_rawevent *ev = mh_rawevent_create();
    while ((st = mh_evreader_next(r, ev, err, errlen)) == MH_OK)
        (*nread)++;
    mh_rawevent_free(ev);
    mh_evreader_close(r);
    return st == MH_END ? MH_OK : st;
}

#endif
