/* conditions.c - per-channel HBHE conditions: text format, loader, writer.
 *
 * The loader trusts nothing: every line is length-capped, every field must
 * parse completely, every cell must exist, every channel must appear
 * exactly once and every value must be in a sane range. Errors name the
 * file and line ("conds.txt:17: ...").
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hcal/mh_hcal.h"

#define MH__COND_LINE_MAX 256
#define MH__COND_FILE_MAX (16u << 20)
#define MH__COND_NFIELDS 7

/* Sane ranges (lo exclusive, hi inclusive) of each value column. */
static const struct {
    const char *name;
    double lo, hi;
} mh__cols[4] = {
    {"pedestal_fC", 0.0, 1000.0},
    {"pedestal_width_fC", 0.0, 100.0},
    {"gain_GeV_per_fC", 0.0, 0.1},
    {"fC_per_pe", 0.0, 10000.0},
};

static int mh__tag_ok(const char *tag)
{
    size_t n = strlen(tag);
    if (n == 0 || n >= MH_HCAL_COND_TAG_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)tag[i];
        if (ch <= ' ' || ch >= 127)
            return 0;
    }
    return 1;
}

mh_hcal_conditions *mh_hcal_conditions_create(const char *tag)
{
    if (!tag || !mh__tag_ok(tag))
        return NULL;
    mh_hcal_conditions *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->n = MH_HCAL_NCHANNELS;
    c->pedestal = calloc(c->n, sizeof(float));
    c->ped_width = calloc(c->n, sizeof(float));
    c->gain = calloc(c->n, sizeof(float));
    c->fc_per_pe = calloc(c->n, sizeof(float));
    if (!c->pedestal || !c->ped_width || !c->gain || !c->fc_per_pe) {
        mh_hcal_conditions_free(c);
        return NULL;
    }
    snprintf(c->tag, sizeof c->tag, "%s", tag);
    return c;
}

void mh_hcal_conditions_free(mh_hcal_conditions *c)
{
    if (!c)
        return;
    free(c->pedestal);
    free(c->ped_width);
    free(c->gain);
    free(c->fc_per_pe);
    free(c);
}

static float *mh__col(const mh_hcal_conditions *c, int k)
{
    switch (k) {
    case 0: return c->pedestal;
    case 1: return c->ped_width;
    case 2: return c->gain;
    default: return c->fc_per_pe;
    }
}

static int mh__value_ok(int k, double v)
{
    return isfinite(v) && v > mh__cols[k].lo && v <= mh__cols[k].hi;
}

mh_status mh_hcal_conditions_check(const mh_hcal_conditions *c, char *err, size_t errlen)
{
    if (!c || c->n != MH_HCAL_NCHANNELS)
        return mh_fail(err, errlen, MH_INVALID, "conditions: %u channels, the geometry has %u",
                       c ? c->n : 0u, MH_HCAL_NCHANNELS);
    for (uint32_t ch = 0; ch < c->n; ch++)
        for (int k = 0; k < 4; k++) {
            double v = mh__col(c, k)[ch];
            if (!mh__value_ok(k, v)) {
                const mh_hcal_cell *cl = mh_hcal_cell_at(ch);
                return mh_fail(err, errlen, MH_INVALID,
                               "conditions %s: channel (%d,%u,%u): %s %g outside (%g, %g]",
                               c->tag, cl->ieta, cl->iphi, cl->depth, mh__cols[k].name, v,
                               mh__cols[k].lo, mh__cols[k].hi);
            }
        }
    return MH_OK;
}

/* Splits line (NUL-terminated, modified) at whitespace into at most max
 * fields; returns the number found (max + 1 if there are more). */
static int mh__split(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r')
            p++;
        if (!*p)
            return n;
        if (n == max)
            return max + 1;
        f[n++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r')
            p++;
        if (*p)
            *p++ = '\0';
    }
}

static int mh__parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end)
        return 0;
    *out = v;
    return 1;
}

