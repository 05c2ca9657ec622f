// Pieces the outbound pages share: labels for the API's enums, JSON and
// duration formatting, cursor paging, the custom-headers editor and the
// event-type checklist.
import { useId, useState, type ReactNode } from "react";
import { fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema, type Duration, type Value } from "@bufbuild/protobuf/wkt";
import { apiError, fieldMatches, type ApiError } from "../../api";
import { Badge, when } from "../../components/ui";
import { EndpointDisabledReason, EndpointStatus, type Endpoint, type EndpointHealth } from "../../../../clients/ts/gen/hookgate/v1/endpoint_pb.js";
import { DeliveryState } from "../../../../clients/ts/gen/hookgate/v1/message_pb.js";
import { AttemptStatus, AttemptTrigger, type Attempt } from "../../../../clients/ts/gen/hookgate/v1/attempt_pb.js";
import type { EventType } from "../../../../clients/ts/gen/hookgate/v1/event_type_pb.js";
import "./outbound.css";

export function EndpointStatusBadge({ ep }: { ep: Pick<Endpoint, "status" | "disabledReason"> }) {
  switch (ep.status) {
    case EndpointStatus.ENABLED:
      return <Badge kind="ok">enabled</Badge>;
    case EndpointStatus.FAILING:
      return <Badge kind="warn">failing</Badge>;
    case EndpointStatus.DISABLED: {
      const why = disabledReason(ep.disabledReason);
      return <Badge kind="bad">disabled{why ? ` (${why})` : ""}</Badge>;
    }
    default:
      return <Badge kind="muted">unknown</Badge>;
  }
}

export function disabledReason(r: EndpointDisabledReason): string {
  switch (r) {
    case EndpointDisabledReason.MANUAL:
      return "manual";
    case EndpointDisabledReason.GONE:
      return "410 Gone";
    case EndpointDisabledReason.FAILING:
      return "failing";
    default:
      return "";
  }
}

export function deliveryLabel(s: DeliveryState): string {
  switch (s) {
    case DeliveryState.PENDING:
      return "pending";
    case DeliveryState.SUCCEEDED:
      return "succeeded";
    case DeliveryState.FAILED:
      return "failed";
    case DeliveryState.CANCELLED:
      return "cancelled";
    default:
      return "in flight";
  }
}

export function DeliveryBadge({ state }: { state: DeliveryState }) {
  const kind =
    state === DeliveryState.SUCCEEDED ? "ok" : state === DeliveryState.FAILED ? "bad" : state === DeliveryState.PENDING ? "warn" : "muted";
  return <Badge kind={kind}>{deliveryLabel(state)}</Badge>;
}

export function triggerLabel(t: AttemptTrigger): string {
  switch (t) {
    case AttemptTrigger.SCHEDULED:
      return "scheduled";
    case AttemptTrigger.MANUAL:
      return "manual";
    case AttemptTrigger.RECOVER:
      return "recover";
    case AttemptTrigger.TEST:
      return "test";
    default:
      return "—";
  }
}

// AttemptResult is an attempt's outcome: the status code, or the error
// class when no answer came.
export function AttemptResult({ a }: { a: Attempt }) {
  const ok = a.status === AttemptStatus.SUCCEEDED;
  const text = a.responseStatusCode
    ? `${a.responseStatusCode}${a.errorClass && a.errorClass !== "http_status" ? ` · ${a.errorClass}` : ""}`
    : a.errorClass || (ok ? "ok" : "failed");
  return <Badge kind={ok ? "ok" : "bad"}>{text}</Badge>;
}

// ms formats a protobuf Duration as milliseconds.
export function ms(d?: Duration): string {
  if (!d) return "—";
  const v = Number(d.seconds) * 1000 + d.nanos / 1e6;
  return v < 10 ? `${v.toFixed(2)} ms` : `${Math.round(v)} ms`;
}

// Stamp shows a time compactly for a dense table ("12-02 07:47:16", UTC),
// with the full time as its tooltip.
export function Stamp({ ts }: { ts?: { seconds: bigint; nanos: number } }) {
  if (!ts) return <span className="muted">—</span>;
  const full = when(ts);
  return (
    <time dateTime={full.replace(" ", "T")} title={full}>
      {full.slice(5, 19)}
    </time>
  );
}

