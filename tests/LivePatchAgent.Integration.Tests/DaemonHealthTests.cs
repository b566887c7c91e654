using System.Globalization;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// The kernel health guard through the real daemon: the kernel log is a file under the host root (dev/kmsg) that
/// the tests append records to, in the kernel's format. A patch whose code warns is reverted and quarantined, a
/// restart does not apply it again, release lets it back in; an unrelated module's warning and records from before
/// the daemon started touch nothing; alert leaves the patch and says so, also as a D-Bus signal.
/// </summary>
public sealed class DaemonHealthTests : IAsyncLifetime
{
    private readonly SysfsFixture _fixture = SysfsFixture.Create(ModuleImage.Release);
    private readonly TrustedCertificateDir _trusted = new();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "lph-" + Guid.NewGuid().ToString("N")[..10]);
    private SimulatedKernel _kernel = null!;
    private ulong _sequence = 5000;

    private string Kmsg => Path.Combine(_fixture.Root, "dev/kmsg");

    public Task InitializeAsync()
    {
        _kernel = new SimulatedKernel(_fixture);
        Directory.CreateDirectory(Path.Combine(_directory, "state"));
        Directory.CreateDirectory(Path.GetDirectoryName(Kmsg)!);
        File.WriteAllText(Kmsg, string.Empty);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _kernel.Dispose();
        _fixture.Dispose();
        _trusted.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }

        return Task.CompletedTask;
    }

    private Task<DaemonHarness> StartAsync(string? dbus, params string[] settings) =>
        DaemonHarness.StartAsync(_fixture, new DaemonHarnessOptions { Loader = _kernel, Directory = _directory, DBusAddress = dbus }, [_trusted.Setting, .. settings]);

    private static byte[] Signed(string name)
    {
        var image = new ModuleImage().With("name", name);
        image.StructModuleName = name;
        return TestSigningKey.Trusted.Sign(image.Build());
    }

    private static string? Reason(RpcException e) => e.GetRpcStatus()?.GetDetail<Google.Rpc.ErrorInfo>()?.Reason;

    /// <summary>Appends a WARN_ON report whose trace runs through <paramref name="function"/> in <paramref name="module"/>.</summary>
    private void Warn(string function, string module)
    {
        var lines = new[]
        {
            "------------[ cut here ]------------",
            $"WARNING: CPU: 1 PID: 412 at /tmp/{module}.c:21 {function}+0x2a/0x40 [{module}]",
            $"Modules linked in: lp_a(OEK) {module}(OE)",
            "CPU: 1 PID: 412 Comm: cat Tainted: G           OE K    6.1.0-56-amd64 #1  Debian 6.1.119-1",
            $"RIP: 0010:{function}+0x2a/0x40 [{module}]",
            "Call Trace:",
            " <TASK>",
            " ? __warn+0x7d/0xc0",
            " seq_read_iter+0x11f/0x460",
            " vfs_read+0x204/0x2e0",
            " </TASK>",
            "---[ end trace 0000000000000000 ]---",
        };
        var text = new StringBuilder();
        foreach (var line in lines)
        {
            text.Append(CultureInfo.InvariantCulture, $"4,{_sequence++},90712345,-;{line}\n");
        }

        File.AppendAllText(Kmsg, text.ToString());
    }

    private static async Task<HealthStatus> WaitHealthAsync(DaemonHarness daemon, Func<HealthStatus, bool> condition)
    {
        HealthStatus health = null!;
        await DaemonHarness.WaitForAsync(async () => condition(health = await daemon.Client.GetHealthAsync(new GetHealthRequest())), TimeSpan.FromSeconds(20));
        return health;
    }

    [Fact]
    public async Task A_warning_in_a_patch_reverts_and_quarantines_it_a_restart_skips_it_and_release_lets_it_back()
    {
        var module = Signed("lp_a");
        // Stopped, not disposed, before the restart: disposing removes the harness directory with the state.
        await using var first = await StartAsync(null, "Health:OnKernelWarning=Revert");
        {
            var daemon = first;
            await WaitHealthAsync(daemon, h => h.Reader == "watching");
            await daemon.Client.InstallPatchAsync(new InstallPatchRequest { Module = ByteString.CopyFrom(module), LoadNow = true });
            await WaitHealthAsync(daemon, h => h.Windows.Any(w => w.Patch == "lp_a"));

            Warn("lp_a_cmdline_show", "lp_a");

            var health = await WaitHealthAsync(daemon, h => h.Quarantined.Count == 1);
            var report = Assert.Single(health.Reports);
            Assert.Equal(("warning", "lp_a", "module", HealthAction.Revert), (report.Kind, report.Patch, report.Attribution, report.Action));
            Assert.Contains("lp_a_cmdline_show+0x2a/0x40 [lp_a]", report.Evidence, StringComparison.Ordinal);
            Assert.StartsWith("WARNING: CPU: 1 PID: 412", report.Headline, StringComparison.Ordinal);
            var quarantined = Assert.Single(health.Quarantined);
            Assert.Equal(("lp_a", "livepatchd (Health:OnKernelWarning=revert)"), (quarantined.Name, quarantined.By));
            Assert.Equal(report.OperationId, quarantined.OperationId);
            await DaemonHarness.WaitForAsync(() => Task.FromResult(!Directory.Exists(Path.Combine(_fixture.LivepatchDir, "lp_a"))));

            var history = (await daemon.Client.GetHistoryAsync(new GetHistoryRequest { Patch = "lp_a" })).Operations;
            await DaemonHarness.WaitForAsync(async () => (history = (await daemon.Client.GetHistoryAsync(new GetHistoryRequest { Patch = "lp_a" })).Operations)
                .Any(o => o.Operation == "quarantine" && o.Outcome.Length > 0));
            var quarantine = history.Single(o => o.Operation == "quarantine");
            Assert.Equal("completed", quarantine.Outcome);
            Assert.Contains("kernel warning attributed by module", quarantine.Message, StringComparison.Ordinal);
            Assert.Contains(history, o => o.Operation == "unload" && o.Caller == "livepatchd (Health:OnKernelWarning=revert)" && o.Outcome == "completed");
            var status = await daemon.Client.GetStatusAsync(new GetStatusRequest());
            Assert.Equal("lp_a", Assert.Single(status.Health.Quarantined).Name);
            await first.StopAsync();
        }

        Assert.True(File.Exists(Path.Combine(_directory, "state", "quarantine.json")));
        var loads = _kernel.LoadCalls;
        await using (var daemon = await StartAsync(null, "Health:OnKernelWarning=Revert"))
        {
            StartupApply apply = null!;
            await DaemonHarness.WaitForAsync(async () => (apply = (await daemon.Client.GetStatusAsync(new GetStatusRequest())).StartupApply).State == StartupApplyState.Done);
            var result = Assert.Single(apply.Results);
            Assert.Equal(("lp_a", ApplyOutcome.Quarantined, "patch-quarantined"), (result.Name, result.Outcome, result.Reason));
            Assert.Contains("quarantined at", result.Message, StringComparison.Ordinal);
            Assert.Equal(loads, _kernel.LoadCalls);
            var applied = await daemon.Client.ApplyInstalledAsync(new ApplyInstalledRequest());
            Assert.Equal(ApplyOutcome.Quarantined, Assert.Single(applied.Results).Outcome);

            var released = await daemon.Client.ReleaseQuarantineAsync(new ReleaseQuarantineRequest { Name = "lp_a" });
            Assert.Contains("released lp_a", released.Message, StringComparison.Ordinal);
            Assert.Empty((await daemon.Client.GetHealthAsync(new GetHealthRequest())).Quarantined);
            var again = await Assert.ThrowsAsync<RpcException>(() => daemon.Client.ReleaseQuarantineAsync(new ReleaseQuarantineRequest { Name = "lp_a" }).ResponseAsync);
            Assert.Equal("not-quarantined", Reason(again));
            Assert.Equal(ApplyOutcome.Applied, Assert.Single((await daemon.Client.ApplyInstalledAsync(new ApplyInstalledRequest())).Results).Outcome);
            var history = (await daemon.Client.GetHistoryAsync(new GetHistoryRequest { Patch = "lp_a" })).Operations;
            Assert.Contains(history, o => o.Operation == "release" && o.Outcome == "completed");
        }
    }

    [Fact]
    public async Task Old_records_and_another_modules_warning_touch_nothing_and_alert_keeps_the_patch_and_signals_on_the_bus()
    {
        // Written before the daemon starts: the guard reads from the end, so this never counts.
        Warn("lp_b_cmdline_show", "lp_b");
        await using var bus = await DBusTestBus.StartAsync();
        using var monitor = await bus.MonitorAsync();
        await using var daemon = await StartAsync(bus.Address, "Health:OnKernelWarning=Alert");
        await WaitHealthAsync(daemon, h => h.Reader == "watching");
        // A patch applied behind livepatchd's back: its transition completes while the guard watches.
        _fixture.AddPatch("lp_b", transition: true).Object("vmlinux").Function("cmdline_proc_show");
        _fixture.SetTransition("lp_b", false);
        await WaitHealthAsync(daemon, h => h.Windows.Any(w => w.Patch == "lp_b"));

        Warn("lp_noisy_warn_set", "lp_noisy");
        var health = await WaitHealthAsync(daemon, h => h.Reports.Count == 1);
        var unrelated = Assert.Single(health.Reports);
        Assert.Equal(("", "none", HealthAction.None), (unrelated.Patch, unrelated.Attribution, unrelated.Action));
        Assert.Contains("no reliable frame is in lp_b", unrelated.Evidence, StringComparison.Ordinal);

        Warn("lp_b_cmdline_show", "lp_b");
        health = await WaitHealthAsync(daemon, h => h.Reports.Count == 2);
        var alert = health.Reports[1];
        Assert.Equal(("lp_b", "module", HealthAction.Alert), (alert.Patch, alert.Attribution, alert.Action));
        Assert.Contains("stays loaded", alert.Outcome, StringComparison.Ordinal);
        Assert.Empty(health.Quarantined);
        Assert.True(Directory.Exists(Path.Combine(_fixture.LivepatchDir, "lp_b")));

        var signal = await monitor.WaitForLineAsync(l => l.Contains("org.livepatchd.Agent1.KernelHealthReport", StringComparison.Ordinal) && l.Contains("'lp_b'", StringComparison.Ordinal));
        Assert.Contains("('warning', 'lp_b', 'module', 'alert', 'kernel warning attributed to lp_b by module", signal, StringComparison.Ordinal);
        Assert.Contains("KernelHealthReport ('warning', '', 'none', 'none',", monitor.Transcript, StringComparison.Ordinal);
    }
}
