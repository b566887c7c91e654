using System.Buffers.Binary;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using System.Security.Cryptography.Xml;
using LivePatchAgent.Core.Errors;

namespace LivePatchAgent.Core.Modules;

/// <summary>Whether a module file ends with a signature trailer, and whether that trailer is usable.</summary>
public enum SignatureState
{
    /// <summary>No <c>~Module signature appended~</c> marker: the whole file is the module image.</summary>
    Absent,

    /// <summary>A well-formed trailer; <see cref="SignatureTrailer.Signature"/> holds the PKCS#7 message.</summary>
    Present,

    /// <summary>The marker is there but the <c>module_signature</c> before it is not acceptable to the kernel.</summary>
    Malformed,
}

/// <summary>
/// The end of a module file. <see cref="SignedLength"/> is M, the length of the module image the kernel parses and
/// the signature covers: the whole file when unsigned, everything before the PKCS#7 message when signed.
/// </summary>
public sealed record SignatureTrailer(SignatureState State, int SignedLength, ModuleSignature? Signature, string? Problem);

/// <summary>
/// An appended module signature as <c>scripts/sign-file</c> writes it:
/// <c>[module image (M bytes)][PKCS#7 DER (S bytes)][struct module_signature (12)]["~Module signature appended~\n" (28)]</c>,
/// where the PKCS#7 is a detached CMS SignedData over the module image with no certificates and (usually) no
/// signed attributes.
/// </summary>
public sealed class ModuleSignature
{
    /// <summary>PKEY_ID_PKCS7, the only <c>id_type</c> the kernel accepts since 4.3.</summary>
    public const byte Pkcs7IdType = 2;

    private const int MarkerLength = 28;
    private const int InfoLength = 12;

    private readonly ReadOnlyMemory<byte> _file;

    private ModuleSignature(ReadOnlyMemory<byte> file, int signedLength, int pkcs7Length)
    {
        _file = file;
        SignedLength = signedLength;
        Pkcs7 = file.Slice(signedLength, pkcs7Length);
    }

    /// <summary>The 28-byte marker at the very end of a signed module (no NUL).</summary>
    public static ReadOnlySpan<byte> Marker => "~Module signature appended~\n"u8;

    /// <summary>M: the length of the signed module image, which starts the file.</summary>
    public int SignedLength { get; }

    /// <summary>The DER-encoded PKCS#7/CMS message.</summary>
    public ReadOnlyMemory<byte> Pkcs7 { get; }

    /// <summary>The bytes the signature covers: [0, M).</summary>
    public ReadOnlyMemory<byte> SignedContent => _file[..SignedLength];

    public static bool HasMarker(ReadOnlySpan<byte> file) => file.EndsWith(Marker);

