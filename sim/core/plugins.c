/* plugins.c - finding and loading plugin shared objects (the registry of
 * module types). Loader practice from libuv src/unix/dl.c: RTLD_NOW |
 * RTLD_LOCAL, dlerror() text in every message, dlclose on a bad plugin. */
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/sched_internal.h"

/* Smallest struct sizes a version-1 plugin may have: up to the last field
 * of the first ABI version. */
#define MH__PLUGIN_V1_SIZE (offsetof(mh_plugin, n_types) + sizeof(size_t))
#define MH__TYPE_V1_SIZE (offsetof(mh_module_type, destroy) + sizeof(void (*)(void *)))

typedef struct mh__loaded {
    char *path;
    void *handle;
    const mh_plugin *plugin;
} mh__loaded;

typedef struct mh__failed {
    char *path;
    char *reason;
} mh__failed;

struct mh_plugins {
    mh__loaded *loaded;
    size_t nloaded, loaded_cap;
    mh__failed *failed;
    size_t nfailed, failed_cap;
    char *search_path;
};

const char *mh_param_type_name(mh_param_type t)
{
    switch (t) {
    case MH_PARAM_INT: return "int";
    case MH_PARAM_DOUBLE: return "double";
    case MH_PARAM_BOOL: return "bool";
    case MH_PARAM_STRING: return "string";
    case MH_PARAM_STRING_LIST: return "string list";
    case MH_PARAM_MAP: return "map";
    }
    return "unknown";
}

static mh_status mh__add_failure(mh_plugins *pl, const char *path, const char *reason)
{
    if (mh__grow((void **)&pl->failed, &pl->failed_cap, pl->nfailed, sizeof *pl->failed))
        return MH_NOMEM;
    char *p = strdup(path), *r = strdup(reason);
    if (!p || !r) {
        free(p);
        free(r);
        return MH_NOMEM;
    }
    pl->failed[pl->nfailed++] = (mh__failed){p, r};
    return MH_OK;
}

/* Checks the tables a plugin returned; reason gets the first problem. */
static bool mh__plugin_valid(const mh_plugin *p, char *reason, size_t len)
{
    if (p->abi_version != MH_MODULE_ABI_VERSION) {
        snprintf(reason, len, "plugin ABI version %u, this minihlt has version %u",
                 p->abi_version, MH_MODULE_ABI_VERSION);
        return false;
    }
    if (p->struct_size < MH__PLUGIN_V1_SIZE) {
        snprintf(reason, len, "plugin table of %u bytes, at least %zu expected", p->struct_size,
                 (size_t)MH__PLUGIN_V1_SIZE);
        return false;
    }
    if (!p->name || !p->name[0] || (p->n_types && !p->types)) {
        snprintf(reason, len, "plugin table without name or types");
        return false;
    }
    for (size_t i = 0; i < p->n_types; i++) {
        const mh_module_type *t = p->types[i];
        if (!t || t->abi_version != MH_MODULE_ABI_VERSION) {
            snprintf(reason, len, "module type %zu: ABI version %u, this minihlt has version %u",
                     i, t ? t->abi_version : 0u, MH_MODULE_ABI_VERSION);
            return false;
        }
        if (t->struct_size < MH__TYPE_V1_SIZE) {
            snprintf(reason, len, "module type %zu: table of %u bytes, at least %zu expected", i,
                     t->struct_size, (size_t)MH__TYPE_V1_SIZE);
            return false;
        }
        if (!t->name || !t->name[0] || !t->create || !t->produce || !t->destroy ||
            (t->n_params && !t->params)) {
            snprintf(reason, len, "module type '%s': missing name, create, produce or destroy",
                     t->name ? t->name : "?");
            return false;
        }
        if (t->kind < MH_KIND_PRODUCER || t->kind > MH_KIND_OUTPUT) {
            snprintf(reason, len, "module type '%s': unknown kind %d", t->name, (int)t->kind);
            return false;
        }
    }
    return true;
}

static mh_status mh__load_file(mh_plugins *pl, const char *path)
{
    char reason[512];
    dlerror();
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(reason, sizeof reason, "dlopen: %s", e ? e : "unknown error");
        return mh__add_failure(pl, path, reason);
    }
    dlerror();
    void *sym = dlsym(h, MH_PLUGIN_ENTRY_NAME);
    if (!sym) {
        const char *e = dlerror();
        snprintf(reason, sizeof reason, "no entry symbol %s: %s", MH_PLUGIN_ENTRY_NAME,
                 e ? e : "symbol is NULL");
        dlclose(h);
        return mh__add_failure(pl, path, reason);
    }
    mh_plugin_entry_fn entry;
    memcpy(&entry, &sym, sizeof entry); /* object to function pointer, as POSIX allows */
    const mh_plugin *p = entry();
    if (!p) {
        dlclose(h);
        return mh__add_failure(pl, path, MH_PLUGIN_ENTRY_NAME "() returned NULL");
    }
    if (!mh__plugin_valid(p, reason, sizeof reason)) {
        dlclose(h);
        return mh__add_failure(pl, path, reason);
    }
    if (mh__grow((void **)&pl->loaded, &pl->loaded_cap, pl->nloaded, sizeof *pl->loaded)) {
        dlclose(h);
        return MH_NOMEM;
    }
    char *cp = strdup(path);
    if (!cp) {
        dlclose(h);
        return MH_NOMEM;
    }
    pl->loaded[pl->nloaded++] = (mh__loaded){cp, h, p};
    return MH_OK;
}

