/* fuzz_menu.c - libFuzzer target: the YAML menu loader (mh_menu_load_buffer:
 * libfyaml parsing, `--set` overrides, the mirror tree and every structural
 * check), then the dump of an accepted menu and the strict converters.
 *
 * Input: the menu text, optionally followed by a NUL byte and up to 4
 * NUL-separated override strings ("a.b=value"), so that the override
 * parser is fuzzed together with the document it edits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/mh_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MHF_MAX_SETS 4

/* Walks the mirror tree and runs every converter on every scalar. */
static void mhF_walk(const mh_cfg_node *n, int depth)
{
    char err[256];
    if (!n || depth > 64)
        return;
    if (mh_cfg_kind_of(n) == MH_CFG_SCALAR) {
        bool b;
        int64_t i;
        double d;
        const char *s;
        (void)mh_cfg_as_bool(n, "x", &b, err, sizeof err);
        (void)mh_cfg_as_int(n, "x", &i, err, sizeof err);
        (void)mh_cfg_as_double(n, "x", &d, err, sizeof err);
        if (mh_cfg_as_string(n, "x", &s, err, sizeof err) != MH_OK)
            abort(); /* any scalar is a string */
        (void)mh_cfg_fail(n, err, sizeof err, MH_PARAM, "%s", s);
    }
    for (size_t k = 0; k < mh_cfg_count(n); k++) {
        const char *key = NULL;
        mhF_walk(mh_cfg_at(n, k, &key), depth + 1);
        if (key && !mh_cfg_get(n, key))
            abort(); /* a key returned by mh_cfg_at is found by mh_cfg_get */
        (void)mh_cfg_key_at(n, k);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t tlen = size;
    const char *nul = memchr(data, 0, size);
    char *sets_buf = NULL;
    const char *sets[MHF_MAX_SETS];
    size_t nsets = 0;
    if (nul) {
        tlen = (size_t)(nul - text);
        size_t rest = size - tlen - 1;
        sets_buf = malloc(rest + 1);
        if (!sets_buf)
            return 0;
        memcpy(sets_buf, nul + 1, rest);
        sets_buf[rest] = 0;
        for (char *p = sets_buf; nsets < MHF_MAX_SETS && p < sets_buf + rest;
             p += strlen(p) + 1)
            sets[nsets++] = p;
    }
    char err[512];
    mh_menu *m = NULL;
    mh_status st = mh_menu_load_buffer("fuzz.yaml", text, tlen, sets, nsets, &m, err, sizeof err);
    /* The caller may free its override strings once the menu is loaded:
     * the menu must not point into them (ASan sees it in the dump below). */
    free(sets_buf);
    sets_buf = NULL;
    if (st == MH_OK) {
        if (!m || m->npaths == 0)
            abort(); /* `paths` is required */
        for (size_t i = 0; i < m->npaths; i++)
            for (size_t j = 0; j < m->paths[i].nmodules; j++)
                if (!mh_menu_find_module(m, m->paths[i].modules[j]))
                    abort(); /* paths list known labels only */
        mhF_walk(m->root, 0);
        free(mh_menu_dump(m));
    } else if (m || !err[0]) {
        abort(); /* a failure leaves no menu and always says why */
    }
    mh_menu_free(m);
    free(sets_buf);
    return 0;
}
