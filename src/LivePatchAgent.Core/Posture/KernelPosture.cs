namespace LivePatchAgent.Core.Posture;

/// <summary>Who stated what a patch fixes.</summary>
public enum ClaimSource
{
    /// <summary>The patch's signed <c>.modinfo</c> metadata: the builder's statement, covered by the module signature.</summary>
    SignedMetadata,

    /// <summary>An operator's statement on this host, not checked against the module.</summary>
    Operator,

    /// <summary>The module's <c>.modinfo</c> without a trusted signature: the module says so, nobody vouches for it.</summary>
    UnsignedMetadata,
}

/// <summary>
/// What one patch on this host claims to fix: an input of the evaluation, made by the daemon from the kernel state,
/// the patch store and the patch metadata.
/// </summary>
/// <param name="Name">The patch (module) name.</param>
/// <param name="Live">Loaded and enabled: its fixes are in effect now.</param>
/// <param name="Installed">In the patch store. A patch that is installed but not live is one load away.</param>
/// <param name="CveIds">The vulnerability ids it declares (CVE ids; an advisory's own id also counts).</param>
/// <param name="Source">Who made the claim; shown with every fix the claim supports.</param>
/// <param name="KernelLevel">
/// For a cumulative patch, the kernel package version whose fixes it carries ("brings 6.1.192-2 up to the level of
/// 6.1.194-1"): every advisory that version is not affected by is closed. Null for a patch with single fixes.
/// A level at or below the running version carries nothing new and is ignored.
/// </param>
public sealed record PatchClaim(
    string Name,
    bool Live,
    bool Installed,
    ValueArray<string> CveIds,
    ClaimSource Source,
    string? KernelLevel = null);

/// <summary>Where an advisory that affects the running kernel package stands.</summary>
public enum PostureState
{
    /// <summary>A reboot (into a fixed package version) or a patch is needed.</summary>
    Open,

    /// <summary>Installed patches would close it once loaded; none loaded does.</summary>
    FixedInstalled,

    /// <summary>Loaded, enabled patches close it now.</summary>
    FixedLive,

    /// <summary>About the kernel package, but the running version is outside its ranges (counted, not listed).</summary>
    NotAffected,
}

/// <summary>How a patch closes (or helps close) an advisory.</summary>
public enum FixEvidence
{
    /// <summary>It declares one of the advisory's ids.</summary>
    DeclaredId,

    /// <summary>It carries a kernel package level that is not affected.</summary>
    KernelLevel,
}

/// <summary>A patch named on an advisory, with the source of its claim and what the claim is.</summary>
public sealed record PatchFix(string Patch, ClaimSource Source, FixEvidence Evidence);

/// <summary>One advisory that affects the running kernel package version.</summary>
/// <param name="AdvisoryId">The OSV id.</param>
/// <param name="CveIds">Its CVE ids (<see cref="OsvAdvisory.CveIds"/>).</param>
/// <param name="Severity">The distribution's rating of the matched entries, else of the record, else CVSS (<see cref="SeverityRating"/>).</param>
/// <param name="Summary">Its headline (<see cref="OsvAdvisory.Headline"/>).</param>
/// <param name="State">Open, fixed-installed or fixed-live.</param>
/// <param name="Patches">
/// The patches that declare one of its ids or carry a level that closes it. On an open advisory these are the
/// patches that cover some, but not all, of its CVE ids.
/// </param>
/// <param name="FixedVersion">
/// The lowest package version above the running one that the advisory does not affect: booting that version (or a
/// later one) closes it without a patch. Null when the advisory names no fixed version yet.
/// </param>
public sealed record PostureItem(
    string AdvisoryId,
    ValueArray<string> CveIds,
    Severity Severity,
    string? Summary,
    PostureState State,
    ValueArray<PatchFix> Patches,
    string? FixedVersion);

/// <summary>An advisory about the kernel package that could not be evaluated, and why.</summary>
public sealed record UnevaluatedAdvisory(string AdvisoryId, string Reason);

