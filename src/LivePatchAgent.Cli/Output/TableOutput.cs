using System.Globalization;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Cli.Output;

/// <summary>
/// The human-readable output (<c>-o table</c>, the default): written for a sysadmin at a terminal. Scripts use
/// <c>-o json</c>; this text may change between versions.
/// </summary>
internal static class TableOutput
{
    /// <summary>The heading of the leftover section of <c>lpctl list</c>.</summary>
    public const string LeftoversHeading =
        "leftover modules (replaced or disabled, still loaded; remove with lpctl unload NAME)";

    /// <summary>What a patch or leftover pinned by a forced transition adds to its state.</summary>
    public const string ForcedText = "forced (reboot to unload)";

    private const string UnknownText = "unknown";

    // Continuation lines under a task of `lpctl blocking`.
    private const string DetailIndent = "    ";

    // Wide enough for the longest kind ("transition-completed") so the patch column lines up.
    private const int EventKindWidth = 20;
    private const int EventPatchWidth = 16;

    public static string Status(AgentStatus status, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(status);
        var kernel = status.Kernel ?? new KernelFacts();
        var block = new KeyValueBlock();
        block
            .Add("Kernel", KernelText(kernel))
            .Add("Livepatch", kernel.LivepatchSupported
                ? "supported"
                : "not supported by this kernel (/sys/kernel/livepatch is missing)")
            .Add("State", StateText(status.State))
            .Add("Patches", $"{status.PatchCount} ({status.EnabledPatchCount} enabled)");
        if (status.LeftoverCount > 0)
        {
            block.Add("Leftovers", Plural(status.LeftoverCount, "module")
                + " (replaced or disabled, still loaded; see `lpctl list`)");
        }

        if (status.ForcedModules.Count > 0)
        {
            block.Add("Forced modules", string.Join(", ", status.ForcedModules) + " (reboot to unload)");
        }

        block.Add("Transition", TransitionText(status.Transition, zone));
        if (status.StartupApply is { } apply)
        {
            block.Add("Start-up apply", StoreOutput.StartupApplyText(apply));
        }

        if (status.Posture is { } posture)
        {
            block.Add("CVEs", PostureOutput.StatusLine(posture));
            if (posture.Problems.Count > 0)
            {
                block.AddLines("Advisory files skipped", PostureOutput.ProblemLines(posture));
            }
        }

        if (status.Health is { } health)
        {
            block.Add("Kernel health", HealthOutput.StatusLine(health));
        }

        if (status.State == AgentState.Stalled)
        {
            block.Add("Blocking", status.BlockingTasks > 0
                ? Plural(status.BlockingTasks, "task") + " at the last scan; run `lpctl blocking` to see which and why"
                : "none found in /proc at the last scan (idle tasks do not show there); run `lpctl blocking`");
        }

        block
            .AddLines("Taint", TaintLines(kernel))
            .Add("Lockdown", Known(kernel.Lockdown))
            .Add("Signature enforcement", kernel.HasSigEnforce ? (kernel.SigEnforce ? "on (module.sig_enforce)" : "off") : UnknownText)
            .Add("Modules disabled", kernel.HasModulesDisabled
                ? (kernel.ModulesDisabled ? "yes (no module can be loaded or unloaded until reboot)" : "no")
                : UnknownText)
            .Add("Ftrace", kernel.HasFtraceEnabled
                ? (kernel.FtraceEnabled ? "enabled" : "disabled (live patches cannot be applied)")
                : UnknownText)
            .Add("Build id", Known(kernel.BuildId))
            .Add("Boot id", Known(kernel.BootId))
            .Add("Daemon", DaemonText(status, zone))
            .AddLines("Problems", status.Problems.Count == 0
                ? ["none"]
                : status.Problems.Select(p => string.IsNullOrEmpty(p.Path) ? p.Message : $"{p.Path}: {p.Message}"));
        return block.ToString();
    }

