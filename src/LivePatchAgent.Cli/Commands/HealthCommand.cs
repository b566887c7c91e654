using System.CommandLine;
using LivePatchAgent.Cli.Output;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl health</c>: the kernel health guard: whether it reads the kernel log, its policy, the open health
/// windows, the last kernel reports with how each was attributed and what was done, and the quarantined patches.
/// </summary>
internal sealed class HealthCommand : AgentCommand
{
    protected override Command CreateCommand() => new(
        "health",
        "Show the kernel health guard: the kernel log reader, the policy, open health windows, the last kernel "
        + "reports (warnings, oopses, lockups) with their attribution and action, and the quarantined patches");

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var health = await invocation.Client.GetHealthAsync(cancellationToken).ConfigureAwait(false);
        invocation.Write(invocation.Format == OutputFormat.Json
            ? JsonOutput.Document(HealthOutput.ToDocument(health), LpctlJsonContext.Default.HealthDocument)
            : HealthOutput.Table(health, invocation.TimeZone));
        return ExitCodes.Ok;
    }
}

/// <summary><c>lpctl quarantine list|release NAME</c>: the patches the health guard took out.</summary>
internal sealed class QuarantineCommand : AgentCommand
{
    public override Command Create(GlobalOptions globals, LpctlConsole console)
    {
        var command = new Command("quarantine", "List the patches the kernel health guard quarantined, or release one so that apply loads it again")
        {
            new QuarantineListCommand().Create(globals, console),
            new QuarantineReleaseCommand().Create(globals, console),
        };
        return command;
    }

    protected override Command CreateCommand() => throw new InvalidOperationException("quarantine is a group of subcommands");

    protected override Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("quarantine is a group of subcommands");
}

/// <summary><c>lpctl quarantine list</c>: each quarantined patch, when, why (the kernel report and its attribution), and by whom.</summary>
internal sealed class QuarantineListCommand : AgentCommand
{
    protected override Command CreateCommand() => new(
        "list",
        "List the quarantined patches: when, the kernel report that caused it, how it was attributed, and by whom");

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var health = await invocation.Client.GetHealthAsync(cancellationToken).ConfigureAwait(false);
        invocation.Write(invocation.Format == OutputFormat.Json
            ? JsonOutput.Document(new QuarantineListDocument([.. health.Quarantined.Select(HealthOutput.ToDocument)]), LpctlJsonContext.Default.QuarantineListDocument)
            : HealthOutput.QuarantineTable(health, invocation.TimeZone));
        return ExitCodes.Ok;
    }
}

/// <summary><c>lpctl quarantine release NAME</c>: lets a quarantined patch back in (admin-only, journalled); it does not load it.</summary>
internal sealed class QuarantineReleaseCommand : AgentCommand
{
    private readonly Argument<string> _name = new("NAME") { Description = "The quarantined patch" };

    protected override Command CreateCommand() => new(
        "release",
        "Let a quarantined patch back in: start-up apply and `lpctl apply` load it again (it is not loaded now)")
    {
        _name,
    };

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var response = await invocation.Client.ReleaseQuarantineAsync(parseResult.GetRequiredValue(_name), cancellationToken).ConfigureAwait(false);
        invocation.Write(invocation.Format == OutputFormat.Json
            ? JsonOutput.Document(new QuarantineReleaseDocument(response.Name, response.Message, response.OperationId), LpctlJsonContext.Default.QuarantineReleaseDocument)
            : response.Message + "\n");
        return ExitCodes.Ok;
    }
}
