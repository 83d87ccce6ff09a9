/* test_config.c - menus: good menus, every check, overrides, converters.
 * Each bad menu is written to a temporary file and must fail with the
 * expected status and a detail "FILE:LINE:COL: message". */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/mh_config.h"

/* Writes text into a fresh temporary .yaml file; returns its malloc'd path. */
static char *write_tmp(const char *text)
{
    char *path = strdup("/tmp/mh_test_config_XXXXXX.yaml");
    ck_assert_ptr_nonnull(path);
    int fd = mkstemps(path, 5);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

static mh_status load_text(const char *text, const char *const *sets, size_t nsets, mh_menu **m,
                           char *err, size_t errlen, char **path_out)
{
    char *path = write_tmp(text);
    err[0] = '\0';
    mh_status st = mh_menu_load(path, sets, nsets, m, err, errlen);
    unlink(path);
    if (path_out)
        *path_out = path;
    else
        free(path);
    return st;
}

/* ---- a good menu, both path forms ------------------------------------- */

static const char good_menu[] =
    "process:\n"                                             /* 1 */
    "  name: TEST\n"                                         /* 2 */
    "  threads: 2\n"                                         /* 3 */
    "  streams: 3\n"                                         /* 4 */
    "  on_error: stop\n"                                     /* 5 */
    "source:\n"                                              /* 6 */
    "  input: build/samples/default.mhe\n"                   /* 7 */
    "  events: 100\n"                                        /* 8 */
    "  skip: 5\n"                                            /* 9 */
    "  loop: 2\n"                                            /* 10 */
    "  skip_bad: true\n"                                     /* 11 */
    "modules:\n"                                             /* 12 */
    "  hbheDigis: {plugin: hcal_unpack}\n"                   /* 13 */
    "  jetFilter: {plugin: pass}\n"                          /* 14 */
    "  slow:\n"                                              /* 15 */
    "    plugin: emulated\n"                                 /* 16 */
    "    mean_ms: 5\n"                                       /* 17 */
    "  output: {plugin: output}\n"                           /* 18 */
    "paths:\n"                                               /* 19 */
    "  HLT_Jet: [hbheDigis, jetFilter]\n"                    /* 20 */
    "  HLT_Prescaled: {modules: [slow], prescale: 100}\n"    /* 21 */
    "  HLT_Off:\n"                                           /* 22 */
    "    modules: [jetFilter]\n"                             /* 23 */
    "    prescale: 0\n"                                      /* 24 */
    "end_paths:\n"                                           /* 25 */
    "  out: [output]\n"                                      /* 26 */
    "groups:\n"                                              /* 27 */
    "  hcal: [hbheDigis]\n"                                  /* 28 */
    "  rest: [jetFilter, slow]\n";                           /* 29 */

START_TEST(good_menu_loads_every_field)
{
    mh_menu *m = NULL;
    char err[512];
    char *path = NULL;
    ck_assert_int_eq(load_text(good_menu, NULL, 0, &m, err, sizeof err, &path), MH_OK);
    ck_assert_str_eq(m->file, path);
    ck_assert_str_eq(m->process_name, "TEST");
    ck_assert_int_eq(m->threads, 2);
    ck_assert_int_eq(m->streams, 3);
    ck_assert_int_eq(m->on_error, MH_ON_ERROR_STOP);
    ck_assert_str_eq(m->input, "build/samples/default.mhe");
    ck_assert_int_eq(m->events, 100);
    ck_assert_int_eq(m->skip, 5);
    ck_assert_int_eq(m->loop, 2);
    ck_assert(m->skip_bad);

    ck_assert_uint_eq(m->nmodules, 4);
    ck_assert_str_eq(m->modules[0].label, "hbheDigis");
    ck_assert_str_eq(m->modules[0].plugin, "hcal_unpack");
    ck_assert_str_eq(m->modules[2].label, "slow");
    ck_assert_str_eq(m->modules[2].plugin, "emulated");
    const mh_menu_module *slow = mh_menu_find_module(m, "slow");
    ck_assert_ptr_eq(slow, &m->modules[2]);
    ck_assert_ptr_null(mh_menu_find_module(m, "nope"));
    /* parameters are handed on as nodes, with locations */
    ck_assert_int_eq(mh_cfg_kind_of(slow->params), MH_CFG_MAP);
    ck_assert_uint_eq(mh_cfg_count(slow->params), 2);
    const char *key = NULL;
    const mh_cfg_node *mean = mh_cfg_at(slow->params, 1, &key);
    ck_assert_str_eq(key, "mean_ms");
    ck_assert_ptr_eq(mean, mh_cfg_get(slow->params, "mean_ms"));
    ck_assert_str_eq(mh_cfg_scalar(mean), "5");
    ck_assert_str_eq(mh_cfg_file(mean), path);
    ck_assert_int_eq(mh_cfg_line(mean), 17);
    ck_assert_int_eq(mh_cfg_column(mean), 14);
    const mh_cfg_node *k = mh_cfg_key_at(slow->params, 1);
    ck_assert_str_eq(mh_cfg_scalar(k), "mean_ms");
    ck_assert_int_eq(mh_cfg_line(k), 17);
    ck_assert_int_eq(mh_cfg_column(k), 5);
    ck_assert_ptr_null(mh_cfg_key_at(slow->params, 2));
    ck_assert_ptr_null(mh_cfg_at(slow->params, 2, NULL));
    /* a block mapping is located at its first key */
    ck_assert_int_eq(mh_cfg_line(slow->params), 16);
    ck_assert_int_eq(mh_cfg_column(slow->params), 5);
    int64_t ms = 0;
    ck_assert_int_eq(mh_cfg_as_int(mean, "slow.mean_ms", &ms, err, sizeof err), MH_OK);
    ck_assert_int_eq(ms, 5);

    ck_assert_uint_eq(m->npaths, 3);
    ck_assert_str_eq(m->paths[0].name, "HLT_Jet");
    ck_assert_uint_eq(m->paths[0].nmodules, 2);
    ck_assert_str_eq(m->paths[0].modules[0], "hbheDigis");
    ck_assert_str_eq(m->paths[0].modules[1], "jetFilter");
    ck_assert_uint_eq(m->paths[0].prescale, 1);
    ck_assert_int_eq(mh_cfg_kind_of(m->paths[0].node), MH_CFG_SEQ);
    ck_assert_str_eq(m->paths[1].name, "HLT_Prescaled");
    ck_assert_uint_eq(m->paths[1].nmodules, 1);
    ck_assert_str_eq(m->paths[1].modules[0], "slow");
    ck_assert_uint_eq(m->paths[1].prescale, 100);
    ck_assert_uint_eq(m->paths[2].prescale, 0);
    ck_assert_uint_eq(m->nend_paths, 1);
    ck_assert_str_eq(m->end_paths[0].name, "out");
    ck_assert_str_eq(m->end_paths[0].modules[0], "output");
    ck_assert_uint_eq(m->ngroups, 2);
    ck_assert_str_eq(m->groups[0].name, "hcal");
    ck_assert_uint_eq(m->groups[0].nmodules, 1);
    ck_assert_str_eq(m->groups[0].modules[0], "hbheDigis");
    ck_assert_uint_eq(m->groups[1].nmodules, 2);
    ck_assert_str_eq(m->groups[1].modules[1], "slow");

    ck_assert_int_eq(mh_cfg_kind_of(m->root), MH_CFG_MAP);
    ck_assert_uint_eq(mh_cfg_count(m->root), 6);
    char *dump = mh_menu_dump(m);
    ck_assert_ptr_nonnull(dump);
    ck_assert_ptr_nonnull(strstr(dump, "mean_ms: 5"));
    ck_assert_ptr_nonnull(strstr(dump, "HLT_Prescaled"));
    free(dump);
    mh_menu_free(m);
    free(path);
}
END_TEST

START_TEST(time_scale_from_override)
{
    mh_menu *m = NULL;
    char err[512];
    const char *ov[] = {"process.time_scale=0.25"};
    ck_assert_int_eq(load_text("modules:\n  a: {plugin: pass}\npaths:\n  P: [a]\n", ov, 1, &m,
                               err, sizeof err, NULL),
                     MH_OK);
    ck_assert(m->time_scale == 0.25);
    mh_menu_free(m);
}
END_TEST

START_TEST(defaults_for_absent_settings)
{
    mh_menu *m = NULL;
    char err[512];
    ck_assert_int_eq(load_text("modules:\n  a: {plugin: pass}\npaths:\n  P: [a]\n", NULL, 0, &m,
                               err, sizeof err, NULL),
                     MH_OK);
    ck_assert_str_eq(m->process_name, "HLT");
    ck_assert_int_eq(m->threads, 0);
    ck_assert_int_eq(m->streams, 0);
    ck_assert_int_eq(m->on_error, MH_ON_ERROR_SKIP_EVENT);
    ck_assert(m->time_scale == 1.0);
    ck_assert_ptr_null(m->input);
    ck_assert_int_eq(m->events, -1);
    ck_assert_int_eq(m->skip, 0);
    ck_assert_int_eq(m->loop, 1);
    ck_assert(!m->skip_bad);
    ck_assert_uint_eq(m->nend_paths, 0);
    ck_assert_ptr_null(m->end_paths);
    ck_assert_uint_eq(m->ngroups, 0);
    mh_menu_free(m);

    /* empty sections count as absent; anchors and merge keys are resolved */
    ck_assert_int_eq(load_text("process:\nsource:\ngroups:\nend_paths:\n"
                               "modules:\n  base: &b {plugin: emulated, mean_ms: 2}\n"
                               "  more: {<<: *b, mean_ms: 3}\n"
                               "paths:\n  P: [base, more]\n",
                               NULL, 0, &m, err, sizeof err, NULL),
                     MH_OK);
    ck_assert_str_eq(m->process_name, "HLT");
    const mh_menu_module *more = mh_menu_find_module(m, "more");
    ck_assert_ptr_nonnull(more);
    ck_assert_str_eq(more->plugin, "emulated");
    ck_assert_str_eq(mh_cfg_scalar(mh_cfg_get(more->params, "mean_ms")), "3");
    mh_menu_free(m);
    mh_menu_free(NULL);
}
END_TEST

START_TEST(file_errors)
{
    mh_menu *m = (mh_menu *)1;
    char err[512];
    ck_assert_int_eq(mh_menu_load("/nonexistent/menu.yaml", NULL, 0, &m, err, sizeof err), MH_IO);
    ck_assert_ptr_null(m);
    ck_assert_str_eq(err, "/nonexistent/menu.yaml: No such file or directory");
    ck_assert_int_eq(mh_menu_load("/tmp", NULL, 0, &m, err, sizeof err), MH_IO);
    ck_assert_ptr_nonnull(strstr(err, "/tmp: not a regular file"));
    ck_assert_int_eq(mh_menu_load(NULL, NULL, 0, &m, err, sizeof err), MH_INVALID);
}
END_TEST

/* ---- every check: bad menu -> status + "FILE" + expected tail ---------- */

#define OK_TAIL "modules:\n  a: {plugin: pass}\npaths:\n  P: [a]\n"

typedef struct bad_case {
    const char *yaml;
    mh_status st;
    const char *tail; /* the detail must be FILE followed by exactly this prefix */
} bad_case;

static const bad_case bad_cases[] = {
    /* YAML syntax, as libfyaml reports it */
    {"process:\n  threads: [1, 2\n" OK_TAIL, MH_CONFIG, ":4:3: wrongly indented flow sequence"},
    {"modules:\n  a: {plugin: pass}\n  a: {plugin: pass}\npaths:\n  P: [a]\n", MH_CONFIG,
     ":3:3: duplicate key"},
    {"process:\n  threads: 2\n streams: 2\n" OK_TAIL, MH_CONFIG, ":3:"},
    {"", MH_CONFIG, ":1:1: empty menu (no YAML document)"},
    {"# only a comment\n", MH_CONFIG, ":1:1: empty menu"},
    {"- a\n- b\n", MH_CONFIG, ":1:3: a menu is a mapping of sections"},
    {"? [a]\n: b\n", MH_CONFIG, ":1:4: mapping keys must be non-empty scalars"},
    /* unknown keys, with a suggestion when close */
    {"proces:\n  threads: 2\n" OK_TAIL, MH_CONFIG,
     ":1:1: menu: unknown key 'proces' (did you mean 'process'?)"},
    {"process:\n  thread: 2\n" OK_TAIL, MH_CONFIG,
     ":2:3: process: unknown key 'thread' (did you mean 'threads'?)"},
    {"source:\n  zzzzzz: 1\n" OK_TAIL, MH_CONFIG,
     ":2:3: source: unknown key 'zzzzzz' (expected one of: input, events, skip, loop, "
     "skip_bad)"},
    {OK_TAIL "modules2: {}\n", MH_CONFIG, ":5:1: menu: unknown key 'modules2' (did you mean"},
    /* types and ranges of process and source settings */
    {"process:\n  threads: two\n" OK_TAIL, MH_PARAM,
     ":2:12: process.threads: expected integer, got 'two'"},
    {"process:\n  threads: 1.5\n" OK_TAIL, MH_PARAM,
     ":2:12: process.threads: expected integer, got '1.5'"},
    {"process:\n  streams: \"2\"\n" OK_TAIL, MH_PARAM,
     ":2:12: process.streams: expected integer, got quoted string '2'"},
    {"process:\n  threads: 2000\n" OK_TAIL, MH_CONFIG,
     ":2:12: process.threads: 2000 is out of range (0..1024)"},
    {"process:\n  streams: -1\n" OK_TAIL, MH_CONFIG,
     ":2:12: process.streams: -1 is out of range (0..1024)"},
    {"process:\n  threads: [2]\n" OK_TAIL, MH_PARAM,
     ":2:13: process.threads: expected integer, got a sequence"},
    {"process:\n  on_error: ignore\n" OK_TAIL, MH_CONFIG,
     ":2:13: process.on_error: expected skip-event or stop, got 'ignore'"},
    {"process:\n  name: \"\"\n" OK_TAIL, MH_CONFIG, ":2:9: process.name: must not be empty"},
    {"process:\n  time_scale: 0\n" OK_TAIL, MH_CONFIG,
     ":2:15: process.time_scale: expected a number in (0, 1000], got 0"},
    {"process:\n  time_scale: fast\n" OK_TAIL, MH_PARAM,
     ":2:15: process.time_scale: expected number"},
    {"process: [1]\n" OK_TAIL, MH_CONFIG, ":1:11: process: expected a mapping, got a sequence"},
    {"source: x.mhe\n" OK_TAIL, MH_CONFIG, ":1:9: source: expected a mapping, got a scalar"},
    {"source:\n  loop: 0\n" OK_TAIL, MH_CONFIG, ":2:9: source.loop: 0 is out of range (1..1000000)"},
    {"source:\n  events: -2\n" OK_TAIL, MH_CONFIG, ":2:11: source.events: -2 is out of range"},
    {"source:\n  skip: -1\n" OK_TAIL, MH_CONFIG, ":2:9: source.skip: -1 is out of range"},
    {"source:\n  skip_bad: yes\n" OK_TAIL, MH_PARAM,
     ":2:13: source.skip_bad: expected boolean (true or false), got 'yes'"},
    {"source:\n  input: [a]\n" OK_TAIL, MH_PARAM,
     ":2:11: source.input: expected string, got a sequence"},
    /* modules */
    {"modules: 5\npaths:\n  P: [a]\n", MH_CONFIG, ":1:10: modules: expected a mapping, got a scalar"},
    {"modules:\n  a: {plugin: pass}\n  b: {mean_ms: 5}\npaths:\n  P: [a]\n", MH_CONFIG,
     ":3:3: modules.b: missing 'plugin' (the module type)"},
    {"modules:\n  a: pass\npaths:\n  P: [a]\n", MH_CONFIG,
     ":2:6: modules.a: expected a mapping with a 'plugin' key, got a scalar"},
    {"modules:\n  a:\npaths:\n  P: [a]\n", MH_CONFIG,
     ":2:3: modules.a: expected a mapping with a 'plugin' key, got null"},
    {"modules:\n  a: {plugin: {x: 1}}\npaths:\n  P: [a]\n", MH_PARAM,
     ":2:16: modules.a.plugin: expected string, got a mapping"},
    {"modules:\n  a: {plugin: ''}\npaths:\n  P: [a]\n", MH_CONFIG,
     ":2:15: modules.a.plugin: must not be empty"},
    {"modules:\n  9a: {plugin: pass}\npaths:\n  P: [9a]\n", MH_CONFIG,
     ":2:3: modules: '9a' is not a valid module label"},
    {"modules:\n  a.b: {plugin: pass}\npaths:\n  P: [a.b]\n", MH_CONFIG,
     ":2:3: modules: 'a.b' is not a valid module label"},
    /* paths */
    {"modules:\n  a: {plugin: pass}\npaths:\n  P: [a, b]\n", MH_CONFIG,
     ":4:10: paths.P: unknown module 'b' (not defined under 'modules')"},
    {"modules:\n  jetFilter: {plugin: pass}\npaths:\n  P: [jetFiltr]\n", MH_CONFIG,
     ":4:7: paths.P: unknown module 'jetFiltr' (did you mean 'jetFilter'?)"},
    {"modules:\n  a: {plugin: pass}\npaths:\n  P: [a, a]\n", MH_CONFIG,
     ":4:10: paths.P: module 'a' is listed twice"},
    {"modules:\n  a: {plugin: pass}\npaths:\n  P:\n    modules:\n      - a\n      - a\n",
     MH_CONFIG, ":7:9: paths.P: module 'a' is listed twice"},
    {"modules:\n  a: {plugin: pass}\npaths:\n  P: []\n", MH_CONFIG, ":4:3: paths.P: is empty"},
    {"modules:\n  a: {plugin: pass}\npaths:\n  P:\n", MH_CONFIG, ":4:3: paths.P: is empty"},
    {"modules:\n  a: {plugin: pass}\npaths:\n  P: {modules: []}\n", MH_CONFIG,
     ":4:3: paths.P: is empty"},
    {"modules:\n  a: {plugin: pass}\npaths:\n  P: a\n", MH_CONFIG,
     ":4:6: paths.P: expected a sequence of module labels, got a scalar"},
    {"modules:\n  a: {plugin: pass}\npaths:\n  P: [[a]]\n", MH_CONFIG,
     ":4:8: paths.P: expected a module label, got a sequence"},
    {"modules:\n  a: {plugin: pass}\npaths:\n  P: {prescale: 2}\n", MH_CONFIG,
     ":4:3: paths.P: missing 'modules'"},
    {"modules:\n  a: {plugin: pass}\npaths:\n  P: {modules: [a], prescal: 2}\n", MH_CONFIG,
     ":4:21: paths.P: unknown key 'prescal' (did you mean 'prescale'?)"},
    {"modules:\n  a: {plugin: pass}\npaths:\n  P: {modules: [a], prescale: -1}\n", MH_CONFIG,
     ":4:31: paths.P.prescale: -1 is out of range (0..4294967295)"},
    {"modules:\n  a: {plugin: pass}\npaths:\n  P: {modules: [a], prescale: x}\n", MH_PARAM,
     ":4:31: paths.P.prescale: expected integer, got 'x'"},
    {"modules:\n  a: {plugin: pass}\npaths:\n  P-1: [a]\n", MH_CONFIG,
     ":4:3: paths: 'P-1' is not a valid path name"},
    {"modules:\n  a: {plugin: pass}\n", MH_CONFIG,
     ":1:1: no paths: a menu needs at least one entry under 'paths'"},
    {"modules:\n  a: {plugin: pass}\npaths: {}\nend_paths:\n  E: [a]\n", MH_CONFIG,
     ":3:1: no paths"},
    /* end paths */
    {OK_TAIL "end_paths:\n  E: {modules: [a], prescale: 2}\n", MH_CONFIG,
     ":6:21: end_paths.E: unknown key 'prescale' (expected one of: modules)"},
    {OK_TAIL "end_paths:\n  P: [a]\n", MH_CONFIG,
     ":6:3: end_paths.P: name already used by a path under 'paths'"},
    {OK_TAIL "end_paths:\n  E: [zz]\n", MH_CONFIG, ":6:7: end_paths.E: unknown module 'zz'"},
    /* groups */
    {OK_TAIL "groups:\n  hcal: [a, x]\n", MH_CONFIG,
     ":6:13: groups.hcal: unknown module 'x' (not defined under 'modules')"},
    {OK_TAIL "groups:\n  hcal: []\n", MH_CONFIG, ":6:3: groups.hcal: is empty"},
    {OK_TAIL "groups:\n  hcal: [a, a]\n", MH_CONFIG, ":6:13: groups.hcal: module 'a' is listed twice"},
    {OK_TAIL "groups: [a]\n", MH_CONFIG, ":5:10: groups: expected a mapping, got a sequence"},
};

START_TEST(bad_menu)
{
    const bad_case *c = &bad_cases[_i];
    mh_menu *m = (mh_menu *)1;
    char err[512];
    char *path = NULL;
    mh_status st = load_text(c->yaml, NULL, 0, &m, err, sizeof err, &path);
    ck_assert_msg(st == c->st, "case %d: status %s, expected %s (%s)", _i, mh_status_name(st),
                  mh_status_name(c->st), err);
    ck_assert_ptr_null(m);
    size_t pl = strlen(path);
    ck_assert_msg(!strncmp(err, path, pl) && !strncmp(err + pl, c->tail, strlen(c->tail)),
                  "case %d: got '%s', expected FILE'%s'", _i, err, c->tail);
    ck_assert_ptr_null(strchr(err, '\n'));
    free(path);
}
END_TEST

/* ---- overrides ------------------------------------------------------------ */

static const char ovr_menu[] =
    "process:\n"
    "  threads: 2\n"
    "modules:\n"
    "  a: {plugin: pass}\n"
    "  b: {plugin: pass}\n"
    "  hbheReco: {plugin: hcal_mahi, ts: 4}\n"
    "paths:\n"
    "  P: [a]\n";

START_TEST(overrides_apply_before_checks)
{
    const char *sets[] = {
        "process.threads=4",                  /* replace a scalar */
        "source.input=x.mhe",                 /* new section + key */
        "paths.P=[a,b]",                      /* flow sequence replaces */
        "modules.hbheReco.plugin=hcal_facile", /* swap a plugin */
        "modules.c={plugin: reject, rate: 0.5}",
        "paths.Q.modules=[c]",                /* long form, created */
        "paths.Q.prescale=7",
        "process.on_error=stop",
    };
    mh_menu *m = NULL;
    char err[512];
    ck_assert_int_eq(load_text(ovr_menu, sets, sizeof sets / sizeof *sets, &m, err, sizeof err,
                               NULL),
                     MH_OK);
    ck_assert_int_eq(m->threads, 4);
    ck_assert_str_eq(m->input, "x.mhe");
    ck_assert_int_eq(m->on_error, MH_ON_ERROR_STOP);
    ck_assert_uint_eq(m->npaths, 2);
    ck_assert_uint_eq(m->paths[0].nmodules, 2);
    ck_assert_str_eq(m->paths[0].modules[1], "b");
    ck_assert_str_eq(m->paths[1].name, "Q");
    ck_assert_str_eq(m->paths[1].modules[0], "c");
    ck_assert_uint_eq(m->paths[1].prescale, 7);
    const mh_menu_module *h = mh_menu_find_module(m, "hbheReco");
    ck_assert_str_eq(h->plugin, "hcal_facile");
    ck_assert_str_eq(mh_cfg_scalar(mh_cfg_get(h->params, "ts")), "4");
    const mh_menu_module *c = mh_menu_find_module(m, "c");
    ck_assert_str_eq(c->plugin, "reject");
    double rate = 0;
    ck_assert_int_eq(mh_cfg_as_double(mh_cfg_get(c->params, "rate"), "c.rate", &rate, err,
                                      sizeof err),
                     MH_OK);
    ck_assert(rate == 0.5);
    /* nodes set by an override are located in the override text */
    const mh_cfg_node *r = mh_cfg_get(c->params, "rate");
    ck_assert_str_eq(mh_cfg_file(r), "--set modules.c={plugin: reject, rate: 0.5}");
    ck_assert_int_eq(mh_cfg_line(r), 1);
    ck_assert_int_eq(mh_cfg_column(r), 40);

    char *dump = mh_menu_dump(m);
    ck_assert_ptr_nonnull(dump);
    ck_assert_ptr_nonnull(strstr(dump, "threads: 4"));
    ck_assert_ptr_nonnull(strstr(dump, "input: x.mhe"));
    ck_assert_ptr_nonnull(strstr(dump, "plugin: hcal_facile"));
    ck_assert_ptr_null(strstr(dump, "hcal_mahi"));
    ck_assert_ptr_nonnull(strstr(dump, "prescale: 7"));
    /* the dump is a menu again, the same one, without the overrides */
    mh_menu *again = NULL;
    ck_assert_int_eq(load_text(dump, NULL, 0, &again, err, sizeof err, NULL), MH_OK);
    ck_assert_int_eq(again->threads, 4);
    ck_assert_str_eq(again->input, "x.mhe");
    ck_assert_uint_eq(again->npaths, 2);
    ck_assert_uint_eq(again->paths[1].prescale, 7);
    ck_assert_str_eq(mh_menu_find_module(again, "hbheReco")->plugin, "hcal_facile");
    mh_menu_free(again);
    free(dump);
    mh_menu_free(m);
}
END_TEST

START_TEST(override_into_empty_section_and_null_value)
{
    const char *sets[] = {"process.threads=3", "source.input="};
    mh_menu *m = NULL;
    char err[512];
    ck_assert_int_eq(load_text("process:\nsource:\n  input: y.mhe\n" OK_TAIL, sets, 2, &m, err,
                               sizeof err, NULL),
                     MH_OK);
    ck_assert_int_eq(m->threads, 3);
    ck_assert_ptr_null(m->input);
    mh_menu_free(m);
}
END_TEST

typedef struct ovr_case {
    const char *set;
    mh_status st;
    const char *detail; /* the detail must start with this */
} ovr_case;

static const ovr_case ovr_cases[] = {
    {"process.threads", MH_CONFIG, "--set: expected KEY=VALUE (KEY like a.b.c), got 'process.threads'"},
    {"=4", MH_CONFIG, "--set: expected KEY=VALUE"},
    {"a..b=1", MH_CONFIG, "--set: expected KEY=VALUE"},
    {".a=1", MH_CONFIG, "--set: expected KEY=VALUE"},
    {"a.=1", MH_CONFIG, "--set: expected KEY=VALUE"},
    {"paths.P=[a", MH_CONFIG, "--set paths.P=[a:"},
    {"process.threads.x=1", MH_CONFIG,
     "--set process.threads.x=1:1:7: cannot set 'process.threads.x': 'process.threads' is a "
     "scalar, not a mapping"},
    {"paths.P.x=1", MH_CONFIG, "--set paths.P.x=1:1:7: cannot set 'paths.P.x': 'paths.P' is a sequence"},
    /* overrides are checked like the file */
    {"process.threads=two", MH_PARAM,
     "--set process.threads=two:1:23: process.threads: expected integer, got 'two'"},
    {"process.thread=2", MH_CONFIG,
     "--set process.thread=2:1:15: process: unknown key 'thread' (did you mean 'threads'?)"},
    {"paths.Q={modules: [zz]}", MH_CONFIG,
     "--set paths.Q={modules: [zz]}:1:26: paths.Q: unknown module 'zz'"},
    {"modules.a.plugin=", MH_PARAM, "--set modules.a.plugin=:1:24: modules.a.plugin: expected string, got null"},
};

START_TEST(bad_override)
{
    const ovr_case *c = &ovr_cases[_i];
    mh_menu *m = (mh_menu *)1;
    char err[512];
    mh_status st = load_text(ovr_menu, &c->set, 1, &m, err, sizeof err, NULL);
    ck_assert_msg(st == c->st, "case %d: status %s, expected %s (%s)", _i, mh_status_name(st),
                  mh_status_name(c->st), err);
    ck_assert_ptr_null(m);
    ck_assert_msg(!strncmp(err, c->detail, strlen(c->detail)), "case %d: got '%s', expected '%s'",
                  _i, err, c->detail);
}
END_TEST

/* ---- converters ----------------------------------------------------------- */

typedef enum conv { C_BOOL, C_INT, C_DOUBLE, C_STRING } conv;

typedef struct conv_case {
    conv type;
    const char *yaml; /* the value of key x */
    bool ok;
    int64_t i;        /* expected value (bool as 0/1) */
    double d;
    const char *s;    /* expected string, or the error tail after "FILE:" */
} conv_case;

static const conv_case conv_cases[] = {
    {C_BOOL, "true", true, 1, 0, NULL},
    {C_BOOL, "True", true, 1, 0, NULL},
    {C_BOOL, "TRUE", true, 1, 0, NULL},
    {C_BOOL, "false", true, 0, 0, NULL},
    {C_BOOL, "False", true, 0, 0, NULL},
    {C_BOOL, "FALSE", true, 0, 0, NULL},
    {C_BOOL, "yes", false, 0, 0, ":1:32: t.x: expected boolean (true or false), got 'yes'"},
    {C_BOOL, "no", false, 0, 0, "got 'no'"},
    {C_BOOL, "on", false, 0, 0, "got 'on'"},
    {C_BOOL, "1", false, 0, 0, "got '1'"},
    {C_BOOL, "tRUE", false, 0, 0, "got 'tRUE'"},
    {C_BOOL, "\"true\"", false, 0, 0, "got quoted string 'true'"},
    {C_BOOL, "~", false, 0, 0, ":1:32: t.x: expected boolean (true or false), got null"},
    {C_INT, "0", true, 0, 0, NULL},
    {C_INT, "42", true, 42, 0, NULL},
    {C_INT, "-7", true, -7, 0, NULL},
    {C_INT, "+3", true, 3, 0, NULL},
    {C_INT, "0x1F", true, 31, 0, NULL},
    {C_INT, "0o17", true, 15, 0, NULL},
    {C_INT, "007", true, 7, 0, NULL},
    {C_INT, "9223372036854775807", true, INT64_MAX, 0, NULL},
    {C_INT, "-9223372036854775808", true, INT64_MIN, 0, NULL},
    {C_INT, "9223372036854775808", false, 0, 0,
     ":1:32: t.x: expected integer, got '9223372036854775808' (out of range)"},
    {C_INT, "0x8000000000000000", false, 0, 0, "(out of range)"},
    {C_INT, "abc", false, 0, 0, ":1:32: t.x: expected integer, got 'abc'"},
    {C_INT, "1.5", false, 0, 0, "got '1.5'"},
    {C_INT, "1e3", false, 0, 0, "got '1e3'"},
    {C_INT, "12abc", false, 0, 0, "got '12abc'"},
    {C_INT, "1_000", false, 0, 0, "got '1_000'"},
    {C_INT, "0x", false, 0, 0, "got '0x'"},
    {C_INT, "0xG1", false, 0, 0, "got '0xG1'"},
    {C_INT, "0o8", false, 0, 0, "got '0o8'"},
    {C_INT, "-x", false, 0, 0, "got '-x'"},
    {C_INT, "--1", false, 0, 0, "got '--1'"},
    {C_INT, "'5'", false, 0, 0, "got quoted string '5'"},
    {C_INT, "{a: 1}", false, 0, 0, "got a mapping"},
    {C_INT, "[1]", false, 0, 0, "got a sequence"},
    {C_DOUBLE, "1.5", true, 0, 1.5, NULL},
    {C_DOUBLE, "-2", true, 0, -2.0, NULL},
    {C_DOUBLE, ".5", true, 0, 0.5, NULL},
    {C_DOUBLE, "5.", true, 0, 5.0, NULL},
    {C_DOUBLE, "1e3", true, 0, 1000.0, NULL},
    {C_DOUBLE, "-1.25E-2", true, 0, -0.0125, NULL},
    {C_DOUBLE, "+3.0", true, 0, 3.0, NULL},
    {C_DOUBLE, "1e-400", true, 0, 0.0, NULL},
    {C_DOUBLE, "nan", false, 0, 0, ":1:32: t.x: expected number, got 'nan'"},
    {C_DOUBLE, ".nan", false, 0, 0, "got '.nan'"},
    {C_DOUBLE, "inf", false, 0, 0, "got 'inf'"},
    {C_DOUBLE, "-.inf", false, 0, 0, "got '-.inf'"},
    {C_DOUBLE, "1e999", false, 0, 0, "got '1e999' (out of range)"},
    {C_DOUBLE, "0x10", false, 0, 0, "got '0x10'"},
    {C_DOUBLE, "1.5.5", false, 0, 0, "got '1.5.5'"},
    {C_DOUBLE, "1e", false, 0, 0, "got '1e'"},
    {C_DOUBLE, ".", false, 0, 0, "got '.'"},
    {C_DOUBLE, "\"1.5\"", false, 0, 0, "got quoted string '1.5'"},
    {C_STRING, "hello", true, 0, 0, "hello"},
    {C_STRING, "42", true, 0, 0, "42"},
    {C_STRING, "\"a b: c\"", true, 0, 0, "a b: c"},
    {C_STRING, "'null'", true, 0, 0, "null"},
    {C_STRING, "null", false, 0, 0, ":1:32: t.x: expected string, got null"},
    {C_STRING, "[a]", false, 0, 0, "got a sequence"},
};

START_TEST(converter)
{
    const conv_case *c = &conv_cases[_i];
    char yaml[256];
    /* "modules: {t: {plugin: pass, x: " is 31 characters: x is at column 32 */
    snprintf(yaml, sizeof yaml, "modules: {t: {plugin: pass, x: %s}}\npaths: {P: [t]}\n", c->yaml);
    mh_menu *m = NULL;
    char err[512] = "";
    char *path = NULL;
    ck_assert_int_eq(load_text(yaml, NULL, 0, &m, err, sizeof err, &path), MH_OK);
    const mh_cfg_node *x = mh_cfg_get(mh_menu_find_module(m, "t")->params, "x");
    ck_assert_ptr_nonnull(x);
    mh_status st = MH_INTERNAL;
    bool b = false;
    int64_t i = 0;
    double d = 0;
    const char *s = NULL;
    switch (c->type) {
    case C_BOOL: st = mh_cfg_as_bool(x, "t.x", &b, err, sizeof err); i = b; break;
    case C_INT: st = mh_cfg_as_int(x, "t.x", &i, err, sizeof err); break;
    case C_DOUBLE: st = mh_cfg_as_double(x, "t.x", &d, err, sizeof err); break;
    case C_STRING: st = mh_cfg_as_string(x, "t.x", &s, err, sizeof err); break;
    }
    if (c->ok) {
        ck_assert_msg(st == MH_OK, "case %d '%s': %s", _i, c->yaml, err);
        if (c->type == C_BOOL || c->type == C_INT)
            ck_assert_int_eq(i, c->i);
        if (c->type == C_DOUBLE)
            ck_assert_double_eq_tol(d, c->d, 1e-12);
        if (c->type == C_STRING)
            ck_assert_str_eq(s, c->s);
    } else {
        ck_assert_msg(st == MH_PARAM, "case %d '%s': status %s", _i, c->yaml, mh_status_name(st));
        if (c->s[0] == ':') {
            size_t pl = strlen(path);
            ck_assert_msg(!strncmp(err, path, pl) && !strcmp(err + pl, c->s),
                          "case %d: got '%s', expected FILE'%s'", _i, err, c->s);
        } else {
            ck_assert_msg(strstr(err, c->s) != NULL, "case %d: '%s' lacks '%s'", _i, err, c->s);
        }
    }
    mh_menu_free(m);
    free(path);
}
END_TEST

START_TEST(node_accessors_accept_null_and_wrong_kinds)
{
    char err[128];
    ck_assert_int_eq(mh_cfg_kind_of(NULL), MH_CFG_NULL);
    ck_assert_ptr_null(mh_cfg_scalar(NULL));
    ck_assert_uint_eq(mh_cfg_count(NULL), 0);
    ck_assert_ptr_null(mh_cfg_get(NULL, "x"));
    ck_assert_ptr_null(mh_cfg_at(NULL, 0, NULL));
    ck_assert_ptr_null(mh_cfg_file(NULL));
    int64_t v;
    ck_assert_int_eq(mh_cfg_as_int(NULL, "k", &v, err, sizeof err), MH_PARAM);
    ck_assert_str_eq(err, "k: expected integer, got nothing");
    ck_assert_int_eq(mh_cfg_fail(NULL, err, sizeof err, MH_CONFIG, "plain %d", 1), MH_CONFIG);
    ck_assert_str_eq(err, "plain 1");
    ck_assert_ptr_null(mh_menu_dump(NULL));
    ck_assert_ptr_null(mh_menu_find_module(NULL, "a"));
}
END_TEST

START_TEST(example_menus_are_valid)
{
    static const char *const files[] = {"configs/examples/emulated.yaml",
                                        "configs/examples/minimal.yaml"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        mh_menu *m = NULL;
        char err[512];
        mh_status st = mh_menu_load(files[i], NULL, 0, &m, err, sizeof err);
        ck_assert_msg(st == MH_OK, "%s: %s", files[i], err);
        ck_assert_uint_gt(m->npaths, 0);
        mh_menu_free(m);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("menu");
    tcase_add_test(tc, good_menu_loads_every_field);
    tcase_add_test(tc, defaults_for_absent_settings);
    tcase_add_test(tc, time_scale_from_override);
    tcase_add_test(tc, file_errors);
    tcase_add_loop_test(tc, bad_menu, 0, (int)(sizeof bad_cases / sizeof *bad_cases));
    tcase_add_test(tc, overrides_apply_before_checks);
    tcase_add_test(tc, override_into_empty_section_and_null_value);
    tcase_add_loop_test(tc, bad_override, 0, (int)(sizeof ovr_cases / sizeof *ovr_cases));
    tcase_add_loop_test(tc, converter, 0, (int)(sizeof conv_cases / sizeof *conv_cases));
    tcase_add_test(tc, node_accessors_accept_null_and_wrong_kinds);
    tcase_add_test(tc, example_menus_are_valid);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
