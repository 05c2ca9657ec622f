// One endpoint, in tabs: its health and state, its settings, its signing
// secret, test sends, the attempts log with replay, and recovery of failed
// deliveries over a time window.
import { useEffect, useState } from "react";
import type { PageProps } from "../../routes";
import { useSession } from "../../context";
import { href, navigate } from "../../router";
import { Confirm, ErrorBox, Page, Tabs, useLoad, when } from "../../components/ui";
import { EndpointStatus, SignatureScheme, type Endpoint } from "../../../../clients/ts/gen/hookgate/v1/endpoint_pb.js";
import { Defs, EndpointStatusBadge, errorOf, HeaderList } from "./common";
import { changedPaths, EndpointForm } from "./EndpointForm";
import { SecretTab } from "./SecretTab";
import { TestingTab } from "./TestingTab";
import { AttemptsLog } from "./Attempts";
import { RecoverTab } from "./RecoverTab";

const tabs = [
  { id: "overview", label: "Overview" },
  { id: "settings", label: "Settings" },
  { id: "secret", label: "Secret" },
  { id: "testing", label: "Testing" },
  { id: "attempts", label: "Attempts" },
  { id: "recover", label: "Recover" },
];

export type TabProps = { ep: Endpoint; appId: string; onChange: (ep: Endpoint) => void; reload: () => void };

export function EndpointDetail({ params }: PageProps) {
  const { api, tenant } = useSession();
  const { app: appId, id } = params;
  const loaded = useLoad(() => api.endpoints.getEndpoint({ tenant, endpointId: id }), [tenant, id]);
  const [ep, setEp] = useState<Endpoint | null>(null);
  const [tab, setTab] = useState("overview");
  useEffect(() => {
    if (loaded.data?.endpoint) setEp(loaded.data.endpoint);
  }, [loaded.data]);

  const props: TabProps | null = ep && { ep, appId, onChange: setEp, reload: loaded.reload };
  const label = tabs.find((t) => t.id === tab)!.label;
  return (
    <Page title={ep ? ep.name || ep.url : "Endpoint"} actions={ep && <EndpointStatusBadge ep={ep} />}>
      <p className="crumbs">
        <a href={href("apps")}>Applications</a> / <a href={href("apps", appId)}>{appId}</a> / <code>{id}</code>
        {ep?.name && (
          <>
            {" "}
            · <code>{ep.url}</code>
          </>
        )}
      </p>
      <ErrorBox error={loaded.error} />
      {props && (
        <>
          <Tabs tabs={tabs} active={tab} onSelect={setTab} />
          <div role="tabpanel" aria-label={label} className="tabpanel">
            {tab === "overview" && <Overview {...props} />}
            {tab === "settings" && <Settings {...props} />}
            {tab === "secret" && <SecretTab {...props} />}
            {tab === "testing" && <TestingTab {...props} />}
            {tab === "attempts" && <AttemptsLog appId={appId} endpointId={ep!.id} />}
            {tab === "recover" && <RecoverTab {...props} />}
          </div>
        </>
      )}
    </Page>
  );
}

