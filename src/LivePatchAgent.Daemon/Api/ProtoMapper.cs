using Google.Protobuf.WellKnownTypes;
using LivePatchAgent.Core.Events;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.Modules;
using LivePatchAgent.Core.Operations;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Journal;
using LivePatchAgent.Daemon.Operations;
using LivePatchAgent.Daemon.Store;
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
                Blocking = view.Stall?.FirstTask ?? string.Empty,
            };
            if (view.Snapshot.Progress is { } progress)
            {
                status.Transition.Progress = ToProgress(progress);
            }
        }

        status.StartupApply = ToStartupApply(view.StartupApply);

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

        message.StackOrderSource = patch.StackOrderSource switch
        {
            StackOrderSource.Sysfs => "sysfs",
            StackOrderSource.ModuleLoadOrder => "module-load-order",
            _ => string.Empty,
        };
        var serving = view.FunctionOwners;
        foreach (var obj in patch.Objects)
        {
            var o = new V1.PatchObject { Name = obj.Name };
            if (obj.Patched is { } patched)
            {
                o.Patched = patched;
            }

            o.Functions.AddRange(obj.Functions.Select(f => new V1.PatchFunction
            {
                Name = f.Name,
                Sympos = (uint)f.Sympos,
                ServedBy = serving.TryGetValue(new PatchedFunction(obj.Name, f.Name, f.Sympos), out var by) ? by : string.Empty,
            }));
            message.Objects.Add(o);
        }

        if (patch.Module is { } module)
        {
            message.Module = ToModule(module);
        }

        if (view.MetadataOf(patch) is { } metadata)
        {
            message.Metadata = ToMetadata(metadata);
        }

        return message;
    }

    /// <summary>Security metadata, each field with its source word.</summary>
    public static V1.PatchMetadata ToMetadata(PatchMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        var message = new V1.PatchMetadata
        {
            Summary = metadata.Summary ?? string.Empty,
            FixesVersion = metadata.FixesVersion ?? string.Empty,
            MetadataSource = PatchMetadata.Name(metadata.Source),
            CveIdsSource = PatchMetadata.Name(metadata.CveIds.IsEmpty ? MetadataSource.None : metadata.CveIdsSource),
            SummarySource = PatchMetadata.Name(metadata.Summary is null ? MetadataSource.None : metadata.SummarySource),
            LevelSource = PatchMetadata.Name(metadata.Level is null ? MetadataSource.None : metadata.LevelSource),
            FixesVersionSource = PatchMetadata.Name(metadata.FixesVersion is null ? MetadataSource.None : metadata.FixesVersionSource),
        };
        message.CveIds.AddRange(metadata.CveIds);
        message.Warnings.AddRange(metadata.Warnings);
        if (metadata.Level is { } level)
        {
            message.Level = level;
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
            AgentEventKind.InstalledPatchApplied => V1.EventKind.InstalledPatchApplied,
            AgentEventKind.InstalledPatchFailed => V1.EventKind.InstalledPatchFailed,
            AgentEventKind.StartupApplySkipped => V1.EventKind.StartupApplySkipped,
            AgentEventKind.LeftoverRemoved => V1.EventKind.LeftoverRemoved,
            AgentEventKind.PostureChanged => V1.EventKind.PostureChanged,
            AgentEventKind.KernelReport => V1.EventKind.KernelReport,
            AgentEventKind.PatchQuarantined => V1.EventKind.PatchQuarantined,
            AgentEventKind.QuarantineReleased => V1.EventKind.QuarantineReleased,
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
        Reason = e.Reason ?? string.Empty,
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
                Compression = CompressedModule.Name(outcome.Compression),
                UploadSize = (ulong)(outcome.UploadSize > 0 ? outcome.UploadSize : report.Size),
                Sha256 = report.Sha256,
                Signature = new V1.SignatureInfo
                {
                    Present = report.Module?.Signature.State is SignatureState.Present or SignatureState.Malformed,
                    Signer = report.Signer?.Name ?? string.Empty,
                    KeyId = report.Signer?.KeyId ?? string.Empty,
                    DigestAlgorithm = report.Signer?.DigestAlgorithm ?? string.Empty,
                    Trusted = report.SignatureTrusted,
                },
                Metadata = ToMetadata(report.Metadata),
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

    public static V1.TransitionProgress ToProgress(TransitionProgress progress) => new()
    {
        TasksTotal = (uint)progress.TasksTotal,
        TasksPending = (uint)progress.TasksPending,
    };

    /// <summary>An operation as the API shows it; <paramref name="showCaller"/> only for administrators.</summary>
    public static V1.Operation ToOperation(OperationState state, AgentView view, DateTimeOffset now, bool showCaller)
    {
        ArgumentNullException.ThrowIfNull(state);
        var message = new V1.Operation
        {
            Id = state.Id,
            Kind = OperationNames.Of(state.Kind),
            Patch = state.Patch ?? string.Empty,
            Phase = ToPhase(state.Phase),
            StartedAt = Timestamp.FromDateTimeOffset(state.StartedAt),
            Caller = showCaller ? state.Caller : string.Empty,
            Done = state.Done,
            Message = state.Message,
            Timeout = Duration.FromTimeSpan(state.Timeout),
            Blocking = state.Blocking ?? string.Empty,
            BlockingTasks = (uint)state.BlockingTasks,
            Elapsed = Duration.FromTimeSpan((state.FinishedAt ?? now) - state.StartedAt),
        };
        if (state.FinishedAt is { } finished)
        {
            message.FinishedAt = Timestamp.FromDateTimeOffset(finished);
        }

        if (state.Progress is { } progress)
        {
            message.Progress = ToProgress(progress);
        }

        if (state.Result is { } result)
        {
            message.Result = ToResult(result);
        }

        switch (state.Detail)
        {
            case LoadDetail load:
                message.Load = ToLoad(load, state, view);
                break;
            case UnloadDetail unload:
                message.Unload = new V1.UnloadPatchResponse
                {
                    Name = unload.Name,
                    WasLeftover = unload.WasLeftover,
                    Elapsed = Duration.FromTimeSpan(unload.Elapsed),
                    Message = state.Message,
                    OperationId = state.Id,
                    Result = message.Result,
                };
                break;
            case InstallDetail install:
                message.Install = ToInstall(install, state, view);
                break;
            case UninstallDetail uninstall:
                message.Uninstall = new V1.UninstallPatchResponse
                {
                    Name = uninstall.Name,
                    KernelRelease = uninstall.KernelRelease,
                    StillLoaded = uninstall.StillLoaded,
                    ClearedInterruptedApply = uninstall.ClearedInterruptedApply,
                    Message = state.Message,
                    OperationId = state.Id,
                    Result = message.Result,
                };
                break;
            case ApplyDetail apply:
                message.Apply = new V1.ApplyInstalledResponse { Resumed = apply.Resumed, Message = state.Message, OperationId = state.Id, Result = message.Result };
                message.Apply.Results.AddRange(apply.Results.Select(ToApplyResult));
                break;
            case RevertDetail revert:
                message.Revert = new V1.RevertTransitionResponse
                {
                    Name = revert.Name,
                    Completed = state.Result?.Kind == OperationResultKind.Completed,
                    ModuleRemoved = revert.ModuleRemoved,
                    Message = state.Message,
                    OperationId = state.Id,
                    Result = message.Result,
                };
                break;
            case ForceDetail force:
                message.Force = new V1.ForceTransitionResponse
                {
                    Name = force.Name,
                    Completed = state.Result?.Kind == OperationResultKind.Completed,
                    Message = state.Message,
                    OperationId = state.Id,
                    Result = message.Result,
                };
                message.Force.Pinned.AddRange(force.Pinned);
                break;
            case KickDetail kick:
                message.Kick = new V1.KickTasksResponse
                {
                    Name = kick.Name,
                    KernelThreadsSkipped = (uint)kick.KernelThreadsSkipped,
                    Method = kick.Method,
                    Message = state.Message,
                    OperationId = state.Id,
                    Result = message.Result,
                };
                message.Kick.KickedPids.AddRange(kick.KickedPids);
                break;
        }

        return message;
    }

    public static V1.OperationResult ToResult(OperationResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var message = new V1.OperationResult
        {
            Kind = result.Kind switch
            {
                OperationResultKind.Completed => V1.OperationResultKind.Completed,
                OperationResultKind.Forced => V1.OperationResultKind.Forced,
                OperationResultKind.Reversed => V1.OperationResultKind.Reversed,
                OperationResultKind.StillRunning => V1.OperationResultKind.StillRunning,
                OperationResultKind.NotWaited => V1.OperationResultKind.NotWaited,
                OperationResultKind.Refused => V1.OperationResultKind.Refused,
                OperationResultKind.Failed => V1.OperationResultKind.Failed,
                OperationResultKind.Cancelled => V1.OperationResultKind.Cancelled,
                OperationResultKind.Interrupted => V1.OperationResultKind.Interrupted,
                _ => V1.OperationResultKind.Unspecified,
            },
            Reason = result.Reason?.Code ?? string.Empty,
            Message = result.Message,
            By = result.By ?? string.Empty,
        };
        message.OldCodeTasks.AddRange(result.OldCodeTasks);
        message.Pinned.AddRange(result.Pinned);
        return message;
    }

    public static V1.OperationPhase ToPhase(OperationPhase phase) => phase switch
    {
        OperationPhase.Verifying => V1.OperationPhase.Verifying,
        OperationPhase.Waiting => V1.OperationPhase.Waiting,
        OperationPhase.Loading => V1.OperationPhase.Loading,
        OperationPhase.Patching => V1.OperationPhase.Patching,
        OperationPhase.Unpatching => V1.OperationPhase.Unpatching,
        OperationPhase.Removing => V1.OperationPhase.Removing,
        OperationPhase.Acting => V1.OperationPhase.Acting,
        OperationPhase.Done => V1.OperationPhase.Done,
        OperationPhase.Failed => V1.OperationPhase.Failed,
        OperationPhase.Cancelled => V1.OperationPhase.Cancelled,
        OperationPhase.Interrupted => V1.OperationPhase.Interrupted,
        _ => V1.OperationPhase.Unspecified,
    };

    private static V1.LoadPatchResponse ToLoad(LoadDetail load, OperationState state, AgentView view)
    {
        var response = new V1.LoadPatchResponse
        {
            Name = load.Name,
            TransitionCompleted = state.Result?.Kind is OperationResultKind.Completed or OperationResultKind.Forced,
            Verification = ToVerification(load.Verification),
            Elapsed = Duration.FromTimeSpan(load.Elapsed),
            Message = state.Message,
            OperationId = state.Id,
        };
        if (state.Result is { } result)
        {
            response.Result = ToResult(result);
        }

        response.RemovedLeftovers.AddRange(load.RemovedLeftovers);
        if (load.Patch is { } patch)
        {
            response.Patch = ToPatch(patch, view);
        }

        return response;
    }

    private static V1.InstallPatchResponse ToInstall(InstallDetail install, OperationState state, AgentView view)
    {
        var response = new V1.InstallPatchResponse
        {
            Verification = ToVerification(install.Verification),
            ReplacedPrevious = install.ReplacedPrevious,
            Message = state.Message,
            OperationId = state.Id,
        };
        if (state.Result is { } result)
        {
            response.Result = ToResult(result);
        }

        if (install.Installed is { } installed)
        {
            response.Installed = ToInstalled(installed);
        }

        if (install.Load is { Detail: LoadDetail load } child)
        {
            response.Load = ToLoad(load, child, view);
        }

        return response;
    }

    public static V1.InstalledPatch ToInstalled(InstalledPatchView view)
    {
        var m = view.Manifest;
        var patch = new V1.InstalledPatch
        {
            Name = m.Name,
            KernelRelease = m.KernelRelease,
            Sha256 = m.Sha256,
            Size = (ulong)m.Size,
            Signer = m.Signer ?? string.Empty,
            KeyId = m.SignerKeyId ?? string.Empty,
            ReplaceSource = view.ReplaceSource ?? string.Empty,
            InstalledAt = Timestamp.FromDateTimeOffset(m.InstalledAt),
            Description = m.Description ?? string.Empty,
            Vermagic = m.Vermagic ?? string.Empty,
            Srcversion = m.Srcversion ?? string.Empty,
            Compression = m.Compression ?? string.Empty,
            SourceFileName = m.SourceFileName ?? string.Empty,
            Loaded = view.Loaded,
            State = view.State is { } state ? ToState(state) : V1.PatchState.Unspecified,
            Path = view.Path,
            Origin = m.Vendor is null ? "local" : "vendor",
            Package = m.Vendor?.Package ?? string.Empty,
            PackageVersion = m.Vendor?.Version ?? string.Empty,
        };
        patch.Notes.AddRange(m.Vendor?.Warnings ?? []);
        if (m.ShadowedVendor is { } shadowed)
        {
            patch.Notes.Add($"shadows the vendor copy {shadowed.ModulePath} (installed {shadowed.By}): the local install is used");
        }

        patch.CveIds.AddRange(m.CveIds);
        patch.Metadata = ToMetadata(m.EffectiveMetadata);
        patch.Modinfo.AddRange(m.Modinfo.Select(e => new V1.ModinfoField { Key = e.Key, Value = e.Value }));
        if (view.Replace is { } replace)
        {
            patch.Replace = replace;
        }

        if (m.InstalledByUid is { } uid and >= 0)
        {
            patch.InstalledByUid = (uint)uid;
        }

        if (m.CumulativeVersion is { } version)
        {
            patch.CumulativeVersion = version;
        }

        return patch;
    }

    public static V1.ApplyResult ToApplyResult(ApplyResultItem result) => new()
    {
        OperationId = result.OperationId ?? 0,
        Name = result.Name,
        Outcome = result.Outcome switch
        {
            ApplyResultKind.Applied => V1.ApplyOutcome.Applied,
            ApplyResultKind.AlreadyLoaded => V1.ApplyOutcome.AlreadyLoaded,
            ApplyResultKind.Superseded => V1.ApplyOutcome.Superseded,
            ApplyResultKind.Failed => V1.ApplyOutcome.Failed,
            ApplyResultKind.Quarantined => V1.ApplyOutcome.Quarantined,
            _ => V1.ApplyOutcome.Unspecified,
        },
        Reason = result.Reason ?? string.Empty,
        Message = result.Message,
    };

    public static V1.StartupApply ToStartupApply(StartupApplyStatus status)
    {
        var message = new V1.StartupApply
        {
            State = status.Phase switch
            {
                StartupApplyPhase.Pending => V1.StartupApplyState.Pending,
                StartupApplyPhase.Running => V1.StartupApplyState.Running,
                StartupApplyPhase.Done => V1.StartupApplyState.Done,
                StartupApplyPhase.Disabled => V1.StartupApplyState.Disabled,
                StartupApplyPhase.Interrupted => V1.StartupApplyState.Interrupted,
                _ => V1.StartupApplyState.Unspecified,
            },
            Reason = status.Reason ?? string.Empty,
            KernelRelease = status.KernelRelease ?? string.Empty,
        };
        if (status.Interrupted is { } marker)
        {
            message.InterruptedPatch = marker.Patch;
            message.InterruptedBootId = marker.BootId;
            message.InterruptedAt = Timestamp.FromDateTimeOffset(marker.StartedAt);
            message.ErrorReason = Core.Errors.ErrorReason.PreviousApplyInterrupted.Code;
        }

        message.Results.AddRange(status.Results.Select(ToApplyResult));
        return message;
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

    public static V1.HistoryOperation ToHistory(JournalOperation operation)
    {
        var started = operation.Started;
        var finished = operation.Finished;
        var history = new V1.HistoryOperation
        {
            Id = operation.Id,
            Operation = operation.Operation,
            Patch = operation.Patch ?? string.Empty,
            BootId = started?.BootId ?? finished?.BootId ?? string.Empty,
            Sha256 = operation.Sha256 ?? string.Empty,
            CallerComm = started?.Comm ?? string.Empty,
            Caller = started?.Caller ?? string.Empty,
            Outcome = JournalHistory.OutcomeOf(finished),
            Reason = finished?.Reason ?? string.Empty,
            Message = finished?.Message ?? string.Empty,
            KernelState = finished?.KernelState ?? string.Empty,
        };
        if (started is not null)
        {
            history.StartedAt = Timestamp.FromDateTimeOffset(started.Time);
        }

        if (finished is not null)
        {
            history.FinishedAt = Timestamp.FromDateTimeOffset(finished.Time);
        }

        if (started?.Uid is { } uid)
        {
            history.CallerUid = uid;
        }

        if (started?.Pid is { } pid)
        {
            history.CallerPid = pid;
        }

        if (finished?.DurationMs is { } duration)
        {
            history.DurationMs = duration;
        }

        return history;
    }
}
