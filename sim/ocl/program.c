/* program.c - programs from embedded sources with an on-disk binary cache,
 * or from prebuilt binaries (the FPGA flow). */
#include "ocl/mh_ocl.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mh_hash.h"
#include "ocl/mh_ocl_internal.h"

/* A cache entry: a 32-byte header, then the program binary as the driver
 * returned it. All integers little-endian.
 *   0  8  magic "MHOCLBN1"
 *   8  8  cache key (mh_ocl_cache_key)
 *  16  8  payload length in bytes
 *  24  8  FNV-1a 64 of the payload
 */
#define MH__CACHE_MAGIC "MHOCLBN1"
#define MH__CACHE_HDR 32
/* Program binaries of FPGA flows are large (an .xclbin is tens of MB);
 * anything above this is not a program binary. */
#define MH__MAX_BINARY ((size_t)1 << 30)
#define MH__MAX_LOG 1500

static void mh__put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t mh__get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* ------------------------------------------------------------ files */

/* Reads a whole file of at most `cap` bytes. Caller owns *buf. A missing
 * file is MH_NOTFOUND, other failures MH_IO; err names the path. */
static mh_status mh__read_file(const char *path, size_t cap, unsigned char **buf, size_t *len,
                               char *err, size_t errlen)
{
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mh_fail(err, errlen, errno == ENOENT ? MH_NOTFOUND : MH_IO, "%s: %s", path,
                       strerror(errno));
    mh_status st = MH_OK;
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = mh_fail(err, errlen, MH_IO, "%s: %s", path, strerror(errno));
        goto out_close;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = mh_fail(err, errlen, MH_IO, "%s: not a regular file", path);
        goto out_close;
    }
    if (sb.st_size < 0 || (uint64_t)sb.st_size > cap) {
        st = mh_fail(err, errlen, MH_FORMAT, "%s: %lld bytes, more than the %zu allowed", path,
                     (long long)sb.st_size, cap);
        goto out_close;
    }
    size_t size = (size_t)sb.st_size;
    unsigned char *b = malloc(size ? size : 1);
    if (!b) {
        st = mh_fail(err, errlen, MH_NOMEM, "%s: out of memory", path);
        goto out_close;
    }
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, b + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            st = mh_fail(err, errlen, MH_IO, "%s: %s", path,
                         r < 0 ? strerror(errno) : "file shrank while reading");
            free(b);
            goto out_close;
        }
        got += (size_t)r;
    }
    *buf = b;
    *len = size;
out_close:
    close(fd);
    return st;
}

static mh_status mh__write_all(int fd, const void *p, size_t n, const char *path, char *err,
                               size_t errlen)
{
    const unsigned char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return mh_fail(err, errlen, MH_IO, "%s: %s", path, strerror(errno));
        c += w;
        n -= (size_t)w;
    }
    return MH_OK;
}

/* Writes head (may be NULL) then body into path through a temporary file in
 * the same directory and a rename, so readers never see a partial file. */
static mh_status mh__write_atomic(const char *path, const void *head, size_t headlen,
                                  const void *body, size_t bodylen, char *err, size_t errlen)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
        return mh_fail(err, errlen, MH_INVALID, "%s: path too long", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0)
        return mh_fail(err, errlen, MH_IO, "%s: %s", tmp, strerror(errno));
    mh_status st = MH_OK;
    if (head)
        st = mh__write_all(fd, head, headlen, tmp, err, errlen);
    if (st == MH_OK)
        st = mh__write_all(fd, body, bodylen, tmp, err, errlen);
    if (st == MH_OK && fchmod(fd, 0644) != 0) /* mkostemp gives 0600 */
        st = mh_fail(err, errlen, MH_IO, "%s: %s", tmp, strerror(errno));
    if (st == MH_OK && fsync(fd) != 0)
        st = mh_fail(err, errlen, MH_IO, "%s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && st == MH_OK)
        st = mh_fail(err, errlen, MH_IO, "%s: %s", tmp, strerror(errno));
    if (st == MH_OK && rename(tmp, path) != 0)
        st = mh_fail(err, errlen, MH_IO, "%s: %s", path, strerror(errno));
    if (st != MH_OK)
        unlink(tmp);
    return st;
}

