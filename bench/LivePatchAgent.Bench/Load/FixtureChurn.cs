using System.Globalization;

namespace LivePatchAgent.Bench.Load;

/// <summary>
/// Changes a fixture tree the way the kernel changes sysfs, one step per call, at most one transition at a time:
/// a patch appears in transition, completes, the taint mask changes, the oldest churned patch is disabled, its
/// unpatching transition completes, and its directory and module vanish. Directories are deleted while the
/// daemon may be reading them, as the kernel does.
/// </summary>
internal sealed class FixtureChurn(SysfsFixture fixture, int functionsPerPatch)
{
    /// <summary>Churned patches kept alive at once before the oldest is taken away.</summary>
    private const int Live = 4;

    private readonly Queue<string> _live = new();
    private readonly Dictionary<string, int> _steps = new(StringComparer.Ordinal);
    private int _generation;
    private int _phase;
    private string? _current;
    private ulong _taint;

    /// <summary>How many times each kind of change was made.</summary>
    public IReadOnlyDictionary<string, int> Steps => _steps;

    public int Total => _steps.Values.Sum();

    /// <summary>Makes the next change.</summary>
    public void Step()
    {
        switch (_phase)
        {
            case 0:
                _current = "lpb_churn_" + (++_generation).ToString(CultureInfo.InvariantCulture);
                var patch = fixture.AddPatch(_current, enabled: true, transition: true).Object("vmlinux");
                for (var f = 0; f < functionsPerPatch; f++)
                {
                    patch.Function("churn_fn_" + f.ToString(CultureInfo.InvariantCulture));
                }

                Count("add-in-transition");
                break;
            case 1:
                fixture.SetTransition(_current!, false);
                _live.Enqueue(_current!);
                Count("transition-complete");
                break;
            case 2:
                // Bit 15 (K, livepatched) and bit 12 (O, out of tree) flip in turn: a change that is not a patch.
                _taint ^= (_taint & (1UL << 12)) == 0 ? 1UL << 12 : (1UL << 12) | (1UL << 15);
                fixture.WithTaint(_taint);
                Count("taint");
                break;
            case 3 when _live.Count > Live:
                _current = _live.Peek();
                fixture.SetEnabled(_current, false).SetTransition(_current, true);
                Count("disable-in-transition");
                break;
            case 4 when _current == _live.Peek():
                fixture.SetTransition(_current, false);
                Count("unpatch-complete");
                break;
            case 5 when _current == _live.Peek():
                _live.Dequeue();
                fixture.RemovePatch(_current).RemoveModule(_current);
                Count("remove");
                break;
            default:
                // Not enough churned patches yet to take one away: start the next cycle.
                _phase = 0;
                Step();
                return;
        }

        _phase = (_phase + 1) % 6;
    }

    private void Count(string kind) => _steps[kind] = _steps.GetValueOrDefault(kind) + 1;
}
