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
    private const string UnknownText = "unknown";

    // Wide enough for the longest kind ("transition-completed") so the patch column lines up.
    private const int EventKindWidth = 20;
    private const int EventPatchWidth = 16;

    public static string Status(AgentStatus status, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(status);
        var kernel = status.Kernel ?? new KernelFacts();
        var block = new KeyValueBlock()
            .Add("Kernel", KernelText(kernel))
            .Add("Livepatch", kernel.LivepatchSupported
                ? "supported"
                : "not supported by this kernel (/sys/kernel/livepatch is missing)")
            .Add("State", StateText(status.State))
            .Add("Patches", $"{status.PatchCount} ({status.EnabledPatchCount} enabled)")
            .Add("Transition", TransitionText(status.Transition, zone))
            .Add("Taint", TaintText(kernel))
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
            .Add("Problems", status.Problems.Count == 0
                ? "none"
                : string.Join('\n', status.Problems.Select(p => string.IsNullOrEmpty(p.Path) ? p.Message : $"{p.Path}: {p.Message}")));
        return block.ToString();
    }

    public static string PatchList(ListPatchesResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.Patches.Count == 0)
        {
            return "no live patches loaded\n";
        }

        var table = new TextTable("NAME", "STATE", "OBJECTS", "FUNCTIONS", "REPLACE", "ORDER", "REFCNT", "TAINT");
        foreach (var patch in response.Patches)
        {
            table.AddRow(
                patch.Name,
                ProtocolNames.Of(patch.State),
                Count(patch.Objects.Count),
                Count(patch.Objects.Sum(o => o.Functions.Count)),
                patch.HasReplace ? YesNo(patch.Replace) : "-",
                patch.HasStackOrder ? patch.StackOrder.ToString(CultureInfo.InvariantCulture) : "-",
                patch.Module is { HasRefcnt: true } module ? module.Refcnt.ToString(CultureInfo.InvariantCulture) : "-",
                patch.Module is { Taint.Length: > 0 } tainted ? tainted.Taint : "-");
        }

        return table.ToString();
    }

    public static string PatchInfo(Patch patch)
    {
        ArgumentNullException.ThrowIfNull(patch);
        var functionCount = patch.Objects.Sum(o => o.Functions.Count);
        var block = new KeyValueBlock()
            .Add("Name", patch.Name)
            .Add("State", ProtocolNames.Of(patch.State))
            .Add("Enabled", YesNo(patch.Enabled))
            .Add("Transition", patch.Transition ? "yes (a transition is running)" : "no")
            .Add("Replace", patch.HasReplace
                ? (patch.Replace ? "yes (cumulative: replaces all other patches)" : "no")
                : "unknown (the kernel does not say)")
            .Add("Stack order", patch.HasStackOrder
                ? patch.StackOrder.ToString(CultureInfo.InvariantCulture)
                : "unknown (the kernel does not say)")
            .Add("Module", ModuleText(patch))
            .Add("Objects", $"{Plural(patch.Objects.Count, "object")}, {Plural(functionCount, "function")}");

        var text = new StringBuilder(block.ToString());
        foreach (var patchObject in patch.Objects)
        {
            var patched = patchObject.HasPatched
                ? (patchObject.Patched ? "patched" : "not patched (object not loaded)")
                : "patched: unknown";
            text.Append("  ").Append(patchObject.Name).Append("  ").Append(patched).Append('\n');
            foreach (var function in patchObject.Functions)
            {
                text.Append("    ").Append(function.Name)
                    .Append("  sympos ").Append(function.Sympos.ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
        }

        return text.ToString();
    }

    /// <summary>One line per event: local time, kind, patch, message.</summary>
    public static string EventLine(Event e, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(e);
        var time = e.Time is null
            ? "--:--:--.---"
            : TimeZoneInfo.ConvertTimeFromUtc(e.Time.ToDateTime(), zone).ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);
        var patch = string.IsNullOrEmpty(e.Patch) ? "-" : e.Patch;
        return $"{time}  {ProtocolNames.Of(e.Kind).PadRight(EventKindWidth)}  {patch.PadRight(EventPatchWidth)}  {e.Message}\n";
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

        return text.ToString();
    }

    private static string TaintText(KernelFacts kernel)
    {
        if (!kernel.HasTaintMask)
        {
            return UnknownText;
        }

        var mask = kernel.TaintMask.ToString(CultureInfo.InvariantCulture);
        if (kernel.TaintMask == 0)
        {
            return $"{mask} (untainted)";
        }

        var text = string.IsNullOrEmpty(kernel.TaintFlags) ? mask : $"{mask} ({kernel.TaintFlags})";
        return kernel.TaintDescriptions.Count == 0
            ? text
            : text + "\n" + string.Join('\n', kernel.TaintDescriptions);
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

    private static string LocalTime(Timestamp timestamp, TimeZoneInfo zone)
    {
        var utc = timestamp.ToDateTime();
        var local = new DateTimeOffset(TimeZoneInfo.ConvertTimeFromUtc(utc, zone), zone.GetUtcOffset(utc));
        return local.ToString("yyyy-MM-dd HH:mm:ss zzz", CultureInfo.InvariantCulture);
    }

    private static string Known(string value) => string.IsNullOrEmpty(value) ? UnknownText : value;

    private static string YesNo(bool value) => value ? "yes" : "no";

    private static string Count(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Plural(int count, string noun) =>
        count == 1 ? $"1 {noun}" : $"{count.ToString(CultureInfo.InvariantCulture)} {noun}s";
}
