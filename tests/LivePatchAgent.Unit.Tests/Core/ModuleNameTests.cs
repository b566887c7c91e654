using LivePatchAgent.Core;

namespace LivePatchAgent.Unit.Tests.Core;

public sealed class ModuleNameTests
{
    [Theory]
    [InlineData("lpdemo_v1")]
    [InlineData("livepatch-cve-2026-1234")]
    [InlineData("a")]
    public void Accepts_kernel_module_names(string name) => Assert.Null(ModuleName.Validate(name));

    [Theory]
    [InlineData("", "empty")]
    [InlineData(null, "empty")]
    [InlineData("../x", "'.'")]
    [InlineData("a/b", "'/'")]
    [InlineData("a\0b", "0x00")]
    [InlineData("a b", "' '")]
    [InlineData("ünï", "0xfc")]
    public void Rejects_what_is_not_a_module_name(string? name, string why) =>
        Assert.Contains(why, ModuleName.Validate(name), StringComparison.Ordinal);

    [Fact]
    public void Rejects_names_over_55_characters()
    {
        Assert.Null(ModuleName.Validate(new string('a', 55)));
        Assert.Contains("at most 55", ModuleName.Validate(new string('a', 56)), StringComparison.Ordinal);
    }

    [Fact]
    public void Normalize_turns_dashes_into_underscores() => Assert.Equal("lp_demo_v1", ModuleName.Normalize("lp-demo-v1"));
}
