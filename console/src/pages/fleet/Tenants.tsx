// Tenants (platform tokens only): list, create, delete. A new tenant is
// chosen in the tenant picker at once.
import { useState } from "react";
import type { Tenant } from "../../../../clients/ts/gen/hookgate/v1/tenant_pb.js";
import type { PageProps } from "../../routes";
import { apiError, type ApiError } from "../../api";
import { useSession } from "../../context";
import { href } from "../../router";
import { Dialog, Empty, ErrorBox, Field, FormError, Page, useLoad, when } from "../../components/ui";
import "./fleet.css";

function CreateTenant({ onCreated }: { onCreated: (t: Tenant) => void }) {
  const { api } = useSession();
  const [id, setId] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      className="panel"
      aria-labelledby="new-tenant"
      noValidate
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        try {
          const r = await api.tenants.createTenant({ tenant: { id: id.trim(), displayName: displayName.trim() } });
          setId("");
          setDisplayName("");
          onCreated(r.tenant!);
        } catch (err) {
          const ae = apiError(err);
          // A taken id is AlreadyExists, which names no field: it is the id's.
          setError(ae.code === "AlreadyExists" ? { ...ae, field: "tenant.id", message: `a tenant ${id.trim()} already exists` } : ae);
        } finally {
          setBusy(false);
        }
      }}
    >
      <h2 id="new-tenant">New tenant</h2>
      <div className="form-row">
        <Field label="Tenant id" name="tenant.id" error={error} hint="3–50 characters of a-z, 0-9 and '-'; it is in every webhook URL and cannot change">
          {(p) => <input {...p} value={id} autoComplete="off" spellCheck={false} placeholder="acme" onChange={(e) => setId(e.target.value)} />}
        </Field>
        <Field label="Display name" name="tenant.display_name" error={error}>
          {(p) => <input {...p} value={displayName} placeholder="Acme Inc" onChange={(e) => setDisplayName(e.target.value)} />}
        </Field>
      </div>
      <FormError error={error} fields={["tenant.id", "tenant.display_name"]} />
      <div className="form-actions">
        <button type="submit" className="primary" disabled={busy}>
          Create tenant
        </button>
      </div>
    </form>
  );
}

// DeleteTenant asks for the tenant's id to be typed: deleting removes
// every webhook, endpoint, message and token of it.
function DeleteTenant({ tenant, onClose, onDeleted }: { tenant: Tenant | null; onClose: () => void; onDeleted: (id: string) => void }) {
  const { api } = useSession();
  const [typed, setTyped] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const close = () => {
    setTyped("");
    setError(null);
    onClose();
  };
  return (
    <Dialog open={tenant !== null} title={`Delete tenant ${tenant?.id ?? ""}?`} onClose={close}>
      {tenant && (
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            setBusy(true);
            setError(null);
            try {
              await api.tenants.deleteTenant({ tenant: tenant.id, etag: tenant.etag });
              onDeleted(tenant.id);
              close();
            } catch (err) {
              setError(apiError(err));
            } finally {
              setBusy(false);
            }
          }}
        >
          <p>
            This removes everything <strong>{tenant.displayName || tenant.id}</strong> owns, for good: its webhooks (their
            URLs answer 404), applications, endpoints, event types, messages, config parameters and tokens.
          </p>
          <Field label={`Type ${tenant.id} to confirm`} name="confirm" error={null}>
            {(p) => <input {...p} value={typed} autoComplete="off" spellCheck={false} onChange={(e) => setTyped(e.target.value)} />}
          </Field>
          <ErrorBox error={error} />
          <div className="dialog-actions">
            <button type="button" onClick={close}>
              Cancel
            </button>
            <button type="submit" className="danger" disabled={busy || typed !== tenant.id}>
              Delete tenant
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

export function Tenants(_props: PageProps) {
  const { api, tenant: current, notify, refreshTenants } = useSession();
  const list = useLoad(() => api.tenants.listTenants({ pageSize: 500 }), []);
  const [deleting, setDeleting] = useState<Tenant | null>(null);
  const tenants = list.data?.tenants ?? [];

  return (
    <div className="fl">
      <Page title="Tenants">
        <p className="lede">Each tenant is an isolated customer of the platform, with its own webhooks, applications and tokens.</p>
        <CreateTenant
          onCreated={async (t) => {
            notify(`Tenant ${t.id} created and chosen`);
            list.reload();
            await refreshTenants(t.id);
          }}
        />
        <ErrorBox error={list.error} />
        {list.data && tenants.length === 0 && <Empty>No tenants yet.</Empty>}
        {tenants.length > 0 && (
          <table className="tenants">
            <thead>
              <tr>
                <th scope="col">Id</th>
                <th scope="col">Display name</th>
                <th scope="col">HTTP endpoints</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tenants.map((t) => (
                <tr key={t.id} data-tenant={t.id}>
                  <td>
                    <code>{t.id}</code> {t.id === current && <span className="badge ok">chosen</span>}
                  </td>
                  <td>{t.displayName || <span className="muted">—</span>}</td>
                  <td>{t.allowHttpEndpoints ? "allowed" : "HTTPS only"}</td>
                  <td>{when(t.createTime)}</td>
                  <td className="row-actions">
                    {t.id !== current && (
                      <button type="button" onClick={() => refreshTenants(t.id)}>
                        Choose
                      </button>
                    )}{" "}
                    <a className="button" href={href("webhooks")} onClick={() => void refreshTenants(t.id)}>
                      Webhooks
                    </a>{" "}
                    <button type="button" className="danger-outline" aria-label={`Delete tenant ${t.id}`} onClick={() => setDeleting(t)}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {list.data?.nextPageToken && <p className="hint">The first 500 tenants are shown.</p>}
        <DeleteTenant
          tenant={deleting}
          onClose={() => setDeleting(null)}
          onDeleted={async (id) => {
            notify(`Tenant ${id} deleted`);
            list.reload();
            await refreshTenants();
          }}
        />
      </Page>
    </div>
  );
}
