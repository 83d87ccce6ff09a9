/* menu.c - loading, overriding and checking a menu (configs/README.md has
 * the schema). libfyaml parses and edits the document; the checks run on
 * the mirror tree (config_internal.h) so every error has a location. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/config_internal.h"
#include "core/mh_utf8.h"

#define MH__MENU_MAX_BYTES (16u << 20)
#define MH__MAX_THREADS 1024
#define MH__MAX_LOOP 1000000
#define MH__SET "--set "

typedef struct mh__menu {
    mh_menu pub; /* first: an mh_menu * is an mh__menu * */
    struct fy_document *fyd;
    struct fy_diag *diag;
    mh_cfg_node *tree;
    char *file;
    char *text; /* the YAML text; libfyaml points into it */
    size_t text_len;
    char **set_text; /* "--set KEY=VALUE", the file name of override nodes */
    size_t nset;
    mh__cfg_origin *origins;
    size_t norigins, origins_cap;
} mh__menu;

typedef struct mh__ck {
    mh__menu *mm;
    char *err;
    size_t errlen;
} mh__ck;

/* ---- libfyaml diagnostics ----------------------------------------------- */

/* libfyaml also writes free-form lines ("fy_parse_load_document() failed");
 * they are dropped: library code never prints. Errors are collected. */
static void mh__diag_discard(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
    (void)diag;
    (void)user;
    (void)buf;
    (void)len;
}

static size_t mh__diag_count(struct fy_diag *diag)
{
    size_t n = 0;
    void *it = NULL;
    while (fy_diag_errors_iterate(diag, &it))
        n++;
    return n;
}

/* The first error collected after the first `skip` ones, NULL if none. */
static struct fy_diag_error *mh__diag_error(struct fy_diag *diag, size_t skip)
{
    void *it = NULL;
    struct fy_diag_error *e;
    size_t i = 0;
    while ((e = fy_diag_errors_iterate(diag, &it)))
        if (i++ >= skip && e->type >= FYET_ERROR)
            return e;
    return NULL;
}

/* ---- small helpers ------------------------------------------------------- */

static size_t mh__edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

/* The closest of names[] to word if it is close enough to be a typo. */
static const char *mh__closest(const char *word, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t bestd = 3;
    for (size_t i = 0; i < n; i++) {
        size_t d = mh__edit_distance(word, names[i]);
        size_t len = strlen(names[i]);
        if (d < bestd && d < len) {
            bestd = d;
            best = names[i];
        }
    }
    return best;
}

/* Labels, path and group names: [A-Za-z_][A-Za-z0-9_]* - they appear in
 * reports and in `--set modules.LABEL.key=...`, so no dots or spaces. */
static bool mh__valid_name(const char *s)
{
    if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || *s == '_'))
        return false;
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") ==
           strlen(s);
}

static const char *mh__kind_name(const mh_cfg_node *n)
{
    switch (mh_cfg_kind_of(n)) {
    case MH_CFG_NULL: return "null";
    case MH_CFG_SCALAR: return "a scalar";
    case MH_CFG_SEQ: return "a sequence";
    case MH_CFG_MAP: return "a mapping";
    }
    return "?";
}

/* ---- structural checks ---------------------------------------------------- */

/* A section is a mapping or absent/null (= empty). */
static mh_status mh__section(mh__ck *c, const mh_cfg_node *n, const char *name)
{
    if (!n || n->kind == MH_CFG_NULL || n->kind == MH_CFG_MAP)
        return MH_OK;
    return mh_cfg_fail(n, c->err, c->errlen, MH_CONFIG, "%s: expected a mapping, got %s", name,
                       mh__kind_name(n));
}

static mh_status mh__known_keys(mh__ck *c, const mh_cfg_node *map, const char *where,
                                const char *const *valid, size_t nvalid)
{
    for (size_t i = 0; i < mh_cfg_count(map); i++) {
        const mh_cfg_node *k = mh_cfg_key_at(map, i);
        const char *key = mh_cfg_scalar(k);
        bool ok = false;
        for (size_t j = 0; j < nvalid && !ok; j++)
            ok = !strcmp(key, valid[j]);
        if (ok)
            continue;
        const char *hint = mh__closest(key, valid, nvalid);
        if (hint)
            return mh_cfg_fail(k, c->err, c->errlen, MH_CONFIG,
                               "%s: unknown key '%s' (did you mean '%s'?)", where, key, hint);
        char list[256] = "";
        size_t off = 0;
        for (size_t j = 0; j < nvalid && off < sizeof list; j++) {
            int w = snprintf(list + off, sizeof list - off, "%s%s", j ? ", " : "", valid[j]);
            off += w > 0 ? (size_t)w : 0;
        }
        return mh_cfg_fail(k, c->err, c->errlen, MH_CONFIG,
                           "%s: unknown key '%s' (expected one of: %s)", where, key, list);
    }
    return MH_OK;
}

