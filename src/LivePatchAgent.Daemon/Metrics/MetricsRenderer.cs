using System.Collections.Immutable;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.Modules;
using LivePatchAgent.Core.Operations;
using LivePatchAgent.Core.Posture;
using LivePatchAgent.Core.State;

namespace LivePatchAgent.Daemon.Metrics;

/// <summary>Everything one exposition is rendered from: one consistent view plus the daemon's counters.</summary>
/// <param name="Version">livepatchd's version.</param>
/// <param name="StartedAt">When this daemon process started.</param>
/// <param name="Now">The time of the rendering: livepatchd_last_update_timestamp_seconds.</param>
/// <param name="View">The state.</param>
/// <param name="Operations">Finished operations by kind and outcome since the start.</param>
/// <param name="Installed">The names of the patches installed for the running kernel.</param>
/// <param name="Transitions">Transitions seen since the start, patching and unpatching.</param>
/// <param name="RefreshInterval">Metrics:RefreshInterval: the file is never older than this while the daemon runs.</param>
internal sealed record MetricsInput(
    string Version,
    DateTimeOffset StartedAt,
    DateTimeOffset Now,
    AgentView View,
    IReadOnlyDictionary<(OperationKind Kind, OperationResultKind Result), long> Operations,
    IReadOnlyList<string> Installed,
    (long Patching, long Unpatching) Transitions,
    TimeSpan RefreshInterval);

/// <summary>
/// The one renderer of livepatchd's metrics (docs/metrics.md): the textfile and <c>lpctl metrics</c> both print
/// what it returns. Every family has a fixed, small set of label values, except the per-patch and per-transition
/// info series (one per registered patch). Enumerations (states, phases, severities, taint flags) are written in full
/// with 0 and 1, so a series never disappears while its host reports.
/// </summary>
internal static class MetricsRenderer
{
    public static string Render(MetricsInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var view = input.View;
        var kernel = view.Snapshot.Kernel;
        var x = new Exposition();

        x.Family("livepatchd_info", "gauge", "Always 1: livepatchd's version, the running kernel release and this boot's id.")
            .Sample("livepatchd_info", 1, ("version", input.Version), ("kernel_release", kernel.Release ?? ""), ("boot_id", kernel.BootId ?? ""));
        x.Gauge("livepatchd_start_time_seconds", "When livepatchd started, in seconds since the Unix epoch.", Seconds(input.StartedAt));
        x.Gauge("livepatchd_last_update_timestamp_seconds", "When these metrics were rendered, in seconds since the Unix epoch.", Seconds(input.Now));
        x.Gauge("livepatchd_metrics_refresh_interval_seconds", "Metrics:RefreshInterval: the metrics are rendered again at least this often.", input.RefreshInterval.TotalSeconds);
        x.Gauge("livepatchd_livepatch_supported", "1 when the kernel supports live patching (/sys/kernel/livepatch exists).", Bool(kernel.LivepatchSupported));

        x.Family("livepatchd_state", "gauge", "1 for the agent's overall state, 0 for the others.");
        foreach (var state in Enum.GetValues<AgentState>())
        {
            x.Sample("livepatchd_state", Bool(view.State == state), ("state", state.ToString().ToLowerInvariant()));
        }

        x.Family("livepatchd_patches", "gauge", "Registered live patches by state.");
        foreach (var state in Enum.GetValues<PatchState>())
        {
            x.Sample("livepatchd_patches", view.Snapshot.Patches.Count(p => view.StateOf(p) == state), ("state", StateWord(state)));
        }

        RenderPatchInfo(x, view);
        x.Gauge("livepatchd_leftover_modules", "Live patch modules still loaded but no longer registered (replaced or disabled, not removed).", view.Snapshot.Leftovers.Length);
        RenderTransition(x, input);
        x.Gauge("livepatchd_pinned_modules", "Modules pinned by a forced transition in this boot: they cannot be removed until reboot.", view.ForcedModules.Count);
        RenderTaint(x, kernel.Taint);
        RenderOperations(x, input.Operations);
        RenderStartupApply(x, view.StartupApply);

        x.Gauge("livepatchd_degraded", "1 while livepatchd is degraded (see livepatchd_degraded_reason and lpctl status).", Bool(!view.Degraded.IsEmpty));
        x.Family("livepatchd_degraded_reason", "gauge", "1 for each source of a degraded reason (dbus, crash-loop-guard, metrics).");
        foreach (var source in view.Degraded.Keys)
        {
            x.Sample("livepatchd_degraded_reason", 1, ("source", source));
        }

        var installed = input.Installed.ToHashSet(StringComparer.Ordinal);
        x.Gauge("livepatchd_installed_patches", "Patches installed (lpctl install) for the running kernel.", installed.Count);
        x.Gauge("livepatchd_installed_patches_not_loaded", "Installed patches for the running kernel that are not registered and were not superseded: drift.", NotLoaded(view, installed));
        RenderPosture(x, view.Posture);
        return x.ToString();
    }

