// The page's only source of state: org.livepatchd.Agent1 on the system bus (docs/dbus.md), through cockpit.dbus.
// Properties arrive with PropertiesChanged, patches and history are asked again on PatchStateChanged and on every
// property change; nothing polls.
/* global cockpit */

export const BUS_NAME = "org.livepatchd.Agent1";
export const OBJECT_PATH = "/org/livepatchd/Agent1";
export const INTERFACE = "org.livepatchd.Agent1";

// The properties the page shows, with their value while the daemon is not on the bus.
export const PROPERTY_DEFAULTS = {
    Version: "",
    KernelRelease: "",
    LivepatchSupported: false,
    State: "",
    TransitionPatch: "",
    TransitionStartedAt: 0,
    TransitionTasksTotal: 0,
    TransitionTasksPending: 0,
    TransitionBlocking: "",
    PatchCount: 0,
    EnabledPatchCount: 0,
    ForcedPatches: [],
    TaintMask: 0,
    TaintFlags: "",
    LastError: "",
    OpenCveCount: 0,
    HighestOpenSeverity: "",
    FixedLiveCveCount: 0,
    EffectiveKernelVersion: "",
    KernelLockdown: "",
    SignatureEnforcement: "",
    DegradedReasons: [],
    UpdatedAt: 0,
};

/** An unpacked variant value: cockpit.dbus gives {t, v} for variants and plain values otherwise. */
function plain(value) {
    return value && typeof value === "object" && "v" in value && "t" in value ? value.v : value;
}

/**
 * Connects to the daemon and calls onChange({connected, error, properties, patches, history, historyError}) on
 * every change. superuser "try": an administrator's session reads through the privileged bridge (GetHistory is for
 * root), anyone else reads as themselves. Returns a function that closes the connection.
 */
export function connect(onChange) {
    const client = cockpit.dbus(BUS_NAME, { bus: "system", superuser: "try" });
    let state = { connected: false, error: null, properties: { ...PROPERTY_DEFAULTS }, patches: [], history: [], historyError: null };
    let closed = false;
    let generation = 0;

    const publish = changes => {
        state = { ...state, ...changes };
        if (!closed) onChange(state);
    };

    const readProperties = () =>
        client.call(OBJECT_PATH, "org.freedesktop.DBus.Properties", "GetAll", [INTERFACE])
                .then(([all]) => {
                    const properties = { ...PROPERTY_DEFAULTS };
                    for (const [name, value] of Object.entries(all)) properties[name] = plain(value);
                    return properties;
                });

    const readPatches = () =>
        client.call(OBJECT_PATH, INTERFACE, "GetPatches", [])
                .then(([patches]) => patches.map(([name, patchState, enabled, transition, functions]) =>
                    ({ name, state: patchState, enabled, transition, functions })));

    // The bus policy lets only root read the journal; a session that was denied once is not asked again.
    let historyDenied = null;
    const readHistory = () => historyDenied ? Promise.resolve({ history: [], historyError: historyDenied }) :
        client.call(OBJECT_PATH, INTERFACE, "GetHistory", [20])
                .then(([rows]) => ({
                    history: rows.map(([startedAt, operation, patch, outcome, reason, message, caller]) =>
                        ({ startedAt, operation, patch, outcome, reason, message, caller })),
                    historyError: null,
                }))
                .catch(error => {
                    if (error.name === "org.freedesktop.DBus.Error.AccessDenied") historyDenied = error;
                    return { history: [], historyError: error };
                });

    // Reads everything again; an older read that finishes late is dropped.
    const refresh = () => {
        const mine = ++generation;
        return Promise.all([readProperties(), readPatches(), readHistory()])
                .then(([properties, patches, history]) => {
                    if (mine === generation) publish({ connected: true, error: null, properties, patches, ...history });
                })
                .catch(error => {
                    if (mine === generation) publish({ connected: false, error });
                });
    };

    const propertiesChanged = client.subscribe(
        { path: OBJECT_PATH, interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged" },
        (path, iface, signal, [changedInterface, changed]) => {
            if (changedInterface !== INTERFACE) return;
            const properties = { ...state.properties };
            for (const [name, value] of Object.entries(changed)) properties[name] = plain(value);
            publish({ properties });
            // A change of state may come with patches that changed or a journal line: ask again.
            refresh();
        });
    const agentSignals = client.subscribe(
        { path: OBJECT_PATH, interface: INTERFACE },
        () => refresh());
    // The daemon (re)appearing on the bus: read everything.
    client.addEventListener("owner", (event, newOwner) => {
        if (newOwner) refresh();
        else publish({ connected: false, error: { problem: "not-found", message: "livepatchd is not on the system bus" } });
    });
    client.addEventListener("close", (event, options) => {
        publish({ connected: false, error: { problem: options.problem, message: options.message || options.problem } });
    });

    refresh();
    return {
        refresh,
        close() {
            closed = true;
            propertiesChanged.remove();
            agentSignals.remove();
            client.close();
        },
        getPatch: name => client.call(OBJECT_PATH, INTERFACE, "GetPatch", [name]).then(([patch]) => {
            const result = {};
            for (const [key, value] of Object.entries(patch)) result[key] = plain(value);
            return result;
        }),
    };
}
