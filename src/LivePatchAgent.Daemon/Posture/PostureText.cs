using System.Globalization;
using System.Text;
using LivePatchAgent.Core.Posture;
using LivePatchAgent.Core.State;

namespace LivePatchAgent.Daemon.Posture;

/// <summary>The posture in one line, for the log, the posture-changed event and D-Bus.</summary>
internal static class PostureText
{
    public static string Summary(PostureView view)
    {
        ArgumentNullException.ThrowIfNull(view);
        var posture = view.Posture;
        if (!posture.IsKnown)
        {
            return posture.UnknownReason!;
        }

        var s = posture.Summary;
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{s.FixedLive} fixed live, {s.FixedInstalled} fixed by installed patches, {s.Open} open");
        if (s.HighestOpen is { } highest)
        {
            text.Append(CultureInfo.InvariantCulture, $" (highest {highest.ToText()})");
        }

        if (s.RebootTarget is { } target)
        {
            text.Append(CultureInfo.InvariantCulture, $"; reboot into >= {target} closes the open ones with a fix");
        }

        if (view.Problems.Length > 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"; {view.Problems.Length} advisory file(s) skipped");
        }

        return text.ToString();
    }
}
