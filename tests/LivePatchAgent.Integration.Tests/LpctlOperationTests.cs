using System.Text.Json;
using Google.Protobuf;
using LivePatchAgent.Linux.Native;
using LivePatchAgent.Protocol.V1;
using Microsoft.Extensions.DependencyInjection;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// Operations as a user meets them: lpctl load followed live, Ctrl-C detaching (the load goes on in livepatchd),
/// lpctl operations, lpctl cancel refused while the kernel runs the transition, lpctl wait following the same
/// operation to its end, and the daemon's Limits:OperationTimeout as the only deadline (lpctl computes none).
/// The daemon's kernel is the <see cref="SimulatedKernel"/>, holding lp_unit's transition until the test lets go.
/// </summary>
public sealed class LpctlOperationTests : IDisposable
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(60);

    private readonly SysfsFixture _fixture = SysfsFixture.Create(ModuleImage.Release);
    private readonly SimulatedKernel _kernel;
    private readonly DirectoryInfo _files = Directory.CreateTempSubdirectory("lpctl-op-");

    public LpctlOperationTests()
    {
        _kernel = new SimulatedKernel(_fixture);
        TrustedCertificateDir.WriteTestCertificate(TrustedDir);
    }

    private string TrustedDir => Path.Combine(_files.FullName, "trusted.d");

    public void Dispose()
    {
        _kernel.Dispose();
        _fixture.Dispose();
        _files.Delete(recursive: true);
    }

    [Fact]
    public async Task Ctrl_c_detaches_cancel_is_refused_while_patching_and_wait_follows_the_load_to_its_end()
    {
        await using var daemon = await StartAsync("Limits:OperationTimeout=00:05:00");
        HoldTransition();
        var file = WriteModule();

        using var load = LpctlProcess.Start("--socket", daemon.SocketPath, "load", file);
        var running = await WaitForRunningAsync(daemon, "patching");
        var id = running.GetProperty("id").GetInt64();
        Assert.Equal("load", running.GetProperty("kind").GetString());
        Assert.Equal("lp_unit", running.GetProperty("patch").GetString());
        // The daemon's deadline, not one lpctl made up.
        Assert.Equal(300, running.GetProperty("timeoutSeconds").GetDouble());

        await load.SignalAsync("INT");

        Assert.Equal(130, await load.WaitForExitAsync(ProcessTimeout));
        Assert.Contains($"detached from operation {id} (load lp_unit, patching): it goes on in livepatchd", load.Error, StringComparison.Ordinal);
        Assert.Contains($"lpctl wait {id}", load.Error, StringComparison.Ordinal);
        var still = await WaitForRunningAsync(daemon, "patching");
        Assert.Equal(id, still.GetProperty("id").GetInt64());
        var table = await Lpctl(daemon, "operations");
        Assert.Matches($@"(?m)^{id} +load +lp_unit +patching ", table.Out);

        var cancel = await Lpctl(daemon, "-o", "json", "cancel", id.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.True(cancel.ExitCode == 1, cancel.ToString());
        Assert.Equal("operation-not-cancellable", cancel.JsonErrorReason());
        Assert.Contains("lpctl revert lp_unit", cancel.Error, StringComparison.Ordinal);

        using var wait = LpctlProcess.Start("--socket", daemon.SocketPath, "-o", "json", "wait", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        _kernel.Stuck.TryRemove("lp_unit", out _);

        Assert.Equal(0, await wait.WaitForExitAsync(ProcessTimeout));
        using (var document = JsonDocument.Parse(wait.RemainingOutput()))
        {
            var operation = document.RootElement.GetProperty("operation");
            Assert.Equal(id, operation.GetProperty("id").GetInt64());
            Assert.Equal("done", operation.GetProperty("phase").GetString());
            Assert.Equal("completed", operation.GetProperty("result").GetProperty("kind").GetString());
        }

        var again = await Lpctl(daemon, "-o", "json", "cancel", id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(again.ExitCode == 1, again.ToString());
        Assert.Equal("operation-not-cancellable", again.JsonErrorReason());
        Assert.Contains("has already ended (completed)", again.Error, StringComparison.Ordinal);
        Assert.Equal(1, _kernel.LoadCalls);
    }

    [Fact]
    public async Task Wait_and_cancel_of_an_unknown_operation_exit_1_with_operation_not_found()
    {
        await using var daemon = await StartAsync();

        var wait = await Lpctl(daemon, "-o", "json", "wait", "987654");
        var cancel = await Lpctl(daemon, "cancel", "987654");
        var bad = await Lpctl(daemon, "wait", "abc");

        Assert.True(wait.ExitCode == 1, wait.ToString());
        Assert.Equal("operation-not-found", wait.JsonErrorReason());
        Assert.True(cancel.ExitCode == 1, cancel.ToString());
        Assert.StartsWith("lpctl: no operation 987654", cancel.Error, StringComparison.Ordinal);
        Assert.True(bad.ExitCode == 2, bad.ToString());
        Assert.Contains("'abc' is not an operation id", bad.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Operations_lists_finished_operations_with_their_result_and_running_only_with_running()
    {
        await using var daemon = await StartAsync();
        var load = await Lpctl(daemon, "load", WriteModule());
        var refused = await Lpctl(daemon, "unload", "nosuch");
        Assert.True(load.ExitCode == 0, load.ToString());
        Assert.True(refused.ExitCode == 1, refused.ToString());

        var all = await Lpctl(daemon, "-o", "json", "operations");
        var running = await Lpctl(daemon, "-o", "json", "operations", "--running");

        using var document = JsonDocument.Parse(all.Out);
        var results = document.RootElement.GetProperty("operations").EnumerateArray()
            .Select(o => $"{o.GetProperty("kind").GetString()} {o.GetProperty("patch").GetString()} {o.GetProperty("result").GetProperty("kind").GetString()}")
            .Order(StringComparer.Ordinal);
        Assert.Equal(["load lp_unit completed", "unload nosuch refused"], results);
        using var none = JsonDocument.Parse(running.Out);
        Assert.Empty(none.RootElement.GetProperty("operations").EnumerateArray());
    }

    /// <summary>The simulated kernel holds lp_unit's patching transition; a reader in the patched function blocks it.</summary>
    private void HoldTransition()
    {
        _kernel.Stuck["lp_unit"] = true;
        _fixture.AddTask(4242, 4242, "reader", 0, ["[<0>] cmdline_proc_show+0x72/0xf0", "[<0>] seq_read_iter+0x11d/0x4b0"],
            cgroup: "0::/system.slice/reader.service", cmdline: "cat /proc/cmdline");
    }

    private string WriteModule()
    {
        var image = new ModuleImage().With("name", "lp_unit");
        image.StructModuleName = "lp_unit";
        var path = Path.Combine(_files.FullName, "lp_unit.ko");
        File.WriteAllBytes(path, TestSigningKey.Trusted.Sign(image.Build()));
        return path;
    }

    /// <summary>Waits until lpctl operations --running shows one operation in <paramref name="phase"/>; returns it.</summary>
    private static async Task<JsonElement> WaitForRunningAsync(DaemonHarness daemon, string phase)
    {
        JsonElement? found = null;
        await DaemonHarness.WaitForAsync(async () =>
        {
            var run = await Lpctl(daemon, "-o", "json", "operations", "--running");
            using var document = JsonDocument.Parse(run.Out);
            foreach (var operation in document.RootElement.GetProperty("operations").EnumerateArray())
            {
                if (operation.GetProperty("phase").GetString() == phase)
                {
                    found = operation.Clone();
                    return true;
                }
            }

            return false;
        });
        return found!.Value;
    }

    private Task<DaemonHarness> StartAsync(params string[] settings) =>
        DaemonHarness.StartAsync(
            _fixture,
            new DaemonHarnessOptions
            {
                Loader = _kernel,
                Services = services => services.AddSingleton<ITaskSignaller>(new NoSignals()),
            },
            [TrustedCertificateDir.SettingFor(TrustedDir), .. settings]);

    private static Task<LpctlRun> Lpctl(DaemonHarness daemon, params string[] args) =>
        LpctlProcess.RunAsync(["--socket", daemon.SocketPath, .. args]);

    /// <summary>Never kill(2): the fixture's pids are made up, and a real process may have one of them.</summary>
    private sealed class NoSignals : ITaskSignaller
    {
        public int StopAndContinue(int pid) => 0;
    }
}
