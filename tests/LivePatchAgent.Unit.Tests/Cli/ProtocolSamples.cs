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
}
