using System.Globalization;
using System.Text;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Output;

/// <summary>
/// How lpctl shows operations: the live progress line, the one result (rendered, never derived again), the
/// operations table, and the JSON of each.
/// </summary>
internal static class OperationOutput
{
    /// <summary>
    /// The live progress line of a running operation, e.g.
    /// <c>patching lpdemo_v3: 412/418 tasks switched, 6 blocking (cat 1234 in lpdemo_sleeper_wait), 7.2 s</c>.
    /// </summary>
    public static string ProgressLine(Operation operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var elapsed = operation.Elapsed is null ? string.Empty : $", {Seconds(operation.Elapsed.ToTimeSpan())}";
        var patch = operation.Patch.Length > 0 ? operation.Patch : operation.Kind;
        if (operation.Phase is OperationPhase.Patching or OperationPhase.Unpatching && operation.Progress is { } progress)
        {
            var verb = operation.Phase == OperationPhase.Patching ? "patching" : "unpatching";
            var switched = (progress.TasksTotal - progress.TasksPending).ToString(CultureInfo.InvariantCulture);
            var waiting = operation.Blocking.Length > 0
                ? $", {progress.TasksPending.ToString(CultureInfo.InvariantCulture)} blocking ({operation.Blocking})"
                : $", {progress.TasksPending.ToString(CultureInfo.InvariantCulture)} to go";
            return TerminalText.Escape($"{verb} {patch}: {switched}/{progress.TasksTotal.ToString(CultureInfo.InvariantCulture)} tasks switched{waiting}{elapsed}");
        }

        return TerminalText.Escape($"{operation.Message}{elapsed}");
    }

    /// <summary>The result in a few words, then its message: "completed: loaded lpdemo_v3: patching complete".</summary>
    public static string ResultText(OperationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return $"{KindText(result.Kind)}: {result.Message}";
    }

    public static string KindText(OperationResultKind kind) => kind switch
    {
        OperationResultKind.Completed => "completed",
        OperationResultKind.Forced => "forced",
        OperationResultKind.Reversed => "reversed",
        OperationResultKind.StillRunning => "still-running",
        OperationResultKind.NotWaited => "not-waited",
        OperationResultKind.Refused => "refused",
        OperationResultKind.Failed => "failed",
        OperationResultKind.Cancelled => "cancelled",
        OperationResultKind.Interrupted => "interrupted",
        _ => "unknown",
    };

    public static string PhaseText(OperationPhase phase) => phase switch
    {
        OperationPhase.Unspecified => "unknown",
        _ => phase.ToString().ToLowerInvariant(),
    };

    /// <summary>
    /// The final table of an operation: what its kind shows (the load's patch and signer, an apply's results, ...),
    /// then the result line; forced results name the tasks that may still run the old code.
    /// </summary>
    public static string Table(Operation operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var text = new StringBuilder(Detail(operation));
        if (operation.Result is { } result)
        {
            text.Append(TerminalText.Escape(ResultText(result)));
            if (operation.Elapsed is { } elapsed)
            {
                text.Append(" (").Append(TableOutput.DurationText(elapsed.ToTimeSpan())).Append(')');
            }

            text.Append('\n');
            if (result.Kind == OperationResultKind.Forced)
            {
                text.Append(TerminalText.Escape(result.OldCodeTasks.Count == 0
                    ? "no task was seen blocking it when it was forced"
                    : $"may still run the old code: {string.Join("; ", result.OldCodeTasks)} (restart them to be sure)")).Append('\n');
            }
        }

        return text.ToString();
    }

    /// <summary>What the operation's kind shows of what it did (a load's patch and signer, an apply's results, ...).</summary>
    public static string Detail(Operation operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        return operation.DetailCase switch
        {
            Operation.DetailOneofCase.Load => TableOutput.Load(operation.Load),
            Operation.DetailOneofCase.Unload => string.Empty,
            Operation.DetailOneofCase.Install => StoreOutput.Install(operation.Install),
            Operation.DetailOneofCase.Uninstall => string.Empty,
            Operation.DetailOneofCase.Apply => StoreOutput.Apply(operation.Apply),
            Operation.DetailOneofCase.Revert => string.Empty,
            Operation.DetailOneofCase.Force => TableOutput.Force(operation.Force),
            Operation.DetailOneofCase.Kick => TableOutput.Kick(operation.Kick),
            _ => string.Empty,
        };
    }

    /// <summary>lpctl operations: one row per operation, running first.</summary>
    public static string List(ListOperationsResponse response, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.Operations.Count == 0)
        {
            return "no operations\n";
        }

