using LivePatchAgent.Core;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.Modules;
using LivePatchAgent.Daemon.Journal;
using LivePatchAgent.Linux.Sysfs;
using Tmds.DBus.Protocol;

namespace LivePatchAgent.Daemon.DBus;

/// <summary>
/// The object /org/livepatchd/Agent1: org.livepatchd.Agent1 plus org.freedesktop.DBus.Properties and
/// Introspectable (Tmds.DBus.Protocol answers Peer itself). Read-only, answered synchronously from the
/// <see cref="AgentBusModel"/> (GetHistory from the audit journal). The only kernel reads are GetPatch's two
/// module attributes (refcnt, initstate), which the poll leaves out (<see cref="KernelSnapshotReader.WithModuleState"/>).
/// </summary>
internal sealed class AgentObject(AgentBusModel model, AuditJournal journal, KernelSnapshotReader reader, TimeProvider timeProvider, ILogger<AgentObject> logger) : IPathMethodHandler
{
    private const string PropertiesInterface = "org.freedesktop.DBus.Properties";

    // Interfaces without properties of their own: GetAll on them is an empty dictionary, not an error, because
    // some clients (busctl introspect) ask every interface the object lists.
    private static readonly string[] PropertylessInterfaces =
        ["org.freedesktop.DBus.Introspectable", "org.freedesktop.DBus.Peer", PropertiesInterface];

    public string Path => AgentBusContract.ObjectPath;

    public bool HandlesChildPaths => false;

    public ValueTask HandleMethodAsync(MethodContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        try
        {
            if (context.IsDBusIntrospectRequest)
            {
                context.ReplyIntrospectXml([AgentBusContract.InterfaceXml, IntrospectionXml.DBusProperties]);
            }
            else if (context.IsPropertiesInterfaceRequest)
            {
                HandleProperties(context);
            }
            else if (!context.Request.InterfaceIsSet || context.Request.InterfaceAsString == AgentBusContract.Interface)
            {
                HandleAgent(context);
            }

            // Anything else is left unanswered: disposing the context replies UnknownMethod.
        }
        catch (AgentException e)
        {
            context.ReplyError(AgentBusContract.ErrorName(e.Reason), e.Message);
        }
        catch (Exception e)
        {
            // The boundary of the bus: whatever else escapes a member is a bug; the caller gets the catalogued
            // "internal" error and the journal gets the details, and the connection keeps serving.
            DBusLog.MethodFailed(logger, context.Request.MemberAsString ?? "?", e);
            context.ReplyError(AgentBusContract.ErrorName(ErrorReason.Internal), "livepatchd met an unexpected condition; see journalctl -u livepatchd");
        }

        return default;
    }

    private void HandleAgent(MethodContext context)
    {
        var member = context.Request.MemberAsString ?? string.Empty;
        if (!AgentBusContract.Methods.TryGetValue(member, out var signature))
        {
            return;
        }

        var actual = context.Request.SignatureAsString ?? string.Empty;
        if (actual != signature.In)
        {
            context.ReplyError("org.freedesktop.DBus.Error.InvalidArgs",
                $"{member} takes \"{signature.In}\", not \"{actual}\"");
            return;
        }

        switch (member)
        {
            case "GetPatches":
                ReplyPatches(context);
                break;
            case "GetPatch":
                ReplyPatch(context, context.Request.GetBodyReader().ReadString());
                break;
            case "GetHistory":
                ReplyHistory(context, context.Request.GetBodyReader().ReadUInt32());
                break;
        }
    }

    private void ReplyHistory(MethodContext context, uint requested)
    {
        // The same limits and message as the gRPC GetHistory.
        var limit = requested == 0 ? JournalHistory.DefaultLimit : (int)Math.Min(requested, int.MaxValue);
        if (limit > JournalHistory.MaxLimit)
        {
            throw new AgentException(ErrorReason.InvalidArgument, $"limit {requested} is out of range [1, {JournalHistory.MaxLimit}]");
        }

        var (selected, _) = JournalHistory.Select(JournalHistory.Operations(journal.Read().Entries), since: null, patch: null, limit);
        var writer = context.CreateReplyWriter(AgentBusContract.Methods["GetHistory"].Out);
        try
        {
            var array = writer.WriteArrayStart(DBusType.Struct);
            foreach (var operation in selected.Reverse())
            {
                writer.WriteStructureStart();
                writer.WriteUInt64(AgentBusProperties.UnixMicroseconds(operation.Time));
                writer.WriteString(operation.Operation);
                writer.WriteString(operation.Patch ?? string.Empty);
                writer.WriteString(JournalHistory.OutcomeOf(operation.Finished));
                writer.WriteString(operation.Finished?.Reason ?? string.Empty);
                writer.WriteString(operation.Finished?.Message ?? string.Empty);
                writer.WriteString(operation.Started?.Caller ?? string.Empty);
            }

            writer.WriteArrayEnd(array);
            context.Reply(writer.CreateMessage());
        }
        finally
        {
            writer.Dispose();
        }
    }