/* Integer `key` of `map` in [lo, hi]; *out untouched if absent or null. */
static mh_status mh__int_in(mh__ck *c, const mh_cfg_node *map, const char *section,
                            const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    const mh_cfg_node *n = mh_cfg_get(map, key);
    if (!n || n->kind == MH_CFG_NULL)
        return MH_OK;
    char what[96];
    snprintf(what, sizeof what, "%s.%s", section, key);
    int64_t v;
    mh_status st = mh_cfg_as_int(n, what, &v, c->err, c->errlen);
    if (st != MH_OK)
        return st;
    if (v < lo || v > hi)
        return mh_cfg_fail(n, c->err, c->errlen, MH_CONFIG,
                           "%s: %" PRId64 " is out of range (%" PRId64 "..%" PRId64 ")", what, v,
                           lo, hi);
    *out = v;
    return MH_OK;
}

static mh_status mh__string(mh__ck *c, const mh_cfg_node *map, const char *section,
                            const char *key, const char **out)
{
    const mh_cfg_node *n = mh_cfg_get(map, key);
    if (!n || n->kind == MH_CFG_NULL)
        return MH_OK;
    char what[96];
    snprintf(what, sizeof what, "%s.%s", section, key);
    mh_status st = mh_cfg_as_string(n, what, out, c->err, c->errlen);
    if (st == MH_OK && !**out)
        return mh_cfg_fail(n, c->err, c->errlen, MH_CONFIG, "%s: must not be empty", what);
    return st;
}

static mh_status mh__check_process(mh__ck *c, const mh_cfg_node *p)
{
    static const char *const keys[] = {"name", "threads", "streams", "on_error", "time_scale"};
    mh_menu *m = &c->mm->pub;
    mh_status st = mh__section(c, p, "process");
    if (st == MH_OK)
        st = mh__known_keys(c, p, "process", keys, 5);
    if (st == MH_OK)
        st = mh__string(c, p, "process", "name", &m->process_name);
    int64_t threads = 0, streams = 0;
    if (st == MH_OK)
        st = mh__int_in(c, p, "process", "threads", 0, MH__MAX_THREADS, &threads);
    if (st == MH_OK)
        st = mh__int_in(c, p, "process", "streams", 0, MH__MAX_THREADS, &streams);
    if (st != MH_OK)
        return st;
    m->threads = (int)threads;
    m->streams = (int)streams;
    const mh_cfg_node *ts = mh_cfg_get(p, "time_scale");
    m->time_scale = 1.0;
    if (ts) {
        if ((st = mh_cfg_as_double(ts, "process.time_scale", &m->time_scale, c->err, c->errlen)) !=
            MH_OK)
            return st;
        if (!(m->time_scale > 0 && m->time_scale <= 1000))
            return mh_cfg_fail(ts, c->err, c->errlen, MH_CONFIG,
                               "process.time_scale: expected a number in (0, 1000], got %g",
                               m->time_scale);
    }
    const char *policy = NULL;
    if ((st = mh__string(c, p, "process", "on_error", &policy)) != MH_OK)
        return st;
    if (!policy || !strcmp(policy, "skip-event"))
        m->on_error = MH_ON_ERROR_SKIP_EVENT;
    else if (!strcmp(policy, "stop"))
        m->on_error = MH_ON_ERROR_STOP;
    else
        return mh_cfg_fail(mh_cfg_get(p, "on_error"), c->err, c->errlen, MH_CONFIG,
                           "process.on_error: expected skip-event or stop, got '%s'", policy);
    return MH_OK;
}

static mh_status mh__check_source(mh__ck *c, const mh_cfg_node *s)
{
    static const char *const keys[] = {"input", "events", "skip", "loop", "skip_bad"};
    mh_menu *m = &c->mm->pub;
    mh_status st = mh__section(c, s, "source");
    if (st == MH_OK)
        st = mh__known_keys(c, s, "source", keys, 5);
    if (st == MH_OK)
        st = mh__string(c, s, "source", "input", &m->input);
    if (st == MH_OK)
        st = mh__int_in(c, s, "source", "events", -1, INT64_MAX, &m->events);
    if (st == MH_OK)
        st = mh__int_in(c, s, "source", "skip", 0, INT64_MAX, &m->skip);
    if (st == MH_OK)
        st = mh__int_in(c, s, "source", "loop", 1, MH__MAX_LOOP, &m->loop);
    const mh_cfg_node *b = mh_cfg_get(s, "skip_bad");
    if (st == MH_OK && b && b->kind != MH_CFG_NULL)
        st = mh_cfg_as_bool(b, "source.skip_bad", &m->skip_bad, c->err, c->errlen);
    return st;
}

