// One application: its endpoints (with health) and its messages (with the
// state of each copy), and the form to create an endpoint. Messages are not
// sent from here: producers send them through an edge (SendMessage is the
// edges', on the hot path), and an endpoint's Testing tab sends a test ping
// or its event type's example.
import { useState } from "react";
import type { PageProps } from "../../routes";
import { useSession } from "../../context";
import { href, navigate } from "../../router";
import { Dialog, Empty, ErrorBox, Page, Secret, useLoad, when } from "../../components/ui";
import { SignatureScheme, type Endpoint } from "../../../../clients/ts/gen/hookgate/v1/endpoint_pb.js";
import type { Delivery } from "../../../../clients/ts/gen/hookgate/v1/message_pb.js";
import type { EventType } from "../../../../clients/ts/gen/hookgate/v1/event_type_pb.js";
import { DeliveryBadge, EndpointStatusBadge, health, PagerNav, usePager } from "./common";
import { EndpointForm } from "./EndpointForm";

const pageSize = 20;

export function AppDetail({ params }: PageProps) {
  const { api, tenant } = useSession();
  const appId = params.app;
  const app = useLoad(() => api.apps.getApplication({ tenant, applicationId: appId }), [tenant, appId]);
  const catalog = useLoad(() => api.eventTypes.listEventTypes({ tenant, pageSize: 500, includeArchived: true }), [tenant]);
  const [creating, setCreating] = useState(false);
  const [epTick, setEpTick] = useState(0);
  const [msgTick, setMsgTick] = useState(0);
  const a = app.data?.application;

  return (
    <Page
      title={a ? a.name || a.id : "Application"}
      actions={
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          Create endpoint
        </button>
      }
    >
      <p className="crumbs">
        <a href={href("apps")}>Applications</a> / <code>{appId}</code>
        {a?.uid && (
          <>
            {" "}
            · UID <code>{a.uid}</code>
          </>
        )}
        {a && Object.keys(a.metadata).length > 0 && (
          <>
            {" "}
            ·{" "}
            {Object.entries(a.metadata).map(([k, v]) => (
              <code key={k} className="meta">
                {k}={v}
              </code>
            ))}
          </>
        )}
      </p>
      <ErrorBox error={app.error} />
      <Endpoints appId={appId} tick={epTick} />
      <Messages appId={appId} tick={msgTick} onRefresh={() => setMsgTick((t) => t + 1)} />

      <Dialog open={creating} title="Create endpoint" onClose={() => setCreating(false)}>
        <CreateEndpoint
          appId={appId}
          catalog={catalog.data?.eventTypes ?? null}
          onDone={() => {
            setCreating(false);
            setEpTick((t) => t + 1);
          }}
          onCreated={() => setEpTick((t) => t + 1)}
        />
      </Dialog>
    </Page>
  );
}

