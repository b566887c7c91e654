using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.Modules;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.Store;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Unit.Tests.Daemon.Store;

/// <summary>
/// The records of patches livepatchd loaded in this boot (loaded-patches.json): what a restart of the daemon reads
/// back, and what it drops.
/// </summary>
public sealed class LoadedPatchStoreTests : IDisposable
{
    private const string ThisBoot = "3f1c2a9e-1d2b-4c5d-8e9f-0a1b2c3d4e5f";
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 9, 0, 0, TimeSpan.Zero);
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("lpa-loaded-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static KernelSnapshot Snapshot(DateTimeOffset takenAt, params string[] patches) => new()
    {
        TakenAt = takenAt,
        Kernel = new KernelFacts { Release = "6.1.0-56-amd64", BootId = ThisBoot, LivepatchSupported = true },
        Patches = [.. patches.Select(p => new LivePatch { Name = p, Enabled = true, Transition = false })],
    };

    private static LoadedPatchRecord Record(string name, DateTimeOffset loadedAt) =>
        new(name, new string('a', 64), PatchMetadata.None, PatchMetadata.FromOperator("made-up fix", ["CVE-2099-0001"], 3), loadedAt)
        {
            BootId = ThisBoot,
        };

    private LoadedPatchStore Open(StateStore store) =>
        new(Options.Create(new PathsOptions { StateDir = _dir.FullName }), store, NullLogger<LoadedPatchStore>.Instance);

    private string FilePath => Path.Combine(_dir.FullName, "loaded-patches.json");

    [Fact]
    public void A_restart_reads_back_the_records_of_modules_still_loaded_and_drops_the_others()
    {
        var store = new StateStore();
        store.Update(Snapshot(T0));
        var records = Open(store);
        records.Load();
        records.Record(Record("lp_kept", T0.AddSeconds(1)));
        records.Record(Record("lp_gone", T0.AddSeconds(2)));

        var restarted = new StateStore();
        restarted.Update(Snapshot(T0.AddMinutes(1), "lp_kept"));
        Open(restarted).Load();

        Assert.Equal(["lp_kept"], restarted.Current.LoadedPatches.Keys);
        Assert.Equal(["CVE-2099-0001"], restarted.Current.MetadataOf(restarted.Current.Snapshot.Patches[0])!.CveIds.ToArray());
        Assert.DoesNotContain("lp_gone", File.ReadAllText(FilePath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_poll_published_before_a_load_never_erases_the_loads_record_from_the_file()
    {
        // The interleaving of a busy machine, made deterministic: a poll publishes a view taken before the load and
        // is held in its Changed handlers; meanwhile the load records its module; then the poll's handlers go on with
        // the older view, which lacks the record.
        var store = new StateStore();
        store.Update(Snapshot(T0));
        using var pollHeld = new ManualResetEventSlim();
        using var loadDone = new ManualResetEventSlim();
        var pollThread = -1;
        store.Changed += _ =>
        {
            if (Environment.CurrentManagedThreadId == Volatile.Read(ref pollThread))
            {
                pollHeld.Set();
                Assert.True(loadDone.Wait(TimeSpan.FromSeconds(30)));
            }
        };
        var records = Open(store);
        records.Load();

        var poll = Task.Factory.StartNew(() =>
        {
            Volatile.Write(ref pollThread, Environment.CurrentManagedThreadId);
            store.Update(Snapshot(T0.AddSeconds(1)));
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        Assert.True(pollHeld.Wait(TimeSpan.FromSeconds(30)));
        records.Record(Record("lp_unit", T0.AddSeconds(2)));
        loadDone.Set();
        await poll.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Contains("lp_unit", File.ReadAllText(FilePath), StringComparison.Ordinal);
        var restarted = new StateStore();
        restarted.Update(Snapshot(T0.AddMinutes(1), "lp_unit"));
        Open(restarted).Load();
        Assert.Equal(["lp_unit"], restarted.Current.LoadedPatches.Keys);
    }

    [Fact]
    public void A_module_removed_while_the_daemon_runs_leaves_the_file()
    {
        var store = new StateStore();
        store.Update(Snapshot(T0));
        var records = Open(store);
        records.Load();
        records.Record(Record("lp_unit", T0.AddSeconds(1)));
        store.Update(Snapshot(T0.AddSeconds(2), "lp_unit"));
        Assert.Contains("lp_unit", File.ReadAllText(FilePath), StringComparison.Ordinal);

        store.Update(Snapshot(T0.AddSeconds(3)));

        Assert.Empty(store.Current.LoadedPatches);
        Assert.DoesNotContain("lp_unit", File.ReadAllText(FilePath), StringComparison.Ordinal);
    }
}
