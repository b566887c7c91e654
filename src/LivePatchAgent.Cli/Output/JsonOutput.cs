using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Google.Protobuf.WellKnownTypes;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Output;

/// <summary>Constants of the JSON output contract.</summary>
internal static class JsonDocuments
{
    /// <summary>Bumped only when a field changes meaning or disappears; added fields keep the version.</summary>
    public const int SchemaVersion = 1;
}

/// <summary>Maps protocol messages to the JSON documents and writes them.</summary>
internal static class JsonOutput
{
    // Relaxed escaping keeps kernel text such as `"out-of-tree"` and `<name>` readable; the output is never
    // embedded in HTML.
    private static readonly JsonWriterOptions Indented = new() { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonWriterOptions Compact = new() { Indented = false, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static StatusDocument ToDocument(AgentStatus status)
    {
        ArgumentNullException.ThrowIfNull(status);
        return new StatusDocument(
            DaemonVersion: ProtocolNames.NullIfEmpty(status.DaemonVersion),
            State: ProtocolNames.Of(status.State),
            StartedAt: ToDateTime(status.StartedAt),
            UptimeSeconds: ToSeconds(status.Uptime),
            Kernel: status.Kernel is { } kernel ? ToDocument(kernel) : null,
            PatchCount: status.PatchCount,
            EnabledPatchCount: status.EnabledPatchCount,
            LeftoverCount: status.LeftoverCount,
            Transition: status.Transition is { } transition
                ? new TransitionDocument(
                    ProtocolNames.NullIfEmpty(transition.Patch),
                    transition.Patching,
                    ToDateTime(transition.StartedAt),
                    ToSeconds(transition.Elapsed))
                {
                    Progress = transition.Progress is { } p ? new ProgressDocument(p.TasksTotal, p.TasksPending, p.TasksTotal - p.TasksPending) : null,
                    Blocking = ProtocolNames.NullIfEmpty(transition.Blocking),
                }
                : null,
            SnapshotTime: ToDateTime(status.SnapshotTime),
            Problems: [.. status.Problems.Select(p => new ProblemDocument(ProtocolNames.NullIfEmpty(p.Path), p.Message))],
            ForcedModules: [.. status.ForcedModules],
            // The count belongs to a stalled transition; otherwise no scan stands behind a 0.
            BlockingTasks: status.State == AgentState.Stalled || status.BlockingTasks > 0 ? status.BlockingTasks : null)
        {
            StartupApply = status.StartupApply is { } apply ? StoreOutput.ToDocument(apply) : null,
            Posture = status.Posture is { } posture ? PostureOutput.ToDocument(posture, []) : null,
            Health = status.Health is { } health ? HealthOutput.ToDocument(health) : null,
        };
    }

    public static KernelDocument ToDocument(KernelFacts kernel)
    {
        ArgumentNullException.ThrowIfNull(kernel);
        return new KernelDocument(
            Release: ProtocolNames.NullIfEmpty(kernel.Release),
            Version: ProtocolNames.NullIfEmpty(kernel.Version),
            BootId: ProtocolNames.NullIfEmpty(kernel.BootId),
            TaintMask: kernel.HasTaintMask ? kernel.TaintMask : null,
            // "" is a fact (untainted) when the mask is known; without the mask the letters are unknown.
            TaintFlags: kernel.HasTaintMask ? kernel.TaintFlags : null,
            TaintDescriptions: [.. kernel.TaintDescriptions],
            Lockdown: ProtocolNames.NullIfEmpty(kernel.Lockdown),
            SigEnforce: kernel.HasSigEnforce ? kernel.SigEnforce : null,
            ModulesDisabled: kernel.HasModulesDisabled ? kernel.ModulesDisabled : null,
            FtraceEnabled: kernel.HasFtraceEnabled ? kernel.FtraceEnabled : null,
            LivepatchSupported: kernel.LivepatchSupported,
            BuildId: ProtocolNames.NullIfEmpty(kernel.BuildId));
    }

    public static PatchListDocument ToDocument(ListPatchesResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new PatchListDocument(
            [.. response.Patches.Select(ToDocument)],
            [.. response.Leftovers.Select(l => new LeftoverDocument(l.Name, ToDocument(l.Module), l.Forced))]);
    }

    public static PatchDocument ToDocument(Patch patch)
    {
        ArgumentNullException.ThrowIfNull(patch);
        return new PatchDocument(
            Name: patch.Name,
            State: ProtocolNames.Of(patch.State),
            Enabled: patch.Enabled,
            Transition: patch.Transition,
            Replace: patch.HasReplace ? patch.Replace : null,
            StackOrder: patch.HasStackOrder ? patch.StackOrder : null,
            Objects:
            [
                .. patch.Objects.Select(o => new PatchObjectDocument(
                    o.Name,
                    o.HasPatched ? o.Patched : null,
                    [.. o.Functions.Select(f => new PatchFunctionDocument(f.Name, f.Sympos, ProtocolNames.NullIfEmpty(f.ServedBy)))])),
            ],
            Module: ToDocument(patch.Module),
            Forced: patch.Forced,
            StackOrderSource: ProtocolNames.NullIfEmpty(patch.StackOrderSource))
        {
            Metadata = MetadataOutput.ToDocument(patch.Metadata),
        };
    }

    private static ModuleDocument? ToDocument(ModuleFacts? module) =>
        module is null
            ? null
            : new ModuleDocument(
                module.HasRefcnt ? module.Refcnt : null,
                ProtocolNames.NullIfEmpty(module.Taint),
                ProtocolNames.NullIfEmpty(module.Srcversion),
                ProtocolNames.NullIfEmpty(module.Initstate));

    public static VerifyDocument ToDocument(VerifyModuleResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var verification = ToVerification(response);
        return new VerifyDocument(verification.Ok, verification.Reason, verification.Message, verification.Checks,
            verification.Module, verification.KernelPolicy);
    }

    public static VerificationDocument ToVerification(VerifyModuleResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new VerificationDocument(
            Ok: response.Ok,
            Reason: ProtocolNames.NullIfEmpty(response.Reason),
            Message: ProtocolNames.NullIfEmpty(response.Message),
            Checks:
            [
                .. response.Checks.Select(c => new CheckDocument(
                    c.Name,
                    ProtocolNames.Of(c.Result),
                    ProtocolNames.NullIfEmpty(c.Detail),
                    ProtocolNames.NullIfEmpty(c.Reason))),
            ],
            Module: response.Module is { } module ? ToDocument(module) : null,
            KernelPolicy: response.KernelPolicy is { } policy
                ? new KernelPolicyDocument(
                    policy.HasSigEnforce ? policy.SigEnforce : null,
                    ProtocolNames.NullIfEmpty(policy.Lockdown),
                    policy.HasModulesDisabled ? policy.ModulesDisabled : null,
                    [.. policy.Warnings])
                : null);
    }

    private static ModuleReportDocument ToDocument(ModuleReport module) => new(
        Name: ProtocolNames.NullIfEmpty(module.Name),
        Size: module.Size,
        Sha256: ProtocolNames.NullIfEmpty(module.Sha256),
        Vermagic: ProtocolNames.NullIfEmpty(module.Vermagic),
        Livepatch: module.Livepatch,
        Srcversion: ProtocolNames.NullIfEmpty(module.Srcversion),
        License: ProtocolNames.NullIfEmpty(module.License),
        Description: ProtocolNames.NullIfEmpty(module.Description),
        Depends: [.. module.Depends],
        Signature: module.Signature is { } signature
            ? new SignatureDocument(
                signature.Present,
                ProtocolNames.NullIfEmpty(signature.Signer),
                ProtocolNames.NullIfEmpty(signature.KeyId),
                ProtocolNames.NullIfEmpty(signature.DigestAlgorithm),
                signature.Trusted)
            : null,
        Modinfo: [.. module.Modinfo.Select(f => new ModinfoDocument(f.Key, f.Value))])
    {
        Compression = ProtocolNames.NullIfEmpty(module.Compression),
        Metadata = MetadataOutput.ToDocument(module.Metadata),
    };

    public static LoadDocument ToDocument(LoadPatchResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new LoadDocument(
            Name: response.Name,
            TransitionCompleted: response.TransitionCompleted,
            ElapsedSeconds: ToSeconds(response.Elapsed),
            Message: ProtocolNames.NullIfEmpty(response.Message),
            Patch: response.Patch is { } patch ? ToDocument(patch) : null,
            Verification: response.Verification is { } verification ? ToVerification(verification) : null)
        {
            RemovedLeftovers = [.. response.RemovedLeftovers],
            Result = response.Result is { } result ? OperationOutput.ToDocument(result) : null,
        };
    }

    public static UnloadDocument ToDocument(UnloadPatchResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new UnloadDocument(
            Name: response.Name,
            WasLeftover: response.WasLeftover,
            ElapsedSeconds: ToSeconds(response.Elapsed),
            Message: ProtocolNames.NullIfEmpty(response.Message));
    }

    public static EventDocument ToDocument(Event e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return new EventDocument(
            Sequence: e.Sequence,
            Time: ToDateTime(e.Time),
            Kind: ProtocolNames.Of(e.Kind),
            Patch: ProtocolNames.NullIfEmpty(e.Patch),
            Message: e.Message,
            FromState: ProtocolNames.OfOptional(e.FromState),
            ToState: ProtocolNames.OfOptional(e.ToState),
            Dropped: e.Dropped,
            KernelRelease: ProtocolNames.NullIfEmpty(e.KernelRelease),
            BlockingTasks: e.BlockingTasks,
            Seconds: e.Seconds > 0 ? Math.Round(e.Seconds, 3) : null);
    }

    public static BlockingDocument ToDocument(BlockingTasksResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var running = response.Patch.Length > 0;
        return new BlockingDocument(
            Patch: ProtocolNames.NullIfEmpty(response.Patch),
            Patching: running ? response.Patching : null,
            ElapsedSeconds: running ? ToSeconds(response.Elapsed) : null,
            ThreadsScanned: running ? response.ThreadsScanned : null,
            Message: ProtocolNames.NullIfEmpty(response.Message),
            Tasks: [.. response.Tasks.Select(ToDocument)]);
    }

    public static BlockingTaskDocument ToDocument(BlockingTask task)
    {
        ArgumentNullException.ThrowIfNull(task);
        return new BlockingTaskDocument(
            Pid: task.Pid,
            Tid: task.Tid,
            Comm: task.Comm,
            Cmdline: ProtocolNames.NullIfEmpty(task.Cmdline),
            KernelThread: task.KernelThread,
            Unit: ProtocolNames.NullIfEmpty(task.Unit),
            HeldBy: task.HeldByFunction.Length > 0
                ? new HeldByDocument(task.HeldByFunction, ProtocolNames.NullIfEmpty(task.HeldByObject), ProtocolNames.NullIfEmpty(task.HeldByFrame))
                : null,
            Explanation: ProtocolNames.NullIfEmpty(task.Explanation),
            Stack: [.. task.Stack],
            StackProblem: ProtocolNames.NullIfEmpty(task.StackProblem));
    }

    public static RevertDocument ToDocument(RevertTransitionResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new RevertDocument(response.Name, response.Completed, response.ModuleRemoved,
            ProtocolNames.NullIfEmpty(response.Message));
    }

    public static ForceDocument ToDocument(ForceTransitionResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new ForceDocument(response.Name, [.. response.Pinned], response.Completed,
            ProtocolNames.NullIfEmpty(response.Message));
    }

    public static KickDocument ToDocument(KickTasksResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return new KickDocument(response.Name, [.. response.KickedPids], response.KernelThreadsSkipped,
            ProtocolNames.NullIfEmpty(response.Method), ProtocolNames.NullIfEmpty(response.Message));
    }

    /// <summary>Serialises one document, indented, followed by a newline.</summary>
    public static string Document<T>(T document, JsonTypeInfo<T> typeInfo) => Serialize(document, typeInfo, Indented);

    /// <summary>Serialises one document on a single line (JSON Lines), followed by a newline.</summary>
    public static string Line<T>(T document, JsonTypeInfo<T> typeInfo) => Serialize(document, typeInfo, Compact);

    private static string Serialize<T>(T document, JsonTypeInfo<T> typeInfo, JsonWriterOptions options)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(buffer, options))
        {
            JsonSerializer.Serialize(writer, document, typeInfo);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan) + "\n";
    }

    private static DateTime? ToDateTime(Timestamp? timestamp) => timestamp?.ToDateTime();

    // Millisecond precision: more digits are noise for a duration measured by a polling daemon.
    private static double? ToSeconds(Duration? duration) =>
        duration is null ? null : Math.Round(duration.ToTimeSpan().TotalSeconds, 3);
}
