using LivePatchAgent.Daemon.Store;

namespace LivePatchAgent.Unit.Tests.Daemon.Store;

public sealed class CrashLoopGuardTests : IDisposable
{
    private const string ThisBoot = "3f1c2a9e-1d2b-4c5d-8e9f-0a1b2c3d4e5f";
    private const string EarlierBoot = "0c0ffee0-0000-4000-8000-000000000001";
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("lpa-guard-");

    public void Dispose() => _dir.Delete(recursive: true);

    private CrashLoopGuard Guard() => new(Path.Combine(_dir.FullName, CrashLoopGuard.FileName));

    private static ApplyMarker Marker(string bootId) =>
        new(bootId, "lp_a", new string('a', 64), "6.1.0-56-amd64", new DateTimeOffset(2026, 11, 28, 10, 0, 0, TimeSpan.Zero));

    [Fact]
    public void No_marker_means_apply()
    {
        Assert.Null(Guard().Read());
        Assert.Equal(GuardVerdict.Clear, CrashLoopGuard.Judge(null, ThisBoot));
    }

    [Fact]
    public void A_marker_of_an_earlier_boot_means_the_machine_went_down_mid_apply()
    {
        var guard = Guard();
        guard.Write(Marker(EarlierBoot));

        var read = guard.Read();

        Assert.Equal(Marker(EarlierBoot), read);
        Assert.Equal(GuardVerdict.InterruptedEarlierBoot, CrashLoopGuard.Judge(read, ThisBoot));
    }

    [Fact]
    public void A_marker_of_this_boot_only_means_the_daemon_stopped()
    {
        var guard = Guard();
        guard.Write(Marker(ThisBoot));

        Assert.Equal(GuardVerdict.StaleThisBoot, CrashLoopGuard.Judge(guard.Read(), ThisBoot));
    }

    [Fact]
    public void An_unknown_boot_id_cannot_prove_the_machine_stayed_up() =>
        Assert.Equal(GuardVerdict.InterruptedEarlierBoot, CrashLoopGuard.Judge(Marker(ThisBoot), null));

    [Fact]
    public void Clear_removes_the_marker_and_is_idempotent()
    {
        var guard = Guard();
        guard.Write(Marker(ThisBoot));

        guard.Clear();
        guard.Clear();

        Assert.Null(guard.Read());
        Assert.False(File.Exists(guard.Path));
    }

    [Fact]
    public void A_damaged_marker_still_stops_start_up_apply()
    {
        var guard = Guard();
        File.WriteAllText(guard.Path, "{\"bootId\": ");

        var read = guard.Read();

        Assert.NotNull(read);
        Assert.NotNull(read.Damage);
        Assert.Equal(GuardVerdict.InterruptedEarlierBoot, CrashLoopGuard.Judge(read, ThisBoot));
    }

    [Theory]
    [InlineData("BOOT_IMAGE=/vmlinuz root=/dev/vda livepatchd.apply=0 quiet", true, "livepatchd.apply=0 is on the kernel command line")]
    [InlineData("livepatchd.apply=off", true, "livepatchd.apply=off is on the kernel command line")]
    [InlineData("livepatchd.apply=N", true, "livepatchd.apply=N is on the kernel command line")]
    [InlineData("livepatchd.apply=1 quiet", true, null)]
    [InlineData("xlivepatchd.apply=0", true, null)]
    [InlineData("quiet", false, "Apply:AtStartup is false")]
    [InlineData("livepatchd.apply=0", false, "livepatchd.apply=0 is on the kernel command line")]
    [InlineData(null, true, null)]
    public void The_kill_switch_reads_the_command_line_then_the_setting(string? commandLine, bool atStartup, string? reason) =>
        Assert.Equal(reason, InstalledPatches.KillSwitchReason(commandLine, atStartup));
}
