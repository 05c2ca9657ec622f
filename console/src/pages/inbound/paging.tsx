// Cursor paging: the pages visited are a stack of cursors, so "Previous
// page" returns to the exact page seen before and "Next page" passes the
// API's next_page_token (or any cursor the page's loader returns).
import { useEffect, useState } from "react";
import { apiError, type ApiError } from "../../api";

export type PageOf<T, C> = { items: T[]; next: C | null };

// useCursor loads pages with load(cursor), starting at first. deps are the
// filters: a change of filter starts again at the first page.
export function useCursor<T, C>(first: C, load: (cursor: C) => Promise<PageOf<T, C>>, deps: unknown[]) {
  const key = deps.map(String).join("\u0000");
  const [st, setSt] = useState<{ key: string; stack: C[] }>({ key, stack: [first] });
  const stack = st.key === key ? st.stack : [first];
  const [page, setPage] = useState<PageOf<T, C> | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);

  const cursor = stack[stack.length - 1];
  useEffect(() => {
    let live = true;
    setLoading(true);
    load(cursor)
      .then((p) => {
        if (!live) return;
        setPage(p);
        setError(null);
      })
      .catch((e) => live && setError(apiError(e)))
      .finally(() => live && setLoading(false));
    return () => {
      live = false;
    };
    // The cursor is identified by the depth of the stack: every move
    // changes it, and cursors may be objects made afresh on each render.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, stack.length, tick]);

  const move = (f: (s: C[]) => C[]) => setSt({ key, stack: f(stack) });
  return {
    items: page?.items ?? null,
    error,
    loading,
    pageNumber: stack.length,
    hasNext: page?.next != null,
    hasPrev: stack.length > 1,
    next: () => page?.next != null && move((s) => [...s, page.next as C]),
    prev: () => move((s) => (s.length > 1 ? s.slice(0, -1) : s)),
    first: () => move(() => [first]),
    reload: () => setTick((t) => t + 1),
    // replace edits the current page in place (after an action on a row).
    replace: (f: (items: T[]) => T[]) => setPage((p) => (p ? { ...p, items: f(p.items) } : p)),
  };
}

export function Pager({
  pager,
  label,
}: {
  pager: { pageNumber: number; hasNext: boolean; hasPrev: boolean; next: () => void; prev: () => void; first: () => void; loading: boolean };
  label: string;
}) {
  if (!pager.hasPrev && !pager.hasNext) return null;
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" disabled={!pager.hasPrev || pager.loading} onClick={pager.first}>
        First page
      </button>
      <button type="button" disabled={!pager.hasPrev || pager.loading} onClick={pager.prev}>
        Previous page
      </button>
      <span aria-live="polite">Page {pager.pageNumber}</span>
      <button type="button" disabled={!pager.hasNext || pager.loading} onClick={pager.next}>
        Next page
      </button>
    </nav>
  );
}
