using CsCheck;
using LivePatchAgent.Core.Posture;
using Xunit.Abstractions;

namespace LivePatchAgent.Unit.Tests.Core.Posture;

/// <summary>
/// dpkg's version ordering and validity rules. Every expectation written here was checked with
/// <c>dpkg --compare-versions</c> (dpkg 1.21); the property tests ask dpkg itself about hundreds of generated cases.
/// </summary>
public sealed class DebianVersionTests(ITestOutputHelper output)
{
    // dpkg runs once per case, and starting a process is what costs (25 ms on a busy two-core machine).
    private const int OracleComparisons = 400;
    private const int OracleValidityChecks = 300;

    [Theory]
    // '~' sorts before everything, the end of the string included.
    [InlineData("1.0~rc1", -1, "1.0")]
    [InlineData("1.0~~", -1, "1.0~")]
    [InlineData("1.0~", -1, "1.0")]
    [InlineData("0~", -1, "0")]
    [InlineData("2.30-1~bpo", -1, "2.30-1")]
    [InlineData("2.30-1~bpo12+1", -1, "2.30-1")]
    [InlineData("1.2.3-0ubuntu1~22.04.1", -1, "1.2.3-0ubuntu1")]
    [InlineData("1.0~rc1+really1.0", -1, "1.0")]
    // The epoch decides first.
    [InlineData("1:0", 1, "9.9")]
    [InlineData("2:1.0", 1, "1:9.9")]
    [InlineData("1:1.2.13.dfsg-1", 1, "1.3.dfsg-1")]
    // Letters sort before every other non-digit, and after the end of the string.
    [InlineData("1.0", -1, "1.0a")]
    [InlineData("1.0a", -1, "1.0+")]
    [InlineData("1.0+", -1, "1.0.1")]
    [InlineData("1.0a", -1, "1.0.1")]
    [InlineData("1.0A", -1, "1.0a")]
    [InlineData("1.0+dfsg-1", -1, "1.0.1-1")]
    [InlineData("2.0.beta", 1, "2.0.1")]
    [InlineData("1.0-a", 1, "1.0-0a")]
    // Digit runs compare by value.
    [InlineData("1.2.3", -1, "1.2.10")]
    [InlineData("6.1.192-2", -1, "6.1.194-1")]
    [InlineData("5.15.0-91.101", -1, "5.15.0-100.110")]
    [InlineData("7.88.1-10+deb12u5", -1, "7.88.1-10+deb12u12")]
    [InlineData("0.0", 1, "0")]
    [InlineData("1.0", -1, "1.0.0")]
    // The revision, split at the last hyphen.
    [InlineData("1.0-1", -1, "1.0-1+b1")]
    [InlineData("1.2.3-0ubuntu1", -1, "1.2.3-0ubuntu1.1")]
    [InlineData("1.0~rc1", -1, "1.0~rc1-1")]
    [InlineData("1.0-1-1", 1, "1.0-1")]
    [InlineData("1.0+really0.9", 1, "1.0")]
    // Different spellings dpkg calls equal.
    [InlineData("1.0", 0, "1.00")]
    [InlineData("1.0", 0, "0:1.0")]
    [InlineData("1.0", 0, "1.0-0")]
    [InlineData("1.0", 0, "1.")]
    [InlineData("01:1.0", 0, "1:1.0")]
    public void Known_pairs_order_as_dpkg_orders_them(string a, int expected, string b)
    {
        Assert.Equal(expected, DebianVersion.Compare(a, b));
        Assert.Equal(-expected, DebianVersion.Compare(b, a));
        Assert.Equal(expected, DebianVersion.Parse(a).CompareTo(DebianVersion.Parse(b)));
        Assert.Equal(expected == 0, DebianVersion.Parse(a) == DebianVersion.Parse(b));
    }

    [Theory]
    [InlineData("1:2.30-1~bpo12+1", 1, "2.30", "1~bpo12+1")]
    [InlineData("6.1.194-1", 0, "6.1.194", "1")]
    [InlineData("1.0", 0, "1.0", "")]
    [InlineData("1.0-1-1", 0, "1.0-1", "1")]
    [InlineData("1:2:3-4", 1, "2:3", "4")]
    [InlineData("+1:1.0", 1, "1.0", "")]
    [InlineData("  1.0-1\t", 0, "1.0", "1")]
    public void Parts_are_split_as_dpkg_splits_them(string text, int epoch, string upstream, string revision)
    {
        Assert.True(DebianVersion.TryParse(text, out var version, out var error), error);
        Assert.Equal((epoch, upstream, revision), (version.Epoch, version.Upstream, version.Revision));
        Assert.Equal(text.Trim(' ', '\t'), version.ToString());
    }

