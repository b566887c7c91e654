using System.Collections.Immutable;

namespace LivePatchAgent.Core.Errors;

/// <summary>
/// The catalogue of error reasons. Each reason is a stable kebab-case word that travels unchanged as the gRPC
/// ErrorInfo reason, the D-Bus error name suffix, in the audit journal and in <c>lpctl -o json</c>.
/// docs/errors.md documents every entry, and a test keeps the two in step. Reasons are only ever added.
/// </summary>
public sealed record ErrorReason(string Code, ErrorCategory Category, string Meaning, string Remedy)
{
    public static readonly ErrorReason PatchNotFound = new(
        "patch-not-found", ErrorCategory.NotFound,
        "No live patch of that name is registered in /sys/kernel/livepatch.",
        "Check the name with `lpctl list`; patch names use '_' where the module file name has '-'.");

    public static readonly ErrorReason InvalidArgument = new(
        "invalid-argument", ErrorCategory.InvalidArgument,
        "A request argument is malformed, e.g. a patch name that is not a valid kernel module name, or the request body is not a valid protobuf message of the method's request type.",
        "Correct the argument (module names are at most 55 characters of letters, digits and '_'); generate clients from the daemon's own .proto files.");

    public static readonly ErrorReason LivepatchUnsupported = new(
        "livepatch-unsupported", ErrorCategory.FailedPrecondition,
        "The running kernel has no livepatch support (/sys/kernel/livepatch does not exist).",
        "Boot a kernel built with CONFIG_LIVEPATCH=y.");

    public static readonly ErrorReason ModuleMalformed = new(
        "module-malformed", ErrorCategory.InvalidArgument,
        "The file is not a well-formed kernel module: the ELF header, the section table, .modinfo or the signature trailer is truncated or inconsistent. The message names what and where.",
        "Check that the file is the .ko that was built and signed, not a truncated copy or another file.");

    public static readonly ErrorReason NotALivepatch = new(
        "not-a-livepatch", ErrorCategory.FailedPrecondition,
        "The module's .modinfo lacks livepatch=Y: it is an ordinary kernel module, not a live patch.",
        "Load ordinary modules with modprobe; livepatchd only manages live patches.");

    public static readonly ErrorReason KernelMismatch = new(
        "kernel-mismatch", ErrorCategory.FailedPrecondition,
        "The module was built for another kernel release than the running one (the vermagic release differs). The kernel itself skips this check when modversions are present, so livepatchd enforces it.",
        "Install the build of this patch for the running kernel (uname -r).");

    public static readonly ErrorReason VermagicMismatch = new(
        "vermagic-mismatch", ErrorCategory.FailedPrecondition,
        "The module's vermagic flags (SMP, preempt, mod_unload, modversions, ...) differ from those of the running kernel's own modules.",
        "Rebuild the patch against the exact kernel configuration of the running kernel.");

    public static readonly ErrorReason BuildIdMismatch = new(
        "build-id-mismatch", ErrorCategory.FailedPrecondition,
        "The patch names a target vmlinux build-id that differs from the running kernel's (/sys/kernel/notes): same release string, different build.",
        "Install the patch built for this exact kernel build.");

    public static readonly ErrorReason UnsignedModule = new(
        "unsigned-module", ErrorCategory.FailedPrecondition,
        "The module carries no appended signature and Verification:RequireSignature is true.",
        "Sign the module with sign-file and a key whose certificate is in the trusted directory.");

    public static readonly ErrorReason SignatureInvalid = new(
        "signature-invalid", ErrorCategory.FailedPrecondition,
        "The appended signature is malformed or does not match the module bytes (the module was altered after signing).",
        "Do not load this file; obtain the module again from its publisher.");

    public static readonly ErrorReason UntrustedSigner = new(
        "untrusted-signer", ErrorCategory.FailedPrecondition,
        "The signature is well-formed but no certificate in the trusted directory matches its signer.",
        "Add the signer's X.509 certificate (PEM or DER) to Verification:TrustedCertificatesDir if you trust it.");

    public static readonly ErrorReason ModuleTooLarge = new(
        "module-too-large", ErrorCategory.InvalidArgument,
        "The uploaded module is larger than Limits:MaxModuleSize (or decompresses beyond it).",
        "Check the file; raise the limit only if the module is genuinely that large.");

    public static readonly ErrorReason AlreadyLoaded = new(
        "already-loaded", ErrorCategory.AlreadyExists,
        "A module with the same name is already loaded (EEXIST), possibly a disabled or replaced patch that was not unloaded.",
        "Run `lpctl list`; unload the old module with `lpctl unload NAME` first.");

