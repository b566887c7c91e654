using System.Collections.Immutable;

namespace LivePatchAgent.Core.Errors;

/// <summary>
/// The catalogue of error reasons. Each reason is a stable kebab-case word that travels unchanged as the gRPC
/// ErrorInfo reason, the D-Bus error name suffix, in the audit journal and in <c>lpctl -o json</c>.
/// docs/errors.md documents every entry, and a test keeps the two in step. Reasons are only ever added.
/// </summary>
public sealed record ErrorReason(string Code, ErrorCategory Category, string Meaning, string Remedy)
{
    public static readonly ErrorReason PatchNotFound = new(
        "patch-not-found", ErrorCategory.NotFound,
        "No live patch of that name is registered in /sys/kernel/livepatch.",
        "Check the name with `lpctl list`; patch names use '_' where the module file name has '-'.");

    public static readonly ErrorReason InvalidArgument = new(
        "invalid-argument", ErrorCategory.InvalidArgument,
        "A request argument is malformed, e.g. a patch name that is not a valid kernel module name.",
        "Correct the argument; module names are at most 55 characters of letters, digits and '_'.");

    public static readonly ErrorReason LivepatchUnsupported = new(
        "livepatch-unsupported", ErrorCategory.FailedPrecondition,
        "The running kernel has no livepatch support (/sys/kernel/livepatch does not exist).",
        "Boot a kernel built with CONFIG_LIVEPATCH=y.");

    public static readonly ErrorReason Internal = new(
        "internal", ErrorCategory.Internal,
        "The daemon met an unexpected condition; the daemon log has the details.",
        "Look at `journalctl -u livepatchd` and report the message.");

    public static readonly ErrorReason DaemonUnreachable = new(
        "daemon-unreachable", ErrorCategory.Unavailable,
        "lpctl could not reach livepatchd on its socket.",
        "Check `systemctl status livepatchd` and the --socket path.");

    public static readonly ErrorReason Unknown = new(
        "unknown", ErrorCategory.Internal,
        "The daemon answered with an error that carries no reason this client knows (e.g. a newer daemon).",
        "Read the message; upgrade lpctl to match the daemon.");

    /// <summary>Every reason, for lookup and for the documentation check.</summary>
    public static ImmutableArray<ErrorReason> All { get; } =
    [
        PatchNotFound,
        InvalidArgument,
        LivepatchUnsupported,
        Internal,
        DaemonUnreachable,
        Unknown,
    ];

    public static ErrorReason? Find(string code) => All.FirstOrDefault(r => r.Code == code);
}

/// <summary>The broad class of an error; maps onto a gRPC status code.</summary>
public enum ErrorCategory
{
    InvalidArgument,
    NotFound,
    AlreadyExists,
    FailedPrecondition,
    PermissionDenied,
    Unavailable,
    DeadlineExceeded,
    Aborted,
    Internal,
}

/// <summary>An error with a catalogued reason and a message for the operator.</summary>
public sealed class AgentException(ErrorReason reason, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public ErrorReason Reason { get; } = reason;
}
