/* test_utf8.c - strict UTF-8 validation: a table of well-formed and
 * ill-formed sequences (Unicode table 3-7 boundaries) with the offset of the
 * first bad byte. */
#include <check.h>
#include <string.h>

#include "core/mh_utf8.h"

typedef struct utf8_case {
    const char *bytes;
    size_t len;       /* 0: strlen(bytes) */
    int ok;
    size_t bad;       /* expected offset when !ok */
} utf8_case;

static const utf8_case cases[] = {
    {"", 0, 1, 0},
    {"plain: ascii\n", 0, 1, 0},
    {"a\0b", 3, 1, 0},                         /* NUL is valid UTF-8 */
    {"\xC2\x80", 0, 1, 0},                     /* U+0080, smallest 2-byte */
    {"\xDF\xBF", 0, 1, 0},                     /* U+07FF */
    {"\xE0\xA0\x80", 0, 1, 0},                 /* U+0800 */
    {"\xED\x9F\xBF", 0, 1, 0},                 /* U+D7FF, below the surrogates */
    {"\xEE\x80\x80", 0, 1, 0},                 /* U+E000 */
    {"\xEF\xBF\xBF", 0, 1, 0},                 /* U+FFFF */
    {"\xF0\x90\x80\x80", 0, 1, 0},             /* U+10000 */
    {"\xF4\x8F\xBF\xBF", 0, 1, 0},             /* U+10FFFF, the largest */
    {"name: \xCE\xBC\xCE\xBC", 0, 1, 0},       /* "name: μμ" */
    {"ab\x80", 0, 0, 2},                       /* lone continuation byte */
    {"\xC0\x80", 0, 0, 0},                     /* overlong NUL */
    {"\xC1\xBF", 0, 0, 0},                     /* overlong 2-byte */
    {"\xE0\x9F\xBF", 0, 0, 0},                 /* overlong 3-byte */
    {"\xED\xA0\x80", 0, 0, 0},                 /* surrogate U+D800 */
    {"\xED\xBF\xBF", 0, 0, 0},                 /* surrogate U+DFFF */
    {"\xF0\x8F\xBF\xBF", 0, 0, 0},             /* overlong 4-byte */
    {"\xF4\x90\x80\x80", 0, 0, 0},             /* U+110000 */
    {"\xF5\x80\x80\x80", 0, 0, 0},             /* lead byte F5 */
    {"\xFF", 0, 0, 0},
    {"x\xC3", 0, 0, 1},                        /* truncated at the end */
    {"x\xE2\x82", 0, 0, 1},
    {"xy\xF0\x9F\x98", 0, 0, 2},
    {"\xE2\x28\xA1", 0, 0, 0},                 /* bad second byte */
    {"\xF0\x9F\x28\x80", 0, 0, 0},             /* bad third byte */
    {"ok \xE2\x82\xAC then \xC3\x28", 0, 0, 12},
};

START_TEST(utf8_table)
{
    const utf8_case *c = &cases[_i];
    size_t len = c->len ? c->len : strlen(c->bytes);
    size_t bad = 12345;
    ck_assert_msg(mh_utf8_check(c->bytes, len, &bad) == (c->ok != 0), "case %d", _i);
    if (!c->ok)
        ck_assert_uint_eq(bad, c->bad);
    else
        ck_assert_uint_eq(bad, 12345); /* untouched on success */
    ck_assert(mh_utf8_check(c->bytes, len, NULL) == (c->ok != 0));
}
END_TEST

START_TEST(utf8_null_empty)
{
    ck_assert(mh_utf8_check(NULL, 0, NULL));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("utf8");
    TCase *tc = tcase_create("core");
    tcase_add_loop_test(tc, utf8_table, 0, (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, utf8_null_empty);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
