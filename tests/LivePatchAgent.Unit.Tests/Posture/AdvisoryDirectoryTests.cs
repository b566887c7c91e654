using System.Diagnostics;
using LivePatchAgent.Core.Posture;

namespace LivePatchAgent.Unit.Tests.Posture;

public sealed class AdvisoryDirectoryTests : IDisposable
{
    private readonly OsvFixture _fixture = OsvFixture.Create();

    public void Dispose() => _fixture.Dispose();

    private static OsvRecord Kernel(string id, string modified = "2026-10-01T00:00:00Z") =>
        new OsvRecord(id, modified).Upstream("CVE-2026-0001").Affects("Debian:12", "linux", a => a.Introduced("0").Fixed("6.1.194-1"));

    /// <summary>The one problem of the load, which must name <paramref name="path"/> in its text.</summary>
    private static AdvisoryProblem OnlyProblem(AdvisorySet set, string path)
    {
        var problem = Assert.Single(set.Problems);
        Assert.Equal(path, problem.File);
        Assert.StartsWith(path + ": ", problem.Text, StringComparison.Ordinal);
        return problem;
    }

    [Fact]
    public void The_samples_load_with_the_withdrawn_one_dropped()
    {
        _fixture.WithSamples();

        var set = AdvisoryDirectory.Load(_fixture.Directory);

        Assert.Empty(set.Problems);
        Assert.Equal(OsvFixture.SampleNames.Count, set.Files.Length);
        Assert.Equal(
            ["ALSA-2026:7001", "DEBIAN-CVE-2026-31003", "DEBIAN-CVE-2026-31004", "DEBIAN-CVE-2026-31005", "DEBIAN-CVE-2026-31007",
             "DEBIAN-CVE-2026-31008", "DSA-5990-1", "UBUNTU-CVE-2026-31201"],
            set.Advisories.Select(a => a.Id));
        Assert.Equal(1, set.Withdrawn);
        Assert.Equal(0, set.Duplicates);
        var bundle = Assert.Single(set.Files, f => f.Path.EndsWith("kernel-bundle.json", StringComparison.Ordinal));
        Assert.Equal(2, bundle.Advisories);
        Assert.Equal(new FileInfo(bundle.Path).Length, bundle.Length);
    }

    [Theory]
    [InlineData("DSA-1.json", true)]
    [InlineData("a.json", true)]
    [InlineData(".DSA-1.json", false)]
    [InlineData(".DSA-1.json.Xa9f3c", false)]
    [InlineData("#DSA-1.json", false)]
    [InlineData("#DSA-1.json#", false)]
    [InlineData("DSA-1.json~", false)]
    [InlineData("DSA-1.json.tmp", false)]
    [InlineData("DSA-1.json.dpkg-new", false)]
    [InlineData("DSA-1.JSON", false)]
    [InlineData("DSA-1.json.gz", false)]
    [InlineData(".json", false)]
    public void The_file_name_rule(string name, bool read) => Assert.Equal(read, AdvisoryDirectory.IsAdvisoryFileName(name));

    [Fact]
    public void Only_json_files_directly_in_the_directory_are_read()
    {
        _fixture.Write(Kernel("A"), "a.json");
        _fixture.Write(Kernel("B"), ".b.json");
        _fixture.Write(Kernel("C"), "c.json~");
        _fixture.Write(Kernel("D"), "#d.json");
        Directory.CreateDirectory(_fixture.PathOf("sub"));
        _fixture.Write(Kernel("E"), "sub/e.json");
        Directory.CreateDirectory(_fixture.PathOf("dir.json"));

        var set = AdvisoryDirectory.Load(_fixture.Directory);

        Assert.Empty(set.Problems);
        Assert.Equal(["A"], set.Advisories.Select(a => a.Id));
    }

    [Fact]
    public void The_copy_modified_later_wins_whatever_the_file_order()
    {
        _fixture.Write(Kernel("DSA-1", "2026-10-05T00:00:00Z").Summary("newer"), "a.json");
        _fixture.Write(Kernel("DSA-1", "2026-10-01T00:00:00Z").Summary("older"), "b.json");

        var set = AdvisoryDirectory.Load(_fixture.Directory);

        var advisory = Assert.Single(set.Advisories);
        Assert.Equal("newer", advisory.Summary);
        Assert.Equal(_fixture.PathOf("a.json"), advisory.SourceFile);
        Assert.Equal(1, set.Duplicates);
    }

