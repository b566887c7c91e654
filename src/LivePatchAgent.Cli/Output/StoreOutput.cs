using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Output;

/// <summary>
/// The output of the installed-patch commands (<c>install</c>, <c>uninstall</c>, <c>list --installed</c>,
/// <c>apply</c>) and of start-up apply in <c>status</c>: tables for people, documents for <c>-o json</c>.
/// </summary>
internal static class StoreOutput
{
    private const string UnknownText = "unknown";

    /// <summary>The status line of start-up apply: its state and why, then the counts of its last run.</summary>
    public static string StartupApplyText(StartupApply apply)
    {
        ArgumentNullException.ThrowIfNull(apply);
        var state = StateName(apply.State);
        return apply.State switch
        {
            StartupApplyState.Disabled => $"disabled: {apply.Reason}",
            StartupApplyState.Interrupted => $"SKIPPED ({apply.ErrorReason}): {apply.Reason}",
            StartupApplyState.Done when apply.Results.Count == 0 => string.IsNullOrEmpty(apply.Reason)
                ? $"done: no installed patch for {Known(apply.KernelRelease)}"
                : $"done: {apply.Reason}",
            StartupApplyState.Done => $"done for {Known(apply.KernelRelease)}: " + Counts(apply.Results),
            _ => state,
        };
    }

    /// <summary>The outcome of <c>lpctl install</c>.</summary>
    public static string Install(InstallPatchResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var installed = response.Installed ?? new InstalledPatch();
        var block = new KeyValueBlock()
            .Add("Installed", $"{installed.Name} for {installed.KernelRelease}" + (response.ReplacedPrevious ? " (replaced the earlier installation)" : string.Empty))
            .Add("File", Known(installed.Path))
            .Add("SHA-256", Known(installed.Sha256))
            .Add("Signer", Known(installed.Signer))
            .Add("Replace", ReplaceText(installed));
        if (installed.Metadata is { } metadata)
        {
            MetadataOutput.AddRows(block, metadata);
        }

        if (installed.Compression.Length > 0)
        {
            block.Add("Uploaded", $"{installed.Compression}-compressed; stored decompressed");
        }

        if (response.Load is { } load)
        {
            block.Add("Loaded", load.Patch is { } patch ? ProtocolNames.Of(patch.State) : "no");
        }

        return block.ToString();
    }

    /// <summary>The outcome of <c>lpctl uninstall</c>, on one line.</summary>
    public static string Uninstall(UninstallPatchResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return TerminalText.Escape(response.Message) + "\n";
    }

    /// <summary><c>lpctl list --installed</c>: one row per installed patch with whether it is loaded now.</summary>
    public static string InstalledList(ListInstalledResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var text = new StringBuilder();
        if (response.Patches.Count == 0)
        {
            text.Append("no installed patches").Append(response.RunningRelease.Length > 0 ? $" (running kernel {response.RunningRelease})" : string.Empty).Append('\n');
        }
        else
        {
            var table = new TextTable("NAME", "KERNEL", "ORIGIN", "LOADED", "REPLACE", "LEVEL", "INSTALLED", "SIGNER", "METADATA", "CVES");
            foreach (var patch in response.Patches)
            {
                // The module's metadata where it declares any, the operator's elsewhere (the merge rule).
                var metadata = patch.Metadata;
                table.AddRow(
                    patch.Name,
                    patch.KernelRelease + (patch.KernelRelease == response.RunningRelease ? " (running)" : string.Empty),
                    OriginText(patch),
                    patch.Loaded ? "yes (" + ProtocolNames.Of(patch.State) + ")" : "no",
                    patch.HasReplace ? (patch.Replace ? "yes" : "no") : "-",
                    metadata is { HasLevel: true } ? metadata.Level.ToString(CultureInfo.InvariantCulture)
                        : patch.HasCumulativeVersion ? patch.CumulativeVersion.ToString(CultureInfo.InvariantCulture) : "-",
                    patch.InstalledAt is null ? "-" : patch.InstalledAt.ToDateTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                    patch.Signer.Length > 0 ? patch.Signer : "-",
                    metadata is null ? "-" : MetadataOutput.SourceCell(metadata),
                    metadata is { CveIds.Count: > 0 } ? string.Join(",", metadata.CveIds)
                        : patch.CveIds.Count > 0 ? string.Join(",", patch.CveIds) : "-");
            }

            text.Append(table);
        }

        foreach (var patch in response.Patches)
        {
            foreach (var note in patch.Notes)
            {
                text.Append("note: ").Append(TerminalText.Escape(patch.Name)).Append(": ").Append(TerminalText.Escape(note)).Append('\n');
            }
        }

        foreach (var problem in response.Problems)
        {
            text.Append("problem: ").Append(TerminalText.Escape(problem)).Append('\n');
        }

        return text.ToString();
    }

