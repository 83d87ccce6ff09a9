/* select.c - device selectors: the string form, the MINIHLT_OCL_DEVICE
 * override and the pure choice of a device from a list. */
#include "ocl/mh_ocl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const mh__type_names[] = {"any", "gpu", "accelerator", "custom", "cpu"};

const char *mh_ocl_type_name(mh_ocl_type t)
{
    if ((unsigned)t >= sizeof mh__type_names / sizeof mh__type_names[0])
        return "unknown";
    return mh__type_names[t];
}

void mh_ocl_selector_init(mh_ocl_selector *sel)
{
    memset(sel, 0, sizeof *sel);
    sel->type = MH_OCL_ANY;
}

static mh_status mh__parse_type(const char *v, size_t n, mh_ocl_type *t)
{
    for (size_t i = 0; i < sizeof mh__type_names / sizeof mh__type_names[0]; i++)
        if (strlen(mh__type_names[i]) == n && !strncmp(mh__type_names[i], v, n)) {
            *t = (mh_ocl_type)i;
            return MH_OK;
        }
    return MH_INVALID;
}

/* Sets one key from a value of vlen bytes; the reason goes into err without
 * context (the callers add it). */
static mh_status mh__selector_set(mh_ocl_selector *s, const char *key, size_t klen,
                                  const char *v, size_t vlen, char *err, size_t errlen)
{
    if (vlen == 0)
        return mh_fail(err, errlen, MH_INVALID, "empty value for '%.*s'", (int)klen, key);
    if (klen == 4 && !strncmp(key, "type", 4)) {
        if (mh__parse_type(v, vlen, &s->type) != MH_OK)
            return mh_fail(err, errlen, MH_INVALID,
                           "type must be any, gpu, accelerator, cpu or custom, got '%.*s'",
                           (int)vlen, v);
    } else if (klen == 5 && !strncmp(key, "index", 5)) {
        char num[16];
        unsigned long long x = 0;
        char *e = NULL;
        bool ok = vlen < sizeof num;
        if (ok) {
            memcpy(num, v, vlen);
            num[vlen] = '\0';
            errno = 0;
            x = strtoull(num, &e, 10);
            ok = num[0] >= '0' && num[0] <= '9' && !*e && !errno && x <= 65535;
        }
        if (!ok)
            return mh_fail(err, errlen, MH_INVALID,
                           "index must be an integer in [0, 65535], got '%.*s'", (int)vlen, v);
        s->index = (unsigned)x;
    } else if (klen == 4 && !strncmp(key, "name", 4)) {
        if (vlen >= sizeof s->name)
            return mh_fail(err, errlen, MH_INVALID, "name too long (%zu bytes)", vlen);
        memcpy(s->name, v, vlen);
        s->name[vlen] = '\0';
    } else {
        return mh_fail(err, errlen, MH_INVALID, "unknown key '%.*s' (keys: type, index, name)",
                       (int)klen, key);
    }
    return MH_OK;
}

mh_status mh_ocl_selector_set(mh_ocl_selector *sel, const char *key, const char *value,
                              char *err, size_t errlen)
{
    if (!key || !value)
        return mh_fail(err, errlen, MH_INVALID, "device selector: missing key or value");
    mh_ocl_selector s = *sel;
    mh_status st = mh__selector_set(&s, key, strlen(key), value, strlen(value), err, errlen);
    if (st != MH_OK)
        return mh_fail_prefix(err, errlen, st, "device selector: ");
    *sel = s;
    return MH_OK;
}

mh_status mh_ocl_selector_parse(const char *text, mh_ocl_selector *sel, char *err,
                                size_t errlen)
{
    mh_ocl_selector s;
    mh_ocl_selector_init(&s);
    if (!text || !*text)
        return mh_fail(err, errlen, MH_INVALID, "empty device selector");
    unsigned seen = 0; /* bit per key: type, index, name */
    const char *p = text;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq)
            return mh_fail(err, errlen, MH_INVALID,
                           "device selector '%s': expected key=value, got '%.*s'", text,
                           (int)len, p);
        size_t klen = (size_t)(eq - p);
        unsigned bit = klen == 4 && !strncmp(p, "type", 4)    ? 1u
                       : klen == 5 && !strncmp(p, "index", 5) ? 2u
                       : klen == 4 && !strncmp(p, "name", 4)  ? 4u
                                                              : 0u;
        if (seen & bit)
            return mh_fail(err, errlen, MH_INVALID, "device selector '%s': key '%.*s' given twice",
                           text, (int)klen, p);
        seen |= bit;
        mh_status st = mh__selector_set(&s, p, klen, eq + 1, len - klen - 1, err, errlen);
        if (st != MH_OK)
            return mh_fail_prefix(err, errlen, st, "device selector '%s': ", text);
        if (!end)
            break;
        p = end + 1;
    }
    *sel = s;
    return MH_OK;
}

