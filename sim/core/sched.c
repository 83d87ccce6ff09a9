/* sched.c - building the process from a menu (module types, parameters,
 * products, dependency graph, streams) and running the event loop. The
 * per-event logic is in sched_event.c, the source in source.c. */
#include <jansson.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/sched_internal.h"
#include "timing/timing_internal.h"

static const mh__path *mh__path_of(const mh_sched *s, size_t p)
{
    return &s->paths[p];
}

static mh_status mh__build_paths(mh_sched *s, char *err, size_t errlen)
{
    const mh_menu *m = s->menu;
    s->ntrig = m->npaths;
    s->npaths = m->npaths + m->nend_paths;
    s->paths = calloc(s->npaths ? s->npaths : 1, sizeof *s->paths);
    if (!s->paths)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    for (size_t p = 0; p < s->npaths; p++) {
        const mh_menu_path *mp = p < m->npaths ? &m->paths[p] : &m->end_paths[p - m->npaths];
        mh__path *path = &s->paths[p];
        path->name = mp->name;
        path->end_path = p >= m->npaths;
        path->prescale = path->end_path ? 1 : mp->prescale;
        path->nmodules = mp->nmodules;
        path->modules = calloc(mp->nmodules ? mp->nmodules : 1, sizeof *path->modules);
        if (!path->modules)
            return mh_fail(err, errlen, MH_NOMEM, "out of memory");
        for (size_t k = 0; k < mp->nmodules; k++) {
            size_t i = 0;
            while (i < s->nmods && strcmp(s->mods[i].label, mp->modules[k]))
                i++;
            if (i == s->nmods) /* sim/config checked this already */
                return mh_cfg_fail(mp->node, err, errlen, MH_CONFIG, "path '%s': unknown module '%s'",
                                   mp->name, mp->modules[k]);
            const mh__module *mod = &s->mods[i];
            if (mod->type->kind == MH_KIND_OUTPUT && !path->end_path)
                return mh_cfg_fail(mp->node, err, errlen, MH_CONFIG,
                                   "path '%s': module '%s' is an output module (plugin '%s'); "
                                   "put it on an end path", mp->name, mod->label, mod->type->name);
            path->modules[k] = (uint32_t)i;
        }
    }
    return MH_OK;
}

static mh_status mh__create_modules(mh_sched *s, char *err, size_t errlen)
{
    const mh_menu *m = s->menu;
    s->nmods = m->nmodules;
    s->mods = calloc(s->nmods ? s->nmods : 1, sizeof *s->mods);
    if (!s->mods)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    for (size_t i = 0; i < s->nmods; i++) {
        mh__module *mod = &s->mods[i];
        mod->label = m->modules[i].label;
        mod->ctx.s = s;
        mod->ctx.index = (uint32_t)i;
        /* Measure CPU time until a call shows the module is short. */
        atomic_store(&mod->measure_cpu, true);
    }
    /* Resolve every type and validate every parameter before creating any
     * module: configuration errors come out before slow start-ups. */
    for (size_t i = 0; i < s->nmods; i++) {
        mh__module *mod = &s->mods[i];
        const mh_menu_module *mm = &m->modules[i];
        mod->type = mh_plugins_find(s->pl, mm->plugin, &mod->plugin_name);
        if (!mod->type) {
            char why[1024] = "";
            size_t off = 0, nf = mh_plugins_failures(s->pl);
            for (size_t f = 0; f < nf && off < sizeof why; f++) {
                const char *path, *reason;
                mh_plugins_failure(s->pl, f, &path, &reason);
                off += (size_t)snprintf(why + off, sizeof why - off, "; %s failed to load: %s",
                                        path, reason);
            }
            return mh_cfg_fail(mh_cfg_get(mm->params, "plugin"), err, errlen, MH_PLUGIN,
                               "module '%s': unknown plugin '%s' (no module type of that name in "
                               "%s)%s", mod->label, mm->plugin, mh_plugins_search_path(s->pl), why);
        }
        mod->async = mod->type->acquire != NULL;
        mh_status st = mh__params_build(mod->type, mod->label, mm->params, &mod->params, err, errlen);
        if (st != MH_OK)
            return st;
    }
    for (size_t i = 0; i < s->nmods; i++) {
        mh__module *mod = &s->mods[i];
        char e[MH__ERRLEN] = "";
        mh__tls.s = s;
        mh__tls.module = (long)i;
        mh_status st = mod->type->create(&s->host, &mod->ctx, mod->params, &mod->self, e, sizeof e);
        mh__tls.module = -1;
        mod->created = true; /* destroy() runs also after a failed create() */
        if (st != MH_OK) {
            const char *txt = e[0] ? e : mh_strerror(st);
            /* Modules usually name themselves; add the label if not. */
            if (strstr(txt, mod->label))
                return mh_fail(err, errlen, st, "%s", txt);
            return mh_fail(err, errlen, st, "module '%s' (plugin '%s'): %s", mod->label,
                           mod->type->name, txt);
        }
    }
    return MH_OK;
}

