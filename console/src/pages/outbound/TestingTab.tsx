// The Testing tab: a webhook.test ping, or an event type's catalog
// example, sent now by a dispatcher; the attempt is shown inline.
import { useState } from "react";
import { useSession } from "../../context";
import type { ApiError } from "../../api";
import { ErrorBox, Field, useLoad, when } from "../../components/ui";
import type { Attempt } from "../../../../clients/ts/gen/hookgate/v1/attempt_pb.js";
import { AttemptResult, bodyText, Defs, errorOf, ms } from "./common";
import type { TabProps } from "./EndpointDetail";

export function TestingTab({ ep }: TabProps) {
  const { api, tenant } = useSession();
  const catalog = useLoad(() => api.eventTypes.listEventTypes({ tenant, pageSize: 500, includeArchived: true }), [tenant]);
  const withExample = (catalog.data?.eventTypes ?? []).filter((t) => ep.eventTypes.includes(t.name) && t.example);
  const [eventType, setEventType] = useState("");
  const [busy, setBusy] = useState<"ping" | "example" | null>(null);
  const [result, setResult] = useState<{ what: string; attempt?: Attempt; error?: ApiError } | null>(null);
  const chosen = eventType || withExample[0]?.name || "";

  const run = async (what: "ping" | "example") => {
    setBusy(what);
    setResult(null);
    try {
      const { attempt } =
        what === "ping"
          ? await api.endpoints.sendTestPing({ tenant, endpointId: ep.id })
          : await api.endpoints.sendExample({ tenant, endpointId: ep.id, eventType: chosen });
      setResult({ what: what === "ping" ? "Test ping" : `Example of ${chosen}`, attempt });
    } catch (e) {
      setResult({ what: what === "ping" ? "Test ping" : `Example of ${chosen}`, error: errorOf(e) });
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="testing">
      <p className="lead">
        Test sends are signed like any delivery, respect the endpoint's rate limit, and are recorded in the attempts log with trigger{" "}
        <em>test</em>. They are not retried.
      </p>
      <div className="test-row">
        <section aria-labelledby="ping-title" className="card">
          <h2 id="ping-title">Test ping</h2>
          <p>
            Sends a <code>webhook.test</code> event.
          </p>
          <button type="button" className="primary" disabled={busy !== null} onClick={() => run("ping")}>
            {busy === "ping" ? "Sending…" : "Send test ping"}
          </button>
        </section>
        <section aria-labelledby="example-title" className="card">
          <h2 id="example-title">Send example</h2>
          {withExample.length === 0 ? (
            <p className="muted">None of this endpoint's event types has an example in the catalog.</p>
          ) : (
            <form
              onSubmit={(e) => {
                e.preventDefault();
                run("example");
              }}
            >
              <Field label="Event type" name="event_type">
                {(p) => (
                  <select {...p} value={chosen} onChange={(e) => setEventType(e.target.value)}>
                    {withExample.map((t) => (
                      <option key={t.name} value={t.name}>
                        {t.name}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              <button type="submit" disabled={busy !== null}>
                {busy === "example" ? "Sending…" : "Send example"}
              </button>
            </form>
          )}
        </section>
      </div>
      <div aria-live="polite" className="test-result-region">
        {result?.error && (
          <>
            <h2>{result.what}: not sent</h2>
            <ErrorBox error={result.error} />
          </>
        )}
        {result?.attempt && <TestResult title={result.what} a={result.attempt} />}
      </div>
    </div>
  );
}

function TestResult({ title, a }: { title: string; a: Attempt }) {
  const body = bodyText(a.responseBody);
  return (
    <section className="test-result" aria-label="Test result" data-testid="test-result">
      <h2>
        {title}: <AttemptResult a={a} />
      </h2>
      <Defs
        items={[
          ["Status", a.responseStatusCode ? String(a.responseStatusCode) : "no answer"],
          ["Error class", a.errorClass || "—"],
          ["Duration", ms(a.duration)],
          ["Attempt", <code>{a.id}</code>],
          ["Message", <code>{a.messageId}</code>],
          ["Time", when(a.time)],
        ]}
      />
      {a.error && <p className="attempt-error">{a.error}</p>}
      <h3>Response</h3>
      {body ? <pre>{body}</pre> : <p className="muted">Empty body.</p>}
    </section>
  );
}
