/* test_ocl_select.c - the parts of the OpenCL layer that need no device:
 * error names, selectors and their string form, the choice of a device from
 * fake lists (GPU, FPGA accelerator present), cache keys and directories,
 * fault specifications. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl/mh_ocl.h"

/* ---------------------------------------------------------------- errors */

START_TEST(errname_table)
{
    static const struct {
        cl_int code;
        const char *name;
    } rows[] = {
        {CL_SUCCESS, "CL_SUCCESS"},
        {CL_DEVICE_NOT_FOUND, "CL_DEVICE_NOT_FOUND"},
        {CL_OUT_OF_RESOURCES, "CL_OUT_OF_RESOURCES"},
        {CL_BUILD_PROGRAM_FAILURE, "CL_BUILD_PROGRAM_FAILURE"},
        {CL_INVALID_BINARY, "CL_INVALID_BINARY"},
        {CL_INVALID_BUILD_OPTIONS, "CL_INVALID_BUILD_OPTIONS"},
        {CL_INVALID_KERNEL_NAME, "CL_INVALID_KERNEL_NAME"},
        {CL_INVALID_WORK_GROUP_SIZE, "CL_INVALID_WORK_GROUP_SIZE"},
        {CL_INVALID_DEVICE_PARTITION_COUNT, "CL_INVALID_DEVICE_PARTITION_COUNT"},
        {-72, "CL_MAX_SIZE_RESTRICTION_EXCEEDED"},
        {-1001, "CL_PLATFORM_NOT_FOUND_KHR"},
        {-20, "CL_UNKNOWN_ERROR"},
        {12345, "CL_UNKNOWN_ERROR"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        ck_assert_str_eq(mh_ocl_errname(rows[i].code), rows[i].name);
        cl_int back = 1;
        if (strcmp(rows[i].name, "CL_UNKNOWN_ERROR")) {
            ck_assert(mh_ocl_errcode(rows[i].name, &back));
            ck_assert_int_eq(back, rows[i].code);
        }
    }
    cl_int c;
    ck_assert(!mh_ocl_errcode("CL_NOT_A_THING", &c));
    ck_assert(!mh_ocl_errcode("CL_UNKNOWN_ERROR", &c));
    /* Every code from -1 to -19 and -30 to -68 has a name (OpenCL 1.2). */
    for (cl_int k = -1; k >= -68; k--)
        if (k > -20 || k < -29)
            ck_assert_str_ne(mh_ocl_errname(k), "CL_UNKNOWN_ERROR");
}
END_TEST

START_TEST(fail_messages_name_call_and_error)
{
    char err[128];
    ck_assert_int_eq(mh_ocl_fail(err, sizeof err, "clFinish", CL_OUT_OF_RESOURCES), MH_DEVICE);
    ck_assert_str_eq(err, "clFinish: CL_OUT_OF_RESOURCES");
    mh_ocl_fail(err, sizeof err, "clFinish", -9999);
    ck_assert_str_eq(err, "clFinish: CL_UNKNOWN_ERROR (-9999)");
    ck_assert_int_eq(mh_ocl_failf(err, sizeof err, "clBuildProgram", CL_BUILD_PROGRAM_FAILURE,
                                  "%s", "error: x undeclared"),
                     MH_DEVICE);
    ck_assert_str_eq(err, "clBuildProgram: CL_BUILD_PROGRAM_FAILURE: error: x undeclared");
    ck_assert_int_eq(mh_ocl_failf(NULL, 0, "x", 0, "y"), MH_DEVICE);
}
END_TEST

/* ------------------------------------------------------------- selectors */

static const struct {
    const char *text;
    mh_ocl_type type;
    unsigned index;
    const char *name;
} good_selectors[] = {
    {"type=gpu", MH_OCL_GPU, 0, ""},
    {"type=gpu,index=0,name=A100", MH_OCL_GPU, 0, "A100"},
    {"index=2", MH_OCL_ANY, 2, ""},
    {"name=Tesla V100,type=gpu", MH_OCL_GPU, 0, "Tesla V100"},
    {"type=accelerator,index=1", MH_OCL_ACCELERATOR, 1, ""},
    {"type=cpu", MH_OCL_CPU, 0, ""},
    {"type=any,index=65535", MH_OCL_ANY, 65535, ""},
    {"type=custom", MH_OCL_CUSTOM, 0, ""},
};

START_TEST(selector_parse_good)
{
    mh_ocl_selector s;
    char err[256] = "";
    ck_assert_msg(mh_ocl_selector_parse(good_selectors[_i].text, &s, err, sizeof err) == MH_OK,
                  "%s: %s", good_selectors[_i].text, err);
    ck_assert_int_eq(s.type, good_selectors[_i].type);
    ck_assert_uint_eq(s.index, good_selectors[_i].index);
    ck_assert_str_eq(s.name, good_selectors[_i].name);
    /* The formatted form parses back to the same selector. */
    char buf[300];
    mh_ocl_selector t;
    mh_ocl_selector_format(&s, buf, sizeof buf);
    ck_assert_int_eq(mh_ocl_selector_parse(buf, &t, err, sizeof err), MH_OK);
    ck_assert_int_eq(t.type, s.type);
    ck_assert_uint_eq(t.index, s.index);
    ck_assert_str_eq(t.name, s.name);
}
END_TEST

static const struct {
    const char *text;
    const char *why; /* substring of the error */
} bad_selectors[] = {
    {"", "empty"},
    {"gpu", "expected key=value"},
    {"type=fpga", "type must be"},
    {"type=GPU", "type must be"},
    {"type=gpu,type=cpu", "given twice"},
    {"index=-1", "index must be"},
    {"index=1x", "index must be"},
    {"index=65536", "index must be"},
    {"index= 1", "index must be"},
    {"name=", "empty value"},
    {"vendor=nvidia", "unknown key 'vendor'"},
    {"type=gpu,", "expected key=value"},
    {"type =gpu", "unknown key"},
};

START_TEST(selector_parse_bad)
{
    mh_ocl_selector s;
    mh_ocl_selector_init(&s);
    s.index = 7;
    char err[256] = "";
    ck_assert_int_eq(mh_ocl_selector_parse(bad_selectors[_i].text, &s, err, sizeof err),
                     MH_INVALID);
    ck_assert_msg(strstr(err, bad_selectors[_i].why), "'%s' gave '%s'", bad_selectors[_i].text,
                  err);
    ck_assert_uint_eq(s.index, 7); /* untouched on failure */
}
END_TEST

START_TEST(selector_set_from_config_keys)
{
    mh_ocl_selector s;
    mh_ocl_selector_init(&s);
    char err[256];
    ck_assert_int_eq(mh_ocl_selector_set(&s, "type", "accelerator", err, sizeof err), MH_OK);
    ck_assert_int_eq(mh_ocl_selector_set(&s, "index", "2", err, sizeof err), MH_OK);
    ck_assert_int_eq(mh_ocl_selector_set(&s, "name", "Alveo U250", err, sizeof err), MH_OK);
    ck_assert_int_eq(s.type, MH_OCL_ACCELERATOR);
    ck_assert_uint_eq(s.index, 2);
    ck_assert_str_eq(s.name, "Alveo U250");
    ck_assert_int_eq(mh_ocl_selector_set(&s, "vendor", "x", err, sizeof err), MH_INVALID);
    ck_assert_str_eq(err, "device selector: unknown key 'vendor' (keys: type, index, name)");
    ck_assert_int_eq(mh_ocl_selector_set(&s, "index", "two", err, sizeof err), MH_INVALID);
    ck_assert_int_eq(mh_ocl_selector_set(&s, "type", "", err, sizeof err), MH_INVALID);
    ck_assert_uint_eq(s.index, 2);
    ck_assert_int_eq(s.type, MH_OCL_ACCELERATOR);
}
END_TEST

START_TEST(selector_env_override)
{
    mh_ocl_selector s;
    mh_ocl_selector_init(&s);
    s.type = MH_OCL_CPU;
    bool over = true;
    char err[256];
    unsetenv(MH_OCL_DEVICE_ENV);
    ck_assert_int_eq(mh_ocl_selector_apply_env(&s, &over, err, sizeof err), MH_OK);
    ck_assert(!over);
    ck_assert_int_eq(s.type, MH_OCL_CPU);

    setenv(MH_OCL_DEVICE_ENV, "", 1);
    ck_assert_int_eq(mh_ocl_selector_apply_env(&s, &over, err, sizeof err), MH_OK);
    ck_assert(!over);

    setenv(MH_OCL_DEVICE_ENV, "type=accelerator,name=Alveo", 1);
    ck_assert_int_eq(mh_ocl_selector_apply_env(&s, &over, err, sizeof err), MH_OK);
    ck_assert(over);
    ck_assert_int_eq(s.type, MH_OCL_ACCELERATOR);
    ck_assert_str_eq(s.name, "Alveo");

    /* Replaces the whole selector: omitted keys go back to defaults. */
    s.index = 3;
    setenv(MH_OCL_DEVICE_ENV, "name=V100", 1);
    ck_assert_int_eq(mh_ocl_selector_apply_env(&s, &over, err, sizeof err), MH_OK);
    ck_assert_int_eq(s.type, MH_OCL_ANY);
    ck_assert_uint_eq(s.index, 0);

    setenv(MH_OCL_DEVICE_ENV, "type=tpu", 1);
    ck_assert_int_eq(mh_ocl_selector_apply_env(&s, &over, err, sizeof err), MH_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "MINIHLT_OCL_DEVICE: device selector 'type=tpu'"));
    ck_assert_str_eq(s.name, "V100"); /* untouched */
    unsetenv(MH_OCL_DEVICE_ENV);
}
END_TEST

