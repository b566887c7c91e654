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

    private static Task<LpctlRun> AsNobodyAsync(DaemonHarness daemon, string? groups, params string[] args) =>
        AsNobodyAsync(daemon.Directory, daemon.SocketPath, groups, args);

    private static async Task<LpctlRun> AsNobodyAsync(string directory, string socketPath, string? groups, params string[] args)
    {
        // The daemon's directory is root's; let nobody reach the socket, as /run/livepatchd allows in production.
        File.SetUnixFileMode(directory, (UnixFileMode)0x1ED);
        var lpctl = LpctlProcess.StartInfo(["--socket", socketPath, .. args], null);
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

    [Fact]
    public async Task An_admin_group_the_host_does_not_know_is_named_in_the_refusal()
    {
        await using var daemon = await DaemonHarness.StartAsync(_fixture, "Access:AdminGroup=lpa-nosuch");

        var result = await AsNobodyAsync(daemon, "100", "unload", "lpdemo_v1");

        Assert.True(result.ExitCode == 4, result.ToString());
        Assert.Contains("run it as root or as a member of the group lpa-nosuch (there is no group \"lpa-nosuch\" in the group database)", result.Error, StringComparison.Ordinal);
    }

    /// <summary>
    /// A group that exists only through NSS, as one from LDAP or sssd does: nss_wrapper (Debian's libnss-wrapper,
    /// preloaded) gives the daemon's process a group database of its own, in which lpnss-admins is gid 4242; the
    /// host's /etc/group does not have it. The daemon runs as a process, since the preload must be there at exec.
    /// </summary>
    [Fact]
    public async Task An_admin_group_that_exists_only_through_NSS_counts()
    {
        var multiarch = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture == System.Runtime.InteropServices.Architecture.Arm64 ? "aarch64" : "x86_64";
        var wrapper = $"/usr/lib/{multiarch}-linux-gnu/libnss_wrapper.so";
        Assert.True(File.Exists(wrapper), $"{wrapper} is missing: run `make setup` (Debian package libnss-wrapper)");
        Assert.DoesNotContain("lpnss-admins", File.ReadAllText("/etc/group"), StringComparison.Ordinal);
        var directory = Path.Combine(Path.GetTempPath(), "lpn-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(directory);
        var socket = Path.Combine(directory, "livepatchd.sock");
        var passwd = Path.Combine(directory, "passwd");
        var group = Path.Combine(directory, "group");
        File.WriteAllText(passwd, "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
        File.WriteAllText(group, "root:x:0:\nnogroup:x:65534:\nlpnss-admins:x:4242:\n");
        File.WriteAllText(Path.Combine(directory, "livepatchd.json"), "{}");
        using var daemon = ToolProcess.Start("env", [
            "LD_PRELOAD=" + wrapper, "NSS_WRAPPER_PASSWD=" + passwd, "NSS_WRAPPER_GROUP=" + group,
            "DOTNET_ROOT=" + SystemdProcessTests.DotnetRoot(), SystemdProcessTests.DaemonBinary(),
            "--config", Path.Combine(directory, "livepatchd.json"), "--host-root", _fixture.Root, "--socket", socket,
            "--state-dir", Path.Combine(directory, "state"), "--no-dbus", "Access:AdminGroup=lpnss-admins"]);
        daemon.StandardInput.Close();
        _ = daemon.StandardOutput.ReadToEndAsync();
        var log = daemon.StandardError.ReadToEndAsync();
        try
        {
            await DaemonHarness.WaitForAsync(() => Task.FromResult(File.Exists(socket) || daemon.HasExited), TimeSpan.FromSeconds(60));
            Assert.False(daemon.HasExited, $"livepatchd exited with {(daemon.HasExited ? daemon.ExitCode : 0)}");

            var member = await AsNobodyAsync(directory, socket, "4242", "unload", "lpdemo_v1");
            var stranger = await AsNobodyAsync(directory, socket, "100", "unload", "lpdemo_v1");

            Assert.True(member.ExitCode == 1, member.ToString()); // authorized: the daemon looked and found no such patch
            Assert.Contains("is not loaded", member.Error, StringComparison.Ordinal);
            Assert.True(stranger.ExitCode == 4, stranger.ToString());
            Assert.Contains("run it as root or as a member of the group lpnss-admins", stranger.Error, StringComparison.Ordinal);
            Assert.DoesNotContain("group database", stranger.Error, StringComparison.Ordinal);
        }
        finally
        {
            if (!daemon.HasExited)
            {
                await ToolProcess.RunAsync("kill", ["-TERM", daemon.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            }

            await daemon.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Directory.Delete(directory, recursive: true);
        }

        Assert.Contains("Access:AdminGroup lpnss-admins is gid 4242", await log, StringComparison.Ordinal);
    }
}
