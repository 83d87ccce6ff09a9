/* abi_bad.c - a test plugin built for a future ABI version: the loader must
 * refuse it with a message naming the versions. */
#include "core/mh_module.h"

static const mh_plugin abi_bad_plugin = {
    .abi_version = 99,
    .struct_size = sizeof(mh_plugin),
    .name = "abi_bad",
    .description = "claims ABI version 99",
    .types = NULL,
    .n_types = 0,
};

MH_PLUGIN_EXPORT const mh_plugin *minihlt_plugin_entry(void);
const mh_plugin *minihlt_plugin_entry(void)
{
    return &abi_bad_plugin;
}
