using CsCheck;
using LivePatchAgent.Core.Posture;
using Xunit.Abstractions;

namespace LivePatchAgent.Unit.Tests.Core.Posture;

/// <summary>
/// rpm's EVR ordering. Every expectation written here was checked with rpm 4.18's <c>rpm.vercmp</c> (many come from
/// rpm's own rpmvercmp tests); the property tests ask rpm itself about a thousand generated pairs each.
/// </summary>
public sealed class RpmVersionTests(ITestOutputHelper output)
{
    private const int OracleComparisons = 1000;

    [Theory]
    // '~' sorts before everything, the end included; '^' after the end but before anything else.
    [InlineData("1.0~rc1", -1, "1.0")]
    [InlineData("1.0~rc1", -1, "1.0~rc2")]
    [InlineData("1.0~rc1~git123", -1, "1.0~rc1")]
    [InlineData("1.0~rc1", -1, "1.0arc1")]
    [InlineData("1.0^", 1, "1.0")]
    [InlineData("1.0^", -1, "1.0.1")]
    [InlineData("1.0^git1", -1, "1.0^git2")]
    [InlineData("1.0^git1", -1, "1.01")]
    [InlineData("1.0^20160101", -1, "1.0.1")]
    [InlineData("1.0^20160101^git1", 1, "1.0^20160101")]
    [InlineData("1.0^20160102", 1, "1.0^20160101^git1")]
    [InlineData("1.0~rc1^git1", 1, "1.0~rc1")]
    [InlineData("1.0^git1~pre", -1, "1.0^git1")]
    [InlineData("1.0~", -1, "1.0^")]
    // A numeric segment is newer than an alphabetic one; an extra segment is newer than none.
    [InlineData("1.0a", -1, "1.0.1")]
    [InlineData("2.0.beta", -1, "2.0.1")]
    [InlineData("xyz.4", -1, "8")]
    [InlineData("10xyz", -1, "10.1xyz")]
    [InlineData("2.0.1a", 1, "2.0.1")]
    [InlineData("6.0.rc1", 1, "6.0")]
    [InlineData("1.0", -1, "1.0.0")]
    [InlineData("10b2", 1, "10a1")]
    [InlineData("1.0aa", 1, "1.0a")]
    [InlineData("5.5p10", 1, "5.5p1")]
    // Digit runs compare by value, leading zeros ignored; separators only separate.
    [InlineData("10.0001", 0, "10.1")]
    [InlineData("1.0", 0, "1_0")]
    [InlineData("1.0", 0, "1..0")]
    [InlineData("a+", 0, "a_")]
    [InlineData("+", 0, "_")]
    // Epoch, version, release.
    [InlineData("1:0", 1, "9.9")]
    [InlineData("1:1.0", 1, "2.0")]
    [InlineData("01:1.0", 0, "1:1.0")]
    [InlineData("0:1.0-1", 0, "1.0-1")]
    [InlineData("1.0", -1, "1.0-1")]
    [InlineData("1.0-1", -1, "1.0-1.el9")]
    [InlineData("5.14.0-362.8.1.el9_3", -1, "5.14.0-362.13.1.el9_3")]
    [InlineData("4.18.0-513.5.1.el8_9", -1, "4.18.0-513.11.1.el8_9")]
    // An empty release is a release (older than "1", newer than "~"); "1:" has an empty version.
    [InlineData("1-", -1, "1-1")]
    [InlineData("1-", 1, "1-~")]
    [InlineData("1-", -1, "1-^")]
    [InlineData("1-", 0, "1-.")]
    [InlineData("1-", 1, "1")]
    [InlineData("1:", -1, "1:0")]
    [InlineData("1:", 1, "0:")]
    public void Known_pairs_order_as_rpm_orders_them(string a, int expected, string b)
    {
        Assert.Equal(expected, RpmVersion.Compare(a, b));
        Assert.Equal(-expected, RpmVersion.Compare(b, a));
        Assert.Equal(expected == 0, RpmVersion.Parse(a) == RpmVersion.Parse(b));
    }

    [Theory]
    [InlineData("1.0~rc1", "1.0", -1)]
    [InlineData("1.0^", "1.0", 1)]
    [InlineData("1.0_1", "1.0.1", 0)]
    [InlineData("", "", 0)]
    [InlineData("", "1", -1)]
    [InlineData("", "~", 1)]
    [InlineData("", "^", -1)]
    [InlineData("", ".", 0)]
    public void CompareSegment_is_plain_rpmvercmp(string a, string b, int expected)
    {
        Assert.Equal(expected, RpmVersion.CompareSegment(a, b));
        Assert.Equal(-expected, RpmVersion.CompareSegment(b, a));
    }

