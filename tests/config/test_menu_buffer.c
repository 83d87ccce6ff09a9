/* test_menu_buffer.c - mh_menu_load_buffer (the entry point of the fuzz
 * target tests/fuzz/fuzz_menu.c) and the UTF-8 check in front of libfyaml,
 * for buffers and files alike. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/mh_config.h"

static const char good[] = "modules:\n  a: {plugin: pass}\npaths:\n  P: [a]\n";

START_TEST(buffer_loads_like_a_file)
{
    char err[512] = "";
    mh_menu *m = NULL;
    /* Not NUL-terminated: only len bytes are read. */
    char *text = malloc(sizeof good - 1);
    memcpy(text, good, sizeof good - 1);
    ck_assert_msg(mh_menu_load_buffer("mem.yaml", text, sizeof good - 1, NULL, 0, &m, err,
                                      sizeof err) == MH_OK, "%s", err);
    free(text); /* the menu keeps its own copy */
    ck_assert_str_eq(m->file, "mem.yaml");
    ck_assert_uint_eq(m->npaths, 1);
    ck_assert_str_eq(m->paths[0].modules[0], "a");
    ck_assert_str_eq(mh_menu_find_module(m, "a")->plugin, "pass");
    char *dump = mh_menu_dump(m);
    ck_assert_ptr_nonnull(strstr(dump, "plugin: pass"));
    free(dump);
    mh_menu_free(m);
}
END_TEST

START_TEST(buffer_with_overrides)
{
    char err[512] = "";
    mh_menu *m = NULL;
    const char *sets[] = {"modules.a.plugin=emulated", "process.threads=3"};
    ck_assert_msg(mh_menu_load_buffer("mem.yaml", good, strlen(good), sets, 2, &m, err,
                                      sizeof err) == MH_OK, "%s", err);
    ck_assert_str_eq(mh_menu_find_module(m, "a")->plugin, "emulated");
    ck_assert_int_eq(m->threads, 3);
    mh_menu_free(m);
}
END_TEST

typedef struct bad_case {
    const char *text;
    size_t len;       /* 0: strlen */
    mh_status st;
    const char *msg;  /* exact error */
} bad_case;

static const bad_case bad[] = {
    {"paths:\n  P: [\x80]\n", 0, MH_CONFIG, "mem.yaml:2:7: not valid UTF-8 (byte 0x80)"},
    {"name: \xce\xbc\xce\xbc \xed\xa0\x80\n", 0, MH_CONFIG,
     "mem.yaml:1:10: not valid UTF-8 (byte 0xed)"}, /* surrogate after two 2-byte chars */
    {"paths: {P: [a]}\n#\xc3", 0, MH_CONFIG, "mem.yaml:2:2: not valid UTF-8 (byte 0xc3)"},
    {"", 0, MH_CONFIG, "mem.yaml:1:1: empty menu (no YAML document)"},
    /* libfyaml 0.7 crashed here (corpus/menu/crash-tab-complex-key) */
    {"a: b\n? c:\t? d :", 0, MH_CONFIG, "mem.yaml:2:5: tab character (use spaces)"},
    {"paths: {P: [a]}\nname: \"\xce\xbc\t\"\n", 0, MH_CONFIG,
     "mem.yaml:2:9: tab character (use spaces)"},
    {"paths: [a\n", 0, MH_CONFIG, "mem.yaml:2:1: flow sequence without a closing bracket"},
};

START_TEST(buffer_errors)
{
    const bad_case *c = &bad[_i];
    char err[512] = "";
    mh_menu *m = (mh_menu *)1;
    size_t len = c->len ? c->len : strlen(c->text);
    ck_assert_int_eq(mh_menu_load_buffer("mem.yaml", c->text, len, NULL, 0, &m, err, sizeof err),
                     c->st);
    ck_assert_ptr_null(m);
    ck_assert_str_eq(err, c->msg);
}
END_TEST

START_TEST(file_with_invalid_utf8)
{
    char path[] = "/tmp/mh_menu_utf8_XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    const char text[] = "paths:\n  P: [ab\xff]\n";
    ck_assert_int_eq(write(fd, text, sizeof text - 1), (ssize_t)(sizeof text - 1));
    close(fd);
    char err[512] = "", want[600];
    mh_menu *m = NULL;
    ck_assert_int_eq(mh_menu_load(path, NULL, 0, &m, err, sizeof err), MH_CONFIG);
    snprintf(want, sizeof want, "%s:2:9: not valid UTF-8 (byte 0xff)", path);
    ck_assert_str_eq(err, want);
    unlink(path);
}
END_TEST