/* ------------------------------------------------------------- selection */

static mh_ocl_device_info fake(const char *platform, const char *name, mh_ocl_type type)
{
    mh_ocl_device_info d;
    memset(&d, 0, sizeof d);
    snprintf(d.platform_name, sizeof d.platform_name, "%s", platform);
    snprintf(d.name, sizeof d.name, "%s", name);
    d.type = type;
    return d;
}

/* A farm node: two GPUs, one FPGA board, PoCL. In selection order. */
static mh_ocl_device_info node[4];

static void setup_node(void)
{
    node[0] = fake("NVIDIA CUDA", "Tesla V100-SXM2-16GB", MH_OCL_GPU);
    node[1] = fake("NVIDIA CUDA", "NVIDIA A100-PCIE-40GB", MH_OCL_GPU);
    node[2] = fake("Intel(R) FPGA SDK for OpenCL(TM)", "pac_a10 : Intel PAC Platform",
                   MH_OCL_ACCELERATOR);
    node[3] = fake("Portable Computing Language", "pthread-skylake", MH_OCL_CPU);
}

static const struct {
    const char *sel;
    long want; /* index into node[], -1 = no match */
} picks[] = {
    {"type=any", 0},
    {"type=gpu", 0},
    {"type=gpu,index=1", 1},
    {"name=a100", 1},
    {"type=gpu,name=A100", 1},
    {"name=nvidia,index=1", 1},
    {"type=accelerator", 2},
    {"name=intel pac", 2},
    {"name=FPGA SDK", 2}, /* platform name matches too */
    {"type=cpu", 3},
    {"index=3", 3},
    {"name=portable", 3},
    {"type=gpu,index=2", -1},
    {"type=custom", -1},
    {"type=cpu,name=A100", -1},
    {"index=4", -1},
};

