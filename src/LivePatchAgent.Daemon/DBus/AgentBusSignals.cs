using Tmds.DBus.Protocol;

namespace LivePatchAgent.Daemon.DBus;

/// <summary>Writes an <see cref="AgentBusUpdate"/> to the bus: PropertiesChanged first, then the signals, in order.</summary>
internal static class AgentBusSignals
{
    /// <summary>
    /// Queues the messages on <paramref name="connection"/>. Never blocks; when the connection has just closed the
    /// messages are dropped, which is what a subscriber of a vanished bus would see anyway.
    /// </summary>
    public static void Send(DBusConnection connection, AgentBusUpdate update, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(update);
        if (!update.ChangedProperties.IsEmpty)
        {
            connection.TrySendMessage(PropertiesChanged(connection, update, now));
        }

        foreach (var signal in update.Signals)
        {
            connection.TrySendMessage(Signal(connection, signal));
        }
    }

    private static MessageBuffer PropertiesChanged(DBusConnection connection, AgentBusUpdate update, DateTimeOffset now)
    {
        var writer = connection.GetMessageWriter();
        try
        {
            writer.WriteSignalHeader(null, AgentBusContract.ObjectPath, "org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as");
            writer.WriteString(AgentBusContract.Interface);
            var changed = writer.WriteDictionaryStart();
            foreach (var property in update.ChangedProperties)
            {
                AgentObject.Entry(ref writer, property.Name);
                property.WriteVariant(ref writer, update.State, now);
            }

            writer.WriteDictionaryEnd(changed);
            writer.WriteArray(Array.Empty<string>());
            return writer.CreateMessage();
        }
        finally
        {
            writer.Dispose();
        }
    }

    private static MessageBuffer Signal(DBusConnection connection, AgentBusSignal signal)
    {
        var writer = connection.GetMessageWriter();
        try
        {
            writer.WriteSignalHeader(null, AgentBusContract.ObjectPath, AgentBusContract.Interface, signal.Member, AgentBusContract.Signals[signal.Member]);
            switch (signal)
            {
                case PatchStateChangedSignal s:
                    writer.WriteString(s.Name);
                    writer.WriteString(s.State);
                    break;
                case TransitionStalledSignal s:
                    writer.WriteString(s.Patch);
                    writer.WriteUInt32(s.BlockingTasks);
                    writer.WriteDouble(s.Seconds);
                    break;
                case KernelChangedSignal s:
                    writer.WriteString(s.Release);
                    break;
                case KernelHealthReportSignal s:
                    writer.WriteString(s.Kind);
                    writer.WriteString(s.Patch);
                    writer.WriteString(s.Attribution);
                    writer.WriteString(s.Action);
                    writer.WriteString(s.Summary);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(signal), signal, "a signal the contract does not declare");
            }

            return writer.CreateMessage();
        }
        finally
        {
            writer.Dispose();
        }
    }
}