function Endpoints({ appId, tick }: { appId: string; tick: number }) {
  const { api, tenant } = useSession();
  const pager = usePager();
  const list = useLoad(
    () => api.endpoints.listEndpoints({ tenant, applicationId: appId, pageSize, pageToken: pager.token }),
    [tenant, appId, pager.token, tick],
  );
  const eps = list.data?.endpoints ?? [];
  return (
    <section aria-labelledby="endpoints-title" className="block">
      <h2 id="endpoints-title">Endpoints</h2>
      <ErrorBox error={list.error} />
      {list.data && eps.length === 0 && !pager.hasPrev && <Empty>No endpoints yet: create one to receive this application's messages.</Empty>}
      {eps.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">URL</th>
              <th scope="col">State</th>
              <th scope="col">Event types</th>
              <th scope="col">Avg / last</th>
              <th scope="col">Fails in a row</th>
              <th scope="col">Last status</th>
            </tr>
          </thead>
          <tbody>
            {eps.map((ep) => {
              const h = health(ep.health);
              return (
                <tr key={ep.id}>
                  <td className="url">
                    <a href={href("apps", appId, "endpoints", ep.id)}>{ep.name || ep.url}</a>
                    {ep.name && <div className="sub">{ep.url}</div>}
                  </td>
                  <td>
                    <EndpointStatusBadge ep={ep} />
                  </td>
                  <td>
                    {ep.eventTypes.map((t) => (
                      <code key={t} className="tag">
                        {t}
                      </code>
                    ))}
                  </td>
                  <td className="nowrap">
                    {h.avg} / {h.last}
                  </td>
                  <td>{h.fails}</td>
                  <td>{h.status}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <PagerNav pager={pager} nextToken={list.data?.nextPageToken} label="Endpoint pages" />
    </section>
  );
}

function Messages({ appId, tick, onRefresh }: { appId: string; tick: number; onRefresh: () => void }) {
  const { api, tenant } = useSession();
  const pager = usePager();
  const list = useLoad(
    () => api.messages.listMessages({ tenant, applicationId: appId, pageSize, pageToken: pager.token }),
    [tenant, appId, pager.token, tick],
  );
  const msgs = list.data?.messages ?? [];
  const byMsg = new Map<string, Delivery[]>();
  for (const d of list.data?.deliveries ?? []) byMsg.set(d.messageId, [...(byMsg.get(d.messageId) ?? []), d]);
  return (
    <section aria-labelledby="messages-title" className="block">
      <div className="section-head">
        <h2 id="messages-title">Messages</h2>
        <button type="button" onClick={onRefresh} disabled={list.loading}>
          Refresh
        </button>
      </div>
      <ErrorBox error={list.error} />
      {list.data && msgs.length === 0 && !pager.hasPrev && (
        <Empty>
          No messages yet. Producers send them through an edge (<code>MessageService.SendMessage</code>, or{" "}
          <code>hookgate messages send --tenant {tenant} --app {appId} …</code>); an endpoint's Testing tab sends a test.
        </Empty>
      )}
      {msgs.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Message</th>
              <th scope="col">Event type</th>
              <th scope="col">Time</th>
              <th scope="col">Delivery per endpoint</th>
            </tr>
          </thead>
          <tbody>
            {msgs.map((m) => (
              <tr key={m.id}>
                <td>
                  <a href={href("apps", appId, "messages", m.id)}>
                    <code>{m.id}</code>
                  </a>
                  {m.eventId && <div className="sub">key {m.eventId}</div>}
                </td>
                <td>
                  <code>{m.eventType}</code>
                </td>
                <td className="nowrap">{when(m.createTime)}</td>
                <td>
                  {(byMsg.get(m.id) ?? []).length === 0 ? (
                    <span className="muted">no delivery yet</span>
                  ) : (
                    <ul className="plain">
                      {byMsg.get(m.id)!.map((d) => (
                        <li key={d.endpointId}>
                          <code>{d.endpointId}</code> <DeliveryBadge state={d.state} />
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <PagerNav pager={pager} nextToken={list.data?.nextPageToken} label="Message pages" />
    </section>
  );
}

function CreateEndpoint({
  appId,
  catalog,
  onDone,
  onCreated,
}: {
  appId: string;
  catalog: EventType[] | null;
  onDone: () => void;
  onCreated: () => void;
}) {
  const { api, tenant, notify } = useSession();
  const [created, setCreated] = useState<{ endpoint: Endpoint; secret: string } | null>(null);
  if (created) {
    const ep = created.endpoint;
    return (
      <div>
        <p>
          Endpoint <code>{ep.id}</code> created for <code>{ep.url}</code>.
        </p>
        <Secret label="Signing secret" value={created.secret} />
        {ep.signatureScheme === SignatureScheme.ED25519 && ep.publicKey && (
          <p>
            Receivers verify with the public key <code>{ep.publicKey}</code>.
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" onClick={() => navigate(`/apps/${encodeURIComponent(appId)}/endpoints/${encodeURIComponent(ep.id)}`)}>
            Open endpoint
          </button>
          <button type="button" className="primary" onClick={onDone}>
            Done
          </button>
        </div>
      </div>
    );
  }
  return (
    <EndpointForm
      catalog={catalog}
      submitLabel="Create endpoint"
      onCancel={onDone}
      onSubmit={async (v) => {
        const res = await api.endpoints.createEndpoint({ endpoint: { tenant, applicationId: appId, ...v } });
        if (!res.endpoint) return;
        setCreated({ endpoint: res.endpoint, secret: res.secret });
        notify(`Endpoint ${res.endpoint.id} created`);
        onCreated();
      }}
    />
  );
}