START_TEST(select_from_fake_node)
{
    mh_ocl_selector s;
    char err[1024] = "";
    ck_assert_int_eq(mh_ocl_selector_parse(picks[_i].sel, &s, err, sizeof err), MH_OK);
    size_t idx = 99;
    mh_status st = mh_ocl_select(&s, node, 4, &idx, err, sizeof err);
    if (picks[_i].want >= 0) {
        ck_assert_msg(st == MH_OK, "%s: %s", picks[_i].sel, err);
        ck_assert_uint_eq(idx, (size_t)picks[_i].want);
    } else {
        ck_assert_int_eq(st, MH_NOTFOUND);
        ck_assert_msg(strstr(err, "no OpenCL device matches"), "%s", err);
        ck_assert_msg(strstr(err, "[2] Intel(R) FPGA SDK for OpenCL(TM) / pac_a10 : Intel PAC "
                                  "Platform (accelerator)"),
                      "%s", err);
        ck_assert_msg(strstr(err, "[3] Portable Computing Language / pthread-skylake (cpu)"),
                      "%s", err);
    }
}
END_TEST

START_TEST(select_no_match_message)
{
    mh_ocl_device_info pocl[1] = {fake("Portable Computing Language", "pthread-skylake",
                                       MH_OCL_CPU)};
    mh_ocl_selector s;
    char err[512];
    size_t idx;
    mh_ocl_selector_parse("type=gpu", &s, err, sizeof err);
    ck_assert_int_eq(mh_ocl_select(&s, pocl, 1, &idx, err, sizeof err), MH_NOTFOUND);
    ck_assert_str_eq(err, "no OpenCL device matches type=gpu; available: [0] Portable Computing "
                          "Language / pthread-skylake (cpu)");
    mh_ocl_selector_parse("type=cpu,index=1", &s, err, sizeof err);
    ck_assert_int_eq(mh_ocl_select(&s, pocl, 1, &idx, err, sizeof err), MH_NOTFOUND);
    ck_assert_str_eq(err, "no OpenCL device matches type=cpu,index=1 (1 device matches without "
                          "the index); available: [0] Portable Computing Language / "
                          "pthread-skylake (cpu)");
    mh_ocl_selector_init(&s);
    ck_assert_int_eq(mh_ocl_select(&s, NULL, 0, &idx, err, sizeof err), MH_NOTFOUND);
    ck_assert_str_eq(err, "no OpenCL device matches type=any; available: none (no OpenCL "
                          "platform found)");
    /* A tiny buffer truncates, never overflows. */
    char small[20];
    ck_assert_int_eq(mh_ocl_select(&s, NULL, 0, &idx, small, sizeof small), MH_NOTFOUND);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
}
END_TEST