static mh_status mh__name_key(mh__ck *c, const mh_cfg_node *k, const char *section,
                              const char *what)
{
    if (mh__valid_name(mh_cfg_scalar(k)))
        return MH_OK;
    return mh_cfg_fail(k, c->err, c->errlen, MH_CONFIG,
                       "%s: '%s' is not a valid %s (letters, digits and '_', not starting "
                       "with a digit)",
                       section, mh_cfg_scalar(k), what);
}

static mh_status mh__check_modules(mh__ck *c, const mh_cfg_node *mods)
{
    mh_menu *m = &c->mm->pub;
    mh_status st = mh__section(c, mods, "modules");
    if (st != MH_OK)
        return st;
    size_t n = mh_cfg_count(mods);
    if (n && !(m->modules = calloc(n, sizeof *m->modules)))
        return mh_fail(c->err, c->errlen, MH_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const mh_cfg_node *k = mh_cfg_key_at(mods, i);
        const mh_cfg_node *v = mh_cfg_at(mods, i, NULL);
        const char *label = mh_cfg_scalar(k);
        if ((st = mh__name_key(c, k, "modules", "module label")) != MH_OK)
            return st;
        if (mh_cfg_kind_of(v) != MH_CFG_MAP)
            return mh_cfg_fail(v, c->err, c->errlen, MH_CONFIG,
                               "modules.%s: expected a mapping with a 'plugin' key, got %s",
                               label, mh__kind_name(v));
        const mh_cfg_node *p = mh_cfg_get(v, "plugin");
        if (!p)
            return mh_cfg_fail(k, c->err, c->errlen, MH_CONFIG,
                               "modules.%s: missing 'plugin' (the module type)", label);
        char what[160];
        snprintf(what, sizeof what, "modules.%s.plugin", label);
        const char *plugin;
        if ((st = mh_cfg_as_string(p, what, &plugin, c->err, c->errlen)) != MH_OK)
            return st;
        if (!*plugin)
            return mh_cfg_fail(p, c->err, c->errlen, MH_CONFIG, "%s: must not be empty", what);
        m->modules[i] = (mh_menu_module){label, plugin, v};
        m->nmodules = i + 1;
    }
    return MH_OK;
}

static const char *mh__closest_module(const mh_menu *m, const char *word)
{
    const char *best = NULL;
    size_t bestd = 3;
    for (size_t i = 0; i < m->nmodules; i++) {
        size_t d = mh__edit_distance(word, m->modules[i].label);
        if (d < bestd && d < strlen(m->modules[i].label)) {
            bestd = d;
            best = m->modules[i].label;
        }
    }
    return best;
}

/* A list of module labels (path, end path or group): non-empty, known
 * labels, each once. `where` is e.g. "paths.HLT_Jet"; key locates "empty". */
static mh_status mh__label_list(mh__ck *c, const mh_cfg_node *seq, const mh_cfg_node *key,
                                const char *where, const char ***out, size_t *nout)
{
    const mh_menu *m = &c->mm->pub;
    if (mh_cfg_kind_of(seq) == MH_CFG_NULL ||
        (mh_cfg_kind_of(seq) == MH_CFG_SEQ && mh_cfg_count(seq) == 0))
        return mh_cfg_fail(key, c->err, c->errlen, MH_CONFIG, "%s: is empty (list its modules)",
                           where);
    if (mh_cfg_kind_of(seq) != MH_CFG_SEQ)
        return mh_cfg_fail(seq, c->err, c->errlen, MH_CONFIG,
                           "%s: expected a sequence of module labels, got %s", where,
                           mh__kind_name(seq));
    size_t n = mh_cfg_count(seq);
    const char **labels = calloc(n, sizeof *labels);
    if (!labels)
        return mh_fail(c->err, c->errlen, MH_NOMEM, "out of memory");
    *out = labels;
    *nout = 0;
    for (size_t i = 0; i < n; i++) {
        const mh_cfg_node *it = mh_cfg_at(seq, i, NULL);
        const char *label = mh_cfg_scalar(it);
        if (!label)
            return mh_cfg_fail(it, c->err, c->errlen, MH_CONFIG,
                               "%s: expected a module label, got %s", where, mh__kind_name(it));
        if (!mh_menu_find_module(m, label)) {
            const char *hint = mh__closest_module(m, label);
            if (hint)
                return mh_cfg_fail(it, c->err, c->errlen, MH_CONFIG,
                                   "%s: unknown module '%s' (did you mean '%s'?)", where, label,
                                   hint);
            return mh_cfg_fail(it, c->err, c->errlen, MH_CONFIG,
                               "%s: unknown module '%s' (not defined under 'modules')", where,
                               label);
        }
        for (size_t j = 0; j < i; j++)
            if (!strcmp(labels[j], label))
                return mh_cfg_fail(it, c->err, c->errlen, MH_CONFIG,
                                   "%s: module '%s' is listed twice", where, label);
        labels[i] = label;
        *nout = i + 1;
    }
    return MH_OK;
}

