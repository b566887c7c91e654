using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Commands;

/// <summary>
/// <c>lpctl install FILE [--kernel RELEASE] [--meta FILE.json] [--cve CVE-ID]... [--replace] [--now]</c>: uploads the module (plain or
/// gzip/xz/zstd-compressed); livepatchd verifies it against that kernel and stores it, so that it is applied at
/// every start of the daemon into that kernel. <c>--now</c> also loads it.
/// </summary>
internal sealed class InstallCommand : OperationCommand
{
    private readonly Argument<string> _file = new("FILE")
    {
        Description = "The module file (.ko, .ko.gz, .ko.xz or .ko.zst); lpctl reads it and uploads its bytes",
    };

    private readonly Option<string?> _kernel = new("--kernel")
    {
        Description = "The kernel release to install for (as uname -r prints it); default: the running kernel",
        HelpName = "RELEASE",
    };

    private readonly Option<string?> _meta = new("--meta")
    {
        Description = "A JSON file of operator metadata: {\"description\": \"...\", \"cveIds\": [\"CVE-...\"], "
            + "\"cumulativeVersion\": 3, \"replace\": true}",
        HelpName = "FILE.json",
    };

    private readonly Option<string[]> _cve = new("--cve")
    {
        Description = "A CVE id the patch fixes (repeat for each), as operator metadata: used only when the module "
            + "declares no livepatch_cve of its own",
        HelpName = "CVE-ID",
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<bool> _replace = new("--replace")
    {
        Description = "The patch is cumulative (built with replace = true): of several, only the newest is applied",
    };

    private readonly Option<bool> _now = new("--now")
    {
        Description = "Also load the patch now and wait for its transition (running kernel only)",
    };

    private readonly Option<double?> _timeout = OptionParsers.OperationTimeout(
        "With --now: how long livepatchd waits for the transition; default: the daemon's Limits:OperationTimeout, 60 s");

    protected override Command CreateCommand() => new(
        "install",
        "Verify a live patch module and install it for a kernel, so livepatchd applies it at every start")
    {
        _file,
        _kernel,
        _meta,
        _cve,
        _replace,
        _now,
        _timeout,
    };

    protected override StartOperationRequest BuildRequest(ParseResult parseResult)
    {
        var path = parseResult.GetRequiredValue(_file);
        var metadata = parseResult.GetValue(_meta) is { } metaPath ? MetadataFile.Read(metaPath) : new InstallMetadata();
        // The daemon checks each id; --cve adds to the file's, each id once.
        foreach (var id in parseResult.GetValue(_cve) ?? [])
        {
            if (!metadata.CveIds.Contains(id))
            {
                metadata.CveIds.Add(id);
            }
        }

        if (parseResult.GetValue(_replace))
        {
            metadata.Replace = true;
        }

        var module = ModuleFile.Read(path);
        return new StartOperationRequest
        {
            Install = new InstallPatchRequest
            {
                Module = Google.Protobuf.UnsafeByteOperations.UnsafeWrap(module),
                FileName = Path.GetFullPath(path),
                KernelRelease = parseResult.GetValue(_kernel) ?? string.Empty,
                LoadNow = parseResult.GetValue(_now),
                Metadata = metadata,
                Timeout = Timeout(parseResult.GetValue(_timeout)),
            },
        };
    }
}

/// <summary>Reads the <c>--meta</c> file of <c>lpctl install</c>; unknown fields are refused, so a typo is not lost.</summary>
internal static class MetadataFile
{
    private const long MaxSize = 1024 * 1024;

    public static InstallMetadata Read(string path)
    {
        byte[] bytes;
        try
        {
            if (new FileInfo(path).Length > MaxSize)
            {
                throw new CommandFailedException($"cannot read {path}: larger than 1 MiB, not a metadata file");
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CommandFailedException($"cannot read {path}: no such file");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CommandFailedException($"cannot read {path}: {Lpctl.AsLpctlMessage(e.Message)}");
        }

        MetadataDocument? document;
        try
        {
            document = JsonSerializer.Deserialize(bytes, MetadataJsonContext.Default.MetadataDocument);
        }
        catch (JsonException e)
        {
            throw new CommandFailedException($"{path} is not valid metadata: {e.Message}",
                hint: "expected {\"description\": \"...\", \"cveIds\": [\"CVE-2026-1234\"], \"cumulativeVersion\": 3, \"replace\": true}, every field optional");
        }

        var metadata = new InstallMetadata { Description = document?.Description ?? string.Empty };
        metadata.CveIds.AddRange(document?.CveIds ?? []);
        if (document?.CumulativeVersion is { } version)
        {
            metadata.CumulativeVersion = version;
        }

        if (document?.Replace is { } replace)
        {
            metadata.Replace = replace;
        }

        return metadata;
    }
}

/// <summary>The <c>--meta</c> file's shape.</summary>
internal sealed record MetadataDocument(string? Description, IReadOnlyList<string>? CveIds, ulong? CumulativeVersion, bool? Replace);

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    ReadCommentHandling = JsonCommentHandling.Skip)]
[JsonSerializable(typeof(MetadataDocument))]
internal sealed partial class MetadataJsonContext : JsonSerializerContext;
