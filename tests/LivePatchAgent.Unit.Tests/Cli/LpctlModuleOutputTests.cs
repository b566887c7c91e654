using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using LivePatchAgent.Cli.Output;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Unit.Tests.Cli;

/// <summary>
/// The output of verify, load and unload, and the leftovers in list and status: table text for people, and the
/// JSON documents whose shape scripts rely on.
/// </summary>
public sealed class LpctlModuleOutputTests
{
    [Fact]
    public void Verify_document_has_the_contract_fields_in_order()
    {
        using var json = Verify(ProtocolSamples.UntrustedSigner());
        var root = json.RootElement;

        Assert.Equal(["schemaVersion", "ok", "reason", "message", "checks", "module", "kernelPolicy"], Names(root));
        Assert.Equal(1, root.GetProperty("schemaVersion").GetInt32());
        Assert.False(root.GetProperty("ok").GetBoolean());
        Assert.Equal("untrusted-signer", root.GetProperty("reason").GetString());
        Assert.StartsWith("module \"lpdemo_v1\" is signed by", root.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_document_lists_every_check_with_its_result_detail_and_reason()
    {
        using var json = Verify(ProtocolSamples.UntrustedSigner());
        var checks = json.RootElement.GetProperty("checks");

        Assert.Equal(
            ["elf", "livepatch", "kernel-release", "vermagic-flags", "build-id", "signature-present", "signature", "kernel-policy"],
            checks.EnumerateArray().Select(c => c.GetProperty("name").GetString()));
        Assert.All(checks.EnumerateArray(), c => Assert.Equal(["name", "result", "detail", "reason"], Names(c)));
        Assert.Equal("passed", checks[0].GetProperty("result").GetString());
        Assert.Equal(JsonValueKind.Null, checks[0].GetProperty("reason").ValueKind);
        Assert.Equal("skipped", checks[3].GetProperty("result").GetString());
        Assert.Equal("failed", checks[6].GetProperty("result").GetString());
        Assert.Equal("untrusted-signer", checks[6].GetProperty("reason").GetString());
        Assert.Equal("signed by \"CN=Someone Else\", which is not a trusted signer", checks[6].GetProperty("detail").GetString());
    }

    [Fact]
    public void Verify_document_carries_the_module_facts_and_signature()
    {
        using var json = Verify(ProtocolSamples.UntrustedSigner());
        var module = json.RootElement.GetProperty("module");

        Assert.Equal(
            ["name", "size", "sha256", "vermagic", "livepatch", "srcversion", "license", "description", "depends", "signature", "modinfo", "compression", "metadata"],
            Names(module));
        Assert.Equal("lpdemo_v1", module.GetProperty("name").GetString());
        Assert.Equal(123456, module.GetProperty("size").GetInt64());
        Assert.Equal("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", module.GetProperty("sha256").GetString());
        Assert.Equal("6.1.0-56-amd64 SMP preempt mod_unload modversions ", module.GetProperty("vermagic").GetString());
        Assert.True(module.GetProperty("livepatch").GetBoolean());
        Assert.Equal("GPL", module.GetProperty("license").GetString());
        Assert.Equal(0, module.GetProperty("depends").GetArrayLength());
        var signature = module.GetProperty("signature");
        Assert.Equal(["present", "signer", "keyId", "digestAlgorithm", "trusted"], Names(signature));
        Assert.True(signature.GetProperty("present").GetBoolean());
        Assert.Equal("CN=Someone Else", signature.GetProperty("signer").GetString());
        Assert.Equal("1a2b3c4d", signature.GetProperty("keyId").GetString());
        Assert.Equal("sha256", signature.GetProperty("digestAlgorithm").GetString());
        Assert.False(signature.GetProperty("trusted").GetBoolean());
        var modinfo = module.GetProperty("modinfo");
        Assert.Equal(3, modinfo.GetArrayLength());
        Assert.Equal(["key", "value"], Names(modinfo[1]));
        Assert.Equal("livepatch", modinfo[1].GetProperty("key").GetString());
        Assert.Equal("Y", modinfo[1].GetProperty("value").GetString());
    }

    [Fact]
    public void Verify_document_carries_the_kernel_policy_and_its_warnings()
    {
        using var json = Verify(ProtocolSamples.UntrustedSigner());
        var policy = json.RootElement.GetProperty("kernelPolicy");

        Assert.Equal(["sigEnforce", "lockdown", "modulesDisabled", "warnings"], Names(policy));
        Assert.False(policy.GetProperty("sigEnforce").GetBoolean());
        Assert.Equal("none", policy.GetProperty("lockdown").GetString());
        Assert.False(policy.GetProperty("modulesDisabled").GetBoolean());
        Assert.Contains("no signer is trusted", policy.GetProperty("warnings")[0].GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_document_of_a_passing_module_has_null_reason()
    {
        using var json = Verify(ProtocolSamples.Trusted());

        Assert.True(json.RootElement.GetProperty("ok").GetBoolean());
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("reason").ValueKind);
        Assert.True(json.RootElement.GetProperty("module").GetProperty("signature").GetProperty("trusted").GetBoolean());
    }

    [Fact]
    public void Verify_document_of_garbage_has_null_for_what_could_not_be_read()
    {
        using var json = Verify(ProtocolSamples.Garbage());
        var module = json.RootElement.GetProperty("module");
        var policy = json.RootElement.GetProperty("kernelPolicy");

        Assert.Equal("module-malformed", json.RootElement.GetProperty("reason").GetString());
        Assert.Equal(JsonValueKind.Null, module.GetProperty("name").ValueKind);
        Assert.Equal(JsonValueKind.Null, module.GetProperty("vermagic").ValueKind);
        Assert.Equal(7, module.GetProperty("size").GetInt32());
        Assert.Equal(JsonValueKind.Null, module.GetProperty("signature").GetProperty("signer").ValueKind);
        Assert.Equal(JsonValueKind.Null, policy.GetProperty("sigEnforce").ValueKind);
        Assert.Equal(JsonValueKind.Null, policy.GetProperty("lockdown").ValueKind);
        Assert.Equal(JsonValueKind.Null, policy.GetProperty("modulesDisabled").ValueKind);
    }

    [Fact]
    public void Verify_table_shows_the_module_facts_aligned()
    {
        var text = TableOutput.Verification(ProtocolSamples.UntrustedSigner(), "lpdemo_v1.ko");

        Assert.Contains("File:           lpdemo_v1.ko\n", text, StringComparison.Ordinal);
        Assert.Contains("Module:         lpdemo_v1\n", text, StringComparison.Ordinal);
        Assert.Contains("Size:           123456 bytes\n", text, StringComparison.Ordinal);
        Assert.Contains("SHA-256:        9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n", text, StringComparison.Ordinal);
        Assert.Contains("Vermagic:       6.1.0-56-amd64 SMP preempt mod_unload modversions\n", text, StringComparison.Ordinal);
        Assert.Contains("Livepatch:      yes\n", text, StringComparison.Ordinal);
        Assert.Contains("Depends:        none\n", text, StringComparison.Ordinal);
        Assert.Contains("Signature:      signed by CN=Someone Else (key id 1a2b3c4d), digest sha256; NOT trusted\n", text, StringComparison.Ordinal);
        Assert.Contains("Kernel policy:  signature enforcement off, lockdown none, module loading allowed\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_table_has_one_row_per_check_with_pass_fail_or_skip()
    {
        var text = TableOutput.Verification(ProtocolSamples.UntrustedSigner(), "lpdemo_v1.ko");
        var lines = text.Split('\n');
        var header = Array.FindIndex(lines, l => l.StartsWith("CHECK ", StringComparison.Ordinal));

        Assert.True(header > 0, text);
        Assert.Matches("^CHECK +RESULT +DETAIL$", lines[header]);
        var rows = lines.Skip(header + 1).TakeWhile(l => l.Length > 0).ToArray();
        Assert.Equal(8, rows.Length);
        Assert.Matches("^elf +pass +ELF64 relocatable object", rows[0]);
        Assert.Matches("^vermagic-flags +skip +no module of the running kernel", rows[3]);
        Assert.Matches(@"^signature +FAIL +signed by ""CN=Someone Else"", which is not a trusted signer \(untrusted-signer\)$", rows[6]);
        // The RESULT column lines up.
        var result = lines[header].IndexOf("RESULT", StringComparison.Ordinal);
        Assert.All(rows, r => Assert.NotEqual(' ', r[result]));
    }

    [Fact]
    public void Verify_table_ends_with_the_warnings_and_the_verdict()
    {
        var failed = TableOutput.Verification(ProtocolSamples.UntrustedSigner(), "lpdemo_v1.ko");
        var passed = TableOutput.Verification(ProtocolSamples.Trusted(), "lpdemo_v1.ko");

        Assert.Contains("\nwarning: the trusted certificate directory /etc/livepatchd/trusted.d does not exist, so no signer is trusted\n", failed, StringComparison.Ordinal);
        Assert.EndsWith("\nResult: FAILED at check signature (untrusted-signer)\n", failed, StringComparison.Ordinal);
        Assert.DoesNotContain("warning:", passed, StringComparison.Ordinal);
        Assert.EndsWith("\nResult: passed: a load would pass verification\n", passed, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_table_without_a_failed_check_still_gives_the_reason_and_message()
    {
        var response = ProtocolSamples.UntrustedSigner();
        response.Checks.Clear();

        var text = TableOutput.Verification(response, "lpdemo_v1.ko");

        Assert.EndsWith("\nResult: FAILED (untrusted-signer): module \"lpdemo_v1\" is signed by \"CN=Someone Else\", which is not a trusted signer\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Verify_table_has_no_trailing_blanks()
    {
        var text = TableOutput.Verification(ProtocolSamples.UntrustedSigner(), "lpdemo_v1.ko");

        Assert.All(text.Split('\n'), l => Assert.False(l.EndsWith(' '), $"trailing blank in \"{l}\""));
    }

    [Fact]
    public void Verify_table_of_garbage_shows_only_the_facts_it_has()
    {
        var text = TableOutput.Verification(ProtocolSamples.Garbage(), "/tmp/junk");

        Assert.Contains("Module:         unknown (the file is not a well-formed kernel module)\n", text, StringComparison.Ordinal);
        Assert.Contains("Size:           7 bytes\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Vermagic:", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Livepatch:", text, StringComparison.Ordinal);
        Assert.Contains("Signature:      none (no appended signature)\n", text, StringComparison.Ordinal);
        Assert.Contains("Kernel policy:  signature enforcement unknown, lockdown unknown, module loading unknown\n", text, StringComparison.Ordinal);
        Assert.Matches("(?m)^elf +FAIL +not an ELF file: the magic bytes are 67 61 72 62 \\(module-malformed\\)$", text);
        Assert.Matches("(?m)^livepatch +skip +skipped: ", text);
    }

    [Fact]
    public void Load_document_has_the_contract_fields_with_the_patch_and_the_verification()
    {
        using var json = Parse(JsonOutput.Document(JsonOutput.ToDocument(ProtocolSamples.Loaded()), LpctlJsonContext.Default.LoadDocument));
        var root = json.RootElement;

        Assert.Equal(["schemaVersion", "name", "transitionCompleted", "elapsedSeconds", "message", "patch", "verification", "operation", "result", "error", "removedLeftovers"], Names(root));
        Assert.Equal(1, root.GetProperty("schemaVersion").GetInt32());
        Assert.Equal("lpdemo_v1", root.GetProperty("name").GetString());
        Assert.True(root.GetProperty("transitionCompleted").GetBoolean());
        Assert.Equal(1.234, root.GetProperty("elapsedSeconds").GetDouble());
        Assert.Equal("loaded lpdemo_v1: patching complete", root.GetProperty("message").GetString());
        // The same patch object as list and info.
        var patch = root.GetProperty("patch");
        Assert.Equal(["name", "state", "enabled", "transition", "replace", "stackOrder", "objects", "module", "forced", "stackOrderSource", "metadata"], Names(patch));
        Assert.Equal("enabled", patch.GetProperty("state").GetString());
        // The same document as verify, without schemaVersion.
        var verification = root.GetProperty("verification");
        Assert.Equal(["ok", "reason", "message", "checks", "module", "kernelPolicy"], Names(verification));
        Assert.True(verification.GetProperty("ok").GetBoolean());
        Assert.Equal(8, verification.GetProperty("checks").GetArrayLength());
        Assert.Equal("CN=LivePatchAgent test", verification.GetProperty("module").GetProperty("signature").GetProperty("signer").GetString());
    }

    [Fact]
    public void Load_document_of_a_patch_that_already_left_has_null_patch()
    {
        var response = ProtocolSamples.Loaded();
        response.Patch = null;
        response.Verification = null;

        using var json = Parse(JsonOutput.Document(JsonOutput.ToDocument(response), LpctlJsonContext.Default.LoadDocument));

        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("patch").ValueKind);
        Assert.Equal(JsonValueKind.Null, json.RootElement.GetProperty("verification").ValueKind);
    }

    [Fact]
    public void Load_table_shows_name_state_elapsed_signer_and_the_result()
    {
        var operation = Operations.Finished("load", OperationResultKind.Completed, "loaded lpdemo_v1: patching complete");
        operation.Load = ProtocolSamples.Loaded();

        Assert.Equal(
            "Patch:    lpdemo_v1\n"
            + "State:    enabled\n"
            + "Elapsed:  1.2s\n"
            + "Signer:   CN=LivePatchAgent test (key id 1a2b3c4d)\n"
            + "SHA-256:  9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n"
            + "completed: loaded lpdemo_v1: patching complete (3.2s)\n",
            OperationOutput.Table(operation));
    }

    [Theory]
    [InlineData(OperationResultKind.Completed, 0)]
    [InlineData(OperationResultKind.NotWaited, 0)]
    [InlineData(OperationResultKind.Forced, 5)]
    [InlineData(OperationResultKind.Reversed, 1)]
    [InlineData(OperationResultKind.StillRunning, 1)]
    [InlineData(OperationResultKind.Refused, 1)]
    [InlineData(OperationResultKind.Failed, 1)]
    [InlineData(OperationResultKind.Cancelled, 1)]
    [InlineData(OperationResultKind.Interrupted, 1)]
    public void The_exit_code_and_the_result_line_come_from_the_daemons_result_alone(OperationResultKind kind, int exit)
    {
        // The patch in the detail says "enabled" whatever the result: lpctl must not derive the outcome from it.
        var operation = Operations.Finished("load", kind, "what the daemon said");
        operation.Load = ProtocolSamples.Loaded();

        Assert.Equal(exit, LivePatchAgent.Cli.ExitCodes.For(operation.Result));
        Assert.Contains($"\n{OperationOutput.KindText(kind)}: what the daemon said (3.2s)\n", OperationOutput.Table(operation), StringComparison.Ordinal);
    }

    [Fact]
    public void A_forced_load_names_the_tasks_that_may_still_run_the_old_code()
    {
        var operation = Operations.Finished("load", OperationResultKind.Forced, "loaded lpdemo_v3, but its transition completed only because livepatchd (Transitions:OnStall=force) forced it");
        operation.Result.Reason = "transition-forced";
        operation.Result.OldCodeTasks.Add("cat (pid 1234)");
        operation.Load = ProtocolSamples.Loaded();

        var text = OperationOutput.Table(operation);
        using var json = Parse(OperationOutput.Json(operation, null));

        Assert.Contains("forced: loaded lpdemo_v3, but its transition completed only because", text, StringComparison.Ordinal);
        Assert.Contains("may still run the old code: cat (pid 1234) (restart them to be sure)\n", text, StringComparison.Ordinal);
        Assert.Equal("forced", json.RootElement.GetProperty("result").GetProperty("kind").GetString());
        Assert.Equal("transition-forced", json.RootElement.GetProperty("result").GetProperty("reason").GetString());
        Assert.Equal("cat (pid 1234)", json.RootElement.GetProperty("result").GetProperty("oldCodeTasks")[0].GetString());
    }

    [Fact]
    public void Unload_document_has_the_contract_fields()
    {
        var response = new UnloadPatchResponse
        {
            Name = "lpdemo_v1",
            WasLeftover = true,
            Elapsed = Duration.FromTimeSpan(TimeSpan.FromMilliseconds(87.65)),
            Message = "removed leftover module lpdemo_v1",
        };

        using var json = Parse(JsonOutput.Document(JsonOutput.ToDocument(response), LpctlJsonContext.Default.UnloadDocument));
        var root = json.RootElement;

        Assert.Equal(["schemaVersion", "name", "wasLeftover", "elapsedSeconds", "message", "operation", "result", "error"], Names(root));
        Assert.Equal("lpdemo_v1", root.GetProperty("name").GetString());
        Assert.True(root.GetProperty("wasLeftover").GetBoolean());
        Assert.Equal(0.088, root.GetProperty("elapsedSeconds").GetDouble());
        Assert.Equal("removed leftover module lpdemo_v1", root.GetProperty("message").GetString());
    }

    [Fact]
    public void Unload_table_is_the_result_line_with_the_elapsed_time()
    {
        var operation = Operations.Finished("unload", OperationResultKind.Completed, "unloaded lpdemo_v1");
        operation.Unload = new UnloadPatchResponse { Name = "lpdemo_v1", Message = "unloaded lpdemo_v1" };

        Assert.Equal("completed: unloaded lpdemo_v1 (3.2s)\n", OperationOutput.Table(operation));
    }

    [Fact]
    public void List_table_has_a_leftover_section_after_the_patches()
    {
        var response = new ListPatchesResponse
        {
            Patches = { ProtocolSamples.DemoPatch() },
            Leftovers = { ProtocolSamples.Leftover("lpdemo_old"), new LeftoverModule { Name = "lpdemo_unread_facts" } },
        };

        var lines = TableOutput.PatchList(response).TrimEnd('\n').Split('\n');

        Assert.Equal(
        [
            "NAME       STATE    OBJECTS  FUNCTIONS  REPLACE  ORDER  REFCNT  TAINT  CVES  METADATA",
            "lpdemo_v1  enabled  1        1          -        -      1       OEK    ?     ?",
            "",
            "leftover modules (replaced or disabled, still loaded; remove with lpctl unload NAME):",
            "NAME                 REFCNT  TAINT  SRCVERSION               INITSTATE",
            "lpdemo_old           0       OEK    FEDCBA9876543210FEDCBA9  live",
            "lpdemo_unread_facts  -       -      -                        -",
        ],
            lines);
    }

    [Fact]
    public void List_table_with_only_leftovers_says_no_patch_is_loaded_and_lists_them()
    {
        var response = new ListPatchesResponse { Leftovers = { ProtocolSamples.Leftover("lpdemo_old") } };

        var text = TableOutput.PatchList(response);

        Assert.StartsWith("no live patches loaded\n\nleftover modules (", text, StringComparison.Ordinal);
        Assert.Contains("\nlpdemo_old  0       OEK", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Status_table_shows_leftovers_only_when_there_are_some()
    {
        var status = ProtocolSamples.IdleStatus();
        var none = TableOutput.Status(status, TimeZoneInfo.Utc);
        status.LeftoverCount = 1;
        var one = TableOutput.Status(status, TimeZoneInfo.Utc);

        Assert.DoesNotContain("Leftovers:", none, StringComparison.Ordinal);
        Assert.Contains("Patches:                1 (1 enabled)\nLeftovers:              1 module (replaced or disabled, still loaded; see `lpctl list`)\n", one, StringComparison.Ordinal);
    }

    private static JsonDocument Verify(VerifyModuleResponse response) =>
        Parse(JsonOutput.Document(JsonOutput.ToDocument(response), LpctlJsonContext.Default.VerifyDocument));

    private static JsonDocument Parse(string text) => JsonDocument.Parse(text);

    private static string[] Names(JsonElement element) => [.. element.EnumerateObject().Select(p => p.Name)];
}
