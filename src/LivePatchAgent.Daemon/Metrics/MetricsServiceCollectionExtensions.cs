using LivePatchAgent.Daemon.Configuration;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Metrics;

internal static class MetricsServiceCollectionExtensions
{
    /// <summary>The Prometheus metrics: the renderer behind lpctl metrics, and the textfile for node_exporter.</summary>
    public static IServiceCollection AddPrometheusMetrics(this IServiceCollection services)
    {
        services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.SectionName, DaemonConfiguration.Strict).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MetricsOptions>, MetricsOptionsValidator>();
        services.AddSingleton<MetricsService>();
        // After the watcher (the first snapshot), start-up apply and the posture: the first file shows them as they start.
        services.AddHostedService(sp => sp.GetRequiredService<MetricsService>());
        return services;
    }
}
