using LivePatchAgent.Core.Posture;

namespace LivePatchAgent.Unit.Tests.Core.Posture;

public sealed class VersionOrderTests
{
    [Theory]
    [InlineData("Debian")]
    [InlineData("Debian:12")]
    [InlineData("Debian:13")]
    [InlineData("Ubuntu")]
    [InlineData("Ubuntu:22.04:LTS")]
    [InlineData("Ubuntu:Pro:18.04:LTS")]
    [InlineData("Ubuntu:Pro:FIPS-updates:22.04:LTS")]
    public void Debian_and_Ubuntu_use_dpkg_ordering(string ecosystem)
    {
        Assert.Equal("dpkg", VersionOrder.SchemeOf(ecosystem));
        var order = VersionOrder.ForEcosystem(ecosystem);
        Assert.Same(VersionOrder.Dpkg, order);
        // "2.0.beta" is newer than "2.0.1" for dpkg (a letter beats '.'), older for rpm.
        Assert.True(order!.Compare("2.0.beta", "2.0.1") > 0);
        Assert.True(order.Compare("6.1.192-2", "6.1.194-1") < 0);
    }

    [Theory]
    [InlineData("AlmaLinux")]
    [InlineData("AlmaLinux:9")]
    [InlineData("Rocky Linux")]
    [InlineData("Rocky Linux:8")]
    [InlineData("Red Hat")]
    [InlineData("Red Hat:enterprise_linux:9::baseos")]
    [InlineData("openEuler:22.03-LTS-SP3")]
    [InlineData("openSUSE:Leap 15.5")]
    [InlineData("SUSE:Linux Enterprise Server 15 SP5")]
    [InlineData("Mageia:9")]
    [InlineData("Azure Linux:3")]
    [InlineData("Photon OS:5.0")]
    public void Rpm_based_ecosystems_use_rpm_ordering(string ecosystem)
    {
        Assert.Equal("rpm", VersionOrder.SchemeOf(ecosystem));
        var order = VersionOrder.ForEcosystem(ecosystem);
        Assert.Same(VersionOrder.Rpm, order);
        Assert.True(order!.Compare("2.0.beta", "2.0.1") < 0);
        Assert.True(order.Compare("5.14.0-362.8.1.el9_3", "5.14.0-362.13.1.el9_3") < 0);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Alpine:v3.19")]
    [InlineData("PyPI")]
    [InlineData("Linux")]
    [InlineData("debian:12")]
    [InlineData("Debian 12")]
    [InlineData(" Debian")]
    [InlineData("RedHat")]
    public void Other_ecosystems_have_no_ordering_here(string ecosystem)
    {
        Assert.Null(VersionOrder.SchemeOf(ecosystem));
        Assert.Null(VersionOrder.ForEcosystem(ecosystem));
    }

    [Fact]
    public void The_comparers_sort_a_list()
    {
        var deb = new List<string> { "1.0", "1:0.1", "1.0~rc1", "1.0-1", "0.9+git1" };
        deb.Sort(VersionOrder.Dpkg);
        Assert.Equal(["0.9+git1", "1.0~rc1", "1.0", "1.0-1", "1:0.1"], deb);

        var rpm = new List<string> { "1.0.1", "1.0^git1", "1.0", "1.0~rc1", "1:0.1" };
        rpm.Sort(VersionOrder.Rpm);
        Assert.Equal(["1.0~rc1", "1.0", "1.0^git1", "1.0.1", "1:0.1"], rpm);
    }
}
