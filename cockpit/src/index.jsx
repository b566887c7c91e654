// The "Kernel live patching" page of Cockpit (docs/web-console.md). State comes from org.livepatchd.Agent1 on the
// system bus; actions run lpctl -o json as the administrator.
/* global cockpit */
import "@patternfly/react-core/dist/styles/base.css";
import "@patternfly/react-styles/css/components/Table/table.css";
import "./page.css";

import React, { useEffect, useRef, useState } from "react";
import { createRoot } from "react-dom/client";
// Deep imports: the package's index would pull every component's CSS into the bundle.
import { Alert } from "@patternfly/react-core/dist/esm/components/Alert/index.js";
import { Button } from "@patternfly/react-core/dist/esm/components/Button/index.js";
import { Card, CardBody, CardTitle } from "@patternfly/react-core/dist/esm/components/Card/index.js";
import {
    DescriptionList, DescriptionListDescription, DescriptionListGroup, DescriptionListTerm,
} from "@patternfly/react-core/dist/esm/components/DescriptionList/index.js";
import { Label } from "@patternfly/react-core/dist/esm/components/Label/index.js";
import { Modal, ModalBody, ModalFooter, ModalHeader } from "@patternfly/react-core/dist/esm/components/Modal/index.js";
import { Page, PageSection } from "@patternfly/react-core/dist/esm/components/Page/index.js";
import { Progress } from "@patternfly/react-core/dist/esm/components/Progress/index.js";
import { Title } from "@patternfly/react-core/dist/esm/components/Title/index.js";
import { Flex, FlexItem } from "@patternfly/react-core/dist/esm/layouts/Flex/index.js";
import { Gallery } from "@patternfly/react-core/dist/esm/layouts/Gallery/index.js";

import { connect } from "./bus.js";
import { lpctl, removeUpload, stageUpload } from "./actions.js";

const _ = s => (typeof cockpit !== "undefined" && cockpit.gettext ? cockpit.gettext(s) : s);

// docs/operations.md, "What force costs", word for word.
export const FORCE_COST = [
    "force makes every task take the target state regardless of its stack. Tasks still inside an old function keep " +
    "running the old code until they leave it, which is exactly what the consistency model exists to prevent.",
    "And the kernel then keeps module references it would otherwise drop: after a forced unpatch that module, and after " +
    "a forced replace the replaced modules, can never be unloaded until the next reboot.",
    "Plan a reboot after a force, and apply no more live patches until then.",
];

const STATE_COLORS = { idle: "green", transitioning: "blue", stalled: "orange", degraded: "orange", unsupported: "grey" };
const PATCH_COLORS = { enabled: "green", enabling: "blue", disabling: "blue", disabled: "grey", stalled: "orange" };

function formatTime(microseconds) {
    if (!microseconds) return "";
    return new Date(Number(microseconds) / 1000).toLocaleString();
}

function Field({ term, children, id }) {
    return (
        <DescriptionListGroup>
            <DescriptionListTerm>{term}</DescriptionListTerm>
            <DescriptionListDescription id={id}>{children}</DescriptionListDescription>
        </DescriptionListGroup>
    );
}

function KernelCard({ p }) {
    const taint = p.TaintFlags ? `${p.TaintFlags} (${p.TaintMask})` : _("not tainted");
    const lockdown = p.KernelLockdown || _("unknown");
    const sig = p.SignatureEnforcement === "enforced" ? _("enforced") : p.SignatureEnforcement === "off" ? _("not enforced") : _("unknown");
    return (
        <Card id="kernel" isFullHeight>
            <CardTitle><Title headingLevel="h2" size="lg">{_("Kernel")}</Title></CardTitle>
            <CardBody>
                <DescriptionList isHorizontal isCompact>
                    <Field term={_("Release")} id="kernel-release">{p.KernelRelease || _("unknown")}</Field>
                    <Field term={_("Live patching")} id="kernel-livepatch">{p.LivepatchSupported ? _("supported") : _("not supported")}</Field>
                    <Field term={_("Taint")} id="kernel-taint">{taint}</Field>
                    <Field term={_("Lockdown")} id="kernel-lockdown">{lockdown}</Field>
                    <Field term={_("Module signatures")} id="kernel-sig">{sig}</Field>
                    <Field term={_("livepatchd")} id="daemon-version">{p.Version}</Field>
                </DescriptionList>
            </CardBody>
        </Card>
    );
}

