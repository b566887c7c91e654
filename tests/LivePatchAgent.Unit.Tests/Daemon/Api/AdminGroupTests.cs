using LivePatchAgent.Daemon.Api;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Linux.Native;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace LivePatchAgent.Unit.Tests.Daemon.Api;

/// <summary>The admin group lookup never makes a call wait longer than its timeout, and a hung lookup is never repeated.</summary>
public sealed class AdminGroupTests
{
    private readonly FakeTimeProvider _time = new();

    private AdminGroup Create(Func<string, GroupLookup> lookup, string name = "lpadmins") =>
        new(Options.Create(new AccessOptions { AdminGroup = name }), _time, lookup);

    [Fact]
    public async Task A_resolved_group_gives_its_gid()
    {
        var group = Create(name => name == "lpadmins" ? GroupLookup.Found(4242) : GroupLookup.NotFound(name));

        Assert.Equal(GroupLookup.Found(4242), await group.ResolveAsync(CancellationToken.None));
    }

    [Fact]
    public async Task No_admin_group_means_no_lookup()
    {
        var group = Create(_ => throw new InvalidOperationException("no lookup expected"), name: string.Empty);

        Assert.Null(await group.ResolveAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_hung_lookup_fails_the_check_after_the_timeout_and_runs_once_for_all_waiting_checks()
    {
        using var release = new ManualResetEventSlim();
        var calls = 0;
        var group = Create(_ =>
        {
            Interlocked.Increment(ref calls);
            release.Wait(TimeSpan.FromMinutes(1));
            return GroupLookup.Found(4242);
        });

        var first = group.ResolveAsync(CancellationToken.None);
        var second = group.ResolveAsync(CancellationToken.None);
        await WaitUntilAsync(() => Volatile.Read(ref calls) == 1);
        _time.Advance(AdminGroup.LookupTimeout - TimeSpan.FromMilliseconds(1));
        Assert.False(first.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));

        var timedOut = await first.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(GroupLookupStatus.Failed, timedOut!.Status);
        Assert.Contains("did not finish within 5 s", timedOut.Problem, StringComparison.Ordinal);
        Assert.Equal(GroupLookupStatus.Failed, (await second.WaitAsync(TimeSpan.FromSeconds(30)))!.Status);

        // While the first lookup still hangs, a new check waits for it instead of starting another thread.
        var third = group.ResolveAsync(CancellationToken.None);
        release.Set();
        Assert.Equal(GroupLookup.Found(4242), await third.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(1, Volatile.Read(ref calls));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var limit = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < limit, "condition not met within 30 s");
            await Task.Delay(10);
        }
    }
}
