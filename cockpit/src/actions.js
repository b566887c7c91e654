// Every change goes through lpctl -o json as the administrator (cockpit.spawn with superuser "require"), so
// Cockpit's own privilege model applies and the daemon checks the caller as it checks any lpctl.
/* global cockpit */

/** The daemon's reason and message from lpctl's JSON document or its "lpctl: message (reason)" line on stderr. */
export function describeFailure(stdout, stderr, fallback) {
    try {
        const doc = JSON.parse(stdout || "");
        const error = doc.error || (doc.result && doc.result.reason ? doc.result : null) ||
            (doc.reason ? doc : null);
        if (error && (error.reason || error.message)) {
            return { reason: error.reason || "", message: error.message || fallback || "", hint: error.hint || "", document: doc };
        }
    } catch (e) {
        // Not JSON: the stderr line below.
    }

    const line = (stderr || "").split("\n").find(l => l.startsWith("lpctl: ")) || "";
    const match = /^lpctl: (.*) \(([a-z0-9-]+)\)$/.exec(line);
    if (match) return { reason: match[2], message: match[1], hint: "" };
    return { reason: "", message: line.replace(/^lpctl: /, "") || (stderr || "").trim() || fallback || "lpctl failed", hint: "" };
}

/**
 * Runs lpctl -o json ARGS as the administrator. Resolves with {ok, forced, document, reason, message, exitStatus}:
 * a failed operation is a result to show, not an exception. Exit 5 is an operation that completed only because its
 * transition was forced (lpctl(1), EXIT STATUS).
 */
export function lpctl(args) {
    // stdout is gathered by stream(): a failed process hands its error, not its output, to catch().
    let stdout = "";
    const process = cockpit.spawn(["lpctl", "-o", "json", ...args], { superuser: "require", err: "message" });
    process.stream(data => { stdout += data });
    return process
            .then(() => {
                let document = null;
                try {
                    document = JSON.parse(stdout);
                } catch (e) {
                    // A command without a document.
                }
                return { ok: true, exitStatus: 0, document, reason: "", message: "" };
            })
            .catch(error => {
                if (error.exit_status === 5) {
                    let document = null;
                    try {
                        document = JSON.parse(stdout);
                    } catch (e) {
                        // Shown without its details.
                    }
                    return { ok: true, forced: true, exitStatus: 5, document, reason: "", message: "" };
                }
                const failure = describeFailure(stdout, error.message, error.problem);
                return { ok: false, exitStatus: error.exit_status ?? null, ...failure };
            });
}

/** Copies an uploaded module into a private temporary directory as root; resolves with its path. */
export function stageUpload(file) {
    const name = file.name.replace(/[^A-Za-z0-9._-]/g, "_") || "patch.ko";
    return file.arrayBuffer().then(buffer =>
        cockpit.spawn(["mktemp", "-d", "/tmp/cockpit-livepatch.XXXXXXXX"], { superuser: "require", err: "message" })
                .then(dir => {
                    const path = `${dir.trim()}/${name}`;
                    return cockpit.file(path, { binary: true, superuser: "require" })
                            .replace(new Uint8Array(buffer))
                            .then(() => path);
                }));
}

/** Removes a staged upload's directory. */
export function removeUpload(path) {
    const dir = path.replace(/\/[^/]*$/, "");
    if (!dir.startsWith("/tmp/cockpit-livepatch.")) return Promise.resolve();
    return cockpit.spawn(["rm", "-rf", "--", dir], { superuser: "require", err: "ignore" }).catch(() => undefined);
}
