using System.Reflection;
using Grpc.Reflection;
using Grpc.Reflection.V1Alpha;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Api;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.DBus;
using LivePatchAgent.Daemon.Events;
using LivePatchAgent.Daemon.Health;
using LivePatchAgent.Daemon.Hosting;
using LivePatchAgent.Daemon.Journal;
using LivePatchAgent.Daemon.Metrics;
using LivePatchAgent.Daemon.Operations;
using LivePatchAgent.Daemon.Posture;
using LivePatchAgent.Daemon.Store;
using LivePatchAgent.Daemon.Transitions;
using LivePatchAgent.Linux.Procfs;
using LivePatchAgent.Daemon.Watching;
using LivePatchAgent.Linux;
using LivePatchAgent.Linux.Native;
using LivePatchAgent.Linux.Sysfs;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Logging.Console;

namespace LivePatchAgent.Daemon;

/// <summary>The composition root: one extension call per feature.</summary>
internal static class DaemonHost
{
    public static string Version { get; } =
        typeof(DaemonHost).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? "0.0.0";

    /// <summary>Builds the daemon on a configuration that <see cref="DaemonConfiguration.Validate"/> accepted.</summary>
    public static WebApplication Build(IConfiguration configuration, Action<IServiceCollection>? overrides = null)
    {
        // The content root is fixed to the binary's directory: systemd starts services in "/", and nothing is
        // read relative to the content root anyway.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            ContentRootPath = AppContext.BaseDirectory,
            EnvironmentName = Environments.Production,
        });
        builder.Configuration.AddConfiguration(configuration);

        builder.Services
            .AddDaemonLogging(builder.Logging)
            .AddDaemonOptions()
            .AddKernelWatching()
            .AddPatchOperations()
            .AddTransitionSupervision()
            .AddKernelHealthGuard()
            // After supervision: start-up apply needs the first snapshot and this boot's pins.
            .AddInstalledPatches()
            .AddPosture()
            .AddPrometheusMetrics()
            .AddAgentApi(configuration)
            // After the watcher: the D-Bus publisher starts from the first snapshot.
            .AddDBusMonitoring(configuration)
            // Not UseSystemd(): see SystemdIntegration (READY=1 exactly once, whatever the parent process).
            .AddSystemdIntegration(builder.Logging);

        var api = configuration.GetSection(ApiOptions.SectionName).Get<ApiOptions>() ?? new();
        var limits = configuration.GetSection(LimitsOptions.SectionName).Get<LimitsOptions>() ?? new();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // The socket systemd passed (livepatchd.socket), else Api:SocketPath.
            SystemdIntegration.ListenOnApiSocket(kestrel, api.SocketPath);
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxConcurrentConnections = limits.MaxConnections;
            kestrel.Limits.MaxConcurrentUpgradedConnections = 0;
        });

        overrides?.Invoke(builder.Services);

        var app = builder.Build();
        app.MapAgentApi();
        return app;
    }

    private static IServiceCollection AddDaemonLogging(this IServiceCollection services, ILoggingBuilder logging)
    {
        // stdout carries data (config show); logs go to stderr, which systemd sends to the journal.
        logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
            o.ColorBehavior = LoggerColorBehavior.Disabled;
        });
        logging.AddFilter("Microsoft", LogLevel.Warning);
        // Grpc.AspNetCore logs every failed call at Information with the exception's stack trace, without the
        // caller. The daemon logs its own failures (RequestFailed) and malformed requests with the caller (CallGate).
        logging.AddFilter("Grpc", LogLevel.Warning);
        return services;
    }

    private static IServiceCollection AddDaemonOptions(this IServiceCollection services)
    {
        services.AddOptions<PathsOptions>().BindConfiguration(PathsOptions.SectionName, DaemonConfiguration.Strict).ValidateOnStart();
        services.AddOptions<ApiOptions>().BindConfiguration(ApiOptions.SectionName, DaemonConfiguration.Strict).ValidateOnStart();
        services.AddOptions<WatchOptions>().BindConfiguration(WatchOptions.SectionName, DaemonConfiguration.Strict).ValidateOnStart();
        services.AddOptions<DBusOptions>().BindConfiguration(DBusOptions.SectionName, DaemonConfiguration.Strict).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PathsOptions>, PathsOptionsValidator>();
        services.AddSingleton<IValidateOptions<ApiOptions>, ApiOptionsValidator>();
        services.AddSingleton<IValidateOptions<WatchOptions>, WatchOptionsValidator>();
        services.AddSingleton<IValidateOptions<DBusOptions>, DBusOptionsValidator>();
        services.AddOptions<VerificationOptions>().BindConfiguration(VerificationOptions.SectionName, DaemonConfiguration.Strict).ValidateOnStart();
        services.AddOptions<LimitsOptions>().BindConfiguration(LimitsOptions.SectionName, DaemonConfiguration.Strict).ValidateOnStart();
        services.AddSingleton<IValidateOptions<VerificationOptions>, VerificationOptionsValidator>();
        services.AddSingleton<IValidateOptions<LimitsOptions>, LimitsOptionsValidator>();
        services.AddOptions<AccessOptions>().BindConfiguration(AccessOptions.SectionName, DaemonConfiguration.Strict).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AccessOptions>, AccessOptionsValidator>();
        services.AddOptions<JournalOptions>().BindConfiguration(JournalOptions.SectionName, DaemonConfiguration.Strict).ValidateOnStart();
        services.AddSingleton<IValidateOptions<JournalOptions>, JournalOptionsValidator>();
        services.AddOptions<TransitionsOptions>().BindConfiguration(TransitionsOptions.SectionName, DaemonConfiguration.Strict).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TransitionsOptions>, TransitionsOrderValidator>();
        return services;
    }

    private static IServiceCollection AddKernelWatching(this IServiceCollection services)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton(sp => new HostPaths(sp.GetRequiredService<IOptions<PathsOptions>>().Value.HostRoot));
        services.AddSingleton(sp => new KernelSnapshotReader(sp.GetRequiredService<HostPaths>(), sp.GetRequiredService<TimeProvider>()));
        services.AddSingleton<StateStore>();
        services.AddSingleton<EventHub>();
        services.AddSingleton<KernelGate>();
        services.AddSingleton(sp => new BlockingTaskScanner(sp.GetRequiredService<HostPaths>()));
        services.AddSingleton<KernelWatcher>();
        // Registered before Kestrel's hosted service starts, so the first snapshot exists before any request.
        services.AddHostedService(sp => sp.GetRequiredService<KernelWatcher>());
        // Right after the first snapshot, before anything can mutate: close what a crash left open.
        services.AddHostedService<JournalReconciliation>();
        return services;
    }

    private static IServiceCollection AddPatchOperations(this IServiceCollection services)
    {
        services.AddSingleton(sp => new LivepatchControl(sp.GetRequiredService<HostPaths>()));
        services.AddSingleton<ModuleVerification>();
        services.AddSingleton<IKernelModuleLoader, KernelModuleLoader>();
        services.AddSingleton<AuditJournal>();
        services.AddSingleton<IOperationJournal>(sp => sp.GetRequiredService<AuditJournal>());
        // The write path (docs/architecture.md, "The write path"): every mutation is an operation run by the
        // OperationRunner; KernelGate serialises the kernel mutations themselves.
        services.AddSingleton<OperationTracker>();
        services.AddSingleton<OperationRunner>();
        services.AddSingleton<TransitionInterventions>();
        services.AddSingleton<KernelSteps>();
        services.AddSingleton<PatchLoader>();
        services.AddSingleton<PatchUnloader>();
        services.AddSingleton<TransitionControl>();
        services.AddSingleton<ITaskSignaller, TaskSignaller>();
        services.AddSingleton<PinStore>();
        services.AddSingleton<LoadedPatchStore>();
        // After the watcher (its first snapshot names the boot and the loaded modules), before start-up apply.
        services.AddHostedService(sp => sp.GetRequiredService<LoadedPatchStore>());
        return services;
    }

    private static IServiceCollection AddTransitionSupervision(this IServiceCollection services)
    {
        services.AddSingleton<TransitionSupervisor>();
        // After the watcher: the supervisor reads the first snapshot's boot id to load this boot's pins.
        services.AddHostedService(sp => sp.GetRequiredService<TransitionSupervisor>());
        return services;
    }

    private static IServiceCollection AddAgentApi(this IServiceCollection services, IConfiguration configuration)
    {
        var limits = configuration.GetSection(LimitsOptions.SectionName).Get<LimitsOptions>() ?? new();
        // Resolved eagerly at start (see DaemonProgram), so "started at" is the start, not the first request.
        services.AddSingleton<AdminGroup>();
        services.AddHostedService<AdminGroupStartupCheck>();
        services.AddSingleton<CallerAuthorization>();
        services.AddSingleton<CallerLimits>();
        services.AddSingleton<CallGate>();
        // One instance for all calls: the service is mapped as a ServerServiceDefinition (see RequestParsing).
        services.AddSingleton<AgentService>();
        services.AddSingleton(sp => new DaemonInfo(Version, sp.GetRequiredService<TimeProvider>().GetUtcNow()));
        services.AddGrpc(o =>
        {
            // Outermost first. Who may call what is decided before the body is read, by CallGate.
            o.Interceptors.Add<ErrorInterceptor>();
            o.Interceptors.Add<RequestTimeoutInterceptor>();
            o.EnableDetailedErrors = false;
            // A module upload is one message: the limit is the module limit plus room for the other fields.
            o.MaxReceiveMessageSize = (int)Math.Min(int.MaxValue, limits.MaxModuleSize + (1 << 20));
        });
        // The empty name is the server as a whole; probes that name the service (Kubernetes' grpc probe, grpc-health-probe
        // -service) get the same status for it. Any other name is NOT_FOUND (Check) or SERVICE_UNKNOWN (Watch).
        services.AddGrpcHealthChecks(o => o.Services.Map(Protocol.V1.Agent.Descriptor.FullName, _ => true))
            .AddCheck<KernelWatcherHealthCheck>("kernel-watcher");

        // Grpc.AspNetCore.Server.Reflection emits IL2075 under Native AOT (grpc/grpc-dotnet#2605), so the
        // reflection services are built from explicit descriptors. Add each new service here.
        Google.Protobuf.Reflection.ServiceDescriptor[] reflected =
        [
            Protocol.V1.Agent.Descriptor,
            Grpc.Health.V1.Health.Descriptor,
            ServerReflection.Descriptor,
            Grpc.Reflection.V1.ServerReflection.Descriptor,
        ];
        services.AddSingleton(new ReflectionServiceImpl(reflected));
        services.AddSingleton(new ReflectionV1ServiceImpl(reflected));
        services.AddHostedService<SocketPermissions>();
        return services;
    }

    private static void MapAgentApi(this WebApplication app)
    {
        // After routing, before the endpoints: limits and access are checked before any request body is read.
        app.Use(app.Services.GetRequiredService<CallGate>().InvokeAsync);
        // Bound through RequestParsing, so a body that is not a valid message is INVALID_ARGUMENT with an ErrorInfo.
        app.MapGrpcService(sp => RequestParsing.Bind(b => Protocol.V1.Agent.BindService(b, sp.GetRequiredService<AgentService>())));
        app.MapGrpcService(sp => RequestParsing.Bind(b => ServerReflection.BindService(b, sp.GetRequiredService<ReflectionServiceImpl>())));
        app.MapGrpcService(sp => RequestParsing.Bind(b => Grpc.Reflection.V1.ServerReflection.BindService(b, sp.GetRequiredService<ReflectionV1ServiceImpl>())));
        // Grpc.AspNetCore.HealthChecks maps its own (internal) service type, so its requests are parsed by the framework.
        app.MapGrpcHealthChecksService();
    }
}
