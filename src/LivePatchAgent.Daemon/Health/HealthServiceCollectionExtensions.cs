using LivePatchAgent.Daemon.Configuration;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Health;

internal static class HealthServiceCollectionExtensions
{
    /// <summary>The kernel health guard: the kernel log and taint watcher, attribution, and the quarantine.</summary>
    public static IServiceCollection AddKernelHealthGuard(this IServiceCollection services)
    {
        services.AddOptions<HealthOptions>().BindConfiguration(HealthOptions.SectionName, DaemonConfiguration.Strict).ValidateOnStart();
        services.AddSingleton<IValidateOptions<HealthOptions>, HealthOptionsValidator>();
        services.AddSingleton<QuarantineStore>();
        services.AddSingleton<PatchQuarantine>();
        services.AddSingleton<HealthGuard>();
        // After the watcher (the first snapshot is the taint baseline and the patches applied before the guard) and
        // before start-up apply (its loads open health windows).
        services.AddHostedService(sp => sp.GetRequiredService<HealthGuard>());
        return services;
    }
}
