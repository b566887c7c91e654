using LivePatchAgent.Core.Kernel;

namespace LivePatchAgent.Unit.Tests.Core.Kernel;

public sealed class TaintMaskTests
{
    [Theory]
    [InlineData(0UL, "")]
    [InlineData(45056UL, "OEK")]            // what the testbed kernel shows after an out-of-tree unsigned livepatch
    [InlineData(1UL, "P")]
    [InlineData(2UL | 512UL, "FW")]
    [InlineData((1UL << 19) | 1UL, "PJ")]
    [InlineData(1UL << 40, "?")]
    public void Letters_follow_the_kernel_table_in_bit_order(ulong mask, string letters) =>
        Assert.Equal(letters, new TaintMask(mask).Letters);

    [Fact]
    public void Descriptions_name_every_set_flag()
    {
        var descriptions = new TaintMask(32768 | (1UL << 50)).Descriptions.ToArray();

        Assert.Equal(["K: kernel has been live patched", "bit 50: unknown taint"], descriptions);
    }

    [Fact]
    public void Livepatch_bit_is_K()
    {
        Assert.True(new TaintMask(32768).IsLivePatched);
        Assert.False(new TaintMask(4096).IsLivePatched);
        Assert.Equal('K', TaintMask.Flags[TaintMask.LivepatchBit].Letter);
    }
}
