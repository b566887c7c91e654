using LivePatchAgent.Protocol.V1;
using Google.Protobuf.WellKnownTypes;
using LivePatchAgent.Cli.Output;

namespace LivePatchAgent.Unit.Tests.Cli;

/// <summary>The human-readable output: aligned, plain words, every object and function shown.</summary>
public sealed class LpctlTableOutputTests
{
    private static readonly TimeZoneInfo Utc = TimeZoneInfo.Utc;

    [Fact]
    public void Status_is_an_aligned_key_value_block()
    {
        var text = TableOutput.Status(ProtocolSamples.IdleStatus(), Utc);
        var lines = text.TrimEnd('\n').Split('\n');

        Assert.Equal("Kernel:                 6.1.0-56-amd64 (#1 SMP PREEMPT_DYNAMIC Debian 6.1.192-2 (2026-11-16))", lines[0]);
        Assert.Contains("Livepatch:              supported\n", text, StringComparison.Ordinal);
        Assert.Contains("State:                  idle\n", text, StringComparison.Ordinal);
        Assert.Contains("Patches:                1 (1 enabled)\n", text, StringComparison.Ordinal);
        Assert.Contains("Transition:             none\n", text, StringComparison.Ordinal);
        Assert.Contains("Taint:                  45056 (OEK)\n                        O: externally-built (out-of-tree) module was loaded\n", text, StringComparison.Ordinal);
        Assert.Contains("Lockdown:               none\n", text, StringComparison.Ordinal);
        Assert.Contains("Signature enforcement:  off\n", text, StringComparison.Ordinal);
        Assert.Contains("Build id:               0123456789abcdef0123456789abcdef01234567\n", text, StringComparison.Ordinal);
        Assert.Contains("Daemon:                 livepatchd 0.1.0, up 2h 03m (since 2026-11-28 08:00:00 +00:00)\n", text, StringComparison.Ordinal);
        Assert.Contains("Problems:               none\n", text, StringComparison.Ordinal);
        // Every value starts in the same column.
        Assert.All(lines.Where(l => !l.StartsWith(' ')), l => Assert.Equal(' ', l[23]));
        Assert.All(lines, l => Assert.False(l.EndsWith(' '), $"trailing blank in \"{l}\""));
    }

