using System.Text.Json.Serialization;

namespace LivePatchAgent.Cli.Output;

// The documents `lpctl -o json` prints. Their shape is a contract (scripts and the e2e test bed parse it):
// fields are only ever added, and every document carries schemaVersion. Unknown values are null, never "".

/// <summary>
/// The output of <c>lpctl -o json status</c>. <c>forcedModules</c> are pinned by a forced transition until reboot;
/// <c>blockingTasks</c> is the number of threads holding a stalled transition at the daemon's last scan (null when
/// no transition is stalled).
/// </summary>
internal sealed record StatusDocument(
    string? DaemonVersion,
    string State,
    DateTime? StartedAt,
    double? UptimeSeconds,
    KernelDocument? Kernel,
    uint PatchCount,
    uint EnabledPatchCount,
    uint LeftoverCount,
    TransitionDocument? Transition,
    DateTime? SnapshotTime,
    IReadOnlyList<ProblemDocument> Problems,
    IReadOnlyList<string> ForcedModules,
    uint? BlockingTasks)
{
    [JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;

    /// <summary>Start-up apply of installed patches; null from a daemon that does not report it.</summary>
    public StartupApplyDocument? StartupApply { get; init; }

    /// <summary>The CVE posture in summary (no advisories: see lpctl cves); null before the daemon evaluated it.</summary>
    public PostureDocument? Posture { get; init; }

    /// <summary>The kernel health guard (as lpctl health); null from a daemon that does not report it.</summary>
    public HealthDocument? Health { get; init; }
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
internal sealed record TransitionDocument(string? Patch, bool Patching, DateTime? StartedAt, double? ElapsedSeconds)
{
    /// <summary>Tasks switched of all tasks, counted while it runs; null before the first count.</summary>
    public ProgressDocument? Progress { get; init; }

    /// <summary>While it is stalled: the first task that blocks it, e.g. "cat 1234 in lpdemo_sleeper_wait".</summary>
    public string? Blocking { get; init; }
}

/// <summary>A problem the daemon met while reading the kernel.</summary>
internal sealed record ProblemDocument(string? Path, string Message);

/// <summary>The output of <c>lpctl -o json list</c>.</summary>
internal sealed record PatchListDocument(IReadOnlyList<PatchDocument> Patches, IReadOnlyList<LeftoverDocument> Leftovers)
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

/// <summary>
/// One live patch, as in <c>list</c> and <c>info</c>. <c>forced</c>: livepatchd forced a transition that pins this
/// module, so it can never be unloaded until reboot.
/// </summary>
internal sealed record PatchDocument(
    string Name,
    string State,
    bool Enabled,
    bool Transition,
    bool? Replace,
    uint? StackOrder,
    IReadOnlyList<PatchObjectDocument> Objects,
    ModuleDocument? Module,
    bool Forced,
    string? StackOrderSource)
{
    /// <summary>
    /// The security metadata verified when livepatchd loaded the module in this boot; null when it did not load it,
    /// so nothing is known.
    /// </summary>
    public PatchMetadataDocument? Metadata { get; init; }
}

/// <summary>A patched object (vmlinux or a module).</summary>
internal sealed record PatchObjectDocument(string Name, bool? Patched, IReadOnlyList<PatchFunctionDocument> Functions);

/// <summary>A replaced function; <c>servedBy</c> is the patch whose version of it runs now (null: none, or unknown).</summary>
internal sealed record PatchFunctionDocument(string Name, uint Sympos, string? ServedBy);

/// <summary>The patch's module facts from /sys/module.</summary>
internal sealed record ModuleDocument(int? Refcnt, string? Taint, string? Srcversion, string? Initstate);

/// <summary>
/// A live patch module that is still loaded but no longer registered (replaced or disabled), in <c>list</c>;
/// <c>lpctl unload NAME</c> removes it, unless <c>forced</c>: a forced transition pinned it until reboot.
/// </summary>
internal sealed record LeftoverDocument(string Name, ModuleDocument? Module, bool Forced);

/// <summary>
/// What the daemon's verification found: every check, the module's facts and the kernel's own policy. The
/// <c>verify</c> document (<see cref="VerifyDocument"/>) and the <c>verification</c> of <c>load</c>.
/// </summary>
internal record VerificationDocument(
    bool Ok,
    string? Reason,
    string? Message,
    IReadOnlyList<CheckDocument> Checks,
    ModuleReportDocument? Module,
    KernelPolicyDocument? KernelPolicy);

/// <summary>The output of <c>lpctl -o json verify FILE</c>.</summary>
internal sealed record VerifyDocument(
    bool Ok,
    string? Reason,
    string? Message,
    IReadOnlyList<CheckDocument> Checks,
    ModuleReportDocument? Module,
    KernelPolicyDocument? KernelPolicy)
    : VerificationDocument(Ok, Reason, Message, Checks, Module, KernelPolicy)
{
    [JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;
}

/// <summary>One verification check: <c>result</c> is passed, failed or skipped; <c>reason</c> only when failed.</summary>
internal sealed record CheckDocument(string Name, string Result, string? Detail, string? Reason);

/// <summary>What the module says about itself. Facts the daemon could not read (a malformed file) are null.</summary>
internal sealed record ModuleReportDocument(
    string? Name,
    ulong Size,
    string? Sha256,
    string? Vermagic,
    bool Livepatch,
    string? Srcversion,
    string? License,
    string? Description,
    IReadOnlyList<string> Depends,
    SignatureDocument? Signature,
    IReadOnlyList<ModinfoDocument> Modinfo)
{
    /// <summary>"gzip", "xz" or "zstd" when the upload was compressed (the other facts are of the decompressed module).</summary>
    public string? Compression { get; init; }

    /// <summary>The security metadata the module declares; null when the ELF could not be read.</summary>
    public PatchMetadataDocument? Metadata { get; init; }
}

/// <summary>The module's appended signature; <c>signer</c>, <c>keyId</c> and <c>digestAlgorithm</c> null when unknown.</summary>
internal sealed record SignatureDocument(bool Present, string? Signer, string? KeyId, string? DigestAlgorithm, bool Trusted);

/// <summary>One .modinfo key=value pair, in file order (keys may repeat).</summary>
internal sealed record ModinfoDocument(string Key, string Value);

/// <summary>The kernel's own module policy, which may refuse a module livepatchd accepts.</summary>
internal sealed record KernelPolicyDocument(bool? SigEnforce, string? Lockdown, bool? ModulesDisabled, IReadOnlyList<string> Warnings);

/// <summary>The output of <c>lpctl -o json load FILE</c>.</summary>
internal sealed record LoadDocument(
    string Name,
    bool TransitionCompleted,
    double? ElapsedSeconds,
    string? Message,
    PatchDocument? Patch,
    VerificationDocument? Verification)
{
    [JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;

    /// <summary>The operation this was: id, kind, phase, times (docs/api.md, "Operations").</summary>
    public OperationDocument? Operation { get; init; }

    /// <summary>Its one result, as the daemon set it.</summary>
    public ResultDocument? Result { get; init; }

    /// <summary>Set when lpctl exits non-zero: the reason, message and hint, as for any failure.</summary>
    public ErrorDocument? Error { get; init; }

    /// <summary>Modules this load replaced atomically and then removed (their reference count was 0).</summary>
    public IReadOnlyList<string> RemovedLeftovers { get; init; } = [];
}

/// <summary>The output of <c>lpctl -o json unload NAME</c>.</summary>
internal sealed record UnloadDocument(string Name, bool WasLeftover, double? ElapsedSeconds, string? Message)
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
/// One line of <c>lpctl -o json watch</c> (JSON Lines: one compact object per event). For stall events,
/// <c>blockingTasks</c> counts the threads holding the transition and <c>seconds</c> is how long it has run
/// (null for other events).
/// </summary>
internal sealed record EventDocument(
    ulong Sequence,
    DateTime? Time,
    string Kind,
    string? Patch,
    string Message,
    string? FromState,
    string? ToState,
    ulong Dropped,
    string? KernelRelease,
    uint BlockingTasks,
    double? Seconds)
{
    [JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;
}

/// <summary>
/// The output of <c>lpctl -o json blocking</c>. With no transition running, <c>patch</c>, <c>patching</c>,
/// <c>elapsedSeconds</c> and <c>threadsScanned</c> are null and <c>tasks</c> is empty.
/// </summary>
internal sealed record BlockingDocument(
    string? Patch,
    bool? Patching,
    double? ElapsedSeconds,
    uint? ThreadsScanned,
    string? Message,
    IReadOnlyList<BlockingTaskDocument> Tasks)
{
    [JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;
}

/// <summary>
/// A thread that holds the transition back. <c>heldBy</c> is the patched function on its stack (null when none
/// was found); <c>stack</c> is empty when stacks were not asked for or could not be read (<c>stackProblem</c>
/// says why).
/// </summary>
internal sealed record BlockingTaskDocument(
    int Pid,
    int Tid,
    string Comm,
    string? Cmdline,
    bool KernelThread,
    string? Unit,
    HeldByDocument? HeldBy,
    string? Explanation,
    IReadOnlyList<string> Stack,
    string? StackProblem);

/// <summary>The frame of a patched function on a blocking thread's stack, and the object it belongs to.</summary>
internal sealed record HeldByDocument(string Function, string? Object, string? Frame);

/// <summary>The output of <c>lpctl -o json revert NAME</c>.</summary>
internal sealed record RevertDocument(string Name, bool Completed, bool ModuleRemoved, string? Message)
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

/// <summary>The output of <c>lpctl -o json force NAME --yes</c>; <c>pinned</c> are the modules kept until reboot.</summary>
internal sealed record ForceDocument(string Name, IReadOnlyList<string> Pinned, bool Completed, string? Message)
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

/// <summary>The output of <c>lpctl -o json kick NAME</c>; <c>method</c> is sigstop-sigcont or signal-attribute.</summary>
internal sealed record KickDocument(
    string Name,
    IReadOnlyList<int> KickedPids,
    uint KernelThreadsSkipped,
    string? Method,
    string? Message)
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

/// <summary>One operation (lpctl operations, and every mutation's document).</summary>
internal sealed record OperationDocument(
    long Id,
    string Kind,
    string? Patch,
    string Phase,
    DateTime? StartedAt,
    DateTime? FinishedAt,
    double? ElapsedSeconds,
    double? TimeoutSeconds,
    string? Caller,
    string Message,
    bool Done,
    ProgressDocument? Progress,
    string? Blocking,
    uint BlockingTasks,
    ResultDocument? Result);

/// <summary>A transition's progress: tasks switched of all tasks.</summary>
internal sealed record ProgressDocument(uint TasksTotal, uint TasksPending, uint TasksSwitched);

/// <summary>
/// An operation's one result: <c>kind</c> is completed, forced, reversed, still-running, not-waited, refused, failed,
/// cancelled or interrupted; <c>reason</c> is the error reason when it did not complete.
/// </summary>
internal sealed record ResultDocument(string Kind, string? Reason, string Message, string? By, IReadOnlyList<string> OldCodeTasks, IReadOnlyList<string> Pinned);

/// <summary>What failed: the reason (docs/errors.md), the message, and what to do.</summary>
internal sealed record ErrorDocument(string Reason, string Message, string? Hint);

/// <summary>The output of any command that fails with <c>-o json</c>, when it has no document of its own.</summary>
internal sealed record FailureDocument(ErrorDocument Error)
{
    [JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;
}

/// <summary>The end of an operation that produced nothing of its own kind (e.g. refused before it read the module).</summary>
internal sealed record OperationEndDocument(OperationDocument Operation, ResultDocument? Result, ErrorDocument? Error)
{
    [JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;
}

/// <summary>The output of <c>lpctl -o json operations</c>.</summary>
internal sealed record OperationListDocument(IReadOnlyList<OperationDocument> Operations)
{
    [JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;
}

/// <summary>
/// The output of <c>lpctl -o json cves</c> (with its advisories) and the <c>posture</c> of <c>lpctl -o json status</c>
/// (without them). <c>highestOpenSeverity</c> is null when nothing is open; <c>failOnSeverity</c> is null when
/// Check:FailOnSeverity is off.
/// </summary>
internal sealed record PostureDocument(
    bool Available,
    string? UnavailableReason,
    string? Ecosystem,
    string? Package,
    string? RunningVersion,
    string? EffectiveVersion,
    uint FixedLive,
    uint FixedInstalled,
    uint Open,
    uint NotAffected,
    string? HighestOpenSeverity,
    OpenCountsDocument OpenBySeverity,
    string? RebootTarget,
    uint OpenWithoutFix,
    string? FailOnSeverity,
    string? AdvisoriesDir,
    uint AdvisoryCount,
    uint FeedFileCount,
    DateTime? EvaluatedAt,
    IReadOnlyList<ProblemDocument> Problems,
    IReadOnlyList<PostureAdvisoryDocument> Advisories)
{
    [JsonPropertyOrder(-1)]
    public int SchemaVersion { get; } = JsonDocuments.SchemaVersion;
}

/// <summary>Open advisories per severity, inside <see cref="PostureDocument"/>.</summary>
internal sealed record OpenCountsDocument(uint Critical, uint High, uint Medium, uint Low, uint Unknown);

/// <summary>One advisory as it applies to the host, inside <see cref="PostureDocument"/>.</summary>
internal sealed record PostureAdvisoryDocument(
    string Id,
    IReadOnlyList<string> CveIds,
    string Severity,
    string State,
    IReadOnlyList<string> Patches,
    string? MetadataSource,
    string? FixedVersion,
    string? Summary,
    string? File);

/// <summary>
/// Source-generated serialisation for every document: no reflection, so lpctl publishes as Native AOT without
/// warnings and starts fast.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    GenerationMode = JsonSourceGenerationMode.Serialization)]
[JsonSerializable(typeof(StatusDocument))]
[JsonSerializable(typeof(PostureDocument))]
[JsonSerializable(typeof(HealthDocument))]
[JsonSerializable(typeof(QuarantineListDocument))]
[JsonSerializable(typeof(QuarantineReleaseDocument))]
[JsonSerializable(typeof(PatchListDocument))]
[JsonSerializable(typeof(PatchInfoDocument))]
[JsonSerializable(typeof(EventDocument))]
[JsonSerializable(typeof(VerifyDocument))]
[JsonSerializable(typeof(LoadDocument))]
[JsonSerializable(typeof(UnloadDocument))]
[JsonSerializable(typeof(BlockingDocument))]
[JsonSerializable(typeof(RevertDocument))]
[JsonSerializable(typeof(ForceDocument))]
[JsonSerializable(typeof(KickDocument))]
[JsonSerializable(typeof(InstallDocument))]
[JsonSerializable(typeof(UninstallDocument))]
[JsonSerializable(typeof(InstalledListDocument))]
[JsonSerializable(typeof(ApplyDocument))]
[JsonSerializable(typeof(HistoryDocument))]
[JsonSerializable(typeof(FailureDocument))]
[JsonSerializable(typeof(OperationEndDocument))]
[JsonSerializable(typeof(OperationListDocument))]
[JsonSerializable(typeof(LivePatchAgent.Cli.Commands.HealthCheckDocument))]
[JsonSerializable(typeof(LivePatchAgent.Cli.Commands.MetricsDocument))]
internal sealed partial class LpctlJsonContext : JsonSerializerContext;