/* mkdir -p with 0700 for new components. */
static mh_status mh__mkdirs(const char *dir, char *err, size_t errlen)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
        return mh_fail(err, errlen, MH_INVALID, "%s: path too long", dir);
    for (char *p = buf + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;
            *p = '\0';
            if (mkdir(buf, 0700) != 0 && errno != EEXIST)
                return mh_fail(err, errlen, MH_IO, "%s: %s", buf, strerror(errno));
            *p = c;
            if (!c)
                break;
        }
    }
    return MH_OK;
}

/* ------------------------------------------------------------ cache */

mh_status mh_ocl_cache_dir(char *buf, size_t len, char *err, size_t errlen)
{
    const char *v = getenv("MINIHLT_CACHE");
    int n;
    if (v && *v)
        n = snprintf(buf, len, "%s", v);
    else if ((v = getenv("XDG_CACHE_HOME")) && *v)
        n = snprintf(buf, len, "%s/minihlt", v);
    else if ((v = getenv("HOME")) && *v)
        n = snprintf(buf, len, "%s/.cache/minihlt", v);
    else
        return mh_fail(err, errlen, MH_CONFIG,
                       "no cache directory: set MINIHLT_CACHE, XDG_CACHE_HOME or HOME");
    if (n < 0 || (size_t)n >= len)
        return mh_fail(err, errlen, MH_CONFIG, "cache directory path too long");
    return MH_OK;
}

uint64_t mh_ocl_cache_key(const mh_ocl_device_info *info, const char *options,
                          const char *source)
{
    uint64_t h = mh_fnv1a64_str(MH_FNV1A64_INIT, MH__CACHE_MAGIC);
    h = mh_fnv1a64_str(h, info->name);
    h = mh_fnv1a64_str(h, info->driver_version);
    h = mh_fnv1a64_str(h, info->platform_version);
    h = mh_fnv1a64_str(h, info->version);
    h = mh_fnv1a64_str(h, options);
    uint64_t src = mh_fnv1a64_str(MH_FNV1A64_INIT, source);
    return mh_fnv1a64(h, &src, sizeof src);
}

/* Checks a cache entry; on success points *payload into buf. */
static bool mh__entry_valid(const unsigned char *buf, size_t len, uint64_t key,
                            const unsigned char **payload, size_t *plen, char *why, size_t wlen)
{
    if (len < MH__CACHE_HDR) {
        snprintf(why, wlen, "truncated header (%zu bytes)", len);
        return false;
    }
    if (memcmp(buf, MH__CACHE_MAGIC, 8) != 0) {
        snprintf(why, wlen, "bad magic");
        return false;
    }
    if (mh__get64(buf + 8) != key) {
        snprintf(why, wlen, "key mismatch");
        return false;
    }
    uint64_t n = mh__get64(buf + 16);
    if (n != len - MH__CACHE_HDR) {
        snprintf(why, wlen, "payload length %llu but %zu bytes present", (unsigned long long)n,
                 len - MH__CACHE_HDR);
        return false;
    }
    if (mh_fnv1a64(MH_FNV1A64_INIT, buf + MH__CACHE_HDR, (size_t)n) != mh__get64(buf + 24)) {
        snprintf(why, wlen, "payload hash mismatch");
        return false;
    }
    *payload = buf + MH__CACHE_HDR;
    *plen = (size_t)n;
    return true;
}

/* ------------------------------------------------------------ building */

/* Copies the build log into out as one line: lines joined with " | ",
 * blank lines dropped, at most MH__MAX_LOG bytes. */
static void mh__build_log(cl_program prog, cl_device_id dev, char *out, size_t outlen)
{
    out[0] = '\0';
    size_t need = 0;
    if (clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &need) != CL_SUCCESS ||
        need == 0)
        return;
    char *log = malloc(need + 1);
    if (!log)
        return;
    if (clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, need, log, NULL) != CL_SUCCESS) {
        free(log);
        return;
    }
    log[need] = '\0';
    size_t o = 0, cap = outlen < MH__MAX_LOG + 1 ? outlen : MH__MAX_LOG + 1;
    const char *p = log;
    bool truncated = false;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        size_t s = 0;
        while (s < n && (p[s] == ' ' || p[s] == '\t' || p[s] == '\r'))
            s++;
        size_t e = n;
        while (e > s && (p[e - 1] == ' ' || p[e - 1] == '\t' || p[e - 1] == '\r'))
            e--;
        if (e > s) {
            const char *sep = o ? " | " : "";
            int w = snprintf(out + o, cap - o, "%s%.*s", sep, (int)(e - s), p + s);
            if (w < 0 || (size_t)w >= cap - o) {
                o = cap - 1;
                truncated = true;
                break;
            }
            o += (size_t)w;
        }
        if (!nl)
            break;
        p = nl + 1;
    }
    if (truncated && cap > 4)
        memcpy(out + cap - 4, "...", 4);
    free(log);
}

