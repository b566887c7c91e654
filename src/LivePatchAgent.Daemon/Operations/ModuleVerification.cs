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
internal sealed class ModuleVerification(StateStore store, HostPaths paths, IOptions<VerificationOptions> options, IOptions<LimitsOptions> limits)
{
    private const int MaxCertificateFileSize = 1024 * 1024;
    private readonly ConcurrentDictionary<string, string?> _referenceVermagic = new(StringComparer.Ordinal);

    /// <summary>
    /// The one check of an upload's size (Limits:MaxModuleSize), made before anything else is done with it: by
    /// verify, load and install alike. Decompression is bounded by the same limit.
    /// </summary>
    public void CheckUploadSize(long length)
    {
        if (length == 0)
        {
            throw new AgentException(ErrorReason.InvalidArgument, "no module bytes were uploaded");
        }

        if (length > limits.Value.MaxModuleSize)
        {
            throw new AgentException(ErrorReason.ModuleTooLarge, $"the module is {length} bytes; Limits:MaxModuleSize allows {limits.Value.MaxModuleSize}");
        }
    }

    /// <summary>
    /// The plain module image of an upload: the bytes themselves, or their decompressed contents for a gzip, xz or
    /// zstd file (recognised by magic), bounded by Limits:MaxModuleSize. The image is what gets sealed, verified
    /// and loaded; the signature is inside it.
    /// </summary>
    public ModuleUpload Decompress(byte[] upload)
    {
        var image = CompressedModule.Decompress(upload, limits.Value.MaxModuleSize, out var compression);
        return new ModuleUpload(image, compression, upload.Length);
    }

    /// <summary>
    /// Verifies a plain module image against the running kernel, or, with <paramref name="targetRelease"/>, against
    /// another installed kernel: then only the release, the vermagic flags of that kernel's modules, and the
    /// signature can be checked (its build-id and signature policy are unknown until it runs).
    /// </summary>
    public VerificationOutcome Verify(ReadOnlyMemory<byte> module, string? fileName, string? targetRelease = null)
    {
        var kernel = store.Current.Snapshot.Kernel;
        var trusted = LoadTrustedCertificates(out var directoryProblem);
        var running = targetRelease is null || targetRelease == kernel.Release;
        var release = running ? kernel.Release ?? "unknown" : targetRelease!;
        var context = new VerificationContext(release, ElfMachine.Host, trusted)
        {
            RunningBuildId = running ? kernel.BuildId : null,
            ReferenceVermagic = running && kernel.Release is null ? null : _referenceVermagic.GetOrAdd(release, FindReferenceVermagic),
            ExpectedBuildId = running && options.Value.TargetBuildId is { Length: > 0 } id ? id.ToLowerInvariant() : null,
            RequireSignature = options.Value.RequireSignature,
            KernelEnforcesSignatures = running ? kernel.SigEnforce : null,
            LockdownMode = running ? kernel.Lockdown : null,
        };
        var report = ModuleVerifier.Verify(module, context);
        var problems = trusted.Problems.ToBuilder();
        if (directoryProblem is not null)
        {
            problems.Insert(0, directoryProblem);
        }

        return new VerificationOutcome(report, fileName, problems.ToImmutable(), kernel);
    }

    /// <summary>Decompresses when needed, then verifies the plain image (for VerifyModule: nothing is loaded).</summary>
    public VerificationOutcome VerifyUpload(byte[] upload, string? fileName, string? targetRelease = null)
    {
        var module = Decompress(upload);
        return Verify(module.Image, fileName, targetRelease) with { Compression = module.Compression, UploadSize = module.UploadSize };
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
    /// <summary>How the upload was compressed; the report is about the decompressed image.</summary>
    public ModuleCompression Compression { get; init; }

    /// <summary>The size of the upload as sent (the compressed size of a compressed module).</summary>
    public long UploadSize { get; init; }

    public bool Ok => Report.Succeeded;

    public ErrorReason? Reason => Report.FirstFailure?.Reason;

    public string? ModuleName => Report.ModuleName is { Length: > 0 } name ? name : null;

    public string Sha256 => Report.Sha256;

    public string Message => Report.FirstFailure is { } failure
        ? failure.Detail
        : $"module {ModuleName ?? FileName ?? "?"} passed every check";
}

/// <summary>An uploaded module made plain: the image to seal, verify and load, and how it arrived.</summary>
internal sealed record ModuleUpload(byte[] Image, ModuleCompression Compression, long UploadSize);
