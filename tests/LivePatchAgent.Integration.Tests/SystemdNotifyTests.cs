using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using LivePatchAgent.Daemon.Hosting;

namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// The real daemon (in-process) against a real NOTIFY_SOCKET bound by the test. Each daemon gets its own
/// settings through the harness, so these tests run in parallel without touching the process environment.
/// </summary>
public sealed class SystemdNotifyTests : IDisposable
{
    private readonly SysfsFixture _fixture = SysfsFixture.Create();
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "lpn-" + Guid.NewGuid().ToString("N")[..10]);

    public SystemdNotifyTests()
    {
        Directory.CreateDirectory(_directory);
        _fixture.AddPatch("lpdemo_v1").Object("vmlinux").Function("cmdline_proc_show");
        _fixture.AddPatch("lpdemo_v2").Object("vmlinux").Function("meminfo_proc_show");
    }

    private string SocketPath => Path.Combine(_directory, "livepatchd.sock");

    public void Dispose()
    {
        _fixture.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }

    [Fact]
    public async Task READY_comes_once_when_the_socket_listens_with_its_mode_and_STOPPING_on_stop()
    {
        using var notify = SystemdNotifySocket.AtPath(_directory);
        string? atReady = null;
        // Checked on the receiving thread the moment READY=1 arrives: a client must be able to connect then.
        notify.OnReceived = m =>
        {
            if (m.Is("READY", "1"))
            {
                atReady = Probe(SocketPath);
            }
        };

        var daemon = await StartAsync(new SystemdEnvironment { NotifySocket = notify.Address });
        var ready = await notify.WaitForAsync(m => m.Is("READY", "1"));
        var exit = await daemon.StopAsync();
        await notify.WaitForAsync(m => m.Is("STOPPING", "1"));
        await daemon.DisposeAsync();

        Assert.Equal("connected, mode 666", atReady);
        // The first snapshot is in before READY: the status already counts the fixture's patches.
        Assert.Equal("2 patches enabled, idle", ready.Status);
        Assert.Single(notify.Messages, m => m.Fields.ContainsKey("READY"));
        Assert.Equal(0, exit);
    }

    [Fact]
    public async Task STATUS_follows_the_state()
    {
        using var notify = SystemdNotifySocket.AtPath(_directory);
        await using var daemon = await StartAsync(new SystemdEnvironment { NotifySocket = notify.Address });
        await notify.WaitForAsync(m => m.Is("READY", "1"));

        _fixture.SetTransition("lpdemo_v2", true);
        await notify.WaitForAsync(m => m.Status == "transition running: lpdemo_v2 (patching), 1 patch enabled");
        _fixture.SetTransition("lpdemo_v2", false);
        await notify.WaitForAsync(m => m.Status == "2 patches enabled, idle");
        _fixture.WithoutLivepatch();
        await notify.WaitForAsync(m => m.Status == "livepatch unsupported by this kernel");

        // One STATUS per change of the line, not one per poll (the watcher polls every 50 ms here).
        var statuses = notify.Messages.Where(m => m.Status is not null).Select(m => m.Status).ToList();
        Assert.Equal(statuses.Count, statuses.Zip(statuses.Skip(1).Append(null)).Count(p => p.First != p.Second));
        Assert.InRange(statuses.Count, 4, 6);
    }

    [Fact]
    public async Task WATCHDOG_comes_at_half_the_timeout_stops_while_the_watcher_loop_stalls_and_resumes()
    {
        using var notify = SystemdNotifySocket.AtPath(_directory);
        var time = new StallableTimeProvider();
        await using var daemon = await DaemonHarness.StartAsync(_fixture, new DaemonHarnessOptions
        {
            Directory = _directory,
            Systemd = new SystemdEnvironment { NotifySocket = notify.Address, WatchdogUsec = 400_000 },
            Services = services => services.AddSingleton<TimeProvider>(time),
        });
        await notify.WaitForAsync(m => m.Is("READY", "1"));
        var pings = new List<NotifyMessage>();
        while (pings.Count < 6)
        {
            pings.Add(await notify.WaitForAsync(m => m.Is("WATCHDOG", "1")));
        }

        // WATCHDOG_USEC=400000: a ping every 200 ms. The bounds are wide on purpose: this checks the period is half
        // the timeout and not, say, the whole of it or a busy loop; it is not a timing test (machines are shared).
        var mean = (pings[^1].At - pings[0].At) / (pings.Count - 1);
        Assert.InRange(mean.TotalMilliseconds, 100, 390);

        // The watcher's next sleep never ends: its loop is stuck, while everything else runs.
        time.Stall();
        var stalled = await WaitForStallAsync(notify);

        time.Resume();
        var recovered = await notify.WaitForAsync(m => m.Status == "2 patches enabled, idle");
        var resumed = await notify.WaitForAsync(m => m.Is("WATCHDOG", "1"));
        Assert.True(recovered.At > stalled.At && resumed.At >= recovered.At);
    }

    [Fact]
    public async Task A_hung_kernel_read_stops_WATCHDOG()
    {
        using var notify = SystemdNotifySocket.AtPath(_directory);
        await using var daemon = await StartAsync(new SystemdEnvironment { NotifySocket = notify.Address, WatchdogUsec = 400_000 });
        await notify.WaitForAsync(m => m.Is("WATCHDOG", "1"));

        var fifo = HangTheNextKernelRead();
        try
        {
            await WaitForStallAsync(notify);
        }
        finally
        {
            Release(fifo);
        }
    }

    [Fact]
    public async Task A_crashed_background_loop_makes_the_daemon_exit_1_for_Restart_on_failure()
    {
        using var notify = SystemdNotifySocket.AtPath(_directory);
        var daemon = await DaemonHarness.StartAsync(_fixture, new DaemonHarnessOptions
        {
            Directory = _directory,
            Systemd = new SystemdEnvironment { NotifySocket = notify.Address },
            Services = services => services.AddHostedService<CrashingLoop>(),
        });

        await notify.WaitForAsync(m => m.Is("STOPPING", "1"));
        var exit = await daemon.Exited.WaitAsync(TimeSpan.FromSeconds(30));
        await daemon.DisposeAsync();

        Assert.Equal(1, exit);
    }

    [Fact]
    public async Task Without_NOTIFY_SOCKET_nothing_is_sent_and_the_daemon_serves()
    {
        using var notify = SystemdNotifySocket.AtPath(_directory);
        await using var daemon = await StartAsync(SystemdEnvironment.None);

        var status = await daemon.Client.GetStatusAsync(new Protocol.V1.GetStatusRequest());

        Assert.Equal(2U, status.PatchCount);
        Assert.Empty(notify.Messages);
    }

    private Task<DaemonHarness> StartAsync(SystemdEnvironment systemd) =>
        DaemonHarness.StartAsync(_fixture, new DaemonHarnessOptions { Directory = _directory, Systemd = systemd });

    private static string Probe(string socketPath)
    {
        try
        {
            using var client = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            client.Connect(new UnixDomainSocketEndPoint(socketPath));
            return $"connected, mode {Convert.ToString((int)File.GetUnixFileMode(socketPath), 8)}";
        }
        catch (SocketException e)
        {
            return $"not listening: {e.SocketErrorCode}";
        }
    }

    /// <summary>
    /// Waits until the watchdog is withheld: the status says the watcher stalled, and between that status and its
    /// refresh a second later (five watchdog periods) no WATCHDOG=1 arrives.
    /// </summary>
    private static async Task<NotifyMessage> WaitForStallAsync(SystemdNotifySocket notify)
    {
        static bool Stalled(NotifyMessage m) => m.Status?.StartsWith("kernel watcher stalled: no poll for", StringComparison.Ordinal) == true;
        var stalled = await notify.WaitForAsync(Stalled);
        var refreshed = await notify.WaitForAsync(m => Stalled(m) && m.Status != stalled.Status);

        // A loaded machine may deliver the two statuses closer together than their 1 s cadence; one watchdog period
        // in between is enough to show that pings are withheld.
        Assert.True(refreshed.At - stalled.At >= TimeSpan.FromMilliseconds(200), "the window spans at least one watchdog period");
        Assert.DoesNotContain(notify.Messages, m => m.Is("WATCHDOG", "1") && m.At > stalled.At && m.At < refreshed.At);
        return stalled;
    }

    /// <summary>
    /// Replaces /proc/sys/kernel/tainted with a symlink to a FIFO that nobody writes: the watcher's next poll
    /// blocks in open(2), as a hung kernel read would. No seam: the real poll is stuck.
    /// </summary>
    private string HangTheNextKernelRead()
    {
        var fifo = Path.Combine(_fixture.Root, "hang.fifo");
        var mkfifo = ToolProcess.RunAsync("mkfifo", [fifo]).GetAwaiter().GetResult();
        Assert.True(mkfifo.ExitCode == 0, mkfifo.ToString());
        var tainted = Path.Combine(_fixture.Root, "proc/sys/kernel/tainted");
        File.CreateSymbolicLink(tainted + ".hang", fifo);
        File.Move(tainted + ".hang", tainted, overwrite: true);
        return fifo;
    }

    /// <summary>
    /// Puts a regular file back and opens the FIFO read-write (which never blocks), so the stuck open returns and the
    /// daemon can shut down. The reader then meets a pipe it cannot read with an offset and its loop fails; this
    /// test only asserts what happened while it hung.
    /// </summary>
    private void Release(string fifo)
    {
        _fixture.WithTaint(0);
        using var stream = new FileStream(fifo, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);
        stream.Write("0\n"u8);
    }

    /// <summary>A background loop that fails after start, as a bug in one would.</summary>
    private sealed class CrashingLoop : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await Task.Delay(200, stoppingToken);
            throw new InvalidOperationException("injected failure of a background loop");
        }
    }
}

