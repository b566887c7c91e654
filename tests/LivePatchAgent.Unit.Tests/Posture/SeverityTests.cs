using LivePatchAgent.Core.Posture;

namespace LivePatchAgent.Unit.Tests.Posture;

public sealed class SeverityTests
{
    [Theory]
    // Scores as published for these vectors (FIRST's calculator, NVD).
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8)]
    [InlineData("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8)]
    [InlineData("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H", 5.5)]
    [InlineData("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:N/A:N", 5.5)]
    [InlineData("CVSS:3.1/AV:L/AC:H/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.0)]
    [InlineData("CVSS:3.1/AV:L/AC:L/PR:H/UI:N/S:U/C:N/I:N/A:H", 4.4)]
    [InlineData("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.1)]
    [InlineData("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 8.8)]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1)]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4)]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0)]
    [InlineData("CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N", 4.6)]
    [InlineData("CVSS:3.1/AV:L/AC:H/PR:H/UI:N/S:U/C:L/I:N/A:N", 1.9)]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0)]
    [InlineData("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8)]
    [InlineData("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8)]
    // Metrics in another order, and temporal metrics, do not change the base score.
    [InlineData("CVSS:3.1/A:H/I:H/C:H/S:U/UI:N/PR:N/AC:L/AV:N", 9.8)]
    [InlineData("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H/E:P/RL:O/RC:C", 7.8)]
    public void Base_score_follows_the_specification(string vector, double expected)
    {
        Assert.True(CvssV3.TryBaseScore(vector, out var score));
        Assert.Equal(expected, score, precision: 10);
    }

    [Theory]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Severity.Critical)]
    [InlineData("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", Severity.High)]
    [InlineData("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H", Severity.Medium)]
    [InlineData("CVSS:3.1/AV:L/AC:H/PR:H/UI:N/S:U/C:L/I:N/A:N", Severity.Low)]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", Severity.None)]
    public void Band_of_a_vector(string vector, Severity band) => Assert.Equal(band, CvssV3.Band(vector));

    [Theory]
    [InlineData("")]
    [InlineData("garbage")]
    [InlineData("CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P")]
    [InlineData("AV:N/AC:L/Au:N/C:P/I:P/A:P")]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H")]
    [InlineData("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")]
    [InlineData("CVSS:3.1/AV:N/AV:L/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H")]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:Q/C:H/I:H/A:H")]
    [InlineData("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:")]
    [InlineData("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")]
    public void Invalid_or_unsupported_vectors_have_no_score(string vector)
    {
        Assert.False(CvssV3.TryBaseScore(vector, out _));
        Assert.Equal(Severity.Unknown, CvssV3.Band(vector));
    }

    [Theory]
    [InlineData("CRITICAL", Severity.Critical)]
    [InlineData("critical", Severity.Critical)]
    [InlineData("Important", Severity.High)]
    [InlineData("high", Severity.High)]
    [InlineData("HIGH", Severity.High)]
    [InlineData("Moderate", Severity.Medium)]
    [InlineData("medium", Severity.Medium)]
    [InlineData("medium**", Severity.Medium)]
    [InlineData(" low ", Severity.Low)]
    [InlineData("negligible", Severity.Low)]
    [InlineData("unimportant", Severity.None)]
    [InlineData("none", Severity.None)]
    [InlineData("not yet assigned", Severity.Unknown)]
    [InlineData("untriaged", Severity.Unknown)]
    [InlineData("end-of-life", Severity.Unknown)]
    [InlineData("", Severity.Unknown)]
    [InlineData(null, Severity.Unknown)]
    [InlineData("9.8", Severity.Critical)]
    [InlineData("7.0", Severity.High)]
    [InlineData("0", Severity.None)]
    [InlineData("11", Severity.Unknown)]
    public void Words_of_every_source_map_to_one_scale(string? word, Severity expected) =>
        Assert.Equal(expected, SeverityScale.FromWord(word));

    [Theory]
    [InlineData(0.0, Severity.None)]
    [InlineData(0.1, Severity.Low)]
    [InlineData(3.9, Severity.Low)]
    [InlineData(4.0, Severity.Medium)]
    [InlineData(6.9, Severity.Medium)]
    [InlineData(7.0, Severity.High)]
    [InlineData(8.9, Severity.High)]
    [InlineData(9.0, Severity.Critical)]
    [InlineData(10.0, Severity.Critical)]
    [InlineData(-1.0, Severity.Unknown)]
    [InlineData(double.NaN, Severity.Unknown)]
    public void Score_bands_are_the_cvss_v3_ones(double score, Severity expected) =>
        Assert.Equal(expected, SeverityScale.FromScore(score));

    [Fact]
    public void The_vendor_word_wins_over_cvss_and_unknown_falls_back()
    {
        Assert.Equal(Severity.Low, new SeverityRating(Severity.Low, Severity.Critical).Effective);
        Assert.Equal(Severity.Critical, new SeverityRating(Severity.Unknown, Severity.Critical).Effective);
        Assert.Equal(Severity.Unknown, default(SeverityRating).Effective);
    }

    [Fact]
    public void Words_for_output()
    {
        Assert.Equal(["unknown", "none", "low", "medium", "high", "critical"], Enum.GetValues<Severity>().Select(s => s.ToText()));
    }

    [Theory]
    [InlineData("Debian:12", "Debian", "12")]
    [InlineData("Debian", "Debian", null)]
    [InlineData("Ubuntu:22.04:LTS", "Ubuntu", "22.04")]
    [InlineData("Ubuntu:Pro:18.04:LTS", "Ubuntu", "18.04")]
    [InlineData("Ubuntu:24.10", "Ubuntu", "24.10")]
    [InlineData("AlmaLinux:9", "AlmaLinux", "9")]
    [InlineData("Rocky Linux:9", "Rocky Linux", "9")]
    [InlineData("Red Hat:enterprise_linux:9::baseos", "Red Hat", "9")]
    [InlineData("Red Hat:rhel_eus:9.2::baseos", "Red Hat", "9.2")]
    public void Ecosystems_split_into_distribution_and_release(string text, string name, string? release) =>
        Assert.Equal(new OsvEcosystem(name, release), OsvEcosystem.Parse(text));

    [Theory]
    [InlineData("Debian:12", "Debian:12", true)]
    [InlineData("Debian", "Debian:12", true)]
    [InlineData("debian:12", "Debian:12", true)]
    [InlineData("Debian:11", "Debian:12", false)]
    [InlineData("Ubuntu:Pro:22.04:LTS", "Ubuntu:22.04:LTS", true)]
    [InlineData("Ubuntu:20.04:LTS", "Ubuntu:22.04:LTS", false)]
    [InlineData("Red Hat:enterprise_linux:9::appstream", "Red Hat:enterprise_linux:9::baseos", true)]
    [InlineData("Red Hat:rhel_eus:9.2::baseos", "Red Hat:enterprise_linux:9::baseos", false)]
    [InlineData("AlmaLinux:9", "Rocky Linux:9", false)]
    public void An_advisory_ecosystem_covers_a_host_of_the_same_distribution_and_release(string advisory, string host, bool covers) =>
        Assert.Equal(covers, OsvEcosystem.Parse(advisory).Covers(OsvEcosystem.Parse(host)));
}
