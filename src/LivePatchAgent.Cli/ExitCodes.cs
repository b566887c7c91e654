using LivePatchAgent.Client;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli;

/// <summary>lpctl's exit codes (docs/api.md, "Exit codes"). Scripts and monitoring rely on them: never renumber.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;

    /// <summary>The daemon refused or failed the operation (e.g. no such patch).</summary>
    public const int Failed = 1;

    /// <summary>The command line is wrong: unknown command or option, missing or invalid value.</summary>
    public const int Usage = 2;

    /// <summary>livepatchd could not be reached on its socket.</summary>
    public const int DaemonUnreachable = 3;

    /// <summary>The caller may not do this (not root, not in the admin group, no access to the socket's peer).</summary>
    public const int PermissionDenied = 4;

    /// <summary>
    /// The operation completed, but only because its transition was forced: tasks that were blocked may still run
    /// the old code, and forced modules are pinned until reboot (result "forced").
    /// </summary>
    public const int CompletedByForce = 5;

    /// <summary>
    /// Interrupted by SIGINT (128 + SIGINT, the shell convention). For an operation this detaches: it goes on in
    /// livepatchd, and `lpctl wait ID` follows it again.
    /// </summary>
    public const int Interrupted = 130;

    /// <summary>The exit code of an operation's result: 0 when it took effect (or was not waited for), 5 by force, else 1.</summary>
    public static int For(OperationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Kind switch
        {
            OperationResultKind.Completed or OperationResultKind.NotWaited => Ok,
            OperationResultKind.Forced => CompletedByForce,
            _ => Failed,
        };
    }

    public static int For(AgentCallException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return error.IsDaemonUnreachable ? DaemonUnreachable
            : error.IsPermissionDenied ? PermissionDenied
            : Failed;
    }
}