    /// <summary>The outcome of <c>lpctl apply</c>: one row per installed patch, then the summary.</summary>
    public static string Apply(ApplyInstalledResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var text = new StringBuilder();
        if (response.Results.Count > 0)
        {
            var table = new TextTable("NAME", "OUTCOME", "DETAIL");
            foreach (var result in response.Results)
            {
                table.AddRow(result.Name, OutcomeName(result.Outcome),
                    result.Reason.Length > 0 ? $"{result.Message} ({result.Reason})" : result.Message);
            }

            text.Append(table);
        }

        return text.ToString();
    }

    public static InstallDocument ToDocument(InstallPatchResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new InstallDocument(
            Installed: response.Installed is { } installed ? ToDocument(installed) : null,
            ReplacedPrevious: response.ReplacedPrevious,
            Message: ProtocolNames.NullIfEmpty(response.Message),
            Verification: response.Verification is { } verification ? JsonOutput.ToVerification(verification) : null,
            Load: response.Load is { } load ? JsonOutput.ToDocument(load) : null);
    }

    public static UninstallDocument ToDocument(UninstallPatchResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new UninstallDocument(response.Name, response.KernelRelease, response.StillLoaded, response.ClearedInterruptedApply,
            ProtocolNames.NullIfEmpty(response.Message));
    }

    public static InstalledListDocument ToDocument(ListInstalledResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new InstalledListDocument(ProtocolNames.NullIfEmpty(response.RunningRelease), [.. response.Patches.Select(ToDocument)], [.. response.Problems]);
    }

    public static ApplyDocument ToDocument(ApplyInstalledResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new ApplyDocument([.. response.Results.Select(ToDocument)], response.Resumed, ProtocolNames.NullIfEmpty(response.Message));
    }

    public static StartupApplyDocument ToDocument(StartupApply apply)
    {
        ArgumentNullException.ThrowIfNull(apply);
        return new StartupApplyDocument(
            State: StateName(apply.State),
            Reason: ProtocolNames.NullIfEmpty(apply.Reason),
            ErrorReason: ProtocolNames.NullIfEmpty(apply.ErrorReason),
            InterruptedPatch: ProtocolNames.NullIfEmpty(apply.InterruptedPatch),
            InterruptedBootId: ProtocolNames.NullIfEmpty(apply.InterruptedBootId),
            InterruptedAt: apply.InterruptedAt?.ToDateTime(),
            KernelRelease: ProtocolNames.NullIfEmpty(apply.KernelRelease),
            Results: [.. apply.Results.Select(ToDocument)]);
    }

