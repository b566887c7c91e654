
namespace LivePatchAgent.Integration.Tests;

/// <summary>
/// The set-up the lpctl and daemon tests share: a fixture tree of the test modules' kernel release, the simulated
/// kernel behind it (finit_module and delete_module never reach this machine's kernel), a scratch directory, and
/// a trusted directory holding the test signing certificate.
/// </summary>
public abstract class SimulatedHostTests : IDisposable
{
    protected SimulatedHostTests(string prefix)
    {
        Fixture = SysfsFixture.Create(ModuleImage.Release);
        Kernel = new SimulatedKernel(Fixture);
        Files = Directory.CreateTempSubdirectory(prefix);
        TrustedCertificateDir.WriteTestCertificate(TrustedDir);
    }

    protected SysfsFixture Fixture { get; }

    private protected SimulatedKernel Kernel { get; }

    protected DirectoryInfo Files { get; }

    protected string TrustedDir => Path.Combine(Files.FullName, "trusted.d");

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            Kernel.Dispose();
            Fixture.Dispose();
            Files.Delete(recursive: true);
        }
    }

    /// <summary>The daemon on the simulated kernel, trusting the test certificate, with extra settings.</summary>
    protected Task<DaemonHarness> StartAsync(params string[] settings) =>
        DaemonHarness.StartAsync(Fixture, Kernel, [TrustedCertificateDir.SettingFor(TrustedDir), .. settings]);

    private protected static Task<LpctlRun> Lpctl(DaemonHarness daemon, params string[] args) =>
        LpctlProcess.RunAsync(["--socket", daemon.SocketPath, .. args]);

    /// <summary>Writes <paramref name="content"/> to a file of the scratch directory; returns its path.</summary>
    protected string Write(string name, byte[] content)
    {
        var path = Path.Combine(Files.FullName, name);
        File.WriteAllBytes(path, content);
        return path;
    }
}
