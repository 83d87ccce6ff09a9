/* mh_config.h - menus: the YAML configuration of a minihlt process.
 *
 * A menu file (see configs/README.md for the schema) has the sections
 * `process`, `source`, `modules`, `paths`, `end_paths` and `groups`.
 * mh_menu_load() parses it with libfyaml, applies `--set a.b=value`
 * overrides, checks the structure (types, unknown section keys, module
 * labels used by paths exist, ...) and returns an mh_menu.
 *
 * Module parameters are not interpreted here: each module's parameters are
 * handed on as a configuration node (mh_cfg_node), and the framework checks
 * them against the parameters the module type declares. Every node knows its
 * file, line and column so that errors can point at it.
 */
#ifndef MH_CONFIG_H
#define MH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mh_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configuration nodes (a read-only view of the YAML tree) --------- */

typedef struct mh_cfg_node mh_cfg_node;

typedef enum mh_cfg_kind {
    MH_CFG_NULL,     /* `~`, `null` or an empty value */
    MH_CFG_SCALAR,   /* any scalar; convert with mh_cfg_as_*() */
    MH_CFG_SEQ,
    MH_CFG_MAP
} mh_cfg_kind;

mh_cfg_kind mh_cfg_kind_of(const mh_cfg_node *n);
/* Text of a scalar (NUL-terminated), NULL if n is not a scalar. */
const char *mh_cfg_scalar(const mh_cfg_node *n);
/* Number of children of a sequence or mapping; 0 otherwise. */
size_t mh_cfg_count(const mh_cfg_node *n);
/* i-th child; for a mapping *key (if key != NULL) receives its key. */
const mh_cfg_node *mh_cfg_at(const mh_cfg_node *n, size_t i, const char **key);
/* Child of a mapping by key, NULL if absent or n is not a mapping. */
const mh_cfg_node *mh_cfg_get(const mh_cfg_node *map, const char *key);
/* Where the node starts: file name, 1-based line and column. */
const char *mh_cfg_file(const mh_cfg_node *n);
int mh_cfg_line(const mh_cfg_node *n);
int mh_cfg_column(const mh_cfg_node *n);

/* Key node of the i-th entry of a mapping (a scalar, with its own file,
 * line and column), NULL if n is not a mapping or i is out of range. Use it
 * to point an error at a key, e.g. an unknown parameter name. */
const mh_cfg_node *mh_cfg_key_at(const mh_cfg_node *n, size_t i);

/* Writes "FILE:LINE:COL: " + the printf-style message into err (only the
 * message if n is NULL) and returns st. */
mh_status mh_cfg_fail(const mh_cfg_node *n, char *err, size_t errlen, mh_status st,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Strict scalar conversions (YAML 1.2 core schema, see sim/config/README.md):
 * bool takes true/True/TRUE/false/False/FALSE only (not yes/no/on/off);
 * int takes a plain [-+]digits, 0x hex or 0o octal integer in int64 range;
 * double takes plain ints and decimal floats (no .inf/.nan); a quoted
 * scalar is always a string. The string of mh_cfg_as_string belongs to
 * the menu.  Return MH_PARAM with a detail naming
 * "FILE:LINE:COL: what: expected TYPE, got 'TEXT'" on a type mismatch.
 * `what` is a label for the message (e.g. "hbheReco.nMaxItersMin"). */
mh_status mh_cfg_as_bool(const mh_cfg_node *n, const char *what, bool *out, char *err, size_t errlen);
mh_status mh_cfg_as_int(const mh_cfg_node *n, const char *what, int64_t *out, char *err, size_t errlen);
mh_status mh_cfg_as_double(const mh_cfg_node *n, const char *what, double *out, char *err, size_t errlen);
mh_status mh_cfg_as_string(const mh_cfg_node *n, const char *what, const char **out, char *err, size_t errlen);

/* ---- the menu ------------------------------------------------------- */

typedef enum mh_on_error {
    MH_ON_ERROR_SKIP_EVENT,  /* `skip-event`: mark the event failed, go on */
    MH_ON_ERROR_STOP         /* `stop`: stop the run at the first failure */
} mh_on_error;

typedef struct mh_menu_module {
    const char *label;            /* key under `modules:` */
    const char *plugin;           /* module type name, the `plugin:` key */
    const mh_cfg_node *params;    /* the module's mapping (includes `plugin`) */
} mh_menu_module;

typedef struct mh_menu_path {
    const char *name;
    const char **modules;         /* labels, in order */
    size_t nmodules;
    uint32_t prescale;            /* 1 = every event; 0 = path disabled */
    const mh_cfg_node *node;
} mh_menu_path;

typedef struct mh_menu_group {
    const char *name;
    const char **modules;         /* labels */
    size_t nmodules;
} mh_menu_group;

typedef struct mh_menu {
    const char *file;             /* path of the YAML file */
    const char *process_name;     /* default "HLT" */
    int threads;                  /* 0 = number of cores */
    int streams;                  /* 0 = number of cores */
    mh_on_error on_error;         /* default skip-event */
    double time_scale;            /* multiplies emulated module costs; default 1 */

    /* source */
    const char *input;            /* .mhe path; NULL if none given */
    int64_t events;               /* -1 = all */
    int64_t skip;                 /* events to skip at the start */
    int64_t loop;                 /* replay the sample this many times, >= 1 */
    bool skip_bad;                /* skip damaged clusters */

    mh_menu_module *modules;  size_t nmodules;
    mh_menu_path *paths;      size_t npaths;
    mh_menu_path *end_paths;  size_t nend_paths;
    mh_menu_group *groups;    size_t ngroups;

    const mh_cfg_node *root;      /* whole document, e.g. for the report */
} mh_menu;

/* Loads and checks a menu. overrides are "a.b.c=value" strings applied to
 * the YAML tree before checking (value parsed as YAML flow, so `--set
 * modules.hbheReco.plugin=hcal_facile` and `--set paths.P=[a,b]` work).
 * On success *out is owned by the caller (mh_menu_free). */
mh_status mh_menu_load(const char *path, const char *const *overrides, size_t noverrides,
                       mh_menu **out, char *err, size_t errlen);

/* Same as mh_menu_load() for a menu held in memory: text[0..len) (need not
 * be NUL-terminated; copied, the caller keeps it). name stands for the
 * file in m->file and in every error location. The text must be UTF-8
 * (MH_CONFIG naming the first bad byte otherwise) and at most 16 MiB. */
mh_status mh_menu_load_buffer(const char *name, const char *text, size_t len,
                              const char *const *overrides, size_t noverrides, mh_menu **out,
                              char *err, size_t errlen);

/* Frees a menu and the document its nodes point into; accepts NULL. */
void mh_menu_free(mh_menu *m);

/* Finds a module by label; NULL if absent. */
const mh_menu_module *mh_menu_find_module(const mh_menu *m, const char *label);

/* Writes the (overridden) document as YAML text into a malloc'd string,
 * for reports. Caller frees. NULL on failure. */
char *mh_menu_dump(const mh_menu *m);

#ifdef __cplusplus
}
#endif
#endif
