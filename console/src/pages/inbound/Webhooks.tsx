// The tenant's inbound webhooks: state, provider, bindings and URL (never
// the key, which the API returns only at creation and rotation), with the
// create form and each webhook's actions.
import { useState } from "react";
import { Provider, Trigger, type CreateWebhookResponse, type Webhook } from "../../../../clients/ts/gen/hookgate/v1/inbound_pb.js";
import type { PageProps } from "../../routes";
import { useSession } from "../../context";
import { href } from "../../router";
import { Badge, CopyButton, Empty, ErrorBox, Page, Secret } from "../../components/ui";
import { CreateWebhook } from "./CreateWebhook";
import { Pager, useCursor } from "./paging";
import { providerInfo, providers } from "./providers";
import { WebhookActions } from "./WebhookActions";
import "./inbound.css";

const pageSize = 50;

export function StateBadge({ active }: { active: boolean }) {
  return active ? <Badge kind="ok">active</Badge> : <Badge kind="muted">inactive</Badge>;
}

export function BindingList({ webhook: w }: { webhook: Webhook }) {
  return (
    <ul className="bindings">
      {w.bindings.map((b, i) => (
        <li key={i}>
          <code>{b.processId}</code>
          {b.threadId && b.threadId !== "main" ? <span className="muted"> / {b.threadId}</span> : null}{" "}
          <span className={b.trigger === Trigger.RESUME_PROCESS ? "trigger resume" : "trigger start"}>
            {b.trigger === Trigger.RESUME_PROCESS ? "resume" : "start"}
          </span>
          {b.correlationPath && (
            <div className="muted small">
              by <code>{b.correlationPath}</code>
            </div>
          )}
        </li>
      ))}
    </ul>
  );
}

// Created shows what CreateWebhook returned once: the URL with its key.
function Created({ res, onDone }: { res: CreateWebhookResponse; onDone: () => void }) {
  const w = res.webhook!;
  return (
    <section className="panel created" aria-labelledby="created-title">
      <h2 id="created-title">Webhook {w.name} created</h2>
      <p>Give the provider this URL. Its key is part of it; callers may instead send the key in an X-Hookgate-Key or Authorization: Bearer header.</p>
      <p className="secret-label">URL with key</p>
      <Secret label="URL with key" value={res.urlWithKey} />
      <p className="secret-label">API key alone, for the X-Hookgate-Key or Authorization header</p>
      <Secret label="API key" value={res.apiKey} />
      <div className="form-actions">
        <button type="button" className="primary" onClick={onDone}>
          I have copied it
        </button>
        <a className="button" href={href("webhooks", w.id)}>
          Open {w.name}
        </a>
      </div>
    </section>
  );
}

export function Webhooks(_props: PageProps) {
  const { api, tenant } = useSession();
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreateWebhookResponse | null>(null);
  const [state, setState] = useState<"" | "active" | "inactive">("");
  const [provider, setProvider] = useState<Provider>(Provider.UNSPECIFIED);
  const [process, setProcess] = useState("");
  const [processInput, setProcessInput] = useState("");

  const pager = useCursor<Webhook, string>(
    "",
    async (token) => {
      const r = await api.webhooks.listWebhooks({
        tenant,
        pageSize,
        pageToken: token,
        active: state === "" ? undefined : state === "active",
        provider,
        processId: process,
      });
      return { items: r.webhooks, next: r.nextPageToken || null };
    },
    [tenant, state, provider, process],
  );

  const filtered = state !== "" || provider !== Provider.UNSPECIFIED || process !== "";

  return (
    <div className="ib">
      <Page
        title="Webhooks"
        actions={
          !creating && (
            <button
              type="button"
              className="primary"
              onClick={() => {
                setCreated(null);
                setCreating(true);
              }}
            >
              New webhook
            </button>
          )
        }
      >
        {created && <Created res={created} onDone={() => setCreated(null)} />}
        {creating && (
          <CreateWebhook
            onCancel={() => setCreating(false)}
            onCreated={(res) => {
              setCreating(false);
              setCreated(res);
              pager.first();
              pager.reload();
            }}
          />
        )}

        <form
          className="filters"
          aria-label="Filter webhooks"
          onSubmit={(e) => {
            e.preventDefault();
            setProcess(processInput.trim());
          }}
        >
          <label>
            State{" "}
            <select value={state} onChange={(e) => setState(e.target.value as typeof state)}>
              <option value="">any</option>
              <option value="active">active</option>
              <option value="inactive">inactive</option>
            </select>
          </label>
          <label>
            Provider{" "}
            <select value={provider} onChange={(e) => setProvider(Number(e.target.value) as Provider)}>
              <option value={Provider.UNSPECIFIED}>any</option>
              {providers.map((x) => (
                <option key={x.value} value={x.value}>
                  {x.label}
                </option>
              ))}
            </select>
          </label>
          <label>
            Process{" "}
            <input className="short" value={processInput} placeholder="process id" onChange={(e) => setProcessInput(e.target.value)} />
          </label>
          <button type="submit">Filter</button>
          {filtered && (
            <button
              type="button"
              onClick={() => {
                setState("");
                setProvider(Provider.UNSPECIFIED);
                setProcess("");
                setProcessInput("");
              }}
            >
              Clear
            </button>
          )}
        </form>

        <ErrorBox error={pager.error} />
        {pager.items && pager.items.length === 0 && !pager.loading && (
          <Empty>{filtered ? "No webhook matches." : "No webhooks yet. Create one to get a URL that providers can call."}</Empty>
        )}
        {pager.items && pager.items.length > 0 && (
          <table className="webhooks">
            <caption className="sr-only">Webhooks of {tenant}</caption>
            <thead>
              <tr>
                <th scope="col">Name and id</th>
                <th scope="col">State</th>
                <th scope="col">Provider</th>
                <th scope="col">Bindings</th>
                <th scope="col">URL (without key)</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {pager.items.map((w) => (
                <tr key={w.id} data-webhook={w.id}>
                  <td>
                    <a href={href("webhooks", w.id)}>{w.name}</a>
                    <div>
                      <code className="id">{w.id}</code>
                    </div>
                  </td>
                  <td>
                    <StateBadge active={w.active} />
                  </td>
                  <td>{providerInfo(w.provider).label.replace(/ \(.*\)$/, "")}</td>
                  <td>
                    <BindingList webhook={w} />
                  </td>
                  <td className="url">
                    <code>{w.url}</code> <CopyButton text={w.url} label="Copy URL" />
                  </td>
                  <td className="row-actions">
                    <WebhookActions
                      menu
                      webhook={w}
                      onChanged={(nw) => pager.replace((ws) => ws.map((x) => (x.id === nw.id ? nw : x)))}
                      onDeleted={() => pager.reload()}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager pager={pager} label="Webhook pages" />
      </Page>
    </div>
  );
}