    [Theory]
    [InlineData("", "version string is empty")]
    [InlineData("   ", "version string is empty")]
    [InlineData("1 0", "version string has embedded spaces")]
    [InlineData(":1", "epoch in version is empty")]
    [InlineData("a:1", "epoch in version is empty")]
    [InlineData("1a:1", "epoch in version is not number")]
    [InlineData("1.0:2", "epoch in version is not number")]
    [InlineData("-1:1", "epoch in version is negative")]
    [InlineData("2147483648:1", "epoch in version is too big")]
    [InlineData("1:", "nothing after colon in version number")]
    [InlineData("1.0-", "revision number is empty")]
    [InlineData("1:-1", "version number is empty")]
    public void Versions_dpkg_refuses_are_refused_everywhere_with_its_reason(string text, string reason)
    {
        Assert.Equal(DebianVersion.Validity.Error, DebianVersion.Parse(text, out _, out var ours));
        Assert.Equal(reason, ours);

        Assert.False(DebianVersion.TryParse(text, out _, out var error));
        Assert.Equal($"version '{text}' has bad syntax: {reason}", error);
        Assert.Equal(error, Assert.Throws<FormatException>(() => DebianVersion.Parse(text)).Message);
        Assert.Equal(error, Assert.Throws<FormatException>(() => DebianVersion.Compare(text, "1.0")).Message);
        Assert.Equal(error, Assert.Throws<FormatException>(() => DebianVersion.Compare("1.0", text)).Message);
    }

    [Theory]
    [InlineData("a1", "version number does not start with digit", 1, "1")]
    [InlineData("1_0", "invalid character in version number", 1, "1.0")]
    [InlineData("1.0-a_b", "invalid character in revision number", 1, "1.0-a")]
    [InlineData("1.0é", "invalid character in version number", -1, "1.0+")]
    public void Versions_dpkg_warns_about_are_refused_by_TryParse_but_still_compared(string text, string reason, int expected, string other)
    {
        Assert.Equal(DebianVersion.Validity.Warning, DebianVersion.Parse(text, out _, out var ours));
        Assert.Equal(reason, ours);
        Assert.False(DebianVersion.TryParse(text, out _, out var error));
        Assert.Equal($"version '{text.Replace("é", "\\xe9", StringComparison.Ordinal)}' has bad syntax: {reason}", error);

        // dpkg --compare-versions warns and compares them all the same.
        Assert.Equal(expected, DebianVersion.Compare(text, other));
    }

    [Fact]
    public void Spellings_dpkg_calls_equal_are_equal_and_hash_alike()
    {
        var spellings = new[] { "1.0", "1.00", "0:1.0", "1.0-0", "1.", "001.000-00", "00:1.0" }.Select(DebianVersion.Parse).ToList();
        Assert.All(spellings, v => Assert.Equal(spellings[0], v));
        Assert.Single(spellings.Select(v => v.GetHashCode()).Distinct());
        Assert.NotEqual(DebianVersion.Parse("1.0"), DebianVersion.Parse("1.0.0"));
        Assert.NotEqual(DebianVersion.Parse("1.0a"), DebianVersion.Parse("1.0a0b"));
        Assert.Equal(DebianVersion.Parse("1.0a"), DebianVersion.Parse("1.0a0"));
    }

    [Fact]
    public void Operators_follow_the_order_and_null_is_the_oldest()
    {
        var older = DebianVersion.Parse("1.0~rc1");
        var newer = DebianVersion.Parse("1.0");
        Assert.True(older < newer && older <= newer && newer > older && newer >= older && older != newer);
        Assert.True(null < older && older > null && null == (DebianVersion?)null);
        Assert.Equal(1, older.CompareTo(null));
    }

    [Fact]
    public void Compare_agrees_with_dpkg_compare_versions()
    {
        Check.Sample(VersionGenerators.DebianPairs.Array[OracleComparisons], pairs =>
        {
            var ours = pairs.Select(p => Ours(p.A, p.B)).ToArray();
            var agrees = VersionOracle.DpkgAgrees(pairs, ours);
            var differing = pairs.Where((_, i) => !agrees[i]).ToList();
            if (differing.Count > 0)
            {
                var dpkg = VersionOracle.DpkgCompare(differing);
                var lines = differing.Select((p, i) => $"'{p.A}' vs '{p.B}': dpkg {Show(dpkg[i])}, ours {Show(Ours(p.A, p.B))}");
                Assert.Fail($"{differing.Count} of {pairs.Length} differ from dpkg:\n{string.Join('\n', lines.Take(30))}");
            }

            output.WriteLine($"dpkg agreed on {pairs.Length} pairs: {Tally(ours)}");
            AssertCovers(pairs.Length, ours, [-1, 0, 1, null]);
        }, iter: 1, threads: 1, print: pairs => $"{pairs.Length} pairs");
    }