    public static string PatchList(ListPatchesResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var text = new StringBuilder(response.Patches.Count == 0 ? "no live patches loaded\n" : PatchTable(response));
        if (response.Leftovers.Count > 0)
        {
            // The NOTE column only appears when it has something to say: a pinned leftover cannot be unloaded,
            // whatever the heading suggests.
            var anyForced = response.Leftovers.Any(l => l.Forced);
            string[] headers = anyForced
                ? ["NAME", "REFCNT", "TAINT", "SRCVERSION", "INITSTATE", "NOTE"]
                : ["NAME", "REFCNT", "TAINT", "SRCVERSION", "INITSTATE"];
            var leftovers = new TextTable(headers);
            foreach (var leftover in response.Leftovers)
            {
                var module = leftover.Module ?? new ModuleFacts();
                string[] cells =
                [
                    leftover.Name,
                    module.HasRefcnt ? module.Refcnt.ToString(CultureInfo.InvariantCulture) : "-",
                    Dash(module.Taint),
                    Dash(module.Srcversion),
                    Dash(module.Initstate),
                ];
                leftovers.AddRow(anyForced ? [.. cells, leftover.Forced ? ForcedText : "-"] : cells);
            }

            text.Append('\n').Append(LeftoversHeading).Append(":\n").Append(leftovers);
        }

        return text.ToString();
    }

    private static string PatchTable(ListPatchesResponse response)
    {
        var table = new TextTable("NAME", "STATE", "OBJECTS", "FUNCTIONS", "REPLACE", "ORDER", "REFCNT", "TAINT", "CVES", "METADATA");
        foreach (var patch in response.Patches)
        {
            table.AddRow(
                patch.Name,
                PatchStateText(patch),
                Count(patch.Objects.Count),
                Count(patch.Objects.Sum(o => o.Functions.Count)),
                patch.HasReplace ? YesNo(patch.Replace) : "-",
                patch.HasStackOrder ? patch.StackOrder.ToString(CultureInfo.InvariantCulture) : "-",
                patch.Module is { HasRefcnt: true } module ? module.Refcnt.ToString(CultureInfo.InvariantCulture) : "-",
                patch.Module is { Taint.Length: > 0 } tainted ? tainted.Taint : "-",
                MetadataOutput.CveCountCell(patch.Metadata),
                MetadataOutput.SourceCell(patch.Metadata));
        }

        return table.ToString();
    }

    public static string PatchInfo(Patch patch)
    {
        ArgumentNullException.ThrowIfNull(patch);
        var functionCount = patch.Objects.Sum(o => o.Functions.Count);
        var block = new KeyValueBlock()
            .Add("Name", patch.Name)
            .Add("State", PatchStateText(patch))
            .Add("Enabled", YesNo(patch.Enabled))
            .Add("Transition", patch.Transition ? "yes (a transition is running)" : "no")
            .Add("Replace", patch.HasReplace
                ? (patch.Replace ? "yes (cumulative: replaces all other patches)" : "no")
                : "unknown (the kernel does not say)")
            .Add("Stack order", StackOrderText(patch))
            .Add("Module", ModuleText(patch));
        MetadataOutput.AddRows(block, patch.Metadata)
            .Add("Objects", $"{Plural(patch.Objects.Count, "object")}, {Plural(functionCount, "function")}");

        var text = new StringBuilder(block.ToString());
        foreach (var patchObject in patch.Objects)
        {
            var patched = patchObject.HasPatched
                ? (patchObject.Patched ? "patched" : "not patched (object not loaded)")
                : "patched: unknown";
            text.Append("  ").Append(TerminalText.Escape(patchObject.Name)).Append("  ").Append(patched).Append('\n');
            foreach (var function in patchObject.Functions)
            {
                text.Append("    ").Append(TerminalText.Escape(function.Name))
                    .Append("  sympos ").Append(function.Sympos.ToString(CultureInfo.InvariantCulture));
                if (function.ServedBy.Length > 0 && function.ServedBy != patch.Name)
                {
                    text.Append("  hidden by ").Append(TerminalText.Escape(function.ServedBy)).Append(" (higher in the stack: its version runs)");
                }

                text.Append('\n');
            }
        }

        return text.ToString();
    }

    private static string StackOrderText(Patch patch)
    {
        if (!patch.HasStackOrder)
        {
            return "unknown (neither stack_order nor /proc/modules could be read)";
        }

        var order = patch.StackOrder.ToString(CultureInfo.InvariantCulture);
        var hidden = patch.Objects.SelectMany(o => o.Functions).Count(f => f.ServedBy.Length > 0 && f.ServedBy != patch.Name);
        var source = patch.StackOrderSource == "module-load-order" ? " (load order, from /proc/modules)" : string.Empty;
        return hidden > 0
            ? $"{order}{source}; hidden for {Plural(hidden, "function")} by a patch above it"
            : $"{order}{source}";
    }

