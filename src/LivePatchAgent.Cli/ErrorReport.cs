using LivePatchAgent.Cli.Output;
using LivePatchAgent.Client;
using LivePatchAgent.Core.Errors;

namespace LivePatchAgent.Cli;

/// <summary>How lpctl tells the user what went wrong: "lpctl: message" on stderr, then a hint line where one helps.</summary>
internal static class ErrorReport
{
    public const string UnreachableHint =
        "is livepatchd running? check `systemctl status livepatchd`; if it listens elsewhere, pass --socket PATH "
        + "or set " + GlobalOptions.SocketEnvironmentVariable;

    public const string PermissionHint = "run lpctl as root or as a member of livepatchd's admin group";

    /// <summary>
    /// Writes the message and the hint, one line each. Both are escaped for the terminal: a daemon's message may
    /// quote a module's or a process's text.
    /// </summary>
    public static void Write(TextWriter error, string message, string? hint = null)
    {
        ArgumentNullException.ThrowIfNull(error);
        error.Write("lpctl: " + TerminalText.Escape(message) + "\n");
        if (hint is not null)
        {
            error.Write("hint: " + TerminalText.Escape(hint) + "\n");
        }

        error.Flush();
    }

    /// <summary>
    /// The message and hint for a failed daemon call. With <c>-o json</c> the reason code is appended, so scripts
    /// can match on it without parsing prose: <c>patch "x" is not loaded (patch-not-found)</c>.
    /// </summary>
    public static (string Message, string? Hint) Describe(AgentCallException error, OutputFormat format)
    {
        ArgumentNullException.ThrowIfNull(error);
        var message = error.Message;
        if (format == OutputFormat.Json)
        {
            message += $" ({error.Reason})";
        }

        return (message, HintFor(error));
    }

    /// <summary>
    /// The message and hint for a failure with a catalogue reason that did not come as a failed call, e.g. a
    /// verification the daemon answered with <c>ok: false</c>. Same rules as for a failed call.
    /// </summary>
    public static (string Message, string? Hint) Describe(string message, string reason, OutputFormat format)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentException.ThrowIfNullOrEmpty(reason);
        return (format == OutputFormat.Json ? $"{message} ({reason})" : message, RemedyFor(reason));
    }

    private static string? HintFor(AgentCallException error)
    {
        if (error.IsDaemonUnreachable)
        {
            return UnreachableHint;
        }

        return error.IsPermissionDenied ? PermissionHint : RemedyFor(error.Reason);
    }

    private static string? RemedyFor(string reason) => ErrorReason.Find(reason) switch
    {
        null => $"this lpctl does not know the reason \"{reason}\"; it may be older than livepatchd",
        var known when known == ErrorReason.Unknown => null,
        var known => known.Remedy,
    };
}
