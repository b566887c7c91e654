// SPDX-License-Identifier: GPL-2.0
/* Second test patch: cumulative (replace=true), atomically replaces every earlier patch. */
#define LPDEMO_BANNER  "lpdemo_v2: /proc/cmdline replaced atomically"
#define LPDEMO_REPLACE true
#define LPDEMO_VERSION "2.0"
#include "lpdemo_body.h"

/*
 * Security metadata (docs/patch-authoring.md). The CVE ids are made up for the tests: no real CVE id has the
 * year 2099, so no report can mistake them for real ones.
 */
MODULE_INFO(livepatch_cve, "CVE-2099-0001");
MODULE_INFO(livepatch_cve, "CVE-2099-0002");
MODULE_INFO(livepatch_cve, "CVE-2099-0003");
MODULE_INFO(livepatch_summary, "lpdemo_v2: cumulative, carries lpdemo_v1's made-up fixes and one more");
MODULE_INFO(livepatch_level, "2");
/* A cumulative patch says which kernel package's fixes it carries (a made-up Debian version). */
MODULE_INFO(livepatch_fixes_version, "6.1.999-1");
