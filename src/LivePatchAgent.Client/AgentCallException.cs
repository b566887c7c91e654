using System.Net.Sockets;
using Google.Rpc;
using Grpc.Core;
using LivePatchAgent.Core.Errors;

namespace LivePatchAgent.Client;

/// <summary>
/// A call to livepatchd failed. <see cref="Reason"/> is the stable kebab-case reason: the daemon's
/// google.rpc.ErrorInfo reason when it sent one, otherwise one derived from the gRPC status
/// ("daemon-unreachable", "permission-denied", "unknown"). The reason is kept even when this client's catalogue
/// does not know it (a newer daemon), so it is never lost on the way to the user.
/// </summary>
public sealed class AgentCallException : Exception
{
    /// <summary>The ErrorInfo domain livepatchd puts on its errors.</summary>
    public const string DaemonDomain = "livepatchd";

    /// <summary>The reason for a caller the daemon refuses; also inferred from the PERMISSION_DENIED status code.</summary>
    public static readonly string PermissionDeniedReason = Core.Errors.ErrorReason.PermissionDenied.Code;

    public AgentCallException(string reason, StatusCode statusCode, string message, string socketPath,
        Exception? innerException = null)
        : base(message, innerException)
    {
        ArgumentException.ThrowIfNullOrEmpty(reason);
        Reason = reason;
        StatusCode = statusCode;
        SocketPath = socketPath;
    }

    /// <summary>The stable reason, e.g. "patch-not-found" or "daemon-unreachable".</summary>
    public string Reason { get; }

    /// <summary>The gRPC status code of the failed call.</summary>
    public StatusCode StatusCode { get; }

    /// <summary>The socket the call went to.</summary>
    public string SocketPath { get; }

    /// <summary>The catalogue entry for <see cref="Reason"/>; null when this client does not know the reason.</summary>
    public ErrorReason? KnownReason => ErrorReason.Find(Reason);

    /// <summary>The daemon could not be reached: no socket, nobody listening, no access to the socket, no answer.</summary>
    public bool IsDaemonUnreachable => Reason == ErrorReason.DaemonUnreachable.Code;

    /// <summary>The daemon refused the caller.</summary>
    public bool IsPermissionDenied =>
        Reason == PermissionDeniedReason
        || StatusCode is StatusCode.PermissionDenied or StatusCode.Unauthenticated;

    /// <summary>
    /// Translates a failed gRPC call into the error the caller should see. Transport failures become
    /// "daemon-unreachable" with a message that names the socket and what went wrong with it.
    /// </summary>
    public static AgentCallException FromRpcException(RpcException exception, string socketPath)
    {
        ArgumentNullException.ThrowIfNull(exception);

        var info = TryGetErrorInfo(exception);
        if (info is not null && info.Domain == DaemonDomain && !string.IsNullOrEmpty(info.Reason))
        {
            return new AgentCallException(info.Reason, exception.StatusCode, DaemonMessage(exception), socketPath,
                exception);
        }

        return exception.StatusCode switch
        {
            StatusCode.Unavailable => Unreachable(socketPath, exception),
            StatusCode.DeadlineExceeded => new AgentCallException(
                ErrorReason.DaemonUnreachable.Code, exception.StatusCode,
                $"livepatchd did not answer on {socketPath} in time", socketPath, exception),
            StatusCode.PermissionDenied or StatusCode.Unauthenticated => new AgentCallException(
                PermissionDeniedReason, exception.StatusCode, DaemonMessage(exception, "permission denied"),
                socketPath, exception),
            StatusCode.Unimplemented => new AgentCallException(
                ErrorReason.Unknown.Code, exception.StatusCode,
                $"livepatchd on {socketPath} does not implement this request (is it older than this client?)",
                socketPath, exception),
            _ => new AgentCallException(ErrorReason.Unknown.Code, exception.StatusCode,
                DaemonMessage(exception, $"livepatchd failed the request ({exception.StatusCode})"), socketPath,
                exception),
        };
    }

    /// <summary>Whether the failure carries a livepatchd ErrorInfo reason (rather than only a gRPC status).</summary>
    public static bool CarriesDaemonReason(RpcException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return TryGetErrorInfo(exception) is { Domain: DaemonDomain, Reason.Length: > 0 };
    }

    /// <summary>The error for a call that never reached the daemon, with the socket-level cause in words.</summary>
    public static AgentCallException Unreachable(string socketPath, Exception? cause)
    {
        var socketError = FindSocketException(cause);
        string why = socketError?.SocketErrorCode switch
        {
            // Checked first: a directory the caller cannot search also makes the socket look missing.
            SocketError.AccessDenied => $"permission denied connecting to {socketPath}",
            // Linux reports a missing socket file as EADDRNOTAVAIL ("Cannot assign requested address") through
            // .NET's UnixDomainSocketEndPoint, so the file is checked rather than the text trusted.
            _ when !Path.Exists(socketPath) => $"socket {socketPath} does not exist",
            SocketError.ConnectionRefused => $"nothing is listening on {socketPath}",
            SocketError.AddressNotAvailable => $"socket {socketPath} does not exist",
            SocketError.TimedOut => $"connecting to {socketPath} timed out",
            not null => $"cannot connect to {socketPath}: {socketError.Message}",
            null => $"no answer on {socketPath}",
        };
        return new AgentCallException(ErrorReason.DaemonUnreachable.Code, StatusCode.Unavailable,
            $"cannot reach livepatchd: {why}", socketPath, cause);
    }

    private static ErrorInfo? TryGetErrorInfo(RpcException exception)
    {
        try
        {
            return exception.GetRpcStatus()?.GetDetail<ErrorInfo>();
        }
        catch (Google.Protobuf.InvalidProtocolBufferException)
        {
            // A malformed grpc-status-details-bin trailer: fall back to the status code.
            return null;
        }
    }

    private static string DaemonMessage(RpcException exception, string? fallback = null)
    {
        var detail = exception.Status.Detail;
        return string.IsNullOrWhiteSpace(detail) ? fallback ?? exception.StatusCode.ToString() : detail;
    }

    private static SocketException? FindSocketException(Exception? exception)
    {
        for (var current = exception; current is not null; current = Next(current))
        {
            if (current is SocketException socketException)
            {
                return socketException;
            }
        }

        return null;

        static Exception? Next(Exception e) =>
            e is RpcException { Status.DebugException: { } debug } && !ReferenceEquals(debug, e.InnerException)
                ? debug
                : e.InnerException;
    }
}
