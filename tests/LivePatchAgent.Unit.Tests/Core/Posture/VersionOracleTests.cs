using Xunit.Sdk;

namespace LivePatchAgent.Unit.Tests.Core.Posture;

public sealed class VersionOracleTests
{
    [Fact]
    public void A_missing_oracle_fails_the_test_and_names_the_package_to_install()
    {
        var failure = Assert.ThrowsAny<XunitException>(() => VersionOracle.Require("lpa-no-such-oracle", "lpa-oracle-package"));
        Assert.Contains("lpa-no-such-oracle is not installed", failure.Message, StringComparison.Ordinal);
        Assert.Contains("install the Debian package lpa-oracle-package", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_oracles_are_installed()
    {
        Assert.EndsWith("/dpkg", VersionOracle.Require("dpkg", "dpkg"), StringComparison.Ordinal);
        Assert.EndsWith("/rpm", VersionOracle.Require("rpm", "rpm"), StringComparison.Ordinal);
    }
}
