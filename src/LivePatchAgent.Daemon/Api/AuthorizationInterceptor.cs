using System.Globalization;
using Grpc.Core;
using Grpc.Core.Interceptors;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Linux;
using LivePatchAgent.Linux.Sysfs;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Api;

/// <summary>
/// Checks every call against <see cref="AccessTable"/>: root and members of Access:AdminGroup may do everything,
/// everyone else may read.
/// </summary>
internal sealed class AuthorizationInterceptor(CallerAuthorization authorization, IOptions<LimitsOptions> limits, ILogger<AuthorizationInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        // Limits:RequestTimeout bounds every call, whatever deadline the client set (or did not set): past it the
        // request is aborted, which cancels the work the way a client hanging up does.
        var call = continuation(request, context);
        var timeout = limits.Value.RequestTimeout;
        using var expired = new CancellationTokenSource();
        var finished = await Task.WhenAny(call, Task.Delay(timeout, expired.Token)).ConfigureAwait(false);
        if (finished != call)
        {
            Log.RequestTimedOut(logger, context.Method, PeerCredentials.Caller(context).Description, timeout);
            context.GetHttpContext().Abort();
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, $"the request ran longer than Limits:RequestTimeout ({timeout})"));
        }

        await expired.CancelAsync().ConfigureAwait(false);
        return await call.ConfigureAwait(false);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(request, responseStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Authorize(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Authorize(ServerCallContext context)
    {
        CallerLimits.CheckConnection(context);
        // AdminSensitive calls are open; the service refuses their sensitive part (stacks) to non-admins.
        if (AccessTable.LevelOf(context.Method) == AccessLevel.Admin)
        {
            authorization.Demand(context, AccessTable.AdminReason(context.Method));
        }
    }
}

/// <summary>
/// Decides from SO_PEERCRED whether a caller is an administrator: uid 0, or a member (primary or supplementary)
/// of Access:AdminGroup. A refusal is logged with uid, pid and comm and answered with PERMISSION_DENIED /
/// "permission-denied".
/// </summary>
internal sealed class CallerAuthorization(IOptions<AccessOptions> options, ILogger<CallerAuthorization> logger)
{
    public bool IsAdmin(ServerCallContext context) =>
        PeerCredentials.Read(context) is { } p && IsAdmin(p.Pid, p.Uid, p.Gid);

    /// <summary>Throws permission-denied unless the caller is an administrator.</summary>
    public void Demand(ServerCallContext context, string what)
    {
        if (IsAdmin(context))
        {
            return;
        }

        var caller = PeerCredentials.Caller(context);
        Log.PermissionDenied(logger, context.Method, caller.Uid ?? -1, caller.Pid ?? -1, caller.Description);
        var group = options.Value.AdminGroup;
        throw new AgentException(ErrorReason.PermissionDenied,
            $"{context.Method.TrimStart('/')} {what}: run it as root{(group.Length > 0 ? $" or as a member of the group {group}" : string.Empty)}");
    }

    private bool IsAdmin(int pid, int uid, int gid)
    {
        if (uid == 0)
        {
            return true;
        }

        var group = options.Value.AdminGroup;
        if (group.Length == 0 || GroupId(group) is not { } adminGid)
        {
            return false;
        }

        return gid == adminGid || SupplementaryGroups(pid).Contains(adminGid);
    }
    /// <summary>The gid of a group name from /etc/group; null when there is no such group.</summary>
    private static int? GroupId(string name)
    {
        if (SysfsFile.TryReadBytes(OwnSystem.GroupFile) is not { } bytes)
        {
            return null;
        }

        foreach (var line in System.Text.Encoding.UTF8.GetString(bytes).Split('\n'))
        {
            var fields = line.Split(':');
            if (fields.Length >= 3 && fields[0] == name && int.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                return id;
            }
        }

        return null;
    }

    /// <summary>The caller's supplementary groups, from the "Groups:" line of /proc/&lt;pid&gt;/status.</summary>
    private static HashSet<int> SupplementaryGroups(int pid)
    {
        var status = OwnSystem.ProcessFile(pid, "status");
        if (SysfsFile.TryRead(status, out var text, out _) != SysfsFile.Status.Ok)
        {
            return [];
        }

        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("Groups:", StringComparison.Ordinal));
        return line is null
            ? []
            : [.. line["Groups:".Length..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries)
                .Select(g => int.TryParse(g, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : -1)
                .Where(id => id >= 0)];
    }
}
