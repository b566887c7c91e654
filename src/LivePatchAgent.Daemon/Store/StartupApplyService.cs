using System.Threading.Channels;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Configuration;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Store;

/// <summary>
/// Runs start-up apply once the first snapshot is in, again whenever the watcher sees another kernel (release or
/// boot id), and when an uninstall lifts the crash-loop guard. It runs in the background: the daemon serves
/// (and lpctl status shows the progress) while transitions complete.
/// </summary>
internal sealed class StartupApplyService(
    PatchInstaller installer,
    PatchApplier applier,
    StartupApplyState startup,
    StateStore state,
    IOptions<ApplyOptions> options,
    ILogger<StartupApplyService> logger) : BackgroundService
{
    private readonly Channel<string> _triggers = Channel.CreateBounded<string>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private (string? Release, string? BootId) _kernel;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            var removed = installer.Store.RemoveTemporaryFiles();
            if (removed > 0)
            {
                StoreLog.TemporaryFilesRemoved(logger, removed);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Only housekeeping: the store's readers ignore temporary files anyway.
            StoreLog.StoreProblem(logger, $"cannot remove temporary files under {installer.Store.Root}: {e.Message}");
        }

        var kernel = state.Current.Snapshot.Kernel;
        _kernel = (kernel.Release, kernel.BootId);
        _triggers.Writer.TryWrite("start");
        state.Changed += OnStateChanged;
        startup.GuardLifted += OnGuardLifted;
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        state.Changed -= OnStateChanged;
        startup.GuardLifted -= OnGuardLifted;
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await foreach (var trigger in _triggers.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                await applier.RunStartupApplyAsync(trigger, options.Value.AtStartup, stoppingToken).ConfigureAwait(false);
            }
            catch (AgentException e)
            {
                // E.g. no livepatch support: reported, and the daemon serves on.
                StoreLog.StartupApplyFailed(logger, e.Reason.Code, e.Message);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private void OnStateChanged(AgentView view)
    {
        var kernel = (view.Snapshot.Kernel.Release, view.Snapshot.Kernel.BootId);
        if (kernel == _kernel)
        {
            return;
        }

        _kernel = kernel;
        _triggers.Writer.TryWrite("kernel changed");
    }

    private void OnGuardLifted() => _triggers.Writer.TryWrite("crash-loop guard lifted");
}
