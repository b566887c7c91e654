using LivePatchAgent.Cli.Commands;

namespace LivePatchAgent.Unit.Tests.Cli;

/// <summary>lpctl reads the module itself, as the user, and says plainly why it cannot.</summary>
public sealed class LpctlModuleFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lpctl-file-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Reads_every_byte_of_a_file()
    {
        var path = Path.Combine(_directory, "lpdemo_v1.ko");
        var content = new byte[200_000];
        new Random(7).NextBytes(content);
        File.WriteAllBytes(path, content);

        Assert.Equal(content, ModuleFile.Read(path));
    }

    [Fact]
    public void Missing_file_says_no_such_file()
    {
        var path = Path.Combine(_directory, "nosuch.ko");

        var error = Assert.Throws<CommandFailedException>(() => ModuleFile.Read(path));

        Assert.Equal($"cannot read {path}: no such file", error.Message);
        Assert.Null(error.Reason);
    }

    [Fact]
    public void Missing_directory_says_no_such_file()
    {
        var path = Path.Combine(_directory, "nodir", "x.ko");

        var error = Assert.Throws<CommandFailedException>(() => ModuleFile.Read(path));

        Assert.Equal($"cannot read {path}: no such file", error.Message);
    }

    [Fact]
    public void Directory_says_it_is_a_directory()
    {
        var error = Assert.Throws<CommandFailedException>(() => ModuleFile.Read(_directory));

        Assert.Equal($"cannot read {_directory}: is a directory", error.Message);
        Assert.NotNull(error.Hint);
    }

    [Fact]
    public void Empty_file_is_not_a_module()
    {
        var path = Path.Combine(_directory, "empty.ko");
        File.WriteAllBytes(path, []);

        var error = Assert.Throws<CommandFailedException>(() => ModuleFile.Read(path));

        Assert.Equal($"{path} is empty, not a kernel module", error.Message);
    }

    [Fact]
    public void File_over_1_GiB_is_refused_without_reading_it()
    {
        // Sparse: no disk space is used, and a read of it all would take noticeably long.
        var path = Path.Combine(_directory, "huge.ko");
        using (var stream = File.Create(path))
        {
            stream.SetLength(ModuleFile.MaxSize + 1);
        }

        var error = Assert.Throws<CommandFailedException>(() => ModuleFile.Read(path));

        Assert.Equal($"cannot read {path}: the file is larger than 1 GiB, which is not a kernel module", error.Message);
    }
}