function StateCard({ p }) {
    const severity = p.HighestOpenSeverity;
    return (
        <Card id="overview" isFullHeight>
            <CardTitle><Title headingLevel="h2" size="lg">{_("State")}</Title></CardTitle>
            <CardBody>
                <DescriptionList isHorizontal isCompact>
                    <Field term={_("State")} id="agent-state">
                        <Label color={STATE_COLORS[p.State] || "grey"}>{p.State || _("unknown")}</Label>
                    </Field>
                    <Field term={_("Patches")} id="patch-counts">
                        {cockpit.format(_("$0 registered, $1 enabled"), p.PatchCount, p.EnabledPatchCount)}
                    </Field>
                    {p.ForcedPatches.length > 0 &&
                        <Field term={_("Forced (reboot to unload)")} id="forced-patches">{p.ForcedPatches.join(", ")}</Field>}
                    <Field term={_("CVE posture")} id="posture">
                        {p.EffectiveKernelVersion
                            ? cockpit.format(_("$0 open$1, $2 fixed live; effective kernel $3"), p.OpenCveCount,
                                severity ? ` (${_("highest")}: ${severity})` : "", p.FixedLiveCveCount, p.EffectiveKernelVersion)
                            : _("no posture (no advisories configured)")}
                    </Field>
                </DescriptionList>
            </CardBody>
        </Card>
    );
}

function Problems({ p }) {
    const reasons = p.DegradedReasons.length > 0 ? p.DegradedReasons : p.LastError ? [p.LastError] : [];
    if (reasons.length === 0) return null;
    return (
        <Alert id="problems" variant="warning" isInline
               title={p.State === "degraded" ? _("livepatchd is degraded") : _("livepatchd reports a problem")}>
            <ul>{reasons.map(r => <li key={r}>{r}</li>)}</ul>
        </Alert>
    );
}

function TransitionCard({ p, admin, onRevert, onForce, busy }) {
    if (!p.TransitionPatch) return null;
    const total = p.TransitionTasksTotal;
    const pending = p.TransitionTasksPending;
    const done = total > 0 ? Math.round(100 * (total - pending) / total) : 0;
    const stalled = p.State === "stalled";
    return (
        <Card id="transition">
            <CardTitle>
                <Title headingLevel="h2" size="lg">
                    {stalled ? cockpit.format(_("Transition of $0 is stalled"), p.TransitionPatch)
                        : cockpit.format(_("Transition of $0 is running"), p.TransitionPatch)}
                </Title>
            </CardTitle>
            <CardBody>
                <Progress id="transition-progress" value={done} title={_("Tasks switched")}
                          variant={stalled ? "warning" : undefined}
                          label={cockpit.format(_("$0 of $1 tasks switched"), total - pending, total)}
                          aria-label={_("Tasks switched to the new code")} />
                <DescriptionList isHorizontal isCompact>
                    <Field term={_("Started")} id="transition-started">{formatTime(p.TransitionStartedAt)}</Field>
                    {p.TransitionBlocking &&
                        <Field term={_("Blocked by")} id="transition-blocking">{p.TransitionBlocking}</Field>}
                </DescriptionList>
                {admin &&
                    <Flex className="lp-actions">
                        <FlexItem>
                            <Button id="revert" variant="secondary" isDisabled={busy} onClick={() => onRevert(p.TransitionPatch)}>
                                {_("Revert")}
                            </Button>
                        </FlexItem>
                        <FlexItem>
                            <Button id="force" variant="danger" isDisabled={busy} onClick={() => onForce(p.TransitionPatch)}>
                                {_("Force…")}
                            </Button>
                        </FlexItem>
                    </Flex>}
            </CardBody>
        </Card>
    );
}

function PatchDetails({ bus, name }) {
    const [details, setDetails] = useState(null);
    const [error, setError] = useState(null);
    useEffect(() => {
        bus.getPatch(name).then(setDetails, setError);
    }, [bus, name]);
    if (error) return <span>{error.message}</span>;
    if (!details) return <span>{_("Loading…")}</span>;
    return (
        <DescriptionList isHorizontal isCompact className="lp-details">
            <Field term={_("Functions")}>{(details.Functions || []).join(", ")}</Field>
            {details.StackOrder !== undefined && <Field term={_("Stack order")}>{details.StackOrder}</Field>}
            {details.Summary && <Field term={_("Summary")}>{details.Summary}</Field>}
            {details.CveIds && details.CveIds.length > 0 && <Field term={_("CVEs")}>{details.CveIds.join(", ")}</Field>}
            {details.ModuleSrcVersion && <Field term={_("Source version")}>{details.ModuleSrcVersion}</Field>}
        </DescriptionList>
    );
}

