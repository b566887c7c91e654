using System.Diagnostics;
using LivePatchAgent.Linux.Sysfs;

namespace LivePatchAgent.Unit.Tests.Linux.Sysfs;

/// <summary>SysfsFile.TryRead, which reads with three system calls (Native.AttributeFile), on each kind of file a host tree can hold.</summary>
public sealed class SysfsFileTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("lpa-sysfsfile-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string PathOf(string name) => Path.Combine(_dir.FullName, name);

    [Fact]
    public void A_value_is_read_whole_without_its_trailing_newline()
    {
        File.WriteAllText(PathOf("enabled"), "1\n");
        Assert.Equal(SysfsFile.Status.Ok, SysfsFile.TryRead(PathOf("enabled"), out var value, out var error));
        Assert.Equal("1", value);
        Assert.Null(error);
    }

    [Fact]
    public void A_page_sized_value_is_read_to_its_end()
    {
        var text = new string('x', 4095);
        File.WriteAllText(PathOf("big"), text + "\n");
        Assert.Equal(SysfsFile.Status.Ok, SysfsFile.TryRead(PathOf("big"), out var value, out _));
        Assert.Equal(text, value);
    }

    [Fact]
    public void An_empty_file_is_an_empty_value()
    {
        File.WriteAllText(PathOf("empty"), string.Empty);
        Assert.Equal(SysfsFile.Status.Ok, SysfsFile.TryRead(PathOf("empty"), out var value, out _));
        Assert.Equal(string.Empty, value);
    }

    [Fact]
    public void A_missing_file_or_a_missing_parent_is_missing_not_an_error()
    {
        Assert.Equal(SysfsFile.Status.Missing, SysfsFile.TryRead(PathOf("gone"), out _, out var error));
        Assert.Null(error);
        File.WriteAllText(PathOf("file"), "1\n");
        Assert.Equal(SysfsFile.Status.Missing, SysfsFile.TryRead(Path.Combine(PathOf("file"), "below"), out _, out _));
    }

    [Fact]
    public void A_directory_is_unreadable_with_the_reason()
    {
        Directory.CreateDirectory(PathOf("dir"));
        Assert.Equal(SysfsFile.Status.Unreadable, SysfsFile.TryRead(PathOf("dir"), out _, out var error));
        Assert.Contains("directory", error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_fifo_is_unreadable_not_a_value()
    {
        var fifo = PathOf("fifo");
        using (var mkfifo = Process.Start("mkfifo", [fifo]))
        {
            mkfifo.WaitForExit();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        // With a writer holding it open (without one the open blocks, as a hung kernel read does, which the systemd
        // watchdog covers: SystemdNotifyTests), the read meets a pipe it cannot read from an offset.
        using var writer = new FileStream(fifo, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, bufferSize: 0);
        writer.Write("1\n"u8);
        Assert.Equal(SysfsFile.Status.Unreadable, SysfsFile.TryRead(fifo, out _, out var error));
        Assert.Equal("not a regular file", error);
    }
}
