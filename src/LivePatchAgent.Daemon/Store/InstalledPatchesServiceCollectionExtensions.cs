using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.Operations;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Store;

internal static class InstalledPatchesServiceCollectionExtensions
{
    /// <summary>The store of installed patches, and start-up apply with its kill switch and crash-loop guard.</summary>
    public static IServiceCollection AddInstalledPatches(this IServiceCollection services)
    {
        services.AddOptions<ApplyOptions>().BindConfiguration(ApplyOptions.SectionName, DaemonConfiguration.Strict).ValidateOnStart();
        services.AddSingleton<IValidateOptions<ApplyOptions>, ApplyOptionsValidator>();
        services.AddSingleton(sp => new PatchStore(Path.Combine(sp.GetRequiredService<IOptions<PathsOptions>>().Value.StateDir, "patches")));
        services.AddSingleton(sp => new VendorStore(
            sp.GetRequiredService<IOptions<PathsOptions>>().Value.VendorStoreDir,
            (module, release) => sp.GetRequiredService<ModuleVerification>().Verify(module, null, release).Report,
            sp.GetRequiredService<IOptions<LimitsOptions>>().Value.MaxModuleSize));
        services.AddSingleton<InstalledPatches>();
        services.AddSingleton(sp => new CrashLoopGuard(Path.Combine(sp.GetRequiredService<IOptions<PathsOptions>>().Value.StateDir, CrashLoopGuard.FileName)));
        services.AddSingleton<StartupApplyState>();
        services.AddSingleton<PatchInstaller>();
        services.AddSingleton<PatchApplier>();
        services.AddSingleton<StartupApplyService>();
        // After the watcher (it needs the first snapshot) and the supervisor (this boot's pins are loaded).
        services.AddHostedService(sp => sp.GetRequiredService<StartupApplyService>());
        return services;
    }
}