function PatchesCard({ bus, patches, forced, admin, busy, onUnload }) {
    const [open, setOpen] = useState({});
    return (
        <Card id="patches">
            <CardTitle><Title headingLevel="h2" size="lg">{_("Live patches")}</Title></CardTitle>
            <CardBody>
                {patches.length === 0
                    ? <p id="no-patches">{_("No live patch is loaded.")}</p>
                    : (
                        <table className="pf-v6-c-table pf-m-compact pf-m-grid-md" aria-label={_("Live patches")}>
                            <thead className="pf-v6-c-table__thead">
                                <tr className="pf-v6-c-table__tr">
                                    <th className="pf-v6-c-table__th" scope="col">{_("Patch")}</th>
                                    <th className="pf-v6-c-table__th" scope="col">{_("State")}</th>
                                    <th className="pf-v6-c-table__th" scope="col">{_("Functions")}</th>
                                    <th className="pf-v6-c-table__th" scope="col"><span className="pf-v6-screen-reader">{_("Actions")}</span></th>
                                </tr>
                            </thead>
                            <tbody className="pf-v6-c-table__tbody">
                                {patches.map(patch => (
                                    <React.Fragment key={patch.name}>
                                        <tr className="pf-v6-c-table__tr" data-patch={patch.name}>
                                            <th className="pf-v6-c-table__th" scope="row">{patch.name}</th>
                                            <td className="pf-v6-c-table__td">
                                                <Label className="patch-state" color={PATCH_COLORS[patch.state] || "grey"}>
                                                    {forced.includes(patch.name) ? `${patch.state}, ${_("forced (reboot to unload)")}` : patch.state}
                                                </Label>
                                            </td>
                                            <td className="pf-v6-c-table__td">{patch.functions}</td>
                                            <td className="pf-v6-c-table__td lp-row-actions">
                                                <Button variant="link" aria-expanded={!!open[patch.name]}
                                                        aria-label={cockpit.format(_("Details of $0"), patch.name)}
                                                        onClick={() => setOpen({ ...open, [patch.name]: !open[patch.name] })}>
                                                    {open[patch.name] ? _("Hide details") : _("Details")}
                                                </Button>
                                                {admin &&
                                                    <Button variant="secondary" className="unload" isDisabled={busy}
                                                            aria-label={cockpit.format(_("Unload $0"), patch.name)}
                                                            onClick={() => onUnload(patch.name)}>
                                                        {_("Unload")}
                                                    </Button>}
                                            </td>
                                        </tr>
                                        {open[patch.name] &&
                                            <tr className="pf-v6-c-table__tr">
                                                <td className="pf-v6-c-table__td" colSpan={4}>
                                                    <PatchDetails bus={bus} name={patch.name} />
                                                </td>
                                            </tr>}
                                    </React.Fragment>
                                ))}
                            </tbody>
                        </table>
                    )}
            </CardBody>
        </Card>
    );
}

function HistoryCard({ history, historyError }) {
    return (
        <Card id="history">
            <CardTitle><Title headingLevel="h2" size="lg">{_("Recent operations")}</Title></CardTitle>
            <CardBody>
                {historyError
                    ? <p id="history-unavailable">{_("The audit journal is for administrators: turn on administrative access to see it.")}</p>
                    : history.length === 0
                        ? <p>{_("No operation yet.")}</p>
                        : (
                            <table className="pf-v6-c-table pf-m-compact pf-m-grid-md" aria-label={_("Recent operations")}>
                                <thead className="pf-v6-c-table__thead">
                                    <tr className="pf-v6-c-table__tr">
                                        {[_("When"), _("Operation"), _("Patch"), _("Outcome"), _("Message"), _("By")].map(h =>
                                            <th key={h} className="pf-v6-c-table__th" scope="col">{h}</th>)}
                                    </tr>
                                </thead>
                                <tbody className="pf-v6-c-table__tbody">
                                    {history.map((h, i) => (
                                        <tr key={i} className="pf-v6-c-table__tr">
                                            <td className="pf-v6-c-table__td">{formatTime(h.startedAt)}</td>
                                            <td className="pf-v6-c-table__td">{h.operation}</td>
                                            <td className="pf-v6-c-table__td">{h.patch}</td>
                                            <td className="pf-v6-c-table__td">{h.outcome || _("running")}{h.reason ? ` (${h.reason})` : ""}</td>
                                            <td className="pf-v6-c-table__td">{h.message}</td>
                                            <td className="pf-v6-c-table__td">{h.caller}</td>
                                        </tr>
                                    ))}
                                </tbody>
                            </table>
                        )}
            </CardBody>
        </Card>
    );
}

