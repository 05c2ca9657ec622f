// One message: its payload, the state of its copy for each endpoint it
// fanned out to, and every attempt.
import { useState } from "react";
import type { PageProps } from "../../routes";
import { useSession } from "../../context";
import { href } from "../../router";
import { Empty, ErrorBox, Page, useLoad, when } from "../../components/ui";
import { Defs, DeliveryBadge, errorOf, jsonText } from "./common";
import { AttemptsLog } from "./Attempts";

export function MessageDetail({ params }: PageProps) {
  const { api, tenant, notify } = useSession();
  const { app: appId, id } = params;
  const [tick, setTick] = useState(0);
  const res = useLoad(() => api.messages.getMessage({ tenant, messageId: id }), [tenant, id, tick]);
  const [busy, setBusy] = useState<string | null>(null);
  const m = res.data?.message;
  const deliveries = res.data?.deliveries ?? [];

  return (
    <Page
      title={`Message ${id}`}
      actions={
        <button type="button" onClick={() => setTick((t) => t + 1)} disabled={res.loading}>
          Refresh
        </button>
      }
    >
      <p className="crumbs">
        <a href={href("apps")}>Applications</a> / <a href={href("apps", appId)}>{appId}</a> / messages / <code>{id}</code>
      </p>
      <ErrorBox error={res.error} />
      {m && (
        <div className="two-col message-top">
          <section aria-labelledby="msg-about">
            <h2 id="msg-about">Message</h2>
            <Defs
              items={[
                ["Event type", <code>{m.eventType}</code>],
                ["Created", when(m.createTime)],
                ["Idempotency key", m.eventId ? <code>{m.eventId}</code> : "—"],
                ["webhook-id", <code>{m.id}</code>],
              ]}
            />
          </section>
          <section aria-labelledby="msg-payload">
            <h2 id="msg-payload">Payload</h2>
            <pre data-testid="payload">{jsonText(m.payload)}</pre>
          </section>
        </div>
      )}
      {res.data && (
        <section aria-labelledby="deliveries-title" className="block">
          <h2 id="deliveries-title">Delivery per endpoint</h2>
          {deliveries.length === 0 ? (
            <Empty>No delivery yet: no subscribed endpoint, or the first attempt is still in flight.</Empty>
          ) : (
            <table>
              <thead>
                <tr>
                  <th scope="col">Endpoint</th>
                  <th scope="col">State</th>
                  <th scope="col">Attempts</th>
                  <th scope="col">Last attempt</th>
                  <th scope="col">Last result</th>
                  <th scope="col">Next attempt</th>
                  <th scope="col">Reason</th>
                  <th scope="col">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {deliveries.map((d) => (
                  <tr key={d.endpointId} data-endpoint={d.endpointId}>
                    <td>
                      <a href={href("apps", appId, "endpoints", d.endpointId)}>
                        <code>{d.endpointId}</code>
                      </a>
                    </td>
                    <td>
                      <DeliveryBadge state={d.state} />
                    </td>
                    <td>{d.attemptCount}</td>
                    <td className="nowrap">{when(d.lastAttemptTime)}</td>
                    <td>{d.lastStatusCode || d.lastErrorClass || "—"}</td>
                    <td className="nowrap">{when(d.nextAttemptTime)}</td>
                    <td>{d.reason || "—"}</td>
                    <td>
                      <button
                        type="button"
                        aria-label={`Replay to ${d.endpointId}`}
                        disabled={busy !== null}
                        onClick={async () => {
                          setBusy(d.endpointId);
                          try {
                            const { attempt } = await api.attempts.resendMessage({ tenant, messageId: id, endpointId: d.endpointId });
                            notify(attempt ? `Replayed: ${attempt.responseStatusCode || attempt.errorClass}` : "Replay queued");
                            setTick((t) => t + 1);
                          } catch (e) {
                            notify(`Replay: ${errorOf(e).message}`, "error");
                          } finally {
                            setBusy(null);
                          }
                        }}
                      >
                        Replay
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      )}
      {res.data && (
        <section aria-labelledby="msg-attempts" className="block">
          <h2 id="msg-attempts">Attempts</h2>
          <AttemptsLog key={tick} appId={appId} messageId={id} />
        </section>
      )}
    </Page>
  );
}
