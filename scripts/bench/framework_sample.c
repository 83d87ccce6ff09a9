/* framework_sample.c - writes the input of scripts/bench/framework.sh: N
 * small events (a few digis each) with the sim/io writer, so that the
 * benchmark measures the scheduler, not the generator or decompression.
 *   framework_sample N FILE */
#include <stdio.h>
#include <stdlib.h>

#include "io/mh_evfile.h"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: framework_sample N FILE\n");
        return 2;
    }
    char *end = NULL;
    unsigned long n = strtoul(argv[1], &end, 10);
    if (!*argv[1] || *end || n == 0 || n > 10000000ul) {
        fprintf(stderr, "framework_sample: N must be 1..10000000\n");
        return 2;
    }
    char err[512] = "";
    mh_evwriter *w = NULL;
    mh_evwriter_opts o = {256, 1};
    mh_rawevent *ev = mh_rawevent_create();
    if (!ev || mh_evwriter_open(argv[2], NULL, &o, &w, err, sizeof err) != MH_OK)
        goto fail;
    for (unsigned long i = 0; i < n; i++) {
        mh_rawevent_clear(ev);
        if (mh_rawevent_reserve(ev, 4, 0) != MH_OK)
            goto fail;
        ev->run = 1;
        ev->lumi = 1 + (uint32_t)(i / 1000);
        ev->event = i + 1;
        ev->bx = 1;
        ev->pileup_true = 50.0f;
        ev->ndigis = 4;
        for (uint32_t d = 0; d < 4; d++) {
            ev->channel[d] = d * 7;
            for (int k = 0; k < MH_NSAMPLES; k++) {
                ev->adc[d * MH_NSAMPLES + k] = (uint8_t)k;
                ev->capid[d * MH_NSAMPLES + k] = (uint8_t)(k & 3);
                ev->soi[d * MH_NSAMPLES + k] = k == MH_SOI;
            }
            ev->true_e_hard[d] = ev->true_e_intime[d] = ev->true_e_oot[d] = 0.0f;
        }
        if (mh_evwriter_write(w, ev, err, sizeof err) != MH_OK)
            goto fail;
    }
    mh_rawevent_free(ev);
    if (mh_evwriter_close(w, err, sizeof err) != MH_OK) {
        fprintf(stderr, "framework_sample: %s\n", err);
        return 1;
    }
    return 0;
fail:
    fprintf(stderr, "framework_sample: %s\n", err[0] ? err : "out of memory");
    mh_evwriter_abort(w);
    mh_rawevent_free(ev);
    return 1;
}
