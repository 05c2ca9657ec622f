// The form that registers a webhook: name, provider and its secrets,
// bindings (process, trigger, correlation), and the advanced limits. Every
// input is named by its API field path, so an InvalidArgument from
// CreateWebhook ("webhook.bindings[0].process_id: …") shows under it.
import { useId, useState } from "react";
import {
  Provider,
  Trigger,
  type CreateWebhookResponse,
} from "../../../../clients/ts/gen/hookgate/v1/inbound_pb.js";
import { apiError, fieldMatches, type ApiError } from "../../api";
import { useSession } from "../../context";
import { Field, FormError } from "../../components/ui";
import { localError, parseDuration } from "./format";
import { providerInfo, providers } from "./providers";

type BindingDraft = { processId: string; threadId: string; trigger: Trigger; correlationPath: string };

const newBinding = (): BindingDraft => ({ processId: "", threadId: "", trigger: Trigger.START_PROCESS, correlationPath: "" });

type HmacDraft = {
  header: string;
  algorithm: string;
  encoding: string;
  prefix: string;
  template: string;
  timestampHeader: string;
  timestampUnit: string;
  tolerance: string;
  idHeader: string;
  separator: string;
  timestampPrefix: string;
};

const newHmac = (): HmacDraft => ({
  header: "",
  algorithm: "sha256",
  encoding: "hex",
  prefix: "",
  template: "",
  timestampHeader: "",
  timestampUnit: "",
  tolerance: "",
  idHeader: "",
  separator: "",
  timestampPrefix: "",
});

// Fields of the form; an error naming anything else is shown at the end.
const hmacFields = ["header", "algorithm", "encoding", "prefix", "template", "timestamp_header", "timestamp_unit", "tolerance", "id_header", "separator", "timestamp_prefix"].map((f) => `webhook.custom_hmac.${f}`);
const formFields = [
  "webhook.name",
  "webhook.description",
  "webhook.provider",
  "webhook.provider_secrets",
  "webhook.bindings",
  "webhook.require_key",
  "webhook.max_body_bytes",
  "webhook.rate_limit.requests_per_second",
  "webhook.rate_limit.burst",
  "webhook.raw_body",
  ...hmacFields,
];
const advancedFields = ["webhook.description", "webhook.require_key", "webhook.max_body_bytes", "webhook.rate_limit.requests_per_second", "webhook.rate_limit.burst", "webhook.raw_body"];