static mh_status mh__check_paths(mh__ck *c, const mh_cfg_node *sec, const char *section,
                                 bool end, mh_menu_path **out, size_t *nout)
{
    static const char *const long_keys[] = {"modules", "prescale"};
    mh_status st = mh__section(c, sec, section);
    if (st != MH_OK)
        return st;
    size_t n = mh_cfg_count(sec);
    if (n && !(*out = calloc(n, sizeof **out)))
        return mh_fail(c->err, c->errlen, MH_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const mh_cfg_node *k = mh_cfg_key_at(sec, i);
        const mh_cfg_node *v = mh_cfg_at(sec, i, NULL);
        mh_menu_path *p = &(*out)[i];
        p->name = mh_cfg_scalar(k);
        p->prescale = 1;
        p->node = v;
        *nout = i + 1;
        char where[160];
        snprintf(where, sizeof where, "%s.%s", section, p->name);
        if ((st = mh__name_key(c, k, section, end ? "end path name" : "path name")) != MH_OK)
            return st;
        const mh_cfg_node *list = v;
        if (mh_cfg_kind_of(v) == MH_CFG_MAP) {
            if ((st = mh__known_keys(c, v, where, long_keys, end ? 1 : 2)) != MH_OK)
                return st;
            list = mh_cfg_get(v, "modules");
            if (!list)
                return mh_cfg_fail(k, c->err, c->errlen, MH_CONFIG, "%s: missing 'modules'",
                                   where);
            int64_t prescale = 1;
            if ((st = mh__int_in(c, v, where, "prescale", 0, UINT32_MAX, &prescale)) != MH_OK)
                return st;
            p->prescale = (uint32_t)prescale;
        }
        if ((st = mh__label_list(c, list, k, where, &p->modules, &p->nmodules)) != MH_OK)
            return st;
    }
    return MH_OK;
}

static mh_status mh__check_groups(mh__ck *c, const mh_cfg_node *sec)
{
    mh_menu *m = &c->mm->pub;
    mh_status st = mh__section(c, sec, "groups");
    if (st != MH_OK)
        return st;
    size_t n = mh_cfg_count(sec);
    if (n && !(m->groups = calloc(n, sizeof *m->groups)))
        return mh_fail(c->err, c->errlen, MH_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const mh_cfg_node *k = mh_cfg_key_at(sec, i);
        mh_menu_group *g = &m->groups[i];
        g->name = mh_cfg_scalar(k);
        m->ngroups = i + 1;
        char where[160];
        snprintf(where, sizeof where, "groups.%s", g->name);
        if ((st = mh__name_key(c, k, "groups", "group name")) != MH_OK)
            return st;
        st = mh__label_list(c, mh_cfg_at(sec, i, NULL), k, where, &g->modules, &g->nmodules);
        if (st != MH_OK)
            return st;
    }
    return MH_OK;
}

