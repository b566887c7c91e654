using System.Diagnostics;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// Callers with other uids, for real: lpctl runs under setpriv as nobody, with and without the admin group, and
/// the daemon decides from SO_PEERCRED.
/// </summary>
public sealed class DaemonAuthorizationTests : IDisposable
{
    private readonly SysfsFixture _fixture = SysfsFixture.Create();

    public void Dispose() => _fixture.Dispose();

    private static async Task<LpctlRun> AsNobodyAsync(DaemonHarness daemon, string? groups, params string[] args)
    {
        // The daemon's directory is root's; let nobody reach the socket, as /run/livepatchd allows in production.
        File.SetUnixFileMode(daemon.Directory, (UnixFileMode)0x1ED);
        var lpctl = LpctlProcess.StartInfo(["--socket", daemon.SocketPath, .. args], null);
        var info = new ProcessStartInfo("setpriv")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in lpctl.Environment)
        {
            info.Environment[key] = value;
        }

        info.Environment["HOME"] = "/tmp";
        foreach (var a in new[] { "--reuid=65534", "--regid=65534", groups is null ? "--clear-groups" : $"--groups={groups}", "--", lpctl.FileName })
        {
            info.ArgumentList.Add(a);
        }

        foreach (var a in lpctl.ArgumentList)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
        return new LpctlRun(process.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task Anyone_may_read_state()
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var result = await AsNobodyAsync(daemon, null, "status");

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Theory]
    [InlineData("unload", "lpdemo_v1")]
    [InlineData("revert", "lpdemo_v1")]
    [InlineData("kick", "lpdemo_v1")]
    [InlineData("blocking")] // with stacks, the default
    [InlineData("force", "lpdemo_v1", "--yes")]
    [InlineData("uninstall", "lpdemo_v1")]
    [InlineData("apply")]
    [InlineData("history")]
    [InlineData("load", "MODULE")]
    [InlineData("install", "MODULE")]
    public async Task A_non_admin_is_refused_with_exit_4(params string[] command)
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture);
        // A module nobody can read: lpctl reads it and the daemon refuses the upload, not the file system.
        var module = Path.Combine(daemon.Directory, "lpdemo_v1.ko");
        File.WriteAllBytes(module, ModuleImage.Default());
        File.SetUnixFileMode(module, (UnixFileMode)0x1A4);

        var result = await AsNobodyAsync(daemon, null, [.. command.Select(a => a == "MODULE" ? module : a)]);

        Assert.True(result.ExitCode == 4, result.ToString());
        Assert.Contains("for administrators", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_non_admin_may_ask_for_blocking_tasks_without_stacks()
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture);

        var result = await AsNobodyAsync(daemon, null, "blocking", "--no-stacks");

        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task A_member_of_the_admin_group_passes_the_check()
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture, "Access:AdminGroup=users");

        var result = await AsNobodyAsync(daemon, "100", "unload", "lpdemo_v1");

        Assert.True(result.ExitCode == 1, result.ToString()); // authorized: the daemon looked and found no such patch
        Assert.Contains("is not loaded", result.Error, StringComparison.Ordinal);
    }
}