    public static readonly ErrorReason TransitionInProgress = new(
        "transition-in-progress", ErrorCategory.Aborted,
        "Another live patch's transition was still running at the operation's deadline; the kernel runs one transition at a time. livepatchd waited for it to end (it does not hand the kernel a module it must refuse) and retried if the kernel still answered EBUSY. The message names the patch in the way.",
        "Wait for that transition (`lpctl status`, `lpctl blocking`), then retry; a longer `--timeout` waits longer.");

    public static readonly ErrorReason KernelRejectedSignature = new(
        "kernel-rejected-signature", ErrorCategory.FailedPrecondition,
        "The kernel refused the module's signature (EKEYREJECTED): module.sig_enforce is on and the signing key is not in the kernel's keyrings, even though livepatchd trusts it.",
        "Enrol the signing certificate in the kernel (built-in keys, or MOK under Secure Boot), or sign with a key the kernel trusts.");

    public static readonly ErrorReason KernelRefused = new(
        "kernel-refused", ErrorCategory.FailedPrecondition,
        "The kernel refused to load or unload the module (EPERM): lockdown forbids unverifiable modules, kernel.modules_disabled is set, an LSM refused, or the daemon lacks CAP_SYS_MODULE. The message names the cause it found.",
        "Act on the named cause; modules_disabled and lockdown can only be lifted by a reboot.");

    public static readonly ErrorReason ModuleRejected = new(
        "module-rejected", ErrorCategory.FailedPrecondition,
        "The kernel found the module invalid for this kernel (ENOEXEC: bad ELF, vermagic or module layout; or EINVAL from the livepatch core: symbol not found, incompatible system state).",
        "Read `dmesg` for the kernel's reason; rebuild the patch for the running kernel.");

    public static readonly ErrorReason UnknownSymbol = new(
        "unknown-symbol", ErrorCategory.FailedPrecondition,
        "The module needs a symbol the kernel cannot resolve (ENOENT), usually because a module it depends on is not loaded.",
        "Load the modules it depends on first; `dmesg` names the symbol.");

    public static readonly ErrorReason LoadFailed = new(
        "load-failed", ErrorCategory.Internal,
        "finit_module failed with an error livepatchd has no specific reason for; the message gives the errno.",
        "Read `dmesg` for the kernel's reason.");

    public static readonly ErrorReason ModuleInUse = new(
        "module-in-use", ErrorCategory.FailedPrecondition,
        "The module cannot be removed yet: it is still referenced (EWOULDBLOCK) or other modules depend on it.",
        "Wait for its transition to finish; unload the modules that depend on it first.");

    public static readonly ErrorReason TransitionTimeout = new(
        "transition-timeout", ErrorCategory.DeadlineExceeded,
        "The operation did its part but the kernel's transition did not finish before the deadline; it is still running.",
        "Watch it with `lpctl status` and `lpctl blocking`; see docs/operations.md for a stalled transition.");

    public static readonly ErrorReason ForcedModulePinned = new(
        "forced-module-pinned", ErrorCategory.FailedPrecondition,
        "A forced transition pinned this module: the kernel keeps its reference for the rest of the boot, so it can never be unloaded. livepatchd recorded the force when it happened.",
        "Leave it loaded; it goes away at the next reboot. `lpctl list` marks it forced; /var/lib/livepatchd/pins.json records when, by whom and what was blocking.");

    public static readonly ErrorReason NoTransition = new(
        "no-transition", ErrorCategory.FailedPrecondition,
        "The named patch is not in transition, so there is nothing to revert, force or kick.",
        "Check `lpctl status`; to remove an enabled patch use `lpctl unload NAME`.");

    public static readonly ErrorReason ConfirmationRequired = new(
        "confirmation-required", ErrorCategory.FailedPrecondition,
        "Forcing a transition needs explicit confirmation: tasks may keep running old code, and modules it pins cannot be unloaded until reboot.",
        "Read docs/operations.md (\"What force costs\"), then repeat with --yes.");

    public static readonly ErrorReason DecompressionFailed = new(
        "decompression-failed", ErrorCategory.InvalidArgument,
        "The module is gzip-, xz- or zstd-compressed (recognised by its magic bytes), but its data is corrupt or truncated.",
        "Check that the file is complete (`xz -t`, `zstd -t`, `gzip -t`); obtain it again from its publisher.");

    public static readonly ErrorReason HashMismatch = new(
        "hash-mismatch", ErrorCategory.FailedPrecondition,
        "An installed module's SHA-256 no longer equals the one its manifest recorded at install time: the file in the store was changed afterwards. It is not loaded.",
        "Do not trust the store copy; `lpctl uninstall NAME`, then install the module again from its publisher.");