    [Fact]
    public void On_equal_modified_times_the_later_file_in_name_order_wins()
    {
        _fixture.Write(Kernel("DSA-1").Summary("first"), "a.json");
        _fixture.WriteArray("b.json", Kernel("DSA-1").Summary("second"), Kernel("DSA-1").Summary("third"));

        var set = AdvisoryDirectory.Load(_fixture.Directory);

        Assert.Equal("third", Assert.Single(set.Advisories).Summary);
        Assert.Equal(2, set.Duplicates);
    }

    [Fact]
    public void A_newer_withdrawn_copy_removes_an_older_live_one_and_an_older_withdrawal_does_not()
    {
        _fixture.Write(Kernel("DSA-1", "2026-10-01T00:00:00Z"), "a.json");
        _fixture.Write(Kernel("DSA-1", "2026-10-02T00:00:00Z").Withdrawn(), "b.json");
        _fixture.Write(Kernel("DSA-2", "2026-10-01T00:00:00Z").Withdrawn(), "c.json");
        _fixture.Write(Kernel("DSA-2", "2026-10-03T00:00:00Z"), "d.json");

        var set = AdvisoryDirectory.Load(_fixture.Directory);

        Assert.Equal(["DSA-2"], set.Advisories.Select(a => a.Id));
        Assert.Equal(1, set.Withdrawn);
        Assert.Equal(2, set.Duplicates);
    }

    [Fact]
    public void Ids_differing_in_case_are_different_advisories()
    {
        _fixture.Write(Kernel("dsa-1"), "a.json");
        _fixture.Write(Kernel("DSA-1"), "b.json");

        Assert.Equal(2, AdvisoryDirectory.Load(_fixture.Directory).Advisories.Length);
    }

    public static TheoryData<string, string> HostileFiles => new()
    {
        { "{\"id\": \"DSA-1\", ", "not valid JSON at line 1, byte " },
        { "not json at all", "not valid JSON at line 1, byte 2: " },
        { "{\"id\": \"DSA-1\", \"modified\": \"2026-10-01T00:00:00Z\", \"affected\": [{\"versions\": [6]}]}", "advisory \"DSA-1\", affected[0].versions[0]: expected a string, found a number" },
        { "{\"id\": \"DSA-1\", \"modified\": \"2026-10-01T00:00:00Z\", \"summary\": \"" + new string('A', 100_000) + "\"}", "advisory \"DSA-1\", summary: a string of 100,000 bytes is over the limit of 65,536" },
        { "{\"id\": \"DSA-1\", \"modified\": \"2026-10-01T00:00:00Z\", \"database_specific\": " + new string('[', 1000) + new string(']', 1000) + "}", "not valid JSON at line 1, byte " },
        { "[" + string.Join(",", Enumerable.Repeat("{\"id\": \"X\", \"modified\": \"2026-10-01T00:00:00Z\"}", 10_001)) + "]", "holds 10,001 advisories, over the limit of 10,000 per file" },
        { "[]", "" },
    };

    [Theory]
    [MemberData(nameof(HostileFiles))]
    public void A_bad_file_is_a_problem_naming_it_and_the_other_files_still_load(string content, string expected)
    {
        _fixture.Write(Kernel("GOOD-1"), "good.json");
        var bad = _fixture.Write("bad.json", content);

        var set = AdvisoryDirectory.Load(_fixture.Directory);

        Assert.Equal(["GOOD-1"], set.Advisories.Select(a => a.Id));
        if (expected.Length == 0)
        {
            // An empty array is a valid file with nothing in it.
            Assert.Empty(set.Problems);
            return;
        }

        Assert.StartsWith(expected, OnlyProblem(set, bad).Message, StringComparison.Ordinal);
        Assert.Equal([_fixture.PathOf("good.json")], set.Files.Select(f => f.Path));
    }

    [Fact]
    public void A_file_over_the_size_limit_is_not_read()
    {
        _fixture.Write(Kernel("GOOD-1"), "good.json");
        var big = _fixture.Write(Kernel("BIG-1").Details(new string('x', 2_000)), "big.json");

        var set = AdvisoryDirectory.Load(_fixture.Directory, new AdvisoryLoadOptions { MaxFileBytes = 1_500 });

        Assert.Equal(["GOOD-1"], set.Advisories.Select(a => a.Id));
        Assert.Matches(@"^is 2,\d{3} bytes, over the limit of 1,500$", OnlyProblem(set, big).Message);
    }

