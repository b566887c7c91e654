using System.Globalization;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Output;

/// <summary>
/// A patch's security metadata (docs/patch-authoring.md) in tables and documents. Every value is shown with where it
/// came from: "signed" (the module's .modinfo under a trusted signature), "unsigned-modinfo" or "operator".
/// </summary>
internal static class MetadataOutput
{
    /// <summary>What a loaded patch shows when livepatchd did not load its module in this boot.</summary>
    public const string NotRecordedText = "unknown (livepatchd did not load this module in this boot; the kernel keeps no .modinfo to read back)";

    /// <summary>Adds the metadata rows: CVEs, summary, level, fixes version and the overall source.</summary>
    public static KeyValueBlock AddRows(KeyValueBlock block, PatchMetadata? metadata)
    {
        ArgumentNullException.ThrowIfNull(block);
        if (metadata is null)
        {
            return block.Add("Metadata", NotRecordedText);
        }

        block.Add("CVEs", metadata.CveIds.Count == 0
            ? "none declared"
            : $"{string.Join(", ", metadata.CveIds)} ({metadata.CveIdsSource})");
        if (metadata.Summary.Length > 0)
        {
            block.Add("Summary", $"{metadata.Summary} ({metadata.SummarySource})");
        }

        if (metadata.HasLevel)
        {
            block.Add("Level", $"{metadata.Level.ToString(CultureInfo.InvariantCulture)} ({metadata.LevelSource})");
        }

        if (metadata.FixesVersion.Length > 0)
        {
            block.Add("Fixes", $"{metadata.FixesVersion} ({metadata.FixesVersionSource}): carries the security fixes of that kernel package version");
        }

        string[] sources =
        [
            metadata.CveIdsSource, metadata.SummarySource, metadata.LevelSource, metadata.FixesVersionSource,
        ];
        var mixed = sources.Where(s => s.Length > 0).Distinct(StringComparer.Ordinal).Count() > 1;
        block.Add("Metadata", mixed
            ? $"{metadata.MetadataSource}: the least trusted source of its fields (each value above names its own)"
            : SourceText(metadata.MetadataSource));
        foreach (var warning in metadata.Warnings)
        {
            block.Add("Warning", warning);
        }

        return block;
    }

    /// <summary>The overall source in words.</summary>
    public static string SourceText(string source) => source switch
    {
        "signed" => "signed: declared in the module's .modinfo, covered by a trusted signature",
        "unsigned-modinfo" => "unsigned-modinfo: declared in the module's .modinfo, but no trusted signature covers it",
        "operator" => "operator: given at lpctl install time, not part of the module",
        "" => "none: the module declares no security metadata",
        _ => source,
    };

    /// <summary>The CVES cell of a table: the count, or "?" when nothing is known.</summary>
    public static string CveCountCell(PatchMetadata? metadata) =>
        metadata is null ? "?" : metadata.CveIds.Count.ToString(CultureInfo.InvariantCulture);

    /// <summary>The METADATA cell of a table: the overall source word, "-" when nothing is declared, "?" when unknown.</summary>
    public static string SourceCell(PatchMetadata? metadata) =>
        metadata is null ? "?" : metadata.MetadataSource.Length > 0 ? metadata.MetadataSource : "-";

    public static PatchMetadataDocument? ToDocument(PatchMetadata? metadata) => metadata is null
        ? null
        : new PatchMetadataDocument(
            [.. metadata.CveIds],
            ProtocolNames.NullIfEmpty(metadata.Summary),
            metadata.HasLevel ? metadata.Level : null,
            ProtocolNames.NullIfEmpty(metadata.FixesVersion),
            ProtocolNames.NullIfEmpty(metadata.MetadataSource),
            new MetadataSourcesDocument(
                ProtocolNames.NullIfEmpty(metadata.CveIdsSource),
                ProtocolNames.NullIfEmpty(metadata.SummarySource),
                ProtocolNames.NullIfEmpty(metadata.LevelSource),
                ProtocolNames.NullIfEmpty(metadata.FixesVersionSource)),
            [.. metadata.Warnings]);
}

/// <summary>
/// A patch's security metadata. <c>metadataSource</c> is the least trusted source of the fields present: "signed"
/// only when every one is signed; null when none is present. <c>sources</c> names each field's own source.
/// </summary>
internal sealed record PatchMetadataDocument(
    IReadOnlyList<string> CveIds,
    string? Summary,
    ulong? Level,
    string? FixesVersion,
    string? MetadataSource,
    MetadataSourcesDocument Sources,
    IReadOnlyList<string> Warnings);

/// <summary>Each metadata field's source: "signed", "unsigned-modinfo", "operator", or null when the field is absent.</summary>
internal sealed record MetadataSourcesDocument(string? CveIds, string? Summary, string? Level, string? FixesVersion);
