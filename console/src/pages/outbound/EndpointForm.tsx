// The endpoint form: create (in AppDetail) and the Settings tab of
// EndpointDetail share it. Every input's name is the API field it fills,
// so an InvalidArgument error shows under that input.
import { useState } from "react";
import type { ApiError } from "../../api";
import { Field, FormError } from "../../components/ui";
import { SignatureScheme, type Endpoint } from "../../../../clients/ts/gen/hookgate/v1/endpoint_pb.js";
import type { EventType } from "../../../../clients/ts/gen/hookgate/v1/event_type_pb.js";
import { errorOf, EventTypeChecks, HeadersEditor, intField, kvMap, kvRows, sameMap, type KVRow } from "./common";

export type EndpointValues = {
  url: string;
  name: string;
  description: string;
  eventTypes: string[];
  rateLimitPerSecond: number;
  burst: number;
  maxInFlight: number;
  timeoutMs: number;
  headers: { [k: string]: string };
  signatureScheme: SignatureScheme;
};

const endpointFields = [
  "endpoint.url",
  "endpoint.name",
  "endpoint.description",
  "endpoint.event_types",
  "endpoint.rate_limit_per_second",
  "endpoint.burst",
  "endpoint.max_in_flight",
  "endpoint.timeout_ms",
  "endpoint.headers",
  "endpoint.signature_scheme",
];

// changedPaths is the update mask for what differs from the stored endpoint.
export function changedPaths(v: EndpointValues, ep: Endpoint): string[] {
  const p: string[] = [];
  if (v.url !== ep.url) p.push("url");
  if (v.name !== ep.name) p.push("name");
  if (v.description !== ep.description) p.push("description");
  if (v.eventTypes.join("\n") !== ep.eventTypes.join("\n")) p.push("event_types");
  if (v.rateLimitPerSecond !== ep.rateLimitPerSecond) p.push("rate_limit_per_second");
  if (v.burst !== ep.burst) p.push("burst");
  if (v.maxInFlight !== ep.maxInFlight) p.push("max_in_flight");
  if (v.timeoutMs !== ep.timeoutMs) p.push("timeout_ms");
  if (!sameMap(v.headers, ep.headers)) p.push("headers");
  return p;
}

const num = (n?: number) => (n ? String(n) : "");

export function EndpointForm({
  initial,
  catalog,
  submitLabel,
  onSubmit,
  onCancel,
}: {
  initial?: Endpoint;
  catalog: EventType[] | null;
  submitLabel: string;
  onSubmit: (v: EndpointValues) => Promise<void>;
  onCancel?: () => void;
}) {
  const [url, setUrl] = useState(initial?.url ?? "");
  const [name, setName] = useState(initial?.name ?? "");
  const [description, setDescription] = useState(initial?.description ?? "");
  const [eventTypes, setEventTypes] = useState<string[]>(initial?.eventTypes ?? []);
  const [rate, setRate] = useState(num(initial?.rateLimitPerSecond));
  const [burst, setBurst] = useState(num(initial?.burst));
  const [inFlight, setInFlight] = useState(num(initial?.maxInFlight));
  const [timeout, setTimeout_] = useState(num(initial?.timeoutMs));
  const [headers, setHeaders] = useState<KVRow[]>(kvRows(initial?.headers ?? {}));
  const [scheme, setScheme] = useState<SignatureScheme>(initial?.signatureScheme || SignatureScheme.HMAC_SHA256);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      className="endpoint-form"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        try {
          await onSubmit({
            url: url.trim(),
            name: name.trim(),
            description,
            eventTypes,
            rateLimitPerSecond: intField("endpoint.rate_limit_per_second", rate),
            burst: intField("endpoint.burst", burst),
            maxInFlight: intField("endpoint.max_in_flight", inFlight),
            timeoutMs: intField("endpoint.timeout_ms", timeout),
            headers: kvMap(headers),
            signatureScheme: scheme,
          });
        } catch (err) {
          setError(errorOf(err));
        } finally {
          setBusy(false);
        }
      }}
    >
      <div className="form-row url-row">
        <Field label="URL" name="endpoint.url" error={error} hint="HTTPS, unless the tenant allows plain HTTP endpoints.">
          {(p) => (
            <input
              {...p}
              type="url"
              value={url}
              required
              autoFocus={!initial}
              spellCheck={false}
              placeholder="https://customer.example/webhooks"
              onChange={(e) => setUrl(e.target.value)}
            />
          )}
        </Field>
        <Field label="Name (optional)" name="endpoint.name" error={error}>
          {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
      </div>
      <div className="form-row">
        <Field label="Description (optional)" name="endpoint.description" error={error}>
          {(p) => <input {...p} value={description} onChange={(e) => setDescription(e.target.value)} />}
        </Field>
        {!initial && (
          <Field
            label="Signature scheme"
            name="endpoint.signature_scheme"
            error={error}
            hint="Standard Webhooks; Ed25519 receivers verify with a public key."
          >
            {(p) => (
              <select {...p} value={scheme} onChange={(e) => setScheme(Number(e.target.value) as SignatureScheme)}>
                <option value={SignatureScheme.HMAC_SHA256}>HMAC-SHA256 (v1)</option>
                <option value={SignatureScheme.ED25519}>Ed25519 (v1a)</option>
              </select>
            )}
          </Field>
        )}
      </div>
      <EventTypeChecks catalog={catalog} value={eventTypes} onChange={setEventTypes} error={error} />
      <div className="form-row narrow">
        <Field label="Rate limit (per second)" name="endpoint.rate_limit_per_second" error={error} hint="Empty or 0: no limit.">
          {(p) => <input {...p} type="number" min={0} value={rate} onChange={(e) => setRate(e.target.value)} />}
        </Field>
        <Field label="Burst" name="endpoint.burst" error={error} hint="Empty or 0: the rate.">
          {(p) => <input {...p} type="number" min={0} value={burst} onChange={(e) => setBurst(e.target.value)} />}
        </Field>
        <Field label="Max in flight" name="endpoint.max_in_flight" error={error} hint="Empty or 0: no cap.">
          {(p) => <input {...p} type="number" min={0} value={inFlight} onChange={(e) => setInFlight(e.target.value)} />}
        </Field>
        <Field label="Timeout (ms)" name="endpoint.timeout_ms" error={error} hint="Empty: 5000; at most 30000.">
          {(p) => <input {...p} type="number" min={0} max={30000} value={timeout} onChange={(e) => setTimeout_(e.target.value)} />}
        </Field>
      </div>
      <HeadersEditor rows={headers} onChange={setHeaders} error={error} />
      <FormError error={error} fields={endpointFields} />
      <div className={onCancel ? "dialog-actions" : "form-actions"}>
        {onCancel && (
          <button type="button" onClick={onCancel}>
            Cancel
          </button>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}
