using System.Text;
using Microsoft.Win32.SafeHandles;

namespace LivePatchAgent.Cli;

/// <summary>Where lpctl writes: data to <see cref="Out"/>, messages to <see cref="Error"/>; times in <see cref="TimeZone"/>.</summary>
internal sealed record LpctlConsole(TextWriter Out, TextWriter Error, TimeZoneInfo TimeZone)
{
    /// <summary>Whether stdout is a terminal: only then do long operations draw a live progress line.</summary>
    public bool OutIsTerminal { get; init; }

    /// <summary>The process's own stdout, stderr and local time zone.</summary>
    public static LpctlConsole ForProcess() => new(OpenStandardOutput(), Console.Error, TimeZoneInfo.Local) { OutIsTerminal = !Console.IsOutputRedirected };

    // Console.Out silently drops writes that fail with EPIPE (ConsolePal.Unix), so `lpctl watch | grep -m1 x`
    // would keep running after grep exits. On a pipe or socket, write through a FileStream on fd 1 instead: a
    // closed reader then raises IOException and watch stops. A regular file keeps Console's stream, because
    // FileStream would write at its own cached offset and overwrite stderr lines in `lpctl ... > log 2>&1`.
    private static StreamWriter OpenStandardOutput()
    {
        var utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
        try
        {
            var stream = new FileStream(new SafeFileHandle(1, ownsHandle: false), FileAccess.Write, bufferSize: 0);
            if (!stream.CanSeek)
            {
                return new StreamWriter(stream, utf8, bufferSize: 4096) { AutoFlush = false };
            }

            stream.Dispose();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException)
        {
            // fd 1 is closed or not a file descriptor FileStream accepts: fall back to the console stream.
        }

        return new StreamWriter(Console.OpenStandardOutput(), utf8, bufferSize: 4096) { AutoFlush = false };
    }
}