    [Fact]
    public void Status_says_plainly_when_the_kernel_cannot_be_live_patched()
    {
        var text = TableOutput.Status(ProtocolSamples.UnsupportedStatus(), Utc);

        Assert.Contains("Livepatch:              not supported by this kernel (/sys/kernel/livepatch is missing)\n", text, StringComparison.Ordinal);
        Assert.Contains("State:                  unsupported (this kernel cannot be live patched)\n", text, StringComparison.Ordinal);
        Assert.Contains("Taint:                  unknown\n", text, StringComparison.Ordinal);
        Assert.Contains("Signature enforcement:  unknown\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_shows_the_running_transition_and_each_problem()
    {
        var status = ProtocolSamples.IdleStatus();
        status.State = AgentState.Transitioning;
        status.Transition = new Transition
        {
            Patch = "lpdemo_v1",
            Patching = false,
            StartedAt = Timestamp.FromDateTime(ProtocolSamples.Snapshot),
            Elapsed = Duration.FromTimeSpan(TimeSpan.FromSeconds(1.21)),
        };
        status.Problems.Add(new Problem { Path = "/sys/kernel/livepatch/x/enabled", Message = "cannot parse \"2\"" });
        status.Problems.Add(new Problem { Message = "the kernel watcher is not running" });

        var text = TableOutput.Status(status, Utc);

        Assert.Contains("Transition:             lpdemo_v1 unpatching for 1.2s (since 2026-11-28 10:00:01 +00:00)\n", text, StringComparison.Ordinal);
        Assert.Contains("Problems:               /sys/kernel/livepatch/x/enabled: cannot parse \"2\"\n                        the kernel watcher is not running\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Untainted_kernel_says_so()
    {
        var status = ProtocolSamples.IdleStatus();
        status.Kernel.TaintMask = 0;
        status.Kernel.TaintFlags = "";
        status.Kernel.TaintDescriptions.Clear();

        Assert.Contains("Taint:                  0 (untainted)\n", TableOutput.Status(status, Utc), StringComparison.Ordinal);
    }

    [Fact]
    public void List_is_a_table_with_aligned_columns()
    {
        var response = new ListPatchesResponse { Patches = { ProtocolSamples.DemoPatch(), ProtocolSamples.ReplacePatch() } };

        var lines = TableOutput.PatchList(response).TrimEnd('\n').Split('\n');

        Assert.Equal(3, lines.Length);
        Assert.Equal("NAME                  STATE     OBJECTS  FUNCTIONS  REPLACE  ORDER  REFCNT  TAINT  CVES  METADATA", lines[0]);
        Assert.Equal("lpdemo_v1             enabled   1        1          -        -      1       OEK    ?     ?", lines[1]);
        Assert.Equal("lpdemo_cumulative_v2  enabling  2        3          yes      2      -       -      3     signed", lines[2]);
    }

    [Fact]
    public void Empty_list_says_no_patches_are_loaded() =>
        Assert.Equal("no live patches loaded\n", TableOutput.PatchList(new ListPatchesResponse()));

    [Fact]
    public void Info_shows_every_object_and_function()
    {
        var text = TableOutput.PatchInfo(ProtocolSamples.ReplacePatch());

        Assert.Contains("Name:         lpdemo_cumulative_v2\n", text, StringComparison.Ordinal);
        Assert.Contains("State:        enabling\n", text, StringComparison.Ordinal);
        Assert.Contains("Transition:   yes (a transition is running)\n", text, StringComparison.Ordinal);
        Assert.Contains("Replace:      yes (cumulative: replaces all other patches)\n", text, StringComparison.Ordinal);
        Assert.Contains("Stack order:  2\n", text, StringComparison.Ordinal);
        Assert.Contains("Module:       unknown (/sys/module/lpdemo_cumulative_v2 could not be read)\n", text, StringComparison.Ordinal);
        Assert.Contains("Objects:      2 objects, 3 functions\n", text, StringComparison.Ordinal);
        Assert.Contains("  vmlinux  patched\n    cmdline_proc_show  sympos 1\n    meminfo_proc_show  sympos 2\n", text, StringComparison.Ordinal);
        Assert.Contains("  xfs  not patched (object not loaded)\n    xfs_file_open  sympos 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_shows_the_security_metadata_with_where_each_value_came_from()
    {
        var text = TableOutput.PatchInfo(ProtocolSamples.ReplacePatch());

        Assert.Contains("CVEs:         CVE-2099-0001, CVE-2099-0002, CVE-2099-0003 (signed)\n", text, StringComparison.Ordinal);
        Assert.Contains("Summary:      cumulative: carries the made-up fixes (signed)\n", text, StringComparison.Ordinal);
        Assert.Contains("Level:        2 (signed)\n", text, StringComparison.Ordinal);
        Assert.Contains("Fixes:        6.1.999-1 (signed): carries the security fixes of that kernel package version\n", text, StringComparison.Ordinal);
        Assert.Contains("Metadata:     signed: declared in the module's .modinfo, covered by a trusted signature\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_with_operator_cves_and_a_signed_level_names_each_source_and_the_weakest_overall()
    {
        var patch = ProtocolSamples.ReplacePatch();
        patch.Metadata = new PatchMetadata
        {
            CveIds = { "CVE-2026-1234" }, CveIdsSource = "operator", Level = 3, LevelSource = "signed", MetadataSource = "operator",
        };

        var text = TableOutput.PatchInfo(patch);

        Assert.Contains("CVEs:         CVE-2026-1234 (operator)\n", text, StringComparison.Ordinal);
        Assert.Contains("Level:        3 (signed)\n", text, StringComparison.Ordinal);
        Assert.Contains("Metadata:     operator: the least trusted source of its fields (each value above names its own)\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Summary:", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_of_a_patch_livepatchd_did_not_load_says_its_metadata_is_unknown()
    {
        var text = TableOutput.PatchInfo(ProtocolSamples.DemoPatch());

        Assert.Contains("Metadata:     unknown (livepatchd did not load this module in this boot; the kernel keeps no .modinfo to read back)\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("CVEs:", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Info_on_an_older_kernel_says_what_it_does_not_know()
    {
        var text = TableOutput.PatchInfo(ProtocolSamples.DemoPatch());

        Assert.Contains("Replace:      unknown (the kernel does not say)\n", text, StringComparison.Ordinal);
        Assert.Contains("Module:       refcnt 1, taint OEK, srcversion 0123456789ABCDEF0123456, live\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Event_line_has_time_kind_patch_and_message_in_columns()
    {
        Assert.Equal(
            "10:00:01.234  transition-completed  lpdemo_v1         lpdemo_v1 finished patching\n",
            TableOutput.EventLine(ProtocolSamples.TransitionCompleted(), Utc));
        Assert.Equal(
            "--:--:--.---  lagged                -                 missed 3 events\n",
            TableOutput.EventLine(new Event { Kind = EventKind.Lagged, Message = "missed 3 events", Dropped = 3 }, Utc));
    }

    [Fact]
    public void Event_time_is_shown_in_the_given_zone()
    {
        var plusTwo = TimeZoneInfo.CreateCustomTimeZone("test+2", TimeSpan.FromHours(2), "test+2", "test+2");

        Assert.StartsWith("12:00:01.234  ", TableOutput.EventLine(ProtocolSamples.TransitionCompleted(), plusTwo), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.04, "0.0s")]
    [InlineData(12.345, "12.3s")]
    [InlineData(302, "5m 02s")]
    [InlineData(7385, "2h 03m")]
    [InlineData(273600, "3d 04h")]
    [InlineData(-5, "0.0s")]
    public void Durations_read_naturally(double seconds, string expected) =>
        Assert.Equal(expected, TableOutput.DurationText(TimeSpan.FromSeconds(seconds)));
}