static mh_status mh__build(cl_program prog, cl_device_id dev, const char *options, char *err,
                           size_t errlen)
{
    cl_int rc = mh_ocl_fault("clBuildProgram");
    if (rc == CL_SUCCESS)
        rc = clBuildProgram(prog, 1, &dev, options ? options : "", NULL, NULL);
    if (rc == CL_SUCCESS)
        return MH_OK;
    char log[MH__MAX_LOG + 1];
    mh__build_log(prog, dev, log, sizeof log);
    if (log[0])
        return mh_ocl_failf(err, errlen, "clBuildProgram", rc, "%s", log);
    if (rc == CL_INVALID_BUILD_OPTIONS || rc == CL_INVALID_COMPILER_OPTIONS)
        return mh_ocl_failf(err, errlen, "clBuildProgram", rc, "options '%s'",
                            options ? options : "");
    return mh_ocl_fail(err, errlen, "clBuildProgram", rc);
}

static mh_status mh__from_binary(mh_ocl_device *dev, const unsigned char *bin, size_t len,
                                 const char *options, cl_program *prog, char *err,
                                 size_t errlen)
{
    cl_device_id id = mh_ocl_device_id(dev);
    cl_int bstatus = CL_SUCCESS;
    cl_int rc = mh_ocl_fault("clCreateProgramWithBinary");
    cl_program p = NULL;
    if (rc == CL_SUCCESS)
        p = clCreateProgramWithBinary(mh_ocl_device_context(dev), 1, &id, &len, &bin, &bstatus,
                                      &rc);
    if (rc == CL_SUCCESS && bstatus != CL_SUCCESS)
        rc = bstatus;
    if (rc != CL_SUCCESS) {
        if (p)
            clReleaseProgram(p);
        return mh_ocl_fail(err, errlen, "clCreateProgramWithBinary", rc);
    }
    mh_status st = mh__build(p, id, options, err, errlen);
    if (st != MH_OK) {
        clReleaseProgram(p);
        return st;
    }
    *prog = p;
    return MH_OK;
}

static mh_status mh__from_source(mh_ocl_device *dev, const char *source, const char *options,
                                 cl_program *prog, char *err, size_t errlen)
{
    cl_int rc = mh_ocl_fault("clCreateProgramWithSource");
    cl_program p = NULL;
    if (rc == CL_SUCCESS)
        p = clCreateProgramWithSource(mh_ocl_device_context(dev), 1, &source, NULL, &rc);
    if (rc != CL_SUCCESS)
        return mh_ocl_fail(err, errlen, "clCreateProgramWithSource", rc);
    mh_status st = mh__build(p, mh_ocl_device_id(dev), options, err, errlen);
    if (st != MH_OK) {
        clReleaseProgram(p);
        return st;
    }
    *prog = p;
    return MH_OK;
}

