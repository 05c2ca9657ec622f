// The actions on one webhook, shared by the list and the detail page:
// activate/deactivate, rotate the key with a grace period (the new key
// shown once), replace a provider secret, delete with confirmation.
import { useEffect, useRef, useState, type KeyboardEvent } from "react";
import type { Webhook } from "../../../../clients/ts/gen/hookgate/v1/inbound_pb.js";
import { apiError, type ApiError } from "../../api";
import { useSession } from "../../context";
import { Confirm, Dialog, Field, FormError, Secret, when } from "../../components/ui";
import { defaultGrace, GraceChoice, graceSeconds, type Grace } from "./Grace";
import { providerInfo, secretNames } from "./providers";

type Props = {
  webhook: Webhook;
  // onChanged receives the webhook as the API returned it after a change.
  onChanged: (w: Webhook) => void;
  onDeleted: () => void;
  // menu puts the actions behind an "Actions" disclosure (table rows).
  menu?: boolean;
};

export function WebhookActions({ webhook: w, onChanged, onDeleted, menu }: Props) {
  const { api, notify } = useSession();
  const [dialog, setDialog] = useState<"" | "rotate" | "secret" | "delete">("");
  const [busy, setBusy] = useState(false);
  const details = useRef<HTMLDetailsElement>(null);
  const hasSecrets = secretNames(w.provider).length > 0;

  const [menuOpen, setMenuOpen] = useState(false);
  // The menu closes on Escape (focus back on its summary; a key handler on
  // the menu itself, so it works from the moment it opens) and on a click
  // elsewhere, as menus do.
  const onMenuKey = (e: KeyboardEvent<HTMLDetailsElement>) => {
    const d = e.currentTarget;
    if (e.key !== "Escape" || !d.open) return;
    e.preventDefault();
    d.open = false;
    d.querySelector("summary")?.focus();
  };
  useEffect(() => {
    if (!menuOpen) return;
    const d = details.current;
    const onDown = (e: PointerEvent) => {
      if (d && !d.contains(e.target as globalThis.Node)) d.open = false;
    };
    document.addEventListener("pointerdown", onDown);
    return () => document.removeEventListener("pointerdown", onDown);
  }, [menuOpen]);

  const open = (d: typeof dialog) => {
    if (details.current) details.current.open = false;
    setDialog(d);
  };

  const toggle = async () => {
    if (details.current) details.current.open = false;
    setBusy(true);
    try {
      const res = await api.webhooks.updateWebhook({
        webhook: { tenant: w.tenant, id: w.id, active: !w.active },
        updateMask: { paths: ["active"] },
      });
      notify(`${w.name} is ${res.webhook?.active ? "active" : "inactive"}${res.webhook?.active ? "" : ": calls answer 410"}`);
      if (res.webhook) onChanged(res.webhook);
    } catch (e) {
      notify(`${w.active ? "Deactivating" : "Activating"} ${w.name}: ${apiError(e).message}`, "error");
    } finally {
      setBusy(false);
    }
  };

  const buttons = (
    <>
      <button type="button" disabled={busy} onClick={toggle}>
        {w.active ? "Deactivate" : "Activate"}
      </button>
      <button type="button" onClick={() => open("rotate")}>
        Rotate key
      </button>
      {hasSecrets && (
        <button type="button" onClick={() => open("secret")}>
          Reset provider secret
        </button>
      )}
      <button type="button" className="danger-outline" onClick={() => open("delete")}>
        Delete
      </button>
    </>
  );

  return (
    <>
      {menu ? (
        <details className="menu" ref={details} onKeyDown={onMenuKey} onToggle={(e) => setMenuOpen(e.currentTarget.open)}>
          <summary aria-label={`Actions for ${w.name}`}>Actions</summary>
          <div className="menu-items">{buttons}</div>
        </details>
      ) : (
        <div className="actions">{buttons}</div>
      )}
      <RotateKeyDialog open={dialog === "rotate"} webhook={w} onClose={() => setDialog("")} onChanged={onChanged} />
      <RotateSecretDialog open={dialog === "secret"} webhook={w} onClose={() => setDialog("")} onChanged={onChanged} />
      <Confirm
        open={dialog === "delete"}
        title={`Delete webhook ${w.name}?`}
        body={
          <>
            <p>
              Calls to <code>{w.url}</code> will answer 404 from now on. Its key, provider secrets and bindings are removed
              for good, and its failed triggers are no longer listed.
            </p>
            <p>To stop calls for a while and keep the key, deactivate it instead.</p>
          </>
        }
        confirmLabel="Delete webhook"
        onClose={() => setDialog("")}
        onConfirm={async () => {
          await api.webhooks.deleteWebhook({ tenant: w.tenant, webhookId: w.id, etag: w.etag });
          notify(`Webhook ${w.name} deleted`);
          onDeleted();
        }}
      />
    </>
  );
}

