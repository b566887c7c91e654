using System.Collections.Immutable;
using System.Text.Json.Serialization;
using LivePatchAgent.Core.Modules;

namespace LivePatchAgent.Daemon.Store;

/// <summary>
/// What livepatchd recorded about an installed patch, in <c>&lt;name&gt;.json</c> beside <c>&lt;name&gt;.ko</c>.
/// The manifest is written last: a patch is installed exactly when its manifest exists, and the manifest's
/// SHA-256 is checked against the .ko every time the patch is loaded from the store.
/// </summary>
internal sealed record InstalledPatchManifest
{
    /// <summary>2: the module's verified security metadata (<see cref="Metadata"/>). Version 1 manifests read as before.</summary>
    public const int CurrentSchemaVersion = 2;

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

    /// <summary>
    /// The security metadata the module declared, as verified at install time: signed when its signature verified
    /// against a trusted certificate. Null in a version 1 manifest (<see cref="Declared"/> then reads it from
    /// <see cref="Modinfo"/>).
    /// </summary>
    public StoredMetadata? Metadata { get; init; }

    public required DateTimeOffset InstalledAt { get; init; }

    public int? InstalledByUid { get; init; }

    /// <summary>Who installed it, e.g. "uid 0 pid 4242 (lpctl)".</summary>
    public string? InstalledBy { get; init; }

    /// <summary>The operator's description (lpctl install --meta): the summary where the module declares none.</summary>
    public string? Description { get; init; }

    /// <summary>The operator's CVE ids (lpctl install --cve, --meta): used only when the module declares none.</summary>
    public IReadOnlyList<string> CveIds { get; init; } = [];

    /// <summary>The operator's cumulative version: the level where the module declares none.</summary>
    public ulong? CumulativeVersion { get; init; }

    /// <summary>"gzip", "xz" or "zstd" when the upload was compressed; the store keeps the decompressed module.</summary>
    public string? Compression { get; init; }

    public string? SourceFileName { get; init; }

    /// <summary>
    /// Set for a vendor patch (<see cref="VendorStore"/>): read from the module itself at listing time, never
    /// written; null for an installed patch of the local store.
    /// </summary>
    [JsonIgnore]
    public VendorSource? Vendor { get; init; }

    /// <summary>For a local patch: the vendor store's copy of the same name that this install shadows; null when none.</summary>
    [JsonIgnore]
    public VendorSource? ShadowedVendor { get; init; }

    /// <summary>
    /// What a verification report says about a module, as a manifest: its hash, signer, .modinfo and declared metadata
    /// (signed when a trusted signature covered it). The installer adds what it knows with <c>with</c>.
    /// </summary>
    public static InstalledPatchManifest FromReport(string name, string release, VerificationReport report, long size, DateTimeOffset installedAt)
    {
        ArgumentNullException.ThrowIfNull(report);
        var info = report.Module?.ModInfo;
        return new InstalledPatchManifest
        {
            Name = name,
            KernelRelease = release,
            Sha256 = report.Sha256,
            Size = size,
            Signer = report.Signer?.Name,
            SignerKeyId = report.Signer?.KeyId,
            DigestAlgorithm = report.Signer?.DigestAlgorithm,
            Vermagic = info?.Vermagic,
            Srcversion = info?.SrcVersion,
            Modinfo = info is null ? [] : [.. info.Entries.Select(e => new ModinfoEntry(e.Key, e.Value))],
            Metadata = StoredMetadata.From(report.Metadata, report.SignatureTrusted ? MetadataSource.SignedModinfo : MetadataSource.UnsignedModinfo),
            InstalledAt = installedAt,
        };
    }

    /// <summary>Whether this patch takes part in the cumulative selection.</summary>
    [JsonIgnore]
    public bool IsCumulative => Replace == true;

    /// <summary>
    /// What the module declared. A version 1 manifest did not record whether the signature was trusted, so its
    /// .modinfo metadata reads as unsigned-modinfo (start-up apply re-verifies the module, and the loaded patch then
    /// shows what that verification found).
    /// </summary>
    [JsonIgnore]
    public PatchMetadata Declared => Metadata?.ToMetadata()
        ?? PatchMetadata.FromModInfo(ModuleInfo.FromEntries(Modinfo.Select(e => KeyValuePair.Create(e.Key, e.Value))), MetadataSource.UnsignedModinfo).Metadata;

    /// <summary>What the operator said at install time.</summary>
    [JsonIgnore]
    public PatchMetadata OperatorMetadata => PatchMetadata.FromOperator(Description, CveIds, CumulativeVersion);

    /// <summary>The metadata shown and used: the module's, and the operator's only where the module says nothing.</summary>
    [JsonIgnore]
    public PatchMetadata EffectiveMetadata => PatchMetadata.Merge(Declared, OperatorMetadata);
}

/// <summary>
/// A module's declared security metadata as a manifest or the loaded-patch records keep it; <c>source</c> is "signed"
/// or "unsigned-modinfo" and applies to every field.
/// </summary>
internal sealed record StoredMetadata(IReadOnlyList<string> CveIds, string? Summary, ulong? Level, string? FixesVersion, string Source)
{
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <param name="declared">What the module declared.</param>
    /// <param name="moduleSource">Whether a trusted signature covered the module: the source kept when it declared nothing.</param>
    public static StoredMetadata From(PatchMetadata declared, MetadataSource moduleSource)
    {
        ArgumentNullException.ThrowIfNull(declared);
        var source = declared.Source == MetadataSource.None ? moduleSource : declared.Source;
        return new StoredMetadata([.. declared.CveIds], declared.Summary, declared.Level, declared.FixesVersion, PatchMetadata.Name(source))
        {
            Warnings = [.. declared.Warnings],
        };
    }

    /// <summary>
    /// The metadata again. Any source word other than "signed" reads as unsigned-modinfo, so a word this version
    /// does not know never reads as more trusted than it is; the operator's fields are kept elsewhere.
    /// </summary>
    public PatchMetadata ToMetadata()
    {
        var source = PatchMetadata.ParseSource(Source) == MetadataSource.SignedModinfo ? MetadataSource.SignedModinfo : MetadataSource.UnsignedModinfo;
        ImmutableArray<string> cves = [.. CveIds ?? []];
        return new PatchMetadata
        {
            CveIds = cves,
            CveIdsSource = cves.IsEmpty ? MetadataSource.None : source,
            Summary = Summary,
            SummarySource = Summary is null ? MetadataSource.None : source,
            Level = Level,
            LevelSource = Level is null ? MetadataSource.None : source,
            FixesVersion = FixesVersion,
            FixesVersionSource = FixesVersion is null ? MetadataSource.None : source,
            Warnings = [.. Warnings ?? []],
        };
    }
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
