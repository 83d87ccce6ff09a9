/* test_ocl_device.c - the OpenCL layer on the machine's real device (PoCL's
 * CPU device in CI): listing, building the selftest kernel from source and
 * running it, the binary cache (hit, corrupt entry, entry the driver
 * rejects), prebuilt binaries (good, corrupt, missing), build errors by name,
 * and the fault hook. PoCL compiles with LLVM (about a second per build), so
 * the number of builds is kept small. */
#include <check.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mh_hash.h"
#include "ocl/mh_ocl.h"

static char tmpdir[256];
static mh_ocl_device *dev;

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Each test: a fresh cache directory (also as $MINIHLT_CACHE) and the device
 * the defaults pick (PoCL here). */
static void setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mh_ocl_test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
    setenv("MINIHLT_CACHE", tmpdir, 1);
    unsetenv(MH_OCL_DEVICE_ENV);
    char err[1024] = "";
    ck_assert_msg(mh_ocl_device_open_selected(NULL, &dev, err, sizeof err) == MH_OK, "%s", err);
}

static void teardown(void)
{
    mh_ocl_device_free(dev);
    dev = NULL;
    nftw(tmpdir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void path_in_tmp(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* Runs mh_saxpy on n = 1000 elements (not a multiple of any work-group
 * size) and checks y = a*x + y element by element. */
static void run_saxpy(cl_program prog)
{
    enum { N = 1000 };
    float x[N], y[N], want[N];
    const float a = 2.5f;
    for (int i = 0; i < N; i++) {
        x[i] = (float)i * 0.25f - 7.0f;
        y[i] = 3.0f - (float)i * 0.5f;
        want[i] = fmaf(a, x[i], y[i]);
    }
    char err[1024] = "";
    cl_command_queue q;
    cl_kernel k;
    cl_int rc;
    ck_assert_msg(mh_ocl_queue_create(dev, false, &q, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_msg(mh_ocl_kernel_create(prog, "mh_saxpy", &k, err, sizeof err) == MH_OK, "%s", err);
    cl_context ctx = mh_ocl_device_context(dev);
    cl_mem bx = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof x, x, &rc);
    ck_assert_int_eq(rc, CL_SUCCESS);
    cl_mem by = clCreateBuffer(ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof y, y, &rc);
    ck_assert_int_eq(rc, CL_SUCCESS);
    cl_uint n = N;
    ck_assert_int_eq(clSetKernelArg(k, 0, sizeof n, &n), CL_SUCCESS);
    ck_assert_int_eq(clSetKernelArg(k, 1, sizeof a, &a), CL_SUCCESS);
    ck_assert_int_eq(clSetKernelArg(k, 2, sizeof bx, &bx), CL_SUCCESS);
    ck_assert_int_eq(clSetKernelArg(k, 3, sizeof by, &by), CL_SUCCESS);
    size_t global = 1024, local = 64;
    ck_assert_int_eq(clEnqueueNDRangeKernel(q, k, 1, NULL, &global, &local, 0, NULL, NULL),
                     CL_SUCCESS);
    ck_assert_int_eq(clEnqueueReadBuffer(q, by, CL_TRUE, 0, sizeof y, y, 0, NULL, NULL),
                     CL_SUCCESS);
    for (int i = 0; i < N; i++)
        ck_assert_msg(fabsf(y[i] - want[i]) <= 1e-6f * fmaxf(1.0f, fabsf(want[i])),
                      "y[%d] = %g, want %g", i, (double)y[i], (double)want[i]);
    clReleaseMemObject(bx);
    clReleaseMemObject(by);
    clReleaseKernel(k);
    clReleaseCommandQueue(q);
}

static mh_ocl_build_opts selftest_opts(void)
{
    mh_ocl_build_opts o = {.name = "selftest", .source = mh_ocl_kernel_source("selftest")};
    return o;
}

START_TEST(listing_finds_a_device)
{
    mh_ocl_device_info *list;
    size_t n;
    char err[1024] = "";
    ck_assert_msg(mh_ocl_list(&list, &n, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_uint_ge(n, 1);
    bool cpu = false;
    for (size_t i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(list[i].id);
        ck_assert_str_ne(list[i].name, "");
        ck_assert_uint_ge(list[i].compute_units, 1);
        ck_assert_uint_gt(list[i].global_mem, 0);
        ck_assert_uint_ge(list[i].max_work_group, 1);
        ck_assert_int_ge(list[i].cl_major, 1);
        if (list[i].type == MH_OCL_CPU)
            cpu = true;
        if (i > 0) /* selection order: CPUs last */
            ck_assert(list[i - 1].type != MH_OCL_CPU || list[i].type == MH_OCL_CPU);
    }
    ck_assert_msg(cpu, "no CPU device (PoCL) found");
    /* The opened device is the one the default selector picks. */
    ck_assert_str_eq(mh_ocl_device_get_info(dev)->name, list[0].name);
    mh_ocl_list_free(list);
    mh_ocl_list_free(NULL);
    mh_ocl_device_free(NULL);
}
END_TEST

START_TEST(selection_by_type_and_env_on_the_machine)
{
    mh_ocl_device *d2;
    char err[1024] = "";
    mh_ocl_selector s;
    ck_assert_int_eq(mh_ocl_selector_parse("type=cpu,name=", &s, err, sizeof err), MH_INVALID);
    ck_assert_int_eq(mh_ocl_selector_parse("type=cpu", &s, err, sizeof err), MH_OK);
    ck_assert_msg(mh_ocl_device_open_selected(&s, &d2, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_int_eq(mh_ocl_device_get_info(d2)->type, MH_OCL_CPU);
    mh_ocl_device_free(d2);
    /* The environment overrides the configured selector. */
    setenv(MH_OCL_DEVICE_ENV, "type=cpu,index=99", 1);
    ck_assert_int_eq(mh_ocl_device_open_selected(&s, &d2, err, sizeof err), MH_NOTFOUND);
    ck_assert_ptr_null(d2);
    ck_assert_msg(strstr(err, "no OpenCL device matches type=cpu,index=99") &&
                      strstr(err, "(cpu)"),
                  "%s", err);
    unsetenv(MH_OCL_DEVICE_ENV);
}
END_TEST

/* Source build (miss) → cache hit → corrupt entry rebuilt → entry the driver
 * rejects rebuilt → binary saved and loaded as a prebuilt file. */
START_TEST(build_cache_and_prebuilt)
{
    char err[4096] = "";
    mh_ocl_build_opts o = selftest_opts();
    mh_ocl_build_info info;
    cl_program prog;

    ck_assert_msg(mh_ocl_program_build(dev, &o, &prog, &info, err, sizeof err) == MH_OK, "%s",
                  err);
    ck_assert_int_eq(info.origin, MH_OCL_FROM_SOURCE);
    ck_assert_msg(info.cache_written, "%s", info.note);
    ck_assert_ptr_nonnull(strstr(info.cache_path, tmpdir));
    ck_assert(access(info.cache_path, R_OK) == 0);
    run_saxpy(prog);
    clReleaseProgram(prog);

    /* Second build: from the cache. */
    ck_assert_msg(mh_ocl_program_build(dev, &o, &prog, &info, err, sizeof err) == MH_OK, "%s",
                  err);
    ck_assert_int_eq(info.origin, MH_OCL_FROM_CACHE);
    ck_assert(!info.cache_written);
    ck_assert_str_eq(info.note, "");
    run_saxpy(prog);
    char saved[512];
    path_in_tmp(saved, sizeof saved, "selftest.bin");
    ck_assert_msg(mh_ocl_program_save(prog, dev, saved, err, sizeof err) == MH_OK, "%s", err);
    clReleaseProgram(prog);

    /* Flip one payload byte: detected, rebuilt, rewritten. */
    size_t len;
    unsigned char *entry = read_file(info.cache_path, &len);
    ck_assert_uint_gt(len, 64);
    entry[len / 2] ^= 0x5a;
    write_file(info.cache_path, entry, len);
    free(entry);
    ck_assert_msg(mh_ocl_program_build(dev, &o, &prog, &info, err, sizeof err) == MH_OK, "%s",
                  err);
    ck_assert_int_eq(info.origin, MH_OCL_FROM_REBUILD);
    ck_assert_msg(strstr(info.note, "corrupt (payload hash mismatch)"), "%s", info.note);
    ck_assert(info.cache_written);
    run_saxpy(prog);
    clReleaseProgram(prog);

    /* A well-formed entry whose payload the driver refuses (as after a
     * driver change that kept its version string): rebuilt too. */
    static const char junk[] = "this is not a program binary for any device";
    unsigned char hdr[32];
    memcpy(hdr, "MHOCLBN1", 8);
    uint64_t fields[3] = {info.key, sizeof junk, mh_fnv1a64(MH_FNV1A64_INIT, junk, sizeof junk)};
    for (int f = 0; f < 3; f++)
        for (int b = 0; b < 8; b++)
            hdr[8 + 8 * f + b] = (unsigned char)(fields[f] >> (8 * b));
    FILE *fp = fopen(info.cache_path, "wb");
    ck_assert_ptr_nonnull(fp);
    fwrite(hdr, 1, sizeof hdr, fp);
    fwrite(junk, 1, sizeof junk, fp);
    fclose(fp);
    ck_assert_msg(mh_ocl_program_build(dev, &o, &prog, &info, err, sizeof err) == MH_OK, "%s",
                  err);
    ck_assert_int_eq(info.origin, MH_OCL_FROM_REBUILD);
    ck_assert_msg(strstr(info.note, "rejected by the driver (clCreateProgramWithBinary: CL_"),
                  "%s", info.note);
    clReleaseProgram(prog);

    /* The saved binary, loaded the way an FPGA .aocx/.xclbin is. */
    mh_ocl_build_opts b = {.name = "selftest", .binary_path = saved};
    ck_assert_msg(mh_ocl_program_build(dev, &b, &prog, &info, err, sizeof err) == MH_OK, "%s",
                  err);
    ck_assert_int_eq(info.origin, MH_OCL_FROM_BINARY);
    run_saxpy(prog);
    clReleaseProgram(prog);
}
END_TEST

START_TEST(cache_can_be_off_and_dir_explicit)
{
    char err[4096] = "", other[512];
    path_in_tmp(other, sizeof other, "explicit");
    mh_ocl_build_opts o = selftest_opts();
    o.cache_dir = other;
    mh_ocl_build_info info;
    cl_program prog;
    ck_assert_msg(mh_ocl_program_build(dev, &o, &prog, &info, err, sizeof err) == MH_OK, "%s",
                  err);
    ck_assert_msg(strncmp(info.cache_path, other, strlen(other)) == 0, "%s", info.cache_path);
    ck_assert(info.cache_written);
    clReleaseProgram(prog);
    /* Options change the key and so the entry. */
    mh_ocl_build_opts o2 = o;
    o2.no_cache = true;
    o2.options = "-cl-fast-relaxed-math";
    ck_assert_msg(mh_ocl_program_build(dev, &o2, &prog, &info, err, sizeof err) == MH_OK, "%s",
                  err);
    ck_assert_int_eq(info.origin, MH_OCL_FROM_SOURCE);
    ck_assert(!info.cache_written);
    ck_assert_str_eq(info.cache_path, "");
    ck_assert_uint_ne(mh_ocl_cache_key(mh_ocl_device_get_info(dev), o2.options, o.source),
                      mh_ocl_cache_key(mh_ocl_device_get_info(dev), o.options, o.source));
    run_saxpy(prog);
    clReleaseProgram(prog);
}
END_TEST

START_TEST(corrupt_and_missing_binary_files)
{
    char err[4096] = "", path[512];
    cl_program prog = (cl_program)1;
    mh_ocl_build_opts b = {.name = "facile", .binary_path = path};

    /* Not a binary of any known format: the driver refuses it. */
    path_in_tmp(path, sizeof path, "facile.aocx");
    static const char junk[] = "not really an FPGA bitstream";
    write_file(path, junk, sizeof junk);
    ck_assert_int_eq(mh_ocl_program_build(dev, &b, &prog, NULL, err, sizeof err), MH_DEVICE);
    ck_assert_ptr_null(prog);
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "%s", err);
    ck_assert_msg(strstr(err, ": clCreateProgramWithBinary: CL_INVALID_BINARY") ||
                      strstr(err, ": clBuildProgram: CL_"),
                  "%s", err);

    /* A whole ELF file (this test program) is well formed but not for the
     * device; its first 3000 bytes are a truncated ELF, caught before the
     * driver sees it. */
    size_t elen;
    unsigned char *elf = read_file("/proc/self/exe", &elen);
    ck_assert_uint_gt(elen, 8000);
    write_file(path, elf, elen);
    ck_assert_int_eq(mh_ocl_program_build(dev, &b, &prog, NULL, err, sizeof err), MH_DEVICE);
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "%s", err);
    write_file(path, elf, 3000);
    ck_assert_int_eq(mh_ocl_program_build(dev, &b, &prog, NULL, err, sizeof err), MH_CORRUPT);
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0 && strstr(err, "truncated?"), "%s", err);
    free(elf);

    /* An xclbin whose header length disagrees with the file. */
    unsigned char xcl[400];
    memset(xcl, 0xff, sizeof xcl);
    memcpy(xcl, "xclbin2", 8);
    for (int i = 0; i < 8; i++)
        xcl[304 + i] = (unsigned char)((uint64_t)4096 >> (8 * i));
    path_in_tmp(path, sizeof path, "facile.xclbin");
    write_file(path, xcl, sizeof xcl);
    ck_assert_int_eq(mh_ocl_program_build(dev, &b, &prog, NULL, err, sizeof err), MH_CORRUPT);
    ck_assert_msg(strstr(err, "facile.xclbin: xclbin header says 4096 bytes, the file has 400"),
                  "%s", err);

    write_file(path, "", 0);
    ck_assert_int_eq(mh_ocl_program_build(dev, &b, &prog, NULL, err, sizeof err), MH_FORMAT);
    ck_assert_msg(strstr(err, path) && strstr(err, "empty"), "%s", err);

    path_in_tmp(path, sizeof path, "missing.xclbin");
    ck_assert_int_eq(mh_ocl_program_build(dev, &b, &prog, NULL, err, sizeof err), MH_IO);
    ck_assert_msg(strstr(err, path) && strstr(err, "No such file"), "%s", err);
}
END_TEST

START_TEST(build_errors_by_name)
{
    char err[4096] = "";
    cl_program prog;
    mh_ocl_build_opts o = selftest_opts();
    o.no_cache = true;
    o.options = "-this-is-not-an-option";
    ck_assert_int_eq(mh_ocl_program_build(dev, &o, &prog, NULL, err, sizeof err), MH_DEVICE);
    ck_assert_msg(strstr(err, "program selftest: clBuildProgram: CL_INVALID_BUILD_OPTIONS") ||
                      strstr(err, "program selftest: clBuildProgram: CL_BUILD_PROGRAM_FAILURE"),
                  "%s", err);

    mh_ocl_build_opts bad = {.name = "broken",
                             .source = "__kernel void k(__global float *y)\n"
                                       "{\n  y[0] = undeclared_thing;\n}\n",
                             .no_cache = true};
    ck_assert_int_eq(mh_ocl_program_build(dev, &bad, &prog, NULL, err, sizeof err), MH_DEVICE);
    ck_assert_msg(strstr(err, "program broken: clBuildProgram: CL_BUILD_PROGRAM_FAILURE: "), "%s",
                  err);
    ck_assert_msg(strstr(err, "undeclared_thing"), "log missing: %s", err);
    ck_assert_msg(!strchr(err, '\n'), "log not on one line: %s", err);

    ck_assert_int_eq(mh_ocl_program_build(dev, &(mh_ocl_build_opts){.name = "x"}, &prog, NULL,
                                          err, sizeof err),
                     MH_INVALID);
    ck_assert_int_eq(mh_ocl_program_build(dev,
                                          &(mh_ocl_build_opts){.name = "../x", .source = "x"},
                                          &prog, NULL, err, sizeof err),
                     MH_INVALID);
}
END_TEST

START_TEST(injected_faults_surface_by_name)
{
    char err[1024] = "";
    cl_command_queue q1, q2;
    mh_ocl_inject_fault("clCreateCommandQueue", CL_OUT_OF_RESOURCES, 1);
    ck_assert_msg(mh_ocl_queue_create(dev, true, &q1, err, sizeof err) == MH_OK, "%s", err);
    ck_assert_int_eq(mh_ocl_queue_create(dev, true, &q2, err, sizeof err), MH_DEVICE);
    ck_assert_str_eq(err, "clCreateCommandQueue: CL_OUT_OF_RESOURCES");
    ck_assert_ptr_null(q2);
    clReleaseCommandQueue(q1);

    mh_ocl_inject_fault("clBuildProgram", CL_OUT_OF_HOST_MEMORY, 0);
    cl_program prog;
    mh_ocl_build_opts o = selftest_opts();
    o.no_cache = true;
    ck_assert_int_eq(mh_ocl_program_build(dev, &o, &prog, NULL, err, sizeof err), MH_DEVICE);
    ck_assert_str_eq(err, "program selftest: clBuildProgram: CL_OUT_OF_HOST_MEMORY");

    mh_ocl_inject_fault("clGetPlatformIDs", CL_OUT_OF_HOST_MEMORY, 0);
    mh_ocl_device_info *list;
    size_t n;
    ck_assert_int_eq(mh_ocl_list(&list, &n, err, sizeof err), MH_DEVICE);
    ck_assert_str_eq(err, "clGetPlatformIDs: CL_OUT_OF_HOST_MEMORY");
    mh_ocl_inject_fault(NULL, 0, 0);
    ck_assert_int_eq(mh_ocl_list(&list, &n, err, sizeof err), MH_OK);
    mh_ocl_list_free(list);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ocl_device");
    TCase *tc = tcase_create("pocl");
    tcase_set_timeout(tc, 120);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, listing_finds_a_device);
    tcase_add_test(tc, selection_by_type_and_env_on_the_machine);
    tcase_add_test(tc, build_cache_and_prebuilt);
    tcase_add_test(tc, cache_can_be_off_and_dir_explicit);
    tcase_add_test(tc, corrupt_and_missing_binary_files);
    tcase_add_test(tc, build_errors_by_name);
    tcase_add_test(tc, injected_faults_surface_by_name);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int nf = srunner_ntests_failed(sr);
    srunner_free(sr);
    return nf ? 1 : 0;
}
