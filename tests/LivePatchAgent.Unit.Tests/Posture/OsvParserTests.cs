using System.Text;
using System.Text.Json.Nodes;
using LivePatchAgent.Core.Posture;

namespace LivePatchAgent.Unit.Tests.Posture;

public sealed class OsvParserTests
{
    private static OsvAdvisory Sample(string name)
    {
        var result = OsvParser.Parse(TestData.Read(Path.Combine("osv", name)), name);
        Assert.Null(result.Problem);
        return Assert.Single(result.Advisories);
    }

    private static OsvParseResult Parse(string json, AdvisoryLoadOptions? options = null) =>
        OsvParser.Parse(Encoding.UTF8.GetBytes(json), "/srv/osv/bad.json", options);

    private static string ProblemOf(string json, AdvisoryLoadOptions? options = null)
    {
        var result = Parse(json, options);
        Assert.Empty(result.Advisories);
        Assert.NotNull(result.Problem);
        Assert.Equal("/srv/osv/bad.json", result.Problem.File);
        Assert.StartsWith("/srv/osv/bad.json: ", result.Problem.Text, StringComparison.Ordinal);
        return result.Problem.Message;
    }

    [Fact]
    public void A_debian_notice_gives_its_ids_entries_and_ranges()
    {
        var dsa = Sample("DSA-5990-1.json");

        Assert.Equal("DSA-5990-1", dsa.Id);
        Assert.Equal<string>(["CVE-2026-31001", "CVE-2026-31002"], dsa.Aliases);
        Assert.Equal<string>(["DEBIAN-CVE-2026-31001", "DEBIAN-CVE-2026-31002"], dsa.Upstream);
        Assert.Empty(dsa.Related);
        // The DEBIAN-CVE ids in upstream are the same two CVEs.
        Assert.Equal<string>(["CVE-2026-31001", "CVE-2026-31002"], dsa.CveIds);
        Assert.Equal("linux - security update", dsa.Summary);
        Assert.Equal("linux - security update", dsa.Headline);
        Assert.Equal(new DateTimeOffset(2026, 10, 15, 9, 12, 44, TimeSpan.Zero).AddTicks(3718420), dsa.Modified);
        Assert.Equal(new DateTimeOffset(2026, 10, 14, 18, 0, 0, TimeSpan.Zero), dsa.Published);
        Assert.False(dsa.IsWithdrawn);
        Assert.EndsWith("DSA-5990-1.json", dsa.SourceFile, StringComparison.Ordinal);

        Assert.Equal(2, dsa.Affected.Length);
        var bookworm = dsa.Affected[1];
        Assert.Equal(new OsvPackage("Debian:12", "linux", "pkg:deb/debian/linux?arch=source&distro=bookworm"), bookworm.Package);
        var range = Assert.Single(bookworm.Ranges);
        Assert.True(range.IsEcosystem);
        Assert.Equal<OsvEvent>([new OsvEvent(OsvEventKind.Introduced, "0"), new OsvEvent(OsvEventKind.Fixed, "6.1.194-1")], range.Events);
        Assert.Empty(bookworm.Versions);
        Assert.Equal(new SeverityRating(Severity.High, Severity.Unknown), bookworm.Rating);
        Assert.Equal(default, dsa.Affected[0].Rating);
        Assert.Equal(default, dsa.Rating);
    }

    [Fact]
    public void A_debian_cve_record_has_no_summary_so_the_headline_is_the_first_line_of_the_details()
    {
        var record = Sample("DEBIAN-CVE-2026-31003.json");

        Assert.Null(record.Summary);
        Assert.Equal("In the Linux kernel, the following vulnerability has been resolved:", record.Headline);
        Assert.Equal<string>(["CVE-2026-31003"], record.CveIds);
        // "not yet assigned" is no rating; the record's CVSS vector (5.5) is.
        Assert.Equal(new SeverityRating(Severity.Unknown, Severity.Medium), record.Rating);
        Assert.Equal(Severity.Unknown, record.Affected[0].Rating.Vendor);
        Assert.Equal<string>(["Debian:12", "Debian:13"], record.Affected.Select(a => a.Package!.Ecosystem));
    }

