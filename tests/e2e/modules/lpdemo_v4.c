// SPDX-License-Identifier: GPL-2.0
/*
 * A newer cumulative patch (replace=true) than lpdemo_v2: with two cumulative patches installed, start-up
 * apply must pick only the newest one.
 */
#define LPDEMO_BANNER  "lpdemo_v4: /proc/cmdline replaced by the newer cumulative patch"
#define LPDEMO_REPLACE true
#define LPDEMO_VERSION "4.0"
#include "lpdemo_body.h"

/*
 * Security metadata (docs/patch-authoring.md). The CVE ids are made up for the tests: no real CVE id has the
 * year 2099, so no report can mistake them for real ones.
 */
MODULE_INFO(livepatch_cve, "CVE-2099-0001");
MODULE_INFO(livepatch_cve, "CVE-2099-0002");
MODULE_INFO(livepatch_cve, "CVE-2099-0003");
MODULE_INFO(livepatch_cve, "CVE-2099-0004");
MODULE_INFO(livepatch_summary, "lpdemo_v4: the newer cumulative patch, with every made-up fix of lpdemo_v2 and one more");
MODULE_INFO(livepatch_level, "4");
MODULE_INFO(livepatch_fixes_version, "6.1.999-2");