mh_status mh_hcal_conditions_parse(const char *text, size_t len, const char *name,
                                   mh_hcal_conditions **out, char *err, size_t errlen)
{
    mh_status st = MH_OK;
    mh_hcal_conditions *c = NULL;
    uint32_t *seen = NULL; /* line number where each channel was given, 0 = not yet */
    char line[MH__COND_LINE_MAX];
    char tag[MH_HCAL_COND_TAG_MAX] = "";
    int have_format = 0, have_channels = 0;
    uint32_t nrows = 0;
    size_t pos = 0;
    unsigned long lineno = 0;

    *out = NULL;
    if (!name)
        name = "conditions";
    seen = calloc(MH_HCAL_NCHANNELS, sizeof *seen);
    if (!seen)
        return mh_fail(err, errlen, MH_NOMEM, "%s: out of memory", name);

    while (pos < len) {
        size_t start = pos;
        while (pos < len && text[pos] != '\n')
            pos++;
        size_t ll = pos - start;
        if (pos < len)
            pos++; /* the newline */
        lineno++;
        if (ll >= sizeof line) {
            st = mh_fail(err, errlen, MH_FORMAT, "%s:%lu: line longer than %d bytes", name,
                         lineno, MH__COND_LINE_MAX - 1);
            goto fail;
        }
        if (memchr(text + start, '\0', ll)) {
            st = mh_fail(err, errlen, MH_FORMAT, "%s:%lu: NUL byte in a text file", name,
                         lineno);
            goto fail;
        }
        memcpy(line, text + start, ll);
        line[ll] = '\0';
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *f[MH__COND_NFIELDS];
        int nf = mh__split(line, f, MH__COND_NFIELDS);
        if (nf == 0)
            continue;

        if (!have_format) {
            long ver;
            if (nf != 3 || strcmp(f[0], "format") || strcmp(f[1], MH_HCAL_COND_FORMAT) ||
                !mh__parse_long(f[2], &ver)) {
                st = mh_fail(err, errlen, MH_FORMAT,
                             "%s:%lu: expected 'format %s %d' as the first line", name, lineno,
                             MH_HCAL_COND_FORMAT, MH_HCAL_COND_VERSION);
                goto fail;
            }
            if (ver != MH_HCAL_COND_VERSION) {
                st = mh_fail(err, errlen, MH_VERSION,
                             "%s:%lu: conditions format version %ld, this build reads %d", name,
                             lineno, ver, MH_HCAL_COND_VERSION);
                goto fail;
            }
            have_format = 1;
            continue;
        }
        if (!strcmp(f[0], "tag")) {
            if (nf != 2 || !mh__tag_ok(f[1]) || tag[0]) {
                st = mh_fail(err, errlen, MH_FORMAT,
                             "%s:%lu: expected one 'tag NAME' line (NAME 1-%d printable "
                             "characters, no spaces)",
                             name, lineno, MH_HCAL_COND_TAG_MAX - 1);
                goto fail;
            }
            snprintf(tag, sizeof tag, "%s", f[1]);
            continue;
        }
        if (!strcmp(f[0], "channels")) {
            long nch;
            if (nf != 2 || !mh__parse_long(f[1], &nch) || have_channels) {
                st = mh_fail(err, errlen, MH_FORMAT, "%s:%lu: expected one 'channels N' line",
                             name, lineno);
                goto fail;
            }
            if (nch != (long)MH_HCAL_NCHANNELS) {
                st = mh_fail(err, errlen, MH_INVALID,
                             "%s:%lu: channels %ld, the HBHE geometry has %u", name, lineno, nch,
                             MH_HCAL_NCHANNELS);
                goto fail;
            }
            have_channels = 1;
            continue;
        }
        if (!tag[0] || !have_channels) {
            st = mh_fail(err, errlen, MH_FORMAT,
                         "%s:%lu: a channel row before the 'tag' and 'channels' lines", name,
                         lineno);
            goto fail;
        }
        if (!c) {
            c = mh_hcal_conditions_create(tag);
            if (!c) {
                st = mh_fail(err, errlen, MH_NOMEM, "%s: out of memory", name);
                goto fail;
            }
        }
        if (nf != MH__COND_NFIELDS) {
            st = mh_fail(err, errlen, MH_FORMAT,
                         "%s:%lu: expected 7 fields (ieta iphi depth pedestal_fC "
                         "pedestal_width_fC gain_GeV_per_fC fC_per_pe), got %s%d",
                         name, lineno, nf > MH__COND_NFIELDS ? "more than " : "",
                         nf > MH__COND_NFIELDS ? MH__COND_NFIELDS : nf);
            goto fail;
        }
        long id[3];
        static const char *const idname[3] = {"ieta", "iphi", "depth"};
        for (int k = 0; k < 3; k++)
            if (!mh__parse_long(f[k], &id[k]) || id[k] < -100 || id[k] > 100) {
                st = mh_fail(err, errlen, MH_FORMAT, "%s:%lu: %s '%s' is not a small integer",
                             name, lineno, idname[k], f[k]);
                goto fail;
            }
        int32_t ch = mh_hcal_channel_index((int)id[0], (int)id[1], (int)id[2]);
        if (ch < 0) {
            st = mh_fail(err, errlen, MH_INVALID,
                         "%s:%lu: no HBHE cell at ieta %ld iphi %ld depth %ld", name, lineno,
                         id[0], id[1], id[2]);
            goto fail;
        }
        if (seen[ch]) {
            st = mh_fail(err, errlen, MH_INVALID,
                         "%s:%lu: channel (%ld,%ld,%ld) given twice (first on line %u)", name,
                         lineno, id[0], id[1], id[2], seen[ch]);
            goto fail;
        }
        for (int k = 0; k < 4; k++) {
            char *end;
            errno = 0;
            double v = strtod(f[3 + k], &end);
            if (errno == ERANGE || end == f[3 + k] || *end) {
                st = mh_fail(err, errlen, MH_FORMAT, "%s:%lu: %s '%s' is not a number", name,
                             lineno, mh__cols[k].name, f[3 + k]);
                goto fail;
            }
            if (!mh__value_ok(k, v)) {
                st = mh_fail(err, errlen, MH_INVALID, "%s:%lu: %s %s outside (%g, %g]", name,
                             lineno, mh__cols[k].name, f[3 + k], mh__cols[k].lo,
                             mh__cols[k].hi);
                goto fail;
            }
            mh__col(c, k)[ch] = (float)v;
        }
        seen[ch] = lineno > UINT32_MAX ? UINT32_MAX : (uint32_t)lineno;
        nrows++;
    }
    if (!have_format) {
        st = mh_fail(err, errlen, MH_FORMAT, "%s: empty: no 'format %s %d' line", name,
                     MH_HCAL_COND_FORMAT, MH_HCAL_COND_VERSION);
        goto fail;
    }
    if (nrows != MH_HCAL_NCHANNELS) {
        uint32_t miss = 0;
        while (miss < MH_HCAL_NCHANNELS && seen[miss])
            miss++;
        const mh_hcal_cell *cl = mh_hcal_cell_at(miss);
        st = mh_fail(err, errlen, MH_INVALID,
                     "%s:%lu: %u of %u channels given; channel (%d,%u,%u) is missing", name,
                     lineno, nrows, MH_HCAL_NCHANNELS, cl ? cl->ieta : 0, cl ? cl->iphi : 0u,
                     cl ? cl->depth : 0u);
        goto fail;
    }
    free(seen);
    *out = c;
    return MH_OK;

fail:
    mh_hcal_conditions_free(c);
    free(seen);
    return st;
}

