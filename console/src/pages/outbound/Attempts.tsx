// The message-attempts log of an endpoint or a message: newest first, a
// status filter, cursor pages, each attempt's response excerpt, and Replay
// (ResendMessage: one new attempt now, trigger manual).
import { useState } from "react";
import { useSession } from "../../context";
import { href } from "../../router";
import { Empty, ErrorBox, Field, useLoad } from "../../components/ui";
import { AttemptStatus, AttemptTrigger, type Attempt } from "../../../../clients/ts/gen/hookgate/v1/attempt_pb.js";
import { AttemptResult, bodyText, Stamp, DeliveryBadge, deliveryLabel, errorOf, ms, PagerNav, triggerLabel, usePager } from "./common";

const pageSize = 10;

const filters = [
  { value: AttemptStatus.UNSPECIFIED, label: "All" },
  { value: AttemptStatus.SUCCEEDED, label: "Succeeded" },
  { value: AttemptStatus.FAILED, label: "Failed (incl. retry pending)" },
  { value: AttemptStatus.PENDING, label: "Retry pending" },
];

export function AttemptsLog({ appId, endpointId, messageId }: { appId: string; endpointId?: string; messageId?: string }) {
  const { api, tenant, notify } = useSession();
  const pager = usePager();
  const [status, setStatus] = useState(AttemptStatus.UNSPECIFIED);
  const [tick, setTick] = useState(0);
  const [replaying, setReplaying] = useState<string | null>(null);
  const [replayed, setReplayed] = useState<{ of: string; attempt?: Attempt; error?: string } | null>(null);
  const list = useLoad(
    () => api.attempts.listAttempts({ tenant, endpointId, messageId, status, pageSize, pageToken: pager.token }),
    [tenant, endpointId, messageId, status, pager.token, tick],
  );
  const rows = list.data?.attempts ?? [];

  const replay = async (a: Attempt) => {
    setReplaying(a.id);
    setReplayed(null);
    try {
      const { attempt } = await api.attempts.resendMessage({ tenant, messageId: a.messageId, endpointId: a.endpointId });
      setReplayed({ of: a.id, attempt });
      notify(attempt ? `Replayed ${a.messageId}: ${attempt.responseStatusCode || attempt.errorClass}` : `Replay of ${a.messageId} queued`);
      pager.reset();
      setTick((t) => t + 1);
    } catch (e) {
      const msg = errorOf(e).message;
      setReplayed({ of: a.id, error: msg });
      notify(`Replay: ${msg}`, "error");
    } finally {
      setReplaying(null);
    }
  };

  return (
    <section aria-label="Attempts log" className="attempts">
      <div className="toolbar">
        <Field label="Status" name="status">
          {(p) => (
            <select
              {...p}
              value={status}
              onChange={(e) => {
                setStatus(Number(e.target.value) as AttemptStatus);
                pager.reset();
              }}
            >
              {filters.map((f) => (
                <option key={f.value} value={f.value}>
                  {f.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        <button type="button" onClick={() => setTick((t) => t + 1)} disabled={list.loading}>
          Refresh
        </button>
        <PagerNav pager={pager} nextToken={list.data?.nextPageToken} label="Attempt pages" />
      </div>
      {replayed && (
        <p className={replayed.error ? "form-error" : "replay-result"} role="status">
          {replayed.error
            ? `Replay failed: ${replayed.error}`
            : replayed.attempt
              ? `Replay made attempt ${replayed.attempt.attemptNumber}: ${replayed.attempt.responseStatusCode || replayed.attempt.errorClass}, ${ms(replayed.attempt.duration)}.`
              : "Replay queued: the attempt will appear when it is made."}
        </p>
      )}
      <ErrorBox error={list.error} />
      {list.data && rows.length === 0 && <Empty>{pager.hasPrev ? "No more attempts." : "No attempts match."}</Empty>}
      {rows.length > 0 && (
        <table className="attempts-table">
          <thead>
            <tr>
              <th scope="col">Time (UTC)</th>
              <th scope="col">{endpointId ? "Message" : "Endpoint"}</th>
              <th scope="col">#</th>
              <th scope="col">Trigger</th>
              <th scope="col">Result</th>
              <th scope="col">Duration</th>
              <th scope="col">Delivery</th>
              <th scope="col">Response</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((a) => (
              <tr key={a.id} data-attempt={a.id} data-message={a.messageId} data-number={a.attemptNumber} data-delivery={deliveryLabel(a.deliveryState)} data-trigger={triggerLabel(a.trigger)}>
                <td className="nowrap">
                  <Stamp ts={a.time} />
                </td>
                <td className="ids">
                  {endpointId ? (
                    a.trigger === AttemptTrigger.TEST ? (
                      <code title="test send">{a.messageId}</code>
                    ) : (
                      <a href={href("apps", appId, "messages", a.messageId)}>
                        <code>{a.messageId}</code>
                      </a>
                    )
                  ) : (
                    <a href={href("apps", appId, "endpoints", a.endpointId)}>
                      <code>{a.endpointId}</code>
                    </a>
                  )}
                </td>
                <td>{a.attemptNumber}</td>
                <td>{triggerLabel(a.trigger)}</td>
                <td>
                  <AttemptResult a={a} />
                </td>
                <td className="nowrap">{ms(a.duration)}</td>
                <td>
                  <DeliveryBadge state={a.deliveryState} />
                  {a.nextAttemptTime && (
                    <div className="sub nowrap">
                      next <Stamp ts={a.nextAttemptTime} />
                    </div>
                  )}
                </td>
                <td className="response">
                  <ResponseExcerpt a={a} />
                </td>
                <td>
                  {a.trigger !== AttemptTrigger.TEST && (
                    <button
                      type="button"
                      aria-label={`Replay ${a.messageId} (attempt ${a.attemptNumber})`}
                      disabled={replaying !== null}
                      onClick={() => replay(a)}
                    >
                      {replaying === a.id ? "Replaying…" : "Replay"}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function ResponseExcerpt({ a }: { a: Attempt }) {
  const body = bodyText(a.responseBody);
  if (!body && !a.error) return <span className="muted">empty</span>;
  return (
    <details>
      <summary>{body ? `${a.responseBody.length} B` : "error"}</summary>
      {a.error && <p className="attempt-error">{a.error}</p>}
      {body && <pre>{body}</pre>}
      <p className="sub">
        <code>{a.id}</code> · {a.url}
      </p>
    </details>
  );
}