    [Fact]
    public void An_almalinux_erratum_lists_its_cves_in_related_and_rates_in_database_specific()
    {
        var alsa = Sample("ALSA-2026_7001.json");

        Assert.Equal("ALSA-2026:7001", alsa.Id);
        Assert.Equal<string>(["CVE-2026-31101", "CVE-2026-31102"], alsa.CveIds);
        Assert.Equal(new SeverityRating(Severity.High, Severity.High), alsa.Rating);
        Assert.Equal<string>(["kernel", "kernel-core"], alsa.Affected.Select(a => a.Package!.Name));
        Assert.Equal("Important: kernel security update", alsa.Headline);
    }

    [Fact]
    public void An_ubuntu_cve_record_rates_with_its_own_severity_type_and_per_package_priority()
    {
        var record = Sample("UBUNTU-CVE-2026-31201.json");

        Assert.Equal<string>(["CVE-2026-31201"], record.CveIds);
        Assert.Equal<string>(["USN-7901-1"], record.Related);
        Assert.Equal(new SeverityRating(Severity.Medium, Severity.High), record.Rating);
        var linux = record.Affected[0];
        Assert.Equal("Ubuntu:22.04:LTS", linux.Package!.Ecosystem);
        Assert.Equal(4, linux.Versions.Length);
        Assert.Contains("5.15.0-119.129", linux.Versions);
        Assert.Equal(Severity.Medium, linux.Rating.Vendor);
    }

    [Fact]
    public void A_file_may_hold_an_array_of_records_and_git_ranges_are_kept_but_not_ecosystem_ranges()
    {
        var result = OsvParser.Parse(TestData.Read("osv/kernel-bundle.json"), "kernel-bundle.json");

        Assert.Null(result.Problem);
        Assert.Equal<string>(["DEBIAN-CVE-2026-31007", "DEBIAN-CVE-2026-31008"], result.Advisories.Select(a => a.Id));
        var ranges = result.Advisories[0].Affected[0].Ranges;
        Assert.Equal<string>(["ECOSYSTEM", "GIT"], ranges.Select(r => r.Type));
        Assert.Equal<bool>([true, false], ranges.Select(r => r.IsEcosystem));
    }

    [Fact]
    public void Withdrawn_records_are_parsed_with_their_withdrawal_so_that_deduplication_sees_it()
    {
        var record = Sample("DEBIAN-CVE-2026-31006.json");

        Assert.True(record.IsWithdrawn);
        Assert.Equal(new DateTimeOffset(2026, 10, 10, 0, 0, 0, TimeSpan.Zero), record.Withdrawn);
    }

    [Fact]
    public void Last_affected_and_explicit_versions_are_read()
    {
        Assert.Equal<OsvEvent>(
            [new OsvEvent(OsvEventKind.Introduced, "6.1.190-1"), new OsvEvent(OsvEventKind.LastAffected, "6.1.192-2")],
            Sample("DEBIAN-CVE-2026-31004.json").Affected[0].Ranges[0].Events);
        var versionsOnly = Sample("DEBIAN-CVE-2026-31005.json").Affected[0];
        Assert.Empty(versionsOnly.Ranges);
        Assert.Equal<string>(["6.1.190-1", "6.1.192-2"], versionsOnly.Versions);
        Assert.True(versionsOnly.HasVersionData);
    }

    [Fact]
    public void Limit_events_and_unknown_members_are_accepted()
    {
        var json = new OsvRecord("TEST-1")
            .Set("x_producer_extension", new JsonObject { ["anything"] = new JsonArray(1, 2, 3) })
            .Affects("Debian:12", "linux", a => a.Introduced("0").Limit("6.2"))
            .ToJson();

        var advisory = Assert.Single(Parse(json).Advisories);
        Assert.Equal(OsvEventKind.Limit, advisory.Affected[0].Ranges[0].Events[1].Kind);
    }

