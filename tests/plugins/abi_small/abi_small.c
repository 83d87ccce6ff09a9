/* abi_small.c - a test plugin whose module type table claims to be shorter
 * than version 1 of the ABI (a truncated or foreign table): the loader must
 * refuse it, naming the sizes, and never call into it. */
#include "core/mh_module.h"

static mh_status small_produce(void *self, mh_event *ev, char *err, size_t errlen)
{
    (void)self;
    (void)ev;
    (void)err;
    (void)errlen;
    return MH_OK;
}

static const mh_module_type small_type = {
    .abi_version = MH_MODULE_ABI_VERSION,
    .struct_size = 24, /* less than the version-1 fields */
    .name = "from_abi_small",
    .produce = small_produce,
};

static const mh_module_type *const small_types[] = {&small_type};

static const mh_plugin abi_small_plugin = {
    .abi_version = MH_MODULE_ABI_VERSION,
    .struct_size = sizeof(mh_plugin),
    .name = "abi_small",
    .description = "a module type table shorter than ABI version 1",
    .types = small_types,
    .n_types = 1,
};

MH_PLUGIN_EXPORT const mh_plugin *minihlt_plugin_entry(void);
const mh_plugin *minihlt_plugin_entry(void)
{
    return &abi_small_plugin;
}
