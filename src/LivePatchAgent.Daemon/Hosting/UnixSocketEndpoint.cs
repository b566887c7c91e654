using System.Net.Sockets;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Linux.Native;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Hosting;

/// <summary>
/// Owns the daemon's socket file. Before Kestrel binds, a leftover file is removed only when nothing answers on
/// it, so a second daemon never steals the socket of a running one. After the bind, the file mode is set from
/// configuration: Kestrel creates the socket with the process umask and has no mode option.
/// </summary>
internal static class UnixSocketEndpoint
{
    /// <summary>Creates the socket's directory and clears a stale socket file. Throws when the path is in use.</summary>
    public static bool Prepare(string socketPath)
    {
        var dir = Path.GetDirectoryName(socketPath)!;
        try
        {
            Directory.CreateDirectory(dir);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DaemonStartException($"cannot create the socket directory {dir}: {e.Message}; run as root or pass --socket", e);
        }

        switch (FileKinds.Of(socketPath))
        {
            case FileKind.Missing:
                return false;
            case FileKind.Socket:
                break;
            case var kind:
                throw new DaemonStartException($"{socketPath} exists and is a {kind.ToString().ToLowerInvariant()}, not a socket; refusing to replace it");
        }

        using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            probe.Connect(new UnixDomainSocketEndPoint(socketPath));
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused)
        {
            // Nobody listens: a leftover from a daemon that did not shut down cleanly.
            File.Delete(socketPath);
            return true;
        }
        catch (SocketException e)
        {
            throw new DaemonStartException($"cannot check whether {socketPath} is in use: {e.Message}", e);
        }

        throw new DaemonStartException($"another livepatchd is already serving {socketPath}; stop it first (systemctl stop livepatchd) or pass another --socket");
    }
}

/// <summary>Sets the socket file mode once Kestrel has bound it, before the host reports started (READY=1).</summary>
internal sealed class SocketPermissions(IOptions<ApiOptions> options) : IHostedLifecycleService
{
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        File.SetUnixFileMode(options.Value.SocketPath, options.Value.GetSocketMode());
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>The daemon cannot start for a reason the operator can fix; exit code 1.</summary>
internal sealed class DaemonStartException(string message, Exception? inner = null) : Exception(message, inner);
