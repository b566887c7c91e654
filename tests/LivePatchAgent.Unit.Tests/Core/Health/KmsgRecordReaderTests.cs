using System.Text;
using LivePatchAgent.Core.Health;

namespace LivePatchAgent.Unit.Tests.Core.Health;

public sealed class KmsgRecordReaderTests
{
    private static List<KmsgEntry> Feed(KmsgRecordReader reader, string text) => [.. reader.Feed(Encoding.UTF8.GetBytes(text))];

    [Fact]
    public void A_record_is_parsed_into_facility_level_sequence_timestamp_and_text()
    {
        var record = KmsgRecord.Parse("4,1202,90712360,-;WARNING: CPU: 1 PID: 412 at x.c:21 f+0x2a/0x40 [m]", out var problem);

        Assert.Null(problem);
        Assert.NotNull(record);
        Assert.Equal(0, record.Facility);
        Assert.Equal(4, record.Level);
        Assert.Equal(1202UL, record.Sequence);
        Assert.Equal(90712360UL, record.Microseconds);
        Assert.Equal('-', record.Continuation);
        Assert.True(record.FromKernel);
        Assert.StartsWith("WARNING: CPU: 1", record.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Extra_prefix_fields_are_ignored_and_escapes_decoded()
    {
        var record = KmsgRecord.Parse("6,7,8,c,caller=T1;a\\x5cb\\x09c", out _);

        Assert.NotNull(record);
        Assert.Equal('c', record.Continuation);
        Assert.Equal("a\\b c", record.Text);
    }

    [Theory]
    [InlineData("no semicolon here", "no ';'")]
    [InlineData("4,12;text", "has 2 field(s)")]
    [InlineData("x,1,2,-;text", "priority \"x\"")]
    [InlineData("4,-1,2,-;text", "sequence number \"-1\"")]
    [InlineData("4,1,soon,-;text", "timestamp \"soon\"")]
    [InlineData("2048,1,2,-;text", "priority \"2048\"")]
    public void A_line_that_is_not_a_record_is_refused_with_what_is_wrong(string line, string expected)
    {
        Assert.Null(KmsgRecord.Parse(line, out var problem));
        Assert.Contains(expected, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Continuation_lines_become_properties_of_their_record_and_user_records_are_marked()
    {
        var entries = Feed(new KmsgRecordReader(), KmsgSamples.WithDictionaryAndUserRecord);

        Assert.Equal(2, entries.Count);
        Assert.Equal("usb", entries[0].Record.Properties["SUBSYSTEM"]);
        Assert.Equal("c189:1", entries[0].Record.Properties["DEVICE"]);
        Assert.Equal(1, entries[1].Record.Facility);
        Assert.False(entries[1].Record.FromKernel);
    }

    [Fact]
    public void Records_split_across_reads_are_joined()
    {
        var reader = new KmsgRecordReader();
        var bytes = Encoding.UTF8.GetBytes(KmsgSamples.WarnInPatch);
        var entries = new List<KmsgEntry>();
        for (var i = 0; i < bytes.Length; i += 7)
        {
            entries.AddRange(reader.Feed(bytes.AsSpan(i, Math.Min(7, bytes.Length - i))));
        }

        Assert.Equal(21, entries.Count);
        Assert.Equal(Enumerable.Range(1201, 21).Select(i => (ulong)i), entries.Select(e => e.Record.Sequence));
        Assert.Equal(0UL, reader.Missed);
    }

    [Fact]
    public void A_gap_in_the_sequence_numbers_counts_the_records_lost()
    {
        var reader = new KmsgRecordReader();
        Feed(reader, "6,10,1,-;a\n");
        var entries = Feed(reader, "6,15,2,-;b\n");

        Assert.Equal(4UL, Assert.Single(entries).MissedBefore);
        Assert.Equal(4UL, reader.Missed);
    }

    [Fact]
    public void After_EPIPE_the_next_record_says_how_many_were_overwritten_and_reading_goes_on()
    {
        var reader = new KmsgRecordReader();
        Feed(reader, "6,100,1,-;before\n");
        reader.Overwritten();
        var entries = Feed(reader, "6,250,2,-;oldest still there\n6,251,3,-;next\n");

        Assert.Equal(1UL, reader.Overruns);
        Assert.Equal(149UL, entries[0].MissedBefore);
        Assert.Equal(0UL, entries[1].MissedBefore);
        Assert.Equal(149UL, reader.Missed);
    }

    [Fact]
    public void EPIPE_with_following_numbers_still_counts_a_loss()
    {
        var reader = new KmsgRecordReader();
        Feed(reader, "6,100,1,-;before\n");
        reader.Overwritten();

        Assert.Equal(1UL, Assert.Single(Feed(reader, "6,101,2,-;after\n")).MissedBefore);
    }

    [Fact]
    public void A_malformed_line_is_counted_and_the_records_around_it_still_read()
    {
        var reader = new KmsgRecordReader();
        var entries = Feed(reader, "6,1,1,-;a\ngarbage\n6,2,2,-;b\n");

        Assert.Equal(["a", "b"], entries.Select(e => e.Record.Text));
        Assert.Equal(1UL, reader.Malformed);
        Assert.Contains("garbage", reader.LastProblem, StringComparison.Ordinal);
    }

    [Fact]
    public void An_overlong_line_is_cut_not_buffered_without_bound()
    {
        var reader = new KmsgRecordReader();
        var huge = new string('x', KmsgRecordReader.MaxLineBytes * 4);
        var entries = Feed(reader, $"6,1,1,-;{huge}");
        entries.AddRange(Feed(reader, "\n6,2,2,-;next\n"));

        Assert.Contains(entries, e => e.Record.Text == "next");
    }
}