static mh_status mh__check(mh__ck *c)
{
    static const char *const sections[] = {"process", "source", "modules",
                                           "paths", "end_paths", "groups"};
    mh_menu *m = &c->mm->pub;
    const mh_cfg_node *root = c->mm->tree;
    if (mh_cfg_kind_of(root) != MH_CFG_MAP)
        return mh_cfg_fail(root, c->err, c->errlen, MH_CONFIG,
                           "a menu is a mapping of sections (process, source, modules, paths, "
                           "end_paths, groups), got %s",
                           mh__kind_name(root));
    mh_status st = mh__known_keys(c, root, "menu", sections, 6);
    if (st == MH_OK)
        st = mh__check_process(c, mh_cfg_get(root, "process"));
    if (st == MH_OK)
        st = mh__check_source(c, mh_cfg_get(root, "source"));
    if (st == MH_OK)
        st = mh__check_modules(c, mh_cfg_get(root, "modules"));
    if (st == MH_OK)
        st = mh__check_paths(c, mh_cfg_get(root, "paths"), "paths", false, &m->paths, &m->npaths);
    if (st == MH_OK)
        st = mh__check_paths(c, mh_cfg_get(root, "end_paths"), "end_paths", true, &m->end_paths,
                             &m->nend_paths);
    if (st == MH_OK)
        st = mh__check_groups(c, mh_cfg_get(root, "groups"));
    if (st != MH_OK)
        return st;
    if (!m->npaths) {
        const mh_cfg_node *at = root;
        for (size_t i = 0; i < root->n; i++)
            if (!strcmp(root->keys[i]->text, "paths"))
                at = root->keys[i];
        return mh_cfg_fail(at, c->err, c->errlen, MH_CONFIG,
                           "no paths: a menu needs at least one entry under 'paths'");
    }
    for (size_t i = 0; i < m->nend_paths; i++)
        for (size_t j = 0; j < m->npaths; j++)
            if (!strcmp(m->end_paths[i].name, m->paths[j].name))
                return mh_cfg_fail(mh_cfg_key_at(mh_cfg_get(root, "end_paths"), i), c->err,
                                   c->errlen, MH_CONFIG,
                                   "end_paths.%s: name already used by a path under 'paths'",
                                   m->end_paths[i].name);
    return MH_OK;
}

/* ---- overrides ------------------------------------------------------------ */

static mh_status mh__add_origin(mh__menu *mm, struct fy_node *n, const char *file, int col0,
                                char *err, size_t errlen)
{
    if (mm->norigins == mm->origins_cap) {
        size_t cap = mm->origins_cap ? 2 * mm->origins_cap : 16;
        mh__cfg_origin *o = realloc(mm->origins, cap * sizeof *o);
        if (!o)
            return mh_fail(err, errlen, MH_NOMEM, "out of memory");
        mm->origins = o;
        mm->origins_cap = cap;
    }
    mm->origins[mm->norigins++] = (mh__cfg_origin){n, file, col0};
    return MH_OK;
}

static struct fy_node_pair *mh__find_pair(struct fy_node *map, const char *key, size_t len)
{
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(map, &it))) {
        struct fy_node *k = fy_node_pair_key(p);
        size_t kl = 0;
        const char *ks = k && fy_node_is_scalar(k) ? fy_node_get_scalar(k, &kl) : NULL;
        if (ks && kl == len && !memcmp(ks, key, len))
            return p;
    }
    return NULL;
}

static bool mh__fy_null(struct fy_node *n)
{
    if (!n)
        return true;
    if (!fy_node_is_scalar(n) || fy_node_get_style(n) != FYNS_PLAIN)
        return false;
    size_t len = 0;
    const char *s = fy_node_get_scalar(n, &len);
    char buf[8];
    if (len >= sizeof buf)
        return false;
    memcpy(buf, s ? s : "", len);
    buf[len] = '\0';
    return !len || !strcmp(buf, "~") || !strcmp(buf, "null") || !strcmp(buf, "Null") ||
           !strcmp(buf, "NULL");
}

