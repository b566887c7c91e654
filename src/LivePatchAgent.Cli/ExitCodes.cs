using LivePatchAgent.Client;

namespace LivePatchAgent.Cli;

/// <summary>lpctl's exit codes (DESIGN.md §4). Scripts and monitoring rely on them: never renumber.</summary>
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

    /// <summary>Interrupted by SIGINT before the operation finished (128 + SIGINT, the shell convention).</summary>
    public const int Interrupted = 130;

    public static int For(AgentCallException error)
    {
        ArgumentNullException.ThrowIfNull(error);
        return error.IsDaemonUnreachable ? DaemonUnreachable
            : error.IsPermissionDenied ? PermissionDenied
            : Failed;
    }
}
