using LivePatchAgent.Fuzz;
using SharpFuzz;

// LivePatchAgent.Fuzz TARGET            under afl-fuzz (scripts/fuzz.sh): SharpFuzz feeds the inputs
// LivePatchAgent.Fuzz TARGET FILE...    replay inputs (a crash AFL found) and print what each one gave
// LivePatchAgent.Fuzz seed DIR          write the seed corpus, DIR/module and DIR/signature
var fixture = Path.Combine(AppContext.BaseDirectory, "TestData");
switch (args)
{
    case ["seed", var directory]:
        CorpusSeeds.Write(directory, fixture);
        return 0;
    case [var target and (ParserTargets.Module or ParserTargets.Signature)]:
        // Nothing instrumented may run before Fuzzer.Run has attached AFL's shared memory (an access violation
        // otherwise), so the targets, whose static fields touch Core, are made on the first input.
        ParserTargets? targets = null;
        // Out of process: a stack overflow or a hang kills only the child SharpFuzz runs the input in.
        Fuzzer.OutOfProcess.Run(stream =>
        {
            using var input = new MemoryStream();
            stream.CopyTo(input);
            targets ??= ParserTargets.Load(fixture);
            targets.Run(target, input.ToArray());
        });
        return 0;
    case [var target, .. var files] when ParserTargets.Names.Contains(target):
        var replay = ParserTargets.Load(fixture);
        var failed = 0;
        foreach (var file in files)
        {
            try
            {
                Console.WriteLine($"{file}: {replay.Run(target, File.ReadAllBytes(file))}");
            }
            catch (Exception e) when (e is not (OutOfMemoryException or IOException))
            {
                // Replay exists to show these: print the whole exception and go on with the next file.
                Console.WriteLine($"{file}: CRASH {e}");
                failed++;
            }
        }

        return failed == 0 ? 0 : 1;
    default:
        Console.Error.WriteLine($"usage: LivePatchAgent.Fuzz {string.Join("|", ParserTargets.Names)} [FILE...] | seed DIR");
        return 2;
}