/* Resolves consumed products to producers, builds each module's distinct
 * dependency list and rejects cycles. */
static mh_status mh__build_graph(mh_sched *s, char *err, size_t errlen)
{
    for (size_t i = 0; i < s->nmods; i++) {
        mh__module *mod = &s->mods[i];
        mod->deps = calloc(mod->nconsumes + 1, sizeof *mod->deps);
        if (!mod->deps)
            return mh_fail(err, errlen, MH_NOMEM, "out of memory");
        for (size_t k = 0; k < mod->nconsumes; k++) {
            mh__consumed *c = &mod->consumes[k];
            size_t p = 0;
            while (p < s->nprods &&
                   (strcmp(s->prods[p].label, c->label) || strcmp(s->prods[p].instance, c->instance)))
                p++;
            if (p == s->nprods) {
                bool known = false;
                for (size_t j = 0; j < s->nmods; j++)
                    known |= !strcmp(s->mods[j].label, c->label);
                return mh_fail(err, errlen, MH_CONFIG,
                               "module '%s' consumes product '%s%s%s' (%s) but %s", mod->label,
                               c->label, c->instance[0] ? ":" : "", c->instance, c->type,
                               known ? "that module does not produce it"
                                     : "no module of that label is in the menu");
            }
            if (strcmp(s->prods[p].type, c->type))
                return mh_fail(err, errlen, MH_CONFIG,
                               "module '%s' consumes '%s%s%s' as type '%s' but '%s' produces type '%s'",
                               mod->label, c->label, c->instance[0] ? ":" : "", c->instance, c->type,
                               c->label, s->prods[p].type);
            c->product = (uint32_t)p;
            uint32_t d = s->prods[p].producer;
            if (d == i)
                return mh_fail(err, errlen, MH_CYCLE, "dependency cycle: module '%s' consumes its own product",
                               mod->label);
            bool dup = false;
            for (size_t q = 0; q < mod->ndeps; q++)
                dup |= mod->deps[q] == d;
            if (!dup)
                mod->deps[mod->ndeps++] = d;
        }
        mod->dep_base = s->ndep_waiters;
        s->ndep_waiters += mod->ndeps;
    }
    /* Solo modules: one user (one path occurrence or one consumer). */
    for (size_t i = 0; i < s->nmods; i++) {
        size_t users = 0;
        for (size_t p = 0; p < s->npaths; p++)
            for (size_t k = 0; k < s->paths[p].nmodules; k++)
                users += s->paths[p].modules[k] == i;
        for (size_t j = 0; j < s->nmods; j++)
            for (size_t q = 0; q < s->mods[j].ndeps; q++)
                users += s->mods[j].deps[q] == i;
        s->mods[i].solo = users == 1 && !s->mods[i].async && s->mods[i].ndeps == 0;
    }
    /* Cycle check: depth-first search with colours; the cycle is printed. */
    uint8_t *colour = calloc(s->nmods + 1, 1);
    uint32_t *stack = calloc(s->nmods + 1, sizeof *stack);
    size_t *iter = calloc(s->nmods + 1, sizeof *iter);
    mh_status st = MH_OK;
    if (!colour || !stack || !iter) {
        st = mh_fail(err, errlen, MH_NOMEM, "out of memory");
        goto out;
    }
    for (size_t root = 0; root < s->nmods && st == MH_OK; root++) {
        if (colour[root])
            continue;
        size_t depth = 0;
        stack[depth++] = (uint32_t)root;
        colour[root] = 1;
        iter[root] = 0;
        while (depth && st == MH_OK) {
            uint32_t u = stack[depth - 1];
            if (iter[u] == s->mods[u].ndeps) {
                colour[u] = 2;
                depth--;
                continue;
            }
            uint32_t v = s->mods[u].deps[iter[u]++];
            if (colour[v] == 1) {
                char cyc[512];
                size_t off = 0, k = 0;
                while (stack[k] != v)
                    k++;
                for (; k < depth && off < sizeof cyc; k++)
                    off += (size_t)snprintf(cyc + off, sizeof cyc - off, "%s -> ",
                                            s->mods[stack[k]].label);
                if (off < sizeof cyc)
                    snprintf(cyc + off, sizeof cyc - off, "%s", s->mods[v].label);
                st = mh_fail(err, errlen, MH_CYCLE, "dependency cycle: %s (each consumes a product of the next)", cyc);
            } else if (colour[v] == 0) {
                colour[v] = 1;
                iter[v] = 0;
                stack[depth++] = v;
            }
        }
    }
out:
    free(colour);
    free(stack);
    free(iter);
    return st;
}