function Checks({ checks }) {
    return (
        <table id="verify-checks" className="pf-v6-c-table pf-m-compact" aria-label={_("Verification checks")}>
            <thead className="pf-v6-c-table__thead">
                <tr className="pf-v6-c-table__tr">
                    <th className="pf-v6-c-table__th" scope="col">{_("Check")}</th>
                    <th className="pf-v6-c-table__th" scope="col">{_("Result")}</th>
                    <th className="pf-v6-c-table__th" scope="col">{_("Detail")}</th>
                </tr>
            </thead>
            <tbody className="pf-v6-c-table__tbody">
                {checks.map(c => (
                    <tr key={c.name} className="pf-v6-c-table__tr">
                        <th className="pf-v6-c-table__th" scope="row">{c.name}</th>
                        <td className="pf-v6-c-table__td">
                            <Label color={c.result.startsWith("pass") ? "green" : c.result.startsWith("fail") ? "red" : "grey"}>{c.result}</Label>
                        </td>
                        <td className="pf-v6-c-table__td">{c.detail}{c.reason ? ` (${c.reason})` : ""}</td>
                    </tr>
                ))}
            </tbody>
        </table>
    );
}

function InstallCard({ busy, run }) {
    const [staged, setStaged] = useState(null);
    const [verify, setVerify] = useState(null);
    const input = useRef(null);

    const choose = event => {
        const file = event.target.files[0];
        if (!file) return;
        setVerify(null);
        run(_("Verify"), () => stageUpload(file).then(path => {
            setStaged({ path, name: file.name });
            return lpctl(["verify", path]).then(result => {
                // verify exits 1 when a check fails, with the checks in its document all the same.
                setVerify(result.document || null);
                return result.ok || result.document ? { ...result, ok: true, quiet: true } : result;
            });
        }));
    };

    const finish = args => run(args[0] === "install" ? _("Install") : _("Load"), () =>
        lpctl(args).then(result => {
            removeUpload(staged.path);
            setStaged(null);
            setVerify(null);
            if (input.current) input.current.value = "";
            return result;
        }));

    return (
        <Card id="install">
            <CardTitle><Title headingLevel="h2" size="lg">{_("Install a live patch")}</Title></CardTitle>
            <CardBody>
                <label htmlFor="upload" className="lp-label">{_("Live patch module (.ko, .ko.gz, .ko.xz, .ko.zst)")}</label>
                <input id="upload" ref={input} type="file" accept=".ko,.gz,.xz,.zst" disabled={busy} onChange={choose} />
                {verify &&
                    <>
                        <Alert id="verify-result" isInline isPlain variant={verify.ok ? "success" : "danger"}
                               title={verify.ok ? cockpit.format(_("$0 passed every check"), staged?.name)
                                   : cockpit.format(_("$0 failed verification: $1"), staged?.name, verify.message || verify.reason || "")} />
                        <Checks checks={verify.checks || []} />
                    </>}
                {verify && verify.ok && staged &&
                    <Flex className="lp-actions">
                        <FlexItem>
                            <Button id="install-now" variant="primary" isDisabled={busy} onClick={() => finish(["install", staged.path, "--now"])}>
                                {_("Install and load")}
                            </Button>
                        </FlexItem>
                        <FlexItem>
                            <Button id="install-only" variant="secondary" isDisabled={busy} onClick={() => finish(["install", staged.path])}>
                                {_("Install (applied at the next start)")}
                            </Button>
                        </FlexItem>
                        <FlexItem>
                            <Button id="load-only" variant="secondary" isDisabled={busy} onClick={() => finish(["load", staged.path])}>
                                {_("Load only (until reboot)")}
                            </Button>
                        </FlexItem>
                    </Flex>}
            </CardBody>
        </Card>
    );
}

function ForceDialog({ patch, onConfirm, onClose }) {
    return (
        <Modal id="force-dialog" variant="medium" isOpen onClose={onClose} aria-labelledby="force-title" aria-describedby="force-body">
            <ModalHeader title={cockpit.format(_("Force the transition of $0?"), patch)} titleIconVariant="danger" labelId="force-title" />
            <ModalBody id="force-body">
                <p className="lp-strong">{_("What force costs (from the operations guide):")}</p>
                {FORCE_COST.map(text => <p key={text}>{text}</p>)}
                <p>{_("Force only with clearance from the patch's vendor.")}</p>
            </ModalBody>
            <ModalFooter>
                <Button id="force-confirm" variant="danger" onClick={onConfirm}>{_("Force the transition")}</Button>
                <Button id="force-cancel" variant="link" onClick={onClose}>{_("Cancel")}</Button>
            </ModalFooter>
        </Modal>
    );
}