/// <summary>
/// Real time, except that while stalled, timers created through it do not start until <see cref="Resume"/>. The
/// kernel watcher sleeps with Task.Delay(interval, TimeProvider) before every poll, so its loop stops dead;
/// timers made earlier (the watchdog's PeriodicTimer) keep running.
/// </summary>
internal sealed class StallableTimeProvider : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<HeldTimer> _held = [];
    private bool _stalled;

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow();

    public override long GetTimestamp() => System.GetTimestamp();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        lock (_lock)
        {
            if (!_stalled)
            {
                return System.CreateTimer(callback, state, dueTime, period);
            }

            var timer = new HeldTimer(callback, state, dueTime, period);
            _held.Add(timer);
            return timer;
        }
    }

    public void Stall()
    {
        lock (_lock)
        {
            _stalled = true;
        }
    }

    public void Resume()
    {
        HeldTimer[] held;
        lock (_lock)
        {
            _stalled = false;
            held = [.. _held];
            _held.Clear();
        }

        foreach (var timer in held)
        {
            timer.Start();
        }
    }

    private sealed class HeldTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) : ITimer
    {
        private readonly Lock _lock = new();
        private ITimer? _timer;
        private bool _disposed;

        public void Start()
        {
            lock (_lock)
            {
                if (!_disposed)
                {
                    _timer = System.CreateTimer(callback, state, dueTime, period);
                }
            }
        }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (_lock)
            {
                return _timer?.Change(dueTime, period) ?? !_disposed;
            }
        }

        public void Dispose()
        {
            lock (_lock)
            {
                _disposed = true;
                _timer?.Dispose();
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return default;
        }
    }
}
