using LivePatchAgent.Protocol.V1;
using Google.Protobuf.WellKnownTypes;

namespace LivePatchAgent.Unit.Tests.Cli;

/// <summary>Protocol messages as livepatchd sends them, for lpctl's formatting tests.</summary>
internal static class ProtocolSamples
{
    public static readonly DateTime Started = new(2026, 11, 28, 8, 0, 0, DateTimeKind.Utc);
    public static readonly DateTime Snapshot = new(2026, 11, 28, 10, 0, 1, 234, DateTimeKind.Utc);

    /// <summary>A Debian 6.1 host with one enabled patch, tainted OEK.</summary>
    public static AgentStatus IdleStatus()
    {
        var status = new AgentStatus
        {
            DaemonVersion = "0.1.0",
            StartedAt = Timestamp.FromDateTime(Started),
            Uptime = Duration.FromTimeSpan(TimeSpan.FromSeconds(7385.4567)),
            Kernel = new KernelFacts
            {
                Release = "6.1.0-56-amd64",
                Version = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16)",
                BootId = "3f1c2a9e-1d2b-4c5d-8e9f-0a1b2c3d4e5f",
                TaintMask = 45056,
                TaintFlags = "OEK",
                Lockdown = "none",
                SigEnforce = false,
                ModulesDisabled = false,
                FtraceEnabled = true,
                LivepatchSupported = true,
                BuildId = "0123456789abcdef0123456789abcdef01234567",
                TaintDescriptions =
                {
                    "O: externally-built (out-of-tree) module was loaded",
                    "E: unsigned module was loaded",
                    "K: kernel has been live patched",
                },
            },
            State = AgentState.Idle,
            PatchCount = 1,
            EnabledPatchCount = 1,
            SnapshotTime = Timestamp.FromDateTime(Snapshot),
        };
        return status;
    }

    /// <summary>A kernel without /sys/kernel/livepatch, and facts the daemon could not read.</summary>
    public static AgentStatus UnsupportedStatus() => new()
    {
        DaemonVersion = "0.1.0",
        StartedAt = Timestamp.FromDateTime(Started),
        Uptime = Duration.FromTimeSpan(TimeSpan.FromSeconds(12.3)),
        Kernel = new KernelFacts { Release = "6.1.0-56-amd64", LivepatchSupported = false },
        State = AgentState.Unsupported,
        SnapshotTime = Timestamp.FromDateTime(Snapshot),
    };

    public static Patch DemoPatch() => new()
    {
        Name = "lpdemo_v1",
        State = PatchState.Enabled,
        Enabled = true,
        Transition = false,
        Objects =
        {
            new PatchObject
            {
                Name = "vmlinux",
                Patched = true,
                Functions = { new PatchFunction { Name = "cmdline_proc_show", Sympos = 1 } },
            },
        },
        Module = new ModuleFacts { Refcnt = 1, Taint = "OEK", Srcversion = "0123456789ABCDEF0123456", Initstate = "live" },
    };

    /// <summary>A 6.14 cumulative patch with two objects (one not loaded) and no readable module facts.</summary>
    public static Patch ReplacePatch() => new()
    {
        Name = "lpdemo_cumulative_v2",
        State = PatchState.Enabling,
        Enabled = true,
        Transition = true,
        Replace = true,
        StackOrder = 2,
        Objects =
        {
            new PatchObject
            {
                Name = "vmlinux",
                Patched = true,
                Functions =
                {
                    new PatchFunction { Name = "cmdline_proc_show", Sympos = 1 },
                    new PatchFunction { Name = "meminfo_proc_show", Sympos = 2 },
                },
            },
            new PatchObject { Name = "xfs", Patched = false, Functions = { new PatchFunction { Name = "xfs_file_open", Sympos = 1 } } },
        },
        Metadata = SignedMetadata(),
    };

    public static Event TransitionCompleted() => new()
    {
        Sequence = 5,
        Time = Timestamp.FromDateTime(Snapshot),
        Kind = EventKind.TransitionCompleted,
        Patch = "lpdemo_v1",
        Message = "lpdemo_v1 finished patching",
        FromState = PatchState.Enabling,
        ToState = PatchState.Enabled,
    };

    /// <summary>A signed livepatch module whose signer is not in the trusted directory.</summary>
    public static VerifyModuleResponse UntrustedSigner() => new()
    {
        Ok = false,
        Reason = "untrusted-signer",
        Message = "module \"lpdemo_v1\" is signed by \"CN=Someone Else\", which is not a trusted signer",
        Checks =
        {
            Check("elf", CheckResult.Passed, "ELF64 relocatable object for x86_64 with 32 sections, module \"lpdemo_v1\""),
            Check("livepatch", CheckResult.Passed, "module \"lpdemo_v1\" says livepatch=Y"),
            Check("kernel-release", CheckResult.Passed, "built for 6.1.0-56-amd64, the running kernel"),
            Check("vermagic-flags", CheckResult.Skipped, "no module of the running kernel could be read to compare with"),
            Check("build-id", CheckResult.Skipped, "no target build-id is known"),
            Check("signature-present", CheckResult.Passed, "a signature is appended"),
            Check("signature", CheckResult.Failed, "signed by \"CN=Someone Else\", which is not a trusted signer", "untrusted-signer"),
            Check("kernel-policy", CheckResult.Passed, "the kernel does not enforce module signatures"),
        },
        Module = new ModuleReport
        {
            Name = "lpdemo_v1",
            Size = 123456,
            Sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            Vermagic = "6.1.0-56-amd64 SMP preempt mod_unload modversions ",
            Livepatch = true,
            Srcversion = "0123456789ABCDEF0123456",
            License = "GPL",
            Description = "livepatch demo",
            Signature = new SignatureInfo
            {
                Present = true,
                Signer = "CN=Someone Else",
                KeyId = "1a2b3c4d",
                DigestAlgorithm = "sha256",
                Trusted = false,
            },
            Modinfo =
            {
                new ModinfoField { Key = "license", Value = "GPL" },
                new ModinfoField { Key = "livepatch", Value = "Y" },
                new ModinfoField { Key = "name", Value = "lpdemo_v1" },
            },
        },
        KernelPolicy = new KernelModulePolicy
        {
            SigEnforce = false,
            Lockdown = "none",
            ModulesDisabled = false,
            Warnings = { "the trusted certificate directory /etc/livepatchd/trusted.d does not exist, so no signer is trusted" },
        },
    };

    /// <summary>A module that passes every check, signed by a trusted key.</summary>
    public static VerifyModuleResponse Trusted()
    {
        var response = UntrustedSigner();
        response.Ok = true;
        response.Reason = "";
        response.Message = "module \"lpdemo_v1\" passed verification";
        response.Checks[6] = Check("signature", CheckResult.Passed, "signed by \"CN=LivePatchAgent test\", trusted");
        response.Module.Signature.Signer = "CN=LivePatchAgent test";
        response.Module.Signature.Trusted = true;
        response.KernelPolicy.Warnings.Clear();
        return response;
    }

    /// <summary>Bytes that are not an ELF file: only the size and the hash are facts.</summary>
    public static VerifyModuleResponse Garbage() => new()
    {
        Ok = false,
        Reason = "module-malformed",
        Message = "not an ELF file: the magic bytes are 67 61 72 62",
        Checks =
        {
            Check("elf", CheckResult.Failed, "not an ELF file: the magic bytes are 67 61 72 62", "module-malformed"),
            Check("livepatch", CheckResult.Skipped, "skipped: the file is not a well-formed kernel module"),
            Check("signature-present", CheckResult.Failed, "the module carries no appended signature", "unsigned-module"),
        },
        Module = new ModuleReport
        {
            Size = 7,
            Sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            Signature = new SignatureInfo(),
        },
        KernelPolicy = new KernelModulePolicy { Lockdown = "" },
    };

    public static LoadPatchResponse Loaded() => new()
    {
        Name = "lpdemo_v1",
        Patch = DemoPatch(),
        TransitionCompleted = true,
        Verification = Trusted(),
        Elapsed = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(1234.4)),
        Message = "loaded lpdemo_v1: patching complete",
    };

    public static VerificationCheck Check(string name, CheckResult result, string detail, string reason = "") =>
        new() { Name = name, Result = result, Detail = detail, Reason = reason };

    /// <summary>
    /// A stalled patching transition of the sleeper patch: one user thread asleep in the patched function (with its
    /// stack), one kernel thread whose stack holds no function of the patch.
    /// </summary>
    public static BlockingTasksResponse Blocking() => new()
    {
        Patch = "lpdemo_sleeper_v1",
        Patching = true,
        Elapsed = Duration.FromTimeSpan(TimeSpan.FromSeconds(45.2)),
        ThreadsScanned = 1234,
        Message = "2 thread(s) block the patching transition of lpdemo_sleeper_v1 (45 s so far)",
        Tasks =
        {
            new BlockingTask
            {
                Pid = 812,
                Tid = 813,
                Comm = "lpdemo-sleep",
                Cmdline = "/usr/local/bin/lpdemo-sleep --forever",
                Unit = "lpdemo-sleeper.service",
                HeldByFunction = "lpdemo_sleeper_wait",
                HeldByObject = "lpdemo_sleeper",
                HeldByFrame = "[<0>] lpdemo_sleeper_wait+0x72/0xf0 [lpdemo_sleeper]",
                Explanation = "sleeping in lpdemo_sleeper_wait() (lpdemo_sleeper), which the patch replaces",
                Stack =
                {
                    "[<0>] lpdemo_sleeper_wait+0x72/0xf0 [lpdemo_sleeper]",
                    "[<0>] full_proxy_read+0x5c/0x90",
                    "[<0>] do_syscall_64+0x3b/0x90",
                },
            },
            new BlockingTask
            {
                Pid = 57,
                Tid = 57,
                Comm = "kworker/0:2",
                KernelThread = true,
                Explanation = "no function of the patch is on its stack; it may be running or have an unreliable stack",
                StackProblem = "cannot read the kernel stack: permission denied",
            },
        },
    };

    public static LeftoverModule Leftover(string name) => new()
    {
        Name = name,
        Module = new ModuleFacts { Refcnt = 0, Taint = "OEK", Srcversion = "FEDCBA9876543210FEDCBA9", Initstate = "live" },
    };

    /// <summary>Signed security metadata of a cumulative patch, as a module declares it (made-up CVE-2099 ids).</summary>
    public static PatchMetadata SignedMetadata() => new()
    {
        CveIds = { "CVE-2099-0001", "CVE-2099-0002", "CVE-2099-0003" },
        CveIdsSource = "signed",
        Summary = "cumulative: carries the made-up fixes",
        SummarySource = "signed",
        Level = 2,
        LevelSource = "signed",
        FixesVersion = "6.1.999-1",
        FixesVersionSource = "signed",
        MetadataSource = "signed",
    };
}

/// <summary>Operations as the daemon sends them, for the output tests.</summary>
internal static class Operations
{
    public static Operation Finished(string kind, OperationResultKind result, string message) => new()
    {
        Id = 42,
        Kind = kind,
        Patch = "lpdemo_v1",
        Phase = result is OperationResultKind.Completed or OperationResultKind.Forced or OperationResultKind.NotWaited ? OperationPhase.Done : OperationPhase.Failed,
        Done = true,
        Message = message,
        StartedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 12, 4, 12, 0, 0, TimeSpan.Zero)),
        Elapsed = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(3.2)),
        Result = new OperationResult { Kind = result, Message = message },
    };

    public static Operation Running(OperationPhase phase, string message) => new()
    {
        Id = 43,
        Kind = "load",
        Patch = "lpdemo_v3",
        Phase = phase,
        Message = message,
        Elapsed = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(7.24)),
    };
}
