using System.Security.Cryptography;
using LivePatchAgent.Daemon.Store;

namespace LivePatchAgent.Unit.Tests.Daemon.Store;

/// <summary>Manifests and module bytes for store tests.</summary>
internal static class StoreManifests
{
    public const string Release = "6.1.0-56-amd64";

    public static readonly DateTimeOffset Epoch = new(2026, 11, 28, 10, 0, 0, TimeSpan.Zero);

    public static byte[] Module(string text) => System.Text.Encoding.ASCII.GetBytes("\x7fELF module " + text);

    public static InstalledPatchManifest For(string name, byte[] module, bool? replace = null, ulong? version = null, int minute = 0, string release = Release) => new()
    {
        Name = name,
        KernelRelease = release,
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(module)),
        Size = module.Length,
        Replace = replace,
        CumulativeVersion = version,
        InstalledAt = Epoch.AddMinutes(minute),
        InstalledByUid = 0,
        InstalledBy = "uid 0 pid 1 (test)",
        CveIds = ["CVE-2026-1234"],
    };
}