START_TEST(select_any_prefers_coprocessors)
{
    /* A list in ICD order (CPU platform first): type=any still takes the
     * accelerator, then the GPU, as a coprocessor-first default should. */
    mh_ocl_device_info l[3] = {
        fake("Portable Computing Language", "pthread", MH_OCL_CPU),
        fake("Xilinx", "xilinx_u250_gen3x16_xdma_shell_4_1", MH_OCL_ACCELERATOR),
        fake("AMD Accelerated Parallel Processing", "gfx90a", MH_OCL_GPU),
    };
    mh_ocl_selector s;
    mh_ocl_selector_init(&s);
    size_t idx;
    char err[512];
    ck_assert_int_eq(mh_ocl_select(&s, l, 3, &idx, err, sizeof err), MH_OK);
    ck_assert_uint_eq(idx, 2);
    s.index = 1;
    ck_assert_int_eq(mh_ocl_select(&s, l, 3, &idx, err, sizeof err), MH_OK);
    ck_assert_uint_eq(idx, 1);
    s.index = 2;
    ck_assert_int_eq(mh_ocl_select(&s, l, 3, &idx, err, sizeof err), MH_OK);
    ck_assert_uint_eq(idx, 0);
    ck_assert_uint_eq(mh_ocl_type_index(node, 4, 1), 1);
    ck_assert_uint_eq(mh_ocl_type_index(node, 4, 2), 0);
}
END_TEST

/* ---------------------------------------------------------------- cache */

START_TEST(cache_key_covers_every_input)
{
    mh_ocl_device_info d = fake("Portable Computing Language", "pthread", MH_OCL_CPU);
    snprintf(d.driver_version, sizeof d.driver_version, "3.1");
    snprintf(d.platform_version, sizeof d.platform_version, "OpenCL 3.0 PoCL 3.1");
    snprintf(d.version, sizeof d.version, "OpenCL 3.0");
    const char *src = "__kernel void k(void) {}";
    uint64_t k0 = mh_ocl_cache_key(&d, "", src);
    ck_assert_uint_eq(k0, mh_ocl_cache_key(&d, "", src));
    ck_assert_uint_eq(k0, mh_ocl_cache_key(&d, NULL, src));
    ck_assert_uint_ne(k0, mh_ocl_cache_key(&d, "-cl-fast-relaxed-math", src));
    ck_assert_uint_ne(k0, mh_ocl_cache_key(&d, "", "__kernel void k(void) { }"));
    mh_ocl_device_info e = d;
    snprintf(e.driver_version, sizeof e.driver_version, "3.2");
    ck_assert_uint_ne(k0, mh_ocl_cache_key(&e, "", src));
    e = d;
    snprintf(e.name, sizeof e.name, "pthread2");
    ck_assert_uint_ne(k0, mh_ocl_cache_key(&e, "", src));
    e = d;
    snprintf(e.platform_version, sizeof e.platform_version, "OpenCL 3.0 PoCL 4.0");
    ck_assert_uint_ne(k0, mh_ocl_cache_key(&e, "", src));
}
END_TEST