mh_status mh_hcal_conditions_load(const char *path, mh_hcal_conditions **out, char *err,
                                  size_t errlen)
{
    mh_status st;
    char *buf = NULL;
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mh_fail(err, errlen, MH_IO, "%s: %s", path, strerror(errno));
    buf = malloc(MH__COND_FILE_MAX + 1);
    if (!buf) {
        st = mh_fail(err, errlen, MH_NOMEM, "%s: out of memory", path);
        goto close_file;
    }
    size_t n = fread(buf, 1, MH__COND_FILE_MAX + 1, f);
    if (ferror(f)) {
        st = mh_fail(err, errlen, MH_IO, "%s: read error", path);
        goto free_buf;
    }
    if (n > MH__COND_FILE_MAX) {
        st = mh_fail(err, errlen, MH_FORMAT, "%s: larger than %u bytes: not a conditions file",
                     path, MH__COND_FILE_MAX);
        goto free_buf;
    }
    st = mh_hcal_conditions_parse(buf, n, path, out, err, errlen);
free_buf:
    free(buf);
close_file:
    fclose(f);
    return st;
}

/* A growing text buffer for the formatter. */
typedef struct mh__tbuf {
    char *p;
    size_t len, cap;
    int oom;
} mh__tbuf;

static void mh__tbuf_printf(mh__tbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void mh__tbuf_printf(mh__tbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = 1;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t ncap = b->cap * 2 + (size_t)n + 1;
        char *np = realloc(b->p, ncap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
}

mh_status mh_hcal_conditions_format(const mh_hcal_conditions *c, char **out, size_t *len,
                                    char *err, size_t errlen)
{
    *out = NULL;
    *len = 0;
    mh_status st = mh_hcal_conditions_check(c, err, errlen);
    if (st != MH_OK)
        return st;
    mh__tbuf b = {malloc(1 << 20), 0, 1 << 20, 0};
    if (!b.p)
        return mh_fail(err, errlen, MH_NOMEM, "conditions: out of memory");
    mh__tbuf_printf(&b,
                    "# %s - minihlt HBHE conditions (CMS Run 3 HB + HE, Phase-1 depths).\n"
                    "# Format documented in data/conditions/README.md. One row per channel:\n"
                    "# pedestal mean and width in fC (per time sample), gain in GeV per fC,\n"
                    "# SiPM fC per photo-electron.\n"
                    "format %s %d\n"
                    "tag %s\n"
                    "channels %u\n"
                    "# ieta iphi depth pedestal_fC pedestal_width_fC gain_GeV_per_fC "
                    "fC_per_pe\n",
                    c->tag, MH_HCAL_COND_FORMAT, MH_HCAL_COND_VERSION, c->tag, c->n);
    for (uint32_t ch = 0; ch < c->n; ch++) {
        const mh_hcal_cell *cl = mh_hcal_cell_at(ch);
        mh__tbuf_printf(&b, "%d %u %u %.3f %.3f %.4e %.3f\n", cl->ieta, cl->iphi, cl->depth,
                        (double)c->pedestal[ch], (double)c->ped_width[ch], (double)c->gain[ch],
                        (double)c->fc_per_pe[ch]);
    }
    if (b.oom) {
        free(b.p);
        return mh_fail(err, errlen, MH_NOMEM, "conditions: out of memory");
    }
    *out = b.p;
    *len = b.len;
    return MH_OK;
}

mh_status mh_hcal_conditions_write(const mh_hcal_conditions *c, const char *path, char *err,
                                   size_t errlen)
{
    char *text = NULL, tmp[4096];
    size_t len = 0;
    mh_status st = mh_hcal_conditions_format(c, &text, &len, err, errlen);
    if (st != MH_OK)
        return st;
    /* The temporary file is renamed over path: a device, FIFO or directory there
     * (`--conditions-out /dev/full`) would be replaced by a regular file. */
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        st = mh_fail(err, errlen, MH_INVALID,
                     "%s: exists and is not a regular file (writing would replace it)", path);
        goto free_text;
    }
    int n = snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        st = mh_fail(err, errlen, MH_INVALID, "%s: path too long", path);
        goto free_text;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        st = mh_fail(err, errlen, MH_IO, "%s: cannot create a temporary file: %s", path,
                     strerror(errno));
        goto free_text;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            st = mh_fail(err, errlen, MH_IO, "%s: write failed: %s", tmp, strerror(errno));
            goto remove_tmp;
        }
        off += (size_t)w;
    }
    if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
        st = mh_fail(err, errlen, MH_IO, "%s: %s", tmp, strerror(errno));
        goto remove_tmp;
    }
    if (close(fd) != 0) {
        fd = -1;
        st = mh_fail(err, errlen, MH_IO, "%s: %s", tmp, strerror(errno));
        goto remove_tmp;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        st = mh_fail(err, errlen, MH_IO, "%s: rename failed: %s", path, strerror(errno));
        goto remove_tmp;
    }
    free(text);
    return MH_OK;

remove_tmp:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
free_text:
    free(text);
    return st;
}
