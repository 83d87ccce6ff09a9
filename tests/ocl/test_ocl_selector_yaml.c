/* test_ocl_selector_yaml.c - a config's `device:` map (YAML text, as the
 * module ABI passes an MH_PARAM_MAP) applied to a selector. Pure: no
 * OpenCL call. */
#include <check.h>
#include <string.h>

#include "ocl/mh_ocl.h"

static const struct {
    const char *yaml;
    mh_status st;
    const char *want; /* formatted selector, or a substring of the error */
} cases[] = {
    {"", MH_OK, "type=any"},
    {"{}", MH_OK, "type=any"},
    {"{type: gpu, index: 1, name: A100}", MH_OK, "type=gpu,index=1,name=A100"},
    {"type: accelerator\nname: Xilinx U250\n", MH_OK, "type=accelerator,name=Xilinx U250"},
    {"{index: 2}", MH_OK, "type=any,index=2"},
    {"{type: tpu}", MH_INVALID, "device: "},
    {"{colour: red}", MH_INVALID, "device: "},
    {"{index: -1}", MH_INVALID, "device: "},
    {"[gpu, 0]", MH_CONFIG, "device: must be a map"},
    {"{type: [gpu]}", MH_CONFIG, "device: type must be a plain value"},
    {"{type: gpu", MH_CONFIG, "device: not valid YAML"},
};

START_TEST(yaml_map_to_selector)
{
    mh_ocl_selector sel;
    mh_ocl_selector_init(&sel);
    char err[512] = "", buf[512];
    mh_status st = mh_ocl_selector_set_yaml(&sel, cases[_i].yaml, err, sizeof err);
    ck_assert_msg(st == cases[_i].st, "case %d '%s': status %d, %s", _i, cases[_i].yaml, st, err);
    if (st == MH_OK) {
        ck_assert_str_eq(mh_ocl_selector_format(&sel, buf, sizeof buf), cases[_i].want);
    } else {
        ck_assert_msg(strstr(err, cases[_i].want), "case %d: %s", _i, err);
        /* untouched on error */
        ck_assert_str_eq(mh_ocl_selector_format(&sel, buf, sizeof buf), "type=any");
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ocl_selector_yaml");
    TCase *tc = tcase_create("yaml");
    tcase_add_loop_test(tc, yaml_map_to_selector, 0, (int)(sizeof cases / sizeof cases[0]));
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
