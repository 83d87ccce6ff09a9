/* sched_internal.h - internals of the scheduler shared by sched.c, source.c,
 * host.c and params.c (sim/core only). */
#ifndef MH_SCHED_INTERNAL_H
#define MH_SCHED_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "core/mh_sched.h"
#include "io/mh_evfile.h"
#include "tbb/mh_tbb.h"

#define MH__ERRLEN 512

/* ---- parameters (params.c) ---- */
mh_status mh__params_build(const mh_module_type *t, const char *label, const mh_cfg_node *map,
                           mh_params **out, char *err, size_t errlen);
void mh__params_free(mh_params *p);
int64_t mh__param_int(const mh_params *p, const char *name);
double mh__param_double(const mh_params *p, const char *name);
bool mh__param_bool(const mh_params *p, const char *name);
const char *mh__param_string(const mh_params *p, const char *name);
size_t mh__param_list_size(const mh_params *p, const char *name);
const char *mh__param_list_at(const mh_params *p, const char *name, size_t i);
bool mh__param_is_set(const mh_params *p, const char *name);

/* ---- static description of the process ---- */

typedef struct mh__product {
    const char *label;     /* producing module */
    char *instance, *type; /* owned */
    uint32_t producer;     /* module index */
} mh__product;

/* A product a module consumes, as it declared it. */
typedef struct mh__consumed {
    char *label, *instance, *type; /* owned */
    uint32_t product;              /* resolved index, after create */
} mh__consumed;

struct mh_module_ctx {
    struct mh_sched *s;
    uint32_t index;
};

typedef struct mh__module {
    const char *label, *plugin_name;
    const mh_module_type *type;
    mh_params *params;
    void *self;
    bool created, reads_truth, async;
    mh_module_ctx ctx;
    mh__consumed *consumes;
    size_t nconsumes, consumes_cap;
    uint32_t *produces; /* product indices */
    size_t nproduces, produces_cap;
    uint32_t *deps;     /* distinct producer modules of consumed products */
    size_t ndeps;
    size_t dep_base;    /* first of this module's waiters in a stream's dep_waiters */
    /* Used by one path or consumer only, synchronous, no dependencies: it
     * can only be run by that one caller, so no atomic claim is needed. */
    bool solo;
    /* Thread CPU time costs a system call (~0.3-0.5 us): it is read only for
     * modules whose calls are long enough for it not to matter; short calls
     * count their real time as CPU time (a worker never blocks in a module). */
    _Atomic bool measure_cpu;
} mh__module;

typedef struct mh__path {
    const char *name;
    uint32_t *modules;
    size_t nmodules;
    uint32_t prescale;
    bool end_path;
} mh__path;

/* ---- per stream, per event ---- */

struct mh__stream;

enum { MH__W_PATH = 1, MH__W_DEP = 2 };

/* Something waiting for a module of an event: a path that reached it, or a
 * module that consumes its product. Also used as the argument of the task
 * that resumes it. Preallocated per stream. */
typedef struct mh__waiter {
    struct mh__waiter *next;
    struct mh__stream *st;
    uint32_t kind;
    uint32_t index;  /* path or module */
    long path;       /* the path on whose behalf a DEP waiter's module runs */
} mh__waiter;

/* A module's per-event state in one atomic word: IDLE, DONE, RUNNING with
 * no waiter, or RUNNING with the waiter list (a pointer; the last waiter's
 * next is NULL). Claiming, waiting and completing are one atomic operation
 * each. */
#define MH__IDLE ((uintptr_t)0)
#define MH__DONE ((uintptr_t)1)
#define MH__RUNNING ((uintptr_t)2)

/* What a module's host calls receive as mh_event: the event plus who calls. */
struct mh_event {
    struct mh__stream *st;
    uint32_t mod;
};

typedef struct mh__modstate {
    _Atomic uintptr_t word;
    _Atomic int deps_pending;
    _Atomic int arrivals;     /* acquire returned + async_done called */
    bool pass;                /* filter decision */
    long path;                /* charged path */
    uint64_t t_acq_end, t_done;
    mh_status async_st;
    char *async_msg;          /* malloc'd, from async_done */
    mh_event view;            /* handle given to the module */
} mh__modstate;

typedef struct mh__slot {
    void *data;
    void (*free_fn)(void *);
    _Atomic bool put;
} mh__slot;

struct mh__cluster;

typedef struct mh__stream {
    struct mh_sched *s;
    unsigned index;
    /* the current event */
    mh_rawevent *raw;
    mh_rawevent notruth;      /* raw with the truth arrays hidden */
    struct mh__cluster *cluster;
    uint64_t serial;          /* 0-based number in the run */
    uint64_t t_start;
    _Atomic int failed;
    uint32_t fail_module;
    char fail_msg[MH__ERRLEN];
    _Atomic int paths_pending;
    size_t *pos;              /* per path (trigger then end) */
    bool *accepted;           /* per path */
    bool *active;             /* per path: not prescaled away */
    mh__modstate *mods;
    mh__slot *slots;
    mh__waiter *path_waiters; /* per path */
    mh__waiter *dep_waiters;  /* per (module, dep) */
    mh__waiter begin;         /* task argument to start an event */
    struct mh__stream *next_idle;
} mh__stream;