/* Sets the value at a.b.c in the document, creating missing mappings. */
static mh_status mh__apply_override(mh__menu *mm, const char *text, char *err, size_t errlen)
{
    /* The value goes through libfyaml too, which can loop on invalid UTF-8
     * (found by tests/fuzz/fuzz_menu: corpus/menu/timeout-set-utf8). */
    size_t bad;
    if (!mh_utf8_check(text, strlen(text), &bad))
        return mh_fail(err, errlen, MH_CONFIG, "--set: not valid UTF-8 (byte 0x%02x at offset %zu)",
                       (unsigned char)text[bad], bad);
    if (strchr(text, '\t'))
        return mh_fail(err, errlen, MH_CONFIG, "--set: tab character at offset %zu (use spaces)",
                       (size_t)(strchr(text, '\t') - text));
    const char *eq = strchr(text, '=');
    bool ok = eq && eq != text && text[0] != '.' && eq[-1] != '.';
    for (const char *s = text; ok && s < eq; s++)
        ok = !(s[0] == '.' && s[1] == '.');
    if (!ok)
        return mh_fail(err, errlen, MH_CONFIG, "--set: expected KEY=VALUE (KEY like a.b.c), got '%s'",
                       text);
    size_t tl = strlen(MH__SET) + strlen(text) + 1;
    char *file = malloc(tl);
    char **st_arr = realloc(mm->set_text, (mm->nset + 1) * sizeof *st_arr);
    if (!file || !st_arr) {
        free(file);
        if (st_arr)
            mm->set_text = st_arr;
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    }
    snprintf(file, tl, "%s%s", MH__SET, text);
    mm->set_text = st_arr;
    mm->set_text[mm->nset++] = file;
    const int base = (int)strlen(MH__SET);
    const int vcol0 = base + (int)(eq - text) + 1;

    /* The value: YAML (flow) text; empty means null. libfyaml keeps
     * pointing into the text it parsed, so it parses the menu's own copy
     * (`file`), never the caller's string, which the caller may free after
     * the load (found by tests/fuzz/fuzz_menu: mh_menu_dump read freed
     * memory). It is parsed as a document of its own and copied in, because
     * fy_node_build_from_string leaks its partial node on some syntax errors
     * (corpus/menu/leak-set-block-scalar). */
    const char *val = file + vcol0;
    size_t before = mh__diag_count(mm->diag);
    struct fy_parse_cfg pc = {0};
    pc.flags = FYPCF_QUIET | FYPCF_RESOLVE_DOCUMENT;
    pc.diag = mm->diag;
    const char *vtext = *val ? val : "~";
    struct fy_document *vd = fy_document_build_from_string(&pc, vtext, strlen(vtext));
    struct fy_node *v = vd && fy_document_root(vd) ? fy_node_copy(mm->fyd, fy_document_root(vd))
                                                   : NULL;
    if (vd)
        fy_document_destroy(vd);
    if (!v) {
        struct fy_diag_error *e = mh__diag_error(mm->diag, before);
        if (!e)
            return mh_fail(err, errlen, MH_CONFIG, "%s:1:%d: invalid YAML value", file,
                           vcol0 + 1);
        return mh_fail(err, errlen, MH_CONFIG, "%s:%d:%d: %s", file, e->line,
                       e->column + (e->line <= 1 ? vcol0 : 0), e->msg);
    }
    mh_status st = mh__add_origin(mm, v, file, vcol0, err, errlen);
    if (st != MH_OK)
        goto free_value;

    struct fy_node *cur = fy_document_root(mm->fyd);
    if (!cur) {
        if (!(cur = fy_node_create_mapping(mm->fyd)) || fy_document_set_root(mm->fyd, cur)) {
            st = mh_fail(err, errlen, MH_NOMEM, "out of memory");
            goto free_value;
        }
    }
    const char *comp = text;
    for (;;) {
        const char *dot = memchr(comp, '.', (size_t)(eq - comp));
        const char *end = dot ? dot : eq;
        size_t len = (size_t)(end - comp);
        int kcol0 = base + (int)(comp - text);
        if (!fy_node_is_mapping(cur) && comp == text) {
            st = mh_fail(err, errlen, MH_CONFIG, "%s:1:%d: the menu is not a mapping", file,
                         base + 1);
            goto free_value;
        }
        if (!fy_node_is_mapping(cur)) {
            st = mh_fail(err, errlen, MH_CONFIG,
                         "%s:1:%d: cannot set '%.*s': '%.*s' is %s, not a mapping", file, base + 1,
                         (int)(eq - text), text, (int)(comp - text - 1), text,
                         fy_node_is_sequence(cur) ? "a sequence" : "a scalar");
            goto free_value;
        }
        struct fy_node_pair *p = mh__find_pair(cur, comp, len);
        struct fy_node *next = dot ? NULL : v;
        if (dot && p && fy_node_is_mapping(fy_node_pair_value(p))) {
            cur = fy_node_pair_value(p);
            comp = dot + 1;
            continue;
        }
        if (dot && p && !mh__fy_null(fy_node_pair_value(p))) {
            cur = fy_node_pair_value(p); /* reported as not a mapping above */
            comp = dot + 1;
            continue;
        }
        if (dot) {
            if (!(next = fy_node_create_mapping(mm->fyd))) {
                st = mh_fail(err, errlen, MH_NOMEM, "out of memory");
                goto free_value;
            }
            if ((st = mh__add_origin(mm, next, file, kcol0, err, errlen)) != MH_OK) {
                fy_node_free(next);
                goto free_value;
            }
        }
        if (p) {
            if (fy_node_pair_set_value(p, next)) {
                st = mh_fail(err, errlen, MH_INTERNAL, "%s: cannot replace value", file);
                if (next != v)
                    fy_node_free(next);
                goto free_value;
            }
        } else {
            struct fy_node *k = fy_node_create_scalar_copy(mm->fyd, comp, len);
            if (!k || mh__add_origin(mm, k, file, kcol0, err, errlen) != MH_OK ||
                fy_node_mapping_append(cur, k, next)) {
                fy_node_free(k);
                if (next != v)
                    fy_node_free(next);
                st = mh_fail(err, errlen, MH_NOMEM, "out of memory");
                goto free_value;
            }
        }
        if (!dot)
            return MH_OK; /* v is in the document now */
        cur = next;
        comp = dot + 1;
    }
free_value:
    if (!fy_node_is_attached(v))
        fy_node_free(v);
    return st;
}

