/* rawevent.c - allocation and comparison of raw events. */
#include "io/mh_rawevent.h"

#include <stdlib.h>
#include <string.h>

mh_rawevent *mh_rawevent_create(void)
{
    return calloc(1, sizeof(mh_rawevent));
}

void mh_rawevent_free(mh_rawevent *ev)
{
    if (!ev)
        return;
    free(ev->channel);
    free(ev->adc);
    free(ev->capid);
    free(ev->soi);
    free(ev->true_e_hard);
    free(ev->true_e_intime);
    free(ev->true_e_oot);
    free(ev->genjets);
    free(ev);
}

static int mh__grow(void **p, size_t elem, size_t n)
{
    void *q = realloc(*p, elem * (n ? n : 1));
    if (!q)
        return -1;
    *p = q;
    return 0;
}

mh_status mh_rawevent_reserve(mh_rawevent *ev, uint32_t ndigis, uint32_t ngenjets)
{
    if (ndigis > ev->digi_cap || !ev->channel) {
        uint32_t cap = ev->digi_cap ? ev->digi_cap : 64;
        while (cap < ndigis)
            cap *= 2;
        if (mh__grow((void **)&ev->channel, sizeof(uint32_t), cap) ||
            mh__grow((void **)&ev->adc, MH_NSAMPLES, cap) ||
            mh__grow((void **)&ev->capid, MH_NSAMPLES, cap) ||
            mh__grow((void **)&ev->soi, MH_NSAMPLES, cap) ||
            mh__grow((void **)&ev->true_e_hard, sizeof(float), cap) ||
            mh__grow((void **)&ev->true_e_intime, sizeof(float), cap) ||
            mh__grow((void **)&ev->true_e_oot, sizeof(float), cap))
            return MH_NOMEM;
        ev->digi_cap = cap;
    }
    if (ngenjets > ev->genjet_cap || !ev->genjets) {
        uint32_t cap = ev->genjet_cap ? ev->genjet_cap : 16;
        while (cap < ngenjets)
            cap *= 2;
        if (mh__grow((void **)&ev->genjets, sizeof(mh_genjet), cap))
            return MH_NOMEM;
        ev->genjet_cap = cap;
    }
    return MH_OK;
}

void mh_rawevent_clear(mh_rawevent *ev)
{
    ev->run = ev->lumi = 0;
    ev->event = 0;
    ev->bx = 0;
    ev->pileup_true = 0.0f;
    ev->pileup_intime = 0;
    ev->ndigis = 0;
    ev->ngenjets = 0;
    ev->gen_met = ev->gen_met_phi = 0.0f;
}

mh_status mh_rawevent_copy(mh_rawevent *dst, const mh_rawevent *src)
{
    mh_status st = mh_rawevent_reserve(dst, src->ndigis, src->ngenjets);
    if (st != MH_OK)
        return st;
    dst->run = src->run;
    dst->lumi = src->lumi;
    dst->event = src->event;
    dst->bx = src->bx;
    dst->pileup_true = src->pileup_true;
    dst->pileup_intime = src->pileup_intime;
    dst->ndigis = src->ndigis;
    size_t n = src->ndigis;
    if (n) {
        memcpy(dst->channel, src->channel, n * sizeof(uint32_t));
        memcpy(dst->adc, src->adc, n * MH_NSAMPLES);
        memcpy(dst->capid, src->capid, n * MH_NSAMPLES);
        memcpy(dst->soi, src->soi, n * MH_NSAMPLES);
        memcpy(dst->true_e_hard, src->true_e_hard, n * sizeof(float));
        memcpy(dst->true_e_intime, src->true_e_intime, n * sizeof(float));
        memcpy(dst->true_e_oot, src->true_e_oot, n * sizeof(float));
    }
    dst->ngenjets = src->ngenjets;
    if (src->ngenjets)
        memcpy(dst->genjets, src->genjets, src->ngenjets * sizeof(mh_genjet));
    dst->gen_met = src->gen_met;
    dst->gen_met_phi = src->gen_met_phi;
    return MH_OK;
}

/* Floats compare by bit pattern, like the arrays below: the format keeps
 * NaN payloads and signed zeros, and a NaN must equal its own copy (found by
 * tests/fuzz/fuzz_evcluster: an event with NaN pileup_true was "not equal"
 * to itself after a round trip). */
static int mh__same_bits(float x, float y)
{
    return memcmp(&x, &y, sizeof x) == 0;
}

int mh_rawevent_equal(const mh_rawevent *a, const mh_rawevent *b)
{
    if (a->run != b->run || a->lumi != b->lumi || a->event != b->event ||
        a->bx != b->bx || !mh__same_bits(a->pileup_true, b->pileup_true) ||
        a->pileup_intime != b->pileup_intime || a->ndigis != b->ndigis ||
        a->ngenjets != b->ngenjets || !mh__same_bits(a->gen_met, b->gen_met) ||
        !mh__same_bits(a->gen_met_phi, b->gen_met_phi))
        return 0;
    size_t n = a->ndigis;
    if (n && (memcmp(a->channel, b->channel, n * sizeof(uint32_t)) ||
              memcmp(a->adc, b->adc, n * MH_NSAMPLES) ||
              memcmp(a->capid, b->capid, n * MH_NSAMPLES) ||
              memcmp(a->soi, b->soi, n * MH_NSAMPLES) ||
              memcmp(a->true_e_hard, b->true_e_hard, n * sizeof(float)) ||
              memcmp(a->true_e_intime, b->true_e_intime, n * sizeof(float)) ||
              memcmp(a->true_e_oot, b->true_e_oot, n * sizeof(float))))
        return 0;
    if (a->ngenjets && memcmp(a->genjets, b->genjets, a->ngenjets * sizeof(mh_genjet)))
        return 0;
    return 1;
}
