/* kernels.c - the table of kernel programs embedded in the library. Each
 * sim/ocl/kernels/NAME.cl becomes mh_kernel_NAME at build time (Makefile,
 * scripts/embed_cl.sh); a program is one or more of these sources joined in
 * order. Add a row here when adding a .cl file.
 *
 * The MAHI program is the fit shared with the CPU (kernels/mahi_core.cl, a
 * symlink to sim/hcal/mahi_core.h) followed by the kernel (kernels/mahi.cl):
 * the fit is written once. Joined programs are assembled on first use. */
#include "ocl/mh_ocl.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

extern const char mh_kernel_facile[];
extern const char mh_kernel_mahi_core[];
extern const char mh_kernel_mahi[];

#define MH__MAXPARTS 3

static const struct {
    const char *name;
    const char *parts[MH__MAXPARTS]; /* NULL-terminated unless full */
} mh__programs[] = {
    {"selftest", {mh_kernel_selftest, NULL, NULL}},
    {"facile", {mh_kernel_facile, NULL, NULL}},
    {"mahi", {mh_kernel_mahi_core, mh_kernel_mahi, NULL}},
};

#define MH__NPROGRAMS (sizeof mh__programs / sizeof mh__programs[0])

static const char *const mh__kernel_names[] = {"selftest", "facile", "mahi", NULL};

/* Joined sources, built once; they live as long as the process. */
static const char *mh__joined[MH__NPROGRAMS];
static pthread_once_t mh__join_once = PTHREAD_ONCE_INIT;

static void mh__join(void)
{
    for (size_t i = 0; i < MH__NPROGRAMS; i++) {
        size_t len = 0, np = 0;
        while (np < MH__MAXPARTS && mh__programs[i].parts[np])
            len += strlen(mh__programs[i].parts[np++]) + 1;
        if (np == 1) {
            mh__joined[i] = mh__programs[i].parts[0];
            continue;
        }
        char *s = malloc(len + 1);
        if (!s)
            continue; /* stays NULL: reported as an unknown source */
        size_t off = 0;
        for (size_t k = 0; k < np; k++) {
            size_t l = strlen(mh__programs[i].parts[k]);
            memcpy(s + off, mh__programs[i].parts[k], l);
            off += l;
            s[off++] = '\n';
        }
        s[off] = '\0';
        mh__joined[i] = s;
    }
}

const char *mh_ocl_kernel_source(const char *name)
{
    if (!name)
        return NULL;
    pthread_once(&mh__join_once, mh__join);
    for (size_t i = 0; i < MH__NPROGRAMS; i++)
        if (!strcmp(mh__programs[i].name, name))
            return mh__joined[i];
    return NULL;
}

const char *const *mh_ocl_kernel_names(void)
{
    return mh__kernel_names;
}
