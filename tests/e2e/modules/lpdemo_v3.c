// SPDX-License-Identifier: GPL-2.0
/*
 * lpdemo_v3.c - a livepatch whose object is the *module* lpdemo_sleeper, not vmlinux.
 *
 * Replaces lpdemo_sleeper_wait() by a version that never blocks. Loaded while a task sleeps in the original,
 * its transition stalls (that task keeps patch_state 0). Loaded before lpdemo_sleeper, its object stays
 * unpatched (patched=0) until the target module arrives.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/livepatch.h>

static int lpdemo_v3_sleeper_wait(char *buf, size_t len)
{
	return scnprintf(buf, len, "lpdemo_v3: patched wait returns at once\n");
}

static struct klp_func lpdemo_v3_funcs[] = {
	{
		.old_name = "lpdemo_sleeper_wait",
		.new_func = lpdemo_v3_sleeper_wait,
	},
	{ }
};

static struct klp_object lpdemo_v3_objs[] = {
	{
		.name  = "lpdemo_sleeper",
		.funcs = lpdemo_v3_funcs,
	},
	{ }
};

static struct klp_patch lpdemo_v3_patch = {
	.mod  = THIS_MODULE,
	.objs = lpdemo_v3_objs,
};

static int __init lpdemo_v3_init(void)
{
	return klp_enable_patch(&lpdemo_v3_patch);
}

static void __exit lpdemo_v3_exit(void)
{
}

module_init(lpdemo_v3_init);
module_exit(lpdemo_v3_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("LivePatchAgent e2e test livepatch: patches a function of module lpdemo_sleeper");
MODULE_INFO(livepatch, "Y");
MODULE_VERSION("3.0");
/*
 * Security metadata (docs/patch-authoring.md). The CVE ids are made up for the tests: no real CVE id has the
 * year 2099, so no report can mistake them for real ones.
 */
MODULE_INFO(livepatch_cve, "CVE-2099-0301");
MODULE_INFO(livepatch_summary, "lpdemo_v3: a made-up fix of lpdemo_sleeper_wait that no longer blocks");
