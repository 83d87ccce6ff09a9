/* backends.c - the list of built-in inference backends and small shared
 * helpers of the server.
 *
 * To add a backend: write backend_<name>.c with one const mh_net_backend
 * table, declare it in net_internal.h and list it here. A model picks its backend with instance_group kind (KIND_CPU: cpu,
 * KIND_GPU: opencl) or the server's --backend option. */
#include <string.h>
#include <time.h>

#include "net/net_internal.h"

const mh_net_backend *const mh__net_backends[] = {
    &mh__net_backend_cpu,
    &mh__net_backend_opencl,
    NULL,
};

const mh_net_backend *mh__net_backend_find(const char *name)
{
    for (size_t i = 0; name && mh__net_backends[i]; i++)
        if (!strcmp(mh__net_backends[i]->name, name))
            return mh__net_backends[i];
    return NULL;
}

uint64_t mh__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

bool mh__valid_model_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 127 || name[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}