    /// <summary>
    /// Splits off the signature trailer with the checks of the kernel's <c>mod_check_sig</c>. Never throws: a
    /// malformed trailer is described in <see cref="SignatureTrailer.Problem"/>.
    /// </summary>
    public static SignatureTrailer ReadTrailer(ReadOnlyMemory<byte> file)
    {
        var bytes = file.Span;
        if (!HasMarker(bytes))
        {
            return new SignatureTrailer(SignatureState.Absent, bytes.Length, null, null);
        }

        // What remains once the marker is gone; the kernel parses no further than this when the trailer is bad.
        var beforeMarker = bytes.Length - MarkerLength;
        if (beforeMarker <= InfoLength)
        {
            return Malformed(beforeMarker,
                $"the signature trailer is truncated: only {beforeMarker} bytes precede the marker, no room for the {InfoLength}-byte module_signature and a module");
        }

        var info = bytes.Slice(beforeMarker - InfoLength, InfoLength);
        var (algo, hash, idType, signerLength, keyIdLength) = (info[0], info[1], info[2], info[3], info[4]);
        var pkcs7Length = BinaryPrimitives.ReadUInt32BigEndian(info[8..]);
        var available = (uint)(beforeMarker - InfoLength);
        if (pkcs7Length >= available)
        {
            return Malformed(beforeMarker,
                $"the signature trailer's sig_len is {pkcs7Length} bytes, but only {available} bytes precede the {InfoLength + MarkerLength}-byte trailer; the file is truncated or the trailer is corrupt");
        }

        if (idType != Pkcs7IdType)
        {
            var kind = idType switch
            {
                0 => " (PGP)",
                1 => " (X.509, the format before kernel 4.3)",
                _ => "",
            };
            return Malformed(beforeMarker,
                $"the signature trailer's id_type is {idType}{kind}; the kernel only accepts {Pkcs7IdType} (PKCS#7), so sign the module with a current sign-file");
        }

        if (algo != 0 || hash != 0 || signerLength != 0 || keyIdLength != 0 || info[5] != 0 || info[6] != 0 || info[7] != 0)
        {
            return Malformed(beforeMarker,
                $"the signature trailer has unexpected non-zero fields (algo {algo}, hash {hash}, signer_len {signerLength}, key_id_len {keyIdLength}, pad {Convert.ToHexStringLower(info[5..8])}); sign-file leaves them all 0");
        }

        if (pkcs7Length == 0)
        {
            return Malformed(beforeMarker, "the signature trailer's sig_len is 0: there is no PKCS#7 message");
        }

        var signedLength = (int)(available - pkcs7Length);
        return new SignatureTrailer(SignatureState.Present, signedLength, new ModuleSignature(file, signedLength, (int)pkcs7Length), null);
    }

    private static SignatureTrailer Malformed(int signedLength, string problem) =>
        new(SignatureState.Malformed, signedLength, null, problem);

    /// <summary>
    /// Verifies the signature over [0, M) against <paramref name="trusted"/>. Returns the signer; throws
    /// <see cref="AgentException"/> with <see cref="ErrorReason.SignatureInvalid"/> (malformed, or the bytes were
    /// altered) or <see cref="ErrorReason.UntrustedSigner"/> (no trusted certificate names the signer).
    /// </summary>
    public ModuleSigner Verify(TrustedCertificates trusted)
    {
        var result = Check(trusted);
        return result.Failure is { } failure ? throw failure : result.Signer!;
    }

    /// <summary>The outcome with the signer described whenever the message could be decoded, even if untrusted.</summary>
    internal SignatureVerification Check(TrustedCertificates trusted)
    {
        ArgumentNullException.ThrowIfNull(trusted);
        var where = $"the PKCS#7 signature ({Pkcs7.Length} bytes at offset {DisplayText.Hex((ulong)SignedLength)})";
        DecodedSigner decoded;
        try
        {
            decoded = DecodeSigner(where);
        }
        catch (Exception e) when (IsUntrustedDataFailure(e))
        {
            return SignatureVerification.Failed(null, ErrorReason.SignatureInvalid, $"{where} cannot be decoded: {e.Message}");
        }
        catch (AgentException e)
        {
            return new SignatureVerification(null, e);
        }

        var (signerInfo, keyId, keyIdKind, issuer) = decoded;
        var digest = DigestName(signerInfo.DigestAlgorithm);
        var candidates = trusted.Match(signerInfo.SignerIdentifier);
        if (candidates.Count == 0)
        {
            var unknown = new ModuleSigner(issuer is null ? null : CommonName(issuer), null, issuer, keyId, keyIdKind, digest, null);
            return SignatureVerification.Failed(unknown, ErrorReason.UntrustedSigner,
                $"the module is signed by {unknown.Describe()}, which matches none of the {trusted.Certificates.Length} trusted certificates");
        }

        ModuleSigner Matched(TrustedCertificate candidate) => new(
            candidate.DisplayName, candidate.Certificate.Subject, candidate.Certificate.Issuer, keyId, keyIdKind, digest, candidate.Source);

        if (!CanCompute(digest))
        {
            // The kernel may well verify it (sha224 modules exist); we cannot, so say that rather than "altered".
            return SignatureVerification.Failed(Matched(candidates[0]), ErrorReason.SignatureInvalid,
                $"the signature uses the digest algorithm {DisplayText.Escape(digest)}, which livepatchd cannot compute here; sign the module with sha256, sha384 or sha512");
        }

        ModuleSigner? rejectedBy = null;
        string? mismatch = null;
        foreach (var candidate in candidates)
        {
            var signer = Matched(candidate);
            try
            {
                // verifySignatureOnly: the kernel checks no validity dates, key usage or chain either; trust is
                // membership of the trusted set. Certificates carried in the message were removed in DecodeSigner.
                signerInfo.CheckSignature(new X509Certificate2Collection(candidate.Certificate), verifySignatureOnly: true);
                return new SignatureVerification(signer, null);
            }
            catch (Exception e) when (IsUntrustedDataFailure(e))
            {
                rejectedBy ??= signer;
                mismatch ??= $"the signature by {signer.Describe()} does not verify against the module's contents ({e.Message.TrimEnd('.')}): the module was altered after signing, or the signature belongs to another file";
            }
        }

        return SignatureVerification.Failed(rejectedBy, ErrorReason.SignatureInvalid, mismatch!);
    }

