// SPDX-License-Identifier: GPL-2.0
/*
 * lpdemo_warn.c - a live patch that makes the kernel complain: it replaces version_proc_show() (fs/proc/version.c,
 * /proc/version), and its replacement calls WARN_ON_ONCE(1) when triggered. The kernel health guard must attribute
 * that warning to this patch (the call trace names lpdemo_warn_version_show [lpdemo_warn]) and act by policy.
 *
 * warn (writable at /sys/module/lpdemo_warn/parameters/warn, default 0): while set, a reader of /proc/version
 * hits the WARN_ON_ONCE. Reading /proc/version without it is harmless, so nothing else trips it by accident.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/seq_file.h>
#include <linux/utsname.h>

static bool warn;
module_param(warn, bool, 0644);
MODULE_PARM_DESC(warn, "readers of /proc/version hit WARN_ON_ONCE(1) in the replacement function");

static noinline int lpdemo_warn_version_show(struct seq_file *m, void *v)
{
	WARN_ON_ONCE(READ_ONCE(warn));
	seq_printf(m, "%s version %s (lpdemo_warn) %s\n", utsname()->sysname, utsname()->release, utsname()->version);
	return 0;
}

static struct klp_func lpdemo_warn_funcs[] = {
	{
		.old_name = "version_proc_show",
		.new_func = lpdemo_warn_version_show,
	},
	{ }
};

static struct klp_object lpdemo_warn_objs[] = {
	{
		.name  = NULL,	/* vmlinux */
		.funcs = lpdemo_warn_funcs,
	},
	{ }
};

static struct klp_patch lpdemo_warn_patch = {
	.mod  = THIS_MODULE,
	.objs = lpdemo_warn_objs,
};

static int __init lpdemo_warn_init(void)
{
	return klp_enable_patch(&lpdemo_warn_patch);
}

static void __exit lpdemo_warn_exit(void)
{
}

module_init(lpdemo_warn_init);
module_exit(lpdemo_warn_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("LivePatchAgent e2e test livepatch: its /proc/version replacement WARNs when triggered");
MODULE_INFO(livepatch, "Y");
MODULE_VERSION("1.0");
