using System.Text.Json.Serialization;

namespace LivePatchAgent.Daemon.Store;

/// <summary>
/// What livepatchd recorded about an installed patch, in <c>&lt;name&gt;.json</c> beside <c>&lt;name&gt;.ko</c>.
/// The manifest is written last: a patch is installed exactly when its manifest exists, and the manifest's
/// SHA-256 is checked against the .ko every time the patch is loaded from the store.
/// </summary>
internal sealed record InstalledPatchManifest
{
    public const int CurrentSchemaVersion = 1;

    public int SchemaVersion { get; init; } = CurrentSchemaVersion;

    public required string Name { get; init; }

    public required string KernelRelease { get; init; }

    /// <summary>SHA-256 of the stored .ko (the decompressed module), lowercase hex.</summary>
    public required string Sha256 { get; init; }

    public required long Size { get; init; }

    public string? Signer { get; init; }

    public string? SignerKeyId { get; init; }

    public string? DigestAlgorithm { get; init; }

    public string? Vermagic { get; init; }

    public string? Srcversion { get; init; }

    /// <summary>Every .modinfo field, in file order (keys may repeat).</summary>
    public IReadOnlyList<ModinfoEntry> Modinfo { get; init; } = [];

    /// <summary>
    /// Whether the patch is cumulative (klp_patch.replace). The flag lives in the module's code, not in .modinfo,
    /// so it comes from the installer (<c>--replace</c> or the metadata file); null when nobody said.
    /// </summary>
    public bool? Replace { get; init; }

    public required DateTimeOffset InstalledAt { get; init; }

    public int? InstalledByUid { get; init; }

    /// <summary>Who installed it, e.g. "uid 0 pid 4242 (lpctl)".</summary>
    public string? InstalledBy { get; init; }

    public string? Description { get; init; }

    public IReadOnlyList<string> CveIds { get; init; } = [];

    /// <summary>Of several installed cumulative patches, the one with the highest version is loaded.</summary>
    public ulong? CumulativeVersion { get; init; }

    /// <summary>"gzip", "xz" or "zstd" when the upload was compressed; the store keeps the decompressed module.</summary>
    public string? Compression { get; init; }

    public string? SourceFileName { get; init; }

    /// <summary>Whether this patch takes part in the cumulative selection.</summary>
    [JsonIgnore]
    public bool IsCumulative => Replace == true;
}

/// <summary>One .modinfo key=value pair.</summary>
internal sealed record ModinfoEntry(string Key, string Value);

/// <summary>The crash-loop marker: a start-up load of <see cref="Patch"/> began in boot <see cref="BootId"/>.</summary>
internal sealed record ApplyMarker(string BootId, string Patch, string Sha256, string KernelRelease, DateTimeOffset StartedAt)
{
    /// <summary>Set when the marker file could not be read; it still stops start-up apply.</summary>
    [JsonIgnore]
    public string? Damage { get; init; }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(InstalledPatchManifest))]
[JsonSerializable(typeof(ApplyMarker))]
internal sealed partial class StoreJsonContext : JsonSerializerContext;