START_TEST(cache_dir_resolution)
{
    char buf[256], err[256];
    setenv("MINIHLT_CACHE", "/tmp/mhc", 1);
    setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
    setenv("HOME", "/home/u", 1);
    ck_assert_int_eq(mh_ocl_cache_dir(buf, sizeof buf, err, sizeof err), MH_OK);
    ck_assert_str_eq(buf, "/tmp/mhc");
    unsetenv("MINIHLT_CACHE");
    ck_assert_int_eq(mh_ocl_cache_dir(buf, sizeof buf, err, sizeof err), MH_OK);
    ck_assert_str_eq(buf, "/tmp/xdg/minihlt");
    setenv("XDG_CACHE_HOME", "", 1);
    ck_assert_int_eq(mh_ocl_cache_dir(buf, sizeof buf, err, sizeof err), MH_OK);
    ck_assert_str_eq(buf, "/home/u/.cache/minihlt");
    unsetenv("HOME");
    ck_assert_int_eq(mh_ocl_cache_dir(buf, sizeof buf, err, sizeof err), MH_CONFIG);
}
END_TEST

/* ---------------------------------------------------------------- faults */

START_TEST(fault_spec_parsing)
{
    char call[64], err[256];
    cl_int code;
    unsigned long skip;
    ck_assert_int_eq(mh_ocl_fault_parse("clFinish", call, sizeof call, &code, &skip, err,
                                        sizeof err),
                     MH_OK);
    ck_assert_str_eq(call, "clFinish");
    ck_assert_int_eq(code, CL_OUT_OF_RESOURCES);
    ck_assert_uint_eq(skip, 0);
    ck_assert_int_eq(mh_ocl_fault_parse("clEnqueueNDRangeKernel:CL_DEVICE_NOT_AVAILABLE:10", call,
                                        sizeof call, &code, &skip, err, sizeof err),
                     MH_OK);
    ck_assert_str_eq(call, "clEnqueueNDRangeKernel");
    ck_assert_int_eq(code, CL_DEVICE_NOT_AVAILABLE);
    ck_assert_uint_eq(skip, 10);
    static const char *const bad[] = {"",           ":CL_OUT_OF_RESOURCES", "clFinish:",
                                      "clFinish:CL_NOPE", "clFinish:CL_SUCCESS",
                                      "clFinish:CL_OUT_OF_RESOURCES:",
                                      "clFinish:CL_OUT_OF_RESOURCES:-1", "cl Finish",
                                      "clFinish:CL_OUT_OF_RESOURCES:1:2"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(mh_ocl_fault_parse(bad[i], call, sizeof call, &code, &skip, err,
                                         sizeof err) == MH_INVALID,
                      "'%s' accepted", bad[i]);
}
END_TEST

START_TEST(fault_injection_counts_then_fails)
{
    ck_assert_int_eq(mh_ocl_fault("clFinish"), CL_SUCCESS);
    mh_ocl_inject_fault("clFinish", CL_OUT_OF_RESOURCES, 2);
    ck_assert_int_eq(mh_ocl_fault("clFlush"), CL_SUCCESS);
    ck_assert_int_eq(mh_ocl_fault("clFinish"), CL_SUCCESS);
    ck_assert_int_eq(mh_ocl_fault("clFinish"), CL_SUCCESS);
    ck_assert_int_eq(mh_ocl_fault("clFinish"), CL_OUT_OF_RESOURCES);
    ck_assert_int_eq(mh_ocl_fault("clFinish"), CL_OUT_OF_RESOURCES);
    mh_ocl_inject_fault(NULL, 0, 0);
    ck_assert_int_eq(mh_ocl_fault("clFinish"), CL_SUCCESS);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ocl_select");
    TCase *tc = tcase_create("pure");
    tcase_add_checked_fixture(tc, setup_node, NULL);
    tcase_add_test(tc, errname_table);
    tcase_add_test(tc, fail_messages_name_call_and_error);
    tcase_add_loop_test(tc, selector_parse_good, 0,
                        (int)(sizeof good_selectors / sizeof good_selectors[0]));
    tcase_add_loop_test(tc, selector_parse_bad, 0,
                        (int)(sizeof bad_selectors / sizeof bad_selectors[0]));
    tcase_add_test(tc, selector_set_from_config_keys);
    tcase_add_test(tc, selector_env_override);
    tcase_add_loop_test(tc, select_from_fake_node, 0, (int)(sizeof picks / sizeof picks[0]));
    tcase_add_test(tc, select_no_match_message);
    tcase_add_test(tc, select_any_prefers_coprocessors);
    tcase_add_test(tc, cache_key_covers_every_input);
    tcase_add_test(tc, cache_dir_resolution);
    tcase_add_test(tc, fault_spec_parsing);
    tcase_add_test(tc, fault_injection_counts_then_fails);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
