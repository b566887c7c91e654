// SPDX-License-Identifier: GPL-2.0
/*
 * A stacking test patch: another plain livepatch (replace=false) of the same function as lpdemo_v1. Loaded after it,
 * it stacks on top: /proc/cmdline shows lpdemo_stack's banner, and lpdemo_v1's version is hidden until lpdemo_stack
 * goes. On kernels without stack_order (before 6.14) only the load order tells which one serves the function.
 */
#define LPDEMO_BANNER  "lpdemo_stack: /proc/cmdline is live patched"
#define LPDEMO_REPLACE false
#define LPDEMO_VERSION "5.0"
#include "lpdemo_body.h"