    [Fact]
    public void Validity_agrees_with_dpkg_and_reports_its_reason()
    {
        Check.Sample(VersionGenerators.DebianCandidates.Array[OracleValidityChecks], versions =>
        {
            var dpkg = VersionOracle.DpkgCheck(versions);
            var mismatches = new List<string>();
            for (var i = 0; i < versions.Length; i++)
            {
                var validity = DebianVersion.Parse(versions[i], out _, out var reason);
                var expected = dpkg[i] switch
                {
                    { ExitCode: 0, Reason: null } => DebianVersion.Validity.Valid,
                    { ExitCode: 0 } => DebianVersion.Validity.Warning,
                    _ => DebianVersion.Validity.Error,
                };
                if (validity != expected || reason != dpkg[i].Reason)
                {
                    mismatches.Add($"'{versions[i]}': dpkg {dpkg[i].ExitCode} {dpkg[i].Reason}, ours {validity} {reason}");
                }
            }

            Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {versions.Length} differ from dpkg:\n{string.Join('\n', mismatches.Take(30))}");
            var kinds = dpkg.Select(d => d.ExitCode != 0 ? "error" : d.Reason is null ? "valid" : "warning").ToList();
            output.WriteLine($"dpkg agreed on {versions.Length} versions: {string.Join(", ", kinds.CountBy(k => k).Select(k => $"{k.Value} {k.Key}"))}");
            Assert.All(new[] { "valid", "warning", "error" }, kind => Assert.True(kinds.Count(k => k == kind) >= versions.Length / 20, $"only {kinds.Count(k => k == kind)} {kind} cases"));
        }, iter: 1, threads: 1, print: versions => $"{versions.Length} versions");
    }

    [Fact]
    public void The_order_is_a_total_order_consistent_with_equality()
    {
        var gen = Gen.Select(VersionGenerators.DebianPairs, VersionGenerators.DebianPairs).Select(t => (X: t.Item1.A, Y: t.Item1.B, Z: t.Item2.B));
        Check.Sample(gen, t =>
        {
            var versions = new[] { t.X, t.Y, t.Z }
                .Select(v => DebianVersion.Parse(v, out var version, out _) == DebianVersion.Validity.Error ? null : version)
                .OfType<DebianVersion>().ToArray();
            foreach (var x in versions)
            {
                foreach (var y in versions)
                {
                    Assert.Equal(x.CompareTo(y), -y.CompareTo(x));
                    Assert.Equal(x.CompareTo(y) == 0, x.Equals(y));
                    Assert.True(!x.Equals(y) || x.GetHashCode() == y.GetHashCode(), $"{x} equals {y} but hashes differently");
                    foreach (var z in versions)
                    {
                        Assert.True(!(x <= y && y <= z) || x <= z, $"{x} <= {y} <= {z} but not {x} <= {z}");
                    }
                }
            }
        }, iter: 3000);
    }

    private static int? Ours(string a, string b)
    {
        try
        {
            return DebianVersion.Compare(a, b);
        }
        catch (FormatException)
        {
            return null;
        }
    }

    internal static string Tally(IEnumerable<int?> answers) =>
        string.Join(", ", answers.CountBy(Show).OrderBy(k => k.Key, StringComparer.Ordinal).Select(k => $"{k.Value} {k.Key}"));

    private static string Show(int? sign) => sign switch { null => "refuses", < 0 => "older", 0 => "equal", _ => "newer" };

    /// <summary>
    /// A batch that never reaches an outcome tests nothing about it: each must be at least 4% of the cases. The
    /// answers are the oracle's (or ours, once they were found to agree).
    /// </summary>
    internal static void AssertCovers(int count, IReadOnlyList<int?> answers, int?[] outcomes)
    {
        foreach (var outcome in outcomes)
        {
            var seen = answers.Count(a => a == outcome);
            Assert.True(seen >= count / 25, $"only {seen} of {count} cases were {Show(outcome)}: the generator no longer exercises it");
        }
    }
}
