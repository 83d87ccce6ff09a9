/* cfg_node.c - the read-only mirror of a YAML tree and strict scalar
 * conversions (YAML 1.2 core schema; see README.md in this folder). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"

/* ---- building the mirror --------------------------------------------- */

typedef struct mh__where {
    const char *file;
    int col0;          /* added to columns on the first line (override text) */
    bool override;
} mh__where;

typedef struct mh__build {
    const mh__cfg_origin *origins;
    size_t norigins;
    char *err;
    size_t errlen;
} mh__build;

static bool mh__is_null_text(const char *s)
{
    return !*s || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") ||
           !strcmp(s, "NULL");
}

/* Location of a scalar from its token; false if libfyaml has no mark. */
static bool mh__scalar_mark(struct fy_node *fyn, const mh__where *w, mh_cfg_node *n)
{
    struct fy_token *t = fy_node_get_scalar_token(fyn);
    const struct fy_mark *mk = t ? fy_token_start_mark(t) : NULL;
    if (!mk || mk->line < 0 || mk->column < 0)
        return false;
    /* the mark of a quoted scalar is its first character, not the quote */
    enum fy_node_style style = fy_node_get_style(fyn);
    int quote = (style == FYNS_SINGLE_QUOTED || style == FYNS_DOUBLE_QUOTED) && mk->column > 0;
    n->line = mk->line + 1;
    n->column = mk->column + 1 - quote + (mk->line == 0 ? w->col0 : 0);
    return true;
}

static mh_status mh__build_node(mh__build *b, struct fy_node *fyn, mh__where w,
                                const mh_cfg_node *fallback, mh_cfg_node **out);

static mh_status mh__build_children(mh__build *b, struct fy_node *fyn, mh__where w,
                                    mh_cfg_node *n)
{
    bool map = fy_node_is_mapping(fyn);
    int cnt = map ? fy_node_mapping_item_count(fyn) : fy_node_sequence_item_count(fyn);
    if (cnt <= 0)
        return MH_OK;
    n->items = calloc((size_t)cnt, sizeof *n->items);
    if (map)
        n->keys = calloc((size_t)cnt, sizeof *n->keys);
    if (!n->items || (map && !n->keys))
        return mh_fail(b->err, b->errlen, MH_NOMEM, "out of memory building the menu tree");
    void *it = NULL;
    for (int i = 0; i < cnt; i++) {
        mh_status st;
        if (map) {
            struct fy_node_pair *p = fy_node_mapping_iterate(fyn, &it);
            if (!p)
                break;
            struct fy_node *k = fy_node_pair_key(p);
            st = mh__build_node(b, k, w, n, &n->keys[i]);
            n->n = (size_t)i + 1; /* so that mh__cfg_free sees what was built */
            if (st != MH_OK)
                return st;
            if (n->keys[i]->kind != MH_CFG_SCALAR)
                return mh_cfg_fail(n->keys[i], b->err, b->errlen, MH_CONFIG,
                                   "mapping keys must be non-empty scalars");
            st = mh__build_node(b, fy_node_pair_value(p), w, n->keys[i], &n->items[i]);
        } else {
            struct fy_node *c = fy_node_sequence_iterate(fyn, &it);
            if (!c)
                break;
            st = mh__build_node(b, c, w, n, &n->items[i]);
            n->n = (size_t)i + 1;
        }
        if (st != MH_OK)
            return st;
    }
    return MH_OK;
}

