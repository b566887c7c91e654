using System.Collections.Frozen;
using V1 = LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Daemon.Api;

/// <summary>Who may call an RPC.</summary>
internal enum AccessLevel
{
    /// <summary>Any local user: read-only state.</summary>
    Open,

    /// <summary>uid 0, or a member of Access:AdminGroup: every mutation.</summary>
    Admin,

    /// <summary>Open, but the sensitive part of the answer (kernel stacks of other users' tasks) is for admins only.</summary>
    AdminSensitive,
}

/// <summary>
/// The one static table of who may call what, checked against SO_PEERCRED for every call. A unit test fails
/// when a method of a served service is missing here, so a new RPC cannot ship unclassified.
/// </summary>
internal static class AccessTable
{
    public static FrozenDictionary<string, AccessLevel> Methods { get; } = new Dictionary<string, AccessLevel>(StringComparer.Ordinal)
    {
        [Full(V1.Agent.Descriptor.FullName, "GetStatus")] = AccessLevel.Open,
        [Full(V1.Agent.Descriptor.FullName, "ListPatches")] = AccessLevel.Open,
        [Full(V1.Agent.Descriptor.FullName, "GetPatch")] = AccessLevel.Open,
        [Full(V1.Agent.Descriptor.FullName, "WatchEvents")] = AccessLevel.Open,
        [Full(V1.Agent.Descriptor.FullName, "VerifyModule")] = AccessLevel.Open,
        [Full(V1.Agent.Descriptor.FullName, "LoadPatch")] = AccessLevel.Admin,
        [Full(V1.Agent.Descriptor.FullName, "UnloadPatch")] = AccessLevel.Admin,
        [Full(V1.Agent.Descriptor.FullName, "GetBlockingTasks")] = AccessLevel.AdminSensitive,
        [Full(V1.Agent.Descriptor.FullName, "RevertTransition")] = AccessLevel.Admin,
        [Full(V1.Agent.Descriptor.FullName, "ForceTransition")] = AccessLevel.Admin,
        [Full(V1.Agent.Descriptor.FullName, "KickTasks")] = AccessLevel.Admin,
        [Full(V1.Agent.Descriptor.FullName, "InstallPatch")] = AccessLevel.Admin,
        [Full(V1.Agent.Descriptor.FullName, "UninstallPatch")] = AccessLevel.Admin,
        [Full(V1.Agent.Descriptor.FullName, "ListInstalled")] = AccessLevel.Open,
        [Full(V1.Agent.Descriptor.FullName, "GetPosture")] = AccessLevel.Open,
        // Open: what node_exporter serves from the textfile anyway (counts, states, patch names).
        [Full(V1.Agent.Descriptor.FullName, "GetMetrics")] = AccessLevel.Open,
        [Full(V1.Agent.Descriptor.FullName, "ApplyInstalled")] = AccessLevel.Admin,
        [Full(V1.Agent.Descriptor.FullName, "StartOperation")] = AccessLevel.Admin,
        [Full(V1.Agent.Descriptor.FullName, "CancelOperation")] = AccessLevel.Admin,
        // Open: anyone may follow an operation (lpctl wait); who started it is shown to administrators only.
        [Full(V1.Agent.Descriptor.FullName, "GetOperation")] = AccessLevel.Open,
        [Full(V1.Agent.Descriptor.FullName, "ListOperations")] = AccessLevel.Open,
        [Full(V1.Agent.Descriptor.FullName, "WatchOperation")] = AccessLevel.Open,
        // Not a mutation, but the audit journal names who did what (uid, pid, command), like the 0600 files.
        [Full(V1.Agent.Descriptor.FullName, "GetHistory")] = AccessLevel.Admin,
        [Full(V1.Agent.Descriptor.FullName, "GetHealth")] = AccessLevel.Open,
        [Full(V1.Agent.Descriptor.FullName, "ReleaseQuarantine")] = AccessLevel.Admin,
        [Full(Grpc.Health.V1.Health.Descriptor.FullName, "Check")] = AccessLevel.Open,
        [Full(Grpc.Health.V1.Health.Descriptor.FullName, "Watch")] = AccessLevel.Open,
        [Full(Grpc.Reflection.V1Alpha.ServerReflection.Descriptor.FullName, "ServerReflectionInfo")] = AccessLevel.Open,
        [Full(Grpc.Reflection.V1.ServerReflection.Descriptor.FullName, "ServerReflectionInfo")] = AccessLevel.Open,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>
    /// Why an admin-only method is refused to others, for the permission-denied message. A method the table does
    /// not know gets a plain "is for administrators", which does not tell a caller whether it exists.
    /// </summary>
    public static string AdminReason(string method) =>
        !Methods.ContainsKey(method) ? "is for administrators"
        : method == Full(V1.Agent.Descriptor.FullName, "GetHistory") ? "shows the audit journal (who did what), which is for administrators"
        : "changes the kernel and is for administrators";

    /// <summary>
    /// The level of a method path such as "/livepatch.v1.Agent/LoadPatch". Anything not in the table is admin-only
    /// (default deny): a non-administrator gets PERMISSION_DENIED for a method that does not exist, an
    /// administrator grpc-dotnet's UNIMPLEMENTED.
    /// </summary>
    public static AccessLevel LevelOf(string method) =>
        Methods.TryGetValue(method, out var level) ? level : AccessLevel.Admin;

    public static string Full(string service, string method) => $"/{service}/{method}";
}