/// <summary>Open advisories per severity.</summary>
public readonly record struct SeverityCounts(int Unknown, int None, int Low, int Medium, int High, int Critical)
{
    public int this[Severity severity] => severity switch
    {
        Severity.None => None,
        Severity.Low => Low,
        Severity.Medium => Medium,
        Severity.High => High,
        Severity.Critical => Critical,
        _ => Unknown,
    };

    public int Total => Unknown + None + Low + Medium + High + Critical;

    public SeverityCounts Add(Severity severity) => severity switch
    {
        Severity.None => this with { None = None + 1 },
        Severity.Low => this with { Low = Low + 1 },
        Severity.Medium => this with { Medium = Medium + 1 },
        Severity.High => this with { High = High + 1 },
        Severity.Critical => this with { Critical = Critical + 1 },
        _ => this with { Unknown = Unknown + 1 },
    };
}

/// <summary>The counts and the two conclusions an operator acts on: the level the patches bring, and what to boot.</summary>
public sealed record PostureSummary
{
    public int FixedLive { get; init; }

    public int FixedInstalled { get; init; }

    public int Open { get; init; }

    public int NotAffected { get; init; }

    /// <summary>Advisories about the package that could not be evaluated (<see cref="KernelPosture.Unevaluated"/>).</summary>
    public int Unevaluated { get; init; }

    public SeverityCounts OpenBySeverity { get; init; }

    /// <summary>The highest severity among open advisories; null when none is open.</summary>
    public Severity? HighestOpen { get; init; }

    /// <summary>
    /// The highest package version whose fixes the live patches carry (their highest <see cref="PatchClaim.KernelLevel"/>
    /// above the running version), else the running version. Null only when the posture is unknown.
    /// </summary>
    public string? EffectiveLevel { get; init; }

    /// <summary>The live patch that carries <see cref="EffectiveLevel"/>; null when it is the running version.</summary>
    public string? EffectiveLevelPatch { get; init; }

    /// <summary>
    /// Booting this package version or a later one closes every open advisory that has a fix: the highest of their
    /// <see cref="PostureItem.FixedVersion"/>s. Null when no open advisory has a fix.
    /// </summary>
    public string? RebootTarget { get; init; }

    /// <summary>Open advisories that name no fixed version yet: no reboot closes them.</summary>
    public int OpenWithoutFix { get; init; }

    /// <summary>
    /// The version that closes every advisory affecting the running version, those closed by patches included.
    /// Patches are built for one kernel build and do not load on another, so after a reboot into
    /// <see cref="RebootTarget"/> the advisories the patches closed are open again unless this version is booted.
    /// Null when no affected advisory has a fix.
    /// </summary>
    public string? RebootTargetWithoutPatches { get; init; }

    /// <summary>Advisories affecting the running version (any state) that name no fixed version.</summary>
    public int AffectedWithoutFix { get; init; }
}

/// <summary>
/// The host's exposure to the kernel advisories: immutable and equal to another posture of the same content, so the
/// daemon can publish it and tell when it changed. Items are ordered open first, then fixed-installed, then
/// fixed-live; within a state by severity, highest first, then by advisory id.
/// </summary>
public sealed record KernelPosture
{
    /// <summary>The running kernel's package; null when it could not be identified.</summary>
    public KernelPackage? Package { get; init; }

    /// <summary>Why there is no posture ("unknown kernel package: ..."); null when there is one.</summary>
    public string? UnknownReason { get; init; }

    public bool IsKnown => UnknownReason is null;

    public required PostureSummary Summary { get; init; }

    public ValueArray<PostureItem> Items { get; init; }

    public ValueArray<UnevaluatedAdvisory> Unevaluated { get; init; }

    /// <summary>Inputs that were not used, and why (a patch's kernel level the version order cannot read).</summary>
    public ValueArray<string> Notes { get; init; }

    /// <summary>A posture that can say nothing, and why.</summary>
    public static KernelPosture Unknown(string reason, KernelPackage? package = null) =>
        new() { Package = package, UnknownReason = reason, Summary = new PostureSummary() };
}

/// <summary>The words used for states in output and documentation.</summary>
public static class PostureStates
{
    public static string ToText(this PostureState state) => state switch
    {
        PostureState.Open => "open",
        PostureState.FixedInstalled => "fixed-installed",
        PostureState.FixedLive => "fixed-live",
        _ => "not-affected",
    };
}
