using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using LivePatchAgent.Client;
using LivePatchAgent.Linux.Native;
using Microsoft.Extensions.DependencyInjection;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// Runs the real daemon entry point (<c>DaemonProgram.RunAsync</c>: argument parsing, configuration check, host,
/// Kestrel on a Unix socket) in-process against a fixture root, on a temporary socket and state directory.
/// </summary>
public sealed class DaemonHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly StringWriter _output = new();
    private readonly StringWriter _error = new();
    private Task<int>? _run;
    private string? _dbusAddress;

    private DaemonHarness(string directory)
    {
        Directory = directory;
        SocketPath = Path.Combine(directory, "livepatchd.sock");
        StateDir = Path.Combine(directory, "state");
        ConfigFile = Path.Combine(directory, "livepatchd.json");
        File.WriteAllText(ConfigFile, "{}");
    }

    public string Directory { get; }

    public string SocketPath { get; }

    public string StateDir { get; }

    public string ConfigFile { get; }

    public GrpcChannel Channel { get; private set; } = null!;

    public Agent.AgentClient Client { get; private set; } = null!;

    /// <summary>What the daemon wrote to its (redirected) stdout and stderr writers.</summary>
    public string Errors => _error.ToString();

    /// <summary>The daemon's exit code once it stopped.</summary>
    public Task<int> Exited => _run ?? Task.FromResult(-1);

    /// <summary>The arguments the harness passes; tests can run the same daemon through them.</summary>
    public string[] Arguments(string hostRoot, params string[] settings) =>
    [
        "--config", ConfigFile,
        "--host-root", hostRoot,
        "--socket", SocketPath,
        "--state-dir", StateDir,
        // Without a private bus the daemon must not touch the machine's system bus.
        _dbusAddress is null ? "--no-dbus" : $"DBus:Address={_dbusAddress}",
        // Fast polling keeps the tests quick; the defaults are covered by the configuration tests.
        "Watch:IdleInterval=00:00:00.050",
        "Watch:TransitionInterval=00:00:00.020",
        // Never the machine's vendor store; tests that use one name their own (a later setting wins).
        $"Paths:VendorStoreDir={Path.Combine(Directory, "vendor")}",
        .. settings,
    ];

    public static Task<DaemonHarness> StartAsync(SysfsFixture fixture, params string[] settings) =>
        StartAsync(fixture, new DaemonHarnessOptions(), settings);

    /// <summary>Starts the daemon with <paramref name="loader"/> standing in for the kernel's module syscalls.</summary>
    public static Task<DaemonHarness> StartAsync(SysfsFixture fixture, IKernelModuleLoader? loader, params string[] settings) =>
        StartAsync(fixture, new DaemonHarnessOptions { Loader = loader }, settings);

    /// <summary>Starts the daemon with D-Bus on a private bus and/or systemd settings (see <see cref="DaemonHarnessOptions"/>).</summary>
    internal static async Task<DaemonHarness> StartAsync(SysfsFixture fixture, DaemonHarnessOptions options, params string[] settings)
    {
        // Short directory: sun_path holds 107 bytes.
        var directory = options.Directory ?? Path.Combine(Path.GetTempPath(), "lpd-" + Guid.NewGuid().ToString("N")[..10]);
        System.IO.Directory.CreateDirectory(directory);
        var harness = new DaemonHarness(directory) { _dbusAddress = options.DBusAddress };
        void Overrides(IServiceCollection services)
        {
            // The systemd variables are process-wide; each in-process daemon gets its own (none by default), so
            // parallel tests never see each other's NOTIFY_SOCKET, nor the test runner's.
            services.AddSingleton(options.Systemd);
            if (options.Loader is not null)
            {
                services.AddSingleton(options.Loader);
            }

            options.Services?.Invoke(services);
        }

        await harness.StartAsync(harness.Arguments(fixture.Root, settings), Overrides).ConfigureAwait(false);
        return harness;
    }

    private async Task StartAsync(string[] args, Action<IServiceCollection>? overrides)
    {
        _run = Task.Run(() => DaemonProgram.RunAsync(args, _output, _error, overrides, _stop.Token));
        Channel = AgentChannel.Create(SocketPath);
        Client = new Agent.AgentClient(Channel);

        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_run.IsCompleted)
            {
                throw new InvalidOperationException($"livepatchd exited with {await _run.ConfigureAwait(false)}: {Errors}");
            }

            if (File.Exists(SocketPath))
            {
                try
                {
                    await Client.GetStatusAsync(new GetStatusRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                    return;
                }
                catch (RpcException) when (deadline.Elapsed < TimeSpan.FromSeconds(30))
                {
                }
            }

            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new TimeoutException($"livepatchd did not start serving on {SocketPath}: {Errors}");
            }

            await Task.Delay(20).ConfigureAwait(false);
        }
    }

    /// <summary>Polls until <paramref name="condition"/> holds (tests must not rely on fixed sleeps).</summary>
    public static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(10);
        var watch = Stopwatch.StartNew();
        while (!await condition().ConfigureAwait(false))
        {
            if (watch.Elapsed > limit)
            {
                throw new TimeoutException($"condition not met within {limit}");
            }

            await Task.Delay(20).ConfigureAwait(false);
        }
    }

    public async Task<int> StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        return _run is null ? 0 : await _run.WaitAsync(TimeSpan.FromSeconds(30)).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        Channel?.Dispose();
        _stop.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>How <see cref="DaemonHarness"/> starts the daemon beyond the defaults.</summary>
internal sealed record DaemonHarnessOptions
{
    /// <summary>A private bus to publish org.livepatchd.Agent1 on; null runs with --no-dbus.</summary>
    public string? DBusAddress { get; init; }

    /// <summary>What the daemon believes the service manager told it (NOTIFY_SOCKET, WATCHDOG_USEC, ...).</summary>
    public LivePatchAgent.Daemon.Hosting.SystemdEnvironment Systemd { get; init; } = LivePatchAgent.Daemon.Hosting.SystemdEnvironment.None;

    public IKernelModuleLoader? Loader { get; init; }

    /// <summary>Further service replacements, applied last (e.g. a TimeProvider that can stall the watcher).</summary>
    public Action<IServiceCollection>? Services { get; init; }

    /// <summary>The directory for the socket, state and config (deleted on dispose); a new temporary one when null.</summary>
    public string? Directory { get; init; }
}
