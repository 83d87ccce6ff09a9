/* mh_module.h - the module ABI between the minihlt framework and plugins.
 *
 * A plugin is a shared object exporting one symbol, MH_PLUGIN_ENTRY_NAME, a
 * function returning a const mh_plugin *. The plugin table lists module
 * types; a module type is a table of functions. Every table starts with the
 * ABI version and its own size, and fields are only ever appended (never
 * inserted or reordered), so a host can load a plugin built against an older
 * header and read only the fields the plugin's struct_size covers
 * (SQLite's sqlite3_api_routines, nginx's ngx_module_t).
 *
 * The host passes its services in an mh_host table: plugins call the
 * framework only through it, so they link against nothing of the host's at
 * load time (no -rdynamic) and are built with -fvisibility=hidden.
 *
 * Life cycle of a module instance (one per menu label, shared by all
 * streams; it must be thread-safe for concurrent events):
 *   create()   at start-up: read parameters, declare consumed/produced
 *              products; errors name the module and the key.
 *   acquire()  optional, per event: start asynchronous external work (a
 *              device queue, a socket) and return at once; when the work is
 *              done, from any thread, call host->async_done(handle, ...).
 *              The worker thread never sleeps or spins waiting.
 *   produce()  per event (after acquire's work completed, if any): compute
 *              and put products; a filter sets its decision with
 *              host->set_pass().
 *   end_job()  optional, once after the last event (flush files, add
 *              report sections through host->report_*).
 *   destroy()  always, also after a failed create().
 */
#ifndef MH_MODULE_H
#define MH_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/mh_status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Version 1 of the ABI. A host accepts a plugin whose abi_version equals
 * its own major version and whose struct_size is at least the size of the
 * version-1 fields. */
#define MH_MODULE_ABI_VERSION 1u

/* The exported entry point: const mh_plugin *minihlt_plugin_entry(void). */
#define MH_PLUGIN_ENTRY_NAME "minihlt_plugin_entry"

struct mh_rawevent;

/* Opaque handles owned by the framework. */
typedef struct mh_event mh_event;         /* one event in flight */
typedef struct mh_params mh_params;       /* a module's validated parameters */
typedef struct mh_module_ctx mh_module_ctx; /* start-up context of one module */
typedef struct mh_async mh_async;         /* completion handle of acquire() */

typedef enum mh_param_type {
    MH_PARAM_INT = 1,      /* int64_t */
    MH_PARAM_DOUBLE,       /* double; integers are accepted */
    MH_PARAM_BOOL,         /* true/false */
    MH_PARAM_STRING,       /* any scalar */
    MH_PARAM_STRING_LIST,  /* a YAML sequence of scalars (or one scalar) */
    MH_PARAM_MAP           /* a YAML mapping, passed through as YAML text */
} mh_param_type;

/* One declared parameter. default_value NULL = required; for lists the
 * default is written as a YAML flow sequence, e.g. "[a, b]" or "[]". */
typedef struct mh_param_def {
    const char *name;
    mh_param_type type;
    const char *default_value;
    const char *help;
} mh_param_def;

typedef enum mh_module_kind {
    MH_KIND_PRODUCER = 1,  /* puts products */
    MH_KIND_FILTER,        /* decides pass/reject for the path it is on */
    MH_KIND_OUTPUT         /* runs on end paths (output, validation) */
} mh_module_kind;

/* Host services. Function pointers are filled by the framework; plugins
 * check struct_size before using a field added after version 1. Every
 * function returning mh_status writes a one-line detail into err. */
