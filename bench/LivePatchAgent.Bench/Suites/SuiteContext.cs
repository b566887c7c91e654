using System.Globalization;

namespace LivePatchAgent.Bench.Suites;

/// <summary>What every suite gets: the binaries, how long to run, and where to report progress.</summary>
internal sealed record SuiteContext(BenchSettings Settings, TextWriter Log, CancellationToken CancellationToken)
{
    /// <summary>Repetitions: fewer with --quick.</summary>
    public int Runs(int full, int quick) => Settings.Quick ? quick : full;

    /// <summary>A fixture tree of <paramref name="patches"/> enabled patches with <paramref name="functions"/> functions each.</summary>
    public static SysfsFixture Tree(int patches, int functions)
    {
        var fixture = SysfsFixture.Create();
        for (var p = 0; p < patches; p++)
        {
            var patch = fixture.AddPatch("lpb_" + p.ToString(CultureInfo.InvariantCulture)).Object("vmlinux");
            for (var f = 0; f < functions; f++)
            {
                patch.Function("fn_" + f.ToString(CultureInfo.InvariantCulture));
            }
        }

        return fixture;
    }
}
