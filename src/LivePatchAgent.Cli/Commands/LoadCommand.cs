using System.CommandLine;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl load FILE [--no-wait] [--timeout SECONDS]</c>: uploads the module; livepatchd verifies it, loads exactly
/// those bytes and waits for the patching transition, as an operation (docs/api.md, "Operations"). Exit 0 when the
/// patch ended up enabled (or, with --no-wait, when the kernel accepted it); 5 when it completed only because the
/// transition was forced; 1 when the daemon refused or the kernel failed it, when the transition was reversed, or
/// when it was still running at the deadline.
/// </summary>
internal sealed class LoadCommand : OperationCommand
{
    private readonly Argument<string> _file = new("FILE")
    {
        Description = "The module file (.ko); lpctl reads it and uploads its bytes",
    };

    private readonly Option<bool> _noWait = new("--no-wait")
    {
        Description = "Return once the kernel accepted the module, without waiting for the patching transition",
    };

    private readonly Option<double?> _timeout = OptionParsers.OperationTimeout(
        "How long livepatchd waits for the transition (and retries while another runs); default: the daemon's "
        + "Limits:OperationTimeout, 60 s");

    protected override Command CreateCommand() => new(
        "load",
        "Verify and load a live patch module, then wait for its patching transition to complete")
    {
        _file,
        _noWait,
        _timeout,
    };

    protected override StartOperationRequest BuildRequest(ParseResult parseResult)
    {
        var path = parseResult.GetRequiredValue(_file);
        var module = ModuleFile.Read(path);
        return new StartOperationRequest
        {
            Load = new LoadPatchRequest
            {
                Module = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(module),
                FileName = Path.GetFullPath(path),
                NoWait = parseResult.GetValue(_noWait),
                Timeout = Timeout(parseResult.GetValue(_timeout)),
            },
        };
    }
}
