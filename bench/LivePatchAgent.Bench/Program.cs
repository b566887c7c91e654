using LivePatchAgent.Bench;

return await BenchCommandLine.RunAsync(args).ConfigureAwait(false);