    [Fact]
    public void Cve_ids_come_from_every_id_field_upper_case_and_once()
    {
        var advisory = Assert.Single(Parse(new OsvRecord("cve-2026-0001")
            .Aliases("UBUNTU-CVE-2026-0002", "GHSA-xxxx-yyyy-zzzz")
            .Upstream("CVE-2026-0001", "DEBIAN-CVE-2026-0003")
            .Related("CVE-2026-0004", "USN-7000-1", "NOTCVE-2026-1", "XCVE-2026-0005", "CVE-26-1", "CVE-2026-12x")
            .ToJson()).Advisories);

        Assert.Equal<string>(["CVE-2026-0001", "CVE-2026-0002", "CVE-2026-0003", "CVE-2026-0004"], advisory.CveIds);
    }

    [Fact]
    public void Cvss_v4_and_v2_vectors_are_not_scored_but_a_number_in_their_place_is()
    {
        Assert.Equal(default, Assert.Single(Parse(new OsvRecord("T-1")
            .Severity("CVSS_V4", "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N")
            .Severity("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P").ToJson()).Advisories).Rating);
        Assert.Equal(Severity.Critical, Assert.Single(Parse(new OsvRecord("T-2").Severity("CVSS_V4", "9.3").ToJson()).Advisories).Rating.Cvss);
        Assert.Equal(Severity.High, Assert.Single(Parse(new OsvRecord("T-3").Severity("CVSS_V3", "7.5").ToJson()).Advisories).Rating.Cvss);
    }

    [Fact]
    public void The_highest_of_several_vendor_words_counts()
    {
        var advisory = Assert.Single(Parse(new OsvRecord("T-1")
            .Affects("Debian:12", "linux", a => a.Introduced("0").EcosystemSpecific("urgency", "low").DatabaseSpecific("severity", "CRITICAL"))
            .ToJson()).Advisories);

        Assert.Equal(Severity.Critical, advisory.Affected[0].Rating.Vendor);
    }

