using System.Text.Json;
using LivePatchAgent.Protocol.V1;
using Google.Protobuf.WellKnownTypes;
using LivePatchAgent.Cli.Output;

namespace LivePatchAgent.Unit.Tests.Cli;

/// <summary>The JSON documents of `lpctl -o json`: their exact shape is a contract with scripts and the e2e tests.</summary>
public sealed class LpctlJsonOutputTests
{
    [Fact]
    public void Status_document_has_the_contract_fields_in_order_with_schema_version_first()
    {
        using var json = Parse(JsonOutput.Document(JsonOutput.ToDocument(ProtocolSamples.IdleStatus()), LpctlJsonContext.Default.StatusDocument));
        var root = json.RootElement;

        Assert.Equal(
            ["schemaVersion", "daemonVersion", "state", "startedAt", "uptimeSeconds", "kernel", "patchCount",
             "enabledPatchCount", "leftoverCount", "transition", "snapshotTime", "problems", "forcedModules",
             "blockingTasks", "startupApply", "posture", "health"],
            Names(root));
        Assert.Equal(1, root.GetProperty("schemaVersion").GetInt32());
        Assert.Equal("0.1.0", root.GetProperty("daemonVersion").GetString());
        Assert.Equal("idle", root.GetProperty("state").GetString());
        Assert.Equal("2026-11-28T08:00:00Z", root.GetProperty("startedAt").GetString());
        Assert.Equal(7385.457, root.GetProperty("uptimeSeconds").GetDouble());
        Assert.Equal(1, root.GetProperty("patchCount").GetInt32());
        Assert.Equal(1, root.GetProperty("enabledPatchCount").GetInt32());
        Assert.Equal(0, root.GetProperty("leftoverCount").GetInt32());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("transition").ValueKind);
        Assert.Equal("2026-11-28T10:00:01.234Z", root.GetProperty("snapshotTime").GetString());
        Assert.Equal(0, root.GetProperty("problems").GetArrayLength());
        Assert.Equal(0, root.GetProperty("forcedModules").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("blockingTasks").ValueKind);
    }

    [Fact]
    public void Status_document_kernel_carries_every_fact()
    {
        using var json = Parse(JsonOutput.Document(JsonOutput.ToDocument(ProtocolSamples.IdleStatus()), LpctlJsonContext.Default.StatusDocument));
        var kernel = json.RootElement.GetProperty("kernel");

        Assert.Equal(
            ["release", "version", "bootId", "taintMask", "taintFlags", "taintDescriptions", "lockdown", "sigEnforce",
             "modulesDisabled", "ftraceEnabled", "livepatchSupported", "buildId"],
            Names(kernel));
        Assert.Equal("6.1.0-56-amd64", kernel.GetProperty("release").GetString());
        Assert.Equal(45056UL, kernel.GetProperty("taintMask").GetUInt64());
        Assert.Equal("OEK", kernel.GetProperty("taintFlags").GetString());
        Assert.Equal("K: kernel has been live patched", kernel.GetProperty("taintDescriptions")[2].GetString());
        Assert.Equal("none", kernel.GetProperty("lockdown").GetString());
        Assert.False(kernel.GetProperty("sigEnforce").GetBoolean());
        Assert.False(kernel.GetProperty("modulesDisabled").GetBoolean());
        Assert.True(kernel.GetProperty("ftraceEnabled").GetBoolean());
        Assert.True(kernel.GetProperty("livepatchSupported").GetBoolean());
        Assert.Equal("0123456789abcdef0123456789abcdef01234567", kernel.GetProperty("buildId").GetString());
    }

    [Fact]
    public void Unknown_kernel_facts_are_null_not_empty_or_false()
    {
        using var json = Parse(JsonOutput.Document(JsonOutput.ToDocument(ProtocolSamples.UnsupportedStatus()), LpctlJsonContext.Default.StatusDocument));
        var root = json.RootElement;
        var kernel = root.GetProperty("kernel");

        Assert.Equal("unsupported", root.GetProperty("state").GetString());
        Assert.False(kernel.GetProperty("livepatchSupported").GetBoolean());
        foreach (var unknown in new[] { "version", "bootId", "taintMask", "taintFlags", "lockdown", "sigEnforce", "modulesDisabled", "ftraceEnabled", "buildId" })
        {
            Assert.True(kernel.GetProperty(unknown).ValueKind == JsonValueKind.Null, $"{unknown} should be null");
        }
    }

    [Fact]
    public void Untainted_kernel_has_mask_zero_and_empty_flags()
    {
        var status = ProtocolSamples.IdleStatus();
        status.Kernel.TaintMask = 0;
        status.Kernel.TaintFlags = "";
        status.Kernel.TaintDescriptions.Clear();

        using var json = Parse(JsonOutput.Document(JsonOutput.ToDocument(status), LpctlJsonContext.Default.StatusDocument));
        var kernel = json.RootElement.GetProperty("kernel");

        Assert.Equal(0UL, kernel.GetProperty("taintMask").GetUInt64());
        Assert.Equal("", kernel.GetProperty("taintFlags").GetString());
    }

    [Fact]
    public void Running_transition_and_problems_are_objects()
    {
        var status = ProtocolSamples.IdleStatus();
        status.State = AgentState.Transitioning;
        status.Transition = new Transition
        {
            Patch = "lpdemo_v1",
            Patching = true,
            StartedAt = Timestamp.FromDateTime(ProtocolSamples.Snapshot),
            Elapsed = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(1234.56)),
        };
        status.Problems.Add(new Problem { Path = "/sys/kernel/livepatch/x/enabled", Message = "cannot parse \"2\"" });
        status.Problems.Add(new Problem { Path = "", Message = "the kernel watcher is not running" });

        using var json = Parse(JsonOutput.Document(JsonOutput.ToDocument(status), LpctlJsonContext.Default.StatusDocument));
        var root = json.RootElement;
        var transition = root.GetProperty("transition");

        Assert.Equal("transitioning", root.GetProperty("state").GetString());
        Assert.Equal(["patch", "patching", "startedAt", "elapsedSeconds", "progress", "blocking"], Names(transition));
        Assert.Equal("lpdemo_v1", transition.GetProperty("patch").GetString());
        Assert.True(transition.GetProperty("patching").GetBoolean());
        Assert.Equal(1.235, transition.GetProperty("elapsedSeconds").GetDouble());
        var problems = root.GetProperty("problems");
        Assert.Equal("/sys/kernel/livepatch/x/enabled", problems[0].GetProperty("path").GetString());
        Assert.Equal("cannot parse \"2\"", problems[0].GetProperty("message").GetString());
        Assert.Equal(JsonValueKind.Null, problems[1].GetProperty("path").ValueKind);
    }

    [Fact]
    public void List_document_has_every_patch_with_objects_functions_and_module()
    {
        var response = new ListPatchesResponse { Patches = { ProtocolSamples.DemoPatch() } };

        using var json = Parse(JsonOutput.Document(JsonOutput.ToDocument(response), LpctlJsonContext.Default.PatchListDocument));
        var root = json.RootElement;

        Assert.Equal(["schemaVersion", "patches", "leftovers"], Names(root));
        Assert.Equal(1, root.GetProperty("schemaVersion").GetInt32());
        Assert.Equal(0, root.GetProperty("leftovers").GetArrayLength());
        var patch = root.GetProperty("patches")[0];
        Assert.Equal(["name", "state", "enabled", "transition", "replace", "stackOrder", "objects", "module", "forced", "stackOrderSource", "metadata"], Names(patch));
        Assert.Equal("lpdemo_v1", patch.GetProperty("name").GetString());
        Assert.Equal("enabled", patch.GetProperty("state").GetString());
        Assert.True(patch.GetProperty("enabled").GetBoolean());
        Assert.False(patch.GetProperty("transition").GetBoolean());
        Assert.Equal(JsonValueKind.Null, patch.GetProperty("replace").ValueKind);
        Assert.Equal(JsonValueKind.Null, patch.GetProperty("stackOrder").ValueKind);
        var vmlinux = patch.GetProperty("objects")[0];
        Assert.Equal("vmlinux", vmlinux.GetProperty("name").GetString());
        Assert.True(vmlinux.GetProperty("patched").GetBoolean());
        Assert.Equal("cmdline_proc_show", vmlinux.GetProperty("functions")[0].GetProperty("name").GetString());
        Assert.Equal(1, vmlinux.GetProperty("functions")[0].GetProperty("sympos").GetInt32());
        var module = patch.GetProperty("module");
        Assert.Equal(["refcnt", "taint", "srcversion", "initstate"], Names(module));
        Assert.Equal(1, module.GetProperty("refcnt").GetInt32());
        Assert.Equal("OEK", module.GetProperty("taint").GetString());
        Assert.Equal("live", module.GetProperty("initstate").GetString());
    }

    [Fact]
    public void Replace_and_stack_order_appear_when_the_kernel_has_them_and_missing_module_is_null()
    {
        using var json = Parse(JsonOutput.Document(new PatchInfoDocument(JsonOutput.ToDocument(ProtocolSamples.ReplacePatch())), LpctlJsonContext.Default.PatchInfoDocument));
        var root = json.RootElement;

        Assert.Equal(["schemaVersion", "patch"], Names(root));
        var patch = root.GetProperty("patch");
        Assert.Equal("enabling", patch.GetProperty("state").GetString());
        Assert.True(patch.GetProperty("replace").GetBoolean());
        Assert.Equal(2, patch.GetProperty("stackOrder").GetInt32());
        Assert.False(patch.GetProperty("objects")[1].GetProperty("patched").GetBoolean());
        Assert.Equal(JsonValueKind.Null, patch.GetProperty("module").ValueKind);
    }

    [Fact]
    public void Patch_metadata_has_the_values_the_overall_source_and_each_fields_source()
    {
        using var json = Parse(JsonOutput.Document(new PatchInfoDocument(JsonOutput.ToDocument(ProtocolSamples.ReplacePatch())), LpctlJsonContext.Default.PatchInfoDocument));
        var metadata = json.RootElement.GetProperty("patch").GetProperty("metadata");

        Assert.Equal(["cveIds", "summary", "level", "fixesVersion", "metadataSource", "sources", "warnings"], Names(metadata));
        Assert.Equal(["CVE-2099-0001", "CVE-2099-0002", "CVE-2099-0003"], metadata.GetProperty("cveIds").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(2, metadata.GetProperty("level").GetInt32());
        Assert.Equal("6.1.999-1", metadata.GetProperty("fixesVersion").GetString());
        Assert.Equal("signed", metadata.GetProperty("metadataSource").GetString());
        var sources = metadata.GetProperty("sources");
        Assert.Equal(["cveIds", "summary", "level", "fixesVersion"], Names(sources));
        Assert.All(sources.EnumerateObject(), p => Assert.Equal("signed", p.Value.GetString()));
    }

    [Fact]
    public void A_patch_without_recorded_metadata_has_metadata_null()
    {
        using var json = Parse(JsonOutput.Document(new PatchInfoDocument(JsonOutput.ToDocument(ProtocolSamples.DemoPatch())), LpctlJsonContext.Default.PatchInfoDocument));

        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("patch").GetProperty("metadata").ValueKind);
    }

    [Fact]
    public void Empty_list_is_an_empty_array()
    {
        using var json = Parse(JsonOutput.Document(JsonOutput.ToDocument(new ListPatchesResponse()), LpctlJsonContext.Default.PatchListDocument));

        Assert.Equal(0, json.RootElement.GetProperty("patches").GetArrayLength());
        Assert.Equal(0, json.RootElement.GetProperty("leftovers").GetArrayLength());
    }

    [Fact]
    public void List_document_has_each_leftover_with_its_module_facts()
    {
        var response = new ListPatchesResponse
        {
            Patches = { ProtocolSamples.DemoPatch() },
            Leftovers = { ProtocolSamples.Leftover("lpdemo_old"), new LeftoverModule { Name = "lpdemo_unread" } },
        };

        using var json = Parse(JsonOutput.Document(JsonOutput.ToDocument(response), LpctlJsonContext.Default.PatchListDocument));
        var leftovers = json.RootElement.GetProperty("leftovers");

        Assert.Equal(2, leftovers.GetArrayLength());
        Assert.Equal(["name", "module", "forced"], Names(leftovers[0]));
        Assert.Equal("lpdemo_old", leftovers[0].GetProperty("name").GetString());
        var module = leftovers[0].GetProperty("module");
        Assert.Equal(["refcnt", "taint", "srcversion", "initstate"], Names(module));
        Assert.Equal(0, module.GetProperty("refcnt").GetInt32());
        Assert.Equal("OEK", module.GetProperty("taint").GetString());
        Assert.Equal(JsonValueKind.Null, leftovers[1].GetProperty("module").ValueKind);
        // The patches keep their shape.
        Assert.Equal("lpdemo_v1", json.RootElement.GetProperty("patches")[0].GetProperty("name").GetString());
    }

    [Fact]
    public void Status_document_counts_leftovers()
    {
        var status = ProtocolSamples.IdleStatus();
        status.LeftoverCount = 2;

        using var json = Parse(JsonOutput.Document(JsonOutput.ToDocument(status), LpctlJsonContext.Default.StatusDocument));

        Assert.Equal(2, json.RootElement.GetProperty("leftoverCount").GetInt32());
    }

    [Fact]
    public void Event_is_one_compact_line_with_the_contract_fields()
    {
        var line = JsonOutput.Line(JsonOutput.ToDocument(ProtocolSamples.TransitionCompleted()), LpctlJsonContext.Default.EventDocument);

        Assert.EndsWith("\n", line, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', line.TrimEnd('\n'));
        Assert.Equal(
            """{"schemaVersion":1,"sequence":5,"time":"2026-11-28T10:00:01.234Z","kind":"transition-completed","patch":"lpdemo_v1","message":"lpdemo_v1 finished patching","fromState":"enabling","toState":"enabled","dropped":0,"kernelRelease":null,"blockingTasks":0,"seconds":null}""",
            line.TrimEnd('\n'));
    }

    [Fact]
    public void Event_without_a_patch_has_null_patch_and_states()
    {
        var e = new Event { Sequence = 9, Kind = EventKind.Lagged, Message = "missed 3 events", Dropped = 3 };

        using var json = Parse(JsonOutput.Line(JsonOutput.ToDocument(e), LpctlJsonContext.Default.EventDocument));
        var root = json.RootElement;

        Assert.Equal("lagged", root.GetProperty("kind").GetString());
        Assert.Equal(3, root.GetProperty("dropped").GetInt32());
        Assert.Equal(JsonValueKind.Null, root.GetProperty("patch").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("fromState").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("toState").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("time").ValueKind);
    }

    [Theory]
    [InlineData(EventKind.Lagged, "lagged")]
    [InlineData(EventKind.KernelChanged, "kernel-changed")]
    [InlineData(EventKind.PatchAppeared, "patch-appeared")]
    [InlineData(EventKind.TransitionStarted, "transition-started")]
    [InlineData(EventKind.TransitionCompleted, "transition-completed")]
    [InlineData(EventKind.TransitionReversed, "transition-reversed")]
    [InlineData(EventKind.PatchDisabled, "patch-disabled")]
    [InlineData(EventKind.PatchRemoved, "patch-removed")]
    [InlineData(EventKind.TaintChanged, "taint-changed")]
    [InlineData(EventKind.SupportChanged, "support-changed")]
    [InlineData(EventKind.TransitionStalled, "transition-stalled")]
    [InlineData(EventKind.TransitionRecovered, "transition-recovered")]
    [InlineData(EventKind.TasksKicked, "tasks-kicked")]
    [InlineData(EventKind.TransitionReverted, "transition-reverted")]
    [InlineData(EventKind.TransitionForced, "transition-forced")]
    [InlineData(EventKind.StallUnresolved, "stall-unresolved")]
    public void Event_kinds_print_as_their_contract_words(EventKind kind, string word) =>
        Assert.Equal(word, ProtocolNames.Of(kind));

    [Fact]
    public void Every_protocol_enum_value_has_a_word()
    {
        // Fails when the proto grows a value lpctl would print as "unknown".
        Assert.All(System.Enum.GetValues<EventKind>().Where(k => k != EventKind.Unspecified), k => Assert.NotEqual(ProtocolNames.Unknown, ProtocolNames.Of(k)));
        Assert.All(System.Enum.GetValues<PatchState>().Where(s => s != PatchState.Unspecified), s => Assert.NotEqual(ProtocolNames.Unknown, ProtocolNames.Of(s)));
        Assert.All(System.Enum.GetValues<AgentState>().Where(s => s != AgentState.Unspecified), s => Assert.NotEqual(ProtocolNames.Unknown, ProtocolNames.Of(s)));
        Assert.All(System.Enum.GetValues<CheckResult>().Where(r => r != CheckResult.Unspecified), r => Assert.NotEqual(ProtocolNames.Unknown, ProtocolNames.Of(r)));
    }

    [Fact]
    public void A_value_from_a_newer_daemon_prints_as_unknown() =>
        Assert.Equal("unknown", ProtocolNames.Of((AgentState)99));

    private static JsonDocument Parse(string text) => JsonDocument.Parse(text);

    private static string[] Names(JsonElement element) => [.. element.EnumerateObject().Select(p => p.Name)];
}