        var table = new TextTable("ID", "KIND", "PATCH", "PHASE", "STARTED", "ELAPSED", "RESULT", "MESSAGE");
        foreach (var operation in response.Operations)
        {
            table.AddRow(
                operation.Id.ToString(CultureInfo.InvariantCulture),
                operation.Kind,
                operation.Patch.Length > 0 ? operation.Patch : "-",
                PhaseText(operation.Phase),
                operation.StartedAt is null ? "-" : LocalTime(operation.StartedAt.ToDateTimeOffset(), zone),
                operation.Elapsed is null ? "-" : TableOutput.DurationText(operation.Elapsed.ToTimeSpan()),
                operation.Result is { } result ? KindText(result.Kind) : "running",
                operation.Done ? operation.Result.Message : ProgressLine(operation));
        }

        return table.ToString();
    }

    public static OperationDocument ToDocument(Operation operation)
    {
        ArgumentNullException.ThrowIfNull(operation);
        return new OperationDocument(
            operation.Id,
            operation.Kind,
            ProtocolNames.NullIfEmpty(operation.Patch),
            PhaseText(operation.Phase),
            operation.StartedAt?.ToDateTime(),
            operation.FinishedAt?.ToDateTime(),
            operation.Elapsed?.ToTimeSpan().TotalSeconds,
            operation.Timeout?.ToTimeSpan().TotalSeconds,
            ProtocolNames.NullIfEmpty(operation.Caller),
            operation.Message,
            operation.Done,
            operation.Progress is { } p ? new ProgressDocument(p.TasksTotal, p.TasksPending, p.TasksTotal - p.TasksPending) : null,
            ProtocolNames.NullIfEmpty(operation.Blocking),
            operation.BlockingTasks,
            operation.Result is { } r ? ToDocument(r) : null);
    }

    public static ResultDocument ToDocument(OperationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new ResultDocument(KindText(result.Kind), ProtocolNames.NullIfEmpty(result.Reason), result.Message,
            ProtocolNames.NullIfEmpty(result.By), [.. result.OldCodeTasks], [.. result.Pinned]);
    }

    public static OperationListDocument ToDocument(ListOperationsResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new OperationListDocument([.. response.Operations.Select(ToDocument)]);
    }

    /// <summary>The JSON of an operation's end: its kind's document (with the operation and its result), or the bare operation.</summary>
    public static string Json(Operation operation, ErrorDocument? error)
    {
        ArgumentNullException.ThrowIfNull(operation);
        var op = ToDocument(operation);
        var result = op.Result;
        return operation.DetailCase switch
        {
            Operation.DetailOneofCase.Load => JsonOutput.Document(JsonOutput.ToDocument(operation.Load) with { Operation = op, Result = result, Error = error }, LpctlJsonContext.Default.LoadDocument),
            Operation.DetailOneofCase.Unload => JsonOutput.Document(JsonOutput.ToDocument(operation.Unload) with { Operation = op, Result = result, Error = error }, LpctlJsonContext.Default.UnloadDocument),
            Operation.DetailOneofCase.Install => JsonOutput.Document(StoreOutput.ToDocument(operation.Install) with { Operation = op, Result = result, Error = error }, LpctlJsonContext.Default.InstallDocument),
            Operation.DetailOneofCase.Uninstall => JsonOutput.Document(StoreOutput.ToDocument(operation.Uninstall) with { Operation = op, Result = result, Error = error }, LpctlJsonContext.Default.UninstallDocument),
            Operation.DetailOneofCase.Apply => JsonOutput.Document(StoreOutput.ToDocument(operation.Apply) with { Operation = op, Result = result, Error = error }, LpctlJsonContext.Default.ApplyDocument),
            Operation.DetailOneofCase.Revert => JsonOutput.Document(JsonOutput.ToDocument(operation.Revert) with { Operation = op, Result = result, Error = error }, LpctlJsonContext.Default.RevertDocument),
            Operation.DetailOneofCase.Force => JsonOutput.Document(JsonOutput.ToDocument(operation.Force) with { Operation = op, Result = result, Error = error }, LpctlJsonContext.Default.ForceDocument),
            Operation.DetailOneofCase.Kick => JsonOutput.Document(JsonOutput.ToDocument(operation.Kick) with { Operation = op, Result = result, Error = error }, LpctlJsonContext.Default.KickDocument),
            _ => JsonOutput.Document(new OperationEndDocument(op, result, error), LpctlJsonContext.Default.OperationEndDocument),
        };
    }

    private static string Seconds(TimeSpan elapsed) => elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";

    private static string LocalTime(DateTimeOffset time, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(time, zone).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
}
