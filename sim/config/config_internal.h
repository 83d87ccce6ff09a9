/* config_internal.h - internals shared by the files of sim/config.
 *
 * The menu keeps two trees: the libfyaml document (edited by overrides,
 * emitted by mh_menu_dump) and a read-only mirror of it made of mh_cfg_node,
 * built once after the overrides. The mirror carries what libfyaml 0.7 does
 * not expose for every node (a file, line and column for mappings and
 * sequences too, NUL-terminated scalar text, key nodes) and is plain memory,
 * so that any thread may read it.
 */
#ifndef MH_CONFIG_INTERNAL_H
#define MH_CONFIG_INTERNAL_H

#include <libfyaml.h>

#include "config/mh_config.h"

struct mh_cfg_node {
    mh_cfg_kind kind;
    bool quoted;              /* non-plain scalar ('..', "..", |, >): always a string */
    const char *file;         /* not owned: the menu's file name or override text */
    int line, column;         /* 1-based */
    char *text;               /* scalar (and null) text, owned */
    size_t n;                 /* children of a sequence or mapping */
    mh_cfg_node **items;      /* values, owned */
    mh_cfg_node **keys;       /* mapping keys (scalar nodes), owned; NULL for a sequence */
};

/* Where nodes that an override created or replaced come from: nodes under
 * `node` are located in `file` (the override text), at 1-based column
 * col0 + 1 + (token column), line 1 + (token line). */
typedef struct mh__cfg_origin {
    struct fy_node *node;
    const char *file;
    int col0;
} mh__cfg_origin;

/* Builds the mirror of fyn (NULL = the null node). Nodes are located in
 * `file`, except subtrees rooted at one of origins[]. Caller owns *out and
 * frees it with mh__cfg_free. Fails with MH_CONFIG on a non-scalar key. */
mh_status mh__cfg_build(struct fy_node *fyn, const char *file, const mh__cfg_origin *origins,
                        size_t norigins, mh_cfg_node **out, char *err, size_t errlen);
void mh__cfg_free(mh_cfg_node *n);

#endif
