// SPDX-License-Identifier: GPL-2.0
/* First test patch: a plain livepatch (replace=false) that stacks on others. */
#define LPDEMO_BANNER  "lpdemo_v1: /proc/cmdline is live patched"
#define LPDEMO_REPLACE false
#define LPDEMO_VERSION "1.0"
#include "lpdemo_body.h"
