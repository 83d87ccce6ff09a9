/* cmd_plugins.c - `minihlt plugins [--json]`: the plugins found on the
 * search path, their module types and parameters, and files that failed to
 * load with the reason. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/mh_sched.h"

static const char *mh__kind_name(mh_module_kind k)
{
    return k == MH_KIND_FILTER ? "filter" : k == MH_KIND_OUTPUT ? "output" : "producer";
}

static void mh__plugins_text(const mh_plugins *pl)
{
    printf("search path: %s\n", mh_plugins_search_path(pl));
    for (size_t i = 0; i < mh_plugins_count(pl); i++) {
        const char *path;
        const mh_plugin *p = mh_plugins_at(pl, i, &path);
        printf("\nplugin %s (%s)\n  %s\n", p->name, path, p->description ? p->description : "");
        for (size_t j = 0; j < p->n_types; j++) {
            const mh_module_type *t = p->types[j];
            const char *owner = NULL;
            bool shadowed = mh_plugins_find(pl, t->name, &owner) != t;
            printf("  type %s [%s%s]%s\n", t->name, mh__kind_name(t->kind),
                   t->acquire ? ", async" : "", shadowed ? " (shadowed by an earlier plugin)" : "");
            if (t->help)
                printf("    %s\n", t->help);
            for (size_t k = 0; k < t->n_params; k++) {
                const mh_param_def *d = &t->params[k];
                char def[64];
                if (!d->default_value)
                    snprintf(def, sizeof def, "required");
                else
                    snprintf(def, sizeof def, "= %s", d->default_value[0] ? d->default_value : "\"\"");
                printf("    %-16s %-11s %-12s %s\n", d->name, mh_param_type_name(d->type), def,
                       d->help ? d->help : "");
            }
        }
    }
    size_t nf = mh_plugins_failures(pl);
    if (nf)
        printf("\nfailed to load:\n");
    for (size_t i = 0; i < nf; i++) {
        const char *path, *reason;
        mh_plugins_failure(pl, i, &path, &reason);
        printf("  %s: %s\n", path, reason);
    }
}

static json_t *mh__plugins_json(const mh_plugins *pl)
{
    json_t *root = json_object(), *plugins = json_array(), *failed = json_array();
    json_object_set_new(root, "search_path", json_string(mh_plugins_search_path(pl)));
    for (size_t i = 0; i < mh_plugins_count(pl); i++) {
        const char *path;
        const mh_plugin *p = mh_plugins_at(pl, i, &path);
        json_t *types = json_array();
        for (size_t j = 0; j < p->n_types; j++) {
            const mh_module_type *t = p->types[j];
            json_t *params = json_array();
            for (size_t k = 0; k < t->n_params; k++) {
                const mh_param_def *d = &t->params[k];
                json_array_append_new(
                    params, json_pack("{s:s, s:s, s:o, s:b, s:s}", "name", d->name, "type",
                                      mh_param_type_name(d->type), "default",
                                      d->default_value ? json_string(d->default_value) : json_null(),
                                      "required", d->default_value == NULL, "help",
                                      d->help ? d->help : ""));
            }
            json_array_append_new(types, json_pack("{s:s, s:s, s:s, s:b, s:o}", "name", t->name,
                                                   "kind", mh__kind_name(t->kind), "help",
                                                   t->help ? t->help : "", "async",
                                                   t->acquire != NULL, "params", params));
        }
        json_array_append_new(plugins, json_pack("{s:s, s:s, s:s, s:o}", "name", p->name, "path",
                                                 path, "description",
                                                 p->description ? p->description : "", "types",
                                                 types));
    }
    for (size_t i = 0; i < mh_plugins_failures(pl); i++) {
        const char *path, *reason;
        mh_plugins_failure(pl, i, &path, &reason);
        json_array_append_new(failed, json_pack("{s:s, s:s}", "path", path, "reason", reason));
    }
    json_object_set_new(root, "plugins", plugins);
    json_object_set_new(root, "failed", failed);
    return root;
}

int mh_cmd_plugins(int argc, char **argv)
{
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: minihlt plugins [--json]\n"
                   "\n"
                   "Lists the plugins found in $MINIHLT_PLUGIN_PATH (colon-separated\n"
                   "directories) and next to the program (BIN/../plugins), their module\n"
                   "types (the `plugin:` values of a menu) with kind and parameters (type,\n"
                   "default, help), and the files that failed to load with the reason.\n"
                   "--json prints the same as one JSON document.\n");
            return 0;
        }
        if (!strcmp(argv[i], "--json"))
            as_json = true;
        else
            return mh_cli_usage_error("plugins", "unknown argument '%s'", argv[i]);
    }
    char err[512] = "";
    mh_plugins *pl = NULL;
    mh_status st = mh_plugins_load_default(&pl, err, sizeof err);
    if (st != MH_OK)
        return mh_cli_fail(st, err);
    if (as_json) {
        json_t *j = mh__plugins_json(pl);
        char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
        json_decref(j);
        if (!text) {
            mh_plugins_free(pl);
            return mh_cli_fail(MH_NOMEM, "out of memory");
        }
        printf("%s\n", text);
        free(text);
    } else {
        mh__plugins_text(pl);
    }
    mh_plugins_free(pl);
    return 0;
}
