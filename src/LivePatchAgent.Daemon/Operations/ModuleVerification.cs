using System.Collections.Concurrent;
using System.Collections.Immutable;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Kernel;
using LivePatchAgent.Core.Modules;
using LivePatchAgent.Core.State;
using LivePatchAgent.Daemon.Configuration;
using LivePatchAgent.Linux;
using Microsoft.Extensions.Options;

namespace LivePatchAgent.Daemon.Operations;

/// <summary>
/// Runs Core's <see cref="ModuleVerifier"/> with what the daemon knows about the running kernel: its release and
/// build-id, the vermagic of one of its own modules, its signature policy, and the operator's trusted
/// certificates (read at every call, so adding one needs no restart).
/// </summary>
internal sealed class ModuleVerification(StateStore store, HostPaths paths, IOptions<VerificationOptions> options)
{
    private const int MaxCertificateFileSize = 1024 * 1024;
    private readonly ConcurrentDictionary<string, string?> _referenceVermagic = new(StringComparer.Ordinal);

    public VerificationOutcome Verify(ReadOnlyMemory<byte> module, string? fileName)
    {
        var kernel = store.Current.Snapshot.Kernel;
        var trusted = LoadTrustedCertificates(out var directoryProblem);
        var release = kernel.Release ?? "unknown";
        var context = new VerificationContext(release, ElfMachine.Host, trusted)
        {
            RunningBuildId = kernel.BuildId,
            ReferenceVermagic = kernel.Release is null ? null : _referenceVermagic.GetOrAdd(kernel.Release, FindReferenceVermagic),
            ExpectedBuildId = options.Value.TargetBuildId is { Length: > 0 } id ? id.ToLowerInvariant() : null,
            RequireSignature = options.Value.RequireSignature,
            KernelEnforcesSignatures = kernel.SigEnforce,
            LockdownMode = kernel.Lockdown,
        };
        var report = ModuleVerifier.Verify(module, context);
        var problems = trusted.Problems.ToBuilder();
        if (directoryProblem is not null)
        {
            problems.Insert(0, directoryProblem);
        }

        return new VerificationOutcome(report, fileName, problems.ToImmutable(), kernel);
    }

    private TrustedCertificates LoadTrustedCertificates(out string? problem)
    {
        problem = null;
        var dir = options.Value.TrustedCertificatesDir;
        string[] entries;
        try
        {
            entries = Directory.GetFiles(dir);
        }
        catch (DirectoryNotFoundException)
        {
            problem = $"the trusted certificate directory {dir} does not exist, so no signer is trusted";
            return TrustedCertificates.Empty;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            problem = $"cannot read the trusted certificate directory {dir}: {e.Message}";
            return TrustedCertificates.Empty;
        }

        var files = new List<CertificateFile>();
        foreach (var path in entries.Order(StringComparer.Ordinal))
        {
            try
            {
                var info = new FileInfo(path);
                if (info.Length is > 0 and <= MaxCertificateFileSize)
                {
                    files.Add(new CertificateFile(Path.GetFileName(path), File.ReadAllBytes(path)));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problem ??= $"cannot read {path}: {e.Message}";
            }
        }

        return TrustedCertificates.FromFiles(files);
    }

    /// <summary>
    /// The vermagic of one in-tree module of the running kernel, to compare the patch's vermagic flags with.
    /// Null when none can be read (e.g. a container without /lib/modules): the check is then skipped and says so.
    /// </summary>
    private string? FindReferenceVermagic(string release)
    {
        var dir = Path.Combine(paths.KernelModulesDir(release), "kernel");
        try
        {
            var candidates = Directory.EnumerateFiles(dir, "*.ko", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true })
                .Take(16);
            foreach (var path in candidates)
            {
                var info = new FileInfo(path);
                if (info.Length > 16 * 1024 * 1024)
                {
                    continue;
                }

                try
                {
                    var module = KernelModule.Parse(File.ReadAllBytes(path), ElfMachine.Host);
                    if (module.ModInfo.Vermagic is { Length: > 0 } vermagic)
                    {
                        return vermagic;
                    }
                }
                catch (AgentException)
                {
                    // Not parseable (e.g. compressed): try the next one.
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }

        return null;
    }
}

/// <summary>A verification with what it was checked against.</summary>
internal sealed record VerificationOutcome(VerificationReport Report, string? FileName, ImmutableArray<string> TrustProblems, KernelFacts Kernel)
{
    public bool Ok => Report.Succeeded;

    public ErrorReason? Reason => Report.FirstFailure?.Reason;

    public string? ModuleName => Report.ModuleName is { Length: > 0 } name ? name : null;

    public string Sha256 => Report.Sha256;

    public string Message => Report.FirstFailure is { } failure
        ? failure.Detail
        : $"module {ModuleName ?? FileName ?? "?"} passed every check";
}
