using Google.Protobuf.WellKnownTypes;
using LivePatchAgent.Core.Events;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.Modules;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Operations;
using V1 = LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Daemon.Api;

/// <summary>Maps the domain model onto the livepatch.v1 messages.</summary>
internal static class ProtoMapper
{
    public static V1.AgentStatus ToStatus(AgentView view, DaemonInfo daemon, DateTimeOffset now)
    {
        var status = new V1.AgentStatus
        {
            DaemonVersion = daemon.Version,
            StartedAt = Timestamp.FromDateTimeOffset(daemon.StartedAt),
            Uptime = Duration.FromTimeSpan(now - daemon.StartedAt),
            Kernel = ToKernel(view.Snapshot.Kernel),
            State = ToState(view.State),
            PatchCount = (uint)view.PatchCount,
            EnabledPatchCount = (uint)view.EnabledPatchCount,
            SnapshotTime = Timestamp.FromDateTimeOffset(view.Snapshot.TakenAt),
            LeftoverCount = (uint)view.Snapshot.Leftovers.Length,
            BlockingTasks = (uint)(view.Stall?.BlockingTasks ?? 0),
        };
        status.ForcedModules.AddRange(view.ForcedModules.Order(StringComparer.Ordinal));
        if (view.Transition is { } t)
        {
            status.Transition = new V1.Transition
            {
                Patch = t.Patch,
                Patching = t.Patching,
                StartedAt = Timestamp.FromDateTimeOffset(t.StartedAt),
                Elapsed = Duration.FromTimeSpan(t.ElapsedAt(now)),
            };
        }

        status.Problems.AddRange(view.Snapshot.Problems.Select(p => new V1.Problem { Path = p.Path, Message = p.Message }));
        status.Problems.AddRange(view.DegradedReasons.Select(r => new V1.Problem { Path = string.Empty, Message = r }));
        return status;
    }

    public static V1.KernelFacts ToKernel(KernelFacts facts)
    {
        var kernel = new V1.KernelFacts
        {
            Release = facts.Release ?? string.Empty,
            Version = facts.Version ?? string.Empty,
            BootId = facts.BootId ?? string.Empty,
            TaintFlags = facts.Taint?.Letters ?? string.Empty,
            Lockdown = facts.Lockdown ?? string.Empty,
            LivepatchSupported = facts.LivepatchSupported,
            BuildId = facts.BuildId ?? string.Empty,
        };
        if (facts.Taint is { } taint)
        {
            kernel.TaintMask = taint.Value;
            kernel.TaintDescriptions.AddRange(taint.Descriptions);
        }

        if (facts.SigEnforce is { } sig)
        {
            kernel.SigEnforce = sig;
        }

        if (facts.ModulesDisabled is { } disabled)
        {
            kernel.ModulesDisabled = disabled;
        }

        if (facts.FtraceEnabled is { } ftrace)
        {
            kernel.FtraceEnabled = ftrace;
        }

        return kernel;
    }

    public static V1.Patch ToPatch(LivePatch patch, AgentView view)
    {
        var message = new V1.Patch
        {
            Name = patch.Name,
            State = ToState(view.StateOf(patch)),
            Enabled = patch.Enabled,
            Transition = patch.Transition,
            Forced = view.ForcedModules.Contains(patch.Name),
        };
        if (patch.Replace is { } replace)
        {
            message.Replace = replace;
        }

        if (patch.StackOrder is { } order and >= 0)
        {
            message.StackOrder = (uint)order;
        }

        foreach (var obj in patch.Objects)
        {
            var o = new V1.PatchObject { Name = obj.Name };
            if (obj.Patched is { } patched)
            {
                o.Patched = patched;
            }

            o.Functions.AddRange(obj.Functions.Select(f => new V1.PatchFunction { Name = f.Name, Sympos = (uint)f.Sympos }));
            message.Objects.Add(o);
        }

        if (patch.Module is { } module)
        {
            message.Module = ToModule(module);
        }

        return message;
    }

