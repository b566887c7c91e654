// SPDX-License-Identifier: GPL-2.0
/*
 * lpdemo_noisy.c - an ordinary module (not a live patch) that WARNs on a trigger: writing anything to
 * /sys/module/lpdemo_noisy/parameters/warn calls WARN(1, ...) in lpdemo_noisy_warn_set [lpdemo_noisy]. The kernel
 * health guard must not attribute that warning to a live patch in its health window.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/moduleparam.h>

static noinline int lpdemo_noisy_warn_set(const char *val, const struct kernel_param *kp)
{
	WARN(1, "lpdemo_noisy: warning on request\n");
	return 0;
}

static const struct kernel_param_ops lpdemo_noisy_warn_ops = {
	.set = lpdemo_noisy_warn_set,
	.get = param_get_int,
};

static int lpdemo_noisy_count;
module_param_cb(warn, &lpdemo_noisy_warn_ops, &lpdemo_noisy_count, 0644);
MODULE_PARM_DESC(warn, "write anything to make this module WARN");

static int __init lpdemo_noisy_init(void)
{
	return 0;
}

static void __exit lpdemo_noisy_exit(void)
{
}

module_init(lpdemo_noisy_init);
module_exit(lpdemo_noisy_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("LivePatchAgent e2e test module: not a live patch; WARNs on a trigger");