    private DecodedSigner DecodeSigner(string where)
    {
        // sign-file's message is detached. An attached one would be hashed together with the module (Windows
        // compatibility in SignedCms), and the kernel refuses it, so refuse it first.
        var attached = new SignedCms();
        attached.Decode(Pkcs7.Span);
        if (attached.ContentInfo.Content.Length > 0)
        {
            throw new AgentException(ErrorReason.SignatureInvalid,
                $"{where} embeds {attached.ContentInfo.Content.Length} bytes of content; a module signature is detached and covers the module image");
        }

        var cms = new SignedCms(new ContentInfo(SignedContent.ToArray()), detached: true);
        cms.Decode(Pkcs7.Span);

        // SignerInfo.CheckSignature prefers a certificate found in the message over the ones it is given, so an
        // attacker could embed a certificate with a trusted issuer and serial but their own key. sign-file embeds
        // none (CMS_NOCERTS); drop any that are there so only trusted certificates are ever used.
        foreach (var embedded in cms.Certificates)
        {
            cms.RemoveCertificate(embedded);
        }

        var signers = cms.SignerInfos;
        if (signers.Count != 1)
        {
            throw new AgentException(ErrorReason.SignatureInvalid,
                $"{where} has {signers.Count} signers; sign-file writes exactly one");
        }

        var signer = signers[0];
        return signer.SignerIdentifier.Value switch
        {
            X509IssuerSerial issuerSerial => new DecodedSigner(
                signer, issuerSerial.SerialNumber.ToLowerInvariant(), SignerKeyIdKind.IssuerAndSerialNumber, issuerSerial.IssuerName),
            string subjectKeyIdentifier when signer.SignerIdentifier.Type == SubjectIdentifierType.SubjectKeyIdentifier => new DecodedSigner(
                signer, subjectKeyIdentifier.ToLowerInvariant(), SignerKeyIdKind.SubjectKeyIdentifier, null),
            _ => throw new AgentException(ErrorReason.SignatureInvalid,
                $"{where} identifies its signer by {signer.SignerIdentifier.Type}; module signatures use issuer and serial number or subject key identifier"),
        };
    }

    private readonly record struct DecodedSigner(SignerInfo Info, string KeyId, SignerKeyIdKind KeyIdKind, string? Issuer);

    /// <summary>The CN of a distinguished name from the message (a self-signed key's own name), else the whole name.</summary>
    private static string CommonName(string distinguishedName)
    {
        try
        {
            var commonName = new X500DistinguishedName(distinguishedName)
                .EnumerateRelativeDistinguishedNames()
                .Where(n => !n.HasMultipleElements && n.GetSingleElementType().Value == "2.5.4.3")
                .Select(n => n.GetSingleElementValue())
                .LastOrDefault();
            return string.IsNullOrEmpty(commonName) ? distinguishedName : commonName;
        }
        catch (Exception e) when (IsUntrustedDataFailure(e))
        {
            return distinguishedName;
        }
    }

