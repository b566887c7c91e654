using System.Text;
using LivePatchAgent.Core.Modules;

namespace LivePatchAgent.Unit.Tests.Core.Modules;

public sealed class TrustedCertificatesTests
{
    private static CertificateFile Text(string name, string content) => new(name, Encoding.ASCII.GetBytes(content));

    [Fact]
    public void Reads_every_certificate_of_a_pem_bundle_and_skips_text_around_them()
    {
        var bundle = $"Certificate:\n    Data: ...\n{TestSigningKey.Trusted.Pem}\nsome comment\n{TestSigningKey.Untrusted.Pem}\n";

        var trusted = TrustedCertificates.FromFiles([Text("bundle.pem", bundle)]);

        Assert.Empty(trusted.Problems);
        Assert.Equal(["bundle.pem", "bundle.pem#2"], trusted.Certificates.Select(c => c.Source));
        Assert.Equal(
            ["LivePatchAgent unit test trusted key", "LivePatchAgent unit test untrusted key"],
            trusted.Certificates.Select(c => c.DisplayName));
    }

    [Fact]
    public void Reads_der_and_counts_the_same_certificate_once()
    {
        var key = TestSigningKey.Trusted;

        var trusted = TrustedCertificates.FromFiles([new("signer.der", key.Der), key.PemFile("signer.pem")]);

        var only = Assert.Single(trusted.Certificates);
        Assert.Equal("signer.der", only.Source);
        Assert.Empty(trusted.Problems);
    }

    [Fact]
    public void Skips_and_names_unreadable_files_but_keeps_the_good_ones()
    {
        var files = new[]
        {
            new CertificateFile("empty.pem", Array.Empty<byte>()),
            new CertificateFile("garbage.der", "not a certificate at all"u8.ToArray()),
            Text("key.pem", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
            Text("broken.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
            Text("unterminated.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n"),
            TestSigningKey.Trusted.PemFile("good.pem"),
        };

        var trusted = TrustedCertificates.FromFiles(files);

        Assert.Equal("good.pem", Assert.Single(trusted.Certificates).Source);
        Assert.Collection(trusted.Problems,
            p => Assert.Equal("empty.pem: the file is empty", p),
            p => Assert.StartsWith("garbage.der: not a PEM file, and not a DER X.509 certificate (", p),
            p => Assert.Equal("key.pem: no CERTIFICATE block (found PRIVATE KEY); only certificates belong in the trusted directory", p),
            p => Assert.StartsWith("broken.pem: the CERTIFICATE block is not an X.509 certificate (", p),
            p => Assert.Equal("unterminated.pem: no valid PEM block found", p));
    }

    [Fact]
    public void Empty_trusts_nobody()
    {
        Assert.Empty(TrustedCertificates.Empty.Certificates);
        Assert.Empty(TrustedCertificates.FromFiles([]).Certificates);
    }
}
