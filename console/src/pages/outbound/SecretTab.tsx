// The Secret tab: rotate the signing secret (with a grace period during
// which the old one signs too), and reveal the current one where the
// tenant allows it (Tenant.allow_endpoint_secret_read).
import { useState, type ReactNode } from "react";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { useSession } from "../../context";
import type { ApiError } from "../../api";
import { Confirm, CopyButton, ErrorBox, Field, Secret, when } from "../../components/ui";
import { SignatureScheme } from "../../../../clients/ts/gen/hookgate/v1/endpoint_pb.js";
import { Defs, errorOf } from "./common";
import type { TabProps } from "./EndpointDetail";

const graces = [
  { ms: 0, label: "None: the old secret stops signing now" },
  { ms: 3600_000, label: "1 hour" },
  { ms: 24 * 3600_000, label: "24 hours" },
  { ms: 7 * 24 * 3600_000, label: "7 days" },
];

const schemeName = (s: SignatureScheme) => (s === SignatureScheme.ED25519 ? "Ed25519 (v1a)" : "HMAC-SHA256 (v1)");

export function SecretTab({ ep, onChange }: TabProps) {
  const { api, tenant, notify } = useSession();
  const [grace, setGrace] = useState(0);
  const [scheme, setScheme] = useState<SignatureScheme>(SignatureScheme.UNSPECIFIED);
  const [confirm, setConfirm] = useState(false);
  const [rotated, setRotated] = useState<string | null>(null);
  const [revealed, setRevealed] = useState<{ secret: string; publicKey: string } | null>(null);
  const [revealError, setRevealError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const graceLabel = graces.find((g) => g.ms === grace)!.label;

  return (
    <div className="secret-tab">
      <Defs
        items={[
          ["Scheme", schemeName(ep.signatureScheme)],
          ["Current secret issued", when(ep.secretCreateTime)],
          ["Previous secret", ep.previousSecretExpireTime ? `still signs until ${when(ep.previousSecretExpireTime)}` : "none"],
          ...(ep.publicKey ? ([["Public key", <code>{ep.publicKey}</code>]] as [string, ReactNode][]) : []),
        ]}
      />

      <section aria-labelledby="rotate-title" className="block">
        <h2 id="rotate-title">Rotate the signing secret</h2>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setConfirm(true);
          }}
        >
          <div className="form-row narrow">
            <Field label="Grace period" name="grace_period" hint="While it lasts, deliveries carry two signatures: the new secret's and the old one's.">
              {(p) => (
                <select {...p} value={grace} onChange={(e) => setGrace(Number(e.target.value))}>
                  {graces.map((g) => (
                    <option key={g.ms} value={g.ms}>
                      {g.label}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Scheme of the new secret" name="signature_scheme">
              {(p) => (
                <select {...p} value={scheme} onChange={(e) => setScheme(Number(e.target.value) as SignatureScheme)}>
                  <option value={SignatureScheme.UNSPECIFIED}>Keep {schemeName(ep.signatureScheme)}</option>
                  <option value={SignatureScheme.HMAC_SHA256}>HMAC-SHA256 (v1)</option>
                  <option value={SignatureScheme.ED25519}>Ed25519 (v1a)</option>
                </select>
              )}
            </Field>
          </div>
          <button type="submit" className="primary">
            Rotate secret
          </button>
        </form>
        {rotated && <Secret label="New signing secret" value={rotated} />}
      </section>

      <section aria-labelledby="reveal-title" className="block">
        <h2 id="reveal-title">Reveal the current secret</h2>
        {revealed ? (
          <div className="secret-row revealed">
            <code data-testid="revealed-secret">{revealed.secret}</code>
            <CopyButton text={revealed.secret} />
            <button type="button" onClick={() => setRevealed(null)}>
              Hide
            </button>
          </div>
        ) : (
          <button
            type="button"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              setRevealError(null);
              try {
                const r = await api.endpoints.getEndpointSecret({ tenant, endpointId: ep.id });
                setRevealed({ secret: r.secret, publicKey: r.publicKey });
              } catch (e) {
                setRevealError(errorOf(e));
              } finally {
                setBusy(false);
              }
            }}
          >
            Reveal secret
          </button>
        )}
        {revealError?.code === "PermissionDenied" ? (
          <div className="error-box" role="alert">
            <strong>Not allowed.</strong> This tenant does not let tokens read endpoint secrets (a platform operator sets it). The API said:{" "}
            {revealError.message}
          </div>
        ) : (
          <ErrorBox error={revealError} />
        )}
      </section>

      <Confirm
        open={confirm}
        title="Rotate the signing secret?"
        body={
          <p>
            A new {scheme === SignatureScheme.UNSPECIFIED ? schemeName(ep.signatureScheme) : schemeName(scheme)} secret is issued and shown
            once. Grace period: <strong>{graceLabel}</strong>.
            {grace === 0 && " Receivers still verifying with the old secret will reject deliveries until they have the new one."}
          </p>
        }
        confirmLabel="Rotate secret"
        onClose={() => setConfirm(false)}
        onConfirm={async () => {
          const r = await api.endpoints.rotateEndpointSecret({
            tenant,
            endpointId: ep.id,
            gracePeriod: grace ? durationFromMs(grace) : undefined,
            signatureScheme: scheme,
          });
          setRotated(r.secret);
          setRevealed(null);
          if (r.endpoint) onChange(r.endpoint);
          notify("Signing secret rotated");
        }}
      />
    </div>
  );
}
