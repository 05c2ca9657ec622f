// FailedList pages through failed triggers, newest first, of one webhook
// or of several at once. ListFailedTriggers answers per webhook, so for
// several the list is a k-way merge by time: each webhook's page is
// fetched when its buffer runs dry, and the cursor of the next page is the
// buffers and tokens left, which keeps the order exact across pages.
import { Fragment, useState } from "react";
import { Code, ConnectError } from "@connectrpc/connect";
import type { FailedTrigger } from "../../../../clients/ts/gen/hookgate/v1/inbound_pb.js";
import { useSession } from "../../context";
import { href } from "../../router";
import { Badge, Empty, ErrorBox, when } from "../../components/ui";
import { ago, bytes, headerRows, preview, tsMillis } from "./format";
import { Pager, useCursor } from "./paging";
import { BodyHeading, HeaderTable } from "./Captured";

type Source = { id: string; buf: FailedTrigger[]; token: string; started: boolean; done: boolean };

function newer(a: FailedTrigger, b: FailedTrigger): boolean {
  const d = tsMillis(a.time) - tsMillis(b.time);
  if (d !== 0) return d > 0;
  return (a.time?.nanos ?? 0) > (b.time?.nanos ?? 0);
}

// The reasons of the edge's rejection table, in words.
const reasons: Record<string, string> = {
  bad_key: "API key missing or wrong",
  bad_signature: "signature missing or wrong",
  signature_missing: "signature missing",
  signature_malformed: "signature malformed",
  signature_mismatch: "signature does not match",
  timestamp_missing: "timestamp missing",
  timestamp_outside_tolerance: "timestamp outside the tolerance",
  token_mismatch: "token does not match",
  secret_missing: "provider secret missing",
  handshake_refused: "handshake token does not match",
  rate_limited: "over the rate limit",
  too_large: "body over the limit",
  bad_body: "body could not be read",
  invalid_json: "invalid JSON",
  invalid_form: "invalid form body",
  uncorrelated: "correlation path does not resolve",
  correlation_too_long: "correlation key over 1 KiB",
  envelope_too_large: "event larger than NATS accepts",
  headers_too_large: "headers larger than NATS accepts",
};

export function FailedList({
  webhooks,
  pageSize,
  names,
  tick = 0,
}: {
  // webhooks are the webhook ids whose failed triggers are listed.
  webhooks: string[];
  pageSize: number;
  // names, when given, adds a webhook column (id → name).
  names?: Map<string, string>;
  // tick reloads the list when it changes.
  tick?: number;
}) {
  const { api, tenant } = useSession();
  const [open, setOpen] = useState<Set<string>>(new Set());
  const first: Source[] = webhooks.map((id) => ({ id, buf: [], token: "", started: false, done: false }));

  const pager = useCursor<FailedTrigger, Source[]>(
    first,
    async (cursor) => {
      const sources = cursor.map((s) => ({ ...s, buf: [...s.buf] }));
      const out: FailedTrigger[] = [];
      while (out.length < pageSize) {
        const dry = sources.filter((s) => s.buf.length === 0 && !s.done);
        await Promise.all(
          dry.map(async (s) => {
            try {
              const r = await api.webhooks.listFailedTriggers({ tenant, webhookId: s.id, pageSize, pageToken: s.token });
              s.buf = r.failedTriggers;
              s.token = r.nextPageToken;
            } catch (e) {
              // A webhook deleted meanwhile has no failed triggers to list.
              if (webhooks.length === 1 || ConnectError.from(e).code !== Code.NotFound) throw e;
              s.buf = [];
              s.token = "";
            }
            s.started = true;
            s.done = s.token === "";
          }),
        );
        let best: Source | null = null;
        for (const s of sources) if (s.buf.length && (!best || newer(s.buf[0], best.buf[0]))) best = s;
        if (!best) break;
        out.push(best.buf.shift()!);
      }
      const more = sources.some((s) => s.buf.length > 0 || !s.done);
      return { items: out, next: more ? sources : null };
    },
    [tenant, webhooks.join(","), pageSize, tick],
  );

  const toggle = (id: string) =>
    setOpen((o) => {
      const n = new Set(o);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });

  const cols = names ? 7 : 6;
  return (
    <div className="failed-list" aria-busy={pager.loading}>
      <ErrorBox error={pager.error} />
      {pager.items && pager.items.length === 0 && !pager.loading && !pager.error && (
        <Empty>No failed triggers{pager.pageNumber > 1 ? " on this page" : ""}: every call to {webhooks.length === 1 ? "this webhook" : "these webhooks"} was accepted, or none came.</Empty>
      )}
      {pager.items && pager.items.length > 0 && (
        <table className="failed">
          <thead>
            <tr>
              <th scope="col">Time</th>
              {names && <th scope="col">Webhook</th>}
              <th scope="col">Reason</th>
              <th scope="col">Status</th>
              <th scope="col">From</th>
              <th scope="col">Body</th>
              <th scope="col">
                <span className="sr-only">Details</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {pager.items.map((f) => {
              const expanded = open.has(f.id);
              return (
                <Fragment key={f.id}>
                  <tr className={expanded ? "expanded" : undefined} data-failed={f.id}>
                    <td title={ago(f.time)}>{when(f.time)}</td>
                    {names && (
                      <td>
                        <a href={href("webhooks", f.webhookId)}>{names.get(f.webhookId) ?? f.webhookId}</a>
                      </td>
                    )}
                    <td>
                      <Badge kind="bad">{f.reason}</Badge> <span className="muted small">{reasons[f.reason] ?? ""}</span>
                      {f.detail && <div className="small detail">{f.detail}</div>}
                    </td>
                    <td>{f.statusCode}</td>
                    <td>
                      <code>{f.remoteAddress}</code>
                    </td>
                    <td>{bytes(f.bodySize)}</td>
                    <td>
                      <button
                        type="button"
                        aria-expanded={expanded}
                        aria-controls={`ft-${f.id}`}
                        onClick={() => toggle(f.id)}
                      >
                        {expanded ? "Hide" : "Details"}
                      </button>
                    </td>
                  </tr>
                  {expanded && (
                    <tr className="more" id={`ft-${f.id}`}>
                      <td colSpan={cols}>
                        <FailedDetail f={f} />
                      </td>
                    </tr>
                  )}
                </Fragment>
              );
            })}
          </tbody>
        </table>
      )}
      <div className="list-foot">
        <Pager pager={pager} label="Failed trigger pages" />
        <button type="button" onClick={pager.reload} disabled={pager.loading}>
          Refresh
        </button>
      </div>
    </div>
  );
}

function FailedDetail({ f }: { f: FailedTrigger }) {
  const rows = headerRows(f.headers);
  return (
    <div className="ft-detail">
      <div>
        <h3>Headers (redacted)</h3>
        {rows.length === 0 ? (
          <p className="muted">none</p>
        ) : (
          <HeaderTable rows={rows} />
        )}
      </div>
      <div>
        <BodyHeading size={f.bodySize} kept={f.body.length} keptWord="kept" />
        {f.body.length ? <pre>{preview(f.body)}</pre> : <p className="muted">empty</p>}
        <p className="muted small">
          Record <code>{f.id}</code> · webhook <code>{f.webhookId}</code>
        </p>
      </div>
    </div>
  );
}
