using LivePatchAgent.Cli;

// lpctl: the command-line client of livepatchd. Lpctl holds the command tree; this file only binds it to the
// process's console. Kept free of static initialisation: monitoring runs lpctl every minute.
return await Lpctl.RunAsync(args, LpctlConsole.ForProcess(), CancellationToken.None).ConfigureAwait(false);
