/* no_entry.c - a test plugin without the entry symbol (a shared object that
 * is not a minihlt plugin): the loader must name the missing symbol. */
#include "core/mh_module.h"

MH_PLUGIN_EXPORT int not_a_minihlt_plugin(void);
int not_a_minihlt_plugin(void)
{
    return 42;
}
