// SPDX-License-Identifier: GPL-2.0
/*
 * A newer cumulative patch (replace=true) than lpdemo_v2: with two cumulative patches installed, start-up
 * apply must pick only the newest one.
 */
#define LPDEMO_BANNER  "lpdemo_v4: /proc/cmdline replaced by the newer cumulative patch"
#define LPDEMO_REPLACE true
#define LPDEMO_VERSION "4.0"
#include "lpdemo_body.h"
