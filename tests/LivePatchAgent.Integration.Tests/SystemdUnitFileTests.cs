using System.Globalization;
using System.Text.RegularExpressions;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.Hosting;
using Xunit.Abstractions;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// The files in systemd/, checked with systemd's own tools against a scratch root (PID 1 need not be systemd):
/// `systemd-analyze verify` and `security --offline`, systemd-tmpfiles and systemd-sysusers. The units are the
/// ones `make units` makes from systemd/*.in, as the packages install them.
/// </summary>
public sealed partial class SystemdUnitFileTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "lpu-" + Guid.NewGuid().ToString("N")[..10]);

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task systemd_analyze_verify_is_clean()
    {
        await PrepareRootAsync();

        var run = await ToolProcess.RunAsync("systemd-analyze", ["verify", "--man=no", "--root=" + _root, "livepatchd.service", "livepatchd.socket"]);

        // verify exits 0 even for unknown keys; clean means it printed nothing at all.
        Assert.True(run.ExitCode == 0 && run.Out.Length == 0 && run.Error.Length == 0, run.ToString());
    }

    [Fact]
    public async Task The_security_exposure_is_at_most_3_and_docs_explain_every_open_setting()
    {
        await PrepareRootAsync();

        var run = await ToolProcess.RunAsync("systemd-analyze", ["security", "--offline=true", "--no-pager", "--root=" + _root, "livepatchd.service"]);
        output.WriteLine(run.Out);

        var score = Exposure().Match(run.Out);
        Assert.True(score.Success, run.ToString());
        var exposure = double.Parse(score.Groups["score"].Value, CultureInfo.InvariantCulture);
        Assert.InRange(exposure, 0, 3.0);
        // Markdown tables escape '|' in code spans.
        var docs = File.ReadAllText(DBusTestBus.RepositoryFile("docs/systemd.md")).Replace("\\|", "|", StringComparison.Ordinal);
        Assert.Contains($"Overall exposure level for livepatchd.service: {score.Groups["score"].Value}", docs, StringComparison.Ordinal);
        var open = OpenSetting().Matches(run.Out).Select(m => m.Groups["setting"].Value).ToList();
        Assert.NotEmpty(open);
        Assert.All(open, setting => Assert.Contains($"`{setting}`", docs, StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_units_keep_the_contract_of_the_daemon()
    {
        var units = await MakeUnitsAsync("PREFIX=/usr");
        var service = Settings(Path.Combine(units, "livepatchd.service"));
        var socket = Settings(Path.Combine(units, "livepatchd.socket"));

        Assert.Equal(["notify"], service["Type"]);
        Assert.Equal(["/usr/libexec/livepatchd/livepatchd"], service["ExecStart"]);
        Assert.Equal(["on-failure"], service["Restart"]);
        Assert.Equal(["78"], service["RestartPreventExitStatus"]);
        Assert.Single(service["WatchdogSec"]);
        // Module loading and sysfs writes must stay possible.
        Assert.False(service.ContainsKey("ProtectKernelModules"));
        Assert.False(service.ContainsKey("ProtectKernelTunables"));
        Assert.Contains("@module", service["SystemCallFilter"].Single(), StringComparison.Ordinal);
        Assert.Contains("CAP_SYS_MODULE", service["CapabilityBoundingSet"].Single(), StringComparison.Ordinal);
        // The livepatch tree, and node_exporter's textfile directory for the metrics (docs/metrics.md).
        Assert.Equal(["-/sys/kernel/livepatch", "-/var/lib/prometheus/node-exporter"], service["ReadWritePaths"]);
        Assert.Equal(["yes"], service["PrivateNetwork"]);
        Assert.Equal(["AF_UNIX"], service["RestrictAddressFamilies"]);
        // The socket is the daemon's default socket, found by the name the daemon looks for.
        Assert.Equal([new ApiOptions().SocketPath], socket["ListenStream"]);
        Assert.Equal([SystemdSocketActivation.GrpcFdName], socket["FileDescriptorName"]);
    }

    [Fact]
    public async Task make_units_fills_in_the_install_layout()
    {
        var units = await MakeUnitsAsync("PREFIX=/opt/lp", "LIBEXECDIR=/opt/lp/lib");

        Assert.Equal(["/opt/lp/lib/livepatchd/livepatchd"], Settings(Path.Combine(units, "livepatchd.service"))["ExecStart"]);
        Assert.DoesNotMatch("@[A-Z_]+@", File.ReadAllText(Path.Combine(units, "livepatchd.service")));
        Assert.DoesNotMatch("@[A-Z_]+@", File.ReadAllText(Path.Combine(units, "livepatchd.socket")));
    }

    [Fact]
    public async Task tmpfiles_and_sysusers_create_the_directories_and_the_admin_group()
    {
        Directory.CreateDirectory(Path.Combine(_root, "etc"));

        var tmpfiles = await ToolProcess.RunAsync("systemd-tmpfiles", ["--create", "--root=" + _root, DBusTestBus.RepositoryFile("systemd/tmpfiles.d/livepatchd.conf")]);
        var sysusers = await ToolProcess.RunAsync("systemd-sysusers", ["--root=" + _root, DBusTestBus.RepositoryFile("systemd/sysusers.d/livepatchd.conf")]);

        Assert.True(tmpfiles.ExitCode == 0 && tmpfiles.Error.Length == 0, tmpfiles.ToString());
        Assert.True(sysusers.ExitCode == 0, sysusers.ToString());
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(_root, "var/lib/livepatchd/patches")));
        Assert.True(Directory.Exists(Path.Combine(_root, "etc/livepatchd/trusted.d")));
        Assert.Contains(File.ReadAllLines(Path.Combine(_root, "etc/group")), l => l.StartsWith("livepatch-admin:", StringComparison.Ordinal));
    }

    /// <summary>A scratch root: the host's own units (for sysinit.target and friends), ours, and an executable at ExecStart=.</summary>
    private async Task PrepareRootAsync()
    {
        Directory.CreateDirectory(Path.Combine(_root, "usr/lib/systemd"));
        Directory.CreateDirectory(Path.Combine(_root, "etc/systemd/system"));
        Directory.CreateDirectory(Path.Combine(_root, "usr/libexec/livepatchd"));
        var copy = await ToolProcess.RunAsync("cp", ["-a", "/usr/lib/systemd/system", Path.Combine(_root, "usr/lib/systemd/")]);
        Assert.True(copy.ExitCode == 0, copy.ToString());
        var units = await MakeUnitsAsync("PREFIX=/usr");
        foreach (var unit in (string[])["livepatchd.service", "livepatchd.socket"])
        {
            File.Copy(Path.Combine(units, unit), Path.Combine(_root, "etc/systemd/system", unit));
        }

        var binary = Path.Combine(_root, "usr/libexec/livepatchd/livepatchd");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "livepatchd"), binary);
        File.SetUnixFileMode(binary, (UnixFileMode)Convert.ToInt32("755", 8));
    }

    /// <summary>`make units` with these variables, into a scratch build directory; returns the directory of the units.</summary>
    private async Task<string> MakeUnitsAsync(params string[] variables)
    {
        var build = Path.Combine(_root, "build-" + Guid.NewGuid().ToString("N")[..6]);
        var repository = Path.GetDirectoryName(DBusTestBus.RepositoryFile("LivePatchAgent.sln"))!;
        var make = await ToolProcess.RunAsync("make", ["-s", "-C", repository, "units", "BUILDDIR=" + build, .. variables]);
        Assert.True(make.ExitCode == 0, make.ToString());
        return Path.Combine(build, "systemd");
    }

    /// <summary>Key → values of a unit file (comments and section headers dropped).</summary>
    private static Dictionary<string, List<string>> Settings(string path)
    {
        var settings = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var line in File.ReadAllLines(path))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (line.StartsWith('#') || line.StartsWith('[') || eq <= 0)
            {
                continue;
            }

            var key = line[..eq];
            if (!settings.TryGetValue(key, out var values))
            {
                settings[key] = values = [];
            }

            values.Add(line[(eq + 1)..]);
        }

        return settings;
    }

    [GeneratedRegex(@"Overall exposure level for livepatchd\.service: (?<score>\d+\.\d)")]
    private static partial Regex Exposure();

    // "✗ CapabilityBoundingSet=~CAP_SYS_ADMIN   Service has administrator privileges   0.3"
    [GeneratedRegex(@"^✗ (?<setting>\S+)", RegexOptions.Multiline)]
    private static partial Regex OpenSetting();
}
