/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lpdemo_body.h - shared body of the vmlinux test livepatches (lpdemo_v1, lpdemo_v2, lpdemo_v4).
 *
 * Each including .c file defines:
 *   LPDEMO_BANNER   the line the patched /proc/cmdline shows instead of the real command line
 *   LPDEMO_REPLACE  true/false -> klp_patch.replace (atomic replace, a cumulative patch)
 *   LPDEMO_VERSION  MODULE_VERSION string; it also makes modpost record a srcversion, which the kernel then
 *                   shows in /sys/module/<name>/srcversion (Debian does not set MODULE_SRCVERSION_ALL)
 *
 * The patch redirects vmlinux's cmdline_proc_show() (fs/proc/cmdline.c): a guest script sees at once which
 * patch is live by reading /proc/cmdline, without trusting anything the daemon reports.
 *
 * hold_ms (writable at /sys/module/<name>/parameters/hold_ms, default 0): when set, a reader of /proc/cmdline
 * sleeps that long inside the *new* function. While it sleeps, any transition away from this patch (a
 * disable, or an atomic replace by a newer patch) cannot finish, so a test can hold such a transition open for
 * a known time instead of racing a transition that may take 2 ms or 2 s.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/seq_file.h>
#include <linux/delay.h>

static unsigned int hold_ms;
module_param(hold_ms, uint, 0644);
MODULE_PARM_DESC(hold_ms, "readers of /proc/cmdline sleep this long in the patched function (holds transitions)");

static int lpdemo_cmdline_show(struct seq_file *sf, void *unused)
{
	unsigned int hold = READ_ONCE(hold_ms);

	if (hold)
		msleep_interruptible(hold);
	seq_puts(sf, LPDEMO_BANNER "\n");
	return 0;
}

static struct klp_func lpdemo_funcs[] = {
	{
		.old_name = "cmdline_proc_show",
		.new_func = lpdemo_cmdline_show,
	},
	{ }
};

static struct klp_object lpdemo_objs[] = {
	{
		.name  = NULL,	/* vmlinux */
		.funcs = lpdemo_funcs,
	},
	{ }
};

static struct klp_patch lpdemo_patch = {
	.mod     = THIS_MODULE,
	.objs    = lpdemo_objs,
	.replace = LPDEMO_REPLACE,
};

static int __init lpdemo_init(void)
{
	return klp_enable_patch(&lpdemo_patch);
}

static void __exit lpdemo_exit(void)
{
}

module_init(lpdemo_init);
module_exit(lpdemo_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("LivePatchAgent e2e test livepatch: replaces the /proc/cmdline output");
MODULE_INFO(livepatch, "Y");
MODULE_VERSION(LPDEMO_VERSION);
