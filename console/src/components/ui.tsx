// The console's small set of controls. Every input has a visible label, an
// error is tied to its input with aria-describedby, and dialogs are native
// <dialog> elements (focus trapped and Escape closes, by the browser).
import { useEffect, useId, useRef, useState, type ReactNode } from "react";
import { apiError, fieldMatches, type ApiError } from "../api";

export function Page({ title, actions, children }: { title: string; actions?: ReactNode; children: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · Hookgate`;
  }, [title]);
  return (
    <section className="page" aria-labelledby="page-title">
      <header className="page-head">
        <h1 id="page-title">{title}</h1>
        {actions && <div className="actions">{actions}</div>}
      </header>
      {children}
    </section>
  );
}

type FieldProps = {
  label: string;
  // name is the API's field path ("endpoint.url"); an API error naming it
  // is shown under this field.
  name: string;
  error?: ApiError | null;
  hint?: string;
  children: (props: { id: string; name: string; "aria-invalid"?: boolean; "aria-describedby"?: string }) => ReactNode;
};

export function Field({ label, name, error, hint, children }: FieldProps) {
  const id = useId();
  const bad = fieldMatches(error?.field, name);
  const describedBy = [hint ? `${id}-hint` : "", bad ? `${id}-err` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div className={bad ? "field invalid" : "field"}>
      <label htmlFor={id}>{label}</label>
      {children({ id, name, "aria-invalid": bad || undefined, "aria-describedby": describedBy })}
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {bad && (
        <p className="field-error" id={`${id}-err`} role="alert">
          {error!.message}
        </p>
      )}
    </div>
  );
}

// FormError shows an API error that no field of the form claims.
export function FormError({ error, fields }: { error: ApiError | null; fields: string[] }) {
  if (!error || fields.some((f) => fieldMatches(error.field, f))) return null;
  return (
    <p className="form-error" role="alert">
      {error.field ? `${error.field}: ` : ""}
      {error.message}
      {error.retryable ? " (temporary; try again)" : ""}
    </p>
  );
}

export function ErrorBox({ error }: { error: ApiError | null }) {
  if (!error) return null;
  return (
    <div className="error-box" role="alert">
      <strong>{error.code}</strong> {error.field ? `${error.field}: ` : ""}
      {error.message}
    </div>
  );
}

// useLoad runs load when deps change and keeps its result, error and a
// reload function.
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setLoading(true);
    load()
      .then((d) => {
        if (live) {
          setData(d);
          setError(null);
        }
      })
      .catch((e) => live && setError(apiError(e)))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { data, error, loading, reload: () => setTick((t) => t + 1) };
}

export function Dialog({
  open,
  title,
  onClose,
  children,
}: {
  open: boolean;
  title: string;
  onClose: () => void;
  children: ReactNode;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const id = useId();
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) d.showModal();
    if (!open && d.open) d.close();
  }, [open]);
  return (
    <dialog ref={ref} aria-labelledby={id} onClose={onClose} onCancel={onClose}>
      <h2 id={id}>{title}</h2>
      {open && children}
    </dialog>
  );
}

// Confirm asks before a destructive action.
export function Confirm({
  open,
  title,
  body,
  confirmLabel,
  onConfirm,
  onClose,
}: {
  open: boolean;
  title: string;
  body: ReactNode;
  confirmLabel: string;
  onConfirm: () => Promise<void> | void;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  return (
    <Dialog open={open} title={title} onClose={onClose}>
      <div className="dialog-body">{body}</div>
      <ErrorBox error={error} />
      <div className="dialog-actions">
        <button type="button" onClick={onClose}>
          Cancel
        </button>
        <button
          type="button"
          className="danger"
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            setError(null);
            try {
              await onConfirm();
              onClose();
            } catch (e) {
              setError(apiError(e));
            } finally {
              setBusy(false);
            }
          }}
        >
          {confirmLabel}
        </button>
      </div>
    </Dialog>
  );
}

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [done, setDone] = useState(false);
  return (
    <button
      type="button"
      className="copy"
      onClick={async () => {
        await navigator.clipboard.writeText(text);
        setDone(true);
        setTimeout(() => setDone(false), 2000);
      }}
    >
      {done ? "Copied" : label}
    </button>
  );
}

// Secret shows a value that the API returns once, with a copy button and
// the warning that it will not be shown again.
export function Secret({ label, value }: { label: string; value: string }) {
  return (
    <div className="secret" role="group" aria-label={label}>
      <p className="warning">
        <strong>Copy it now:</strong> this is the only time Hookgate shows it. Only its digest is stored.
      </p>
      <div className="secret-row">
        <code data-testid="secret-value">{value}</code>
        <CopyButton text={value} />
      </div>
    </div>
  );
}

export function Badge({ kind, children }: { kind: "ok" | "warn" | "bad" | "muted"; children: ReactNode }) {
  return <span className={`badge ${kind}`}>{children}</span>;
}

export function Tabs({
  tabs,
  active,
  onSelect,
}: {
  tabs: { id: string; label: string }[];
  active: string;
  onSelect: (id: string) => void;
}) {
  return (
    <div role="tablist" className="tabs">
      {tabs.map((t) => (
        <button
          key={t.id}
          role="tab"
          type="button"
          aria-selected={t.id === active}
          tabIndex={t.id === active ? 0 : -1}
          onClick={() => onSelect(t.id)}
          onKeyDown={(e) => {
            const i = tabs.findIndex((x) => x.id === active);
            if (e.key === "ArrowRight") onSelect(tabs[(i + 1) % tabs.length].id);
            if (e.key === "ArrowLeft") onSelect(tabs[(i + tabs.length - 1) % tabs.length].id);
          }}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty">{children}</p>;
}

// when formats a protobuf Timestamp (or undefined) for a table cell.
export function when(ts?: { seconds: bigint; nanos: number }): string {
  if (!ts) return "—";
  const d = new Date(Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6));
  return d.toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}