export function CreateWebhook({ onCreated, onCancel }: { onCreated: (r: CreateWebhookResponse) => void; onCancel: () => void }) {
  const { api, tenant } = useSession();
  const id = useId();
  const [name, setName] = useState("");
  const [provider, setProvider] = useState<Provider>(Provider.GENERIC);
  const [secrets, setSecrets] = useState<Record<string, string>>({});
  const [bindings, setBindings] = useState<BindingDraft[]>([newBinding()]);
  const [hmac, setHmac] = useState<HmacDraft>(newHmac());
  const [description, setDescription] = useState("");
  const [requireKey, setRequireKey] = useState(true);
  const [maxBodyKiB, setMaxBodyKiB] = useState("");
  const [rps, setRps] = useState("");
  const [burst, setBurst] = useState("");
  const [rawBody, setRawBody] = useState(false);
  const [advancedOpen, setAdvancedOpen] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const info = providerInfo(provider);
  const secretList = [...info.required.map((n) => ({ n, required: true })), ...info.optional.map((n) => ({ n, required: false }))];
  const secretsBad = fieldMatches(error?.field, "webhook.provider_secrets");
  const bindingsBad = error?.field === "webhook.bindings";

  const setBinding = (i: number, patch: Partial<BindingDraft>) =>
    setBindings((bs) => bs.map((b, j) => (j === i ? { ...b, ...patch } : b)));
  const setH = (patch: Partial<HmacDraft>) => setHmac((h) => ({ ...h, ...patch }));

  const fail = (e: ApiError) => {
    setError(e);
    if (advancedFields.some((f) => fieldMatches(e.field, f))) setAdvancedOpen(true);
  };

  const submit = async () => {
    const tolerance = hmac.tolerance.trim() ? parseDuration(hmac.tolerance) : undefined;
    if (tolerance === null) return fail(localError("webhook.custom_hmac.tolerance", `"${hmac.tolerance}" is not a duration such as 5m or 300s`));
    const kib = maxBodyKiB.trim() ? Number(maxBodyKiB) : 0;
    if (!Number.isFinite(kib) || kib < 0) return fail(localError("webhook.max_body_bytes", "must be a number of KiB, 1 to 4096"));
    const given: Record<string, string> = {};
    for (const { n } of secretList) if (secrets[n]) given[n] = secrets[n];
    setBusy(true);
    setError(null);
    try {
      const res = await api.webhooks.createWebhook({
        webhook: {
          tenant,
          name: name.trim(),
          description: description.trim(),
          provider,
          providerSecrets: given,
          bindings: bindings.map((b) => ({
            processId: b.processId.trim(),
            threadId: b.threadId.trim(),
            trigger: b.trigger,
            correlationPath: b.trigger === Trigger.RESUME_PROCESS ? b.correlationPath.trim() : "",
          })),
          requireKey: provider === Provider.GENERIC ? undefined : requireKey,
          maxBodyBytes: BigInt(Math.round(kib * 1024)),
          rateLimit: rps.trim() ? { requestsPerSecond: Number(rps), burst: burst.trim() ? Number(burst) : 0 } : undefined,
          rawBody,
          customHmac:
            provider === Provider.CUSTOM_HMAC
              ? {
                  header: hmac.header.trim(),
                  algorithm: hmac.algorithm,
                  encoding: hmac.encoding,
                  prefix: hmac.prefix,
                  template: hmac.template,
                  timestampHeader: hmac.timestampHeader.trim(),
                  timestampUnit: hmac.timestampHeader.trim() ? hmac.timestampUnit : "",
                  tolerance: tolerance !== undefined ? { seconds: BigInt(tolerance) } : undefined,
                  idHeader: hmac.idHeader.trim(),
                  separator: hmac.separator,
                  timestampPrefix: hmac.timestampPrefix,
                }
              : undefined,
        },
      });
      onCreated(res);
    } catch (e) {
      const ae = apiError(e);
      // A taken name is AlreadyExists, which names no field: it is the name's.
      fail(ae.code === "AlreadyExists" ? { ...ae, field: "webhook.name" } : ae);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form
      className="panel create-webhook"
      aria-labelledby={`${id}-title`}
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <h2 id={`${id}-title`}>New webhook</h2>
      <div className="form-row">
        <Field label="Name" name="webhook.name" error={error} hint="3–50 letters, digits, spaces and [ ] ( ) . _ -, unique in the tenant">
          {(p) => <input {...p} value={name} autoFocus onChange={(e) => setName(e.target.value)} />}
        </Field>
        <Field label="Provider" name="webhook.provider" error={error} hint="How calls are verified besides the key; it cannot change later">
          {(p) => (
            <select
              {...p}
              value={provider}
              onChange={(e) => {
                setProvider(Number(e.target.value) as Provider);
                setSecrets({});
              }}
            >
              {providers.map((x) => (
                <option key={x.value} value={x.value}>
                  {x.label}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>

      {secretList.length > 0 && (
        <fieldset className={secretsBad ? "group invalid" : "group"} aria-describedby={secretsBad ? `${id}-secrets-err` : undefined}>
          <legend>{info.label} secrets</legend>
          <p className="hint">Write-only: Hookgate stores them encrypted and never shows them again. A value may be a reference ${"{configParam.NAME}"}.</p>
          <div className="form-row">
            {secretList.map(({ n, required }) => (
              <div className="field" key={n}>
                <label htmlFor={`${id}-secret-${n}`}>
                  {n}
                  {required ? "" : " (optional)"}
                </label>
                <input
                  id={`${id}-secret-${n}`}
                  name={`webhook.provider_secrets.${n}`}
                  type="password"
                  autoComplete="off"
                  spellCheck={false}
                  value={secrets[n] ?? ""}
                  aria-invalid={secretsBad || undefined}
                  aria-describedby={secretsBad ? `${id}-secrets-err` : undefined}
                  onChange={(e) => setSecrets((s) => ({ ...s, [n]: e.target.value }))}
                />
              </div>
            ))}
          </div>
          {secretsBad && (
            <p className="field-error" id={`${id}-secrets-err`} role="alert">
              {error!.message}
            </p>
          )}
        </fieldset>
      )}

      {provider === Provider.CUSTOM_HMAC && (
        <fieldset className="group">
          <legend>HMAC settings</legend>
          <div className="form-row">
            <Field label="Signature header" name="webhook.custom_hmac.header" error={error}>
              {(p) => <input {...p} placeholder="X-Signature" value={hmac.header} onChange={(e) => setH({ header: e.target.value })} />}
            </Field>
            <Field label="Algorithm" name="webhook.custom_hmac.algorithm" error={error}>
              {(p) => (
                <select {...p} value={hmac.algorithm} onChange={(e) => setH({ algorithm: e.target.value })}>
                  <option value="sha256">SHA-256</option>
                  <option value="sha1">SHA-1</option>
                  <option value="sha512">SHA-512</option>
                </select>
              )}
            </Field>
            <Field label="Encoding" name="webhook.custom_hmac.encoding" error={error}>
              {(p) => (
                <select {...p} value={hmac.encoding} onChange={(e) => setH({ encoding: e.target.value })}>
                  <option value="hex">hex</option>
                  <option value="base64">base64</option>
                  <option value="base64url">base64url</option>
                </select>
              )}
            </Field>
          </div>
          <div className="form-row">
            <Field label="Prefix" name="webhook.custom_hmac.prefix" error={error} hint="Stripped before decoding, e.g. sha256=">
              {(p) => <input {...p} value={hmac.prefix} onChange={(e) => setH({ prefix: e.target.value })} />}
            </Field>
            <Field label="Signed content" name="webhook.custom_hmac.template" error={error} hint="Default {body}; also {timestamp} {id} {url} {method} {header:Name}">
              {(p) => <input {...p} placeholder="{body}" value={hmac.template} onChange={(e) => setH({ template: e.target.value })} />}
            </Field>
            <Field label="Separator" name="webhook.custom_hmac.separator" error={error} hint="Between several signatures in one header">
              {(p) => <input {...p} value={hmac.separator} onChange={(e) => setH({ separator: e.target.value })} />}
            </Field>
          </div>
          <div className="form-row">
            <Field label="Timestamp header" name="webhook.custom_hmac.timestamp_header" error={error}>
              {(p) => <input {...p} value={hmac.timestampHeader} onChange={(e) => setH({ timestampHeader: e.target.value })} />}
            </Field>
            <Field label="Timestamp unit" name="webhook.custom_hmac.timestamp_unit" error={error}>
              {(p) => (
                <select {...p} value={hmac.timestampUnit} onChange={(e) => setH({ timestampUnit: e.target.value })}>
                  <option value="">seconds (default)</option>
                  <option value="ms">milliseconds</option>
                  <option value="rfc3339">RFC 3339</option>
                </select>
              )}
            </Field>
            <Field label="Tolerance" name="webhook.custom_hmac.tolerance" error={error} hint="Default 5m, at most 1h">
              {(p) => <input {...p} placeholder="5m" value={hmac.tolerance} onChange={(e) => setH({ tolerance: e.target.value })} />}
            </Field>
          </div>
          <div className="form-row">
            <Field label="Timestamp prefix" name="webhook.custom_hmac.timestamp_prefix" error={error} hint="When the timestamp rides in the signature header, e.g. t=">
              {(p) => <input {...p} value={hmac.timestampPrefix} onChange={(e) => setH({ timestampPrefix: e.target.value })} />}
            </Field>
            <Field label="Id header" name="webhook.custom_hmac.id_header" error={error} hint="The value of {id}">
              {(p) => <input {...p} value={hmac.idHeader} onChange={(e) => setH({ idHeader: e.target.value })} />}
            </Field>
          </div>
        </fieldset>
      )}

      <fieldset className={bindingsBad ? "group invalid" : "group"} aria-describedby={bindingsBad ? `${id}-bindings-err` : undefined}>
        <legend>Bindings</legend>
        <p className="hint">Each accepted call is published once per binding, to hookgate.in.{tenant}.{"{process}"}.start or .resume.</p>
        {bindings.map((b, i) => (
          <div className="binding" key={i} role="group" aria-label={`Binding ${i + 1}`}>
            <Field label="Process id" name={`webhook.bindings[${i}].process_id`} error={error}>
              {(p) => <input {...p} placeholder="orders" value={b.processId} onChange={(e) => setBinding(i, { processId: e.target.value })} />}
            </Field>
            <Field label="Thread id" name={`webhook.bindings[${i}].thread_id`} error={error}>
              {(p) => <input {...p} placeholder="main" value={b.threadId} onChange={(e) => setBinding(i, { threadId: e.target.value })} />}
            </Field>
            <Field label="Trigger" name={`webhook.bindings[${i}].trigger`} error={error}>
              {(p) => (
                <select {...p} value={b.trigger} onChange={(e) => setBinding(i, { trigger: Number(e.target.value) as Trigger })}>
                  <option value={Trigger.START_PROCESS}>Start process</option>
                  <option value={Trigger.RESUME_PROCESS}>Resume process</option>
                </select>
              )}
            </Field>
            <Field label="Correlation path" name={`webhook.bindings[${i}].correlation_path`} error={error} hint={b.trigger === Trigger.RESUME_PROCESS ? "Where the body holds the key of the waiting process" : "Only for resume"}>
              {(p) => (
                <input
                  {...p}
                  placeholder="entry[0].changes[0].value.id"
                  disabled={b.trigger !== Trigger.RESUME_PROCESS}
                  value={b.trigger === Trigger.RESUME_PROCESS ? b.correlationPath : ""}
                  onChange={(e) => setBinding(i, { correlationPath: e.target.value })}
                />
              )}
            </Field>
            <button
              type="button"
              className="remove"
              disabled={bindings.length === 1}
              aria-label={`Remove binding ${i + 1}`}
              onClick={() => setBindings((bs) => bs.filter((_, j) => j !== i))}
            >
              Remove
            </button>
          </div>
        ))}
        <button type="button" disabled={bindings.length >= 16} onClick={() => setBindings((bs) => [...bs, newBinding()])}>
          Add binding
        </button>
        {bindingsBad && (
          <p className="field-error" id={`${id}-bindings-err`} role="alert">
            {error!.message}
          </p>
        )}
      </fieldset>

      <details className="advanced" open={advancedOpen} onToggle={(e) => setAdvancedOpen(e.currentTarget.open)}>
        <summary>Advanced: description, key, limits</summary>
        <Field label="Description" name="webhook.description" error={error}>
          {(p) => <input {...p} value={description} onChange={(e) => setDescription(e.target.value)} />}
        </Field>
        {provider !== Provider.GENERIC && (
          <CheckField
            label="Require the API key"
            name="webhook.require_key"
            error={error}
            checked={requireKey}
            onChange={setRequireKey}
            hint="Unchecked: the provider's signature alone authenticates, so the provider can be given the URL without ?key="
          />
        )}
        <div className="form-row">
          <Field label="Largest body (KiB)" name="webhook.max_body_bytes" error={error} hint="Default 1024 (1 MiB); 1 to 4096">
            {(p) => <input {...p} type="number" min={1} max={4096} placeholder="1024" value={maxBodyKiB} onChange={(e) => setMaxBodyKiB(e.target.value)} />}
          </Field>
          <Field label="Rate limit (requests/s)" name="webhook.rate_limit.requests_per_second" error={error} hint="Empty: no limit">
            {(p) => <input {...p} type="number" min={0.01} step="any" value={rps} onChange={(e) => setRps(e.target.value)} />}
          </Field>
          <Field label="Burst" name="webhook.rate_limit.burst" error={error} hint="Default: the rate rounded up">
            {(p) => <input {...p} type="number" min={0} step={1} disabled={!rps.trim()} value={burst} onChange={(e) => setBurst(e.target.value)} />}
          </Field>
        </div>
        <CheckField
          label="Add the raw body to the envelope"
          name="webhook.raw_body"
          error={error}
          checked={rawBody}
          onChange={setRawBody}
          hint="The exact bytes, base64, beside the parsed payload"
        />
      </details>

      <FormError error={error} fields={formFields} />
      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy}>
          Create webhook
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

// CheckField is a checkbox with its label beside it, its hint, and the
// API's error on its field.
function CheckField({
  label,
  name,
  error,
  checked,
  onChange,
  hint,
}: {
  label: string;
  name: string;
  error: ApiError | null;
  checked: boolean;
  onChange: (v: boolean) => void;
  hint: string;
}) {
  const id = useId();
  const bad = fieldMatches(error?.field, name);
  return (
    <div className={bad ? "field check-field invalid" : "field check-field"}>
      <label htmlFor={id}>
        <input
          id={id}
          name={name}
          type="checkbox"
          checked={checked}
          aria-invalid={bad || undefined}
          aria-describedby={`${id}-hint${bad ? ` ${id}-err` : ""}`}
          onChange={(e) => onChange(e.target.checked)}
        />{" "}
        {label}
      </label>
      <p className="hint" id={`${id}-hint`}>
        {hint}
      </p>
      {bad && (
        <p className="field-error" id={`${id}-err`} role="alert">
          {error!.message}
        </p>
      )}
    </div>
  );
}