    /// <summary>The digest name as sign-file and modinfo spell it (<c>sha256</c>), or the OID for others.</summary>
    private static string DigestName(Oid algorithm) => algorithm.Value switch
    {
        "1.3.14.3.2.26" => "sha1",
        "2.16.840.1.101.3.4.2.4" => "sha224",
        "2.16.840.1.101.3.4.2.1" => "sha256",
        "2.16.840.1.101.3.4.2.2" => "sha384",
        "2.16.840.1.101.3.4.2.3" => "sha512",
        "2.16.840.1.101.3.4.2.8" => "sha3-256",
        "2.16.840.1.101.3.4.2.9" => "sha3-384",
        "2.16.840.1.101.3.4.2.10" => "sha3-512",
        var other => other ?? "unknown",
    };

    private static bool CanCompute(string digest) => digest switch
    {
        "sha1" or "sha256" or "sha384" or "sha512" => true,
        "sha3-256" => SHA3_256.IsSupported,
        "sha3-384" => SHA3_384.IsSupported,
        "sha3-512" => SHA3_512.IsSupported,
        _ => false,
    };

    /// <summary>
    /// The exceptions SignedCms and the X.509 code raise for bytes they cannot make sense of (malformed DER,
    /// unknown or unsupported algorithms, odd names). The PKCS#7 comes from the module file, so each of these is
    /// a property of the file, reported as signature-invalid with its message, never a crash.
    /// </summary>
    /// <remarks>
    /// Fuzzing the message (see the unit tests) only ever produced CryptographicException; the others are what
    /// the ASN.1 and X.500 decoders document. ArgumentNullException is left out: it would be our bug.
    /// </remarks>
    internal static bool IsUntrustedDataFailure(Exception e) =>
        e is CryptographicException or AsnContentException or FormatException or OverflowException or NotSupportedException
            or (ArgumentException and not ArgumentNullException);
}

/// <summary>How a signature names its signer's key.</summary>
public enum SignerKeyIdKind
{
    /// <summary>Issuer name and serial number of the signing certificate (sign-file's default).</summary>
    IssuerAndSerialNumber,

    /// <summary>Subject key identifier of the signing certificate (<c>sign-file -k</c>).</summary>
    SubjectKeyIdentifier,
}

/// <summary>Who signed a module, as far as the signature and the trusted certificates tell.</summary>
/// <param name="Name">
/// The common name of the trusted certificate that verified the signature; when none matched, the issuer the
/// signature names (a self-signed signing key is its own issuer); null for an unmatched key identifier.
/// </param>
/// <param name="Subject">The full subject of the trusted certificate, or null when none matched.</param>
/// <param name="Issuer">The issuer: of the trusted certificate, else as named by the signature.</param>
/// <param name="KeyId">Lowercase hex: the serial number, or the subject key identifier.</param>
/// <param name="KeyIdKind">Which of the two <paramref name="KeyId"/> is.</param>
/// <param name="DigestAlgorithm">The digest algorithm, e.g. <c>sha256</c>.</param>
/// <param name="CertificateSource">The trusted certificate file that matched, or null.</param>
public sealed record ModuleSigner(
    string? Name,
    string? Subject,
    string? Issuer,
    string KeyId,
    SignerKeyIdKind KeyIdKind,
    string DigestAlgorithm,
    string? CertificateSource)
{
    /// <summary>For messages: <c>"name" (serial 7c03..., sha256)</c>.</summary>
    public string Describe()
    {
        var key = KeyIdKind == SignerKeyIdKind.IssuerAndSerialNumber ? $"serial {KeyId}" : $"subject key identifier {KeyId}";
        return Name is null ? $"an unknown key ({key}, {DigestAlgorithm})" : $"{DisplayText.Quote(Name)} ({key}, {DigestAlgorithm})";
    }
}

/// <summary>The outcome of checking a signature: the signer when it could be read, and the failure if any.</summary>
internal sealed record SignatureVerification(ModuleSigner? Signer, AgentException? Failure)
{
    public static SignatureVerification Failed(ModuleSigner? signer, ErrorReason reason, string message) =>
        new(signer, new AgentException(reason, message));
}