    public static InstalledPatchDocument ToDocument(InstalledPatch patch)
    {
        ArgumentNullException.ThrowIfNull(patch);
        return new InstalledPatchDocument(
            Name: patch.Name,
            KernelRelease: patch.KernelRelease,
            Loaded: patch.Loaded,
            State: ProtocolNames.OfOptional(patch.State),
            Sha256: patch.Sha256,
            Size: patch.Size,
            Signer: ProtocolNames.NullIfEmpty(patch.Signer),
            KeyId: ProtocolNames.NullIfEmpty(patch.KeyId),
            Replace: patch.HasReplace ? patch.Replace : null,
            ReplaceSource: ProtocolNames.NullIfEmpty(patch.ReplaceSource),
            CumulativeVersion: patch.HasCumulativeVersion ? patch.CumulativeVersion : null,
            InstalledAt: patch.InstalledAt?.ToDateTime(),
            InstalledByUid: patch.HasInstalledByUid ? patch.InstalledByUid : null,
            Description: ProtocolNames.NullIfEmpty(patch.Description),
            CveIds: [.. patch.CveIds],
            Vermagic: ProtocolNames.NullIfEmpty(patch.Vermagic),
            Srcversion: ProtocolNames.NullIfEmpty(patch.Srcversion),
            Compression: ProtocolNames.NullIfEmpty(patch.Compression),
            SourceFileName: ProtocolNames.NullIfEmpty(patch.SourceFileName),
            Path: ProtocolNames.NullIfEmpty(patch.Path),
            Origin: OriginName(patch),
            Package: ProtocolNames.NullIfEmpty(patch.Package),
            PackageVersion: ProtocolNames.NullIfEmpty(patch.PackageVersion),
            Notes: [.. patch.Notes])
        {
            Metadata = MetadataOutput.ToDocument(patch.Metadata),
        };
    }

    public static ApplyResultDocument ToDocument(ApplyResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return new ApplyResultDocument(result.Name, OutcomeName(result.Outcome), ProtocolNames.NullIfEmpty(result.Reason), result.Message);
    }

    public static string StateName(StartupApplyState state) => state switch
    {
        StartupApplyState.Pending => "pending",
        StartupApplyState.Running => "running",
        StartupApplyState.Done => "done",
        StartupApplyState.Disabled => "disabled",
        StartupApplyState.Interrupted => "interrupted",
        _ => UnknownText,
    };

    public static string OutcomeName(ApplyOutcome outcome) => outcome switch
    {
        ApplyOutcome.Applied => "applied",
        ApplyOutcome.AlreadyLoaded => "already-loaded",
        ApplyOutcome.Superseded => "superseded",
        ApplyOutcome.Failed => "failed",
        ApplyOutcome.Quarantined => "quarantined",
        _ => UnknownText,
    };

    private static string Counts(IEnumerable<ApplyResult> results)
    {
        var list = results.ToList();
        var parts = new List<string>();
        foreach (var (outcome, count) in list.GroupBy(r => r.Outcome).OrderBy(g => (int)g.Key).Select(g => (g.Key, g.Count())))
        {
            parts.Add($"{count.ToString(CultureInfo.InvariantCulture)} {OutcomeName(outcome)}");
        }

        var failed = list.Where(r => r.Outcome == ApplyOutcome.Failed).Select(r => $"{r.Name} ({r.Reason})").ToList();
        var quarantined = list.Where(r => r.Outcome == ApplyOutcome.Quarantined).Select(r => r.Name).ToList();
        return string.Join(", ", parts) + (failed.Count > 0 ? "; failed: " + string.Join(", ", failed) : string.Empty)
            + (quarantined.Count > 0 ? "; quarantined (lpctl quarantine list): " + string.Join(", ", quarantined) : string.Empty);
    }

    /// <summary>"local", "vendor (PACKAGE)", or "vendor" when the package is unknown.</summary>
    public static string OriginText(InstalledPatch patch)
    {
        ArgumentNullException.ThrowIfNull(patch);
        return OriginName(patch) == "vendor"
            ? "vendor" + (patch.Package.Length > 0 ? $" ({TerminalText.Escape(patch.Package)})" : string.Empty)
            : "local";
    }

    /// <summary>"local" or "vendor"; a daemon before the vendor store sends no origin: its patches are local.</summary>
    public static string OriginName(InstalledPatch patch) => patch.Origin is "vendor" ? "vendor" : "local";

    private static string ReplaceText(InstalledPatch patch) => patch.HasReplace
        ? (patch.Replace ? "yes (cumulative)" : "no") + (patch.ReplaceSource.Length > 0 ? $" (from {patch.ReplaceSource})" : string.Empty)
        : "unknown (give --replace for a cumulative patch)";

    private static string Known(string value) => string.IsNullOrEmpty(value) ? UnknownText : value;
}