export function bodyText(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

// jsonText shows a google.protobuf.Value (or a Struct as JSON) indented.
export function jsonText(v?: Value | JsonValue): string {
  if (v === undefined) return "";
  const j = isValue(v) ? toJson(ValueSchema, v) : v;
  return JSON.stringify(j, null, 2);
}

function isValue(v: unknown): v is Value {
  return typeof v === "object" && v !== null && (v as { $typeName?: string }).$typeName === "google.protobuf.Value";
}

export function toValue(j: JsonValue): Value {
  return fromJson(ValueSchema, j);
}

// parseJson reads a JSON text that the API will check; a syntax error is
// reported against field as the API would ("message.payload: …").
export function parseJson(text: string, field: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (e) {
    throw localError(field, `is not JSON: ${(e as Error).message}`);
  }
}

// LocalError is a check the console makes before calling the API, shaped as
// the API's errors so it shows next to its field.
export class LocalError extends Error {
  constructor(public apiError: ApiError) {
    super(apiError.message);
  }
}

export function localError(field: string, message: string): LocalError {
  return new LocalError({ code: "InvalidArgument", field, message, retryable: false });
}

export function health(h?: EndpointHealth): { avg: string; last: string; fails: number; status: string } {
  if (!h) return { avg: "—", last: "—", fails: 0, status: "—" };
  const ls = h.lastStatus;
  return {
    avg: h.sampledAttempts ? `${h.avgResponseTimeMs} ms` : "—",
    last: h.sampledAttempts || ls ? `${h.lastResponseTimeMs} ms` : "—",
    fails: h.consecutiveFailures,
    status: ls ? ls.message || (ls.code ? String(ls.code) : ls.errorClass) || "—" : "—",
  };
}

// usePager keeps the page tokens seen so far, so Previous goes back
// through cursor pages the API only walks forwards.
export function usePager() {
  const [tokens, setTokens] = useState<string[]>([""]);
  const [i, setI] = useState(0);
  return {
    token: tokens[i],
    page: i + 1,
    hasPrev: i > 0,
    next(nextToken: string) {
      setTokens((t) => [...t.slice(0, i + 1), nextToken]);
      setI(i + 1);
    },
    prev() {
      setI(Math.max(0, i - 1));
    },
    reset() {
      setTokens([""]);
      setI(0);
    },
  };
}

export function PagerNav({
  pager,
  nextToken,
  label,
}: {
  pager: ReturnType<typeof usePager>;
  nextToken?: string;
  label: string;
}) {
  if (!pager.hasPrev && !nextToken) return null;
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" disabled={!pager.hasPrev} onClick={pager.prev}>
        ← Previous
      </button>
      <span>Page {pager.page}</span>
      <button type="button" disabled={!nextToken} onClick={() => nextToken && pager.next(nextToken)}>
        Next →
      </button>
    </nav>
  );
}

// Group is Field for a set of controls (checkboxes, header rows): a
// fieldset whose legend labels them, with the API's error for name below.
export function Group({
  legend,
  name,
  error,
  hint,
  children,
}: {
  legend: string;
  name: string;
  error?: ApiError | null;
  hint?: string;
  children: ReactNode;
}) {
  const id = useId();
  const bad = fieldMatches(error?.field, name);
  return (
    <fieldset
      className={bad ? "group invalid" : "group"}
      aria-invalid={bad || undefined}
      aria-describedby={[hint ? `${id}-hint` : "", bad ? `${id}-err` : ""].filter(Boolean).join(" ") || undefined}
    >
      <legend>{legend}</legend>
      {children}
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {bad && (
        <p className="field-error" id={`${id}-err`} role="alert">
          {error!.message}
        </p>
      )}
    </fieldset>
  );
}

// EventTypeChecks picks event types from the catalog: archived ones are
// offered only when already chosen (they keep their subscriptions).
export function EventTypeChecks({
  catalog,
  value,
  onChange,
  error,
}: {
  catalog: EventType[] | null;
  value: string[];
  onChange: (v: string[]) => void;
  error?: ApiError | null;
}) {
  const names = (catalog ?? []).filter((t) => !t.archived || value.includes(t.name)).map((t) => t.name);
  for (const v of value) if (!names.includes(v)) names.push(v);
  return (
    <Group legend="Event types" name="endpoint.event_types" error={error}>
      {catalog === null ? (
        <p className="hint">Loading the catalog…</p>
      ) : names.length === 0 ? (
        <p className="hint">
          The catalog is empty: <a href="#/event-types">create an event type</a> first.
        </p>
      ) : (
        <div className="checks">
          {names.map((n) => (
            <label key={n} className="check">
              <input
                type="checkbox"
                checked={value.includes(n)}
                onChange={(e) => onChange(e.target.checked ? [...value, n] : value.filter((x) => x !== n))}
              />
              <code>{n}</code>
            </label>
          ))}
        </div>
      )}
    </Group>
  );
}

export type KVRow = { key: number; name: string; value: string; redacted: boolean };