function RotateKeyDialog({
  open,
  webhook: w,
  onClose,
  onChanged,
}: {
  open: boolean;
  webhook: Webhook;
  onClose: () => void;
  onChanged: (w: Webhook) => void;
}) {
  const { api } = useSession();
  const [grace, setGrace] = useState<Grace>(defaultGrace);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ url: string; key: string; webhook?: Webhook } | null>(null);

  const close = () => {
    if (result?.webhook) onChanged(result.webhook);
    setResult(null);
    setError(null);
    setGrace(defaultGrace);
    onClose();
  };

  return (
    <Dialog open={open} title={`Rotate the key of ${w.name}`} onClose={close}>
      {result ? (
        <>
          <p>The new key works now.</p>
          <p className="secret-label">New URL with key</p>
          <Secret label="New URL with key" value={result.url} />
          <p className="secret-label">New API key alone</p>
          <Secret label="New API key" value={result.key} />
          <p className="hint">
            {result.webhook?.previousKeyPrefix
              ? `The previous key (${result.webhook.previousKeyPrefix}…) keeps working until ${when(result.webhook.previousKeyExpireTime)}.`
              : "The previous key no longer works."}
          </p>
          <div className="dialog-actions">
            <button type="button" className="primary" onClick={close}>
              Done
            </button>
          </div>
        </>
      ) : (
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            const g = graceSeconds(grace);
            if (typeof g !== "number") return setError(g);
            setBusy(true);
            setError(null);
            try {
              const res = await api.webhooks.rotateWebhookKey({
                tenant: w.tenant,
                webhookId: w.id,
                gracePeriod: { seconds: BigInt(g) },
              });
              setResult({ url: res.urlWithKey, key: res.apiKey, webhook: res.webhook });
            } catch (err) {
              setError(apiError(err));
            } finally {
              setBusy(false);
            }
          }}
        >
          <p>
            A new API key replaces <code>{w.keyPrefix}…</code>. Senders must switch to the new URL or key.
            {w.previousKeyPrefix && (
              <>
                {" "}
                The key <code>{w.previousKeyPrefix}…</code>, still in its grace period, stops working now: only one previous
                key is kept.
              </>
            )}
          </p>
          <GraceChoice legend="Grace period for the current key" value={grace} onChange={setGrace} error={error} />
          <FormError error={error} fields={["grace_period"]} />
          <div className="dialog-actions">
            <button type="button" onClick={close}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={busy}>
              Rotate key
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

function RotateSecretDialog({
  open,
  webhook: w,
  onClose,
  onChanged,
}: {
  open: boolean;
  webhook: Webhook;
  onClose: () => void;
  onChanged: (w: Webhook) => void;
}) {
  const { api, notify } = useSession();
  const names = [...new Set([...secretNames(w.provider), ...w.providerSecretNames])];
  const [name, setName] = useState(names[0] ?? "");
  const [value, setValue] = useState("");
  const [grace, setGrace] = useState<Grace>(defaultGrace);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const close = () => {
    setValue("");
    setError(null);
    setGrace(defaultGrace);
    onClose();
  };

  return (
    <Dialog open={open} title={`Reset a provider secret of ${w.name}`} onClose={close}>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          const g = graceSeconds(grace);
          if (typeof g !== "number") return setError(g);
          setBusy(true);
          setError(null);
          try {
            const res = await api.webhooks.rotateProviderSecret({
              tenant: w.tenant,
              webhookId: w.id,
              name,
              value,
              gracePeriod: { seconds: BigInt(g) },
            });
            notify(
              res.previousExpireTime
                ? `${name} replaced; the previous value verifies until ${when(res.previousExpireTime)}`
                : `${name} replaced; the previous value no longer verifies`,
            );
            if (res.webhook) onChanged(res.webhook);
            close();
          } catch (err) {
            setError(apiError(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <p>
          Replaces one of the {providerInfo(w.provider).label} secrets the edge verifies signatures with. The API key is not
          changed. The value is write-only: Hookgate never shows it again.
        </p>
        <Field label="Secret" name="name" error={error}>
          {(p) => (
            <select {...p} value={name} onChange={(e) => setName(e.target.value)}>
              {names.map((n) => (
                <option key={n} value={n}>
                  {n}
                  {w.providerSecretNames.includes(n) ? "" : " (not set)"}
                  {w.providerSecretRefs[n] ? ` (now \${configParam.${w.providerSecretRefs[n]}})` : ""}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="New value" name="value" error={error} hint="Or a reference to a config parameter: ${configParam.NAME}">
          {(p) => (
            <input
              {...p}
              type="password"
              autoComplete="off"
              spellCheck={false}
              required
              value={value}
              onChange={(e) => setValue(e.target.value)}
            />
          )}
        </Field>
        <GraceChoice legend="Grace period for the previous value" value={grace} onChange={setGrace} error={error} />
        <FormError error={error} fields={["name", "value", "grace_period"]} />
        <div className="dialog-actions">
          <button type="button" onClick={close}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={busy || !value}>
            Replace secret
          </button>
        </div>
      </form>
    </Dialog>
  );
}
