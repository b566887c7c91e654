// SPDX-License-Identifier: GPL-2.0
/*
 * lpdemo_notlp.c - an ordinary module that is NOT a livepatch (no livepatch=Y in .modinfo).
 * A bad input: the daemon must refuse it as not-a-livepatch before the kernel ever sees it.
 */
#include <linux/module.h>
#include <linux/kernel.h>

static int __init lpdemo_notlp_init(void)
{
	return 0;
}

static void __exit lpdemo_notlp_exit(void)
{
}

module_init(lpdemo_notlp_init);
module_exit(lpdemo_notlp_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("LivePatchAgent e2e bad input: an ordinary module, not a livepatch");