    /// <summary>Installed for this kernel, not registered, and not left out by the last apply as superseded by a cumulative patch.</summary>
    public static int NotLoaded(AgentView view, IReadOnlySet<string> installed)
    {
        ArgumentNullException.ThrowIfNull(view);
        ArgumentNullException.ThrowIfNull(installed);
        var superseded = view.StartupApply.Results.Where(r => r.Outcome == ApplyResultKind.Superseded).Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        return installed.Count(name => view.Snapshot.FindPatch(name) is null && !superseded.Contains(name));
    }

    private static void RenderPatchInfo(Exposition x, AgentView view)
    {
        x.Family("livepatchd_patch_info", "gauge",
            "Always 1, one series per registered patch: its state and the security metadata livepatchd verified when it loaded it "
            + "(metadata_source: signed, unsigned-modinfo, operator, or empty when livepatchd did not load it).");
        foreach (var patch in view.Snapshot.Patches)
        {
            var metadata = view.MetadataOf(patch) ?? PatchMetadata.None;
            x.Sample("livepatchd_patch_info", 1,
                ("patch", patch.Name),
                ("state", StateWord(view.StateOf(patch))),
                ("cves", string.Join(',', metadata.CveIds)),
                ("level", metadata.Level?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? ""),
                ("fixes_version", metadata.FixesVersion ?? ""),
                ("metadata_source", PatchMetadata.Name(metadata.Source)));
        }
    }

    private static void RenderTransition(Exposition x, MetricsInput input)
    {
        var view = input.View;
        var transition = view.Transition;
        x.Gauge("livepatchd_transition_running", "1 while a live patch transition runs.", Bool(transition is not null));
        x.Family("livepatchd_transition_info", "gauge", "Always 1 while a transition runs: the patch and the direction (patching, unpatching).");
        if (transition is not null)
        {
            x.Sample("livepatchd_transition_info", 1, ("patch", transition.Patch), ("direction", Direction(transition.Patching)));
        }

        x.Gauge("livepatchd_transition_duration_seconds", "How long the running transition has run; 0 when none runs.",
            transition?.ElapsedAt(input.Now).TotalSeconds ?? 0);
        x.Gauge("livepatchd_transition_tasks_pending", "Tasks not yet switched to the running transition's target state; 0 when none runs.",
            transition is null ? 0 : view.Snapshot.Progress?.TasksPending ?? 0);
        x.Gauge("livepatchd_transition_blocking_tasks", "Threads blocking the stalled transition at the last scan; 0 when none is stalled.",
            view.Stall?.BlockingTasks ?? 0);
        x.Gauge("livepatchd_transition_stalled", "1 while the running transition is stalled (it ran past Transitions:StallAfter).",
            Bool(view.State == AgentState.Stalled));
        x.Family("livepatchd_transitions_total", "counter", "Transitions livepatchd has seen start since it started, by direction.");
        x.Sample("livepatchd_transitions_total", input.Transitions.Patching, ("direction", "patching"));
        x.Sample("livepatchd_transitions_total", input.Transitions.Unpatching, ("direction", "unpatching"));
    }