    [Theory]
    [InlineData("2026-09-12T11:00:05.986201214Z", "2026-09-12T11:00:05.9862012+00:00")]
    [InlineData("2026-09-12T11:00:05Z", "2026-09-12T11:00:05.0000000+00:00")]
    [InlineData("2026-09-12T13:00:05+02:00", "2026-09-12T11:00:05.0000000+00:00")]
    [InlineData("2026-09-12T11:00:05", "2026-09-12T11:00:05.0000000+00:00")]
    public void Timestamps_are_read_as_utc_whatever_their_precision_and_offset(string modified, string expected)
    {
        var advisory = Assert.Single(Parse(new OsvRecord("T-1", modified).ToJson()).Advisories);

        Assert.Equal(expected, advisory.Modified.ToString("o", System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void A_utf8_byte_order_mark_is_skipped()
    {
        var bytes = "\uFEFF"u8.ToArray().Concat(Encoding.UTF8.GetBytes(new OsvRecord("T-1").ToJson())).ToArray();

        Assert.Single(OsvParser.Parse(bytes, "bom.json").Advisories);
    }

    [Fact]
    public void Keep_package_drops_other_entries_and_advisories_left_empty_but_not_withdrawn_ones()
    {
        var json = OsvRecord.ArrayJson(
            new OsvRecord("A").Affects("Debian:12", "linux", a => a.Introduced("0")).Affects("Debian:12", "openssl", a => a.Introduced("0")),
            new OsvRecord("B").Affects("Debian:12", "openssl", a => a.Introduced("0")),
            new OsvRecord("C").Withdrawn().Affects("Debian:12", "openssl", a => a.Introduced("0")));

        var result = Parse(json, new AdvisoryLoadOptions { KeepPackage = p => p.Name == "linux" });

        Assert.Equal<string>(["A", "C"], result.Advisories.Select(a => a.Id));
        Assert.Equal<string>(["linux"], result.Advisories[0].Affected.Select(a => a.Package!.Name));
        Assert.Empty(result.Advisories[1].Affected);
    }

    [Fact]
    public void Syntax_errors_name_the_line_and_byte()
    {
        var message = ProblemOf("{\n  \"id\": \"DSA-1\",\n  oops\n}");

        Assert.StartsWith("not valid JSON at line 3, byte 3: ", message, StringComparison.Ordinal);
        Assert.DoesNotContain("LineNumber", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_property_names_are_refused()
    {
        var message = ProblemOf("""{"id": "A", "modified": "2026-10-01T00:00:00Z", "id": "B"}""");

        Assert.StartsWith("not valid JSON", message, StringComparison.Ordinal);
        Assert.Contains("'id'", message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nesting_deeper_than_the_limit_is_refused_where_it_happens()
    {
        var deep = new string('[', 40) + new string(']', 40);
        var message = ProblemOf("""{"id": "A", "modified": "2026-10-01T00:00:00Z", "database_specific": {"x": """ + deep + "}}");

        Assert.StartsWith("not valid JSON at line 1, byte ", message, StringComparison.Ordinal);
        Assert.Contains("32", message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_string_over_the_limit_is_refused_before_it_is_read()
    {
        var json = new OsvRecord("DSA-1").Details(new string('x', 70_000)).ToJson();

        Assert.Equal("advisory \"DSA-1\", details: a string of 70,000 bytes is over the limit of 65,536", ProblemOf(json));
        Assert.Single(Parse(json, new AdvisoryLoadOptions { MaxStringBytes = 100_000 }).Advisories);
    }

    [Fact]
    public void Too_many_records_in_one_file_are_refused()
    {
        var json = OsvRecord.ArrayJson([.. Enumerable.Range(1, 4).Select(i => new OsvRecord($"T-{i}"))]);

        Assert.Equal("holds 4 advisories, over the limit of 3 per file", ProblemOf(json, new AdvisoryLoadOptions { MaxAdvisoriesPerFile = 3 }));
    }

    public static TheoryData<string, string> WrongShapes => new()
    {
        { "42", "the top level is a number, not an OSV object or an array of them" },
        { "\"DSA-1\"", "the top level is a string, not an OSV object or an array of them" },
        { "null", "the top level is null, not an OSV object or an array of them" },
        { """[{"id": "A", "modified": "2026-10-01T00:00:00Z"}, 7]""", "[1]: expected an OSV object, found a number" },
        { """{"modified": "2026-10-01T00:00:00Z"}""", "\"id\" is missing (the OSV schema requires it)" },
        { """[{"modified": "2026-10-01T00:00:00Z"}]""", "[0]: \"id\" is missing (the OSV schema requires it)" },
        { """{"id": 5, "modified": "2026-10-01T00:00:00Z"}""", "id: expected a string, found a number" },
        { """{"id": "", "modified": "2026-10-01T00:00:00Z"}""", "\"id\" \"\" is not an advisory id (1 to 256 characters, no spaces)" },
        { """{"id": "A B", "modified": "2026-10-01T00:00:00Z"}""", "\"id\" \"A B\" is not an advisory id (1 to 256 characters, no spaces)" },
        { """{"id": "A"}""", "advisory \"A\": \"modified\" is missing (the OSV schema requires it)" },
        { """{"id": "A", "modified": "yesterday"}""", "advisory \"A\", modified: \"yesterday\" is not an RFC 3339 timestamp" },
        { """{"id": "A", "modified": "2026-10-01T00:00:00Z", "aliases": "CVE-2026-1"}""", "advisory \"A\", aliases: expected an array, found a string" },
        { """{"id": "A", "modified": "2026-10-01T00:00:00Z", "aliases": ["CVE-2026-1", 2]}""", "advisory \"A\", aliases[1]: expected a string, found a number" },
        { """{"id": "A", "modified": "2026-10-01T00:00:00Z", "summary": {"text": "x"}}""", "advisory \"A\", summary: expected a string, found an object" },
        { """{"id": "A", "modified": "2026-10-01T00:00:00Z", "severity": [{"type": "CVSS_V3"}]}""", "advisory \"A\", severity[0]: \"score\" is missing" },
        { """{"id": "A", "modified": "2026-10-01T00:00:00Z", "database_specific": "Important"}""", "advisory \"A\", database_specific: expected an object, found a string" },
        { """{"id": "A", "modified": "2026-10-01T00:00:00Z", "affected": {}}""", "advisory \"A\", affected: expected an array, found an object" },
        { """{"id": "A", "modified": "2026-10-01T00:00:00Z", "affected": [{"package": {"ecosystem": "Debian:12"}}]}""", "advisory \"A\", affected[0].package: \"name\" is missing" },
        { """{"id": "A", "modified": "2026-10-01T00:00:00Z", "affected": [{"package": {"ecosystem": "Debian:12", "name": true}}]}""", "advisory \"A\", affected[0].package.name: expected a string, found true" },
        { """{"id": "A", "modified": "2026-10-01T00:00:00Z", "affected": [{"ranges": [{"events": []}]}]}""", "advisory \"A\", affected[0].ranges[0]: \"type\" is missing" },
        { """{"id": "A", "modified": "2026-10-01T00:00:00Z", "affected": [{"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": 6.1}]}]}]}""", "advisory \"A\", affected[0].ranges[0].events[1].fixed: expected a string, found a number" },
        { """{"id": "A", "modified": "2026-10-01T00:00:00Z", "affected": [{"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0", "fixed": "1"}]}]}]}""", "advisory \"A\", affected[0].ranges[0].events[0]: an event has both \"introduced\" and \"fixed\"; it must have exactly one" },
        { """{"id": "A", "modified": "2026-10-01T00:00:00Z", "affected": [{"ranges": [{"type": "ECOSYSTEM", "events": [{"note": "x"}]}]}]}""", "advisory \"A\", affected[0].ranges[0].events[0]: an event has none of \"introduced\", \"fixed\", \"last_affected\", \"limit\"" },
        { """{"id": "A", "modified": "2026-10-01T00:00:00Z", "affected": [{"ranges": [{"type": "ECOSYSTEM", "events": [{"fixed": ""}]}]}]}""", "advisory \"A\", affected[0].ranges[0].events[0]: \"fixed\" is an empty version" },
        { """{"id": "A", "modified": "2026-10-01T00:00:00Z", "affected": [{"versions": [null]}]}""", "advisory \"A\", affected[0].versions[0]: expected a string, found null" },
        { """{"id": "A", "modified": "2026-10-01T00:00:00Z", "affected": [{"ecosystem_specific": []}]}""", "advisory \"A\", affected[0].ecosystem_specific: expected an object, found an array" },
    };

    [Theory]
    [MemberData(nameof(WrongShapes))]
    public void Wrong_shapes_are_named_by_their_path(string json, string expected) => Assert.Equal(expected, ProblemOf(json));

    [Fact]
    public void Invalid_utf8_in_a_string_is_a_problem_not_an_exception()
    {
        var bytes = Encoding.UTF8.GetBytes("""{"id": "A", "modified": "2026-10-01T00:00:00Z", "summary": "x_"}""");
        bytes[Array.IndexOf(bytes, (byte)'_')] = 0xff;

        var result = OsvParser.Parse(bytes, "/srv/osv/bad.json");

        Assert.Empty(result.Advisories);
        Assert.NotNull(result.Problem);
        Assert.Contains("UTF-8", result.Problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Control_characters_in_an_id_are_escaped_in_the_problem()
    {
        var message = ProblemOf("{\"id\": \"A\\u001b[31m\", \"modified\": \"soon\"}");

        Assert.Equal("advisory \"A\\x1b[31m\", modified: \"soon\" is not an RFC 3339 timestamp", message);
    }
}