    /// <summary>
    /// The report of <c>lpctl verify</c>: the module's facts, then every check with its result and detail, the
    /// kernel's policy warnings, and the verdict.
    /// </summary>
    public static string Verification(VerifyModuleResponse response, string fileName)
    {
        ArgumentNullException.ThrowIfNull(response);
        ArgumentNullException.ThrowIfNull(fileName);
        var text = new StringBuilder(ModuleBlock(response, fileName).ToString());

        text.Append('\n');
        var checks = new TextTable("CHECK", "RESULT", "DETAIL");
        foreach (var check in response.Checks)
        {
            var detail = string.IsNullOrEmpty(check.Detail) ? "-" : check.Detail;
            if (check.Result == CheckResult.Failed && !string.IsNullOrEmpty(check.Reason))
            {
                detail += $" ({check.Reason})";
            }

            checks.AddRow(check.Name, CheckResultText(check.Result), detail);
        }

        text.Append(checks);
        AppendWarnings(text, response.KernelPolicy);
        // The failed check's row carries the detail, and stderr the message: the verdict only points at it.
        var failed = response.Checks.FirstOrDefault(c => c.Result == CheckResult.Failed);
        text.Append('\n').Append((response.Ok, failed) switch
        {
            (true, _) => "Result: passed: a load would pass verification",
            (false, { } check) => $"Result: FAILED at check {check.Name} ({Dash(response.Reason)})",
            (false, null) => $"Result: FAILED ({Dash(response.Reason)}): {TerminalText.Escape(Dash(response.Message))}",
        }).Append('\n');
        return text.ToString();
    }

    /// <summary>The outcome of <c>lpctl load</c>: what was loaded, its state and how its transition went.</summary>
    public static string Load(LoadPatchResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var module = response.Verification?.Module;
        var block = new KeyValueBlock()
            .Add("Patch", response.Name)
            .Add("State", response.Patch is { } patch
                ? ProtocolNames.Of(patch.State)
                : "gone (no longer in /sys/kernel/livepatch)")
            .Add("Elapsed", response.Elapsed is null ? UnknownText : DurationText(response.Elapsed.ToTimeSpan()))
            .Add("Signer", SignerText(module?.Signature))
            .Add("SHA-256", Known(module?.Sha256 ?? ""));
        if (response.RemovedLeftovers.Count > 0)
        {
            block.Add("Removed leftovers", string.Join(", ", response.RemovedLeftovers) + " (replaced by this patch, no longer used)");
        }

        var text = new StringBuilder(block.ToString());
        AppendWarnings(text, response.Verification?.KernelPolicy);
        return text.ToString();
    }

