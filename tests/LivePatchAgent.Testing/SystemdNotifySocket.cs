using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace LivePatchAgent.Testing;

/// <summary>One sd_notify datagram as the service manager would receive it.</summary>
public sealed record NotifyMessage(TimeSpan At, string Text)
{
    /// <summary>The assignments, e.g. READY → 1, STATUS → "2 patches enabled, idle".</summary>
    public IReadOnlyDictionary<string, string> Fields { get; } = Text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
        .Select(l => l.Split('=', 2))
        .ToDictionary(p => p[0], p => p.Length > 1 ? p[1] : string.Empty, StringComparer.Ordinal);

    public bool Is(string name, string value) => Fields.TryGetValue(name, out var v) && v == value;

    public string? Status => Fields.GetValueOrDefault("STATUS");
}

/// <summary>
/// A real NOTIFY_SOCKET: a datagram socket bound by the test, at a path or in the abstract namespace, that
/// records every message with the time it arrived.
/// </summary>
public sealed class SystemdNotifySocket : IDisposable
{
    private readonly Socket _socket;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Channel<NotifyMessage> _incoming = Channel.CreateUnbounded<NotifyMessage>();
    private readonly List<NotifyMessage> _all = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly string? _path;

    private SystemdNotifySocket(string address, UnixDomainSocketEndPoint endpoint, string? path)
    {
        Address = address;
        _path = path;
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _socket.Bind(endpoint);
        _ = Task.Run(ReceiveAsync);
    }

    /// <summary>The value for NOTIFY_SOCKET.</summary>
    public string Address { get; }

    /// <summary>Runs on the receiving thread the moment a message arrives, before anyone else sees it.</summary>
    public Action<NotifyMessage>? OnReceived { get; set; }

    /// <summary>Every message so far, in order.</summary>
    public IReadOnlyList<NotifyMessage> Messages
    {
        get
        {
            lock (_all)
            {
                return [.. _all];
            }
        }
    }

    public static SystemdNotifySocket AtPath(string directory)
    {
        var path = Path.Combine(directory, "notify.sock");
        return new SystemdNotifySocket(path, new UnixDomainSocketEndPoint(path), path);
    }

    public static SystemdNotifySocket Abstract()
    {
        var name = "lpd-notify-" + Guid.NewGuid().ToString("N")[..12];
        return new SystemdNotifySocket("@" + name, new UnixDomainSocketEndPoint("\0" + name), null);
    }

    /// <summary>Waits for the next message (in arrival order) that matches; fails after <paramref name="timeout"/>.</summary>
    public async Task<NotifyMessage> WaitForAsync(Func<NotifyMessage, bool> match, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        using var cts = new CancellationTokenSource(limit);
        try
        {
            while (await _incoming.Reader.WaitToReadAsync(cts.Token))
            {
                while (_incoming.Reader.TryRead(out var message))
                {
                    if (match(message))
                    {
                        return message;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }

        throw new TimeoutException($"no matching notification within {limit}; received:\n{string.Join("\n", Messages.Select(m => $"{m.At.TotalMilliseconds:F0} ms: {m.Text.Replace('\n', '|')}"))}");
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        _stop.Dispose();
        if (_path is not null && File.Exists(_path))
        {
            File.Delete(_path);
        }
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[4096];
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var n = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token);
                var message = new NotifyMessage(_clock.Elapsed, Encoding.UTF8.GetString(buffer, 0, n));
                OnReceived?.Invoke(message);
                lock (_all)
                {
                    _all.Add(message);
                }

                await _incoming.Writer.WriteAsync(message);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            _incoming.Writer.TryComplete();
        }
    }
}
