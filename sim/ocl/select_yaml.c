/* select_yaml.c - a device selector from a config's YAML map (libfyaml). */
#include "ocl/mh_ocl.h"

#include <libfyaml.h>
#include <string.h>

mh_status mh_ocl_selector_set_yaml(mh_ocl_selector *sel, const char *yaml, char *err,
                                   size_t errlen)
{
    if (!yaml || !yaml[strspn(yaml, " \t\r\n")])
        return MH_OK;
    /* Library code never prints: libfyaml's diagnostics are collected. */
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    struct fy_diag *diag = fy_diag_create(&dcfg);
    if (!diag)
        return mh_fail(err, errlen, MH_NOMEM, "device: cannot create YAML diagnostics");
    fy_diag_set_collect_errors(diag, true);
    struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET, .diag = diag};
    struct fy_document *doc = fy_document_build_from_string(&cfg, yaml, FY_NT);
    if (!doc) {
        fy_diag_destroy(diag);
        return mh_fail(err, errlen, MH_CONFIG, "device: not valid YAML: %.80s", yaml);
    }
    mh_status st = MH_OK;
    mh_ocl_selector tmp = *sel;
    struct fy_node *root = fy_document_root(doc);
    if (root && fy_node_is_scalar(root) && !strcmp(fy_node_get_scalar0(root), ""))
        goto out; /* an explicitly empty value */
    if (!root || !fy_node_is_mapping(root)) {
        st = mh_fail(err, errlen, MH_CONFIG,
                     "device: must be a map like {type: gpu, index: 0, name: A100}");
        goto out;
    }
    void *it = NULL;
    struct fy_node_pair *p;
    while ((p = fy_node_mapping_iterate(root, &it)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
        const char *key = k && fy_node_is_scalar(k) ? fy_node_get_scalar0(k) : NULL;
        const char *val = v && fy_node_is_scalar(v) ? fy_node_get_scalar0(v) : NULL;
        if (!key || !val) {
            st = mh_fail(err, errlen, MH_CONFIG, "device: %s%s must be a plain value",
                         key ? key : "a key", key ? "" : " (not a scalar)");
            goto out;
        }
        if ((st = mh_ocl_selector_set(&tmp, key, val, err, errlen)) != MH_OK) {
            mh_fail_prefix(err, errlen, st, "device: ");
            goto out;
        }
    }
    *sel = tmp;
out:
    fy_document_destroy(doc);
    fy_diag_destroy(diag);
    return st;
}
