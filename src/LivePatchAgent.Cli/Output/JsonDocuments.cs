using System.Text.Json.Serialization;

namespace LivePatchAgent.Cli.Output;

// The documents `lpctl -o json` prints. Their shape is a contract (scripts and the e2e test bed parse it):
// fields are only ever added, and every document carries schemaVersion. Unknown values are null, never "".

/// <summary>The output of <c>lpctl -o json status</c>.</summary>
internal sealed record StatusDocument(
    string? DaemonVersion,
    string State,
    DateTime? StartedAt,
    double? UptimeSeconds,
    KernelDocument? Kernel,
    uint PatchCount,
    uint EnabledPatchCount,
    TransitionDocument? Transition,
    DateTime? SnapshotTime,
    IReadOnlyList<ProblemDocument> Problems)
{
    [JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;
}

/// <summary>The running kernel, inside <see cref="StatusDocument"/>.</summary>
internal sealed record KernelDocument(
    string? Release,
    string? Version,
    string? BootId,
    ulong? TaintMask,
    string? TaintFlags,
    IReadOnlyList<string> TaintDescriptions,
    string? Lockdown,
    bool? SigEnforce,
    bool? ModulesDisabled,
    bool? FtraceEnabled,
    bool LivepatchSupported,
    string? BuildId);

/// <summary>The running transition, inside <see cref="StatusDocument"/>.</summary>
internal sealed record TransitionDocument(string? Patch, bool Patching, DateTime? StartedAt, double? ElapsedSeconds);

/// <summary>A problem the daemon met while reading the kernel.</summary>
internal sealed record ProblemDocument(string? Path, string Message);

/// <summary>The output of <c>lpctl -o json list</c>.</summary>
internal sealed record PatchListDocument(IReadOnlyList<PatchDocument> Patches)
{
    [JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;
}

/// <summary>The output of <c>lpctl -o json info NAME</c>.</summary>
internal sealed record PatchInfoDocument(PatchDocument Patch)
{
    [JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;
}

/// <summary>One live patch, as in <c>list</c> and <c>info</c>.</summary>
internal sealed record PatchDocument(
    string Name,
    string State,
    bool Enabled,
    bool Transition,
    bool? Replace,
    uint? StackOrder,
    IReadOnlyList<PatchObjectDocument> Objects,
    ModuleDocument? Module);

/// <summary>A patched object (vmlinux or a module).</summary>
internal sealed record PatchObjectDocument(string Name, bool? Patched, IReadOnlyList<PatchFunctionDocument> Functions);

/// <summary>A replaced function.</summary>
internal sealed record PatchFunctionDocument(string Name, uint Sympos);

/// <summary>The patch's module facts from /sys/module.</summary>
internal sealed record ModuleDocument(int? Refcnt, string? Taint, string? Srcversion, string? Initstate);

/// <summary>One line of <c>lpctl -o json watch</c> (JSON Lines: one compact object per event).</summary>
internal sealed record EventDocument(
    ulong Sequence,
    DateTime? Time,
    string Kind,
    string? Patch,
    string Message,
    string? FromState,
    string? ToState,
    ulong Dropped,
    string? KernelRelease)
{
    [JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;
}

/// <summary>
/// Source-generated serialisation for every document: no reflection, so lpctl publishes as Native AOT without
/// warnings and starts fast.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    GenerationMode = JsonSourceGenerationMode.Serialization)]
[JsonSerializable(typeof(StatusDocument))]
[JsonSerializable(typeof(PatchListDocument))]
[JsonSerializable(typeof(PatchInfoDocument))]
[JsonSerializable(typeof(EventDocument))]
internal sealed partial class LpctlJsonContext : JsonSerializerContext;
