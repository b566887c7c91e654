using System.Globalization;
using LivePatchAgent.Core.Modules;

namespace LivePatchAgent.Bench.Suites;

/// <summary>
/// (7) ModuleVerifier.Verify on signed modules of 100 KB, 1 MB and 10 MB: ELF and .modinfo parsing, the signature
/// (RSA-2048, SHA-256, as sign-file makes it) against a trusted certificate, and the SHA-256 of the whole file.
/// </summary>
internal static class VerifySuite
{
    public static IReadOnlyList<BenchRow> Run(SuiteContext context)
    {
        var rows = new List<BenchRow>();
        var key = TestSigningKey.Trusted;
        var verification = new VerificationContext(ModuleImage.Release, ElfMachine.X64, key.AsTrusted());
        foreach (var (label, size) in new[] { ("100 KB", 100 * 1024), ("1 MB", 1024 * 1024), ("10 MB", 10 * 1024 * 1024) })
        {
            var unsigned = new ModuleImage { TextSize = size - 2048 }.Build();
            var module = key.Sign(unsigned);
            var report = ModuleVerifier.Verify(module, verification);
            if (!report.Succeeded)
            {
                throw new InvalidOperationException($"the {label} module does not verify: {report.FirstFailure}");
            }

            var d = ScaleSuite.Measure(() => ModuleVerifier.Verify(module, verification), context.Runs(size >= 10 << 20 ? 20 : 50, 5));
            rows.Add(BenchRow.From("verify", $"{label} signed module", "verify", "ms", d) with
            {
                Note = $"{module.Length / 1024.0 / 1024.0 / (d.Median / 1000):0} MiB/s, {module.Length.ToString("N0", CultureInfo.InvariantCulture)} bytes",
            });
        }

        context.Log.WriteLine($"verify: {string.Join(", ", rows.Select(r => $"{r.Case}: {r.Median:0.00} ms"))}");
        return rows;
    }
}
