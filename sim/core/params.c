/* params.c - a module's parameters: validated against the mh_param_def list
 * of its type at start-up, then read by the module through the host table.
 *
 * Every check names the module and the key with the menu location, e.g.
 *   menu.yaml:12:23: module 'slow': parameter 'mean_ms': expected number, got 'fast'
 * List defaults ("[a, b]") are parsed with libfyaml, map values are handed
 * to the module as JSON text (a JSON document is valid YAML flow), built with
 * jansson: nothing here parses or prints YAML by hand. */
#include <errno.h>
#include <libfyaml.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/sched_internal.h"

typedef struct mh__pval {
    const mh_param_def *def;
    bool set;
    int64_t i;
    double d;
    bool b;
    const char *s;      /* string, map (JSON text); points into owned or the menu */
    const char **list;  /* owned array; strings in owned or the menu */
    size_t nlist;
} mh__pval;

struct mh_params {
    const mh_param_def *defs;
    size_t n;
    mh__pval *v;
    char **owned; /* strings this set allocated */
    size_t nowned, owned_cap;
};

static const char *mh__own(mh_params *p, char *s)
{
    if (!s)
        return NULL;
    if (p->nowned == p->owned_cap) {
        size_t nc = p->owned_cap ? p->owned_cap * 2 : 8;
        char **o = realloc(p->owned, nc * sizeof *o);
        if (!o) {
            free(s);
            return NULL;
        }
        p->owned = o;
        p->owned_cap = nc;
    }
    p->owned[p->nowned++] = s;
    return s;
}

void mh__params_free(mh_params *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nowned; i++)
        free(p->owned[i]);
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i].list);
    free(p->owned);
    free(p->v);
    free(p);
}

/* JSON value of a configuration node, scalars typed as the strict YAML core
 * schema says (sim/config). NULL on allocation failure. */