function Overview({ ep, appId, onChange }: TabProps) {
  const { api, tenant, notify } = useSession();
  const h = useLoad(() => api.endpoints.getEndpointHealth({ tenant, endpointId: ep.id }), [tenant, ep.id, ep.status]);
  const [confirm, setConfirm] = useState<"disable" | "delete" | null>(null);
  const [busy, setBusy] = useState(false);
  const disabled = ep.status === EndpointStatus.DISABLED;
  const hh = h.data?.health;
  const ls = hh?.lastStatus;

  const enable = async () => {
    setBusy(true);
    try {
      const { endpoint } = await api.endpoints.enableEndpoint({ tenant, endpointId: ep.id, etag: ep.etag });
      if (endpoint) onChange(endpoint);
      notify("Endpoint enabled");
    } catch (e) {
      notify(`Enable: ${errorOf(e).message}`, "error");
    } finally {
      setBusy(false);
    }
  };

  return (
    <div>
      <div className="section-head">
        <h2>Health</h2>
        <button type="button" onClick={h.reload} disabled={h.loading}>
          Refresh
        </button>
      </div>
      <ErrorBox error={h.error} />
      <dl className="stats" aria-label="Health">
        <div>
          <dt>Avg response time</dt>
          <dd>{hh?.sampledAttempts ? `${hh.avgResponseTimeMs} ms` : "—"}</dd>
          <dd className="sub">{hh?.sampledAttempts ? `last ${hh.sampledAttempts} attempts, 24 h` : "no attempt yet"}</dd>
        </div>
        <div>
          <dt>Last response time</dt>
          <dd>{ls ? `${hh!.lastResponseTimeMs} ms` : "—"}</dd>
        </div>
        <div>
          <dt>Consecutive failures</dt>
          <dd>{hh?.consecutiveFailures ?? 0}</dd>
          {hh?.failingSince && <dd className="sub">since {when(hh.failingSince)}</dd>}
        </div>
        <div>
          <dt>Last status</dt>
          <dd data-testid="last-status">{ls ? ls.message || String(ls.code) : "—"}</dd>
          {ls && <dd className="sub">{when(ls.time)}</dd>}
        </div>
        <div>
          <dt>Attempts</dt>
          <dd>
            {String(hh?.successCount ?? 0n)} ok · {String(hh?.failureCount ?? 0n)} failed
          </dd>
          {(hh?.errorsSinceLastSuccess ?? 0) > 0 && <dd className="sub">{hh!.errorsSinceLastSuccess} deliveries failed since the last success</dd>}
        </div>
      </dl>

      <h2>Endpoint</h2>
      <Defs
        items={[
          ["URL", <code>{ep.url}</code>],
          ["State", <EndpointStatusBadge ep={ep} />],
          ...(disabled && ep.disableTime ? ([["Disabled", when(ep.disableTime)]] as [string, string][]) : []),
          ["Event types", ep.eventTypes.map((t) => <code key={t} className="tag">{t}</code>)],
          ["Description", ep.description || "—"],
          ["Signature", ep.signatureScheme === SignatureScheme.ED25519 ? "Ed25519 (v1a)" : "HMAC-SHA256 (v1)"],
          [
            "Limits",
            `${ep.rateLimitPerSecond ? `${ep.rateLimitPerSecond}/s, burst ${ep.burst || ep.rateLimitPerSecond}` : "no rate limit"} · ${
              ep.maxInFlight ? `${ep.maxInFlight} in flight` : "no in-flight cap"
            } · timeout ${ep.timeoutMs || 5000} ms`,
          ],
          ["Headers", <HeaderList headers={ep.headers} />],
          ["Created", when(ep.createTime)],
        ]}
      />

      <div className="actions danger-zone">
        {disabled ? (
          <button type="button" className="primary" disabled={busy} onClick={enable}>
            Enable endpoint
          </button>
        ) : (
          <button type="button" onClick={() => setConfirm("disable")}>
            Disable endpoint
          </button>
        )}
        <button type="button" className="danger" onClick={() => setConfirm("delete")}>
          Delete endpoint
        </button>
      </div>

      <Confirm
        open={confirm === "disable"}
        title="Disable endpoint?"
        body={<p>It will receive nothing and its pending retries are cancelled. Its settings, secret and history stay; enable it to resume.</p>}
        confirmLabel="Disable"
        onClose={() => setConfirm(null)}
        onConfirm={async () => {
          const { endpoint } = await api.endpoints.disableEndpoint({ tenant, endpointId: ep.id, etag: ep.etag });
          if (endpoint) onChange(endpoint);
          notify("Endpoint disabled");
        }}
      />
      <Confirm
        open={confirm === "delete"}
        title="Delete endpoint?"
        body={
          <p>
            Delete <code>{ep.url}</code>? Its attempts and health are removed and pending retries cancelled; messages stay. This cannot be
            undone.
          </p>
        }
        confirmLabel="Delete endpoint"
        onClose={() => setConfirm(null)}
        onConfirm={async () => {
          await api.endpoints.deleteEndpoint({ tenant, endpointId: ep.id, etag: ep.etag });
          notify("Endpoint deleted");
          navigate(`/apps/${encodeURIComponent(appId)}`);
        }}
      />
    </div>
  );
}

function Settings({ ep, onChange }: TabProps) {
  const { api, tenant, notify } = useSession();
  const catalog = useLoad(() => api.eventTypes.listEventTypes({ tenant, pageSize: 500, includeArchived: true }), [tenant]);
  return (
    <div className="settings">
      <EndpointForm
        // A saved endpoint has a new etag: the form starts again from it.
        key={ep.etag}
        initial={ep}
        catalog={catalog.data?.eventTypes ?? null}
        submitLabel="Save settings"
        onSubmit={async (v) => {
          const paths = changedPaths(v, ep);
          if (!paths.length) {
            notify("Nothing changed");
            return;
          }
          const { endpoint } = await api.endpoints.updateEndpoint({
            endpoint: { ...v, tenant, id: ep.id, etag: ep.etag },
            updateMask: { paths },
          });
          if (endpoint) onChange(endpoint);
          notify(`Saved: ${paths.join(", ")}`);
        }}
      />
    </div>
  );
}
