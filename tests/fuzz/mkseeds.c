/* mkseeds.c - writes the generated seed inputs of the fuzz corpora
 * (`make fuzz-seeds`): small .mhe files from the real writer for
 * fuzz_evfile and cluster inputs for fuzz_evcluster. The YAML seeds are
 * plain files, written by hand. Usage: mkseeds CORPUS_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "io/evfile_internal.h"
#include "io/mh_evfile.h"

/* Event i with nd digis (every 3rd one with an irregular capid rotation, so
 * that exceptions are present) and nj jets. */
static void fill(mh_rawevent *ev, uint32_t i, uint32_t nd, uint32_t nj)
{
    if (mh_rawevent_reserve(ev, nd, nj) != MH_OK)
        exit(1);
    ev->run = 355100;
    ev->lumi = 7;
    ev->event = 1000 + i;
    ev->bx = (uint16_t)(100 + i);
    ev->pileup_true = 55.5f;
    ev->pileup_intime = 54;
    ev->ndigis = nd;
    for (uint32_t d = 0; d < nd; d++) {
        ev->channel[d] = 10 * d + i;
        for (int k = 0; k < MH_NSAMPLES; k++) {
            size_t j = (size_t)d * MH_NSAMPLES + (size_t)k;
            ev->adc[j] = (uint8_t)(3 * d + (uint32_t)k);
            ev->capid[j] = (uint8_t)((d + (uint32_t)k) & 3);
            ev->soi[j] = k == MH_SOI;
        }
        if (d % 3 == 2)
            ev->capid[(size_t)d * MH_NSAMPLES + 5] ^= 1;
        ev->true_e_hard[d] = 1.5f * (float)d;
        ev->true_e_intime[d] = 2.0f * (float)d;
        ev->true_e_oot[d] = 0.25f;
    }
    ev->ngenjets = nj;
    for (uint32_t j = 0; j < nj; j++) {
        ev->genjets[j].pt = 30.0f + (float)j;
        ev->genjets[j].eta = 0.5f;
        ev->genjets[j].phi = -1.0f;
        ev->genjets[j].e = 45.0f;
    }
    ev->gen_met = 12.0f;
    ev->gen_met_phi = 0.3f;
}

static void write_file(const char *dir, const char *name, uint32_t n, uint32_t epc, int meta)
{
    char path[1024], err[512];
    snprintf(path, sizeof path, "%s/evfile/%s", dir, name);
    mh_evmeta *m = mh_evmeta_create();
    if (meta) {
        mh_evmeta_set(m, "generator", "mkseeds");
        mh_evmeta_set(m, "process", "ttbar");
    }
    mh_evwriter_opts o = {epc, 1};
    mh_evwriter *w;
    mh_rawevent *ev = mh_rawevent_create();
    if (mh_evwriter_open(path, m, &o, &w, err, sizeof err) != MH_OK)
        goto fail;
    for (uint32_t i = 0; i < n; i++) {
        fill(ev, i, i % 4 == 3 ? 0 : 1 + i % 5, i % 3);
        if (mh_evwriter_write(w, ev, err, sizeof err) != MH_OK)
            goto fail;
    }
    if (mh_evwriter_close(w, err, sizeof err) != MH_OK)
        goto fail;
    mh_rawevent_free(ev);
    mh_evmeta_free(m);
    return;
fail:
    fprintf(stderr, "mkseeds: %s\n", err);
    exit(1);
}

/* A fuzz_evcluster input: mode byte, nevents - 1, then the payload of n
 * events (mode 0) or its zstd frame (mode 1). */
static void write_cluster(const char *dir, const char *name, int mode, uint32_t n, uint32_t nd)
{
    uint8_t *payload = malloc(1 << 20);
    size_t len = 0;
    mh_rawevent *ev = mh_rawevent_create();
    for (uint32_t i = 0; i < n; i++) {
        fill(ev, i, nd, i % 2);
        len += mh__ev_record_encode(ev, payload + len);
    }
    mh_rawevent_free(ev);
    uint8_t *out = malloc(2 + ZSTD_compressBound(len));
    out[0] = (uint8_t)mode;
    out[1] = (uint8_t)(n - 1);
    size_t olen = len;
    if (mode & 1) {
        ZSTD_CCtx *cc = ZSTD_createCCtx();
        ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
        olen = ZSTD_compress2(cc, out + 2, ZSTD_compressBound(len), payload, len);
        ZSTD_freeCCtx(cc);
    } else {
        memcpy(out + 2, payload, len);
    }
    char path[1024];
    snprintf(path, sizeof path, "%s/evcluster/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(out, 1, 2 + olen, f) != 2 + olen || fclose(f)) {
        fprintf(stderr, "mkseeds: cannot write %s\n", path);
        exit(1);
    }
    free(out);
    free(payload);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mkseeds CORPUS_DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    write_file(dir, "empty.mhe", 0, 0, 0);
    write_file(dir, "one-event.mhe", 1, 0, 1);
    write_file(dir, "three-clusters.mhe", 5, 2, 1);
    write_cluster(dir, "payload-1ev", 0, 1, 3);
    write_cluster(dir, "payload-3ev", 0, 3, 2);
    write_cluster(dir, "payload-empty-ev", 0, 2, 0);
    write_cluster(dir, "frame-2ev", 1, 2, 3);
    return 0;
}