    public static readonly ErrorReason PreviousApplyInterrupted = new(
        "previous-apply-interrupted", ErrorCategory.FailedPrecondition,
        "At start-up livepatchd found its crash-loop marker from an earlier boot: the machine went down while an installed patch was being applied. Start-up apply is skipped until an administrator decides.",
        "Check the previous boot's log (`journalctl -b -1`); then `lpctl apply --resume` to apply the installed patches again, or `lpctl uninstall NAME` the patch `lpctl status` names.");

    public static readonly ErrorReason NotInstalled = new(
        "not-installed", ErrorCategory.NotFound,
        "No patch of that name is installed in the store for that kernel release.",
        "Check the name and kernel with `lpctl list --installed --all-kernels`.");

    public static readonly ErrorReason PermissionDenied = new(
        "permission-denied", ErrorCategory.PermissionDenied,
        "The caller may not do this: mutations need uid 0 or membership of the admin group, and blocking-task stacks are admin-only.",
        "Run the command as root (sudo) or as a member of the configured admin group.");

    public static readonly ErrorReason JournalUnavailable = new(
        "journal-unavailable", ErrorCategory.Unavailable,
        "The audit journal (<StateDir>/journal/journal.jsonl) could not be written: the disk is full or read-only, or the directory's permissions are wrong. livepatchd does nothing it cannot record, so the mutation was refused before it acted.",
        "Free space or fix the file system under /var/lib/livepatchd/journal (see `journalctl -u livepatchd` for the error), then retry.");

    public static readonly ErrorReason LimitExceeded = new(
        "limit-exceeded", ErrorCategory.ResourceExhausted,
        "The caller reached a configured limit: too many connections or watch streams open for its uid (Limits:MaxConnectionsPerUid, Limits:MaxWatchStreamsPerUid).",
        "Close the connections or streams this user holds (e.g. stray `lpctl watch` processes), or raise the limit in the configuration.");

    public static readonly ErrorReason Internal = new(
        "internal", ErrorCategory.Internal,
        "The daemon met an unexpected condition; the daemon log has the details.",
        "Look at `journalctl -u livepatchd` and report the message.");

    public static readonly ErrorReason DaemonUnreachable = new(
        "daemon-unreachable", ErrorCategory.Unavailable,
        "lpctl could not reach livepatchd on its socket.",
        "Check `systemctl status livepatchd` and the --socket path.");

    public static readonly ErrorReason Unknown = new(
        "unknown", ErrorCategory.Internal,
        "The daemon answered with an error that carries no reason this client knows (e.g. a newer daemon).",
        "Read the message; upgrade lpctl to match the daemon.");

    public static readonly ErrorReason PatchRefusedItself = new(
        "patch-refused-itself", ErrorCategory.FailedPrecondition,
        "The patch module's own code declined to apply: its init function or a pre-patch callback returned an error (ENODEV, ENXIO, ECANCELED) after checking the system. The module is sound and built for this kernel; the patch decided this system is not one it should change.",
        "Read `dmesg`: the livepatch core logs \"pre-patch callback failed for object ...\" and the patch's callback usually says why. Ask the patch's author what condition it checks; rebuilding will not help.");

    public static readonly ErrorReason TransitionReversed = new(
        "transition-reversed", ErrorCategory.Aborted,
        "The operation's transition was reversed before it completed: by the stall policy (Transitions:OnStall=revert), by an operator's `lpctl revert` or `lpctl unload`, or by a write to sysfs. What was asked did not take effect; the message says who reversed it.",
        "Find what blocked the transition (`lpctl history`, the journal's stall entries), then try again when it is gone.");

    public static readonly ErrorReason TransitionForced = new(
        "transition-forced", ErrorCategory.FailedPrecondition,
        "The operation completed, but only because its transition was forced (Transitions:OnStall=force or `lpctl force`): tasks that were still blocked may keep running the old code, and the forced modules are pinned until reboot. `lpctl` exits 5.",
        "Check the tasks the message names (restart them to be sure they run the new code); see docs/operations.md, \"What force costs\".");

    public static readonly ErrorReason OperationCancelled = new(
        "operation-cancelled", ErrorCategory.Aborted,
        "The operation was cancelled (`lpctl cancel`) where that was safe, or livepatchd stopped while it waited. The message says whether anything reached the kernel.",
        "Check `lpctl status`; start the operation again if it is still wanted.");

    public static readonly ErrorReason OperationNotCancellable = new(
        "operation-not-cancellable", ErrorCategory.FailedPrecondition,
        "The operation cannot be cancelled now: the kernel is loading its module or running its transition, and stopping the operation would not stop the kernel.",
        "Use what the message names instead (`lpctl revert NAME` reverses a transition), or wait for it with `lpctl wait ID`.");

