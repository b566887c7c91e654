using System.Collections.Immutable;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using System.Security.Cryptography.Xml;
using System.Text;

namespace LivePatchAgent.Core.Modules;

/// <summary>The contents of one file from the trusted certificates directory, named for messages.</summary>
public readonly record struct CertificateFile(string Name, ReadOnlyMemory<byte> Content);

/// <summary>One trusted X.509 certificate and where it came from (<c>file.pem</c>, or <c>file.pem#2</c> for the second in a bundle).</summary>
public sealed record TrustedCertificate(string Source, X509Certificate2 Certificate)
{
    /// <summary>The subject's common name, or the whole subject when it has none.</summary>
    public string DisplayName { get; } = Certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false) is { Length: > 0 } name
        ? name
        : Certificate.Subject;

    internal string? SubjectKeyIdentifier { get; } =
        Certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().FirstOrDefault()?.SubjectKeyIdentifier;
}

/// <summary>
/// The certificates livepatchd trusts to sign modules (<c>Verification:TrustedCertificatesDir</c>). Built from
/// file contents handed over by the caller: DER, or PEM with any number of <c>CERTIFICATE</c> blocks. A file that
/// cannot be read is skipped and described in <see cref="Problems"/>, so one bad file does not disable
/// verification with the others.
/// </summary>
/// <remarks>
/// Deliberately not IDisposable: a set is replaced when the directory is re-read, while a verification may still
/// be using the old one. The certificates hold no private keys; the GC releases their native handles.
/// </remarks>
public sealed class TrustedCertificates
{
    private TrustedCertificates(ImmutableArray<TrustedCertificate> certificates, ImmutableArray<string> problems)
    {
        Certificates = certificates;
        Problems = problems;
    }

    public static TrustedCertificates Empty { get; } = new([], []);

    /// <summary>Distinct certificates, in the order the files were given.</summary>
    public ImmutableArray<TrustedCertificate> Certificates { get; }

    /// <summary>One line per file or PEM block that was skipped, naming it and why.</summary>
    public ImmutableArray<string> Problems { get; }

    public static TrustedCertificates FromFiles(IEnumerable<CertificateFile> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var certificates = ImmutableArray.CreateBuilder<TrustedCertificate>();
        var problems = ImmutableArray.CreateBuilder<string>();
        foreach (var file in files)
        {
            foreach (var (source, certificate) in Load(file, problems))
            {
                // The same certificate as .pem and .der (as openssl and sign-file users often keep them) counts once.
                if (certificates.Any(c => c.Certificate.RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span)))
                {
                    certificate.Dispose();
                    continue;
                }

                certificates.Add(new TrustedCertificate(source, certificate));
            }
        }

        return new TrustedCertificates(certificates.ToImmutable(), problems.ToImmutable());
    }

    private static List<(string Source, X509Certificate2 Certificate)> Load(CertificateFile file, ImmutableArray<string>.Builder problems)
    {
        var loaded = new List<(string, X509Certificate2)>();
        var content = file.Content.Span;
        if (content.IsEmpty)
        {
            problems.Add($"{file.Name}: the file is empty");
            return loaded;
        }

        if (content.IndexOf("-----BEGIN "u8) < 0)
        {
            if (TryLoad(content, out var certificate, out var error))
            {
                loaded.Add((file.Name, certificate));
            }
            else
            {
                problems.Add($"{file.Name}: not a PEM file, and not a DER X.509 certificate ({error})");
            }

            return loaded;
        }

        // PEM: Latin-1 maps each byte to one char, so text around the blocks (openssl's "Certificate:" dumps) is
        // skipped without a decoding error.
        ReadOnlySpan<char> text = Encoding.Latin1.GetString(content);
        var block = 0;
        var otherLabels = new List<string>();
        while (PemEncoding.TryFind(text, out var fields))
        {
            var label = text[fields.Label].ToString();
            if (label == "CERTIFICATE")
            {
                block++;
                var source = block == 1 ? file.Name : $"{file.Name}#{block}";
                var der = new byte[fields.DecodedDataLength];
                if (!Convert.TryFromBase64Chars(text[fields.Base64Data], der, out var written))
                {
                    problems.Add($"{source}: the base64 of the CERTIFICATE block is invalid");
                }
                else if (TryLoad(der.AsSpan(0, written), out var certificate, out var error))
                {
                    loaded.Add((source, certificate));
                }
                else
                {
                    problems.Add($"{source}: the CERTIFICATE block is not an X.509 certificate ({error})");
                }
            }
            else
            {
                otherLabels.Add(label);
            }

            text = text[fields.Location.End..];
        }

        if (block == 0)
        {
            problems.Add(otherLabels.Count == 0
                ? $"{file.Name}: no valid PEM block found"
                : $"{file.Name}: no CERTIFICATE block (found {string.Join(", ", otherLabels.Distinct())}); only certificates belong in the trusted directory");
        }

        return loaded;
    }

    private static bool TryLoad(ReadOnlySpan<byte> der, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out X509Certificate2? certificate, out string? error)
    {
        try
        {
            certificate = X509CertificateLoader.LoadCertificate(der);
            error = null;
            return true;
        }
        catch (CryptographicException e)
        {
            certificate = null;
            error = e.Message.TrimEnd('.');
            return false;
        }
    }

    /// <summary>The certificates a signer identifier names: same issuer and serial number, or same subject key identifier.</summary>
    internal List<TrustedCertificate> Match(SubjectIdentifier signer) => signer.Value switch
    {
        X509IssuerSerial issuerSerial => [.. Certificates.Where(c =>
            c.Certificate.IssuerName.Name == issuerSerial.IssuerName
            && SameSerial(c.Certificate.SerialNumber, issuerSerial.SerialNumber))],
        string keyIdentifier when signer.Type == SubjectIdentifierType.SubjectKeyIdentifier => [.. Certificates.Where(c =>
            string.Equals(c.SubjectKeyIdentifier, keyIdentifier, StringComparison.OrdinalIgnoreCase))],
        _ => [],
    };

    // Both are big-endian hex; a leading 00 byte (positive INTEGER padding) may be kept on one side only.
    private static bool SameSerial(string a, string b) =>
        string.Equals(TrimZeroBytes(a), TrimZeroBytes(b), StringComparison.OrdinalIgnoreCase);

    private static string TrimZeroBytes(string hex)
    {
        var start = 0;
        while (hex.Length - start > 2 && hex[start] == '0' && hex[start + 1] == '0')
        {
            start += 2;
        }

        return hex[start..];
    }
}