static mh_status mh__build_streams(mh_sched *s, char *err, size_t errlen)
{
    s->streams_arr = calloc(s->streams, sizeof *s->streams_arr);
    if (!s->streams_arr)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    for (unsigned i = 0; i < s->streams; i++) {
        mh__stream *st = &s->streams_arr[i];
        st->s = s;
        st->index = i;
        size_t np = s->npaths ? s->npaths : 1;
        st->pos = calloc(np, sizeof *st->pos);
        st->accepted = calloc(np, sizeof *st->accepted);
        st->active = calloc(np, sizeof *st->active);
        st->mods = calloc(s->nmods ? s->nmods : 1, sizeof *st->mods);
        st->slots = calloc(s->nprods ? s->nprods : 1, sizeof *st->slots);
        st->path_waiters = calloc(np, sizeof *st->path_waiters);
        st->dep_waiters = calloc(s->ndep_waiters ? s->ndep_waiters : 1, sizeof *st->dep_waiters);
        if (!st->pos || !st->accepted || !st->active || !st->mods || !st->slots ||
            !st->path_waiters || !st->dep_waiters)
            return mh_fail(err, errlen, MH_NOMEM, "out of memory");
        for (size_t m = 0; m < s->nmods; m++) {
            st->mods[m].view.st = st;
            st->mods[m].view.mod = (uint32_t)m;
            for (size_t j = 0; j < s->mods[m].ndeps; j++)
                st->dep_waiters[s->mods[m].dep_base + j] =
                    (mh__waiter){NULL, st, MH__W_DEP, (uint32_t)m, -1};
        }
        for (size_t p = 0; p < s->npaths; p++)
            st->path_waiters[p] = (mh__waiter){NULL, st, MH__W_PATH, (uint32_t)p, (long)p};
        st->begin = (mh__waiter){NULL, st, 0, 0, -1};
        st->next_idle = s->src.idle;
        s->src.idle = st;
        s->src.nidle++;
    }
    return MH_OK;
}

