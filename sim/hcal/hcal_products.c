/* hcal_products.c - allocation of the HCAL and calorimeter event products.
 *
 * Each product is one malloc'd block: the struct, then its arrays, each
 * aligned to 64 bytes so that vector loops over them start on a cache line.
 * One block means one free() when the event ends, whatever the product. */
#include "hcal/mh_hcal_products.h"

#include <stdlib.h>
#include <string.h>

#define ALIGN 64u

/* A block layout under construction: offsets of the arrays after the
 * struct, then one allocation. */
typedef struct layout {
    size_t size;
    int overflow;
} layout;

static size_t round_up(size_t x)
{
    return (x + ALIGN - 1) / ALIGN * ALIGN;
}

/* Reserves count elements of elsize bytes; returns the array's offset. */
static size_t reserve(layout *lo, size_t count, size_t elsize)
{
    size_t off = round_up(lo->size);
    if (elsize != 0 && count > (SIZE_MAX / 2 - off) / elsize) {
        lo->overflow = 1;
        return 0;
    }
    lo->size = off + count * elsize;
    return off;
}

static void *alloc_block(layout *lo, int zero)
{
    if (lo->overflow)
        return NULL;
    size_t size = round_up(lo->size == 0 ? 1 : lo->size);
    void *p = aligned_alloc(ALIGN, size);
    if (p != NULL && zero)
        memset(p, 0, size);
    return p;
}

mh_hcal_digis *mh_hcal_digis_create(uint32_t n)
{
    const size_t nt = (size_t)n * MH_HCAL_PROD_NTS;
    layout lo = {sizeof(mh_hcal_digis), 0};
    size_t o_ch = reserve(&lo, n, sizeof(uint32_t));
    size_t o_ieta = reserve(&lo, n, sizeof(int32_t));
    size_t o_iphi = reserve(&lo, n, sizeof(int32_t));
    size_t o_depth = reserve(&lo, n, sizeof(int32_t));
    size_t o_q = reserve(&lo, nt, sizeof(float));
    size_t o_w = reserve(&lo, nt, sizeof(float));
    size_t o_cap = reserve(&lo, nt, sizeof(uint8_t));
    size_t o_gain = reserve(&lo, n, sizeof(float));
    size_t o_pw = reserve(&lo, n, sizeof(float));
    size_t o_fpe = reserve(&lo, n, sizeof(float));
    char *b = alloc_block(&lo, 0);
    if (b == NULL)
        return NULL;
    mh_hcal_digis *d = (mh_hcal_digis *)b;
    memset(d, 0, sizeof *d);
    d->n = n;
    d->nsamples = MH_HCAL_PROD_NTS;
    d->channel = (uint32_t *)(b + o_ch);
    d->ieta = (int32_t *)(b + o_ieta);
    d->iphi = (int32_t *)(b + o_iphi);
    d->depth = (int32_t *)(b + o_depth);
    d->charge_fc = (float *)(b + o_q);
    d->adc_bin_width = (float *)(b + o_w);
    d->capid = (uint8_t *)(b + o_cap);
    d->gain = (float *)(b + o_gain);
    d->ped_width = (float *)(b + o_pw);
    d->fc_per_pe = (float *)(b + o_fpe);
    return d;
}

mh_hcal_rechits *mh_hcal_rechits_create(uint32_t n, const char *algo)
{
    layout lo = {sizeof(mh_hcal_rechits), 0};
    size_t o_ch = reserve(&lo, n, sizeof(uint32_t));
    size_t o_e = reserve(&lo, n, sizeof(float));
    size_t o_chi2 = reserve(&lo, n, sizeof(float));
    size_t o_t = reserve(&lo, n, sizeof(float));
    size_t o_oot = reserve(&lo, (size_t)n * MH_HCAL_PROD_NOOT, sizeof(float));
    size_t o_fl = reserve(&lo, n, sizeof(uint8_t));
    char *b = alloc_block(&lo, 1);
    if (b == NULL)
        return NULL;
    mh_hcal_rechits *r = (mh_hcal_rechits *)b;
    r->n = n;
    if (algo != NULL) {
        size_t len = strlen(algo);
        if (len >= sizeof r->algo)
            len = sizeof r->algo - 1;
        memcpy(r->algo, algo, len);
        r->algo[len] = '\0';
    }
    r->channel = (uint32_t *)(b + o_ch);
    r->energy = (float *)(b + o_e);
    r->chi2 = (float *)(b + o_chi2);
    r->time = (float *)(b + o_t);
    r->oot = (float *)(b + o_oot);
    r->flags = (uint8_t *)(b + o_fl);
    return r;
}

mh_calo_towers *mh_calo_towers_create(uint32_t n)
{
    layout lo = {sizeof(mh_calo_towers), 0};
    size_t o_ieta = reserve(&lo, n, sizeof(int32_t));
    size_t o_iphi = reserve(&lo, n, sizeof(int32_t));
    size_t o_eta = reserve(&lo, n, sizeof(float));
    size_t o_phi = reserve(&lo, n, sizeof(float));
    size_t o_e = reserve(&lo, n, sizeof(float));
    size_t o_et = reserve(&lo, n, sizeof(float));
    char *b = alloc_block(&lo, 0);
    if (b == NULL)
        return NULL;
    mh_calo_towers *t = (mh_calo_towers *)b;
    memset(t, 0, sizeof *t);
    t->n = n;
    t->ieta = (int32_t *)(b + o_ieta);
    t->iphi = (int32_t *)(b + o_iphi);
    t->eta = (float *)(b + o_eta);
    t->phi = (float *)(b + o_phi);
    t->e = (float *)(b + o_e);
    t->et = (float *)(b + o_et);
    return t;
}

mh_calo_jets *mh_calo_jets_create(uint32_t n)
{
    layout lo = {sizeof(mh_calo_jets), 0};
    size_t o_j = reserve(&lo, n, sizeof(mh_jet));
    char *b = alloc_block(&lo, 1);
    if (b == NULL)
        return NULL;
    mh_calo_jets *j = (mh_calo_jets *)b;
    j->n = n;
    j->jets = (mh_jet *)(b + o_j);
    return j;
}

void mh_hcal_product_free(void *product)
{
    free(product);
}
