using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Configuration;

/// <summary>The D-Bus monitoring interface.</summary>
public sealed class DBusOptions
{
    public const string SectionName = "DBus";

    /// <summary>Whether to publish org.livepatchd.Agent1; --no-dbus turns it off.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The bus address (e.g. "unix:path=/run/dbus/system_bus_socket"); empty means the system bus.</summary>
    [RegularExpression("^$|^[a-z]+:.+", ErrorMessage = "must be a D-Bus address such as unix:path=/run/dbus/system_bus_socket")]
    public string Address { get; set; } = string.Empty;
}

[OptionsValidator]
public sealed partial class DBusOptionsValidator : IValidateOptions<DBusOptions>;
