/* fuzz_facile_config.c - libFuzzer target: the FACILE model loader
 * (mh_facile_load_buffer: config.yaml through libfyaml and every shape
 * check, then the weights bytes, BatchNorm folding and layer building),
 * and a forward pass of an accepted model.
 *
 * Input: config.yaml text, then the separator line "#WEIGHTS\n", then the
 * raw bytes of weights.bin (no separator: no weights). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ml/mh_facile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MHF_SEP "\n#WEIGHTS\n"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *w = memmem(data, size, MHF_SEP, sizeof MHF_SEP - 1);
    size_t clen = w ? (size_t)(w - data) + 1 : size; /* the config keeps its '\n' */
    const uint8_t *weights = w ? w + sizeof MHF_SEP - 1 : NULL;
    size_t wlen = w ? size - (size_t)(weights - data) : 0;
    char err[512];
    mh_facile *m = NULL;
    mh_status st = mh_facile_load_buffer("fuzz", (const char *)data, clen, weights, wlen, &m, err,
                                         sizeof err);
    if (st == MH_OK) {
        size_t nin = mh_facile_num_inputs(m), nout = mh_facile_num_outputs(m);
        mh_facile_layer_view v;
        if (!nin || !nout || mh_facile_layer(m, mh_facile_num_layers(m) - 1, &v) != MH_OK ||
            v.out != nout)
            abort();
        enum { ROWS = 3 };
        float *in = calloc(ROWS * nin, sizeof *in), *out = calloc(ROWS * nout, sizeof *out);
        if (in && out) {
            for (size_t i = 0; i < ROWS * nin; i++)
                in[i] = (float)(i % 7) - 3.0f;
            if (mh_facile_forward(m, in, ROWS, out, NULL, 0, err, sizeof err) != MH_OK)
                abort();
        }
        free(in);
        free(out);
    } else if (m || !err[0]) {
        abort();
    }
    mh_facile_free(m);
    return 0;
}
