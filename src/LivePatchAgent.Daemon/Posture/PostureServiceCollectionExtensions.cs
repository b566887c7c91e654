using LivePatchAgent.Daemon.Configuration;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Posture;

internal static class PostureServiceCollectionExtensions
{
    /// <summary>The CVE posture: advisory files, the kernel package, and the evaluation kept in the StateStore.</summary>
    public static IServiceCollection AddPosture(this IServiceCollection services)
    {
        services.AddOptions<PostureOptions>().BindConfiguration(PostureOptions.SectionName, DaemonConfiguration.Strict).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PostureOptions>, PostureOptionsValidator>();
        services.AddOptions<CheckOptions>().BindConfiguration(CheckOptions.SectionName, DaemonConfiguration.Strict).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CheckOptions>, CheckOptionsValidator>();
        services.AddSingleton<PostureService>();
        // After the watcher (the first snapshot names the kernel) and start-up apply's registration: the posture
        // follows the patches as they load.
        services.AddHostedService(sp => sp.GetRequiredService<PostureService>());
        return services;
    }
}