    /// <summary>Whether a load succeeded as the user asked: accepted, and (when waited for) fully enabled.</summary>
    /// <summary>
    /// One line per event: local time, kind, patch, message. A stall event leads its message with how long the
    /// transition has run and how many threads block it: <c>45 s, 1 blocking task: ...</c>.
    /// </summary>
    public static string EventLine(Event e, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(e);
        var time = e.Time is null
            ? "--:--:--.---"
            : TimeZoneInfo.ConvertTimeFromUtc(e.Time.ToDateTime(), zone).ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);
        var patch = TerminalText.Escape(string.IsNullOrEmpty(e.Patch) ? "-" : e.Patch);
        // The message may quote a blocking thread's comm: one event, one line.
        var message = StallPrefix(e) + TerminalText.Escape(e.Message);
        return $"{time}  {ProtocolNames.Of(e.Kind).PadRight(EventKindWidth)}  {patch.PadRight(EventPatchWidth)}  {message}\n";
    }

    private static string StallPrefix(Event e)
    {
        var parts = new List<string>(2);
        if (e.Seconds > 0)
        {
            parts.Add(e.Seconds.ToString("0", CultureInfo.InvariantCulture) + " s");
        }

        // For a stall, "0 blocking tasks" is news too: the holders are idle tasks that /proc does not show.
        if (e.BlockingTasks > 0 || e.Kind is EventKind.TransitionStalled or EventKind.StallUnresolved)
        {
            parts.Add(Plural(e.BlockingTasks, "blocking task"));
        }

        return parts.Count == 0 ? "" : string.Join(", ", parts) + ": ";
    }

    /// <summary>
    /// The threads holding the running transition (<c>lpctl blocking</c>): a line naming the patch, its direction
    /// and how long it has run, then a row per thread (PID, TID, COMM, UNIT, HELD-BY) followed by the explanation,
    /// the command line and, when present, the kernel stack, indented under it.
    /// </summary>
    public static string Blocking(BlockingTasksResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.Patch.Length == 0)
        {
            return "no transition is running\n";
        }

        var text = new StringBuilder(TerminalText.Escape(response.Patch))
            .Append(response.Patching ? " patching" : " unpatching");
        if (response.Elapsed is not null)
        {
            text.Append(" for ").Append(DurationText(response.Elapsed.ToTimeSpan()));
        }

        var scanned = Plural(response.ThreadsScanned, "thread") + " scanned";
        if (response.Tasks.Count == 0)
        {
            // The daemon's message says why an empty list does not mean nothing holds the transition.
            text.Append(": no blocking thread found (").Append(scanned).Append(")\n");
            if (response.Message.Length > 0)
            {
                text.Append(TerminalText.Escape(response.Message)).Append('\n');
            }

            return text.ToString();
        }

        text.Append(": ").Append(Plural(response.Tasks.Count, "blocking thread")).Append(" (").Append(scanned).Append(")\n\n");
        var table = new TextTable("PID", "TID", "COMM", "UNIT", "HELD-BY");
        foreach (var task in response.Tasks)
        {
            table.AddRow(
                task.Pid.ToString(CultureInfo.InvariantCulture),
                task.Tid.ToString(CultureInfo.InvariantCulture),
                Dash(task.Comm),
                task.KernelThread && task.Unit.Length == 0 ? "(kernel thread)" : Dash(task.Unit),
                HeldByText(task));
        }

        var lines = table.Lines();
        text.Append(lines[0]).Append('\n');
        for (var i = 0; i < response.Tasks.Count; i++)
        {
            text.Append(lines[i + 1]).Append('\n');
            AppendTaskDetails(text, response.Tasks[i]);
        }

        return text.ToString();
    }

    private static string HeldByText(BlockingTask task) => (task.HeldByFunction, task.HeldByObject) switch
    {
        ({ Length: 0 }, _) => "-",
        (var function, { Length: 0 }) => function,
        var (function, patchedObject) => $"{function} ({patchedObject})",
    };

    private static void AppendTaskDetails(StringBuilder text, BlockingTask task)
    {
        void Line(string value) => text.Append(DetailIndent).Append(TerminalText.Escape(value)).Append('\n');

        if (task.Explanation.Length > 0)
        {
            Line(task.Explanation);
        }

        if (task.KernelThread)
        {
            Line("kernel thread: signals cannot kick it");
        }
        else if (task.Cmdline.Length > 0)
        {
            Line("cmdline: " + task.Cmdline);
        }

        if (task.Stack.Count > 0)
        {
            text.Append(DetailIndent).Append("stack:\n");
            foreach (var frame in task.Stack)
            {
                Line("  " + frame);
            }
        }
        else if (task.StackProblem.Length > 0)
        {
            Line("stack: unavailable: " + task.StackProblem);
        }
    }

    /// <summary>What <c>lpctl force</c> pinned, on a line of its own, since it is the lasting cost.</summary>
    public static string Force(ForceTransitionResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        return response.Pinned.Count == 0
            ? "no module is pinned\n"
            : $"pinned until reboot: {TerminalText.Escape(string.Join(", ", response.Pinned))}\n";
    }

    /// <summary>The outcome of <c>lpctl kick</c>: how, which processes, and the kernel threads left alone.</summary>
    public static string Kick(KickTasksResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        var signalAttribute = response.Method == "signal-attribute";
        var block = new KeyValueBlock()
            .Add("Patch", response.Name)
            .Add("Method", response.Method switch
            {
                "sigstop-sigcont" => "SIGSTOP then SIGCONT to each blocked user process",
                "signal-attribute" => "the kernel's fake signal to every blocked task (the patch's signal attribute)",
                var other => Known(other),
            })
            .Add("Kicked", response.KickedPids.Count > 0
                ? string.Join(", ", response.KickedPids.Select(p => p.ToString(CultureInfo.InvariantCulture)))
                : signalAttribute ? "every blocked task, by the kernel" : "none")
            .Add("Kernel threads", response.KernelThreadsSkipped > 0
                ? Plural(response.KernelThreadsSkipped, "skipped kernel thread") + " (signals cannot kick them)"
                : "none skipped");
        return block.ToString();
    }

    /// <summary>A duration for people: "12.3s", "5m 02s", "2h 03m", "3d 04h".</summary>
    public static string DurationText(TimeSpan duration)
    {
        if (duration < TimeSpan.Zero)
        {
            duration = TimeSpan.Zero;
        }

        return duration.TotalSeconds switch
        {
            < 60 => duration.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + "s",
            < 3600 => FormattableString.Invariant($"{(int)duration.TotalMinutes}m {duration.Seconds:00}s"),
            < 86400 => FormattableString.Invariant($"{(int)duration.TotalHours}h {duration.Minutes:00}m"),
            _ => FormattableString.Invariant($"{(int)duration.TotalDays}d {duration.Hours:00}h"),
        };
    }

    private static string KernelText(KernelFacts kernel) =>
        (kernel.Release, kernel.Version) switch
        {
            ({ Length: > 0 } release, { Length: > 0 } version) => $"{release} ({version})",
            ({ Length: > 0 } release, _) => release,
            _ => UnknownText,
        };

    private static string StateText(AgentState state) => state switch
    {
        AgentState.Idle => "idle",
        AgentState.Transitioning => "transitioning (a patch is being applied or removed)",
        AgentState.Stalled => "stalled (a transition has run longer than the stall threshold)",
        AgentState.Unsupported => "unsupported (this kernel cannot be live patched)",
        AgentState.Degraded => "degraded (see Problems)",
        _ => ProtocolNames.Of(state),
    };

    private static string TransitionText(Transition? transition, TimeZoneInfo zone)
    {
        if (transition is null)
        {
            return "none";
        }

        var text = new StringBuilder(string.IsNullOrEmpty(transition.Patch) ? "a patch" : transition.Patch)
            .Append(transition.Patching ? " patching" : " unpatching");
        if (transition.Elapsed is not null)
        {
            text.Append(" for ").Append(DurationText(transition.Elapsed.ToTimeSpan()));
        }

        if (transition.StartedAt is not null)
        {
            text.Append(" (since ").Append(LocalTime(transition.StartedAt, zone)).Append(')');
        }

        if (transition.Progress is { } progress)
        {
            text.Append(CultureInfo.InvariantCulture, $"; {progress.TasksTotal - progress.TasksPending}/{progress.TasksTotal} tasks switched");
            if (transition.Blocking.Length > 0)
            {
                text.Append(CultureInfo.InvariantCulture, $", {progress.TasksPending} blocking ({transition.Blocking})");
            }
        }

        return text.ToString();
    }

    private static IEnumerable<string> TaintLines(KernelFacts kernel)
    {
        if (!kernel.HasTaintMask)
        {
            return [UnknownText];
        }

        var mask = kernel.TaintMask.ToString(CultureInfo.InvariantCulture);
        if (kernel.TaintMask == 0)
        {
            return [$"{mask} (untainted)"];
        }

        var text = string.IsNullOrEmpty(kernel.TaintFlags) ? mask : $"{mask} ({kernel.TaintFlags})";
        return [text, .. kernel.TaintDescriptions];
    }

    private static string DaemonText(AgentStatus status, TimeZoneInfo zone)
    {
        var text = new StringBuilder("livepatchd ")
            .Append(string.IsNullOrEmpty(status.DaemonVersion) ? "(version unknown)" : status.DaemonVersion);
        if (status.Uptime is not null)
        {
            text.Append(", up ").Append(DurationText(status.Uptime.ToTimeSpan()));
        }

        if (status.StartedAt is not null)
        {
            text.Append(" (since ").Append(LocalTime(status.StartedAt, zone)).Append(')');
        }

        return text.ToString();
    }

    private static string ModuleText(Patch patch)
    {
        if (patch.Module is not { } module)
        {
            return $"unknown (/sys/module/{patch.Name} could not be read)";
        }

        var parts = new List<string>(4);
        if (module.HasRefcnt)
        {
            parts.Add("refcnt " + module.Refcnt.ToString(CultureInfo.InvariantCulture));
        }

        if (!string.IsNullOrEmpty(module.Taint))
        {
            parts.Add("taint " + module.Taint);
        }

        if (!string.IsNullOrEmpty(module.Srcversion))
        {
            parts.Add("srcversion " + module.Srcversion);
        }

        if (!string.IsNullOrEmpty(module.Initstate))
        {
            parts.Add(module.Initstate);
        }

        return parts.Count == 0 ? UnknownText : string.Join(", ", parts);
    }

    private static KeyValueBlock ModuleBlock(VerifyModuleResponse response, string fileName)
    {
        var module = response.Module ?? new ModuleReport();
        // Without a readable ELF only the file's size and hash are facts; the rest would be empty or false.
        var elfRead = module.Name.Length > 0 || module.Modinfo.Count > 0;
        var block = new KeyValueBlock()
            .Add("File", fileName)
            .Add("Module", elfRead ? Known(module.Name) : "unknown (the file is not a well-formed kernel module)")
            .Add("Size", module.Size.ToString(CultureInfo.InvariantCulture) + " bytes"
                + (module.Compression.Length > 0
                    ? $" ({module.Compression}-compressed: {module.UploadSize.ToString(CultureInfo.InvariantCulture)} bytes; the decompressed module is verified and loaded)"
                    : string.Empty))
            .Add("SHA-256", Known(module.Sha256));
        if (elfRead)
        {
            block
                // The kernel's vermagic ends in a blank; a table line does not need to.
                .Add("Vermagic", Known(module.Vermagic.TrimEnd()))
                .Add("Livepatch", module.Livepatch ? "yes" : "no (livepatch=Y is missing from .modinfo)")
                .Add("License", Known(module.License))
                .Add("Description", Known(module.Description))
                .Add("Srcversion", Known(module.Srcversion))
                .Add("Depends", module.Depends.Count == 0 ? "none" : string.Join(", ", module.Depends));
            MetadataOutput.AddRows(block, module.Metadata ?? new PatchMetadata());
        }

        return block
            .Add("Signature", SignatureText(module.Signature))
            .Add("Kernel policy", KernelPolicyText(response.KernelPolicy));
    }

    private static string CheckResultText(CheckResult result) => result switch
    {
        CheckResult.Passed => "pass",
        // Upper case: the one line a reader must not miss.
        CheckResult.Failed => "FAIL",
        CheckResult.Skipped => "skip",
        _ => UnknownText,
    };

    private static string SignatureText(SignatureInfo? signature)
    {
        if (signature is not { Present: true })
        {
            return "none (no appended signature)";
        }

        var text = new StringBuilder("signed by ").Append(SignerText(signature));
        if (!string.IsNullOrEmpty(signature.DigestAlgorithm))
        {
            text.Append(", digest ").Append(signature.DigestAlgorithm);
        }

        return text.Append(signature.Trusted ? "; trusted" : "; NOT trusted").ToString();
    }

    private static string SignerText(SignatureInfo? signature)
    {
        if (signature is not { Present: true })
        {
            return "none (unsigned)";
        }

        var signer = string.IsNullOrEmpty(signature.Signer) ? "an unknown signer" : signature.Signer;
        return string.IsNullOrEmpty(signature.KeyId) ? signer : $"{signer} (key id {signature.KeyId})";
    }

    private static string KernelPolicyText(KernelModulePolicy? policy)
    {
        if (policy is null)
        {
            return UnknownText;
        }

        var enforcement = policy.HasSigEnforce ? (policy.SigEnforce ? "on" : "off") : UnknownText;
        var loading = policy.HasModulesDisabled
            ? (policy.ModulesDisabled ? "disabled (kernel.modules_disabled)" : "allowed")
            : UnknownText;
        return $"signature enforcement {enforcement}, lockdown {Known(policy.Lockdown)}, module loading {loading}";
    }

    private static void AppendWarnings(StringBuilder text, KernelModulePolicy? policy)
    {
        if (policy is null || policy.Warnings.Count == 0)
        {
            return;
        }

        text.Append('\n');
        foreach (var warning in policy.Warnings)
        {
            text.Append("warning: ").Append(TerminalText.Escape(warning)).Append('\n');
        }
    }

    private static string PatchStateText(Patch patch) =>
        patch.Forced ? $"{ProtocolNames.Of(patch.State)}, {ForcedText}" : ProtocolNames.Of(patch.State);

    private static string LocalTime(Timestamp timestamp, TimeZoneInfo zone)
    {
        var utc = timestamp.ToDateTime();
        var local = new DateTimeOffset(TimeZoneInfo.ConvertTimeFromUtc(utc, zone), zone.GetUtcOffset(utc));
        return local.ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture);
    }

    private static string Known(string value) => string.IsNullOrEmpty(value) ? UnknownText : value;

    private static string Dash(string? value) => string.IsNullOrEmpty(value) ? "-" : value;

    private static string YesNo(bool value) => value ? "yes" : "no";

    private static string Count(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Plural(long count, string noun) =>
        count == 1 ? $"1 {noun}" : $"{count.ToString(CultureInfo.InvariantCulture)} {noun}s";
}
