using System.Collections.Immutable;
using LivePatchAgent.Core.State;

namespace LivePatchAgent.Daemon.DBus;

/// <summary>A signal of org.livepatchd.Agent1 with its arguments.</summary>
internal abstract record AgentBusSignal
{
    public abstract string Member { get; }
}

internal sealed record PatchStateChangedSignal(string Name, string State) : AgentBusSignal
{
    public override string Member => "PatchStateChanged";
}

internal sealed record TransitionStalledSignal(string Patch, uint BlockingTasks, double Seconds) : AgentBusSignal
{
    public override string Member => "TransitionStalled";
}

internal sealed record KernelChangedSignal(string Release) : AgentBusSignal
{
    public override string Member => "KernelChanged";
}

internal sealed record KernelHealthReportSignal(string Kind, string Patch, string Attribution, string Action, string Summary) : AgentBusSignal
{
    public override string Member => "KernelHealthReport";
}

/// <summary>What one new view means on the bus: the properties that changed (with UpdatedAt) and the signals.</summary>
internal sealed record AgentBusUpdate(AgentBusState State, ImmutableArray<AgentBusProperty> ChangedProperties, ImmutableArray<AgentBusSignal> Signals)
{
    public bool IsEmpty => ChangedProperties.IsEmpty && Signals.IsEmpty;
}

/// <summary>
/// The bus view of the <see cref="StateStore"/>: the last view and property values announced, and what each new
/// view changes. It is kept whether or not the bus is connected, so a reconnect serves current values at once.
/// </summary>
internal sealed class AgentBusModel
{
    private readonly Lock _lock = new();
    private readonly string _version;
    private AgentView _view;
    private AgentBusState _state;

    public AgentBusModel(AgentView initial, string version, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(initial);
        _version = version;
        _view = initial;
        _state = AgentBusState.From(initial, version, now);
    }

    /// <summary>The view the properties were last computed from; GetPatches and GetPatch answer from it.</summary>
    public AgentView View => Volatile.Read(ref _view);

    public AgentBusState State => Volatile.Read(ref _state);

    /// <summary>Moves to <paramref name="view"/> and returns what changed. Serialised: updates come from several threads.</summary>
    public AgentBusUpdate Apply(AgentView view, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(view);
        lock (_lock)
        {
            var before = _state;
            var after = AgentBusState.From(view, _version, before.UpdatedAt);
            var changed = AgentBusProperties.ChangedBetween(before, after);
            if (!changed.IsEmpty)
            {
                after = after with { UpdatedAt = now };
                changed = changed.Add(AgentBusProperties.ByName["UpdatedAt"]);
            }

            var signals = SignalsBetween(_view, view, now);
            Volatile.Write(ref _view, view);
            Volatile.Write(ref _state, after);
            return new AgentBusUpdate(after, changed, signals);
        }
    }

    /// <summary>The signals that the step from <paramref name="before"/> to <paramref name="after"/> sends.</summary>
    public static ImmutableArray<AgentBusSignal> SignalsBetween(AgentView before, AgentView after, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var signals = ImmutableArray.CreateBuilder<AgentBusSignal>();
        if (after.Snapshot.Kernel.IsDifferentKernelFrom(before.Snapshot.Kernel))
        {
            signals.Add(new KernelChangedSignal(after.Snapshot.Kernel.Release ?? string.Empty));
        }

        var old = before.Snapshot.Patches.ToDictionary(p => p.Name, before.StateOf, StringComparer.Ordinal);
        foreach (var patch in after.Snapshot.Patches)
        {
            var state = after.StateOf(patch);
            if (!old.Remove(patch.Name, out var previous) || previous != state)
            {
                signals.Add(new PatchStateChangedSignal(patch.Name, AgentBusState.PatchStateName(state)));
            }
        }

        foreach (var gone in old.Keys.Order(StringComparer.Ordinal))
        {
            signals.Add(new PatchStateChangedSignal(gone, "removed"));
        }

        if (before.State != AgentState.Stalled && after.State == AgentState.Stalled && after.Transition is { } transition)
        {
            signals.Add(new TransitionStalledSignal(
                transition.Patch, AgentBusState.BlockingTaskCount(after) ?? 0, transition.ElapsedAt(now).TotalSeconds));
        }

        var lastId = before.Health.Last?.Id ?? 0;
        foreach (var report in after.Health.Recent.Where(r => r.Id > lastId))
        {
            signals.Add(new KernelHealthReportSignal(Core.Health.KernelReport.Name(report.Kind), report.Attribution.Patch ?? string.Empty,
                Core.Health.Attribution.Name(report.Attribution.Basis), report.Action.ToString().ToLowerInvariant(), report.Summary));
        }

        return signals.ToImmutable();
    }
}