    private static void RenderTaint(Exposition x, TaintMask? taint)
    {
        x.Gauge("livepatchd_kernel_taint_known", "1 when /proc/sys/kernel/tainted could be read.", Bool(taint is not null));
        x.Family("livepatchd_kernel_taint", "gauge", "1 for each kernel taint flag that is set (K: live patched), by its letter and bit.");
        foreach (var flag in TaintMask.Flags)
        {
            var set = taint is { } t && (t.Value & (1UL << flag.Bit)) != 0;
            x.Sample("livepatchd_kernel_taint", Bool(set), ("flag", flag.Letter.ToString()), ("bit", flag.Bit.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
    }

    private static void RenderOperations(Exposition x, IReadOnlyDictionary<(OperationKind Kind, OperationResultKind Result), long> operations)
    {
        x.Family("livepatchd_operations_total", "counter",
            "Operations finished since livepatchd started, by kind and outcome. Every kind is written with outcome completed, "
            + "and force with forced; other outcomes appear when they first happen.");
        var keys = Enum.GetValues<OperationKind>().Select(k => (k, OperationResultKind.Completed))
            .Append((OperationKind.Force, OperationResultKind.Forced))
            .Concat(operations.Keys)
            .Distinct()
            .OrderBy(k => k.Item1).ThenBy(k => k.Item2);
        foreach (var (kind, result) in keys)
        {
            x.Sample("livepatchd_operations_total", operations.GetValueOrDefault((kind, result)),
                ("kind", OperationNames.Of(kind)), ("outcome", OperationResult.Word(result)));
        }
    }

    private static void RenderStartupApply(Exposition x, StartupApplyStatus status)
    {
        x.Family("livepatchd_startup_apply_phase", "gauge", "1 for start-up apply's phase (pending, running, done, disabled, interrupted), 0 for the others.");
        foreach (var phase in Enum.GetValues<StartupApplyPhase>())
        {
            x.Sample("livepatchd_startup_apply_phase", Bool(status.Phase == phase), ("phase", phase.ToString().ToLowerInvariant()));
        }

        x.Family("livepatchd_startup_apply_patches", "gauge", "What the last start-up apply did with the installed patches, by outcome.");
        foreach (var outcome in Enum.GetValues<ApplyResultKind>())
        {
            x.Sample("livepatchd_startup_apply_patches", status.Results.Count(r => r.Outcome == outcome), ("outcome", OutcomeWord(outcome)));
        }
    }

    private static void RenderPosture(Exposition x, PostureView? view)
    {
        var posture = view?.Posture;
        x.Gauge("livepatchd_posture_available", "1 when the CVE posture could be evaluated (advisories read, kernel package known).", Bool(posture?.IsKnown == true));
        x.Family("livepatchd_cves", "gauge",
            "Advisories affecting the running kernel package, by state (open, fixed-live, fixed-installed) and severity; 0 without a posture.");
        var items = posture?.IsKnown == true ? posture.Items.ToImmutableArray() : [];
        foreach (var state in (PostureState[])[PostureState.Open, PostureState.FixedLive, PostureState.FixedInstalled])
        {
            foreach (var severity in Enum.GetValues<Severity>())
            {
                x.Sample("livepatchd_cves", items.Count(i => i.State == state && i.Severity == severity), ("state", state.ToText()), ("severity", severity.ToText()));
            }
        }

        x.Gauge("livepatchd_posture_evaluation_timestamp_seconds", "When the CVE posture was last evaluated, in seconds since the Unix epoch; 0 before the first.",
            view is null ? 0 : Seconds(view.EvaluatedAt));
    }

    private static string StateWord(PatchState state) => state.ToString().ToLowerInvariant();

    private static string OutcomeWord(ApplyResultKind outcome) => outcome switch
    {
        ApplyResultKind.AlreadyLoaded => "already-loaded",
        _ => outcome.ToString().ToLowerInvariant(),
    };

    private static string Direction(bool patching) => patching ? "patching" : "unpatching";

    private static double Bool(bool value) => value ? 1 : 0;

    private static double Seconds(DateTimeOffset time) => time.ToUnixTimeMilliseconds() / 1000.0;
}
