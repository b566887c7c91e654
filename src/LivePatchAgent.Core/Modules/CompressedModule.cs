using System.Buffers.Binary;
using System.IO.Compression;
using LivePatchAgent.Core.Errors;
using SharpCompress.Compressors.Xz;
using ZstdSharp;

namespace LivePatchAgent.Core.Modules;

/// <summary>How a module file is compressed, as kmod writes them (<c>.ko.gz</c>, <c>.ko.xz</c>, <c>.ko.zst</c>).</summary>
public enum ModuleCompression
{
    None,
    Gzip,
    Xz,
    Zstd,
}

/// <summary>
/// Decompresses a compressed module in user space, so that the plain image is what is verified, sealed and handed
/// to <c>finit_module(2)</c> (the kernel's own in-kernel decompression, MODULE_INIT_COMPRESSED_FILE, would load
/// bytes livepatchd never saw). The format is recognised by its magic, never by a file name. The module signature
/// is inside the decompressed image, as <c>sign-file</c> signs before kmod compresses.
/// </summary>
public static class CompressedModule
{
    private const int ChunkSize = 64 * 1024;

    /// <summary>The compression of <paramref name="bytes"/>, from its first bytes.</summary>
    public static ModuleCompression Detect(ReadOnlySpan<byte> bytes)
    {
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0x1f, 0x8b]))
        {
            return ModuleCompression.Gzip;
        }

        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xfd, (byte)'7', (byte)'z', (byte)'X', (byte)'Z', 0x00]))
        {
            return ModuleCompression.Xz;
        }

        return bytes.StartsWith((ReadOnlySpan<byte>)[0x28, 0xb5, 0x2f, 0xfd]) ? ModuleCompression.Zstd : ModuleCompression.None;
    }

    /// <summary>The lowercase name used in messages and on the wire: "gzip", "xz", "zstd"; empty for none.</summary>
    public static string Name(ModuleCompression compression) => compression switch
    {
        ModuleCompression.Gzip => "gzip",
        ModuleCompression.Xz => "xz",
        ModuleCompression.Zstd => "zstd",
        _ => string.Empty,
    };

    /// <summary>
    /// Returns the plain module image: <paramref name="file"/> itself when it is not compressed, else its
    /// decompressed contents. Decompression stops as soon as the output would exceed <paramref name="maxSize"/>
    /// bytes, so a small bomb never costs more than that much memory. Throws <see cref="AgentException"/> with
    /// <see cref="ErrorReason.ModuleTooLarge"/> beyond the limit and <see cref="ErrorReason.DecompressionFailed"/>
    /// for corrupt or truncated data.
    /// </summary>
    public static byte[] Decompress(byte[] file, long maxSize, out ModuleCompression compression)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxSize);
        compression = Detect(file);
        if (compression == ModuleCompression.None)
        {
            return file;
        }

        var name = Name(compression);
        try
        {
            using var input = new MemoryStream(file, writable: false);
            using var decoder = Open(compression, input);
            var output = ReadBounded(decoder, maxSize, name, file.Length);
            if (compression == ModuleCompression.Gzip)
            {
                CheckGzipTrailer(file, output);
            }

            if (output.Length == 0)
            {
                throw new AgentException(ErrorReason.DecompressionFailed, $"the {name}-compressed module decompresses to nothing");
            }

            return output;
        }
        catch (AgentException)
        {
            throw;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or InvalidOperationException or ZstdException
            or IndexOutOfRangeException or ArgumentException or NotSupportedException or OverflowException || FromXzDecoder(e))
        {
            // The decoders report corrupt input with a variety of exception types; every one means the same here.
            throw new AgentException(ErrorReason.DecompressionFailed,
                $"cannot decompress the {name}-compressed module: {e.Message.TrimEnd('.')}; check that the file is complete", e);
        }
    }

    // SharpCompress reports corrupt LZMA data with its own exception types, some of them internal
    // (SharpCompress.Compressors.LZMA.DataErrorException), so they are recognised by their namespace.
    private static bool FromXzDecoder(Exception e) =>
        e.GetType().Namespace?.StartsWith("SharpCompress.", StringComparison.Ordinal) == true;

    /// <summary>
    /// GZipStream ends quietly at the end of a truncated file, so the trailer is checked here: CRC-32 and length
    /// (mod 2^32) of the whole output, as gzip and kmod write a module (one member).
    /// </summary>
    private static void CheckGzipTrailer(byte[] file, byte[] output)
    {
        if (file.Length < 18)
        {
            throw new AgentException(ErrorReason.DecompressionFailed, $"the gzip-compressed module is {file.Length} bytes, too short to be complete");
        }

        var crc = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(file.Length - 8));
        var size = BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(file.Length - 4));
        if (size != (uint)output.LongLength || crc != System.IO.Hashing.Crc32.HashToUInt32(output))
        {
            throw new AgentException(ErrorReason.DecompressionFailed,
                "cannot decompress the gzip-compressed module: its CRC-32 and length trailer does not match the data (a truncated or altered file, or several gzip members); check that the file is complete");
        }
    }

    private static Stream Open(ModuleCompression compression, Stream input) => compression switch
    {
        ModuleCompression.Gzip => new GZipStream(input, CompressionMode.Decompress),
        ModuleCompression.Xz => new XZStream(input),
        ModuleCompression.Zstd => new DecompressionStream(input),
        _ => throw new ArgumentOutOfRangeException(nameof(compression), compression, "not a compression"),
    };

    private static byte[] ReadBounded(Stream decoder, long maxSize, string name, long compressedSize)
    {
        using var output = new MemoryStream();
        var chunk = new byte[ChunkSize];
        int read;
        while ((read = decoder.Read(chunk, 0, chunk.Length)) > 0)
        {
            if (output.Length + read > maxSize)
            {
                throw new AgentException(ErrorReason.ModuleTooLarge,
                    $"the {name}-compressed module ({compressedSize} bytes) decompresses to more than {maxSize} bytes, the Limits:MaxModuleSize limit; refusing it as a possible decompression bomb");
            }

            output.Write(chunk, 0, read);
        }

        return output.ToArray();
    }
}