    public static V1.LeftoverModule ToLeftover(LeftoverModule leftover, AgentView view) => new()
    {
        Name = leftover.Name,
        Module = ToModule(leftover.Module),
        Forced = view.ForcedModules.Contains(leftover.Name),
    };

    public static V1.BlockingTask ToBlockingTask(LivePatchAgent.Core.Transitions.BlockingTask task)
    {
        var message = new V1.BlockingTask
        {
            Pid = task.Pid,
            Tid = task.Tid,
            Comm = task.Comm,
            Cmdline = task.Cmdline,
            KernelThread = task.IsKernelThread,
            Unit = task.Unit ?? string.Empty,
            HeldByFunction = task.HeldBy?.Function ?? string.Empty,
            HeldByObject = task.HeldBy?.PatchedObject ?? string.Empty,
            HeldByFrame = task.HeldBy?.Frame ?? string.Empty,
            Explanation = task.HeldBy?.Describe()
                ?? (task.Stack.IsEmpty ? "its stack was not read" : "no function of the patch is on its stack; it may be running or have an unreliable stack"),
            StackProblem = task.StackProblem ?? string.Empty,
        };
        message.Stack.AddRange(task.Stack);
        return message;
    }

    public static V1.ModuleFacts ToModule(ModuleFacts module)
    {
        var facts = new V1.ModuleFacts
        {
            Taint = module.Taint ?? string.Empty,
            Srcversion = module.SrcVersion ?? string.Empty,
            Initstate = module.InitState ?? string.Empty,
        };
        if (module.RefCount is { } refcnt)
        {
            facts.Refcnt = refcnt;
        }

        return facts;
    }

    public static V1.Event ToEvent(AgentEvent e) => new()
    {
        Sequence = (ulong)Math.Max(e.Sequence, 0),
        Time = Timestamp.FromDateTimeOffset(e.Time),
        Kind = e.Kind switch
        {
            AgentEventKind.Lagged => V1.EventKind.Lagged,
            AgentEventKind.KernelChanged => V1.EventKind.KernelChanged,
            AgentEventKind.PatchAppeared => V1.EventKind.PatchAppeared,
            AgentEventKind.TransitionStarted => V1.EventKind.TransitionStarted,
            AgentEventKind.TransitionCompleted => V1.EventKind.TransitionCompleted,
            AgentEventKind.TransitionReversed => V1.EventKind.TransitionReversed,
            AgentEventKind.PatchDisabled => V1.EventKind.PatchDisabled,
            AgentEventKind.PatchRemoved => V1.EventKind.PatchRemoved,
            AgentEventKind.TaintChanged => V1.EventKind.TaintChanged,
            AgentEventKind.SupportChanged => V1.EventKind.SupportChanged,
            AgentEventKind.TransitionStalled => V1.EventKind.TransitionStalled,
            AgentEventKind.TransitionRecovered => V1.EventKind.TransitionRecovered,
            AgentEventKind.TasksKicked => V1.EventKind.TasksKicked,
            AgentEventKind.TransitionReverted => V1.EventKind.TransitionReverted,
            AgentEventKind.TransitionForced => V1.EventKind.TransitionForced,
            AgentEventKind.StallUnresolved => V1.EventKind.StallUnresolved,
            _ => V1.EventKind.Unspecified,
        },
        Patch = e.Patch ?? string.Empty,
        Message = e.Message,
        FromState = e.FromState is { } from ? ToState(from) : V1.PatchState.Unspecified,
        ToState = e.ToState is { } to ? ToState(to) : V1.PatchState.Unspecified,
        Dropped = (ulong)Math.Max(e.Dropped, 0),
        KernelRelease = e.KernelRelease ?? string.Empty,
        BlockingTasks = (uint)Math.Max(e.BlockingTasks, 0),
        Seconds = e.Elapsed?.TotalSeconds ?? 0,
    };

