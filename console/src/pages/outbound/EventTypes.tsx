// The event-type catalog: names such as order.created, each with an
// optional JSON Schema (draft 2020-12) and an example that must satisfy it.
// Types are archived, never deleted: their history refers to them.
import { useState } from "react";
import type { JsonObject } from "@bufbuild/protobuf";
import type { PageProps } from "../../routes";
import { useSession } from "../../context";
import type { ApiError } from "../../api";
import { Badge, Confirm, Dialog, Empty, ErrorBox, Field, FormError, Page, useLoad, when } from "../../components/ui";
import type { EventType } from "../../../../clients/ts/gen/hookgate/v1/event_type_pb.js";
import { errorOf, jsonText, localError, PagerNav, parseJson, toValue, usePager } from "./common";

const pageSize = 25;

export function EventTypes(_props: PageProps) {
  const { api, tenant, notify } = useSession();
  const pager = usePager();
  const [archived, setArchived] = useState(false);
  const list = useLoad(
    () => api.eventTypes.listEventTypes({ tenant, pageSize, pageToken: pager.token, includeArchived: archived }),
    [tenant, pager.token, archived],
  );
  const [creating, setCreating] = useState(false);
  const [viewing, setViewing] = useState<EventType | null>(null);
  const [editing, setEditing] = useState(false);
  const [archiving, setArchiving] = useState<EventType | null>(null);

  const types = list.data?.eventTypes ?? [];
  const close = () => {
    setViewing(null);
    setEditing(false);
  };
  const unarchive = async (t: EventType) => {
    try {
      const { eventType } = await api.eventTypes.unarchiveEventType({ tenant, name: t.name, etag: t.etag });
      notify(`${t.name} unarchived`);
      if (viewing && eventType) setViewing(eventType);
      list.reload();
    } catch (e) {
      notify(`${t.name}: ${errorOf(e).message}`, "error");
    }
  };

  return (
    <Page
      title="Event types"
      actions={
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          Create event type
        </button>
      }
    >
      <p className="lead">
        The catalog of what you send. Endpoints subscribe to event types; a message's payload must satisfy its type's schema.
      </p>
      <label className="check toolbar">
        <input
          type="checkbox"
          checked={archived}
          onChange={(e) => {
            setArchived(e.target.checked);
            pager.reset();
          }}
        />
        Show archived types
      </label>
      <ErrorBox error={list.error} />
      {list.data && types.length === 0 && !pager.hasPrev && <Empty>No event types yet.</Empty>}
      {types.length > 0 && (
        <table>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Description</th>
              <th scope="col">Schema</th>
              <th scope="col">Example</th>
              <th scope="col">Updated</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {types.map((t) => (
              <tr key={t.name}>
                <td>
                  <code>{t.name}</code> {t.archived && <Badge kind="muted">archived</Badge>}
                </td>
                <td>{t.description || <span className="muted">—</span>}</td>
                <td>{t.schema ? "yes" : <span className="muted">any JSON</span>}</td>
                <td>{t.example ? "yes" : <span className="muted">none</span>}</td>
                <td className="nowrap">{when(t.updateTime)}</td>
                <td className="row-actions">
                  <button type="button" aria-label={`View ${t.name}`} onClick={() => setViewing(t)}>
                    View
                  </button>
                  {t.archived ? (
                    <button type="button" aria-label={`Unarchive ${t.name}`} onClick={() => unarchive(t)}>
                      Unarchive
                    </button>
                  ) : (
                    <button type="button" aria-label={`Archive ${t.name}`} onClick={() => setArchiving(t)}>
                      Archive
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <PagerNav pager={pager} nextToken={list.data?.nextPageToken} label="Event type pages" />

      <Dialog open={creating} title="Create event type" onClose={() => setCreating(false)}>
        <EventTypeForm
          submitLabel="Create"
          onCancel={() => setCreating(false)}
          onSubmit={async (v) => {
            await api.eventTypes.createEventType({ eventType: { tenant, ...v } });
            setCreating(false);
            notify(`Event type ${v.name} created`);
            list.reload();
          }}
        />
      </Dialog>

      <Dialog open={viewing !== null} title={editing ? `Edit ${viewing?.name}` : (viewing?.name ?? "")} onClose={close}>
        {viewing && !editing && (
          <div className="et-view">
            {viewing.archived && (
              <p>
                <Badge kind="muted">archived</Badge> Accepts no new messages or subscriptions; its history stays.
              </p>
            )}
            <p>{viewing.description || <span className="muted">No description.</span>}</p>
            <div className="two-col">
              <section aria-label="Schema">
                <h3>Schema</h3>
                {viewing.schema ? <pre data-testid="et-schema">{jsonText(viewing.schema)}</pre> : <p className="muted">None: any JSON payload.</p>}
              </section>
              <section aria-label="Example">
                <h3>Example</h3>
                {viewing.example ? <pre data-testid="et-example">{jsonText(viewing.example)}</pre> : <p className="muted">None.</p>}
              </section>
            </div>
            <p className="hint">
              Created {when(viewing.createTime)}, updated {when(viewing.updateTime)}.
            </p>
            <div className="dialog-actions">
              {viewing.archived ? (
                <button type="button" onClick={() => unarchive(viewing)}>
                  Unarchive
                </button>
              ) : (
                <button type="button" onClick={() => setArchiving(viewing)}>
                  Archive
                </button>
              )}
              <button type="button" onClick={() => setEditing(true)}>
                Edit
              </button>
              <button type="button" className="primary" onClick={close}>
                Close
              </button>
            </div>
          </div>
        )}
        {viewing && editing && (
          <EventTypeForm
            initial={viewing}
            submitLabel="Save"
            onCancel={() => setEditing(false)}
            onSubmit={async (v) => {
              const paths: string[] = [];
              if (v.description !== viewing.description) paths.push("description");
              if (jsonText(v.schema) !== jsonText(viewing.schema)) paths.push("schema");
              if (jsonText(v.example) !== jsonText(viewing.example)) paths.push("example");
              if (!paths.length) {
                setEditing(false);
                return;
              }
              const { eventType } = await api.eventTypes.updateEventType({
                eventType: { tenant, name: viewing.name, etag: viewing.etag, description: v.description, schema: v.schema, example: v.example },
                updateMask: { paths },
              });
              notify(`Event type ${viewing.name} saved`);
              if (eventType) setViewing(eventType);
              setEditing(false);
              list.reload();
            }}
          />
        )}
      </Dialog>

      <Confirm
        open={archiving !== null}
        title="Archive event type?"
        body={
          <p>
            Archive <code>{archiving?.name}</code>? It will refuse new messages and new subscriptions. Existing subscriptions
            and history stay, and you can unarchive it later.
          </p>
        }
        confirmLabel="Archive"
        onClose={() => setArchiving(null)}
        onConfirm={async () => {
          if (!archiving) return;
          const { eventType } = await api.eventTypes.archiveEventType({ tenant, name: archiving.name, etag: archiving.etag });
          notify(`${archiving.name} archived`);
          if (viewing && eventType) setViewing(eventType);
          list.reload();
        }}
      />
    </Page>
  );
}

type EventTypeValues = { name: string; description: string; schema?: JsonObject; example?: ReturnType<typeof toValue> };

const etFields = ["event_type.name", "event_type.description", "event_type.schema", "event_type.example"];

function EventTypeForm({
  initial,
  submitLabel,
  onSubmit,
  onCancel,
}: {
  initial?: EventType;
  submitLabel: string;
  onSubmit: (v: EventTypeValues) => Promise<void>;
  onCancel: () => void;
}) {
  const [name, setName] = useState(initial?.name ?? "");
  const [description, setDescription] = useState(initial?.description ?? "");
  const [schema, setSchema] = useState(jsonText(initial?.schema));
  const [example, setExample] = useState(jsonText(initial?.example));
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      className="et-form"
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setError(null);
        try {
          let s: JsonObject | undefined;
          if (schema.trim()) {
            const j = parseJson(schema, "event_type.schema");
            if (typeof j !== "object" || j === null || Array.isArray(j)) throw localError("event_type.schema", "must be a JSON object");
            s = j;
          }
          const ex = example.trim() ? toValue(parseJson(example, "event_type.example")) : undefined;
          await onSubmit({ name: name.trim(), description, schema: s, example: ex });
        } catch (err) {
          setError(errorOf(err));
        } finally {
          setBusy(false);
        }
      }}
    >
      <div className="form-row">
        <Field label="Name" name="event_type.name" error={error} hint="Dotted lower-case words, such as order.created.">
          {(p) => (
            <input
              {...p}
              value={name}
              required
              disabled={!!initial}
              autoFocus={!initial}
              spellCheck={false}
              onChange={(e) => setName(e.target.value)}
            />
          )}
        </Field>
        <Field label="Description" name="event_type.description" error={error}>
          {(p) => <input {...p} value={description} autoFocus={!!initial} onChange={(e) => setDescription(e.target.value)} />}
        </Field>
      </div>
      <div className="two-col">
        <Field label="JSON Schema" name="event_type.schema" error={error} hint="Draft 2020-12. Empty: any JSON payload.">
          {(p) => <textarea {...p} rows={10} spellCheck={false} value={schema} onChange={(e) => setSchema(e.target.value)} />}
        </Field>
        <Field label="Example payload" name="event_type.example" error={error} hint="Must satisfy the schema; used by Send example.">
          {(p) => <textarea {...p} rows={10} spellCheck={false} value={example} onChange={(e) => setExample(e.target.value)} />}
        </Field>
      </div>
      <FormError error={error} fields={etFields} />
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
