// SPDX-License-Identifier: GPL-2.0
/*
 * lpdemo_refuse.c - a livepatch whose own pre-patch callback declines to apply (-ENODEV), as a real patch does
 * when it checks the system and finds it is not one it should change. The module is well-formed and built for the
 * running kernel: the kernel loads it, klp_enable_patch() runs the callback, and the init fails with -ENODEV,
 * which finit_module(2) returns. The livepatch core logs "pre-patch callback failed for object 'vmlinux'".
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/seq_file.h>

static int lpdemo_refuse_cmdline_show(struct seq_file *sf, void *unused)
{
	seq_puts(sf, "lpdemo_refuse: this should never be seen\n");
	return 0;
}

static int lpdemo_refuse_pre_patch(struct klp_object *obj)
{
	pr_info("lpdemo_refuse: this system is not one this patch applies to; declining\n");
	return -ENODEV;
}

static struct klp_func lpdemo_refuse_funcs[] = {
	{
		.old_name = "cmdline_proc_show",
		.new_func = lpdemo_refuse_cmdline_show,
	},
	{ }
};

static struct klp_object lpdemo_refuse_objs[] = {
	{
		.name      = NULL,	/* vmlinux */
		.funcs     = lpdemo_refuse_funcs,
		.callbacks = {
			.pre_patch = lpdemo_refuse_pre_patch,
		},
	},
	{ }
};

static struct klp_patch lpdemo_refuse_patch = {
	.mod  = THIS_MODULE,
	.objs = lpdemo_refuse_objs,
};

static int __init lpdemo_refuse_init(void)
{
	return klp_enable_patch(&lpdemo_refuse_patch);
}

static void __exit lpdemo_refuse_exit(void)
{
}

module_init(lpdemo_refuse_init);
module_exit(lpdemo_refuse_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("LivePatchAgent e2e test livepatch: its pre-patch callback refuses to apply");
MODULE_INFO(livepatch, "Y");
MODULE_VERSION("1.0");