mh_status mh_ocl_program_binary(cl_program prog, const mh_ocl_device *dev, unsigned char **bin,
                                size_t *len, char *err, size_t errlen)
{
    *bin = NULL;
    *len = 0;
    cl_uint ndev = 0;
    cl_int rc = mh_ocl_fault("clGetProgramInfo");
    if (rc == CL_SUCCESS)
        rc = clGetProgramInfo(prog, CL_PROGRAM_NUM_DEVICES, sizeof ndev, &ndev, NULL);
    if (rc != CL_SUCCESS)
        return mh_ocl_failf(err, errlen, "clGetProgramInfo", rc, "CL_PROGRAM_NUM_DEVICES");
    if (ndev == 0 || ndev > 256)
        return mh_fail(err, errlen, MH_DEVICE, "program has %u devices", ndev);
    cl_device_id devs[256];
    size_t sizes[256];
    unsigned char *ptrs[256] = {0};
    rc = clGetProgramInfo(prog, CL_PROGRAM_DEVICES, ndev * sizeof devs[0], devs, NULL);
    if (rc == CL_SUCCESS)
        rc = clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, ndev * sizeof sizes[0], sizes, NULL);
    if (rc != CL_SUCCESS)
        return mh_ocl_failf(err, errlen, "clGetProgramInfo", rc, "CL_PROGRAM_BINARY_SIZES");
    cl_uint which = ndev;
    for (cl_uint i = 0; i < ndev; i++)
        if (devs[i] == mh_ocl_device_id(dev))
            which = i;
    if (which == ndev)
        return mh_fail(err, errlen, MH_DEVICE, "program was not built for device %s",
                       mh_ocl_device_get_info(dev)->name);
    if (sizes[which] == 0 || sizes[which] > MH__MAX_BINARY)
        return mh_fail(err, errlen, MH_DEVICE, "program binary size %zu for device %s",
                       sizes[which], mh_ocl_device_get_info(dev)->name);
    unsigned char *b = malloc(sizes[which]);
    if (!b)
        return mh_fail(err, errlen, MH_NOMEM, "program binary: out of memory");
    ptrs[which] = b; /* NULL entries: the driver skips those devices */
    rc = clGetProgramInfo(prog, CL_PROGRAM_BINARIES, ndev * sizeof ptrs[0], ptrs, NULL);
    if (rc != CL_SUCCESS) {
        free(b);
        return mh_ocl_failf(err, errlen, "clGetProgramInfo", rc, "CL_PROGRAM_BINARIES");
    }
    *bin = b;
    *len = sizes[which];
    return MH_OK;
}

mh_status mh_ocl_program_save(cl_program prog, const mh_ocl_device *dev, const char *path,
                              char *err, size_t errlen)
{
    unsigned char *bin;
    size_t len;
    mh_status st = mh_ocl_program_binary(prog, dev, &bin, &len, err, errlen);
    if (st != MH_OK)
        return st;
    st = mh__write_atomic(path, NULL, 0, bin, len, err, errlen);
    free(bin);
    return st;
}

