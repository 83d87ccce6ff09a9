/* status.c - message table for mh_status, generated from MH_STATUS_MAP. */
#include "core/mh_status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const mh__status_msg[] = {
#define MH__STATUS_MSG(name, msg) msg,
    MH_STATUS_MAP(MH__STATUS_MSG)
#undef MH__STATUS_MSG
};

static const char *const mh__status_names[] = {
#define MH__STATUS_NAME(name, msg) #name,
    MH_STATUS_MAP(MH__STATUS_NAME)
#undef MH__STATUS_NAME
};

const char *mh_strerror(mh_status st)
{
    if ((int)st < 0 || st >= MH__STATUS_COUNT)
        return "unknown status";
    return mh__status_msg[st];
}

const char *mh_status_name(mh_status st)
{
    if ((int)st < 0 || st >= MH__STATUS_COUNT)
        return "UNKNOWN";
    return mh__status_names[st];
}

mh_status mh_fail(char *err, size_t errlen, mh_status st, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

mh_status mh_fail_prefix(char *err, size_t errlen, mh_status st, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return st;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t plen = strlen(prefix);
    size_t elen = strnlen(err, errlen - 1);
    if (plen >= errlen - 1) {
        memcpy(err, prefix, errlen - 1);
        err[errlen - 1] = '\0';
        return st;
    }
    if (plen + elen > errlen - 1)
        elen = errlen - 1 - plen;
    memmove(err + plen, err, elen);
    memcpy(err, prefix, plen);
    err[plen + elen] = '\0';
    return st;
}
