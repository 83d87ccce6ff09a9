/* mh_status.h - the one error convention of minihlt.
 *
 * Every library function that can fail returns an mh_status. The status says
 * what kind of failure happened; the details (file, cluster, byte offset,
 * module label, parameter key, ...) go into a caller-provided buffer, by
 * convention the last two parameters `char *err, size_t errlen`. A NULL err
 * buffer is allowed and means "caller does not want details".
 *
 * Library code never prints and never calls exit(): the CLI turns a status
 * and its detail into one line on stderr and an exit code.
 */
#ifndef MH_STATUS_H
#define MH_STATUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X-macro: name, message. Append only: numeric values are stable. */
#define MH_STATUS_MAP(X)                                              \
    X(OK, "success")                                                  \
    X(END, "end of data")                                             \
    X(NOMEM, "out of memory")                                         \
    X(IO, "input/output error")                                       \
    X(FORMAT, "not a valid file of the expected format")              \
    X(VERSION, "unsupported format version")                          \
    X(TRUNCATED, "truncated data")                                    \
    X(CORRUPT, "corrupt data")                                        \
    X(CHECKSUM, "checksum mismatch")                                  \
    X(INVALID, "invalid argument")                                    \
    X(CONFIG, "configuration error")                                  \
    X(PARAM, "bad module parameter")                                  \
    X(PLUGIN, "plugin error")                                         \
    X(ABI, "plugin ABI mismatch")                                     \
    X(NOTFOUND, "not found")                                          \
    X(CYCLE, "dependency cycle")                                      \
    X(MODULE, "module failed")                                        \
    X(DEVICE, "device error")                                         \
    X(NET, "network error")                                           \
    X(TIMEOUT, "timed out")                                           \
    X(OVERLOAD, "overloaded")                                         \
    X(UNSUPPORTED, "not supported")                                   \
    X(INTERNAL, "internal error")

typedef enum mh_status {
#define MH__STATUS_ENUM(name, msg) MH_##name,
    MH_STATUS_MAP(MH__STATUS_ENUM)
#undef MH__STATUS_ENUM
    MH__STATUS_COUNT
} mh_status;

/* Returns a static, human-readable message for a status ("checksum
 * mismatch"). Never NULL; unknown values give "unknown status". */
const char *mh_strerror(mh_status st);

/* Returns the symbolic name of a status without prefix ("CHECKSUM"). */
const char *mh_status_name(mh_status st);

/* Writes a printf-style detail message into err (if err != NULL and
 * errlen > 0), always NUL-terminated, truncated if needed. Returns st so
 * that callers can write `return mh_fail(err, errlen, MH_IO, "...", ...)`. */
mh_status mh_fail(char *err, size_t errlen, mh_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Prefixes an existing detail message in err with more context, e.g. the
 * module label: "hbheReco: " + previous. Returns st. */
mh_status mh_fail_prefix(char *err, size_t errlen, mh_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#ifdef __cplusplus
}
#endif
#endif