/* libfyaml parses override values too: they are checked the same way
 * (regression: tests/fuzz/corpus/menu/timeout-set-utf8 hung the loader). */
START_TEST(override_with_invalid_utf8)
{
    char err[512] = "";
    mh_menu *m = (mh_menu *)1;
    const char *sets[] = {"process.threads=2", "source=%{input:\xff\xff .x.mhe}"};
    ck_assert_int_eq(mh_menu_load_buffer("mem.yaml", good, strlen(good), sets, 2, &m, err,
                                         sizeof err), MH_CONFIG);
    ck_assert_ptr_null(m);
    ck_assert_str_eq(err, "--set: not valid UTF-8 (byte 0xff at offset 15)");
    const char *tabs[] = {"source={a: b,\t? c: d}"};
    ck_assert_int_eq(mh_menu_load_buffer("mem.yaml", good, strlen(good), tabs, 1, &m, err,
                                         sizeof err), MH_CONFIG);
    ck_assert_str_eq(err, "--set: tab character at offset 13 (use spaces)");
}
END_TEST

/* The caller may free its override strings right after the load
 * (regression: mh_menu_dump read them after free, found by fuzz_menu). */
START_TEST(override_strings_may_be_freed)
{
    char err[512] = "";
    mh_menu *m = NULL;
    char *set = strdup("modules.a.extra=[seven, {x: eight}]");
    const char *sets[] = {set};
    ck_assert_msg(mh_menu_load_buffer("mem.yaml", good, strlen(good), sets, 1, &m, err,
                                      sizeof err) == MH_OK, "%s", err);
    memset(set, 'X', strlen(set)); /* ASan (make sanitize) reports the read after free */
    free(set);
    char *dump = mh_menu_dump(m);
    ck_assert_ptr_nonnull(dump);
    ck_assert_msg(strstr(dump, "seven") && strstr(dump, "eight"), "%s", dump);
    ck_assert_ptr_null(strstr(dump, "XXX"));
    free(dump);
    mh_menu_free(m);
}
END_TEST

/* A block scalar followed by an unterminated quote: a clean error (and,
 * under make sanitize, no leak: fy_node_build_from_string leaked here;
 * corpus/menu/leak-set-block-scalar). */
START_TEST(override_syntax_error_does_not_leak)
{
    char err[512] = "";
    mh_menu *m = (mh_menu *)1;
    const char *sets[] = {"modules.a.plugin=>\n  a\n \"x"};
    ck_assert_int_eq(mh_menu_load_buffer("mem.yaml", good, strlen(good), sets, 1, &m, err,
                                         sizeof err), MH_CONFIG);
    ck_assert_ptr_null(m);
    ck_assert_msg(strncmp(err, "--set modules.a.plugin=>", 24) == 0, "%s", err);
}
END_TEST

START_TEST(buffer_bad_arguments)
{
    char err[512] = "";
    mh_menu *m = NULL;
    ck_assert_int_eq(mh_menu_load_buffer("x", NULL, 3, NULL, 0, &m, err, sizeof err), MH_INVALID);
    ck_assert_int_eq(mh_menu_load_buffer(NULL, good, 3, NULL, 0, &m, err, sizeof err), MH_INVALID);
    ck_assert_int_eq(mh_menu_load_buffer("x", good, strlen(good), NULL, 1, &m, err, sizeof err),
                     MH_INVALID);
    /* More than 16 MiB is refused before parsing. */
    size_t big = (16u << 20) + 1;
    char *huge = malloc(big);
    memset(huge, '#', big);
    ck_assert_int_eq(mh_menu_load_buffer("big.yaml", huge, big, NULL, 0, &m, err, sizeof err),
                     MH_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "big.yaml: menu too large"));
    free(huge);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("menu_buffer");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, buffer_loads_like_a_file);
    tcase_add_test(tc, buffer_with_overrides);
    tcase_add_loop_test(tc, buffer_errors, 0, (int)(sizeof bad / sizeof bad[0]));
    tcase_add_test(tc, file_with_invalid_utf8);
    tcase_add_test(tc, override_with_invalid_utf8);
    tcase_add_test(tc, override_strings_may_be_freed);
    tcase_add_test(tc, override_syntax_error_does_not_leak);
    tcase_add_test(tc, buffer_bad_arguments);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