static mh_status mh__build_node(mh__build *b, struct fy_node *fyn, mh__where w,
                                const mh_cfg_node *fallback, mh_cfg_node **out)
{
    *out = NULL;
    for (size_t i = 0; fyn && i < b->norigins; i++)
        if (b->origins[i].node == fyn) {
            w.file = b->origins[i].file;
            w.col0 = b->origins[i].col0;
            w.override = true;
        }
    mh_cfg_node *n = calloc(1, sizeof *n);
    if (!n)
        return mh_fail(b->err, b->errlen, MH_NOMEM, "out of memory building the menu tree");
    *out = n;
    n->file = w.file;
    bool located = false;
    if (!fyn || fy_node_is_scalar(fyn)) {
        size_t len = 0;
        const char *s = fyn ? fy_node_get_scalar(fyn, &len) : "";
        if (!s)
            s = "";
        n->text = malloc(len + 1);
        if (!n->text)
            return mh_fail(b->err, b->errlen, MH_NOMEM, "out of memory building the menu tree");
        memcpy(n->text, s, len);
        n->text[len] = '\0';
        n->quoted = fyn && fy_node_get_style(fyn) != FYNS_PLAIN;
        n->kind = !n->quoted && mh__is_null_text(n->text) ? MH_CFG_NULL : MH_CFG_SCALAR;
        located = fyn && mh__scalar_mark(fyn, &w, n);
    } else {
        n->kind = fy_node_is_mapping(fyn) ? MH_CFG_MAP : MH_CFG_SEQ;
        mh_status st = mh__build_children(b, fyn, w, n);
        if (st != MH_OK)
            return st;
        /* libfyaml 0.7 keeps no public mark for collections: a mapping or
         * sequence is located at its first entry. */
        const mh_cfg_node *first = n->n ? (n->keys ? n->keys[0] : n->items[0]) : NULL;
        if (first && first->file == n->file) {
            n->line = first->line;
            n->column = first->column;
            located = true;
        }
    }
    if (!located) {
        if (w.override) {
            n->line = 1;
            n->column = w.col0 + 1;
        } else if (fallback && fallback->file == n->file) {
            n->line = fallback->line;
            n->column = fallback->column;
        } else {
            n->line = 1;
            n->column = 1;
        }
    }
    return MH_OK;
}

mh_status mh__cfg_build(struct fy_node *fyn, const char *file, const mh__cfg_origin *origins,
                        size_t norigins, mh_cfg_node **out, char *err, size_t errlen)
{
    mh__build b = {origins, norigins, err, errlen};
    mh__where w = {file, 0, false};
    mh_status st = mh__build_node(&b, fyn, w, NULL, out);
    if (st != MH_OK) {
        mh__cfg_free(*out);
        *out = NULL;
    }
    return st;
}

void mh__cfg_free(mh_cfg_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys)
            mh__cfg_free(n->keys[i]);
        if (n->items)
            mh__cfg_free(n->items[i]);
    }
    free(n->keys);
    free(n->items);
    free(n->text);
    free(n);
}

/* ---- read-only view ---------------------------------------------------- */

mh_cfg_kind mh_cfg_kind_of(const mh_cfg_node *n)
{
    return n ? n->kind : MH_CFG_NULL;
}

const char *mh_cfg_scalar(const mh_cfg_node *n)
{
    return n && n->kind == MH_CFG_SCALAR ? n->text : NULL;
}

size_t mh_cfg_count(const mh_cfg_node *n)
{
    return n && (n->kind == MH_CFG_SEQ || n->kind == MH_CFG_MAP) ? n->n : 0;
}

const mh_cfg_node *mh_cfg_at(const mh_cfg_node *n, size_t i, const char **key)
{
    if (key)
        *key = NULL;
    if (!n || (n->kind != MH_CFG_SEQ && n->kind != MH_CFG_MAP) || i >= n->n)
        return NULL;
    if (key && n->keys)
        *key = n->keys[i]->text;
    return n->items[i];
}

const mh_cfg_node *mh_cfg_key_at(const mh_cfg_node *n, size_t i)
{
    if (!n || n->kind != MH_CFG_MAP || i >= n->n)
        return NULL;
    return n->keys[i];
}

const mh_cfg_node *mh_cfg_get(const mh_cfg_node *map, const char *key)
{
    if (!map || map->kind != MH_CFG_MAP || !key)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (!strcmp(map->keys[i]->text, key))
            return map->items[i];
    return NULL;
}

const char *mh_cfg_file(const mh_cfg_node *n)
{
    return n ? n->file : NULL;
}

int mh_cfg_line(const mh_cfg_node *n)
{
    return n ? n->line : 0;
}

int mh_cfg_column(const mh_cfg_node *n)
{
    return n ? n->column : 0;
}

mh_status mh_cfg_fail(const mh_cfg_node *n, char *err, size_t errlen, mh_status st,
                      const char *fmt, ...)
{
    if (!err || !errlen)
        return st;
    size_t off = 0;
    if (n) {
        int w = snprintf(err, errlen, "%s:%d:%d: ", n->file ? n->file : "?", n->line, n->column);
        off = w < 0 ? 0 : (size_t)w;
        if (off >= errlen)
            return st;
    } else {
        err[0] = '\0';
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + off, errlen - off, fmt, ap);
    va_end(ap);
    return st;
}

/* ---- strict conversions ------------------------------------------------ */