/* ---- load / free / dump --------------------------------------------------- */

/* Reads the menu file into mm->text (at most MH__MENU_MAX_BYTES). */
static mh_status mh__read_file(mh__menu *mm, char *err, size_t errlen)
{
    const char *path = mm->file;
    struct stat sb;
    if (stat(path, &sb))
        return mh_fail(err, errlen, MH_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return mh_fail(err, errlen, MH_IO, "%s: not a regular file", path);
    if (sb.st_size > (off_t)MH__MENU_MAX_BYTES)
        return mh_fail(err, errlen, MH_CONFIG, "%s: menu too large (%lld bytes, at most %u)",
                       path, (long long)sb.st_size, MH__MENU_MAX_BYTES);
    FILE *f = fopen(path, "rb");
    if (!f)
        return mh_fail(err, errlen, MH_IO, "%s: %s", path, strerror(errno));
    mh_status st = MH_OK;
    /* One byte more than allowed, to notice a file that grew since stat. */
    size_t cap = (size_t)sb.st_size + 1;
    if (!(mm->text = malloc(cap))) {
        st = mh_fail(err, errlen, MH_NOMEM, "out of memory");
        goto close_file;
    }
    mm->text_len = fread(mm->text, 1, cap, f);
    if (ferror(f))
        st = mh_fail(err, errlen, MH_IO, "%s: read error", path);
    else if (mm->text_len > MH__MENU_MAX_BYTES)
        st = mh_fail(err, errlen, MH_CONFIG, "%s: menu too large (more than %u bytes)", path,
                     MH__MENU_MAX_BYTES);
close_file:
    fclose(f);
    return st;
}

/* 1-based line and column (in characters) of byte off of text. */
static void mh__text_pos(const char *text, size_t off, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off; i++) {
        if (text[i] == '\n') {
            ++*line;
            *col = 1;
        } else if (((unsigned char)text[i] & 0xC0) != 0x80) {
            ++*col;
        }
    }
}

/* Parses mm->text (mm->text_len bytes) into mm->fyd. Two things are
 * refused before libfyaml 0.7 sees them: invalid UTF-8, on which it can
 * loop, and tab characters, on some of which it crashes (a tab before a
 * `?` after a complex key: corpus/menu/crash-tab-complex-key, both found
 * by tests/fuzz/fuzz_menu). Menus are indented with spaces anyway (YAML
 * forbids tabs for indentation). */
static mh_status mh__parse(mh__menu *mm, char *err, size_t errlen)
{
    const char *path = mm->file;
    size_t bad;
    int line, col;
    if (!mh_utf8_check(mm->text, mm->text_len, &bad)) {
        mh__text_pos(mm->text, bad, &line, &col);
        return mh_fail(err, errlen, MH_CONFIG, "%s:%d:%d: not valid UTF-8 (byte 0x%02x)", path,
                       line, col, (unsigned char)mm->text[bad]);
    }
    const char *tab = memchr(mm->text, '\t', mm->text_len);
    if (tab) {
        mh__text_pos(mm->text, (size_t)(tab - mm->text), &line, &col);
        return mh_fail(err, errlen, MH_CONFIG, "%s:%d:%d: tab character (use spaces)", path,
                       line, col);
    }
    struct fy_diag_cfg dc;
    fy_diag_cfg_default(&dc);
    dc.fp = NULL;
    dc.output_fn = mh__diag_discard;
    dc.colorize = false;
    if (!(mm->diag = fy_diag_create(&dc)))
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    fy_diag_set_collect_errors(mm->diag, true);
    struct fy_parse_cfg pc = {0};
    pc.flags = FYPCF_QUIET | FYPCF_RESOLVE_DOCUMENT;
    pc.diag = mm->diag;
    /* libfyaml keeps pointing into the text: mm->text lives as long as fyd. */
    mm->fyd = fy_document_build_from_string(&pc, mm->text, mm->text_len);
    if (!mm->fyd) {
        struct fy_diag_error *e = mh__diag_error(mm->diag, 0);
        if (e)
            return mh_fail(err, errlen, MH_CONFIG, "%s:%d:%d: %s", path, e->line, e->column,
                           e->msg);
        return mh_fail(err, errlen, MH_CONFIG, "%s:1:1: empty menu (no YAML document)", path);
    }
    if (!fy_document_root(mm->fyd))
        return mh_fail(err, errlen, MH_CONFIG, "%s:1:1: empty menu (no YAML document)", path);
    return MH_OK;
}

