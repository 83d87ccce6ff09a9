/* test_status.c - the error convention: message table and detail buffers. */
#include <check.h>
#include <string.h>

#include "core/mh_status.h"

START_TEST(every_status_has_a_message_and_name)
{
    for (int s = 0; s < MH__STATUS_COUNT; s++) {
        ck_assert_ptr_nonnull(mh_strerror((mh_status)s));
        ck_assert_str_ne(mh_strerror((mh_status)s), "unknown status");
        ck_assert_str_ne(mh_status_name((mh_status)s), "UNKNOWN");
    }
    ck_assert_str_eq(mh_strerror(MH_CHECKSUM), "checksum mismatch");
    ck_assert_str_eq(mh_status_name(MH_CHECKSUM), "CHECKSUM");
    ck_assert_str_eq(mh_strerror((mh_status)9999), "unknown status");
}
END_TEST

START_TEST(fail_formats_and_truncates)
{
    char err[16];
    mh_status st = mh_fail(err, sizeof err, MH_IO, "%s: %d", "a-long-file-name.mhe", 42);
    ck_assert_int_eq(st, MH_IO);
    ck_assert_uint_eq(strlen(err), sizeof err - 1);
    ck_assert_int_eq(strncmp(err, "a-long-file-nam", 15), 0);
    ck_assert_int_eq(mh_fail(NULL, 0, MH_NOMEM, "x"), MH_NOMEM);
}
END_TEST

START_TEST(fail_prefix_prepends_context)
{
    char err[64];
    mh_fail(err, sizeof err, MH_PARAM, "unknown key 'foo'");
    mh_fail_prefix(err, sizeof err, MH_PARAM, "module %s: ", "hbheReco");
    ck_assert_str_eq(err, "module hbheReco: unknown key 'foo'");
    char small[10];
    mh_fail(small, sizeof small, MH_PARAM, "abcdefgh");
    mh_fail_prefix(small, sizeof small, MH_PARAM, "XY");
    ck_assert_str_eq(small, "XYabcdefg");
}
END_TEST

int main(void)
{
    Suite *s = suite_create("status");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, every_status_has_a_message_and_name);
    tcase_add_test(tc, fail_formats_and_truncates);
    tcase_add_test(tc, fail_prefix_prepends_context);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