    public static V1.VerifyModuleResponse ToVerification(VerificationOutcome outcome)
    {
        var report = outcome.Report;
        var response = new V1.VerifyModuleResponse
        {
            Ok = outcome.Ok,
            Reason = outcome.Reason?.Code ?? string.Empty,
            Message = outcome.Message,
            Module = new V1.ModuleReport
            {
                Name = outcome.ModuleName ?? string.Empty,
                Size = (ulong)report.Size,
                Sha256 = report.Sha256,
                Signature = new V1.SignatureInfo
                {
                    Present = report.Module?.Signature.State is SignatureState.Present or SignatureState.Malformed,
                    Signer = report.Signer?.Name ?? string.Empty,
                    KeyId = report.Signer?.KeyId ?? string.Empty,
                    DigestAlgorithm = report.Signer?.DigestAlgorithm ?? string.Empty,
                    Trusted = report.Checks.Any(c => c.Name == VerificationCheck.Signature && c.Status == CheckStatus.Passed),
                },
            },
            KernelPolicy = new V1.KernelModulePolicy { Lockdown = outcome.Kernel.Lockdown ?? string.Empty },
        };
        if (report.Module?.ModInfo is { } info)
        {
            response.Module.Vermagic = info.Vermagic ?? string.Empty;
            response.Module.Livepatch = info.IsLivepatch;
            response.Module.Srcversion = info.SrcVersion ?? string.Empty;
            response.Module.License = info.License ?? string.Empty;
            response.Module.Description = info.Description ?? string.Empty;
            response.Module.Depends.AddRange(info.Depends);
            response.Module.Modinfo.AddRange(info.Entries.Select(e => new V1.ModinfoField { Key = e.Key, Value = e.Value }));
        }

        response.Checks.AddRange(report.Checks.Select(c => new V1.VerificationCheck
        {
            Name = c.Name,
            Result = c.Status switch
            {
                CheckStatus.Passed => V1.CheckResult.Passed,
                CheckStatus.Failed => V1.CheckResult.Failed,
                _ => V1.CheckResult.Skipped,
            },
            Detail = c.Detail,
            Reason = c.Reason?.Code ?? string.Empty,
        }));

        if (outcome.Kernel.SigEnforce is { } enforce)
        {
            response.KernelPolicy.SigEnforce = enforce;
        }

        if (outcome.Kernel.ModulesDisabled is { } disabled)
        {
            response.KernelPolicy.ModulesDisabled = disabled;
            if (disabled)
            {
                response.KernelPolicy.Warnings.Add("kernel.modules_disabled is set: the kernel will refuse any module until reboot");
            }
        }

        if (outcome.Kernel.SigEnforce == true || outcome.Kernel.Lockdown is "integrity" or "confidentiality")
        {
            response.KernelPolicy.Warnings.Add("the kernel enforces module signatures: it loads this module only if the signing key is also in its own keyrings");
        }

        response.KernelPolicy.Warnings.AddRange(outcome.TrustProblems);
        return response;
    }

    public static V1.AgentState ToState(AgentState state) => state switch
    {
        AgentState.Idle => V1.AgentState.Idle,
        AgentState.Transitioning => V1.AgentState.Transitioning,
        AgentState.Stalled => V1.AgentState.Stalled,
        AgentState.Unsupported => V1.AgentState.Unsupported,
        AgentState.Degraded => V1.AgentState.Degraded,
        _ => V1.AgentState.Unspecified,
    };

    public static V1.PatchState ToState(PatchState state) => state switch
    {
        PatchState.Enabled => V1.PatchState.Enabled,
        PatchState.Enabling => V1.PatchState.Enabling,
        PatchState.Disabling => V1.PatchState.Disabling,
        PatchState.Disabled => V1.PatchState.Disabled,
        PatchState.Stalled => V1.PatchState.Stalled,
        _ => V1.PatchState.Unspecified,
    };
}
