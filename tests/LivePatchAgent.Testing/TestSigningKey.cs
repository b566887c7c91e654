using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using LivePatchAgent.Core.Modules;

namespace LivePatchAgent.Testing;

/// <summary>
/// A self-signed signing key, and signing the way scripts/sign-file does: a detached CMS SignedData over the
/// module with no certificates and no signed attributes, then the PKCS#7 DER, the 12-byte module_signature
/// (id_type 2, big-endian sig_len) and the marker appended.
/// </summary>
public sealed class TestSigningKey
{
    private static readonly Lazy<TestSigningKey> LazyTrusted = new(() => CreateRsa("LivePatchAgent unit test trusted key"));
    private static readonly Lazy<TestSigningKey> LazyUntrusted = new(() => CreateRsa("LivePatchAgent unit test untrusted key"));
    private static readonly Lazy<TestSigningKey> LazyEcdsa = new(() => CreateEcdsa("LivePatchAgent unit test ECDSA key"));

    private TestSigningKey(X509Certificate2 certificate) => Certificate = certificate;

    public static TestSigningKey Trusted => LazyTrusted.Value;

    public static TestSigningKey Untrusted => LazyUntrusted.Value;

    public static TestSigningKey Ecdsa => LazyEcdsa.Value;

    /// <summary>With its private key.</summary>
    public X509Certificate2 Certificate { get; }

    public byte[] Der => Certificate.Export(X509ContentType.Cert);

    public string Pem => Certificate.ExportCertificatePem();

    public CertificateFile PemFile(string name = "signer.pem") => new(name, System.Text.Encoding.ASCII.GetBytes(Pem + "\n"));

    public TrustedCertificates AsTrusted() => TrustedCertificates.FromFiles([PemFile()]);

    public static TestSigningKey CreateRsa(string commonName)
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest($"CN={commonName}, O=LivePatchAgent tests", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return Create(request);
    }

    private static TestSigningKey CreateEcdsa(string commonName)
    {
        using var ecdsa = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", ecdsa, HashAlgorithmName.SHA256);
        return Create(request);
    }

    private static TestSigningKey Create(CertificateRequest request)
    {
        // The extensions x509.genkey asks openssl for; sign-file -k needs the subject key identifier.
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return new TestSigningKey(request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(10)));
    }

    /// <summary>The detached PKCS#7 DER over <paramref name="content"/>, in sign-file's shape.</summary>
    public byte[] SignDetached(
        byte[] content,
        SubjectIdentifierType identifier = SubjectIdentifierType.IssuerAndSerialNumber,
        string digestOid = "2.16.840.1.101.3.4.2.1",
        X509IncludeOption includeCertificates = X509IncludeOption.None)
    {
        var cms = new SignedCms(new ContentInfo(content), detached: true);
        var signer = new CmsSigner(identifier, Certificate)
        {
            IncludeOption = includeCertificates,
            DigestAlgorithm = new Oid(digestOid),
        };
        cms.ComputeSignature(signer);
        return cms.Encode();
    }

    public byte[] Sign(byte[] module, SubjectIdentifierType identifier = SubjectIdentifierType.IssuerAndSerialNumber) =>
        AppendSignature(module, SignDetached(module, identifier));

    /// <summary>module || pkcs7 || module_signature || marker, with every field settable for malformed cases.</summary>
    public static byte[] AppendSignature(byte[] module, byte[] pkcs7, byte idType = ModuleSignature.Pkcs7IdType, uint? sigLen = null, byte[]? otherFields = null)
    {
        var info = new byte[12];
        if (otherFields is not null)
        {
            // algo, hash, id_type, signer_len, key_id_len, pad[3]
            otherFields.CopyTo(info, 0);
        }

        info[2] = idType;
        BinaryPrimitives.WriteUInt32BigEndian(info.AsSpan(8), sigLen ?? (uint)pkcs7.Length);
        return [.. module, .. pkcs7, .. info, .. ModuleSignature.Marker];
    }
}
