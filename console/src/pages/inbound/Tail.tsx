// The live tail: a tenant's inbound events as the edges publish them
// (TailEvents, a server stream), optionally of one process or webhook.
// Nothing stored is replayed: the list starts when the tail listens. The
// stream ends when the page is left (its AbortController) or paused.
import { useEffect, useId, useMemo, useRef, useState } from "react";
import { Code, ConnectError } from "@connectrpc/connect";
import { Trigger, type InboundEvent } from "../../../../clients/ts/gen/hookgate/v1/inbound_pb.js";
import type { PageProps } from "../../routes";
import { apiError, type ApiError } from "../../api";
import { useSession } from "../../context";
import { href } from "../../router";
import { Empty, ErrorBox, Page, useLoad, when } from "../../components/ui";
import { bytes, headerRows, preview } from "./format";
import { BodyHeading, HeaderTable } from "./Captured";
import "./inbound.css";

// The list keeps the newest events only.
const maxEvents = 200;
// After the stream ends by itself (a control-plane restart, a proxy's
// timeout), the tail listens again after this long.
const reconnectMs = 1500;

type Filter = { processId: string; webhookId: string };
type Status = "connecting" | "listening" | "paused" | "reconnecting" | "failed";

function useTail(filter: Filter, running: boolean, onEvent: (e: InboundEvent) => void) {
  const { api, tenant } = useSession();
  const [status, setStatus] = useState<Status>("connecting");
  const [error, setError] = useState<ApiError | null>(null);
  const [since, setSince] = useState<Date | null>(null);
  const cb = useRef(onEvent);
  cb.current = onEvent;

  useEffect(() => {
    if (!running) {
      setStatus("paused");
      return;
    }
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const listen = async () => {
      setStatus((s) => (s === "listening" || s === "reconnecting" ? "reconnecting" : "connecting"));
      try {
        const stream = api.webhooks.tailEvents(
          { tenant, processId: filter.processId, webhookId: filter.webhookId },
          { signal: ctl.signal },
        );
        for await (const res of stream) {
          if (!res.event) {
            setStatus("listening");
            setSince((d) => d ?? new Date());
            setError(null);
            continue;
          }
          cb.current(res.event);
        }
      } catch (e) {
        if (ctl.signal.aborted) return;
        const code = ConnectError.from(e).code;
        // Wrong filters or too many tails: listening again would not help.
        if (code === Code.InvalidArgument || code === Code.NotFound || code === Code.PermissionDenied || code === Code.ResourceExhausted || code === Code.Unimplemented) {
          setError(apiError(e));
          setStatus("failed");
          return;
        }
        setError(apiError(e));
      }
      if (ctl.signal.aborted) return;
      setStatus("reconnecting");
      timer = setTimeout(listen, reconnectMs);
    };
    void listen();
    return () => {
      ctl.abort();
      clearTimeout(timer);
    };
  }, [api, tenant, filter.processId, filter.webhookId, running]);

  return { status, error, since };
}

const statusText: Record<Status, string> = {
  connecting: "Connecting…",
  listening: "Listening",
  paused: "Paused",
  reconnecting: "Reconnecting…",
  failed: "Stopped",
};