char *mh_ocl_selector_format(const mh_ocl_selector *sel, char *buf, size_t len)
{
    if (!buf || len == 0)
        return buf;
    int n = snprintf(buf, len, "type=%s", mh_ocl_type_name(sel->type));
    if (n >= 0 && (size_t)n < len && sel->index)
        n += snprintf(buf + n, len - (size_t)n, ",index=%u", sel->index);
    if (n >= 0 && (size_t)n < len && sel->name[0])
        snprintf(buf + n, len - (size_t)n, ",name=%s", sel->name);
    return buf;
}

mh_status mh_ocl_selector_apply_env(mh_ocl_selector *sel, bool *overridden, char *err,
                                    size_t errlen)
{
    if (overridden)
        *overridden = false;
    const char *v = getenv(MH_OCL_DEVICE_ENV);
    if (!v || !*v)
        return MH_OK;
    mh_ocl_selector s;
    mh_status st = mh_ocl_selector_parse(v, &s, err, errlen);
    if (st != MH_OK)
        return mh_fail_prefix(err, errlen, MH_CONFIG, "%s: ", MH_OCL_DEVICE_ENV);
    *sel = s;
    if (overridden)
        *overridden = true;
    return MH_OK;
}

/* Selection order of types for type=any: coprocessors before the host. */
static const mh_ocl_type mh__rank[] = {MH_OCL_GPU, MH_OCL_ACCELERATOR, MH_OCL_CUSTOM,
                                       MH_OCL_CPU};

static bool mh__name_matches(const mh_ocl_selector *sel, const mh_ocl_device_info *d)
{
    if (!sel->name[0])
        return true;
    return strcasestr(d->name, sel->name) || strcasestr(d->platform_name, sel->name);
}

unsigned mh_ocl_type_index(const mh_ocl_device_info *list, size_t n, size_t i)
{
    unsigned k = 0;
    for (size_t j = 0; j < i && j < n; j++)
        if (list[j].type == list[i].type)
            k++;
    return k;
}

mh_status mh_ocl_select(const mh_ocl_selector *sel, const mh_ocl_device_info *list, size_t n,
                        size_t *index, char *err, size_t errlen)
{
    unsigned matches = 0;
    for (size_t r = 0; r < sizeof mh__rank / sizeof mh__rank[0]; r++) {
        if (sel->type != MH_OCL_ANY && sel->type != mh__rank[r])
            continue;
        for (size_t i = 0; i < n; i++) {
            if (list[i].type != mh__rank[r] || !mh__name_matches(sel, &list[i]))
                continue;
            if (matches == sel->index) {
                *index = i;
                return MH_OK;
            }
            matches++;
        }
    }
    if (!err || errlen == 0)
        return MH_NOTFOUND;
    char what[MH_OCL_STR + 64];
    mh_ocl_selector_format(sel, what, sizeof what);
    if (matches > 0) {
        /* Ask again without the index to show how many there are. */
        size_t used = strlen(what);
        snprintf(what + used, sizeof what - used, " (%u %s without the index)", matches,
                 matches == 1 ? "device matches" : "devices match");
    }
    int len = snprintf(err, errlen, "no OpenCL device matches %s; available:", what);
    if (n == 0 && len >= 0 && (size_t)len < errlen)
        snprintf(err + len, errlen - (size_t)len, " none (no OpenCL platform found)");
    for (size_t i = 0; i < n && len >= 0 && (size_t)len < errlen; i++)
        len += snprintf(err + len, errlen - (size_t)len, "%s [%zu] %s / %s (%s)",
                        i ? "," : "", i, list[i].platform_name, list[i].name,
                        mh_ocl_type_name(list[i].type));
    return MH_NOTFOUND;
}
