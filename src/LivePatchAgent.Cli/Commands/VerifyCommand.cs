using System.CommandLine;
using LivePatchAgent.Cli.Output;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl verify FILE</c>: runs every check livepatchd makes before a load, without loading. Prints each check
/// with its result and detail, the module's facts and the kernel's policy; exit 0 when a load would pass
/// verification, 1 when a check failed (the reason on stderr).
/// </summary>
internal sealed class VerifyCommand : AgentCommand
{
    private readonly Argument<string> _file = new("FILE")
    {
        Description = "The module file (.ko); lpctl reads it and uploads its bytes",
    };

    protected override Command CreateCommand() => new(
        "verify",
        "Check a live patch module as a load would (ELF, livepatch=Y, kernel release and vermagic, build id, "
        + "signature against the trusted certificates) without loading it; prints every check")
    {
        _file,
    };

    protected override async Task<int> ExecuteAsync(CommandInvocation invocation, ParseResult parseResult,
        CancellationToken cancellationToken)
    {
        var path = parseResult.GetRequiredValue(_file);
        var module = ModuleFile.Read(path);
        var response = await invocation.Client
            .VerifyModuleAsync(module, Path.GetFullPath(path), cancellationToken)
            .ConfigureAwait(false);
        invocation.Write(invocation.Format == OutputFormat.Json
            ? JsonOutput.Document(JsonOutput.ToDocument(response), LpctlJsonContext.Default.VerifyDocument)
            : TableOutput.Verification(response, path));
        if (response.Ok)
        {
            return ExitCodes.Ok;
        }

        var message = string.IsNullOrEmpty(response.Message) ? $"{path} did not pass verification" : response.Message;
        throw string.IsNullOrEmpty(response.Reason)
            ? new CommandFailedException(message)
            : new CommandFailedException(message, response.Reason);
    }
}