export function Tail(_props: PageProps) {
  const { api, tenant } = useSession();
  const id = useId();
  const hooks = useLoad(() => api.webhooks.listWebhooks({ tenant, pageSize: 500 }), [tenant]);
  const [processInput, setProcessInput] = useState("");
  const [filter, setFilter] = useState<Filter>({ processId: "", webhookId: "" });
  const [running, setRunning] = useState(true);
  const [events, setEvents] = useState<InboundEvent[]>([]);
  const [open, setOpen] = useState<Set<string>>(new Set());
  const [dropped, setDropped] = useState(0);

  const webhooks = hooks.data?.webhooks ?? [];
  const names = useMemo(() => new Map(webhooks.map((w) => [w.id, w.name])), [webhooks]);
  // The processes the tenant's bindings name, for the picker.
  const processes = useMemo(() => [...new Set(webhooks.flatMap((w) => w.bindings.map((b) => b.processId)))].sort(), [webhooks]);

  const tail = useTail(filter, running, (ev) => {
    setEvents((es) => {
      const next = [ev, ...es];
      if (next.length > maxEvents) setDropped((d) => d + next.length - maxEvents);
      return next.slice(0, maxEvents);
    });
  });

  const key = (e: InboundEvent) => `${e.sequence}`;
  const toggle = (k: string) =>
    setOpen((o) => {
      const n = new Set(o);
      if (n.has(k)) n.delete(k);
      else n.add(k);
      return n;
    });

  return (
    <div className="ib">
      <Page
        title="Live tail"
        actions={
          <>
            <span className={tail.status === "listening" ? "live on" : "live"} role="status" aria-live="polite">
              <span className="dot" aria-hidden="true" />
              {statusText[tail.status]}
            </span>
            <button type="button" onClick={() => setRunning((r) => !r)}>
              {running ? "Pause" : "Resume"}
            </button>
            <button
              type="button"
              disabled={events.length === 0}
              onClick={() => {
                setEvents([]);
                setOpen(new Set());
                setDropped(0);
              }}
            >
              Clear
            </button>
          </>
        }
      >
        <p className="lede">
          Events as the edges publish them, one per binding of each accepted call, from the moment the tail listens.
          Credentials and signatures in headers read REDACTED.
        </p>
        <form
          className="tail-bar"
          aria-label="Tail filter"
          onSubmit={(e) => {
            e.preventDefault();
            setFilter((f) => ({ ...f, processId: processInput.trim() }));
          }}
        >
          <div className="field">
            <label htmlFor={`${id}-proc`}>Process</label>
            <input
              id={`${id}-proc`}
              list={`${id}-procs`}
              className="short"
              placeholder="every process"
              value={processInput}
              onChange={(e) => setProcessInput(e.target.value)}
            />
            <datalist id={`${id}-procs`}>
              {processes.map((p) => (
                <option key={p} value={p} />
              ))}
            </datalist>
          </div>
          <div className="field">
            <label htmlFor={`${id}-wh`}>Webhook</label>
            <select id={`${id}-wh`} value={filter.webhookId} onChange={(e) => setFilter((f) => ({ ...f, webhookId: e.target.value }))}>
              <option value="">every webhook</option>
              {webhooks.map((w) => (
                <option key={w.id} value={w.id}>
                  {w.name}
                </option>
              ))}
            </select>
          </div>
          <button type="submit">Apply</button>
          {(filter.processId || filter.webhookId) && (
            <span className="hint">
              Showing {filter.processId ? <>process <code>{filter.processId}</code></> : "every process"}
              {filter.webhookId ? <>, webhook {names.get(filter.webhookId) ?? filter.webhookId}</> : ""}
            </span>
          )}
        </form>
        <ErrorBox error={tail.error} />
        {events.length === 0 ? (
          <Empty>
            {tail.status === "listening"
              ? `No event yet. Waiting since ${tail.since ? tail.since.toLocaleTimeString() : "now"}: POST to one of ${tenant}'s webhook URLs.`
              : "No event yet."}
          </Empty>
        ) : (
          <>
            <p className="hint" aria-live="polite">
              {events.length} event{events.length === 1 ? "" : "s"}, newest first
              {dropped ? ` (the ${dropped} oldest no longer shown)` : ""}
            </p>
            <ul className="events" aria-label="Events">
              {events.map((e) => {
                const k = key(e);
                const expanded = open.has(k);
                return (
                  <li key={k} data-event={e.id}>
                    <div className="event-head">
                      <span>
                        <code className="small">{e.id}</code>
                        <span className="line muted small">{when(e.receiveTime)}</span>
                      </span>
                      <span>
                        <code>{e.processId}</code>
                        {e.threadId && e.threadId !== "main" ? <span className="muted"> / {e.threadId}</span> : null}{" "}
                        <span className={e.trigger === Trigger.RESUME_PROCESS ? "trigger resume" : "trigger start"}>
                          {e.trigger === Trigger.RESUME_PROCESS ? "resume" : "start"}
                        </span>
                        <span className="line small">
                          <a href={href("webhooks", e.webhookId)}>{names.get(e.webhookId) ?? e.webhookId}</a>
                        </span>
                      </span>
                      <span className="preview" title={preview(e.body, 300)}>
                        {preview(e.body, 300)}
                      </span>
                      <span className="small">{bytes(e.bodySize)}</span>
                      <span className="small muted" title={e.contentType}>
                        {e.contentType.split(";")[0] || "—"}
                      </span>
                      <button type="button" aria-expanded={expanded} aria-controls={`ev-${k}`} onClick={() => toggle(k)}>
                        {expanded ? "Hide" : "Details"}
                      </button>
                    </div>
                    {expanded && <EventDetail id={`ev-${k}`} e={e} />}
                  </li>
                );
              })}
            </ul>
          </>
        )}
      </Page>
    </div>
  );
}

function EventDetail({ id, e }: { id: string; e: InboundEvent }) {
  const rows = headerRows(e.headers);
  return (
    <div className="event-body ft-detail" id={id}>
      <div>
        <h3>Headers</h3>
        <HeaderTable rows={rows} />
      </div>
      <div>
        <BodyHeading size={e.bodySize} kept={e.body.length} keptWord="shown" />
        {e.body.length ? <pre>{prettyBody(e)}</pre> : <p className="muted">empty</p>}
        <dl className="props small">
          {e.correlationKey !== undefined && (
            <>
              <dt>Correlation key</dt>
              <dd>
                <code>{e.correlationKey}</code>
              </dd>
            </>
          )}
          <dt>Stream sequence</dt>
          <dd>{String(e.sequence)}</dd>
          <dt>Content type</dt>
          <dd>{e.contentType || "—"}</dd>
        </dl>
      </div>
    </div>
  );
}

// prettyBody indents a whole JSON body; a cut or non-JSON body is shown as is.
function prettyBody(e: InboundEvent): string {
  const text = preview(e.body);
  if (Number(e.bodySize) === e.body.length) {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      /* not JSON */
    }
  }
  return text;
}