static mh_status mh__build_timing(mh_sched *s, char *err, size_t errlen)
{
    const mh_menu *m = s->menu;
    mh_status st = MH_OK;
    const char **labels = calloc(s->nmods + 1, sizeof *labels);
    const char **plugins = calloc(s->nmods + 1, sizeof *plugins);
    const char **pnames = calloc(s->npaths + 1, sizeof *pnames);
    mh_timing_group *groups = calloc(m->ngroups + 1, sizeof *groups);
    size_t *gidx = NULL, ng = 0;
    for (size_t g = 0; g < m->ngroups; g++)
        ng += m->groups[g].nmodules;
    gidx = calloc(ng + 1, sizeof *gidx);
    if (!labels || !plugins || !pnames || !groups || !gidx) {
        st = mh_fail(err, errlen, MH_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < s->nmods; i++) {
        labels[i] = s->mods[i].label;
        plugins[i] = s->mods[i].type->name;
    }
    for (size_t p = 0; p < s->npaths; p++)
        pnames[p] = mh__path_of(s, p)->name;
    size_t k = 0;
    for (size_t g = 0; g < m->ngroups; g++) {
        groups[g].name = m->groups[g].name;
        groups[g].modules = &gidx[k];
        groups[g].nmodules = m->groups[g].nmodules;
        for (size_t j = 0; j < m->groups[g].nmodules; j++) {
            size_t i = 0;
            while (i < s->nmods && strcmp(s->mods[i].label, m->groups[g].modules[j]))
                i++;
            gidx[k++] = i;
        }
    }
    mh_timing_setup setup = {
        .module_labels = labels, .module_plugins = plugins, .nmodules = s->nmods,
        .path_names = pnames, .npaths = s->npaths, .nend_paths = s->npaths - s->ntrig,
        .groups = groups, .ngroups = m->ngroups, .threads = s->threads, .streams = s->streams,
    };
    st = mh_timing_create(&setup, &s->timing, err, errlen);
out:
    free(labels);
    free(plugins);
    free(pnames);
    free(groups);
    free(gidx);
    return st;
}

mh_status mh_sched_create(const mh_menu *menu, const mh_plugins *pl, mh_sched **out, char *err,
                          size_t errlen)
{
    *out = NULL;
    mh_sched *s = calloc(1, sizeof *s);
    if (!s)
        return mh_fail(err, errlen, MH_NOMEM, "out of memory");
    mh_status st = MH_OK;
    s->menu = menu;
    s->pl = pl;
    if (pthread_mutex_init(&s->report_lock, NULL)) {
        free(s);
        return mh_fail(err, errlen, MH_INTERNAL, "cannot create a mutex");
    }
    mh__clock_init();
    unsigned cores = mh_tbb_default_concurrency();
    s->threads = menu->threads > 0 ? (unsigned)menu->threads : cores;
    s->streams = menu->streams > 0 ? (unsigned)menu->streams : cores;
    s->on_error = menu->on_error;
    mh__host_init(&s->host);
    char *dup = strdup(menu->file ? menu->file : ".");
    s->config_dir = dup ? strdup(dirname(dup)) : NULL;
    free(dup);
    if (!s->config_dir) {
        st = mh_fail(err, errlen, MH_NOMEM, "out of memory");
        goto fail;
    }
    if (!menu->input) {
        st = mh_fail(err, errlen, MH_CONFIG,
                     "%s: no input sample: set source.input in the menu or give --input FILE",
                     menu->file ? menu->file : "menu");
        goto fail;
    }
    if ((st = mh__create_modules(s, err, errlen)) != MH_OK ||
        (st = mh__build_paths(s, err, errlen)) != MH_OK ||
        (st = mh__build_graph(s, err, errlen)) != MH_OK)
        goto fail;
    if ((st = mh__source_open(s, &s->src, menu->input, menu->skip, menu->events,
                              menu->loop > 0 ? menu->loop : 1, menu->skip_bad, err, errlen)) != MH_OK)
        goto fail;
    s->src_open = true;
    s->total_events = s->src.range_end - s->src.range_first;
    if ((st = mh__build_streams(s, err, errlen)) != MH_OK ||
        (st = mh__build_timing(s, err, errlen)) != MH_OK ||
        (st = mh_tbb_create(s->threads, &s->tbb, err, errlen)) != MH_OK)
        goto fail;
    *out = s;
    return MH_OK;
fail:
    mh_sched_free(s);
    return st;
}

mh_status mh_sched_run(mh_sched *s, char *err, size_t errlen)
{
    mh_status st = mh_tbb_hold(s->tbb, err, errlen);
    if (st != MH_OK)
        return st;
    mh_timing_begin(s->timing);
    mh__source_dispatch(&s->src);
    st = mh_tbb_wait(s->tbb, err, errlen);
    mh_timing_end(s->timing);
    if (st != MH_OK)
        return st;
    mh_status end_st = MH_OK;
    for (size_t i = 0; i < s->nmods; i++) {
        mh__module *mod = &s->mods[i];
        if (!mod->type->end_job)
            continue;
        char e[MH__ERRLEN] = "";
        mh__tls.s = s;
        mh__tls.module = (long)i;
        mh_status r = mod->type->end_job(mod->self, e, sizeof e);
        mh__tls.module = -1;
        if (r != MH_OK && end_st == MH_OK)
            end_st = mh_fail(err, errlen, r, "module '%s': end of job: %s", mod->label,
                             e[0] ? e : mh_strerror(r));
    }
    if (s->src.skipped_clusters) {
        /* Not events read: they never left the source. Say so in both reports. */
        mh_module_ctx c = {s, 0};
        char line[256], json[128];
        snprintf(line, sizeof line,
                 "source: skipped %u damaged cluster(s), %llu event(s) (source.skip_bad)",
                 s->src.skipped_clusters, (unsigned long long)s->src.skipped_bad);
        snprintf(json, sizeof json, "{\"skipped_clusters\": %u, \"skipped_events\": %llu}",
                 s->src.skipped_clusters, (unsigned long long)s->src.skipped_bad);
        s->host.report_text(&c, line);
        s->host.report_section(&c, "source", json, NULL, 0);
    }
    if (s->src.st != MH_OK)
        return mh_fail(err, errlen, s->src.st, "%s", s->src.err);
    if (atomic_load(&s->stop_reported))
        return mh_fail(err, errlen, MH_MODULE, "%s (on_error: stop)", s->stop_msg);
    return end_st;
}

const mh_timing *mh_sched_timing(const mh_sched *s)
{
    return s->timing;
}

unsigned mh_sched_threads(const mh_sched *s)
{
    return s->threads;
}

unsigned mh_sched_streams(const mh_sched *s)
{
    return s->streams;
}

uint64_t mh_sched_total_events(const mh_sched *s)
{
    return s->total_events;
}

void mh_sched_report_text(const mh_sched *s, FILE *out)
{
    for (size_t i = 0; i < s->ntext; i++)
        fprintf(out, "%s\n", s->text_lines[i]);
}

mh_status mh_sched_report_json(const mh_sched *s, const char *path, char *err, size_t errlen)
{
    char *yaml = mh_menu_dump(s->menu);
    mh_status st = mh_timing_report_json(s->timing, path, yaml, s->menu->input, err, errlen);
    free(yaml);
    if (st != MH_OK || !s->nsections)
        return st;
    /* Module sections go under "sections": reload, add, write again. */
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    json_t *sec = json_object();
    if (!root || !sec) {
        json_decref(root);
        json_decref(sec);
        return mh_fail(err, errlen, MH_IO, "%s: cannot reload the report: %s", path, je.text);
    }
    for (size_t i = 0; i < s->nsections; i++) {
        json_t *v = json_loads(s->section_json[i], JSON_DECODE_ANY, &je);
        if (!v)
            v = json_string(s->section_json[i]); /* not JSON: keep it as text */
        json_object_set_new(sec, s->section_names[i], v);
    }
    json_object_set_new(root, "sections", sec);
    st = mh__json_write_atomic(root, path, err, errlen);
    json_decref(root);
    return st;
}

void mh_sched_free(mh_sched *s)
{
    if (!s)
        return;
    /* Modules first: their own threads (timers, device callbacks) may still
     * be returning from host->async_done() -> mh_tbb_run() after the last
     * event ended; destroy() joins them, then the arena can go. */
    for (size_t i = 0; i < s->nmods; i++) {
        mh__module *mod = &s->mods[i];
        if (mod->created)
            mod->type->destroy(mod->self);
        mh__params_free(mod->params);
        for (size_t k = 0; k < mod->nconsumes; k++) {
            free(mod->consumes[k].label);
            free(mod->consumes[k].instance);
            free(mod->consumes[k].type);
        }
        free(mod->consumes);
        free(mod->produces);
        free(mod->deps);
    }
    free(s->mods);
    mh_tbb_free(s->tbb);
    for (size_t p = 0; p < s->nprods; p++) {
        free(s->prods[p].instance);
        free(s->prods[p].type);
    }
    free(s->prods);
    for (size_t p = 0; s->paths && p < s->npaths; p++)
        free(s->paths[p].modules);
    free(s->paths);
    for (unsigned i = 0; s->streams_arr && i < s->streams; i++) {
        mh__stream *st = &s->streams_arr[i];
        for (size_t k = 0; st->slots && k < s->nprods; k++)
            if (atomic_load(&st->slots[k].put) && st->slots[k].free_fn)
                st->slots[k].free_fn(st->slots[k].data);
        for (size_t m = 0; st->mods && m < s->nmods; m++)
            free(st->mods[m].async_msg);
        free(st->pos);
        free(st->accepted);
        free(st->active);
        free(st->mods);
        free(st->slots);
        free(st->path_waiters);
        free(st->dep_waiters);
    }
    free(s->streams_arr);
    if (s->src_open)
        mh__source_close(&s->src);
    mh_timing_free(s->timing);
    for (size_t i = 0; i < s->ntext; i++)
        free(s->text_lines[i]);
    free(s->text_lines);
    for (size_t i = 0; i < s->nsections; i++) {
        free(s->section_names[i]);
        free(s->section_json[i]);
    }
    free(s->section_names);
    free(s->section_json);
    free(s->config_dir);
    pthread_mutex_destroy(&s->report_lock);
    free(s);
}
