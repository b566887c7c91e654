using System.Text;
using LivePatchAgent.Core.Health;

namespace LivePatchAgent.Unit.Tests.Core.Health;

public sealed class KernelReportAssemblerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);

    internal static List<KernelReport> Assemble(string samples, bool flush = true)
    {
        var assembler = new KernelReportAssembler();
        var reports = new List<KernelReport>();
        foreach (var entry in new KmsgRecordReader().Feed(Encoding.UTF8.GetBytes(samples)))
        {
            reports.AddRange(assembler.Add(entry.Record, T0));
        }

        if (flush && assembler.Flush(T0 + KernelReportAssembler.Quiet) is { } last)
        {
            reports.Add(last);
        }

        return reports;
    }

    [Fact]
    public void A_warning_is_one_report_from_cut_here_to_end_trace_with_its_headline_and_frames()
    {
        var report = Assert.Single(Assemble(KmsgSamples.WarnInPatch, flush: false));

        Assert.Equal(KernelReportKind.Warning, report.Kind);
        Assert.Equal(KernelReportSeverity.Warning, report.Severity);
        Assert.StartsWith("WARNING: CPU: 1 PID: 412 at", report.Headline, StringComparison.Ordinal);
        Assert.True(report.Ended);
        Assert.Equal(1201UL, report.Sequence);
        Assert.Equal(21, report.Lines.Length);
        Assert.Equal(("lpdemo_warn_cmdline_show", "lpdemo_warn", true), (report.Frames[0].Function, report.Frames[0].Module, report.Frames[0].Reliable));
        Assert.Contains(report.Frames, f => f is { Function: "__warn", Reliable: false });
        Assert.Contains(report.Frames, f => f is { Function: "vfs_read", Module: null, Reliable: true });
        // "Modules linked in" lists modules, not frames.
        Assert.DoesNotContain(report.Frames, f => f.Function == "lpdemo_noisy");
    }

    [Theory]
    [InlineData(nameof(KmsgSamples.OopsInPatchedFunction), KernelReportKind.Bug, "BUG: kernel NULL pointer dereference")]
    [InlineData(nameof(KmsgSamples.SoftLockup), KernelReportKind.SoftLockup, "watchdog: BUG: soft lockup - CPU#1")]
    [InlineData(nameof(KmsgSamples.RcuStall), KernelReportKind.RcuStall, "rcu: INFO: rcu_preempt self-detected stall")]
    [InlineData(nameof(KmsgSamples.HungTask), KernelReportKind.HungTask, "INFO: task cat:612 blocked for more than 120 seconds.")]
    [InlineData(nameof(KmsgSamples.LivepatchError), KernelReportKind.LivepatchError, "livepatch: failed to enable patch 'lpdemo_v3'")]
    public void Each_kind_of_complaint_is_classified(string sample, KernelReportKind kind, string headline)
    {
        var text = (string)typeof(KmsgSamples).GetField(sample)!.GetValue(null)!;

        var report = Assert.Single(Assemble(text));

        Assert.Equal(kind, report.Kind);
        Assert.StartsWith(headline, report.Headline, StringComparison.Ordinal);
    }

    [Fact]
    public void The_oops_line_after_a_BUG_line_belongs_to_the_same_report()
    {
        var report = Assert.Single(Assemble(KmsgSamples.OopsInPatchedFunction));

        Assert.Equal(KernelReportSeverity.Bug, report.Severity);
        Assert.Contains(report.Lines, l => l.StartsWith("Oops: 0000", StringComparison.Ordinal));
        Assert.Contains(report.Frames, f => f is { Function: "cmdline_proc_show", Module: null });
    }

    [Theory]
    [InlineData("Watchdog detected hard LOCKUP on cpu 1", 0, KernelReportKind.HardLockup)]
    [InlineData("kernel BUG at mm/slub.c:412!", 4, KernelReportKind.Bug)]
    [InlineData("general protection fault, probably for non-canonical address 0xdead: 0000 [#1] SMP", 4, KernelReportKind.Bug)]
    [InlineData("BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 31s!", 3, KernelReportKind.SoftLockup)]
    [InlineData("INFO: rcu_sched detected stalls on CPUs/tasks:", 3, KernelReportKind.RcuStall)]
    public void Other_headers_are_classified(string text, int level, KernelReportKind kind) =>
        Assert.Equal(kind, KernelReportAssembler.Classify(text, level));

    [Theory]
    [InlineData("livepatch: 'lpdemo_v3': starting patching transition", 6)]
    [InlineData("livepatch: 'lpdemo_v3': patching complete", 6)]
    [InlineData("usb 1-1: new high-speed USB device number 2 using ehci-pci", 6)]
    [InlineData("lpdemo_warn: loading out-of-tree module taints kernel.", 4)]
    public void Routine_messages_begin_no_report(string text, int level) =>
        Assert.Null(KernelReportAssembler.Classify(text, level));

    [Fact]
    public void Records_from_user_space_never_make_a_report()
    {
        Assert.Empty(Assemble(KmsgSamples.WithDictionaryAndUserRecord));
    }

    [Fact]
    public void A_report_without_an_end_marker_completes_when_the_log_goes_quiet_or_another_begins()
    {
        var assembler = new KernelReportAssembler();
        var entries = new KmsgRecordReader().Feed(Encoding.UTF8.GetBytes(KmsgSamples.HungTask + KmsgSamples.SoftLockup)).ToList();
        var done = new List<KernelReport>();
        foreach (var entry in entries)
        {
            done.AddRange(assembler.Add(entry.Record, T0));
        }

        Assert.Equal(KernelReportKind.HungTask, Assert.Single(done).Kind);
        Assert.Null(assembler.Flush(T0 + TimeSpan.FromMilliseconds(500)));
        Assert.Equal(KernelReportKind.SoftLockup, assembler.Flush(T0 + KernelReportAssembler.Quiet)!.Kind);
        Assert.False(assembler.Pending);
    }

    [Fact]
    public void Two_warnings_in_a_row_are_two_reports()
    {
        var reports = Assemble(KmsgSamples.WarnInPatch + KmsgSamples.WarnElsewhere);

        Assert.Equal(2, reports.Count);
        Assert.Contains("lpdemo_noisy", reports[1].Headline, StringComparison.Ordinal);
    }

    [Fact]
    public void A_flood_is_capped_per_report()
    {
        var text = new StringBuilder("4,1,1,-;------------[ cut here ]------------\n4,2,1,-;WARNING: CPU: 0 PID: 1 at a.c:1 f+0x1/0x2\n");
        for (var i = 0; i < 1000; i++)
        {
            text.Append(System.Globalization.CultureInfo.InvariantCulture, $"4,{i + 3},1,-; g{i}+0x1/0x2\n");
        }

        var report = Assert.Single(Assemble(text.ToString()));

        Assert.Equal(KernelReportAssembler.MaxLines, report.Lines.Length);
        Assert.Equal(KernelReportAssembler.MaxFrames, report.Frames.Length);
    }

    [Theory]
    [InlineData(" seq_read_iter+0x11f/0x460", "seq_read_iter", null, true)]
    [InlineData(" ? __warn+0x7d/0xc0", "__warn", null, false)]
    [InlineData("RIP: 0010:lpdemo_warn_cmdline_show+0x2a/0x40 [lpdemo_warn]", "lpdemo_warn_cmdline_show", "lpdemo_warn", true)]
    [InlineData(" foo.isra.0+0x1/0x2 [my-mod]", "foo.isra.0", "my-mod", true)]
    public void Frames_are_read_from_trace_lines(string line, string function, string? module, bool reliable)
    {
        var frame = Assert.Single(KernelReportAssembler.FramesIn(line));

        Assert.Equal((function, module, reliable), (frame.Function, frame.Module, frame.Reliable));
    }
}
