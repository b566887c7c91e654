using CsCheck;

namespace LivePatchAgent.Unit.Tests.Core.Posture;

/// <summary>
/// Version strings from a small grammar biased to where orderings go wrong: epochs, '~' and '^', '+' and '.',
/// letters against digits and against the end, digit runs with leading zeros, hyphens inside versions. Pairs
/// share a random prefix and differ only in short tails, because two unrelated versions almost always differ in
/// their first digit and would test nothing.
/// </summary>
internal static class VersionGenerators
{
    /// <summary>Two spellings of one piece, drawn independently from spellings the tools may call equal.</summary>
    private static Gen<(string, string)> Spellings(params string[] equal) => Gen.Select(Gen.OneOf(equal), Gen.OneOf(equal));

    private static Gen<(string, string)> Same(params string[] pieces) => Gen.OneOf(pieces).Select(p => (p, p));

    private static readonly Gen<(string, string)> DigitRun = Gen.OneOf(
        Spellings("0", "00"),
        Spellings("1", "01", "001"),
        Same("2", "9", "19", "100", "2147483648"),
        Spellings("10", "010"),
        Spellings("99999999999999999999", "099999999999999999999"));

    private static readonly Gen<(string, string)> Letters = Same("a", "b", "z", "A", "Z", "rc", "dfsg", "git", "ubuntu", "el", "p");

    /// <summary>Pieces of a Debian upstream version or revision (revisions get no '-' and no ':').</summary>
    private static Gen<(string, string)> DebianPiece(bool upstream)
    {
        List<(int, IGen<(string, string)>)> pieces =
        [
            (30, DigitRun),
            (20, Letters),
            (12, Same(".")),
            (8, Same("+")),
            (10, Same("~", "~~")),
            // Characters dpkg only warns about (and still orders): illegal ASCII ones and a non-ASCII one.
            (2, Same("_", "é", "%")),
        ];
        if (upstream)
        {
            // Both make many versions dpkg refuses ("1.0-" has an empty revision, "1:" without an epoch a bad one).
            pieces.Add((3, Same("-")));
            pieces.Add((1, Same(":")));
        }

        return Gen.Frequency([.. pieces]);
    }

    private static readonly Gen<string> DebianEpoch = Gen.Frequency(
        (14, Gen.Const("")),
        (6, Gen.OneOf("0:", "1:", "2:", "01:", "00:", "10:")),
        (1, Gen.OneOf(":", "a:", "+1:", "-0:", "-1:", "2147483648:")));

    /// <summary>Pieces of an rpm field: '~' and '^' often, separators of several kinds (rpm ignores which).</summary>
    private static Gen<(string, string)> RpmPiece(bool evr)
    {
        List<(int, IGen<(string, string)>)> pieces =
        [
            (30, DigitRun),
            (20, Letters),
            (16, Spellings(".", "_", "+", "%", "..")),
            (8, Same("~", "~~")),
            (8, Same("^", "^^")),
        ];
        if (evr)
        {
            pieces.Add((5, Same("-")));
            pieces.Add((2, Same(":")));
        }

        return Gen.Frequency([.. pieces]);
    }

    private static readonly Gen<string> RpmEpoch = Gen.Frequency(
        (14, Gen.Const("")),
        (6, Gen.OneOf("0:", "1:", "2:", "01:", "00:", "10:", ":")));

    /// <summary>
    /// Two strings: one prefix of <paramref name="piece"/>s, spelled its two ways, then a short tail of their own
    /// (empty on both sides often enough that the two are often equal).
    /// </summary>
    private static Gen<(string A, string B)> Close(Gen<(string, string)> piece, int prefix)
    {
        var tail = Gen.Frequency((1, Gen.Const("")), (1, piece.Select(p => p.Item1).Array[1, 3].Select(string.Concat)));
        return Gen.Select(piece.Array[0, prefix], tail, tail, (p, a, b) =>
            (string.Concat(p.Select(x => x.Item1)) + a, string.Concat(p.Select(x => x.Item2)) + b));
    }

    /// <summary>0: neither has the optional part; 1: both; 2 and 3: only one of them.</summary>
    private static readonly Gen<int> Optional = Gen.Frequency((4, Gen.Const(0)), (4, Gen.Const(1)), (1, Gen.Const(2)), (1, Gen.Const(3)));

    private static (string, string) WithOptional(string a, string b, int which, (string A, string B) part) => which switch
    {
        1 => ($"{a}-{part.A}", $"{b}-{part.B}"),
        2 => ($"{a}-{part.A}", b),
        3 => (a, $"{b}-{part.B}"),
        _ => (a, b),
    };

    /// <summary>Debian version pairs: epoch, upstream starting (mostly) with a digit, and an optional revision.</summary>
    public static Gen<(string A, string B)> DebianPairs { get; } =
        Gen.Select(
            Gen.Frequency((4, DebianEpoch.Select(e => (e, e))), (1, Gen.Select(DebianEpoch, DebianEpoch))),
            Gen.Frequency((9, DigitRun), (1, Letters)),
            Close(DebianPiece(upstream: true), 4),
            Optional,
            Close(DebianPiece(upstream: false), 3),
            (epochs, first, upstream, revisions, revision) =>
                WithOptional(epochs.Item1 + first.Item1 + upstream.A, epochs.Item2 + first.Item2 + upstream.B, revisions, revision));

    /// <summary>Single Debian versions for dpkg's validity rules, with the broken forms much more common.</summary>
    public static Gen<string> DebianCandidates { get; } =
        Gen.Select(
            Gen.Frequency(
                (6, DebianEpoch),
                (1, Gen.OneOf(" ", "\t", "  ", "1.0:", "1a:", "99999999999999999999:", "-99999999999999999999:", "\f1:"))),
            DebianPiece(upstream: true).Select(p => p.Item1).Array[0, 5],
            Gen.Frequency(
                (6, Gen.Const("")),
                (3, DebianPiece(upstream: false).Select(p => p.Item1).Array[0, 3].Select(r => "-" + string.Concat(r))),
                (1, Gen.OneOf("-", " ", "\t", " x", "-1 ", "-a_b", ": ", ":"))),
            (epoch, pieces, tail) => epoch + string.Concat(pieces) + tail)
        .Where(v => v.Length > 0 && v != "<unknown>");

    /// <summary>rpm EVR pairs: an optional epoch, a version and an optional release, hyphens and colons inside too.</summary>
    public static Gen<(string A, string B)> RpmPairs { get; } =
        Gen.Select(
            Gen.Frequency((4, RpmEpoch.Select(e => (e, e))), (1, Gen.Select(RpmEpoch, RpmEpoch))),
            Close(RpmPiece(evr: true), 4),
            Optional,
            Close(RpmPiece(evr: false), 3),
            (epochs, version, releases, release) =>
                WithOptional(epochs.Item1 + version.A, epochs.Item2 + version.B, releases, release))
        // rpm has no version for the empty string (rpm.vercmp raises an error); RpmVersion refuses it too.
        .Where((a, b) => a.Length > 0 && b.Length > 0);

    /// <summary>
    /// Pairs of single rpm fields for rpmvercmp alone. No '-' and no ':' in them, so rpm.vercmp, which splits an
    /// EVR first, sees a bare version with no epoch and no release and compares just the two fields.
    /// </summary>
    public static Gen<(string A, string B)> RpmSegmentPairs { get; } =
        Close(RpmPiece(evr: false), 5).Where((a, b) => a.Length > 0 && b.Length > 0);
}
