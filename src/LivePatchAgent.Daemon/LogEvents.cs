namespace LivePatchAgent.Daemon;

/// <summary>
/// Every log EventId of livepatchd, in one place. They are append-only: monitoring may match on them, so an id is
/// never reused or renumbered, and a new message gets the next free id of its range. Ranges: 1–99 the daemon
/// (Log), 100–119 D-Bus (DBusLog), 120–139 systemd (SystemdLog), 140–159 installed patches (StoreLog), 160–179 the
/// audit journal (JournalLog), 180–199 the CVE posture (PostureLog), 200–219 the metrics (MetricsLog), 220–239 the
/// kernel health guard (HealthLog), 240–259 patch delivery (vendor store), 260–269 the web console. A unit test checks
/// that no two messages share an id.
/// </summary>
internal static class LogEvents
{
    public const int Started = 1;
    public const int KernelEvent = 2;
    public const int ReadProblem = 3;
    public const int PollFailed = 4;
    public const int StaleSocketRemoved = 5;
    public const int LivepatchUnsupported = 6;
    public const int RequestFailed = 7;
    public const int RequestCrashed = 8;
    public const int SubscriberLagged = 9;
    public const int Stopping = 10;
    public const int OperationStarted = 11;
    public const int OperationFinished = 12;
    public const int RetryingBusy = 13;
    public const int BlockingTask = 14;
    public const int SupervisorStep = 15;
    public const int SupervisorStepFailed = 16;
    public const int PermissionDenied = 17;
    public const int LimitReached = 18;
    public const int RequestTimedOut = 19;
    public const int OperationCrashed = 20;
    public const int FinishNotJournalled = 21;
    public const int OperationCancelRequested = 22;
    public const int AdminGroupResolved = 23;
    public const int AdminGroupUnresolved = 24;
    public const int AdminGroupNone = 25;
    public const int MalformedRequest = 26;
    public const int OperationChecked = 27;
    public const int DBusConnected = 100;
    public const int DBusUnavailable = 101;
    public const int DBusRetrying = 102;
    public const int DBusLost = 103;
    public const int DBusMethodFailed = 104;
    public const int SystemdReady = 120;
    public const int SystemdWatchdogEnabled = 121;
    public const int SystemdWatcherStalled = 122;
    public const int SystemdWatcherRecovered = 123;
    public const int SystemdNotifyFailed = 124;
    public const int SystemdNotifyRecovered = 125;
    public const int SystemdNotifySocketUnusable = 126;
    public const int SystemdEnvironmentProblem = 127;
    public const int SystemdSocketActivated = 128;
    public const int StoreInstalled = 140;
    public const int StoreUninstalled = 141;
    public const int StoreApplyStarted = 142;
    public const int StoreApplyFailed = 143;
    public const int StoreApplySkipped = 144;
    public const int StoreApplyFinished = 145;
    public const int StoreApplyInterrupted = 146;
    public const int StoreGuardLifted = 147;
    public const int StoreStaleMarker = 148;
    public const int StoreMarkerNotCleared = 149;
    public const int StoreStoreProblem = 150;
    public const int StoreLeftoverKept = 151;
    public const int StoreApplyDisabled = 152;
    public const int StoreStartupApplyFailed = 153;
    public const int StoreTemporaryFilesRemoved = 154;
    public const int StoreLoadedRecordNotWritten = 155;
    public const int StoreLoadedRecordsUnreadable = 156;
    public const int JournalLineSkipped = 160;
    public const int JournalWriteFailed = 161;
    public const int JournalInterrupted = 162;
    public const int JournalRotated = 163;
    public const int JournalOpened = 164;
    public const int PostureFeedsRead = 180;
    public const int PostureFeedSkipped = 181;
    public const int PostureChanged = 182;
    public const int PostureWatcherFailed = 183;
    public const int MetricsWriting = 200;
    public const int MetricsNoTextfileDir = 201;
    public const int MetricsWriteFailed = 202;
    public const int MetricsDisabled = 203;
    public const int HealthWatching = 220;
    public const int HealthReaderUnavailable = 221;
    public const int HealthReaderFailed = 222;
    public const int HealthReportAttributed = 223;
    public const int HealthReportUnattributed = 224;
    public const int HealthReportsSuppressed = 225;
    public const int HealthRecordsMissed = 226;
    public const int HealthMalformedRecord = 227;
    public const int HealthWindowOpened = 228;
    public const int HealthQuarantined = 229;
    public const int HealthReleased = 230;
    public const int HealthRevertFailed = 231;
    public const int HealthQuarantineUnreadable = 232;
    public const int VendorStoreProblem = 240;
    public const int VendorPatchShadowed = 241;
    public const int VendorUninstallRefused = 242;
}