/* ---- source (source.c) ---- */

typedef struct mh__cluster {
    struct mh__source *src;
    unsigned slot;
    uint32_t ci;              /* cluster in the file */
    uint32_t n;               /* events decoded */
    mh_rawevent **evs;
    uint32_t first, end;      /* events handed out: [first, end) */
    uint32_t next;            /* under the source lock */
    bool ready;               /* under the source lock */
    mh_status st;
    char err[MH__ERRLEN];
    _Atomic uint32_t refs;    /* events out + 1 while in the window */
} mh__cluster;

typedef struct mh__source {
    struct mh_sched *s;
    char *path;
    mh_evreader **readers;    /* one per window slot */
    unsigned window;
    mh__cluster **ring;       /* window entries in order */
    unsigned head, count;
    uint64_t file_events;
    uint32_t nclusters;
    uint64_t range_first, range_end; /* in the looped sequence */
    uint64_t next_seq;        /* next cluster of the looped sequence to read */
    uint64_t total_seq;       /* nclusters * loop */
    uint64_t next_serial;
    uint64_t skipped_bad;     /* events of damaged clusters skipped (skip_bad) */
    uint32_t skipped_clusters;
    bool skip_bad;
    pthread_mutex_t lock;
    mh__stream *idle;         /* stack of idle streams */
    mh_rawevent **pool;       /* decoded events to reuse (their buffers stay allocated) */
    size_t npool, pool_cap;
    unsigned nidle;
    bool finished;            /* hold released */
    mh_status st;             /* first source error */
    char err[MH__ERRLEN];
} mh__source;

mh_status mh__source_open(struct mh_sched *s, mh__source *src, const char *path, int64_t skip,
                          int64_t events, int64_t loop, bool skip_bad, char *err, size_t errlen);
void mh__source_close(mh__source *src);
/* Hands idle streams their next events (spawning tasks) and reads ahead;
 * releases the run when everything is done. */
void mh__source_dispatch(mh__source *src);
/* A stream finished its event: give back the raw event, become idle. */
void mh__source_event_done(mh__source *src, mh__stream *st);

/* ---- the scheduler ---- */

struct mh_sched {
    const mh_menu *menu;
    const mh_plugins *pl;
    unsigned threads, streams;
    mh_on_error on_error;
    mh__module *mods;
    size_t nmods;
    mh__product *prods;
    size_t nprods, prods_cap;
    mh__path *paths;          /* trigger paths, then end paths */
    size_t npaths, ntrig;
    size_t ndep_waiters;
    mh_timing *timing;
    mh_tbb *tbb;
    mh__stream *streams_arr;
    mh__source src;
    bool src_open;
    _Atomic bool stop;        /* on_error: stop, or a source error */
    _Atomic int stop_reported;
    char stop_msg[MH__ERRLEN];
    mh_host host;
    /* report additions (host->report_*), under report_lock */
    pthread_mutex_t report_lock;
    char **text_lines;
    size_t ntext, text_cap;
    char **section_names, **section_json;
    size_t nsections, sections_cap, sections_json_cap;
    char *config_dir;
    uint64_t total_events;
};

/* Starts the event on stream st (task body and direct call). */
void mh__event_begin(mh__stream *st);
void mh__event_task(void *arg);

/* clock.c: the module-timing clock (see there). */
typedef struct mh__clock_cfg {
    bool use_tsc;
    uint64_t mult; /* ns = tsc * mult >> 32 */
} mh__clock_cfg;
extern mh__clock_cfg mh__clock_config;
void mh__clock_init(void); /* once per process, before any mh__now() */
uint64_t mh__clock_mono(void);

/* Now, in ns of an arbitrary epoch: only for differences between readings. */
static inline uint64_t mh__now(void)
{
#if defined(__x86_64__)
    if (mh__clock_config.use_tsc)
        return (uint64_t)(((unsigned __int128)__builtin_ia32_rdtsc() * mh__clock_config.mult) >> 32);
#endif
    return mh__clock_mono();
}

/* host.c */
void mh__host_init(mh_host *h);
/* Makes room for element n of a growing array (*arr, *cap): 0, or -1
 * without memory (the array is unchanged). */
int mh__grow(void **arr, size_t *cap, size_t n, size_t elem);
/* sched_event.c */
void mh__async_done(mh_async *h, mh_status status, const char *msg);
/* The module being called on this thread (for host->count(NULL, ...)). */
typedef struct mh__tls_ctx {
    struct mh_sched *s;
    long module;
    /* End time of the module call this thread just made, 0 if the thread
     * did anything else since (task boundary): the next call's start time,
     * so that back-to-back modules cost one clock read each, not two. */
    uint64_t t_last;
} mh__tls_ctx;
/* initial-exec: libminihlt is linked, not dlopen()ed, so the thread-local
 * is reached without a __tls_get_addr call per module call. */
extern _Thread_local mh__tls_ctx mh__tls __attribute__((tls_model("initial-exec")));

#endif
