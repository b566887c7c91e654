using System.CommandLine;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl uninstall NAME [--kernel RELEASE]</c>: removes an installed patch from the store, so it is no longer
/// applied at start. A loaded patch stays loaded (<c>lpctl unload</c> removes it from the kernel).
/// </summary>
internal sealed class UninstallCommand : OperationCommand
{
    private readonly Argument<string> _name = OptionParsers.Name("The installed patch, as `lpctl list --installed` shows it");

    private readonly Option<string?> _kernel = new("--kernel")
    {
        Description = "The kernel release it is installed for; default: the running kernel",
        HelpName = "RELEASE",
    };

    protected override Command CreateCommand() => new(
        "uninstall",
        "Remove an installed patch from the store (a loaded patch stays loaded; lpctl unload removes it)")
    {
        _name,
        _kernel,
    };

    protected override StartOperationRequest BuildRequest(ParseResult parseResult) => new()
    {
        Uninstall = new UninstallPatchRequest { Name = parseResult.GetRequiredValue(_name), KernelRelease = parseResult.GetValue(_kernel) ?? string.Empty },
    };
}
