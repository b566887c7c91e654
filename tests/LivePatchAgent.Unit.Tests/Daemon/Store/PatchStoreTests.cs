using System.Security.Cryptography;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Daemon.Store;
using LivePatchAgent.Linux.Native;
using static LivePatchAgent.Unit.Tests.Daemon.Store.StoreManifests;

namespace LivePatchAgent.Unit.Tests.Daemon.Store;

public sealed class PatchStoreTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("lpa-store-");

    private string Root => Path.Combine(_dir.FullName, "patches");

    public void Dispose() => _dir.Delete(recursive: true);

    [Fact]
    public void Install_writes_the_module_and_its_manifest_in_the_release_directory()
    {
        var store = new PatchStore(Root);
        var module = Module("v1");

        var replaced = store.Install(For("lp_a", module, replace: true, version: 3), module);

        Assert.False(replaced);
        Assert.Equal(module, File.ReadAllBytes(Path.Combine(Root, Release, "lp_a.ko")));
        Assert.True(File.Exists(Path.Combine(Root, Release, "lp_a.json")));
        var listed = Assert.Single(new PatchStore(Root).List(Release, []));
        Assert.Equal("lp_a", listed.Name);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(module)), listed.Sha256);
        Assert.True(listed.Replace);
        Assert.Equal(3UL, listed.CumulativeVersion);
        Assert.Equal(["CVE-2026-1234"], listed.CveIds);
        Assert.Equal([Release], store.Releases());
    }

    [Fact]
    public void Uninstall_removes_both_files_and_reports_a_missing_patch()
    {
        var store = new PatchStore(Root);
        store.Install(For("lp_a", Module("v1")), Module("v1"));

        Assert.True(store.Uninstall(Release, "lp_a"));
        Assert.False(store.Uninstall(Release, "lp_a"));
        Assert.Empty(Directory.GetFiles(Path.Combine(Root, Release)));
    }

    [Theory]
    [InlineData("../etc")]
    [InlineData("a/b")]
    [InlineData("..")]
    [InlineData(".hidden")]
    [InlineData("")]
    public void A_release_that_is_not_a_directory_name_is_refused(string release)
    {
        var store = new PatchStore(Root);

        var e = Assert.Throws<AgentException>(() => store.ReleaseDir(release));

        Assert.Equal(ErrorReason.InvalidArgument, e.Reason);
    }

    [Fact]
    public void A_module_without_manifest_and_a_damaged_manifest_are_problems_not_installs()
    {
        var dir = Directory.CreateDirectory(Path.Combine(Root, Release)).FullName;
        File.WriteAllBytes(Path.Combine(dir, "orphan.ko"), Module("x"));
        File.WriteAllBytes(Path.Combine(dir, "broken.ko"), Module("y"));
        File.WriteAllText(Path.Combine(dir, "broken.json"), "{ not json");
        File.WriteAllText(Path.Combine(dir, "lonely.json"), "{}");
        var problems = new List<string>();

        var listed = new PatchStore(Root).List(Release, problems);

        Assert.Empty(listed);
        Assert.Contains(problems, p => p.Contains("orphan.ko has no manifest", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("damaged manifest", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Contains("lonely", StringComparison.Ordinal) && p.Contains("is missing", StringComparison.Ordinal));
    }

    [Fact]
    public void Temporary_files_left_by_a_crash_are_not_installed_and_are_removed()
    {
        var store = new PatchStore(Root);
        store.Install(For("lp_a", Module("v1")), Module("v1"));
        var dir = Path.Combine(Root, Release);
        // What a crash between write and rename leaves: the temporary files of a second install.
        File.WriteAllBytes(Path.Combine(dir, ".lp_b.ko.4242.tmp"), Module("v2"));
        File.WriteAllText(Path.Combine(dir, ".lp_b.json.4242.tmp"), "{}");
        var problems = new List<string>();

        Assert.Equal(["lp_a"], store.List(Release, problems).Select(m => m.Name));
        Assert.Empty(problems);
        Assert.Equal(2, store.RemoveTemporaryFiles());
        Assert.Equal(["lp_a.json", "lp_a.ko"], Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    /// <summary>The durable steps of an operation, recorded by a store that injects nothing.</summary>
    private List<(DurableFileStep Step, string Path)> Steps(Action<PatchStore> setup, Action<PatchStore> operation)
    {
        var steps = new List<(DurableFileStep, string)>();
        var dir = Path.Combine(_dir.FullName, "dry-" + Guid.NewGuid().ToString("N")[..8]);
        var store = new PatchStore(dir);
        setup(store);
        store.BeforeStep = (step, path) => steps.Add((step, Path.GetFileName(path)));
        operation(store);
        Directory.Delete(dir, recursive: true);
        return steps;
    }

    public static TheoryData<string> Operations => ["first install", "reinstall, same module", "reinstall, new module", "uninstall"];

    [Theory]
    [MemberData(nameof(Operations))]
    public void A_failure_at_any_step_leaves_the_old_or_no_installation_never_a_mismatch(string operation)
    {
        var v1 = Module("version one");
        var v2 = Module("version two, longer");
        Action<PatchStore> setup = operation == "first install" ? _ => { } : s => s.Install(For("lp_a", v1, minute: 1), v1);
        Action<PatchStore> act = operation switch
        {
            "first install" => s => s.Install(For("lp_a", v1), v1),
            "reinstall, same module" => s => s.Install(For("lp_a", v1, minute: 2) with { Description = "metadata update" }, v1),
            "reinstall, new module" => s => s.Install(For("lp_a", v2, minute: 2), v2),
            _ => s => s.Uninstall(Release, "lp_a"),
        };
        var steps = Steps(setup, act);
        Assert.NotEmpty(steps);

        for (var failAt = 0; failAt < steps.Count; failAt++)
        {
            var root = Path.Combine(_dir.FullName, $"run-{operation.Replace(' ', '-').Replace(',', '-')}-{failAt}");
            var store = new PatchStore(root);
            setup(store);
            var before = Snapshot(root);
            var seen = 0;
            var target = failAt;
            store.BeforeStep = (step, path) =>
            {
                if (seen++ == target)
                {
                    throw new IOException($"injected failure before {step} of {Path.GetFileName(path)}");
                }
            };

            Assert.Throws<IOException>(() => act(store));

            // A fresh reader (a restarted daemon) sees a consistent store: each manifest matches its module.
            var problems = new List<string>();
            var listed = new PatchStore(root).List(Release, problems);
            foreach (var manifest in listed)
            {
                var bytes = File.ReadAllBytes(Path.Combine(root, Release, manifest.Name + ".ko"));
                Assert.Equal(manifest.Sha256, Convert.ToHexStringLower(SHA256.HashData(bytes)));
            }

            // No temporary file is left behind by a failed step.
            Assert.DoesNotContain(Directory.GetFiles(Path.Combine(root, Release)), f => f.EndsWith(".tmp", StringComparison.Ordinal));
            var after = listed.SingleOrDefault();
            Assert.True(after is null || after.Sha256 == before?.Sha256 || after.Sha256 == Convert.ToHexStringLower(SHA256.HashData(operation == "reinstall, new module" ? v2 : v1)),
                $"failure before step {failAt} ({steps[failAt]}) left {after?.Sha256}");
            if (operation is "reinstall, same module" or "uninstall" && failAt < steps.Count && steps[failAt].Step != DurableFileStep.SyncDirectory)
            {
                // Until the manifest's rename or unlink, the old installation is intact.
                if (operation == "reinstall, same module" || failAt == 0)
                {
                    Assert.Equal(before?.Sha256, after?.Sha256);
                }
            }
        }
    }

    [Fact]
    public void The_manifest_is_written_last_and_removed_first()
    {
        var v1 = Module("one");
        var v2 = Module("two");

        var install = Steps(_ => { }, s => s.Install(For("lp_a", v1), v1));
        var reinstall = Steps(s => s.Install(For("lp_a", v1), v1), s => s.Install(For("lp_a", v2), v2));
        var uninstall = Steps(s => s.Install(For("lp_a", v1), v1), s => s.Uninstall(Release, "lp_a"));

        Assert.Equal(
            [(DurableFileStep.WriteTemp, "lp_a.ko"), (DurableFileStep.SyncTemp, "lp_a.ko"), (DurableFileStep.Rename, "lp_a.ko"), (DurableFileStep.SyncDirectory, "lp_a.ko"),
             (DurableFileStep.WriteTemp, "lp_a.json"), (DurableFileStep.SyncTemp, "lp_a.json"), (DurableFileStep.Rename, "lp_a.json"), (DurableFileStep.SyncDirectory, "lp_a.json")],
            install);
        Assert.Equal((DurableFileStep.Unlink, "lp_a.json"), reinstall[0]);
        Assert.Equal((DurableFileStep.Rename, "lp_a.json"), reinstall[^2]);
        Assert.Equal((DurableFileStep.Unlink, "lp_a.json"), uninstall[0]);
        Assert.Equal((DurableFileStep.Unlink, "lp_a.ko"), uninstall[2]);
    }

    private static InstalledPatchManifest? Snapshot(string root) => new PatchStore(root).List(Release, []).SingleOrDefault();
}
