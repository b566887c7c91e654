namespace LivePatchAgent.Daemon.Operations;

/// <summary>
/// The one-writer rule, in one place.
/// <list type="bullet">
/// <item>Serialised: every kernel mutation (finit_module, delete_module, a write to a patch's <c>enabled</c>,
/// <c>force</c> or <c>signal</c>, the SIGSTOP/SIGCONT of a kick) runs under this gate, together with the checks that
/// must see the same kernel state. Two mutations never interleave, and each holds the gate for milliseconds.</item>
/// <item>Interleaved: everything an operation waits for (another patch's transition, its own transition, a module
/// reference to drop) is waited for outside the gate, in <c>KernelWatcher.WaitForAsync</c>. So while a load waits for
/// its transition, a revert, force or kick can act on that very transition, and other operations can verify,
/// install or queue.</item>
/// <item>The kernel runs one transition at a time: a load waits until no transition is running before it hands
/// the module over, and retries if one slipped in (EBUSY).</item>
/// </list>
/// docs/architecture.md ("The write path") states the same rule with the picture of the data flow.
/// </summary>
internal sealed class KernelGate : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>
    /// Held by every snapshot the watcher takes, and by finit_module. The kernel creates a patch's sysfs directory
    /// before it may refuse the patch (EBUSY while another transition runs) and removes it again; a snapshot taken
    /// meanwhile would report a patch that never was. Lock order: the gate, then this.
    /// </summary>
    public Lock SnapshotLock { get; } = new();

    public void Dispose() => _gate.Dispose();

    /// <summary>Runs one mutation under the gate.</summary>
    public async Task<T> MutateAsync<T>(Func<T> mutation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mutation);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return mutation();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs one mutation under the gate.</summary>
    public Task MutateAsync(Action mutation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mutation);
        return MutateAsync(() =>
        {
            mutation();
            return true;
        }, cancellationToken);
    }

    /// <summary>Runs finit_module (<paramref name="load"/>) under the gate, with no snapshot taken meanwhile.</summary>
    public Task<int> LoadModuleAsync(Func<int> load, CancellationToken cancellationToken) => MutateAsync(() =>
    {
        lock (SnapshotLock)
        {
            return load();
        }
    }, cancellationToken);
}
