// The Recover tab: re-queue every delivery to the endpoint that ended
// failed in a time window (RecoverEndpoint), then follow the background
// job (GetRecovery) with a progress bar until it ends.
import { useEffect, useState } from "react";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { useSession } from "../../context";
import type { ApiError } from "../../api";
import { Badge, ErrorBox, Field, FormError, when } from "../../components/ui";
import { RecoveryState, type Recovery } from "../../../../clients/ts/gen/hookgate/v1/attempt_pb.js";
import { errorOf, localError } from "./common";
import type { TabProps } from "./EndpointDetail";

// localInput is a Date as a datetime-local input's value, to the minute.
function localInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

const presets = [
  { label: "Last hour", ms: 3600_000 },
  { label: "Last 24 hours", ms: 24 * 3600_000 },
  { label: "Last 7 days", ms: 7 * 24 * 3600_000 },
];

const pollMs = 500;

export function RecoverTab({ ep }: TabProps) {
  const { api, tenant, notify } = useSession();
  const [since, setSince] = useState(() => localInput(new Date(Date.now() - 24 * 3600_000)));
  const [until, setUntil] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [recovery, setRecovery] = useState<Recovery | null>(null);
  const [pollError, setPollError] = useState<ApiError | null>(null);
  const running = recovery !== null && recovery.state !== RecoveryState.COMPLETED && recovery.state !== RecoveryState.FAILED;

  // Follow the job until it ends.
  useEffect(() => {
    if (!recovery || !running) return;
    let live = true;
    const t = setTimeout(async () => {
      try {
        const r = await api.attempts.getRecovery({ tenant, recoveryId: recovery.id });
        if (live && r.recovery) {
          setRecovery(r.recovery);
          setPollError(null);
          if (r.recovery.state === RecoveryState.COMPLETED) notify(`Recovery completed: ${r.recovery.delivered} delivered`);
        }
      } catch (e) {
        // Keep polling: a control plane that is away answers Unavailable.
        if (live) {
          setPollError(errorOf(e));
          setRecovery({ ...recovery });
        }
      }
    }, pollMs);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [recovery, running, api, tenant, notify]);

  return (
    <div className="recover">
      <p className="lead">
        Re-queue every delivery to this endpoint that ended <strong>failed</strong> in a time window, with trigger <em>recover</em>. Times
        are your browser's local time.
      </p>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          try {
            const s = new Date(since);
            if (!since || Number.isNaN(s.getTime())) throw localError("since", "is required");
            const u = until ? new Date(until) : null;
            if (u && Number.isNaN(u.getTime())) throw localError("until", "is not a time");
            const r = await api.attempts.recoverEndpoint({
              tenant,
              endpointId: ep.id,
              since: timestampFromDate(s),
              until: u ? timestampFromDate(u) : undefined,
            });
            setPollError(null);
            setRecovery(r.recovery ?? null);
          } catch (err) {
            setError(errorOf(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <div className="form-row narrow">
          <Field label="Since" name="since" error={error}>
            {(p) => <input {...p} type="datetime-local" value={since} required onChange={(e) => setSince(e.target.value)} />}
          </Field>
          <Field label="Until" name="until" error={error} hint="Empty: now.">
            {(p) => <input {...p} type="datetime-local" value={until} onChange={(e) => setUntil(e.target.value)} />}
          </Field>
        </div>
        <div className="presets" role="group" aria-label="Window presets">
          {presets.map((p) => (
            <button
              key={p.label}
              type="button"
              onClick={() => {
                setSince(localInput(new Date(Date.now() - p.ms)));
                setUntil("");
              }}
            >
              {p.label}
            </button>
          ))}
        </div>
        <FormError error={error} fields={["since", "until"]} />
        <button type="submit" className="primary" disabled={busy || running}>
          {running ? "Recovering…" : "Recover failed messages"}
        </button>
      </form>
      {recovery && <Progress r={recovery} />}
      <ErrorBox error={pollError} />
    </div>
  );
}

function stateBadge(s: RecoveryState) {
  switch (s) {
    case RecoveryState.QUEUED:
      return <Badge kind="muted">queued</Badge>;
    case RecoveryState.RUNNING:
      return <Badge kind="warn">running</Badge>;
    case RecoveryState.COMPLETED:
      return <Badge kind="ok">completed</Badge>;
    case RecoveryState.FAILED:
      return <Badge kind="bad">failed</Badge>;
    default:
      return <Badge kind="muted">unknown</Badge>;
  }
}

function Progress({ r }: { r: Recovery }) {
  const queued = Number(r.queued);
  const ended = Number(r.delivered) + Number(r.failed);
  const done = r.state === RecoveryState.COMPLETED;
  // Until the window is scanned the total is unknown: an indeterminate bar.
  const known = r.queuedAll || done;
  const max = Math.max(queued, 1);
  const value = done && queued === 0 ? 1 : Math.min(ended, max);
  return (
    <section className="recovery block" aria-labelledby="recovery-title" data-state={RecoveryState[r.state]}>
      <h2 id="recovery-title">
        Recovery <code>{r.id}</code> {stateBadge(r.state)}
      </h2>
      <label className="progress-label" htmlFor="recovery-progress">
        {known ? `${ended} of ${queued} re-queued deliveries ended` : "Scanning the window…"}
      </label>
      {known ? (
        <progress id="recovery-progress" className="progress" max={max} value={value} />
      ) : (
        <progress id="recovery-progress" className="progress" />
      )}
      <dl className="stats">
        <div>
          <dt>Queued</dt>
          <dd>
            {queued}
            {r.queuedAll ? "" : "+"}
          </dd>
        </div>
        <div>
          <dt>Delivered</dt>
          <dd data-testid="recovery-delivered">{String(r.delivered)}</dd>
        </div>
        <div>
          <dt>Failed again</dt>
          <dd>{String(r.failed)}</dd>
        </div>
        <div>
          <dt>Pending</dt>
          <dd>{String(r.pending)}</dd>
        </div>
        <div>
          <dt>Skipped</dt>
          <dd>{String(r.skipped)}</dd>
          <dd className="sub">message no longer stored</dd>
        </div>
      </dl>
      <p className="hint">
        Window {when(r.since)} – {when(r.until)}. Started {when(r.createTime)}, updated {when(r.updateTime)}.
      </p>
      {r.error && (
        <p className="form-error" role="alert">
          {r.error}
        </p>
      )}
    </section>
  );
}
