using Grpc.Core;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Linux.Native;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Api;

/// <summary>
/// Decides from the socket whether a caller is an administrator: uid 0, or a process whose credentials include
/// the gid of Access:AdminGroup, as primary gid (SO_PEERCRED) or supplementary group (SO_PEERGROUPS). A refusal
/// is logged with uid, pid and comm and answered with PERMISSION_DENIED / "permission-denied".
/// </summary>
/// <remarks>
/// The caller's groups are those of its process, recorded by the kernel when it connected, not the groups its
/// user has in the directory right now (getgrouplist): they are the credentials the kernel itself checks for
/// file access, a process that dropped its groups (setpriv, a sandboxed service) is not treated as an
/// administrator, and no directory enumeration runs per call. Membership therefore changes with a new login.
/// </remarks>
internal sealed class CallerAuthorization(AdminGroup adminGroup, ILogger<CallerAuthorization> logger)
{
    /// <summary>Throws permission-denied unless the caller is an administrator.</summary>
    public Task DemandAsync(ServerCallContext context, string what) => DemandAsync(context.GetHttpContext(), what);

    /// <summary>Throws permission-denied unless the caller of the request is an administrator.</summary>
    public async Task DemandAsync(HttpContext http, string what)
    {
        if (await RefusalAsync(http).ConfigureAwait(false) is not { } groupProblem)
        {
            return;
        }

        var method = http.Request.Path.Value ?? "?";
        var caller = PeerCredentials.Caller(http);
        Log.PermissionDenied(logger, method, caller.Uid ?? -1, caller.Pid ?? -1, caller.Description);
        var group = adminGroup.Name;
        var members = group.Length == 0
            ? string.Empty
            : $" or as a member of the group {group}{(groupProblem.Length > 0 ? $" ({groupProblem})" : string.Empty)}";
        throw new AgentException(ErrorReason.PermissionDenied, $"{method.TrimStart('/')} {what}: run it as root{members}");
    }

    /// <summary>Whether the caller may change patches (root or a member of Access:AdminGroup).</summary>
    public async Task<bool> IsAdminAsync(ServerCallContext context) =>
        await RefusalAsync(context.GetHttpContext()).ConfigureAwait(false) is null;

    /// <summary>Null when the caller is an administrator; else why the admin group did not help ("" if it resolved).</summary>
    private async Task<string?> RefusalAsync(HttpContext http)
    {
        if (PeerCredentials.Read(http) is not { } peer)
        {
            return string.Empty;
        }

        if (peer.Uid == 0)
        {
            return null;
        }

        if (await adminGroup.ResolveAsync(http.RequestAborted).ConfigureAwait(false) is not { } lookup)
        {
            return string.Empty;
        }

        if (lookup.Status != GroupLookupStatus.Found)
        {
            return lookup.Problem;
        }

        return (uint)peer.Gid == lookup.Gid || PeerCredentials.SupplementaryGroups(http, peer.Pid).Contains(lookup.Gid)
            ? null
            : string.Empty;
    }
}

/// <summary>
/// Access:AdminGroup resolved to a gid through NSS (<see cref="GroupDatabase"/>) at every check, so a group
/// created or renumbered while the daemon runs counts at once; sssd and nscd cache the answer. An NSS source can
/// hang (an unreachable directory server), and getgrnam_r cannot be cancelled: one lookup at a time runs on the
/// thread pool, every check waits for it at most <see cref="LookupTimeout"/>, and a hung lookup therefore ties up
/// one thread, never one per call.
/// </summary>
internal sealed class AdminGroup
{
    public static readonly TimeSpan LookupTimeout = TimeSpan.FromSeconds(5);

    private readonly IOptions<AccessOptions> _options;
    private readonly TimeProvider _time;
    private readonly Func<string, GroupLookup> _lookup;
    private readonly Lock _lock = new();
    private Task<GroupLookup>? _running;

    public AdminGroup(IOptions<AccessOptions> options, TimeProvider time)
        : this(options, time, static name => GroupDatabase.Lookup(name))
    {
    }

    /// <summary>With another group database, for tests of the timeout.</summary>
    internal AdminGroup(IOptions<AccessOptions> options, TimeProvider time, Func<string, GroupLookup> lookup)
    {
        _options = options;
        _time = time;
        _lookup = lookup;
    }

    /// <summary>Access:AdminGroup; empty when only root is an administrator.</summary>
    public string Name => _options.Value.AdminGroup;

    /// <summary>The admin group's gid, or why there is none; null when no admin group is configured.</summary>
    public async Task<GroupLookup?> ResolveAsync(CancellationToken cancellationToken)
    {
        var name = Name;
        if (name.Length == 0)
        {
            return null;
        }

        Task<GroupLookup> running;
        lock (_lock)
        {
            // The lookup clears _running under the same lock, so it cannot finish before it is stored here.
            running = _running ??= Task.Run(() => Run(name), CancellationToken.None);
        }

        try
        {
            return await running.WaitAsync(LookupTimeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return GroupLookup.Failed($"looking up group \"{name}\" did not finish within {LookupTimeout.TotalSeconds:F0} s; check the sources of the \"group:\" line in /etc/nsswitch.conf (sssd, LDAP)");
        }
    }

    private GroupLookup Run(string name)
    {
        try
        {
            return _lookup(name);
        }
        finally
        {
            lock (_lock)
            {
                _running = null;
            }
        }
    }
}

/// <summary>Says at start-up what Access:AdminGroup resolves to, so a group NSS does not know is seen before anyone is refused.</summary>
internal sealed class AdminGroupStartupCheck(AdminGroup adminGroup, ILogger<AdminGroupStartupCheck> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Off the start-up path: a hung directory server must not delay READY=1.
        await Task.Yield();
        GroupLookup? lookup;
        try
        {
            lookup = await adminGroup.ResolveAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return;
        }

        switch (lookup)
        {
            case null:
                Log.AdminGroupNone(logger);
                break;
            case { Status: GroupLookupStatus.Found } found:
                Log.AdminGroupResolved(logger, adminGroup.Name, found.Gid);
                break;
            case { } missing:
                Log.AdminGroupUnresolved(logger, adminGroup.Name, missing.Problem);
                break;
        }
    }
}
