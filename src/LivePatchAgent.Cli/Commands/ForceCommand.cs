using System.CommandLine;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl force NAME --yes</c>: forces the running transition of a patch to complete. Without --yes lpctl refuses
/// on its own, before contacting the daemon, and says what forcing costs. Exit 0 when the forced transition
/// completed, 1 otherwise (refused, no transition, or still running).
/// </summary>
internal sealed class ForceCommand : OperationCommand
{
    /// <summary>Why forcing needs --yes; the daemon's own refusal says the same.</summary>
    public const string Consequence =
        "tasks still inside the old code keep running it, and a forced unpatch or replace pins modules so that "
        + "they can never be unloaded until reboot";

    private readonly Argument<string> _name = OptionParsers.Name("The patch whose transition to force, as `lpctl status` shows it");

    private readonly Option<bool> _yes = new("--yes")
    {
        Description = "Confirm that you accept the consequences: tasks may keep running old code, and modules the "
            + "force pins cannot be unloaded until reboot",
    };

    protected override Command CreateCommand() => new(
        "force",
        "Force the running transition of a live patch to complete (last resort; read docs/operations.md first): "
        + "may leave tasks running old code and pins modules until reboot")
    {
        _name,
        _yes,
    };

    protected override StartOperationRequest BuildRequest(ParseResult parseResult)
    {
        var name = parseResult.GetRequiredValue(_name);
        if (!parseResult.GetValue(_yes))
        {
            throw new CommandFailedException(
                $"refusing to force {name} without --yes: {Consequence}",
                ErrorReason.ConfirmationRequired.Code,
                $"see what holds it with `lpctl blocking` and try `lpctl revert {name}` first; read docs/operations.md "
                + $"(\"What force costs\"); to force anyway, run `lpctl force {name} --yes`");
        }

        return new StartOperationRequest { Force = new ForceTransitionRequest { Name = name, Confirm = true } };
    }
}