    [Fact]
    public void An_empty_file_is_a_problem()
    {
        var empty = _fixture.Write("empty.json", "");

        Assert.Equal("is empty (or not a regular file)", OnlyProblem(AdvisoryDirectory.Load(_fixture.Directory), empty).Message);
    }

    [Fact]
    public async Task A_fifo_is_never_opened_so_the_load_cannot_block_on_it()
    {
        var fifo = _fixture.PathOf("fifo.json");
        using (var mkfifo = Process.Start("mkfifo", [fifo]))
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        _fixture.Write(Kernel("GOOD-1"), "good.json");

        // A blocked open cannot be cancelled; the timeout fails the test instead of hanging it.
        var set = await Task.Run(() => AdvisoryDirectory.Load(_fixture.Directory)).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["GOOD-1"], set.Advisories.Select(a => a.Id));
        Assert.Equal("is empty (or not a regular file)", OnlyProblem(set, fifo).Message);
    }

    [Fact]
    public void A_file_that_vanished_after_the_listing_is_a_problem()
    {
        // A dangling symbolic link is listed like a file and is gone by the time it is read, as a file deleted
        // between the listing and the read is.
        var gone = _fixture.PathOf("gone.json");
        File.CreateSymbolicLink(gone, _fixture.PathOf("deleted-target"));
        _fixture.Write(Kernel("GOOD-1"), "good.json");

        var set = AdvisoryDirectory.Load(_fixture.Directory);

        Assert.Equal(["GOOD-1"], set.Advisories.Select(a => a.Id));
        Assert.Equal("vanished before it could be read", OnlyProblem(set, gone).Message);
    }

    [Fact]
    public void A_symbolic_link_to_a_file_is_read_like_the_file()
    {
        var target = Path.Combine(_fixture.Directory, "sub");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "real.txt"), Kernel("LINKED-1").ToJson());
        File.CreateSymbolicLink(_fixture.PathOf("linked.json"), Path.Combine(target, "real.txt"));

        var set = AdvisoryDirectory.Load(_fixture.Directory);

        Assert.Empty(set.Problems);
        Assert.Equal(["LINKED-1"], set.Advisories.Select(a => a.Id));
    }

    [Fact]
    public void A_missing_directory_is_a_problem_naming_it()
    {
        var missing = _fixture.PathOf("nowhere");

        var set = AdvisoryDirectory.Load(missing);

        Assert.Empty(set.Advisories);
        Assert.Equal("the advisory directory does not exist", OnlyProblem(set, missing).Message);
    }

    [Fact]
    public void Files_past_the_file_limit_are_not_read_and_the_directory_says_so()
    {
        foreach (var id in new[] { "A", "B", "C" })
        {
            _fixture.Write(Kernel(id), id + ".json");
        }

        var set = AdvisoryDirectory.Load(_fixture.Directory, new AdvisoryLoadOptions { MaxFiles = 2 });

        Assert.Equal(["A", "B"], set.Advisories.Select(a => a.Id));
        Assert.Equal("holds 3 advisory files, over the limit of 2; the files after B.json in name order were not read",
            OnlyProblem(set, _fixture.Directory).Message);
    }

    [Fact]
    public void Keep_package_applies_to_every_file()
    {
        _fixture.Write(Kernel("KERNEL-1"), "a.json");
        _fixture.Write(new OsvRecord("OPENSSL-1").Affects("Debian:12", "openssl", a => a.Introduced("0")), "b.json");

        var set = AdvisoryDirectory.Load(_fixture.Directory, new AdvisoryLoadOptions { KeepPackage = p => p.Name == "linux" });

        Assert.Equal(["KERNEL-1"], set.Advisories.Select(a => a.Id));
        Assert.Equal([1, 0], set.Files.Select(f => f.Advisories));
    }

    [Fact]
    public void Cancellation_stops_between_files()
    {
        _fixture.Write(Kernel("A"), "a.json");
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();

        Assert.Throws<OperationCanceledException>(() => AdvisoryDirectory.Load(_fixture.Directory, cancellationToken: cancelled.Token));
    }
}