const REDACTED = "REDACTED";
let rowKey = 0;

export function kvRows(h: { [k: string]: string }): KVRow[] {
  return Object.entries(h)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => ({ key: ++rowKey, name, value: value === REDACTED ? "" : value, redacted: value === REDACTED }));
}

// kvMap is what the API takes: a write-only value left empty is sent as
// REDACTED, which keeps the stored one.
export function kvMap(rows: KVRow[]): { [k: string]: string } {
  const out: { [k: string]: string } = {};
  for (const r of rows) {
    if (!r.name.trim() && !r.value) continue;
    out[r.name.trim()] = r.redacted && r.value === "" ? REDACTED : r.value;
  }
  return out;
}

export function sameMap(a: { [k: string]: string }, b: { [k: string]: string }): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}

// KeyValueEditor edits a map as rows of name and value inputs.
export function KeyValueEditor({
  legend,
  name,
  hint,
  rows,
  onChange,
  error,
  keyLabel,
  addLabel,
  writeOnly = () => false,
}: {
  legend: string;
  name: string;
  hint?: string;
  rows: KVRow[];
  onChange: (rows: KVRow[]) => void;
  error?: ApiError | null;
  keyLabel: string;
  addLabel: string;
  // writeOnly tells keys whose values are never shown back.
  writeOnly?: (key: string) => boolean;
}) {
  const set = (i: number, patch: Partial<KVRow>) => onChange(rows.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <Group legend={legend} name={name} error={error} hint={hint}>
      {rows.length > 0 && (
        <table className="kv">
          <thead>
            <tr>
              <th scope="col">{keyLabel}</th>
              <th scope="col">Value</th>
              <th scope="col">
                <span className="sr-only">Remove</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => {
              const secret = writeOnly(r.name.trim());
              return (
                <tr key={r.key}>
                  <td>
                    <input
                      aria-label={`${keyLabel} ${i + 1}`}
                      value={r.name}
                      spellCheck={false}
                      autoComplete="off"
                      onChange={(e) => set(i, { name: e.target.value })}
                    />
                  </td>
                  <td>
                    <input
                      aria-label={`${keyLabel} ${i + 1} value`}
                      type={secret ? "password" : "text"}
                      autoComplete="off"
                      spellCheck={false}
                      value={r.value}
                      placeholder={r.redacted ? "REDACTED (unchanged)" : ""}
                      onChange={(e) => set(i, { value: e.target.value })}
                    />
                  </td>
                  <td>
                    <button type="button" aria-label={`Remove ${keyLabel.toLowerCase()} ${i + 1}`} onClick={() => onChange(rows.filter((_, j) => j !== i))}>
                      Remove
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <div>
        <button type="button" onClick={() => onChange([...rows, { key: ++rowKey, name: "", value: "", redacted: false }])}>
          {addLabel}
        </button>
      </div>
    </Group>
  );
}

export function HeadersEditor({ rows, onChange, error }: { rows: KVRow[]; onChange: (rows: KVRow[]) => void; error?: ApiError | null }) {
  return (
    <KeyValueEditor
      legend="Custom headers"
      name="endpoint.headers"
      keyLabel="Header"
      addLabel="Add header"
      rows={rows}
      onChange={onChange}
      error={error}
      writeOnly={(k) => k.toLowerCase() === "authorization"}
      hint="Added to every delivery. An Authorization value is write-only: it reads REDACTED, and left empty it keeps the stored value."
    />
  );
}

// HeaderList shows headers read-only; Authorization reads REDACTED as the
// API returns it.
export function HeaderList({ headers }: { headers: { [k: string]: string } }) {
  const entries = Object.entries(headers).sort(([a], [b]) => a.localeCompare(b));
  if (entries.length === 0) return <span className="muted">none</span>;
  return (
    <ul className="plain">
      {entries.map(([k, v]) => (
        <li key={k}>
          <code>
            {k}: {v}
          </code>
        </li>
      ))}
    </ul>
  );
}

// intField reads a number input for the API field it names: empty is 0
// (the API's "default" or "none"); anything but a whole number is refused
// here, next to its field.
export function intField(field: string, s: string): number {
  const t = s.trim();
  if (!t) return 0;
  const n = Number(t);
  if (!Number.isInteger(n)) throw localError(field, "must be a whole number");
  return n;
}

// errorOf turns what a call threw into the error a form shows.
export function errorOf(e: unknown): ApiError {
  return e instanceof LocalError ? e.apiError : apiError(e);
}

// Def is one term of a definition list.
export function Defs({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="defs">
      {items.map(([k, v]) => (
        <div key={k}>
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}
