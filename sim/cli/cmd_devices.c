/* cmd_devices.c - `minihlt devices`: list OpenCL platforms and devices, show
 * which one a selector picks, and compile an embedded kernel into a program
 * binary file (the stand-in for an FPGA .aocx/.xclbin). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "ocl/mh_ocl.h"

static void mh__devices_help(FILE *f)
{
    fprintf(f,
            "usage: minihlt devices [--json] [--device SEL]\n"
            "       minihlt devices --compile OUT [--kernel NAME] [--device SEL] "
            "[--options \"...\"]\n"
            "\n"
            "Lists the OpenCL platforms and devices the ICD loader finds, in selection\n"
            "order (GPUs, accelerators such as FPGA boards, custom devices, CPUs): the\n"
            "number in brackets is the index a selector with type=any uses, '#N' the\n"
            "index among devices of the same type.\n"
            "\n"
            "options:\n"
            "  --json            machine-readable listing on stdout\n"
            "  --device SEL      mark (or, with --compile, use) the device SEL picks;\n"
            "                    exit 1 listing the devices if none matches. SEL is\n"
            "                    key=value,... with keys type (any|gpu|accelerator|cpu|\n"
            "                    custom), index (among matches), name (case-insensitive\n"
            "                    substring of device or platform name), e.g.\n"
            "                    type=gpu,index=0,name=A100. Without --device,\n"
            "                    $" MH_OCL_DEVICE_ENV " is used if set.\n"
            "  --compile OUT     build an embedded kernel source for the selected device\n"
            "                    and write the program binary to OUT; load it in a config\n"
            "                    with `binary: OUT` (the prebuilt-binary / FPGA flow)\n"
            "  --kernel NAME     embedded kernel source to compile (default selftest):");
    for (const char *const *k = mh_ocl_kernel_names(); *k; k++)
        fprintf(f, " %s", *k);
    fprintf(f,
            "\n"
            "  --options \"...\"   OpenCL build options for --compile\n"
            "  -h, --help        this text\n");
}

static void mh__human_bytes(uint64_t b, char *buf, size_t len)
{
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1024.0 && u < 4) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, len, "%llu B", (unsigned long long)b);
    else
        snprintf(buf, len, "%.1f %s", v, unit[u]);
}

static void mh__print_text(const mh_ocl_device_info *list, size_t n, long selected)
{
    if (n == 0) {
        printf("no OpenCL devices found (is an OpenCL ICD installed? see /etc/OpenCL/vendors)\n");
        return;
    }
    printf("OpenCL devices (selection order; choose with --device or %s):\n",
           MH_OCL_DEVICE_ENV);
    for (size_t i = 0; i < n; i++) {
        const mh_ocl_device_info *d = &list[i];
        char g[32], l[32], a[32];
        mh__human_bytes(d->global_mem, g, sizeof g);
        mh__human_bytes(d->local_mem, l, sizeof l);
        mh__human_bytes(d->max_alloc, a, sizeof a);
        printf("%s[%zu] %s #%u  %s\n", (long)i == selected ? "* " : "  ", i,
               mh_ocl_type_name(d->type), mh_ocl_type_index(list, n, i), d->name);
        printf("      platform  %s (%s), %s\n", d->platform_name, d->platform_vendor,
               d->platform_version);
        printf("      device    vendor %s, %u compute units, max work-group %zu\n", d->vendor,
               d->compute_units, d->max_work_group);
        printf("      memory    global %s, local %s, max allocation %s\n", g, l, a);
        printf("      version   %s; %s; driver %s\n", d->version, d->c_version,
               d->driver_version);
    }
}

static int mh__print_json(const mh_ocl_device_info *list, size_t n, long selected)
{
    json_t *root = json_object();
    json_t *arr = json_array();
    if (!root || !arr)
        goto nomem;
    json_object_set_new(root, "devices", arr);
    for (size_t i = 0; i < n; i++) {
        const mh_ocl_device_info *d = &list[i];
        char ver[32];
        snprintf(ver, sizeof ver, "%d.%d", d->cl_major, d->cl_minor);
        json_t *o = json_pack(
            "{s:I, s:s, s:I, s:s, s:s, s:{s:s, s:s, s:s}, s:I, s:I, s:I, s:I, s:I, s:s, s:s, "
            "s:s, s:s}",
            "index", (json_int_t)i, "type", mh_ocl_type_name(d->type), "type_index",
            (json_int_t)mh_ocl_type_index(list, n, i), "name", d->name, "vendor", d->vendor,
            "platform", "name", d->platform_name, "vendor", d->platform_vendor, "version",
            d->platform_version, "compute_units", (json_int_t)d->compute_units,
            "global_mem_bytes", (json_int_t)d->global_mem, "local_mem_bytes",
            (json_int_t)d->local_mem, "max_alloc_bytes", (json_int_t)d->max_alloc,
            "max_work_group_size", (json_int_t)d->max_work_group, "version", d->version,
            "opencl_c_version", d->c_version, "driver_version", d->driver_version,
            "opencl_version", ver);
        if (!o)
            goto nomem;
        json_array_append_new(arr, o);
    }
    json_object_set_new(root, "selected", selected >= 0 ? json_integer(selected) : json_null());
    char *text = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    if (!text)
        return mh_cli_fail(MH_NOMEM, "devices: out of memory");
    printf("%s\n", text);
    free(text);
    return 0;
nomem:
    json_decref(root);
    return mh_cli_fail(MH_NOMEM, "devices: out of memory");
}

static int mh__compile(const mh_ocl_device_info *d, size_t idx, const char *kernel,
                       const char *options, const char *out)
{
    const char *src = mh_ocl_kernel_source(kernel);
    char err[4096];
    mh_ocl_device *dev = NULL;
    cl_program prog = NULL;
    mh_status st = mh_ocl_device_open(d, &dev, err, sizeof err);
    if (st != MH_OK)
        return mh_cli_fail(st, err);
    mh_ocl_build_opts o = {.name = kernel, .source = src, .options = options, .no_cache = true};
    st = mh_ocl_program_build(dev, &o, &prog, NULL, err, sizeof err);
    if (st == MH_OK)
        st = mh_ocl_program_save(prog, dev, out, err, sizeof err);
    if (prog)
        clReleaseProgram(prog);
    mh_ocl_device_free(dev);
    if (st != MH_OK)
        return mh_cli_fail(st, err);
    printf("compiled %s for [%zu] %s / %s (driver %s) into %s\n", kernel, idx, d->platform_name,
           d->name, d->driver_version, out);
    return 0;
}

int mh_cmd_devices(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},       {"device", required_argument, NULL, 'd'},
        {"compile", required_argument, NULL, 'c'}, {"kernel", required_argument, NULL, 'k'},
        {"options", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    bool json = false;
    const char *device = NULL, *compile = NULL, *kernel = NULL, *options = NULL;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j': json = true; break;
        case 'd': device = optarg; break;
        case 'c': compile = optarg; break;
        case 'k': kernel = optarg; break;
        case 'o': options = optarg; break;
        case 'h': mh__devices_help(stdout); return 0;
        case ':': return mh_cli_usage_error("devices", "%s needs a value", argv[optind - 1]);
        default: return mh_cli_usage_error("devices", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc)
        return mh_cli_usage_error("devices", "unexpected argument '%s'", argv[optind]);
    if (!compile && (kernel || options))
        return mh_cli_usage_error("devices", "--kernel and --options go with --compile");
    if (compile && json)
        return mh_cli_usage_error("devices", "--json lists devices; it does not go with --compile");
    if (!kernel)
        kernel = "selftest";
    if (compile && !mh_ocl_kernel_source(kernel))
        return mh_cli_usage_error("devices", "--kernel: no embedded kernel source '%s'", kernel);

    if (mh_ocl_fault_env_error())
        return mh_cli_fail(MH_CONFIG, mh_ocl_fault_env_error());
    char err[4096];
    mh_ocl_selector sel;
    mh_ocl_selector_init(&sel);
    bool select = compile != NULL;
    if (device) {
        if (mh_ocl_selector_parse(device, &sel, err, sizeof err) != MH_OK)
            return mh_cli_usage_error("devices", "--device: %s", err);
        select = true;
    } else {
        bool env = false;
        mh_status st = mh_ocl_selector_apply_env(&sel, &env, err, sizeof err);
        if (st != MH_OK)
            return mh_cli_fail(st, err);
        select = select || env;
    }

    mh_ocl_device_info *list = NULL;
    size_t n = 0, idx = 0;
    mh_status st = mh_ocl_list(&list, &n, err, sizeof err);
    if (st != MH_OK)
        return mh_cli_fail(st, err);
    int rc;
    if (select && (st = mh_ocl_select(&sel, list, n, &idx, err, sizeof err)) != MH_OK)
        rc = mh_cli_fail(st, err);
    else if (compile)
        rc = mh__compile(&list[idx], idx, kernel, options, compile);
    else if (json)
        rc = mh__print_json(list, n, select ? (long)idx : -1);
    else {
        mh__print_text(list, n, select ? (long)idx : -1);
        rc = 0;
    }
    mh_ocl_list_free(list);
    return rc;
}