/* Appends a sentence to info->note (truncated if needed). */
static void mh__note(mh_ocl_build_info *info, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void mh__note(mh_ocl_build_info *info, const char *fmt, ...)
{
    size_t used = strnlen(info->note, sizeof info->note - 1);
    if (used && used + 2 < sizeof info->note) {
        memcpy(info->note + used, "; ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(info->note + used, sizeof info->note - used, fmt, ap);
    va_end(ap);
}

/* Stores a freshly built program in the cache; failures go to info->note. */
static void mh__cache_store(cl_program prog, mh_ocl_device *dev, const char *dir,
                            mh_ocl_build_info *info)
{
    char why[1024];
    unsigned char *bin = NULL;
    size_t len = 0;
    unsigned char hdr[MH__CACHE_HDR];
    mh_status st = mh__mkdirs(dir, why, sizeof why);
    if (st == MH_OK)
        st = mh_ocl_program_binary(prog, dev, &bin, &len, why, sizeof why);
    if (st == MH_OK) {
        memcpy(hdr, MH__CACHE_MAGIC, 8);
        mh__put64(hdr + 8, info->key);
        mh__put64(hdr + 16, len);
        mh__put64(hdr + 24, mh_fnv1a64(MH_FNV1A64_INIT, bin, len));
        st = mh__write_atomic(info->cache_path, hdr, sizeof hdr, bin, len, why, sizeof why);
    }
    free(bin);
    if (st == MH_OK) {
        info->cache_written = true;
        return;
    }
    mh__note(info, "cache entry not written: %s", why);
}

mh_status mh_ocl_program_build(mh_ocl_device *dev, const mh_ocl_build_opts *opts,
                               cl_program *prog, mh_ocl_build_info *info, char *err,
                               size_t errlen)
{
    mh_ocl_build_info local;
    if (!info)
        info = &local;
    memset(info, 0, sizeof *info);
    *prog = NULL;
    const char *name = opts->name && *opts->name ? opts->name : "program";
    mh_status st;

    if (opts->binary_path) {
        /* The FPGA flow: the file is the vendor's program binary, loaded as is. */
        unsigned char *bin;
        size_t len;
        info->origin = MH_OCL_FROM_BINARY;
        st = mh__read_file(opts->binary_path, MH__MAX_BINARY, &bin, &len, err, errlen);
        if (st != MH_OK)
            return st == MH_NOTFOUND ? MH_IO : st;
        if (len == 0) {
            free(bin);
            return mh_fail(err, errlen, MH_FORMAT, "%s: empty program binary", opts->binary_path);
        }
        char why[512];
        if (mh__ocl_binary_check(bin, len, why, sizeof why) != MH_OK) {
            free(bin);
            return mh_fail(err, errlen, MH_CORRUPT, "%s: %s", opts->binary_path, why);
        }
        st = mh__from_binary(dev, bin, len, opts->options, prog, err, errlen);
        free(bin);
        if (st != MH_OK)
            return mh_fail_prefix(err, errlen, st, "%s: ", opts->binary_path);
        return MH_OK;
    }

    if (!opts->source)
        return mh_fail(err, errlen, MH_INVALID, "program %s: no source and no binary", name);
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-'))
            return mh_fail(err, errlen, MH_INVALID, "program name '%s': use [A-Za-z0-9_-]",
                           name);

    char dir[4096] = "";
    bool use_cache = !opts->no_cache;
    if (use_cache) {
        char base[3900], why[256];
        if (opts->cache_dir) {
            if (snprintf(base, sizeof base, "%s", opts->cache_dir) >= (int)sizeof base) {
                mh__note(info, "cache off: cache directory path too long");
                use_cache = false;
            }
        } else if (mh_ocl_cache_dir(base, sizeof base, why, sizeof why) != MH_OK) {
            mh__note(info, "cache off: %s", why);
            use_cache = false;
        }
        if (use_cache) {
            info->key = mh_ocl_cache_key(mh_ocl_device_get_info(dev), opts->options, opts->source);
            int n1 = snprintf(dir, sizeof dir, "%s/ocl", base);
            int n2 = snprintf(info->cache_path, sizeof info->cache_path, "%s/%s-%016llx.clbin",
                              dir, name, (unsigned long long)info->key);
            if (n1 < 0 || n1 >= (int)sizeof dir || n2 < 0 ||
                n2 >= (int)sizeof info->cache_path) {
                info->cache_path[0] = '\0';
                mh__note(info, "cache off: cache path too long");
                use_cache = false;
            }
        }
    }

    if (use_cache) {
        unsigned char *buf;
        size_t len;
        char why[1024];
        st = mh__read_file(info->cache_path, MH__MAX_BINARY + MH__CACHE_HDR, &buf, &len, why,
                           sizeof why);
        if (st == MH_OK) {
            const unsigned char *payload;
            size_t plen;
            char reason[256];
            if (!mh__entry_valid(buf, len, info->key, &payload, &plen, reason, sizeof reason)) {
                mh__note(info, "cache entry %s is corrupt (%s); rebuilt from source",
                         info->cache_path, reason);
                info->origin = MH_OCL_FROM_REBUILD;
            } else if (mh__from_binary(dev, payload, plen, opts->options, prog, why,
                                       sizeof why) == MH_OK) {
                free(buf);
                info->origin = MH_OCL_FROM_CACHE;
                return MH_OK;
            } else {
                mh__note(info, "cache entry %s rejected by the driver (%s); rebuilt from source",
                         info->cache_path, why);
                info->origin = MH_OCL_FROM_REBUILD;
            }
            free(buf);
        } else if (st != MH_NOTFOUND) {
            mh__note(info, "cache entry unreadable (%s); rebuilt from source", why);
            info->origin = MH_OCL_FROM_REBUILD;
        }
    }

    st = mh__from_source(dev, opts->source, opts->options, prog, err, errlen);
    if (st != MH_OK)
        return mh_fail_prefix(err, errlen, st, "program %s: ", name);
    if (use_cache)
        mh__cache_store(*prog, dev, dir, info);
    return MH_OK;
}

mh_status mh_ocl_kernel_create(cl_program prog, const char *name, cl_kernel *kernel, char *err,
                               size_t errlen)
{
    *kernel = NULL;
    cl_int rc = mh_ocl_fault("clCreateKernel");
    cl_kernel k = NULL;
    if (rc == CL_SUCCESS)
        k = clCreateKernel(prog, name, &rc);
    if (rc != CL_SUCCESS)
        return mh_ocl_failf(err, errlen, "clCreateKernel", rc, "kernel '%s'", name);
    *kernel = k;
    return MH_OK;
}