static mh_status mh__type_error(const mh_cfg_node *n, const char *what, const char *type,
                                const char *why, char *err, size_t errlen)
{
    what = what ? what : "value";
    if (!n)
        return mh_cfg_fail(NULL, err, errlen, MH_PARAM, "%s: expected %s, got nothing", what,
                           type);
    switch (n->kind) {
    case MH_CFG_NULL:
        return mh_cfg_fail(n, err, errlen, MH_PARAM, "%s: expected %s, got null", what, type);
    case MH_CFG_SEQ:
        return mh_cfg_fail(n, err, errlen, MH_PARAM, "%s: expected %s, got a sequence", what,
                           type);
    case MH_CFG_MAP:
        return mh_cfg_fail(n, err, errlen, MH_PARAM, "%s: expected %s, got a mapping", what,
                           type);
    case MH_CFG_SCALAR:
        break;
    }
    return mh_cfg_fail(n, err, errlen, MH_PARAM, "%s: expected %s, got %s'%s'%s", what, type,
                       n->quoted ? "quoted string " : "", n->text, why ? why : "");
}

static const mh_cfg_node *mh__plain(const mh_cfg_node *n)
{
    return n && n->kind == MH_CFG_SCALAR && !n->quoted ? n : NULL;
}

mh_status mh_cfg_as_bool(const mh_cfg_node *n, const char *what, bool *out, char *err,
                         size_t errlen)
{
    static const char *const yes[] = {"true", "True", "TRUE"};
    static const char *const no[] = {"false", "False", "FALSE"};
    if (mh__plain(n))
        for (size_t i = 0; i < 3; i++) {
            if (!strcmp(n->text, yes[i])) {
                *out = true;
                return MH_OK;
            }
            if (!strcmp(n->text, no[i])) {
                *out = false;
                return MH_OK;
            }
        }
    return mh__type_error(n, what, "boolean (true or false)", NULL, err, errlen);
}

static bool mh__all(const char *s, const char *set)
{
    return *s && strspn(s, set) == strlen(s);
}

mh_status mh_cfg_as_int(const mh_cfg_node *n, const char *what, int64_t *out, char *err,
                        size_t errlen)
{
    if (!mh__plain(n))
        return mh__type_error(n, what, "integer", NULL, err, errlen);
    const char *s = n->text;
    errno = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o')) {
        bool hex = s[1] == 'x';
        if (!mh__all(s + 2, hex ? "0123456789abcdefABCDEF" : "01234567"))
            return mh__type_error(n, what, "integer", NULL, err, errlen);
        unsigned long long v = strtoull(s + 2, NULL, hex ? 16 : 8);
        if (errno == ERANGE || v > (unsigned long long)INT64_MAX)
            return mh__type_error(n, what, "integer", " (out of range)", err, errlen);
        *out = (int64_t)v;
        return MH_OK;
    }
    const char *d = s + (s[0] == '-' || s[0] == '+');
    if (!mh__all(d, "0123456789"))
        return mh__type_error(n, what, "integer", NULL, err, errlen);
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE)
        return mh__type_error(n, what, "integer", " (out of range)", err, errlen);
    *out = (int64_t)v;
    return MH_OK;
}

/* [-+]? ( \.[0-9]+ | [0-9]+ ( \.[0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static bool mh__is_float_text(const char *s)
{
    if (*s == '-' || *s == '+')
        s++;
    size_t ip = strspn(s, "0123456789");
    s += ip;
    size_t fp = 0;
    if (*s == '.') {
        s++;
        fp = strspn(s, "0123456789");
        s += fp;
    }
    if (!ip && !fp)
        return false;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+')
            s++;
        size_t ep = strspn(s, "0123456789");
        if (!ep)
            return false;
        s += ep;
    }
    return *s == '\0';
}

mh_status mh_cfg_as_double(const mh_cfg_node *n, const char *what, double *out, char *err,
                           size_t errlen)
{
    if (!mh__plain(n) || !mh__is_float_text(n->text))
        return mh__type_error(n, what, "number", NULL, err, errlen);
    errno = 0;
    double v = strtod(n->text, NULL);
    if (errno == ERANGE && (v > 1.0 || v < -1.0))
        return mh__type_error(n, what, "number", " (out of range)", err, errlen);
    *out = v;
    return MH_OK;
}

mh_status mh_cfg_as_string(const mh_cfg_node *n, const char *what, const char **out,
                           char *err, size_t errlen)
{
    if (!n || n->kind != MH_CFG_SCALAR)
        return mh__type_error(n, what, "string", NULL, err, errlen);
    *out = n->text;
    return MH_OK;
}
