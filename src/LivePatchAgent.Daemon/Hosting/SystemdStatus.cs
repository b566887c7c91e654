using System.Globalization;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.DBus;

namespace LivePatchAgent.Daemon.Hosting;

/// <summary>
/// The one-line STATUS= text `systemctl status livepatchd` shows. Short, lowercase, and what an operator wants
/// at a glance: how many patches are on, and whether anything needs attention.
/// </summary>
internal static class SystemdStatus
{
    public static string Describe(AgentView view, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(view);
        var enabled = Count(view.EnabledPatchCount, "patch", "patches") + " enabled";
        var text = view.State switch
        {
            AgentState.Unsupported => "livepatch unsupported by this kernel",
            AgentState.Stalled when view.Transition is { } t => Stalled(view, t, now),
            AgentState.Transitioning when view.Transition is { } t =>
                $"transition running: {t.Patch} ({(t.Patching ? "patching" : "unpatching")}), {enabled}",
            AgentState.Degraded => $"degraded: {string.Join("; ", view.DegradedReasons)}; {enabled}",
            _ => $"{enabled}, idle",
        };

        var problems = view.Snapshot.Problems.Length;
        return problems == 0 ? text : $"{text}; {Count(problems, "unreadable value", "unreadable values")} (lpctl status)";
    }

    /// <summary>"transition stalled: lpdemo_v3, 1 task, 45 s" (the tasks of the supervisor's last scan).</summary>
    private static string Stalled(AgentView view, TransitionView transition, DateTimeOffset now)
    {
        var seconds = (long)transition.ElapsedAt(now).TotalSeconds;
        return AgentBusState.BlockingTaskCount(view) is { } tasks
            ? string.Create(CultureInfo.InvariantCulture, $"transition stalled: {transition.Patch}, {Count((int)tasks, "task", "tasks")}, {seconds} s")
            : string.Create(CultureInfo.InvariantCulture, $"transition stalled: {transition.Patch}, {seconds} s");
    }

    private static string Count(int n, string one, string many) =>
        string.Create(CultureInfo.InvariantCulture, $"{n} {(n == 1 ? one : many)}");
}