/* Loads from the file name (text == NULL) or from text[0..len). */
static mh_status mh__load(const char *name, const char *text, size_t len,
                          const char *const *overrides, size_t noverrides, mh_menu **out,
                          char *err, size_t errlen)
{
    if (!out || !name || (noverrides && !overrides))
        return mh_fail(err, errlen, MH_INVALID, "mh_menu_load: bad arguments");
    *out = NULL;
    mh__menu *mm = calloc(1, sizeof *mm);
    if (!mm || !(mm->file = strdup(name))) {
        free(mm);
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    }
    mh_menu *m = &mm->pub;
    m->file = mm->file;
    m->process_name = "HLT";
    m->on_error = MH_ON_ERROR_SKIP_EVENT;
    m->time_scale = 1.0;
    m->events = -1;
    m->loop = 1;

    mh_status st = MH_OK;
    if (!text) {
        st = mh__read_file(mm, err, errlen);
    } else if (len > MH__MENU_MAX_BYTES) {
        st = mh_fail(err, errlen, MH_CONFIG, "%s: menu too large (%zu bytes, at most %u)", name,
                     len, MH__MENU_MAX_BYTES);
    } else if (!(mm->text = malloc(len ? len : 1))) {
        st = mh_fail(err, errlen, MH_NOMEM, "out of memory");
    } else {
        memcpy(mm->text, text, len);
        mm->text_len = len;
    }
    if (st == MH_OK)
        st = mh__parse(mm, err, errlen);
    for (size_t i = 0; st == MH_OK && i < noverrides; i++)
        st = overrides[i] ? mh__apply_override(mm, overrides[i], err, errlen)
                          : mh_fail(err, errlen, MH_INVALID, "--set: NULL override");
    if (st == MH_OK)
        st = mh__cfg_build(fy_document_root(mm->fyd), mm->file, mm->origins, mm->norigins,
                           &mm->tree, err, errlen);
    if (st == MH_OK) {
        m->root = mm->tree;
        mh__ck c = {mm, err, errlen};
        st = mh__check(&c);
    }
    /* The origins point at document nodes that later edits could free. */
    free(mm->origins);
    mm->origins = NULL;
    mm->norigins = mm->origins_cap = 0;
    if (st != MH_OK) {
        mh_menu_free(m);
        return st;
    }
    *out = m;
    return MH_OK;
}

mh_status mh_menu_load(const char *path, const char *const *overrides, size_t noverrides,
                       mh_menu **out, char *err, size_t errlen)
{
    return mh__load(path, NULL, 0, overrides, noverrides, out, err, errlen);
}

mh_status mh_menu_load_buffer(const char *name, const char *text, size_t len,
                              const char *const *overrides, size_t noverrides, mh_menu **out,
                              char *err, size_t errlen)
{
    if (!text && len)
        return mh_fail(err, errlen, MH_INVALID, "mh_menu_load_buffer: NULL text");
    return mh__load(name, text ? text : "", len, overrides, noverrides, out, err, errlen);
}

static void mh__free_paths(mh_menu_path *p, size_t n)
{
    for (size_t i = 0; p && i < n; i++)
        free(p[i].modules);
    free(p);
}

void mh_menu_free(mh_menu *m)
{
    if (!m)
        return;
    mh__menu *mm = (mh__menu *)m;
    free(m->modules);
    mh__free_paths(m->paths, m->npaths);
    mh__free_paths(m->end_paths, m->nend_paths);
    for (size_t i = 0; m->groups && i < m->ngroups; i++)
        free(m->groups[i].modules);
    free(m->groups);
    mh__cfg_free(mm->tree);
    if (mm->fyd)
        fy_document_destroy(mm->fyd);
    if (mm->diag)
        fy_diag_destroy(mm->diag);
    free(mm->text);
    for (size_t i = 0; i < mm->nset; i++)
        free(mm->set_text[i]);
    free(mm->set_text);
    free(mm->origins);
    free(mm->file);
    free(mm);
}

const mh_menu_module *mh_menu_find_module(const mh_menu *m, const char *label)
{
    for (size_t i = 0; m && label && i < m->nmodules; i++)
        if (!strcmp(m->modules[i].label, label))
            return &m->modules[i];
    return NULL;
}

char *mh_menu_dump(const mh_menu *m)
{
    if (!m)
        return NULL;
    const mh__menu *mm = (const mh__menu *)m;
    return fy_emit_document_to_string(mm->fyd, FYECF_MODE_BLOCK | FYECF_INDENT_2 |
                                                   FYECF_WIDTH_INF);
}
