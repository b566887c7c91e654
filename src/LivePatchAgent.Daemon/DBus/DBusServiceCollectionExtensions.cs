using LivePatchAgent.Daemon.Configuration;

namespace LivePatchAgent.Daemon.DBus;

internal static class DBusServiceCollectionExtensions
{
    /// <summary>
    /// Publishes org.livepatchd.Agent1 unless DBus:Enabled is false (--no-dbus). Must come after the kernel
    /// watcher: the publisher reads the first snapshot when it starts.
    /// </summary>
    public static IServiceCollection AddDBusMonitoring(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(DBusOptions.SectionName).Get<DBusOptions>() ?? new();
        if (!options.Enabled)
        {
            return services;
        }

        services.AddSingleton<DBusReconnectPolicy>();
        services.AddSingleton<AgentBusPublisher>();
        services.AddHostedService(sp => sp.GetRequiredService<AgentBusPublisher>());
        return services;
    }
}
