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
    /* The temporary file is renamed over path: a device, FIFO or directory there
     * (`--report /dev/full`, `/dev/stdout`) would be replaced by a regular file. */
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        st = mh_fail(err, errlen, MH_INVALID,
                     "%s: exists and is not a regular file (the report would replace it)", path);
        goto out_free;
    }
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
    /* Encoded first, then written here: json_dumpfd reports a short write (disk full,
     * file size limit) as a failure with a stale errno. */
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
    if (!text) {
        st = mh_fail(err, errlen, MH_NOMEM, "%s: cannot encode the report", path);
        goto out_close;
    }
    size_t len = strlen(text), done = 0;
    text[len] = '\n'; /* json_dumps's terminator becomes the final newline */
    while (done < len + 1) {
        errno = 0;
        ssize_t k = write(fd, text + done, len + 1 - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        done += (size_t)k;
    }
    int werr = done < len + 1 ? (errno ? errno : EIO) : 0;
    free(text);
    if (werr) {
        st = mh_fail(err, errlen, MH_IO, "%s: cannot write the report at byte %zu: %s", tmp, done,
                     strerror(werr));
        goto out_close;
    }
    if (fsync(fd) != 0) {
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
