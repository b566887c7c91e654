
namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// A temporary Verification:TrustedCertificatesDir holding the trusted test signer's certificate, as the operator's
/// /etc/livepatchd/trusted.d would.
/// </summary>
internal sealed class TrustedCertificateDir : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("lpa-trusted-");

    public TrustedCertificateDir() => WriteTestCertificate(_dir.FullName);

    public string Path => _dir.FullName;

    /// <summary>The daemon setting that points at this directory.</summary>
    public string Setting => SettingFor(Path);

    /// <summary>Puts the trusted test signer's certificate into <paramref name="dir"/> (created if needed).</summary>
    public static void WriteTestCertificate(string dir)
    {
        Directory.CreateDirectory(dir);
        File.WriteAllText(System.IO.Path.Combine(dir, "test.pem"), TestSigningKey.Trusted.Pem);
    }

    public static string SettingFor(string dir) => $"Verification:TrustedCertificatesDir={dir}";

    public void Dispose() => _dir.Delete(recursive: true);
}
