using System.IO.Compression;
using LivePatchAgent.Core.Errors;
using LivePatchAgent.Core.Modules;
using ZstdSharp;

namespace LivePatchAgent.Unit.Tests.Core.Modules;

/// <summary>gzip, xz and zstd modules, decompressed in user space with a size limit (TestData/README.md).</summary>
public sealed class CompressedModuleTests
{
    private const string Release = "6.1.0-56-amd64";
    private static byte[] Read(string name) => TestData.Read(name);

    [Theory]
    [InlineData("lpdemo_v1.signed.ko.gz", ModuleCompression.Gzip)]
    [InlineData("lpdemo_v1.signed.ko.xz", ModuleCompression.Xz)]
    [InlineData("lpdemo_v1.signed.ko.zst", ModuleCompression.Zstd)]
    public void Each_format_decompresses_to_the_signed_module(string file, ModuleCompression format)
    {
        var plain = Read("lpdemo_v1.signed.ko");

        var image = CompressedModule.Decompress(Read(file), 64 << 20, out var detected);

        Assert.Equal(format, detected);
        Assert.Equal(plain, image);
    }

    [Theory]
    [InlineData("lpdemo_v1.signed.ko.gz")]
    [InlineData("lpdemo_v1.signed.ko.xz")]
    [InlineData("lpdemo_v1.signed.ko.zst")]
    public void The_signature_inside_the_decompressed_image_verifies(string file)
    {
        var image = CompressedModule.Decompress(Read(file), 64 << 20, out _);
        var context = new VerificationContext(Release, ElfMachine.X64, TrustedCertificates.FromFiles([new CertificateFile("trusted.pem", Read("trusted.pem"))]))
        {
            ReferenceVermagic = $"{Release} SMP preempt mod_unload modversions ",
        };

        var report = ModuleVerifier.Verify(image, context);

        Assert.True(report.Succeeded, report.FirstFailure?.Detail);
        Assert.Contains(report.Checks, c => c.Name == VerificationCheck.Signature && c.Status == CheckStatus.Passed);
    }

    [Fact]
    public void A_plain_module_is_returned_as_it_is()
    {
        var plain = Read("lpdemo_v1.signed.ko");

        var image = CompressedModule.Decompress(plain, 64 << 20, out var format);

        Assert.Equal(ModuleCompression.None, format);
        Assert.Same(plain, image);
    }

    [Theory]
    [InlineData(new byte[] { 0x1f, 0x8b, 8, 0 }, ModuleCompression.Gzip)]
    [InlineData(new byte[] { 0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00 }, ModuleCompression.Xz)]
    [InlineData(new byte[] { 0x28, 0xb5, 0x2f, 0xfd }, ModuleCompression.Zstd)]
    [InlineData(new byte[] { 0x7f, 0x45, 0x4c, 0x46 }, ModuleCompression.None)]
    [InlineData(new byte[] { 0x1f }, ModuleCompression.None)]
    public void The_format_comes_from_the_magic(byte[] start, ModuleCompression format) =>
        Assert.Equal(format, CompressedModule.Detect(start));

    [Fact]
    public void A_gzip_bomb_stops_at_the_limit()
    {
        var bomb = Gzip(new byte[32 << 20]);

        var e = Assert.Throws<AgentException>(() => CompressedModule.Decompress(bomb, 1 << 20, out _));

        Assert.Equal(ErrorReason.ModuleTooLarge, e.Reason);
        Assert.Contains("decompresses to more than 1048576 bytes", e.Message, StringComparison.Ordinal);
        Assert.Contains("Limits:MaxModuleSize", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_zstd_bomb_stops_at_the_limit()
    {
        using var compressor = new Compressor(19);
        var bomb = compressor.Wrap(new byte[32 << 20]).ToArray();

        var e = Assert.Throws<AgentException>(() => CompressedModule.Decompress(bomb, 1 << 20, out _));

        Assert.Equal(ErrorReason.ModuleTooLarge, e.Reason);
    }

    [Fact]
    public void An_xz_bomb_stops_at_the_limit()
    {
        var bomb = Read("zeros-16MiB.xz");
        Assert.True(bomb.Length < 4096);

        var e = Assert.Throws<AgentException>(() => CompressedModule.Decompress(bomb, 1 << 20, out _));

        Assert.Equal(ErrorReason.ModuleTooLarge, e.Reason);
        Assert.Contains("xz-compressed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Exactly_the_limit_is_accepted()
    {
        var data = new byte[100_000];
        new Random(7).NextBytes(data);

        var image = CompressedModule.Decompress(Gzip(data), data.Length, out _);

        Assert.Equal(data, image);
        Assert.Throws<AgentException>(() => CompressedModule.Decompress(Gzip(data), data.Length - 1, out _));
    }

    [Theory]
    [InlineData("lpdemo_v1.signed.ko.gz")]
    [InlineData("lpdemo_v1.signed.ko.xz")]
    [InlineData("lpdemo_v1.signed.ko.zst")]
    public void Corrupt_data_is_decompression_failed(string file)
    {
        var bytes = Read(file);
        // Keep the magic, damage the body.
        for (var i = 16; i < bytes.Length - 16; i += 7)
        {
            bytes[i] ^= 0x5a;
        }

        var e = Assert.Throws<AgentException>(() => CompressedModule.Decompress(bytes, 64 << 20, out _));

        Assert.Equal(ErrorReason.DecompressionFailed, e.Reason);
        Assert.Contains("cannot decompress", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("lpdemo_v1.signed.ko.gz")]
    [InlineData("lpdemo_v1.signed.ko.xz")]
    [InlineData("lpdemo_v1.signed.ko.zst")]
    public void A_truncated_file_is_decompression_failed(string file)
    {
        var bytes = Read(file);

        var e = Assert.Throws<AgentException>(() => CompressedModule.Decompress(bytes[..(bytes.Length / 2)], 64 << 20, out _));

        Assert.Equal(ErrorReason.DecompressionFailed, e.Reason);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(5)]
    [InlineData(4)]
    [InlineData(1)]
    public void A_gzip_trailer_that_does_not_match_the_data_is_decompression_failed(int fromEnd)
    {
        // The deflate body is intact; only the CRC-32 (last 8..5) or the length (last 4..1) is altered.
        var bytes = Read("lpdemo_v1.signed.ko.gz");
        bytes[^fromEnd] ^= 0x01;

        var e = Assert.Throws<AgentException>(() => CompressedModule.Decompress(bytes, 64 << 20, out _));

        Assert.Equal(ErrorReason.DecompressionFailed, e.Reason);
    }

    [Theory]
    [InlineData(8)]
    [InlineData(3)]
    public void A_gzip_file_cut_inside_its_trailer_is_decompression_failed(int cut)
    {
        // GZipStream ends quietly here: the whole deflate body is present, so only the trailer check can tell.
        var bytes = Read("lpdemo_v1.signed.ko.gz");

        var e = Assert.Throws<AgentException>(() => CompressedModule.Decompress(bytes[..^cut], 64 << 20, out _));

        Assert.Equal(ErrorReason.DecompressionFailed, e.Reason);
    }

    private static byte[] Gzip(byte[] data)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            gzip.Write(data);
        }

        return output.ToArray();
    }
}
