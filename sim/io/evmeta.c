/* evmeta.c - the metadata of an .mhe file: ordered key/value strings, and
 * their encoding as the metadata block (sim/io/FORMAT.md). */
#include "io/evfile_internal.h"
#include "io/evmeta_internal.h"
#include "io/mh_evfile.h"

#include <stdlib.h>
#include <string.h>

struct mh_evmeta {
    size_t n, cap;
    char **keys;
    char **values;
};

mh_evmeta *mh_evmeta_create(void)
{
    return calloc(1, sizeof(mh_evmeta));
}

void mh_evmeta_free(mh_evmeta *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->keys[i]);
        free(m->values[i]);
    }
    free(m->keys);
    free(m->values);
    free(m);
}

int mh__evmeta_key_ok(const char *key, size_t len)
{
    if (len == 0 || len > MH__EV_MAX_KEY)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c <= 0x20 || c >= 0x7F || c == '=')
            return 0;
    }
    return 1;
}

static char *mh__strndup(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

mh_status mh__evmeta_setn(mh_evmeta *m, const char *key, size_t klen, const char *value,
                          size_t vlen)
{
    if (!m || !key || !value || !mh__evmeta_key_ok(key, klen) || vlen > MH__EV_MAX_VALUE ||
        memchr(value, '\0', vlen))
        return MH_INVALID;
    char *v = mh__strndup(value, vlen);
    if (!v)
        return MH_NOMEM;
    for (size_t i = 0; i < m->n; i++) {
        if (strlen(m->keys[i]) == klen && !memcmp(m->keys[i], key, klen)) {
            free(m->values[i]);
            m->values[i] = v;
            return MH_OK;
        }
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8;
        char **k2 = realloc(m->keys, cap * sizeof *k2);
        if (!k2)
            goto fail_value;
        m->keys = k2;
        char **v2 = realloc(m->values, cap * sizeof *v2);
        if (!v2)
            goto fail_value;
        m->values = v2;
        m->cap = cap;
    }
    char *k = mh__strndup(key, klen);
    if (!k)
        goto fail_value;
    m->keys[m->n] = k;
    m->values[m->n] = v;
    m->n++;
    return MH_OK;
fail_value:
    free(v);
    return MH_NOMEM;
}

mh_status mh_evmeta_set(mh_evmeta *m, const char *key, const char *value)
{
    if (!key || !value)
        return MH_INVALID;
    return mh__evmeta_setn(m, key, strlen(key), value, strlen(value));
}

const char *mh_evmeta_get(const mh_evmeta *m, const char *key)
{
    if (!m || !key)
        return NULL;
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->keys[i], key))
            return m->values[i];
    return NULL;
}

size_t mh_evmeta_count(const mh_evmeta *m)
{
    return m ? m->n : 0;
}

void mh_evmeta_at(const mh_evmeta *m, size_t i, const char **key, const char **value)
{
    if (!m || i >= m->n) {
        if (key)
            *key = NULL;
        if (value)
            *value = NULL;
        return;
    }
    if (key)
        *key = m->keys[i];
    if (value)
        *value = m->values[i];
}

mh_status mh__evmeta_copy(mh_evmeta *dst, const mh_evmeta *src)
{
    for (size_t i = 0; src && i < src->n; i++) {
        mh_status st = mh_evmeta_set(dst, src->keys[i], src->values[i]);
        if (st != MH_OK)
            return st;
    }
    return MH_OK;
}

size_t mh__evmeta_encoded_size(const mh_evmeta *m)
{
    size_t n = 4;
    for (size_t i = 0; i < m->n; i++)
        n += 8 + strlen(m->keys[i]) + strlen(m->values[i]);
    return n;
}

void mh__evmeta_encode(const mh_evmeta *m, uint8_t *dst)
{
    uint8_t *p = dst;
    mh__st32(p, (uint32_t)m->n);
    p += 4;
    for (size_t i = 0; i < m->n; i++) {
        size_t kl = strlen(m->keys[i]), vl = strlen(m->values[i]);
        p[0] = MH__EV_META_STRING;
        p[1] = 0;
        mh__st16(p + 2, (uint16_t)kl);
        mh__st32(p + 4, (uint32_t)vl);
        memcpy(p + 8, m->keys[i], kl);
        memcpy(p + 8 + kl, m->values[i], vl);
        p += 8 + kl + vl;
    }
}

mh_status mh__evmeta_decode(const uint8_t *p, size_t n, mh_evmeta *m, const char *what,
                            char *err, size_t errlen)
{
    if (n < 4)
        return mh_fail(err, errlen, MH_CORRUPT, "%s: block of %zu bytes has no entry count",
                       what, n);
    uint32_t count = mh__ld32(p);
    size_t pos = 4;
    if (count > (n - 4) / 8)
        return mh_fail(err, errlen, MH_CORRUPT, "%s: %u entries cannot fit in %zu bytes", what,
                       count, n);
    for (uint32_t i = 0; i < count; i++) {
        if (n - pos < 8)
            return mh_fail(err, errlen, MH_CORRUPT, "%s: entry %u: header past end of block",
                           what, i);
        uint8_t type = p[pos];
        size_t kl = mh__ld16(p + pos + 2);
        size_t vl = mh__ld32(p + pos + 4);
        pos += 8;
        if (kl > n - pos || vl > n - pos - kl)
            return mh_fail(err, errlen, MH_CORRUPT,
                           "%s: entry %u: key length %zu + value length %zu past end of block "
                           "(%zu bytes left)",
                           what, i, kl, vl, n - pos);
        const char *key = (const char *)p + pos;
        const char *val = key + kl;
        pos += kl + vl;
        if (!mh__evmeta_key_ok(key, kl))
            return mh_fail(err, errlen, MH_CORRUPT, "%s: entry %u: invalid key", what, i);
        if (type != MH__EV_META_STRING)
            continue; /* a newer minor version's entry type: skipped */
        if (vl > MH__EV_MAX_VALUE || memchr(val, '\0', vl))
            return mh_fail(err, errlen, MH_CORRUPT, "%s: entry %u (%.*s): invalid value", what,
                           i, (int)kl, key);
        for (size_t j = 0; j < m->n; j++)
            if (strlen(m->keys[j]) == kl && !memcmp(m->keys[j], key, kl))
                return mh_fail(err, errlen, MH_CORRUPT, "%s: entry %u: duplicate key '%.*s'",
                               what, i, (int)kl, key);
        mh_status st = mh__evmeta_setn(m, key, kl, val, vl);
        if (st != MH_OK)
            return mh_fail(err, errlen, st, "%s: %s", what, mh_strerror(st));
    }
    if (pos != n)
        return mh_fail(err, errlen, MH_CORRUPT, "%s: %zu stray bytes after %u entries", what,
                       n - pos, count);
    return MH_OK;
}
