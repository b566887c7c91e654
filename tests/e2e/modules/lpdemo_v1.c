// SPDX-License-Identifier: GPL-2.0
/* First test patch: a plain livepatch (replace=false) that stacks on others. */
#define LPDEMO_BANNER  "lpdemo_v1: /proc/cmdline is live patched"
#define LPDEMO_REPLACE false
#define LPDEMO_VERSION "1.0"
#include "lpdemo_body.h"

/*
 * Security metadata (docs/patch-authoring.md). The CVE ids are made up for the tests: no real CVE id has the
 * year 2099, so no report can mistake them for real ones.
 */
MODULE_INFO(livepatch_cve, "CVE-2099-0001");
MODULE_INFO(livepatch_cve, "CVE-2099-0002");
MODULE_INFO(livepatch_summary, "lpdemo_v1: a made-up fix that shows a banner in /proc/cmdline");
MODULE_INFO(livepatch_level, "1");