    public static readonly ErrorReason OperationNotFound = new(
        "operation-not-found", ErrorCategory.NotFound,
        "No running or recent operation has that id (livepatchd keeps the last 100 in memory; older ones are in the audit journal).",
        "List them with `lpctl operations`; see older ones with `lpctl history`.");

    public static readonly ErrorReason ModuleSyscallsUnsupported = new(
        "module-syscalls-unsupported", ErrorCategory.FailedPrecondition,
        "livepatchd cannot load or remove modules here: it knows the finit_module and delete_module syscall numbers only on x86_64 and aarch64, or the kernel answered ENOSYS (a seccomp filter of the service or container). The message names the architecture.",
        "Run livepatchd on x86_64 or aarch64, outside any seccomp filter that denies the module syscalls.");

    public static readonly ErrorReason MetadataInvalid = new(
        "metadata-invalid", ErrorCategory.InvalidArgument,
        "The module declares security metadata in .modinfo that breaks the rules of docs/patch-authoring.md: a livepatch_cve that is not a CVE id, a livepatch_summary of more than one line or over 200 characters, a livepatch_level that is not a decimal integer, a livepatch_fixes_version that is not a package version, or a single-valued key given twice. The message names each value.",
        "Fix the MODULE_INFO lines of the patch source, rebuild and sign it again; an operator cannot override signed metadata.");

    public static readonly ErrorReason PatchQuarantined = new(
        "patch-quarantined", ErrorCategory.FailedPrecondition,
        "The kernel health guard took this patch out after the kernel complained (a warning, BUG/oops or lockup attributed to it) and quarantined it: start-up apply and `lpctl apply` skip it. The message names the kernel report, how it was attributed and when.",
        "Read `lpctl quarantine list` and `lpctl health`; fix or replace the patch, or run `lpctl quarantine release NAME` if the report was not its fault.");

    public static readonly ErrorReason NotQuarantined = new(
        "not-quarantined", ErrorCategory.NotFound,
        "No patch of that name is quarantined.",
        "Check the name with `lpctl quarantine list`.");

    public static readonly ErrorReason VendorPatch = new(
        "vendor-patch", ErrorCategory.FailedPrecondition,
        "The patch was installed by an OS package into the vendor store (Paths:VendorStoreDir), which livepatchd only reads: it cannot be uninstalled with lpctl. The message names the package when its sidecar does.",
        "Remove the package with your package manager (apt remove / dnf remove); `lpctl unload NAME` takes a loaded patch out of the kernel.");

    /// <summary>Every reason, for lookup and for the documentation check.</summary>
    public static ImmutableArray<ErrorReason> All { get; } =
    [
        PatchNotFound,
        InvalidArgument,
        LivepatchUnsupported,
        ModuleMalformed,
        NotALivepatch,
        KernelMismatch,
        VermagicMismatch,
        BuildIdMismatch,
        UnsignedModule,
        SignatureInvalid,
        UntrustedSigner,
        ModuleTooLarge,
        AlreadyLoaded,
        TransitionInProgress,
        KernelRejectedSignature,
        KernelRefused,
        ModuleRejected,
        UnknownSymbol,
        LoadFailed,
        ModuleInUse,
        TransitionTimeout,
        ForcedModulePinned,
        NoTransition,
        ConfirmationRequired,
        DecompressionFailed,
        HashMismatch,
        PreviousApplyInterrupted,
        NotInstalled,
        PermissionDenied,
        JournalUnavailable,
        LimitExceeded,
        Internal,
        DaemonUnreachable,
        Unknown,
        PatchRefusedItself,
        TransitionReversed,
        TransitionForced,
        OperationCancelled,
        OperationNotCancellable,
        OperationNotFound,
        ModuleSyscallsUnsupported,
        MetadataInvalid,
        PatchQuarantined,
        NotQuarantined,
        VendorPatch,
    ];

    public static ErrorReason? Find(string code) => All.FirstOrDefault(r => r.Code == code);
}

/// <summary>The broad class of an error; maps onto a gRPC status code.</summary>
public enum ErrorCategory
{
    InvalidArgument,
    NotFound,
    AlreadyExists,
    FailedPrecondition,
    PermissionDenied,
    Unavailable,
    DeadlineExceeded,
    Aborted,
    ResourceExhausted,
    Internal,
}

/// <summary>An error with a catalogued reason and a message for the operator.</summary>
public class AgentException(ErrorReason reason, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public ErrorReason Reason { get; } = reason;
}
