using System.Text.Json;
using LivePatchAgent.Cli.Output;
using LivePatchAgent.Protocol.V1;

namespace LivePatchAgent.Unit.Tests.Cli;

/// <summary><c>lpctl list --installed</c> with vendor patches: the ORIGIN column, the notes, and origin/package in JSON.</summary>
public sealed class LpctlVendorOutputTests
{
    private static ListInstalledResponse Listing()
    {
        var response = new ListInstalledResponse { RunningRelease = "6.1.0-26-amd64" };
        response.Patches.Add(new InstalledPatch { Name = "lp_local", KernelRelease = "6.1.0-26-amd64", Origin = "local", Notes = { "shadows the vendor copy /v/lp_local.ko" } });
        response.Patches.Add(new InstalledPatch { Name = "lp_x", KernelRelease = "6.1.0-26-amd64", Origin = "vendor", Package = "livepatch-lp-x", PackageVersion = "1.0-1" });
        response.Patches.Add(new InstalledPatch { Name = "lp_y", KernelRelease = "6.1.0-26-amd64", Origin = "vendor", Notes = { "no sidecar lp_y.vendor.json; the package is unknown" } });
        // A daemon before the vendor store sends no origin: its patches are local.
        response.Patches.Add(new InstalledPatch { Name = "lp_old", KernelRelease = "6.1.0-26-amd64" });
        return response;
    }

    [Fact]
    public void The_table_has_an_origin_column_and_notes_below_it()
    {
        var text = StoreOutput.InstalledList(Listing());

        Assert.Matches("(?m)^NAME +KERNEL +ORIGIN +LOADED +REPLACE ", text);
        Assert.Matches("(?m)^lp_local +6\\.1\\.0-26-amd64 \\(running\\) +local +no ", text);
        Assert.Matches("(?m)^lp_x +6\\.1\\.0-26-amd64 \\(running\\) +vendor \\(livepatch-lp-x\\) +no ", text);
        Assert.Matches("(?m)^lp_y +6\\.1\\.0-26-amd64 \\(running\\) +vendor +no ", text);
        Assert.Matches("(?m)^lp_old +6\\.1\\.0-26-amd64 \\(running\\) +local +no ", text);
        Assert.Contains("note: lp_local: shadows the vendor copy /v/lp_local.ko\nnote: lp_y: no sidecar lp_y.vendor.json; the package is unknown\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Json_has_origin_and_package_or_null()
    {
        using var json = JsonDocument.Parse(JsonOutput.Document(StoreOutput.ToDocument(Listing()), LpctlJsonContext.Default.InstalledListDocument));
        var patches = json.RootElement.GetProperty("patches").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);

        Assert.Equal("vendor", patches["lp_x"].GetProperty("origin").GetString());
        Assert.Equal("livepatch-lp-x", patches["lp_x"].GetProperty("package").GetString());
        Assert.Equal("1.0-1", patches["lp_x"].GetProperty("packageVersion").GetString());
        Assert.Equal("vendor", patches["lp_y"].GetProperty("origin").GetString());
        Assert.Equal(JsonValueKind.Null, patches["lp_y"].GetProperty("package").ValueKind);
        Assert.Equal("local", patches["lp_local"].GetProperty("origin").GetString());
        Assert.Equal(JsonValueKind.Null, patches["lp_local"].GetProperty("package").ValueKind);
        Assert.Equal("local", patches["lp_old"].GetProperty("origin").GetString());
        Assert.Equal(["shadows the vendor copy /v/lp_local.ko"], patches["lp_local"].GetProperty("notes").EnumerateArray().Select(n => n.GetString()));
    }
}
