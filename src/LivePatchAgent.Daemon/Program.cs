using System.Text.Json;
using System.Text.Json.Serialization;
using LivePatchAgent.Daemon;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Daemon.Hosting;
using Microsoft.Extensions.Options;

return await DaemonProgram.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);

/// <summary>Entry point: arguments, configuration check, then the host. Owns the exit codes.</summary>
internal static class DaemonProgram
{
    public const int ExitOk = 0;
    public const int ExitFailure = 1;
    public const int ExitConfig = 78;

    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default) =>
        RunAsync(args, output, error, overrides: null, cancellationToken);

    /// <summary>Runs the daemon; <paramref name="overrides"/> replaces services after composition (tests only).</summary>
    /// <param name="args">The command line.</param>
    /// <param name="output">Where data goes (config show, help).</param>
    /// <param name="error">Where error lines go.</param>
    /// <param name="overrides">The integration tests stand a simulated kernel loader here.</param>
    /// <param name="cancellationToken">Stops the daemon.</param>
    public static async Task<int> RunAsync(
        string[] args, TextWriter output, TextWriter error, Action<IServiceCollection>? overrides, CancellationToken cancellationToken)
    {
        var invocation = DaemonCommandLine.Parse(args, output, error, out var exitCode);
        if (invocation is null)
        {
            return exitCode;
        }

        IConfigurationRoot configuration;
        try
        {
            configuration = DaemonConfiguration.Build(invocation.ConfigFile, invocation.Overrides);
        }
        catch (ConfigurationException e)
        {
            await error.WriteLineAsync($"livepatchd: invalid configuration: {e.Message}").ConfigureAwait(false);
            return ExitConfig;
        }

        var problems = DaemonConfiguration.Validate(configuration);
        if (problems.Count > 0)
        {
            foreach (var problem in problems)
            {
                await error.WriteLineAsync($"livepatchd: invalid configuration: {problem}").ConfigureAwait(false);
            }

            return ExitConfig;
        }

        if (invocation.ShowConfig)
        {
            await output.WriteLineAsync(JsonSerializer.Serialize(DaemonConfiguration.Effective(configuration), DaemonJsonContext.Default.EffectiveConfiguration)).ConfigureAwait(false);
            return ExitOk;
        }

        return await ServeAsync(configuration, error, overrides, cancellationToken).ConfigureAwait(false);
    }

    private static async Task<int> ServeAsync(IConfiguration configuration, TextWriter error, Action<IServiceCollection>? overrides, CancellationToken cancellationToken)
    {
        try
        {
            var api = configuration.GetSection(ApiOptions.SectionName).Get<ApiOptions>() ?? new();
            await using var app = DaemonHost.Build(configuration, overrides);
            // A socket systemd passed is systemd's: no stale-socket check (it would find the socket "in use").
            // Resolving it also sets FD_CLOEXEC on every inherited descriptor.
            var activated = app.Services.GetRequiredService<SystemdSocketActivation>().IsActivated;
            var staleRemoved = !activated && UnixSocketEndpoint.Prepare(api.SocketPath);
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("livepatchd");
            if (staleRemoved)
            {
                Log.StaleSocketRemoved(logger, api.SocketPath);
            }

            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            _ = app.Services.GetRequiredService<LivePatchAgent.Daemon.Api.DaemonInfo>();
            var view = app.Services.GetRequiredService<LivePatchAgent.Core.State.StateStore>().Current;
            Log.Started(logger, DaemonHost.Version, api.SocketPath,
                app.Services.GetRequiredService<IOptions<PathsOptions>>().Value.HostRoot,
                view.Snapshot.Kernel.Release ?? "unknown",
                view.Snapshot.Kernel.LivepatchSupported ? "supported" : "not supported");
            await app.WaitForShutdownAsync(cancellationToken).ConfigureAwait(false);
            Log.Stopping(logger);
            // A background loop that crashed (the host logged it) stopped the daemon: exit non-zero, so that the
            // unit's Restart=on-failure brings it back instead of taking the stop as a clean one.
            return app.Services.GetServices<IHostedService>().OfType<BackgroundService>().Any(s => s.ExecuteTask is { IsFaulted: true })
                ? ExitFailure
                : ExitOk;
        }
        catch (DaemonStartException e)
        {
            await error.WriteLineAsync($"livepatchd: {e.Message}").ConfigureAwait(false);
            return ExitFailure;
        }
        catch (OptionsValidationException e)
        {
            await error.WriteLineAsync($"livepatchd: invalid configuration: {e.Message}").ConfigureAwait(false);
            return ExitConfig;
        }
        catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException || e.Message.Contains("bind", StringComparison.OrdinalIgnoreCase))
        {
            await error.WriteLineAsync($"livepatchd: cannot listen on the socket: {e.Message}").ConfigureAwait(false);
            return ExitFailure;
        }
    }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.Unspecified)]
[JsonSerializable(typeof(EffectiveConfiguration))]
internal sealed partial class DaemonJsonContext : JsonSerializerContext;
