/* report_io.c - atomic JSON file writing and small numeric helpers shared by
 * the timing report and compare. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "timing/timing_internal.h"

mh_status mh__json_write_atomic(json_t *root, const char *path, char *err, size_t errlen)
{
    mh_status st = MH_OK;
    size_t n = strlen(path);
    char *tmp = malloc(n + sizeof ".tmp.XXXXXX");
    if (!tmp)
        return mh_fail(err, errlen, MH_NOMEM, "%s: out of memory", path);
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        st = mh_fail(err, errlen, MH_IO, "%s: cannot create a temporary file: %s", path,
                     strerror(errno));
        goto out_free;
    }
    /* mkstemp makes 0600; a report is an ordinary file. */
    if (fchmod(fd, 0644) != 0) {
        st = mh_fail(err, errlen, MH_IO, "%s: %s", tmp, strerror(errno));
        goto out_close;
    }
    if (json_dumpfd(root, fd, JSON_INDENT(2) | JSON_REAL_PRECISION(12)) != 0) {
        st = mh_fail(err, errlen, MH_IO, "%s: cannot write the report: %s", tmp,
                     errno ? strerror(errno) : "encoding error");
        goto out_close;
    }
    if (write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
        st = mh_fail(err, errlen, MH_IO, "%s: cannot write the report: %s", tmp, strerror(errno));
        goto out_close;
    }
    if (close(fd) != 0) {
        fd = -1;
        st = mh_fail(err, errlen, MH_IO, "%s: %s", tmp, strerror(errno));
        goto out_unlink;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        st = mh_fail(err, errlen, MH_IO, "%s: cannot rename the report into place: %s", path,
                     strerror(errno));
        goto out_unlink;
    }
    goto out_free;
out_close:
    close(fd);
out_unlink:
    unlink(tmp);
out_free:
    free(tmp);
    return st;
}

double mh__pct_change(double base, double new_value)
{
    if (!isfinite(base) || !isfinite(new_value) || base == 0)
        return NAN;
    return (new_value - base) / base * 100.0;
}
