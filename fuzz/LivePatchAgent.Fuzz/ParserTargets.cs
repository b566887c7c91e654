using System.Text.RegularExpressions;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Modules;

namespace LivePatchAgent.Fuzz;

/// <summary>What a parser made of one input: accepted, or rejected with a catalogued reason and a message.</summary>
internal sealed record ParseOutcome(ErrorReason? Reason, string? Message)
{
    public static ParseOutcome Accepted { get; } = new(null, null);

    public bool IsAccepted => Reason is null;

    public override string ToString() => IsAccepted ? "accepted" : $"{Reason!.Code}: {Message}";
}

/// <summary>
/// An input broke a parser's contract without an exception of its own: it was rejected with a reason outside the
/// target's set, or with a message that names nothing. Under afl-fuzz it escapes and counts as a crash.
/// </summary>
internal sealed class ParserContractViolation(string message) : Exception(message);

/// <summary>
/// The fuzz targets, shared by the SharpFuzz harness (<c>fuzz/LivePatchAgent.Fuzz</c>) and the unit test that
/// replays the committed corpus, so both hold the parsers to the same contract: every input is accepted or
/// rejected with a specific reason and message; any other exception is a bug.
/// </summary>
internal sealed partial class ParserTargets
{
    /// <summary>The module reader: signature trailer, ELF64 image, .modinfo; then the whole verifier.</summary>
    public const string Module = "module";

    /// <summary>The signature parser: the input is a PKCS#7 DER message appended to a fixed module image.</summary>
    public const string Signature = "signature";

    public const string FixtureImage = "lpdemo_v1.ko";
    public const string FixtureCertificate = "trusted.pem";

    private const string Release = "6.1.0-56-amd64";

    private static readonly ErrorReason[] ModuleReasons = [ErrorReason.ModuleMalformed, ErrorReason.SignatureInvalid];

    private static readonly ErrorReason[] SignatureReasons = [ErrorReason.SignatureInvalid, ErrorReason.UntrustedSigner];

    // Everything the verifier may report for a file; never internal, unknown or load-failed.
    private static readonly ErrorReason[] VerifierReasons =
    [
        ErrorReason.ModuleMalformed, ErrorReason.NotALivepatch, ErrorReason.KernelMismatch, ErrorReason.VermagicMismatch,
        ErrorReason.UnsignedModule, ErrorReason.SignatureInvalid, ErrorReason.UntrustedSigner,
    ];

    private readonly byte[] _image;
    private readonly VerificationContext _context;

    public ParserTargets(byte[] image, TrustedCertificates trusted)
    {
        _image = image;
        _context = new VerificationContext(Release, ElfMachine.X64, trusted)
        {
            ReferenceVermagic = $"{Release} SMP preempt mod_unload modversions ",
        };
    }

    public static IReadOnlyList<string> Names { get; } = [Module, Signature];

    /// <summary>The real sign-file fixture: <c>lpdemo_v1.ko</c> and the certificate its signatures verify against.</summary>
    public static ParserTargets Load(string directory)
    {
        var certificate = File.ReadAllBytes(Path.Combine(directory, FixtureCertificate));
        var trusted = TrustedCertificates.FromFiles([new CertificateFile(FixtureCertificate, certificate)]);
        if (trusted.Certificates.Length != 1)
        {
            throw new InvalidDataException($"{directory}/{FixtureCertificate}: {string.Join("; ", trusted.Problems)}");
        }

        return new ParserTargets(File.ReadAllBytes(Path.Combine(directory, FixtureImage)), trusted);
    }

    public ParseOutcome Run(string target, byte[] input) => target switch
    {
        Module => ReadModule(input),
        Signature => VerifySignature(input),
        _ => throw new ArgumentException($"no fuzz target {target}; the targets are {string.Join(", ", Names)}", nameof(target)),
    };

    /// <summary>The module as the daemon first reads it; then <see cref="ModuleVerifier"/>, which must never throw.</summary>
    public ParseOutcome ReadModule(byte[] file)
    {
        ParseOutcome outcome;
        try
        {
            var module = KernelModule.Parse(file, ElfMachine.X64);
            outcome = module.Signature.State == SignatureState.Malformed
                ? Rejected(ErrorReason.SignatureInvalid, module.Signature.Problem, ModuleReasons)
                : ParseOutcome.Accepted;
        }
        catch (AgentException e)
        {
            outcome = Rejected(e.Reason, e.Message, ModuleReasons);
        }

        foreach (var check in ModuleVerifier.Verify(file, _context).Checks.Where(c => c.Status == CheckStatus.Failed))
        {
            Rejected(check.Reason, check.Detail, VerifierReasons);
        }

        return outcome;
    }

    /// <summary>The PKCS#7 message appended to the fixture image the way sign-file does, then verified.</summary>
    public ParseOutcome VerifySignature(byte[] pkcs7)
    {
        var trailer = ModuleSignature.ReadTrailer(TestSigningKey.AppendSignature(_image, pkcs7));
        if (trailer.Signature is not { } signature)
        {
            return Rejected(ErrorReason.SignatureInvalid, trailer.Problem, SignatureReasons);
        }

        try
        {
            signature.Verify(_context.TrustedCertificates);
            return ParseOutcome.Accepted;
        }
        catch (AgentException e)
        {
            return Rejected(e.Reason, e.Message, SignatureReasons);
        }
    }

    private static ParseOutcome Rejected(ErrorReason? reason, string? message, ErrorReason[] allowed)
    {
        if (reason is null || !allowed.Contains(reason))
        {
            throw new ParserContractViolation(
                $"rejected with reason {reason?.Code ?? "(none)"}, expected one of {string.Join(", ", allowed.Select(r => r.Code))}: {message}");
        }

        if (string.IsNullOrWhiteSpace(message) || message == reason.Meaning || ExceptionName().IsMatch(message))
        {
            throw new ParserContractViolation($"{reason.Code} with a message that names nothing specific: \"{message}\"");
        }

        return new ParseOutcome(reason, message);
    }

    // A .NET exception's own wording ("Exception of type ...", "IndexOutOfRangeException") leaking into a message.
    [GeneratedRegex(@"Exception of type|\b\w+Exception\b")]
    private static partial Regex ExceptionName();
}
