// SPDX-License-Identifier: GPL-2.0
/*
 * lpdemo_sleeper.c - ordinary (non-livepatch) helper module for stalled-transition tests.
 *
 * Reading /proc/lpdemo_sleep blocks the reader inside lpdemo_sleeper_wait() until something is written to the
 * file. A task parked there keeps that function on its stack, so a livepatch that replaces it (lpdemo_v3)
 * cannot finish its transition until the task leaves: a real, deterministic stall.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/proc_fs.h>
#include <linux/uaccess.h>
#include <linux/wait.h>

static DECLARE_WAIT_QUEUE_HEAD(lpdemo_wq);
static int lpdemo_released;

/* noinline: the function must exist as its own symbol for livepatch and appear on the sleeper's stack. */
noinline int lpdemo_sleeper_wait(char *buf, size_t len)
{
	int err = wait_event_interruptible(lpdemo_wq, READ_ONCE(lpdemo_released));

	if (err)
		return err;	/* -ERESTARTSYS: the read is restarted after a (fake) signal */
	return scnprintf(buf, len, "lpdemo_sleeper: original wait finished\n");
}

static ssize_t lpdemo_sleep_read(struct file *file, char __user *ubuf,
				 size_t count, loff_t *ppos)
{
	char buf[96];
	int n;

	if (*ppos)
		return 0;
	n = lpdemo_sleeper_wait(buf, sizeof(buf));
	if (n < 0)
		return n;
	n = min_t(size_t, n, count);
	if (copy_to_user(ubuf, buf, n))
		return -EFAULT;
	*ppos += n;
	return n;
}

static ssize_t lpdemo_sleep_write(struct file *file, const char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	WRITE_ONCE(lpdemo_released, 1);
	wake_up_interruptible_all(&lpdemo_wq);
	return count;
}

static const struct proc_ops lpdemo_sleep_ops = {
	.proc_read  = lpdemo_sleep_read,
	.proc_write = lpdemo_sleep_write,
};

static struct proc_dir_entry *lpdemo_pde;

static int __init lpdemo_sleeper_init(void)
{
	lpdemo_pde = proc_create("lpdemo_sleep", 0600, NULL, &lpdemo_sleep_ops);
	return lpdemo_pde ? 0 : -ENOMEM;
}

static void __exit lpdemo_sleeper_exit(void)
{
	proc_remove(lpdemo_pde);
}

module_init(lpdemo_sleeper_init);
module_exit(lpdemo_sleeper_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("LivePatchAgent e2e helper: blocks readers inside a patchable function");
