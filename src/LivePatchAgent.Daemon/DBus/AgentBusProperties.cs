using System.Collections.Frozen;
using System.Collections.Immutable;
using Tmds.DBus.Protocol;

namespace LivePatchAgent.Daemon.DBus;

/// <summary>How a property announces changes (org.freedesktop.DBus.Property.EmitsChangedSignal).</summary>
internal enum ChangeSignal
{
    /// <summary>PropertiesChanged carries the new value.</summary>
    True,

    /// <summary>Never changes while the process lives.</summary>
    Const,

    /// <summary>Changes without a signal; read it when needed.</summary>
    False,
}

/// <summary>Writes a property value as a variant. MessageWriter is a ref struct that carries its position: always by ref.</summary>
internal delegate void VariantWriter(ref MessageWriter writer, AgentBusState state, DateTimeOffset now);

/// <summary>One read-only property: its D-Bus type, how it announces changes, how to write and compare it.</summary>
internal sealed class AgentBusProperty
{
    private readonly VariantWriter _write;
    private readonly Func<AgentBusState, AgentBusState, bool> _same;

    private AgentBusProperty(
        string name, string signature, ChangeSignal emits,
        VariantWriter write, Func<AgentBusState, AgentBusState, bool> same)
    {
        Name = name;
        Signature = signature;
        Emits = emits;
        _write = write;
        _same = same;
    }

    public string Name { get; }

    public string Signature { get; }

    public ChangeSignal Emits { get; }

    /// <summary>Writes the value as a variant; <paramref name="now"/> serves values computed at read time.</summary>
    public void WriteVariant(ref MessageWriter writer, AgentBusState state, DateTimeOffset now) => _write(ref writer, state, now);

    public bool Changed(AgentBusState before, AgentBusState after) => !_same(before, after);

    public static AgentBusProperty String(string name, Func<AgentBusState, string> get, ChangeSignal emits = ChangeSignal.True) =>
        new(name, "s", emits, (ref MessageWriter w, AgentBusState s, DateTimeOffset _) => w.WriteVariantString(get(s)), (a, b) => string.Equals(get(a), get(b), StringComparison.Ordinal));

    public static AgentBusProperty Bool(string name, Func<AgentBusState, bool> get) =>
        new(name, "b", ChangeSignal.True, (ref MessageWriter w, AgentBusState s, DateTimeOffset _) => w.WriteVariantBool(get(s)), (a, b) => get(a) == get(b));

    public static AgentBusProperty UInt32(string name, Func<AgentBusState, uint> get) =>
        new(name, "u", ChangeSignal.True, (ref MessageWriter w, AgentBusState s, DateTimeOffset _) => w.WriteVariantUInt32(get(s)), (a, b) => get(a) == get(b));

    public static AgentBusProperty UInt64(string name, Func<AgentBusState, ulong> get) =>
        new(name, "t", ChangeSignal.True, (ref MessageWriter w, AgentBusState s, DateTimeOffset _) => w.WriteVariantUInt64(get(s)), (a, b) => get(a) == get(b));

    public static AgentBusProperty Computed(string name, Func<AgentBusState, DateTimeOffset, double> get) =>
        new(name, "d", ChangeSignal.False, (ref MessageWriter w, AgentBusState s, DateTimeOffset now) => w.WriteVariantDouble(get(s, now)), (_, _) => true);

    public static AgentBusProperty Strings(string name, Func<AgentBusState, ImmutableArray<string>> get) =>
        new(name, "as", ChangeSignal.True, (ref MessageWriter w, AgentBusState s, DateTimeOffset _) =>
        {
            // A variant is its signature followed by the value.
            w.WriteSignature("as");
            w.WriteArray(get(s).AsSpan());
        }, (a, b) => get(a).SequenceEqual(get(b), StringComparer.Ordinal));
}

/// <summary>The properties of org.livepatchd.Agent1, in the order of the XML contract.</summary>
internal static class AgentBusProperties
{
    public static ImmutableArray<AgentBusProperty> All { get; } =
    [
        AgentBusProperty.String("Version", s => s.Version, ChangeSignal.Const),
        AgentBusProperty.String("KernelRelease", s => s.KernelRelease),
        AgentBusProperty.Bool("LivepatchSupported", s => s.LivepatchSupported),
        AgentBusProperty.String("State", s => s.State),
        AgentBusProperty.String("TransitionPatch", s => s.TransitionPatch),
        AgentBusProperty.UInt64("TransitionStartedAt", s => UnixMicroseconds(s.TransitionStartedAt)),
        AgentBusProperty.Computed("TransitionSeconds", (s, now) => s.TransitionSecondsAt(now)),
        AgentBusProperty.UInt32("TransitionTasksTotal", s => s.TransitionTasksTotal),
        AgentBusProperty.UInt32("TransitionTasksPending", s => s.TransitionTasksPending),
        AgentBusProperty.String("TransitionBlocking", s => s.TransitionBlocking),
        AgentBusProperty.UInt32("PatchCount", s => s.PatchCount),
        AgentBusProperty.UInt32("EnabledPatchCount", s => s.EnabledPatchCount),
        AgentBusProperty.Strings("ForcedPatches", s => s.ForcedPatches),
        AgentBusProperty.UInt64("TaintMask", s => s.TaintMask),
        AgentBusProperty.String("TaintFlags", s => s.TaintFlags),
        AgentBusProperty.String("LastError", s => s.LastError),
        AgentBusProperty.UInt32("OpenCveCount", s => s.OpenCveCount),
        AgentBusProperty.String("HighestOpenSeverity", s => s.HighestOpenSeverity),
        AgentBusProperty.UInt32("FixedLiveCveCount", s => s.FixedLiveCveCount),
        AgentBusProperty.String("EffectiveKernelVersion", s => s.EffectiveKernelVersion),
        AgentBusProperty.String("KernelLockdown", s => s.KernelLockdown),
        AgentBusProperty.String("SignatureEnforcement", s => s.SignatureEnforcement),
        AgentBusProperty.Strings("DegradedReasons", s => s.DegradedReasons),
        AgentBusProperty.UInt64("UpdatedAt", s => UnixMicroseconds(s.UpdatedAt)),
    ];

    public static FrozenDictionary<string, AgentBusProperty> ByName { get; } =
        All.ToFrozenDictionary(p => p.Name, StringComparer.Ordinal);

    /// <summary>Microseconds since the Unix epoch, as systemd's timestamps; 0 for "none".</summary>
    public static ulong UnixMicroseconds(DateTimeOffset? time) =>
        time is { } t && t > DateTimeOffset.UnixEpoch ? (ulong)((t - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond) : 0;

    /// <summary>
    /// The properties whose announced value differs between two states, UpdatedAt excluded (the caller moves it
    /// when anything else changed). Const and non-signalling properties never appear.
    /// </summary>
    public static ImmutableArray<AgentBusProperty> ChangedBetween(AgentBusState before, AgentBusState after) =>
        [.. All.Where(p => p.Emits == ChangeSignal.True && p.Name != "UpdatedAt" && p.Changed(before, after))];
}