    [Theory]
    [InlineData("1:2.0-3.el9", "1", "2.0", "3.el9")]
    [InlineData("2.0", null, "2.0", null)]
    [InlineData(":1.0", "0", "1.0", null)]
    [InlineData("01:1.0", "01", "1.0", null)]
    [InlineData("a:1-2", null, "a:1", "2")]
    [InlineData("1-2-3", null, "1-2", "3")]
    [InlineData("1:2:3-4", "1", "2:3", "4")]
    [InlineData("1:", "1", "", null)]
    [InlineData("-", null, "", "")]
    public void Fields_are_split_as_rpmverParse_splits_them(string text, string? epoch, string version, string? release)
    {
        var evr = RpmVersion.Parse(text);
        Assert.Equal((epoch, version, release), (evr.Epoch, evr.Version, evr.Release));
        Assert.Equal(text, evr.ToString());
    }

    [Fact]
    public void An_empty_string_is_no_version()
    {
        Assert.Throws<FormatException>(() => RpmVersion.Parse(""));
        Assert.Throws<FormatException>(() => RpmVersion.Compare("", "1.0"));
        Assert.Throws<FormatException>(() => RpmVersion.Compare("1.0", ""));
    }

    [Fact]
    public void Spellings_rpm_calls_equal_are_equal_and_hash_alike()
    {
        var spellings = new[] { "1.0-1", "0:1.0-1", "1_00-01", "00:1..0-1.", ":1.0-1" }.Select(RpmVersion.Parse).ToList();
        Assert.All(spellings, v => Assert.Equal(spellings[0], v));
        Assert.Single(spellings.Select(v => v.GetHashCode()).Distinct());
        Assert.NotEqual(RpmVersion.Parse("1.0"), RpmVersion.Parse("1.0-"));
        Assert.NotEqual(RpmVersion.Parse("1.0"), RpmVersion.Parse("1.0^"));
        Assert.True(RpmVersion.Parse("1.0") < RpmVersion.Parse("1.0^git1") && RpmVersion.Parse("1.0^git1") < RpmVersion.Parse("1.0.1"));
    }

    [Fact]
    public void Compare_agrees_with_rpm_vercmp()
    {
        Check.Sample(VersionGenerators.RpmPairs.Array[OracleComparisons], pairs =>
        {
            var rpm = VersionOracle.RpmCompare(pairs);
            AssertAgrees(pairs, rpm, RpmVersion.Compare);
        }, iter: 1, threads: 1, print: pairs => $"{pairs.Length} pairs");
    }

    [Fact]
    public void CompareSegment_agrees_with_rpm_vercmp_on_bare_fields()
    {
        Check.Sample(VersionGenerators.RpmSegmentPairs.Array[OracleComparisons], pairs =>
        {
            var rpm = VersionOracle.RpmCompare(pairs);
            AssertAgrees(pairs, rpm, RpmVersion.CompareSegment);
        }, iter: 1, threads: 1, print: pairs => $"{pairs.Length} pairs");
    }

    [Fact]
    public void The_order_is_a_total_order_consistent_with_equality()
    {
        var gen = Gen.Select(VersionGenerators.RpmPairs, VersionGenerators.RpmPairs).Select(t => (X: t.Item1.A, Y: t.Item1.B, Z: t.Item2.B));
        Check.Sample(gen, t =>
        {
            var versions = new[] { t.X, t.Y, t.Z }.Select(RpmVersion.Parse).ToArray();
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

    private void AssertAgrees((string A, string B)[] pairs, int[] rpm, Func<string, string, int> ours)
    {
        var mismatches = pairs.Select((pair, i) => (pair, ours: ours(pair.A, pair.B), rpm: rpm[i]))
            .Where(c => c.ours != c.rpm)
            .Select(c => $"'{c.pair.A}' vs '{c.pair.B}': rpm {c.rpm}, ours {c.ours}")
            .ToList();
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {pairs.Length} differ from rpm:\n{string.Join('\n', mismatches.Take(30))}");
        output.WriteLine($"rpm agreed on {pairs.Length} pairs: {DebianVersionTests.Tally(rpm.Select(r => (int?)r))}");
        DebianVersionTests.AssertCovers(pairs.Length, [.. rpm.Select(r => (int?)r)], [-1, 0, 1]);
    }
}