static int mh__cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Loads every *.so of dir in name order (a stable order makes "first one
 * wins" predictable). */
static mh_status mh__load_dir(mh_plugins *pl, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return MH_OK; /* a missing directory of the search path is not an error */
    char **names = NULL;
    size_t n = 0, cap = 0;
    mh_status st = MH_OK;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 4 || strcmp(de->d_name + len - 3, ".so"))
            continue;
        if (mh__grow((void **)&names, &cap, n, sizeof *names) || !(names[n] = strdup(de->d_name))) {
            st = MH_NOMEM;
            goto out_names;
        }
        n++;
    }
    if (n)
        qsort(names, n, sizeof *names, mh__cmp_str);
    for (size_t i = 0; i < n && st == MH_OK; i++) {
        char path[PATH_MAX];
        if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int)sizeof path)
            continue;
        st = mh__load_file(pl, path);
    }
out_names:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return st;
}

mh_status mh_plugins_load(const char *const *dirs, size_t ndirs, mh_plugins **out, char *err,
                          size_t errlen)
{
    *out = NULL;
    mh_plugins *pl = calloc(1, sizeof *pl);
    if (!pl)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory loading plugins");
    size_t sp_len = 1;
    for (size_t i = 0; i < ndirs; i++)
        sp_len += strlen(dirs[i]) + 1;
    pl->search_path = calloc(1, sp_len);
    if (!pl->search_path)
        goto nomem;
    for (size_t i = 0, off = 0; i < ndirs; i++) {
        off += (size_t)snprintf(pl->search_path + off, sp_len - off, "%s%s", i ? ":" : "", dirs[i]);
        if (mh__load_dir(pl, dirs[i]) != MH_OK)
            goto nomem;
    }
    *out = pl;
    return MH_OK;
nomem:
    mh_plugins_free(pl);
    return mh_fail(err, errlen, MH_NOMEM, "out of memory loading plugins");
}

mh_status mh_plugins_load_default(mh_plugins **out, char *err, size_t errlen)
{
    const char *dirs[64];
    size_t n = 0;
    char *env = NULL;
    const char *ev = getenv("MINIHLT_PLUGIN_PATH");
    if (ev && ev[0]) {
        env = strdup(ev);
        if (!env)
            return mh_fail(err, errlen, MH_NOMEM, "out of memory");
        for (char *save = NULL, *tok = strtok_r(env, ":", &save); tok && n < 63;
             tok = strtok_r(NULL, ":", &save))
            dirs[n++] = tok;
    }
    char exe[PATH_MAX], own[PATH_MAX + 16];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            snprintf(own, sizeof own, "%s/../plugins", exe);
            char real[PATH_MAX];
            if (realpath(own, real)) /* a readable path in messages */
                snprintf(own, sizeof own, "%s", real);
            dirs[n++] = own;
        }
    }
    mh_status st = mh_plugins_load(dirs, n, out, err, errlen);
    free(env);
    return st;
}

void mh_plugins_free(mh_plugins *pl)
{
    if (!pl)
        return;
    for (size_t i = 0; i < pl->nloaded; i++) {
        dlclose(pl->loaded[i].handle);
        free(pl->loaded[i].path);
    }
    for (size_t i = 0; i < pl->nfailed; i++) {
        free(pl->failed[i].path);
        free(pl->failed[i].reason);
    }
    free(pl->loaded);
    free(pl->failed);
    free(pl->search_path);
    free(pl);
}

const mh_module_type *mh_plugins_find(const mh_plugins *pl, const char *name,
                                      const char **plugin_name)
{
    for (size_t i = 0; i < pl->nloaded; i++) {
        const mh_plugin *p = pl->loaded[i].plugin;
        for (size_t j = 0; j < p->n_types; j++)
            if (!strcmp(p->types[j]->name, name)) {
                if (plugin_name)
                    *plugin_name = p->name;
                return p->types[j];
            }
    }
    return NULL;
}

size_t mh_plugins_count(const mh_plugins *pl)
{
    return pl->nloaded;
}

const mh_plugin *mh_plugins_at(const mh_plugins *pl, size_t i, const char **path)
{
    if (i >= pl->nloaded)
        return NULL;
    if (path)
        *path = pl->loaded[i].path;
    return pl->loaded[i].plugin;
}

size_t mh_plugins_failures(const mh_plugins *pl)
{
    return pl->nfailed;
}

void mh_plugins_failure(const mh_plugins *pl, size_t i, const char **path, const char **reason)
{
    *path = i < pl->nfailed ? pl->failed[i].path : NULL;
    *reason = i < pl->nfailed ? pl->failed[i].reason : NULL;
}

const char *mh_plugins_search_path(const mh_plugins *pl)
{
    return pl->search_path;
}