function Outcome({ outcome, onClose }) {
    if (!outcome) return null;
    const { title, result } = outcome;
    const doc = result.document || {};
    const message = result.ok
        ? (doc.result && doc.result.message) || (doc.operation && doc.operation.message) || _("done")
        : result.message;
    return (
        <Alert id="outcome" isInline variant={!result.ok ? "danger" : result.forced ? "warning" : "success"} aria-live="polite"
               title={!result.ok ? cockpit.format(_("$0 failed"), title)
                   : result.forced ? cockpit.format(_("$0 completed by force: plan a reboot"), title)
                       : cockpit.format(_("$0 succeeded"), title)}
               actionClose={<Button variant="plain" aria-label={_("Close the message")} onClick={onClose}>×</Button>}>
            <p id="outcome-message">{message}</p>
            {result.reason && <p id="outcome-reason">{_("Reason")}: <code>{result.reason}</code></p>}
            {result.hint && <p>{result.hint}</p>}
        </Alert>
    );
}

function App() {
    const [state, setState] = useState(null);
    const [admin, setAdmin] = useState(false);
    const [busy, setBusy] = useState(false);
    const [outcome, setOutcome] = useState(null);
    const [forcing, setForcing] = useState(null);
    const bus = useRef(null);

    useEffect(() => {
        bus.current = connect(setState);
        const permission = cockpit.permission({ admin: true });
        const update = () => setAdmin(permission.allowed === true);
        permission.addEventListener("changed", update);
        update();
        return () => {
            bus.current.close();
            permission.close();
        };
    }, []);

    const run = (title, action) => {
        setBusy(true);
        setOutcome(null);
        return action()
                .then(result => { if (!result.quiet) setOutcome({ title, result }); })
                .catch(error => setOutcome({ title, result: { ok: false, reason: error.problem || "", message: error.message || String(error) } }))
                .finally(() => {
                    setBusy(false);
                    if (bus.current) bus.current.refresh();
                });
    };

    if (!state) return <Page><PageSection><p>{_("Connecting to livepatchd…")}</p></PageSection></Page>;
    const p = state.properties;
    return (
        <Page>
            <PageSection>
                <Flex justifyContent={{ default: "justifyContentSpaceBetween" }}>
                    <FlexItem><Title headingLevel="h1" size="2xl">{_("Kernel live patching")}</Title></FlexItem>
                    {admin &&
                        <FlexItem>
                            <Button id="apply" variant="secondary" isDisabled={busy} onClick={() => run(_("Apply"), () => lpctl(["apply"]))}>
                                {_("Apply installed patches")}
                            </Button>
                        </FlexItem>}
                </Flex>
            </PageSection>
            <PageSection>
                {!state.connected &&
                    <Alert id="disconnected" variant="danger" isInline title={_("livepatchd is not reachable on the system bus")}>
                        {state.error && state.error.message}
                    </Alert>}
                <Outcome outcome={outcome} onClose={() => setOutcome(null)} />
                <Problems p={p} />
                <Gallery hasGutter minWidths={{ default: "100%", lg: "45%" }}>
                    <KernelCard p={p} />
                    <StateCard p={p} />
                </Gallery>
                <TransitionCard p={p} admin={admin} busy={busy}
                                onRevert={name => run(_("Revert"), () => lpctl(["revert", name]))}
                                onForce={name => setForcing(name)} />
                <PatchesCard bus={bus.current} patches={state.patches} forced={p.ForcedPatches} admin={admin} busy={busy}
                             onUnload={name => run(cockpit.format(_("Unload $0"), name), () => lpctl(["unload", name]))} />
                {admin && <InstallCard busy={busy} run={run} />}
                <HistoryCard history={state.history} historyError={state.historyError} />
                {forcing &&
                    <ForceDialog patch={forcing} onClose={() => setForcing(null)}
                                 onConfirm={() => {
                                     const name = forcing;
                                     setForcing(null);
                                     run(_("Force"), () => lpctl(["force", name, "--yes"]));
                                 }} />}
            </PageSection>
        </Page>
    );
}

document.addEventListener("DOMContentLoaded", () => {
    cockpit.translate();
    createRoot(document.getElementById("app")).render(<App />);
});