typedef struct mh_host {
    uint32_t abi_version;
    uint32_t struct_size;

    /* --- parameters (valid during create()) --- */
    int64_t (*param_int)(const mh_params *p, const char *name);
    double (*param_double)(const mh_params *p, const char *name);
    bool (*param_bool)(const mh_params *p, const char *name);
    /* Returned strings live as long as the module instance. */
    const char *(*param_string)(const mh_params *p, const char *name);
    size_t (*param_list_size)(const mh_params *p, const char *name);
    const char *(*param_list_at)(const mh_params *p, const char *name, size_t i);
    /* True when the menu set the parameter (false: the default is used). */
    bool (*param_is_set)(const mh_params *p, const char *name);

    /* --- start-up context (valid during create()) --- */
    const char *(*module_label)(const mh_module_ctx *ctx);
    unsigned (*n_streams)(const mh_module_ctx *ctx);
    unsigned (*n_threads)(const mh_module_ctx *ctx);
    /* Declares that this module reads product (label, instance, type);
     * instance may be "" (the default instance). The framework checks at
     * start-up that a producer exists, and runs it on demand. */
    mh_status (*consumes)(mh_module_ctx *ctx, const char *label, const char *instance,
                          const char *type, char *err, size_t errlen);
    /* Declares that this module puts product (own label, instance, type). */
    mh_status (*produces)(mh_module_ctx *ctx, const char *instance, const char *type,
                          char *err, size_t errlen);
    /* Declares that this module reads the simulated truth (only validation
     * should); event_truth() fails for modules that did not declare it. */
    void (*reads_truth)(mh_module_ctx *ctx);
    /* The directory of the menu file, for relative paths in parameters. */
    const char *(*config_dir)(const mh_module_ctx *ctx);

    /* --- per event (valid during acquire()/produce() of that event) --- */
    /* The raw event: identity and digis. The truth arrays are NULL unless
     * the module declared reads_truth(). Never NULL. */
    const struct mh_rawevent *(*event_raw)(mh_event *ev);
    /* Stream index 0..n_streams-1 of the event: at most one event per
     * stream is in flight, so per-stream scratch needs no lock. */
    unsigned (*event_stream)(mh_event *ev);
    /* Gets a consumed product: *data points to immutable memory owned by
     * the event. MH_NOTFOUND if it was not declared or not put. */
    mh_status (*get)(mh_event *ev, const char *label, const char *instance, const char *type,
                     const void **data, char *err, size_t errlen);
    /* Puts a declared product. Takes ownership of data regardless of the
     * return code: free_fn(data) is called when the event ends. */
    mh_status (*put)(mh_event *ev, const char *instance, const char *type, void *data,
                     void (*free_fn)(void *), char *err, size_t errlen);
    /* A filter's decision for this event (default: pass). */
    void (*set_pass)(mh_event *ev, bool pass);
    /* Names of the paths (in menu order) and whether this event was
     * accepted by each; valid for output modules (after all paths). */
    size_t (*n_paths)(mh_event *ev);
    const char *(*path_name)(mh_event *ev, size_t i);
    bool (*path_accepted)(mh_event *ev, size_t i);

    /* --- asynchronous completion (any thread, exactly once per acquire) --- */
    /* status MH_OK: produce() will run; otherwise the event fails with msg. */
    void (*async_done)(mh_async *h, mh_status status, const char *msg);

    /* --- report (thread-safe, any time after create()) --- */
    /* Adds delta to a named counter of this module, shown in the report
     * (e.g. "fallbacks", "retries"). ev may be NULL. */
    void (*count)(mh_event *ev, const char *name, uint64_t delta);
    /* Adds a JSON fragment (a complete JSON value, UTF-8) under
     * report["sections"][name]; call from end_job(). */
    mh_status (*report_section)(mh_module_ctx *ctx, const char *name, const char *json,
                                char *err, size_t errlen);
    /* A line of text appended to the printed report, from end_job(). */
    void (*report_text)(mh_module_ctx *ctx, const char *line);

    /* --- appended in ABI 1 (check struct_size) --- */
    /* The menu's process.time_scale (default 1): emulated costs are
     * multiplied by it. Valid during create(). */
    double (*time_scale)(const mh_module_ctx *ctx);
} mh_host;

/* One module type. */
typedef struct mh_module_type {
    uint32_t abi_version;  /* MH_MODULE_ABI_VERSION */
    uint32_t struct_size;  /* sizeof(mh_module_type) as the plugin saw it */
    const char *name;      /* the `plugin:` value in menus, unique */
    const char *help;      /* one line */
    mh_module_kind kind;
    const mh_param_def *params;
    size_t n_params;

    /* Creates the instance into *self. The ctx is valid until end_job()
     * returns (used by report_section). Parameters were validated against
     * params[] before the call. */
    mh_status (*create)(const mh_host *host, mh_module_ctx *ctx, const mh_params *params,
                        void **self, char *err, size_t errlen);
    /* Optional (NULL = synchronous module). */
    mh_status (*acquire)(void *self, mh_event *ev, mh_async *done, char *err, size_t errlen);
    /* Required. */
    mh_status (*produce)(void *self, mh_event *ev, char *err, size_t errlen);
    /* Optional. */
    mh_status (*end_job)(void *self, char *err, size_t errlen);
    /* Required; accepts self == NULL. */
    void (*destroy)(void *self);
} mh_module_type;

/* What the entry symbol returns. */
typedef struct mh_plugin {
    uint32_t abi_version;  /* MH_MODULE_ABI_VERSION */
    uint32_t struct_size;  /* sizeof(mh_plugin) */
    const char *name;      /* plugin name, e.g. "emulated" */
    const char *description;
    const mh_module_type *const *types;
    size_t n_types;
} mh_plugin;

typedef const mh_plugin *(*mh_plugin_entry_fn)(void);

/* Plugins define their entry with this macro so that it is the one
 * exported symbol:  MH_PLUGIN_EXPORT const mh_plugin *minihlt_plugin_entry(void) */
#define MH_PLUGIN_EXPORT __attribute__((visibility("default")))

/* MH_DEFINE_PLUGIN("name", "description", types): the plugin descriptor over
 * the array `types` (const mh_module_type *const[]) and the exported entry
 * point returning it; every plugin ends with this one line. */
#define MH_DEFINE_PLUGIN(NAME, DESCRIPTION, TYPES)                                      \
    static const mh_plugin mh_plugin_descriptor_ = {                                   \
        .abi_version = MH_MODULE_ABI_VERSION,                                           \
        .struct_size = sizeof(mh_plugin),                                               \
        .name = (NAME),                                                                 \
        .description = (DESCRIPTION),                                                   \
        .types = (TYPES),                                                               \
        .n_types = sizeof(TYPES) / sizeof((TYPES)[0]),                                  \
    };                                                                                  \
    MH_PLUGIN_EXPORT const mh_plugin *minihlt_plugin_entry(void);                       \
    MH_PLUGIN_EXPORT const mh_plugin *minihlt_plugin_entry(void)                        \
    {                                                                                   \
        return &mh_plugin_descriptor_;                                                  \
    }

#ifdef __cplusplus
}
#endif
#endif
