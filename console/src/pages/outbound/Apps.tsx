// Applications: a tenant's customers, each owning endpoints. Listed a page
// at a time; created, edited and deleted here.
import { useState } from "react";
import type { PageProps } from "../../routes";
import { useSession } from "../../context";
import { href } from "../../router";
import type { ApiError } from "../../api";
import { Confirm, Dialog, Empty, ErrorBox, Field, FormError, Page, useLoad, when } from "../../components/ui";
import type { Application } from "../../../../clients/ts/gen/hookgate/v1/application_pb.js";
import { errorOf, intField, KeyValueEditor, kvMap, kvRows, PagerNav, sameMap, usePager, type KVRow } from "./common";

const pageSize = 20;

export function Apps(_props: PageProps) {
  const { api, tenant, notify } = useSession();
  const pager = usePager();
  const list = useLoad(() => api.apps.listApplications({ tenant, pageSize, pageToken: pager.token }), [tenant, pager.token]);
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<Application | null>(null);
  const [deleting, setDeleting] = useState<Application | null>(null);

  const apps = list.data?.applications ?? [];
  return (
    <Page
      title="Applications"
      actions={
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          Create application
        </button>
      }
    >
      <p className="lead">Applications are your customers. Each has its own endpoints, and messages are sent to one application.</p>
      <ErrorBox error={list.error} />
      {list.data && apps.length === 0 && !pager.hasPrev && <Empty>No applications yet.</Empty>}
      {apps.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">ID</th>
              <th scope="col">UID</th>
              <th scope="col">Metadata</th>
              <th scope="col">Created</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {apps.map((a) => (
              <tr key={a.id}>
                <td>
                  <a href={href("apps", a.id)}>{a.name || a.id}</a>
                </td>
                <td>
                  <code>{a.id}</code>
                </td>
                <td>{a.uid ? <code>{a.uid}</code> : <span className="muted">—</span>}</td>
                <td>
                  <Metadata m={a.metadata} />
                </td>
                <td className="nowrap">{when(a.createTime)}</td>
                <td className="row-actions">
                  <button type="button" aria-label={`Edit ${a.name || a.id}`} onClick={() => setEditing(a)}>
                    Edit
                  </button>
                  <button type="button" aria-label={`Delete ${a.name || a.id}`} onClick={() => setDeleting(a)}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <PagerNav pager={pager} nextToken={list.data?.nextPageToken} label="Application pages" />

      <Dialog open={creating} title="Create application" onClose={() => setCreating(false)}>
        <AppForm
          submitLabel="Create"
          onCancel={() => setCreating(false)}
          onSubmit={async (v) => {
            const { application } = await api.apps.createApplication({ application: { tenant, ...v } });
            setCreating(false);
            notify(`Application ${application?.name || application?.id} created`);
            pager.reset();
            list.reload();
          }}
        />
      </Dialog>

      <Dialog open={editing !== null} title={`Edit ${editing?.name || editing?.id || ""}`} onClose={() => setEditing(null)}>
        {editing && (
          <AppForm
            initial={editing}
            submitLabel="Save"
            onCancel={() => setEditing(null)}
            onSubmit={async (v) => {
              const paths: string[] = [];
              if (v.name !== editing.name) paths.push("name");
              if (v.uid !== editing.uid) paths.push("uid");
              if (!sameMap(v.metadata, editing.metadata)) paths.push("metadata");
              if (v.rateLimitPerSecond !== editing.rateLimitPerSecond) paths.push("rate_limit_per_second");
              if (paths.length) {
                await api.apps.updateApplication({
                  application: { tenant, id: editing.id, etag: editing.etag, ...v },
                  updateMask: { paths },
                });
                notify(`Application ${v.name || editing.id} saved`);
              }
              setEditing(null);
              list.reload();
            }}
          />
        )}
      </Dialog>

      <Confirm
        open={deleting !== null}
        title="Delete application?"
        body={
          <p>
            Delete <strong>{deleting?.name || deleting?.id}</strong> (<code>{deleting?.id}</code>)? This cannot be undone.
          </p>
        }
        confirmLabel="Delete application"
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          if (!deleting) return;
          await api.apps.deleteApplication({ tenant, applicationId: deleting.id, etag: deleting.etag });
          notify(`Application ${deleting.name || deleting.id} deleted`);
          list.reload();
        }}
      />
    </Page>
  );
}

function Metadata({ m }: { m: { [k: string]: string } }) {
  const e = Object.entries(m);
  if (!e.length) return <span className="muted">—</span>;
  return (
    <ul className="plain">
      {e.map(([k, v]) => (
        <li key={k}>
          <code>
            {k}={v}
          </code>
        </li>
      ))}
    </ul>
  );
}

type AppValues = { name: string; uid: string; metadata: { [k: string]: string }; rateLimitPerSecond: number };

const appFields = ["application.name", "application.uid", "application.metadata", "application.rate_limit_per_second"];

function AppForm({
  initial,
  submitLabel,
  onSubmit,
  onCancel,
}: {
  initial?: Application;
  submitLabel: string;
  onSubmit: (v: AppValues) => Promise<void>;
  onCancel: () => void;
}) {
  const [name, setName] = useState(initial?.name ?? "");
  const [uid, setUid] = useState(initial?.uid ?? "");
  const [rate, setRate] = useState(initial?.rateLimitPerSecond ? String(initial.rateLimitPerSecond) : "");
  const [meta, setMeta] = useState<KVRow[]>(kvRows(initial?.metadata ?? {}));
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        try {
          await onSubmit({
            name: name.trim(),
            uid: uid.trim(),
            metadata: kvMap(meta),
            rateLimitPerSecond: intField("application.rate_limit_per_second", rate),
          });
        } catch (err) {
          setError(errorOf(err));
        } finally {
          setBusy(false);
        }
      }}
    >
      <Field label="Name" name="application.name" error={error}>
        {(p) => <input {...p} value={name} required autoFocus onChange={(e) => setName(e.target.value)} />}
      </Field>
      <div className="form-row">
        <Field label="UID (optional)" name="application.uid" error={error} hint="Your own id for this customer, unique in the tenant.">
          {(p) => <input {...p} value={uid} spellCheck={false} onChange={(e) => setUid(e.target.value)} />}
        </Field>
        <Field
          label="Rate limit (per second)"
          name="application.rate_limit_per_second"
          error={error}
          hint="Across all its endpoints; empty or 0: no limit."
        >
          {(p) => <input {...p} type="number" min={0} value={rate} onChange={(e) => setRate(e.target.value)} />}
        </Field>
      </div>
      <KeyValueEditor legend="Metadata" name="application.metadata" keyLabel="Key" addLabel="Add metadata" rows={meta} onChange={setMeta} error={error} />
      <FormError error={error} fields={appFields} />
      <div className="dialog-actions">
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={busy}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}
