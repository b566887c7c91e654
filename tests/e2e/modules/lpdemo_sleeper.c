// SPDX-License-Identifier: GPL-2.0
/*
 * lpdemo_sleeper.c - ordinary (non-livepatch) helper module for stalled-transition tests.
 *
 * Reading /proc/lpdemo_sleep blocks the reader inside lpdemo_sleeper_wait() until it is released. A task parked
 * there keeps that function on its stack, so a livepatch that replaces it (lpdemo_v3) cannot finish its transition
 * until the task leaves: a real, deterministic stall. What is written to the file says what to do:
 *   "one"      release one parked reader (a token it takes), so readers leave one at a time;
 *   "kthread"  start the kernel thread lpdemo_kthread, which parks there too: the kernel's fake signal cannot move
 *              it (a kthread has no user space to return to), so only a release ends its stall;
 *   anything else   release every reader (and the kthread) for good.
 */
#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/proc_fs.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/kthread.h>
#include <linux/atomic.h>

static DECLARE_WAIT_QUEUE_HEAD(lpdemo_wq);
static int lpdemo_released;
static atomic_t lpdemo_tokens = ATOMIC_INIT(0);
static struct task_struct *lpdemo_kthread;

/* A reader may go: everyone is released, or it took one token. */
static bool lpdemo_may_go(void)
{
	return READ_ONCE(lpdemo_released) || atomic_dec_if_positive(&lpdemo_tokens) >= 0;
}

/* noinline: the function must exist as its own symbol for livepatch and appear on the sleeper's stack. */
noinline int lpdemo_sleeper_wait(char *buf, size_t len)
{
	int err = wait_event_interruptible(lpdemo_wq, lpdemo_may_go());

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

/* The kernel thread parks in the patched function, then idles until the module goes. */
static int lpdemo_kthread_fn(void *data)
{
	char buf[96];

	lpdemo_sleeper_wait(buf, sizeof(buf));
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule();
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

static ssize_t lpdemo_sleep_write(struct file *file, const char __user *ubuf,
				  size_t count, loff_t *ppos)
{
	char cmd[16] = "";

	if (copy_from_user(cmd, ubuf, min_t(size_t, count, sizeof(cmd) - 1)))
		return -EFAULT;
	if (!strncmp(cmd, "one", 3)) {
		atomic_inc(&lpdemo_tokens);
		wake_up_interruptible_all(&lpdemo_wq);
		return count;
	}
	if (!strncmp(cmd, "kthread", 7)) {
		struct task_struct *t;

		if (lpdemo_kthread)
			return -EEXIST;
		t = kthread_run(lpdemo_kthread_fn, NULL, "lpdemo_kthread");
		if (IS_ERR(t))
			return PTR_ERR(t);
		lpdemo_kthread = t;
		return count;
	}
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
	WRITE_ONCE(lpdemo_released, 1);
	wake_up_interruptible_all(&lpdemo_wq);
	if (lpdemo_kthread)
		kthread_stop(lpdemo_kthread);
	proc_remove(lpdemo_pde);
}

module_init(lpdemo_sleeper_init);
module_exit(lpdemo_sleeper_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("LivePatchAgent e2e helper: blocks readers inside a patchable function");
