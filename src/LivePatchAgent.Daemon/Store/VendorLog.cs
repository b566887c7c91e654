namespace LivePatchAgent.Daemon.Store;

/// <summary>Log messages of patch delivery (the vendor store). EventIds 240–259; like every EventId they are append-only.</summary>
internal static partial class VendorLog
{
    [LoggerMessage(LogEvents.VendorStoreProblem, LogLevel.Warning, "vendor store: {Problem}")]
    public static partial void StoreProblem(ILogger logger, string problem);

    [LoggerMessage(LogEvents.VendorPatchShadowed, LogLevel.Information, "vendor store: {Patch} for {Release} is installed locally too; the local install is used, the vendor copy {Path} is shadowed")]
    public static partial void Shadowed(ILogger logger, string patch, string release, string path);

    [LoggerMessage(LogEvents.VendorUninstallRefused, LogLevel.Information, "uninstall of {Patch} for {Release} refused: it is a vendor patch ({Package}); remove the package")]
    public static partial void UninstallRefused(ILogger logger, string patch, string release, string package);
}