/// <summary>The output of <c>lpctl -o json install FILE</c>.</summary>
internal sealed record InstallDocument(
    InstalledPatchDocument? Installed,
    bool ReplacedPrevious,
    string? Message,
    VerificationDocument? Verification,
    LoadDocument? Load)
{
    [JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;

    /// <summary>The operation this was: id, kind, phase, times (docs/api.md, "Operations").</summary>
    public OperationDocument? Operation { get; init; }

    /// <summary>Its one result, as the daemon set it.</summary>
    public ResultDocument? Result { get; init; }

    /// <summary>Set when lpctl exits non-zero: the reason, message and hint, as for any failure.</summary>
    public ErrorDocument? Error { get; init; }
}

/// <summary>The output of <c>lpctl -o json uninstall NAME</c>.</summary>
internal sealed record UninstallDocument(string Name, string KernelRelease, bool StillLoaded, bool ClearedInterruptedApply, string? Message)
{
    [JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;

    /// <summary>The operation this was: id, kind, phase, times (docs/api.md, "Operations").</summary>
    public OperationDocument? Operation { get; init; }

    /// <summary>Its one result, as the daemon set it.</summary>
    public ResultDocument? Result { get; init; }

    /// <summary>Set when lpctl exits non-zero: the reason, message and hint, as for any failure.</summary>
    public ErrorDocument? Error { get; init; }
}

/// <summary>The output of <c>lpctl -o json list --installed</c>.</summary>
internal sealed record InstalledListDocument(string? RunningRelease, IReadOnlyList<InstalledPatchDocument> Patches, IReadOnlyList<string> Problems)
{
    [JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;
}

/// <summary>The output of <c>lpctl -o json apply</c>.</summary>
internal sealed record ApplyDocument(IReadOnlyList<ApplyResultDocument> Results, bool Resumed, string? Message)
{
    [JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;

    /// <summary>The operation this was: id, kind, phase, times (docs/api.md, "Operations").</summary>
    public OperationDocument? Operation { get; init; }

    /// <summary>Its one result, as the daemon set it.</summary>
    public ResultDocument? Result { get; init; }

    /// <summary>Set when lpctl exits non-zero: the reason, message and hint, as for any failure.</summary>
    public ErrorDocument? Error { get; init; }
}

/// <summary>
/// One installed patch; <c>loaded</c> says whether it is registered in the running kernel now. <c>origin</c> is
/// "local" or "vendor"; <c>package</c> names a vendor patch's package (null when unknown, and for a local patch).
/// </summary>
internal sealed record InstalledPatchDocument(
    string Name,
    string KernelRelease,
    bool Loaded,
    string? State,
    string Sha256,
    ulong Size,
    string? Signer,
    string? KeyId,
    bool? Replace,
    string? ReplaceSource,
    ulong? CumulativeVersion,
    DateTime? InstalledAt,
    uint? InstalledByUid,
    string? Description,
    IReadOnlyList<string> CveIds,
    string? Vermagic,
    string? Srcversion,
    string? Compression,
    string? SourceFileName,
    string? Path,
    string Origin,
    string? Package,
    string? PackageVersion,
    IReadOnlyList<string> Notes)
{
    /// <summary>
    /// The security metadata: the module's (signed or unsigned-modinfo), and the operator's <c>description</c>,
    /// <c>cveIds</c> and <c>cumulativeVersion</c> above only where the module says nothing.
    /// </summary>
    public PatchMetadataDocument? Metadata { get; init; }
}

/// <summary>One installed patch's outcome in an apply: applied, already-loaded, superseded or failed.</summary>
internal sealed record ApplyResultDocument(string Name, string Outcome, string? Reason, string Message);

/// <summary>Start-up apply inside <c>status</c>: pending, running, done, disabled or interrupted.</summary>
internal sealed record StartupApplyDocument(
    string State,
    string? Reason,
    string? ErrorReason,
    string? InterruptedPatch,
    string? InterruptedBootId,
    DateTime? InterruptedAt,
    string? KernelRelease,
    IReadOnlyList<ApplyResultDocument> Results);