    private void ReplyPatches(MethodContext context)
    {
        var view = model.View;
        var writer = context.CreateReplyWriter(AgentBusContract.Methods["GetPatches"].Out);
        try
        {
            var array = writer.WriteArrayStart(DBusType.Struct);
            foreach (var patch in view.Snapshot.Patches)
            {
                writer.WriteStructureStart();
                writer.WriteString(patch.Name);
                writer.WriteString(AgentBusState.PatchStateName(view.StateOf(patch)));
                writer.WriteBool(patch.Enabled);
                writer.WriteBool(patch.Transition);
                writer.WriteUInt32((uint)patch.Objects.Sum(o => o.Functions.Length));
            }

            writer.WriteArrayEnd(array);
            context.Reply(writer.CreateMessage());
        }
        finally
        {
            writer.Dispose();
        }
    }

    private void ReplyPatch(MethodContext context, string requested)
    {
        // The same rules and messages as the gRPC GetPatch.
        if (ModuleName.Validate(requested) is { } problem)
        {
            throw new AgentException(ErrorReason.InvalidArgument, $"invalid patch name: {problem}");
        }

        var view = model.View;
        var name = ModuleName.Normalize(requested);
        var patch = reader.WithModuleState(view.Snapshot.FindPatch(name)
            ?? throw new AgentException(ErrorReason.PatchNotFound, view.Snapshot.Kernel.LivepatchSupported
                ? $"patch \"{name}\" is not loaded"
                : $"patch \"{name}\" is not loaded: the running kernel has no livepatch support"));

        var writer = context.CreateReplyWriter(AgentBusContract.Methods["GetPatch"].Out);
        try
        {
            var dictionary = writer.WriteDictionaryStart();
            Entry(ref writer, "Name");
            writer.WriteVariantString(patch.Name);
            Entry(ref writer, "State");
            writer.WriteVariantString(AgentBusState.PatchStateName(view.StateOf(patch)));
            Entry(ref writer, "Enabled");
            writer.WriteVariantBool(patch.Enabled);
            Entry(ref writer, "Transition");
            writer.WriteVariantBool(patch.Transition);
            if (patch.Replace is { } replace)
            {
                Entry(ref writer, "Replace");
                writer.WriteVariantBool(replace);
            }

            if (patch.StackOrder is { } order and >= 0)
            {
                Entry(ref writer, "StackOrder");
                writer.WriteVariantUInt32((uint)order);
                Entry(ref writer, "StackOrderSource");
                writer.WriteVariantString(patch.StackOrderSource == StackOrderSource.Sysfs ? "kernel" : "load-order");
            }

            Entry(ref writer, "Objects");
            WriteStrings(ref writer, [.. patch.Objects.Select(o => o.Name)]);
            Entry(ref writer, "Functions");
            WriteStrings(ref writer, [.. patch.Functions.Select(DescribeFunction)]);
            if (patch.Module is { } module)
            {
                if (module.RefCount is { } refs)
                {
                    Entry(ref writer, "ModuleRefCount");
                    writer.WriteVariantInt32(refs);
                }

                WriteIfKnown(ref writer, "ModuleTaint", module.Taint);
                WriteIfKnown(ref writer, "ModuleSrcVersion", module.SrcVersion);
                WriteIfKnown(ref writer, "ModuleInitState", module.InitState);
            }

            // Only for a module livepatchd loaded in this boot: the kernel keeps no .modinfo to read back.
            if (view.MetadataOf(patch) is { } metadata)
            {
                Entry(ref writer, "CveIds");
                WriteStrings(ref writer, [.. metadata.CveIds]);
                WriteIfKnown(ref writer, "Summary", metadata.Summary);
                if (metadata.Level is { } level)
                {
                    Entry(ref writer, "Level");
                    writer.WriteVariantUInt64(level);
                }

                WriteIfKnown(ref writer, "FixesVersion", metadata.FixesVersion);
                Entry(ref writer, "MetadataSource");
                writer.WriteVariantString(PatchMetadata.Name(metadata.Source));
            }

            writer.WriteDictionaryEnd(dictionary);
            context.Reply(writer.CreateMessage());
        }
        finally
        {
            writer.Dispose();
        }
    }

