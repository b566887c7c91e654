using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LivePatchAgent.Daemon.Watching;

/// <summary>grpc.health.v1 reports SERVING only while the kernel watcher keeps polling.</summary>
internal sealed class KernelWatcherHealthCheck(KernelWatcher watcher, TimeProvider timeProvider) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var age = timeProvider.GetUtcNow() - watcher.LastPollAt;
        return Task.FromResult(age <= watcher.HealthyWithin
            ? HealthCheckResult.Healthy($"last kernel poll {age.TotalMilliseconds:F0} ms ago")
            : HealthCheckResult.Unhealthy($"no kernel poll for {age.TotalSeconds:F0} s"));
    }
}
