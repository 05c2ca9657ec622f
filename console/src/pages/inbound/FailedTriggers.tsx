// Calls the edge rejected after routing (wrong key or signature, bad body,
// over the rate limit), newest first, for one webhook or all of them.
import { useId, useMemo, useState } from "react";
import type { PageProps } from "../../routes";
import { useSession } from "../../context";
import { Empty, ErrorBox, Page, useLoad } from "../../components/ui";
import { FailedList } from "./FailedList";
import "./inbound.css";

// Merging is one request per webhook and page: past this many webhooks
// the page asks for one.
const maxMerged = 50;

export function FailedTriggers(_props: PageProps) {
  const { api, tenant } = useSession();
  const id = useId();
  const hooks = useLoad(() => api.webhooks.listWebhooks({ tenant, pageSize: 500 }), [tenant]);
  const [chosen, setChosen] = useState("");
  const [pageSize, setPageSize] = useState(25);

  const list = hooks.data?.webhooks ?? [];
  const names = useMemo(() => new Map(list.map((w) => [w.id, w.name])), [list]);
  const canMerge = list.length <= maxMerged && !hooks.data?.nextPageToken;
  const selected = chosen || (canMerge ? "" : (list[0]?.id ?? ""));
  const ids = useMemo(() => (selected ? [selected] : list.map((w) => w.id)), [selected, list]);

  return (
    <div className="ib">
      <Page title="Failed triggers">
        <p className="lede">
          Calls the edge refused after finding their webhook: a wrong key or signature, a body it could not take, or over the
          rate limit. Headers that may carry a credential read REDACTED. Kept up to 7 days, at most 1,000 per webhook.
        </p>
        <ErrorBox error={hooks.error} />
        {hooks.data && list.length === 0 && <Empty>No webhooks yet, so nothing can have failed.</Empty>}
        {list.length > 0 && (
          <>
            <div className="filters">
              <label htmlFor={`${id}-wh`}>Webhook</label>
              <select id={`${id}-wh`} value={selected} onChange={(e) => setChosen(e.target.value)}>
                {canMerge && <option value="">All webhooks ({list.length})</option>}
                {list.map((w) => (
                  <option key={w.id} value={w.id}>
                    {w.name} ({w.id})
                  </option>
                ))}
              </select>
              <label htmlFor={`${id}-size`}>Rows per page</label>
              <select id={`${id}-size`} value={pageSize} onChange={(e) => setPageSize(Number(e.target.value))}>
                {[10, 25, 50, 100].map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>
              {!canMerge && <span className="hint">Over {maxMerged} webhooks: one at a time.</span>}
            </div>
            <FailedList webhooks={ids} pageSize={pageSize} names={selected ? undefined : names} />
          </>
        )}
      </Page>
    </div>
  );
}
