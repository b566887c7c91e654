// SPDX-License-Identifier: GPL-2.0
/* Second test patch: cumulative (replace=true), atomically replaces every earlier patch. */
#define LPDEMO_BANNER  "lpdemo_v2: /proc/cmdline replaced atomically"
#define LPDEMO_REPLACE true
#define LPDEMO_VERSION "2.0"
#include "lpdemo_body.h"