    private void HandleProperties(MethodContext context)
    {
        var request = context.Request;
        switch (request.MemberAsString, request.SignatureAsString)
        {
            case ("Get", "ss"):
            {
                var reader = request.GetBodyReader();
                var iface = reader.ReadString();
                var name = reader.ReadString();
                if (Property(context, iface, name) is { } property)
                {
                    var writer = context.CreateReplyWriter("v");
                    try
                    {
                        property.WriteVariant(ref writer, model.State, timeProvider.GetUtcNow());
                        context.Reply(writer.CreateMessage());
                    }
                    finally
                    {
                        writer.Dispose();
                    }
                }

                break;
            }

            case ("GetAll", "s"):
            {
                var iface = request.GetBodyReader().ReadString();
                if (iface.Length > 0 && iface != AgentBusContract.Interface && !PropertylessInterfaces.Contains(iface))
                {
                    context.ReplyError("org.freedesktop.DBus.Error.UnknownInterface", $"the object has no interface \"{iface}\"");
                    break;
                }

                ReplyAll(context, withProperties: iface.Length == 0 || iface == AgentBusContract.Interface);
                break;
            }

            case ("Set", "ssv"):
            {
                var reader = request.GetBodyReader();
                var iface = reader.ReadString();
                var name = reader.ReadString();
                if (Property(context, iface, name) is not null)
                {
                    context.ReplyError("org.freedesktop.DBus.Error.PropertyReadOnly",
                        $"{name} is read-only: org.livepatchd.Agent1 only reports; changes go through lpctl (gRPC)");
                }

                break;
            }
        }
    }

    private void ReplyAll(MethodContext context, bool withProperties)
    {
        var writer = context.CreateReplyWriter("a{sv}");
        try
        {
            var dictionary = writer.WriteDictionaryStart();
            if (withProperties)
            {
                var state = model.State;
                var now = timeProvider.GetUtcNow();
                foreach (var property in AgentBusProperties.All)
                {
                    Entry(ref writer, property.Name);
                    property.WriteVariant(ref writer, state, now);
                }
            }

            writer.WriteDictionaryEnd(dictionary);
            context.Reply(writer.CreateMessage());
        }
        finally
        {
            writer.Dispose();
        }
    }

    /// <summary>Finds a property of our interface, or replies the matching error and returns null.</summary>
    private static AgentBusProperty? Property(MethodContext context, string iface, string name)
    {
        if (iface.Length > 0 && iface != AgentBusContract.Interface)
        {
            context.ReplyError("org.freedesktop.DBus.Error.UnknownInterface", $"the object has no interface \"{iface}\"");
            return null;
        }

        if (!AgentBusProperties.ByName.TryGetValue(name, out var property))
        {
            context.ReplyError("org.freedesktop.DBus.Error.UnknownProperty", $"{AgentBusContract.Interface} has no property \"{name}\"");
            return null;
        }

        return property;
    }

    /// <summary>Starts a dictionary entry with its key; the caller writes the variant value.</summary>
    internal static void Entry(ref MessageWriter writer, string key)
    {
        writer.WriteDictionaryEntryStart();
        writer.WriteString(key);
    }

    private static void WriteIfKnown(ref MessageWriter writer, string key, string? value)
    {
        if (value is not null)
        {
            Entry(ref writer, key);
            writer.WriteVariantString(value);
        }
    }

    private static void WriteStrings(ref MessageWriter writer, string[] values)
    {
        // A variant is its signature followed by the value.
        writer.WriteSignature("as");
        writer.WriteArray(values);
    }

    private static string DescribeFunction((PatchObject Object, PatchFunction Function) f) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{f.Object.Name}:{f.Function.Name},{f.Function.Sympos}");
}
