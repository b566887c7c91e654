namespace LivePatchAgent.Unit.Tests.Core.Health;

/// <summary>
/// Kernel log records in the shape /dev/kmsg gives them ("prio,seq,usec,flags;text" and " KEY=value" continuation
/// lines), written for these tests after the kernel's own output of a WARN_ON in a live patch's replacement
/// function, an oops, a soft lockup, an RCU stall, a hung task and a livepatch error.
/// </summary>
internal static class KmsgSamples
{
    /// <summary>A WARN_ON_ONCE in lpdemo_warn's replacement of cmdline_proc_show, read by cat (x86_64, 6.1).</summary>
    public const string WarnInPatch = """
        4,1201,90712345,-;------------[ cut here ]------------
        4,1202,90712360,-;WARNING: CPU: 1 PID: 412 at /tmp/modules/lpdemo_warn.c:21 lpdemo_warn_cmdline_show+0x2a/0x40 [lpdemo_warn]
        4,1203,90712371,-;Modules linked in: lpdemo_warn(OEK) lpdemo_noisy(OE) 9p netfs
        4,1204,90712380,-;CPU: 1 PID: 412 Comm: cat Tainted: G           OE K    6.1.0-28-amd64 #1  Debian 6.1.119-1
        4,1205,90712388,-;Hardware name: QEMU Standard PC (i440FX + PIIX, 1996), BIOS 1.16.2-debian-1.16.2-1 04/01/2014
        4,1206,90712396,-;RIP: 0010:lpdemo_warn_cmdline_show+0x2a/0x40 [lpdemo_warn]
        4,1207,90712404,-;Code: 48 89 fb 0f 1f 44 00 00 80 3d 00 00 00 00 00 74 0b <0f> 0b 5b c3
        4,1208,90712410,-;RSP: 0018:ffffb3c0c05bfd68 EFLAGS: 00010246
        4,1209,90712450,-;Call Trace:
        4,1210,90712452,-; <TASK>
        4,1211,90712460,-; ? __warn+0x7d/0xc0
        4,1212,90712466,-; ? lpdemo_warn_cmdline_show+0x2a/0x40 [lpdemo_warn]
        4,1213,90712470,-; ? report_bug+0xe6/0x170
        4,1214,90712480,-; seq_read_iter+0x11f/0x460
        4,1215,90712490,-; proc_reg_read_iter+0x4f/0xa0
        4,1216,90712495,-; vfs_read+0x204/0x2e0
        4,1217,90712500,-; ksys_read+0x6b/0xf0
        4,1218,90712505,-; do_syscall_64+0x55/0xb0
        4,1219,90712510,-; entry_SYSCALL_64_after_hwframe+0x6e/0xd8
        4,1220,90712515,-; </TASK>
        4,1221,90712520,-;---[ end trace 0000000000000000 ]---

        """;

    /// <summary>An unrelated module's WARN: lpdemo_warn only appears in "Modules linked in" and as a guessed frame.</summary>
    public const string WarnElsewhere = """
        4,1300,91000000,-;------------[ cut here ]------------
        4,1301,91000010,-;WARNING: CPU: 0 PID: 430 at /tmp/modules/lpdemo_noisy.c:14 lpdemo_noisy_show+0x15/0x30 [lpdemo_noisy]
        4,1302,91000020,-;Modules linked in: lpdemo_warn(OEK) lpdemo_noisy(OE)
        4,1303,91000030,-;Call Trace:
        4,1304,91000040,-; <TASK>
        4,1305,91000045,-; ? lpdemo_warn_cmdline_show+0x2a/0x40 [lpdemo_warn]
        4,1306,91000050,-; seq_read_iter+0x11f/0x460
        4,1307,91000060,-; </TASK>
        4,1308,91000070,-;---[ end trace 0000000000000000 ]---

        """;

    /// <summary>A NULL dereference in the patched function cmdline_proc_show as it runs in vmlinux (a task that has not switched).</summary>
    public const string OopsInPatchedFunction = """
        1,1400,95000000,-;BUG: kernel NULL pointer dereference, address: 0000000000000008
        1,1401,95000010,-;#PF: supervisor read access in kernel mode
        4,1402,95000020,-;Oops: 0000 [#1] PREEMPT SMP NOPTI
        4,1403,95000030,-;CPU: 0 PID: 501 Comm: cat Tainted: G        W  OE K    6.1.0-28-amd64 #1  Debian 6.1.119-1
        4,1404,95000040,-;RIP: 0010:cmdline_proc_show+0x12/0x30
        4,1405,95000050,-;Call Trace:
        4,1406,95000060,-; <TASK>
        4,1407,95000065,-; seq_read_iter+0x11f/0x460
        4,1408,95000070,-; </TASK>
        4,1409,95000080,-;---[ end trace 0000000000000000 ]---

        """;

    public const string SoftLockup = """
        0,1500,99000000,-;watchdog: BUG: soft lockup - CPU#1 stuck for 26s! [kworker/1:2:88]
        4,1501,99000010,-;Modules linked in: lpdemo_v3(OEK)
        4,1502,99000020,-;RIP: 0010:lpdemo_v3_spin+0x9/0x20 [lpdemo_v3]

        """;

    public const string RcuStall = """
        3,1600,120000000,-;rcu: INFO: rcu_preempt self-detected stall on CPU
        3,1601,120000010,-;rcu: \x091-....: (5250 ticks this GP) idle=4d4/1/0x4000000000000000
        4,1602,120000020,-;Call Trace:
        4,1603,120000030,-; meminfo_proc_show+0x40/0x500

        """;

    public const string HungTask = """
        3,1700,240000000,-;INFO: task cat:612 blocked for more than 120 seconds.
        3,1701,240000010,-;      Tainted: G           OE K    6.1.0-28-amd64 #1 Debian 6.1.119-1
        3,1702,240000020,-;"echo 0 > /proc/sys/kernel/hung_task_timeout_secs" disables this message.
        6,1703,240000030,-;task:cat             state:D stack:0     pid:612   ppid:1      flags:0x00004002
        6,1704,240000040,-;Call Trace:
        6,1705,240000050,-; lpdemo_sleeper_wait+0x30/0x60 [lpdemo_sleeper]

        """;

    public const string LivepatchError = """
        3,1800,300000000,-;livepatch: failed to enable patch 'lpdemo_v3'

        """;

    /// <summary>A record with its dictionary continuation lines, and a user-space record claiming a warning.</summary>
    public const string WithDictionaryAndUserRecord = """
        6,1900,310000000,-;usb 1-1: new high-speed USB device number 2 using ehci-pci
         SUBSYSTEM=usb
         DEVICE=c189:1
        12,1901,310000010,-;WARNING: CPU: 0 PID: 1 at fake.c:1 lpdemo_warn_cmdline_show+0x1/0x2 [lpdemo_warn]

        """;
}
