// One webhook: its settings, key and secrets (names and prefixes only),
// bindings, the same actions as the list, and its failed triggers.
import { useEffect, useState } from "react";
import type { Webhook } from "../../../../clients/ts/gen/hookgate/v1/inbound_pb.js";
import type { PageProps } from "../../routes";
import { useSession } from "../../context";
import { href, navigate } from "../../router";
import { CopyButton, ErrorBox, Page, useLoad, when } from "../../components/ui";
import { FailedList } from "./FailedList";
import { bytes } from "./format";
import { providerInfo } from "./providers";
import { WebhookActions } from "./WebhookActions";
import { BindingList, StateBadge } from "./Webhooks";
import "./inbound.css";

export function WebhookDetail({ params }: PageProps) {
  const { api, tenant } = useSession();
  const load = useLoad(() => api.webhooks.getWebhook({ tenant, webhookId: params.id }), [tenant, params.id]);
  const [w, setW] = useState<Webhook | null>(null);
  useEffect(() => setW(load.data?.webhook ?? null), [load.data]);

  if (load.error) {
    return (
      <div className="ib">
        <Page title="Webhook">
          <p>
            <a href={href("webhooks")}>← Webhooks</a>
          </p>
          <ErrorBox error={load.error} />
        </Page>
      </div>
    );
  }
  if (!w)
    return (
      <div className="ib">
        <Page title="Webhook">Loading…</Page>
      </div>
    );

  const rl = w.rateLimit;
  return (
    <div className="ib">
      <Page
        title={w.name}
        actions={<WebhookActions webhook={w} onChanged={setW} onDeleted={() => navigate("/webhooks")} />}
      >
        <p className="crumbs">
          <a href={href("webhooks")}>Webhooks</a> / <code>{w.id}</code> <StateBadge active={w.active} />
        </p>
        {w.description && <p>{w.description}</p>}
        <div className="detail-grid">
          <section aria-labelledby="wh-url">
            <h2 id="wh-url">URL</h2>
            <p className="url">
              <code>{w.url}</code> <CopyButton text={w.url} label="Copy URL" />
            </p>
            <p className="hint">
              {w.requireKey === false
                ? "The provider's signature alone authenticates calls; a key that is sent must still be right."
                : "Callers add the key as ?key=, an X-Hookgate-Key header or Authorization: Bearer. The key was shown once, at creation or rotation."}
            </p>
            <dl className="props">
              <dt>Key</dt>
              <dd>
                <code>{w.keyPrefix}…</code> created {when(w.keyCreateTime)}
              </dd>
              {w.previousKeyPrefix && (
                <>
                  <dt>Previous key</dt>
                  <dd>
                    <code>{w.previousKeyPrefix}…</code> works until {when(w.previousKeyExpireTime)}
                  </dd>
                </>
              )}
              <dt>State</dt>
              <dd>{w.active ? "active: calls are accepted" : "inactive: calls answer 410, the key is kept"}</dd>
            </dl>
          </section>
          <section aria-labelledby="wh-provider">
            <h2 id="wh-provider">Provider</h2>
            <dl className="props">
              <dt>Provider</dt>
              <dd>{providerInfo(w.provider).label}</dd>
              <dt>Secrets</dt>
              <dd>
                {w.providerSecretNames.length === 0
                  ? "none"
                  : w.providerSecretNames.map((n) => (
                      <span key={n} className="secret-name">
                        <code>{n}</code>
                        {w.providerSecretRefs[n] ? (
                          <span className="muted"> = {"${configParam." + w.providerSecretRefs[n] + "}"}</span>
                        ) : (
                          <span className="muted"> (set, write-only)</span>
                        )}
                      </span>
                    ))}
              </dd>
              {w.customHmac && (
                <>
                  <dt>HMAC</dt>
                  <dd>
                    <code>{w.customHmac.algorithm}</code> {w.customHmac.encoding} in <code>{w.customHmac.header}</code>
                    {w.customHmac.prefix && (
                      <>
                        {" "}
                        after <code>{w.customHmac.prefix}</code>
                      </>
                    )}{" "}
                    over <code>{w.customHmac.template || "{body}"}</code>
                  </dd>
                </>
              )}
            </dl>
          </section>
          <section aria-labelledby="wh-bindings">
            <h2 id="wh-bindings">Bindings</h2>
            <BindingList webhook={w} />
          </section>
          <section aria-labelledby="wh-limits">
            <h2 id="wh-limits">Limits</h2>
            <dl className="props">
              <dt>Largest body</dt>
              <dd>{bytes(w.maxBodyBytes)}</dd>
              <dt>Rate limit</dt>
              <dd>{rl && rl.requestsPerSecond > 0 ? `${rl.requestsPerSecond}/s, burst ${rl.burst}` : "none"}</dd>
              <dt>Raw body</dt>
              <dd>{w.rawBody ? "added to the envelope" : "no"}</dd>
              <dt>Created</dt>
              <dd>{when(w.createTime)}</dd>
              <dt>Updated</dt>
              <dd>{when(w.updateTime)}</dd>
            </dl>
          </section>
        </div>
        <section aria-labelledby="wh-failed" className="detail-failed">
          <h2 id="wh-failed">Failed triggers</h2>
          <FailedList webhooks={[w.id]} pageSize={10} />
        </section>
      </Page>
    </div>
  );
}