static json_t *mh__node_json(const mh_cfg_node *n)
{
    switch (mh_cfg_kind_of(n)) {
    case MH_CFG_NULL:
        return json_null();
    case MH_CFG_SCALAR: {
        int64_t i;
        double d;
        bool b;
        if (mh_cfg_as_int(n, "", &i, NULL, 0) == MH_OK)
            return json_integer((json_int_t)i);
        if (mh_cfg_as_double(n, "", &d, NULL, 0) == MH_OK)
            return json_real(d);
        if (mh_cfg_as_bool(n, "", &b, NULL, 0) == MH_OK)
            return json_boolean(b);
        return json_string(mh_cfg_scalar(n));
    }
    case MH_CFG_SEQ: {
        json_t *a = json_array();
        for (size_t k = 0; a && k < mh_cfg_count(n); k++) {
            json_t *c = mh__node_json(mh_cfg_at(n, k, NULL));
            if (!c || json_array_append_new(a, c)) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case MH_CFG_MAP: {
        json_t *o = json_object();
        for (size_t k = 0; o && k < mh_cfg_count(n); k++) {
            const char *key = NULL;
            json_t *c = mh__node_json(mh_cfg_at(n, k, &key));
            if (!c || json_object_set_new(o, key ? key : "", c)) {
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    }
    return NULL;
}

/* Parses a default written as a YAML flow sequence ("[a, b]", "[]") or a
 * single scalar into v->list. */
static mh_status mh__default_list(mh_params *p, mh__pval *v, const char *text, const char *label,
                                  char *err, size_t errlen)
{
    struct fy_document *fyd = fy_document_build_from_string(NULL, text, FY_NT);
    struct fy_node *root = fyd ? fy_document_root(fyd) : NULL;
    mh_status st = MH_OK;
    if (!root)
        goto bad;
    if (fy_node_is_scalar(root)) {
        v->list = malloc(sizeof *v->list);
        if (!v->list || !(v->list[0] = mh__own(p, strdup(fy_node_get_scalar0(root)))))
            goto nomem;
        v->nlist = 1;
        goto out;
    }
    if (!fy_node_is_sequence(root))
        goto bad;
    int n = fy_node_sequence_item_count(root);
    v->list = calloc((size_t)n + 1, sizeof *v->list);
    if (!v->list)
        goto nomem;
    for (int k = 0; k < n; k++) {
        struct fy_node *it = fy_node_sequence_get_by_index(root, k);
        const char *s = it && fy_node_is_scalar(it) ? fy_node_get_scalar0(it) : NULL;
        if (!s)
            goto bad;
        if (!(v->list[k] = mh__own(p, strdup(s))))
            goto nomem;
    }
    v->nlist = (size_t)n;
    goto out;
bad:
    st = mh_fail(err, errlen, MH_PLUGIN, "module '%s': parameter '%s': bad default '%s' in the plugin",
                 label, v->def->name, text);
    goto out;
nomem:
    st = mh_fail(err, errlen, MH_NOMEM, "out of memory");
out:
    fy_document_destroy(fyd);
    return st;
}

/* The default of v->def (already known to be non-NULL). Defaults come from
 * the plugin, so a bad one is the plugin's fault (MH_PLUGIN). */
static mh_status mh__apply_default(mh_params *p, mh__pval *v, const char *label, char *err,
                                   size_t errlen)
{
    const char *t = v->def->default_value;
    char *end = NULL;
    errno = 0;
    switch (v->def->type) {
    case MH_PARAM_INT:
        v->i = strtoll(t, &end, 0);
        if (!*t || *end || errno)
            break;
        return MH_OK;
    case MH_PARAM_DOUBLE:
        v->d = strtod(t, &end);
        if (!*t || *end || errno)
            break;
        return MH_OK;
    case MH_PARAM_BOOL:
        if (strcmp(t, "true") && strcmp(t, "false"))
            break;
        v->b = !strcmp(t, "true");
        return MH_OK;
    case MH_PARAM_STRING:
    case MH_PARAM_MAP:
        v->s = t;
        return MH_OK;
    case MH_PARAM_STRING_LIST:
        return mh__default_list(p, v, t, label, err, errlen);
    }
    return mh_fail(err, errlen, MH_PLUGIN, "module '%s': parameter '%s': bad default '%s' in the plugin",
                   label, v->def->name, t);
}

static mh_status mh__apply_value(mh_params *p, mh__pval *v, const mh_cfg_node *n,
                                 const char *label, char *err, size_t errlen)
{
    char what[256];
    snprintf(what, sizeof what, "module '%s': parameter '%s'", label, v->def->name);
    switch (v->def->type) {
    case MH_PARAM_INT:
        return mh_cfg_as_int(n, what, &v->i, err, errlen);
    case MH_PARAM_DOUBLE:
        return mh_cfg_as_double(n, what, &v->d, err, errlen);
    case MH_PARAM_BOOL:
        return mh_cfg_as_bool(n, what, &v->b, err, errlen);
    case MH_PARAM_STRING:
        return mh_cfg_as_string(n, what, &v->s, err, errlen);
    case MH_PARAM_STRING_LIST: {
        bool seq = mh_cfg_kind_of(n) == MH_CFG_SEQ;
        size_t cnt = seq ? mh_cfg_count(n) : 1;
        v->list = calloc(cnt + 1, sizeof *v->list);
        if (!v->list)
            return mh_fail(err, errlen, MH_NOMEM, "out of memory");
        for (size_t k = 0; k < cnt; k++) {
            const mh_cfg_node *it = seq ? mh_cfg_at(n, k, NULL) : n;
            if (mh_cfg_kind_of(it) != MH_CFG_SCALAR)
                return mh_cfg_fail(it, err, errlen, MH_PARAM, "%s: expected a list of strings", what);
            if (mh_cfg_as_string(it, what, &v->list[k], err, errlen) != MH_OK)
                return MH_PARAM;
        }
        v->nlist = cnt;
        return MH_OK;
    }
    case MH_PARAM_MAP: {
        if (mh_cfg_kind_of(n) != MH_CFG_MAP)
            return mh_cfg_fail(n, err, errlen, MH_PARAM, "%s: expected a mapping", what);
        json_t *j = mh__node_json(n);
        char *text = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        json_decref(j);
        if (!(v->s = mh__own(p, text)))
            return mh_fail(err, errlen, MH_NOMEM, "out of memory");
        return MH_OK;
    }
    }
    return mh_fail(err, errlen, MH_PLUGIN, "%s: unknown parameter type %d in the plugin", what,
                   (int)v->def->type);
}

mh_status mh__params_build(const mh_module_type *t, const char *label, const mh_cfg_node *map,
                           mh_params **out, char *err, size_t errlen)
{
    *out = NULL;
    mh_params *p = calloc(1, sizeof *p);
    if (!p || !(p->v = calloc(t->n_params + 1, sizeof *p->v))) {
        free(p);
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    }
    p->defs = t->params;
    p->n = t->n_params;
    mh_status st = MH_OK;
    /* Unknown keys first: a typo is the likeliest mistake. */
    for (size_t k = 0; map && k < mh_cfg_count(map); k++) {
        const char *key = NULL;
        mh_cfg_at(map, k, &key);
        if (!key || !strcmp(key, "plugin"))
            continue;
        size_t j = 0;
        while (j < t->n_params && strcmp(t->params[j].name, key))
            j++;
        if (j == t->n_params) {
            char known[512] = "";
            size_t off = 0;
            for (size_t q = 0; q < t->n_params && off < sizeof known; q++)
                off += (size_t)snprintf(known + off, sizeof known - off, "%s%s", q ? ", " : "",
                                        t->params[q].name);
            st = mh_cfg_fail(mh_cfg_key_at(map, k), err, errlen, MH_PARAM,
                             "module '%s': unknown parameter '%s' for plugin '%s' (known: %s)",
                             label, key, t->name, t->n_params ? known : "none");
            goto fail;
        }
    }
    for (size_t j = 0; j < t->n_params; j++) {
        mh__pval *v = &p->v[j];
        v->def = &t->params[j];
        const mh_cfg_node *n = map ? mh_cfg_get(map, v->def->name) : NULL;
        if (n && mh_cfg_kind_of(n) != MH_CFG_NULL) {
            v->set = true;
            st = mh__apply_value(p, v, n, label, err, errlen);
        } else if (v->def->default_value) {
            st = mh__apply_default(p, v, label, err, errlen);
        } else {
            st = mh_cfg_fail(map, err, errlen, MH_PARAM,
                             "module '%s': missing required parameter '%s' (%s: %s)", label,
                             v->def->name, mh_param_type_name(v->def->type),
                             v->def->help ? v->def->help : "");
        }
        if (st != MH_OK)
            goto fail;
    }
    *out = p;
    return MH_OK;
fail:
    mh__params_free(p);
    return st;
}

static const mh__pval *mh__find(const mh_params *p, const char *name, mh_param_type t)
{
    if (!p || !name)
        return NULL;
    for (size_t j = 0; j < p->n; j++)
        if (!strcmp(p->v[j].def->name, name))
            return p->v[j].def->type == t ? &p->v[j] : NULL;
    return NULL;
}

/* ---- host table functions (see mh_module.h) ---- */

int64_t mh__param_int(const mh_params *p, const char *name)
{
    const mh__pval *v = mh__find(p, name, MH_PARAM_INT);
    return v ? v->i : 0;
}

double mh__param_double(const mh_params *p, const char *name)
{
    const mh__pval *v = mh__find(p, name, MH_PARAM_DOUBLE);
    return v ? v->d : 0.0;
}

bool mh__param_bool(const mh_params *p, const char *name)
{
    const mh__pval *v = mh__find(p, name, MH_PARAM_BOOL);
    return v ? v->b : false;
}

const char *mh__param_string(const mh_params *p, const char *name)
{
    const mh__pval *v = mh__find(p, name, MH_PARAM_STRING);
    if (!v)
        v = mh__find(p, name, MH_PARAM_MAP);
    return v ? v->s : NULL;
}

size_t mh__param_list_size(const mh_params *p, const char *name)
{
    const mh__pval *v = mh__find(p, name, MH_PARAM_STRING_LIST);
    return v ? v->nlist : 0;
}

const char *mh__param_list_at(const mh_params *p, const char *name, size_t i)
{
    const mh__pval *v = mh__find(p, name, MH_PARAM_STRING_LIST);
    return v && i < v->nlist ? v->list[i] : NULL;
}

bool mh__param_is_set(const mh_params *p, const char *name)
{
    for (size_t j = 0; p && name && j < p->n; j++)
        if (!strcmp(p->v[j].def->name, name))
            return p->v[j].set;
    return false;
}
