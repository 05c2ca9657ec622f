// The data-plane fleet (platform tokens only): every connected edge and
// dispatcher with its configuration revision and lag, refreshed every 5 s.
import { useEffect, useRef, useState } from "react";
import { NodeRole, type EdgeShard, type Node } from "../../../../clients/ts/gen/hookgate/v1/edge_pb.js";
import type { PageProps } from "../../routes";
import { apiError, type ApiError } from "../../api";
import { useSession } from "../../context";
import { Badge, Empty, ErrorBox, Page, when } from "../../components/ui";
import { ago, tsMillis } from "../inbound/format";
import { RateChart, type Outcome, type RateSample } from "./RateChart";
import "./fleet.css";

export const refreshMs = 5000;

function roleName(r: NodeRole): string {
  return r === NodeRole.EDGE ? "edge" : r === NodeRole.DISPATCHER ? "dispatcher" : "unknown";
}

function shardText(s?: EdgeShard): string {
  if (!s || (s.count === 0 && s.tenants.length === 0)) return "all tenants";
  if (s.tenants.length) return s.tenants.join(", ");
  return `${s.index} of ${s.count}`;
}

// useNodes polls ListNodes every refreshMs while the page is open; each
// answer goes to onAnswer too (the chart's samples).
function useNodes(role: NodeRole, onAnswer: (nodes: Node[], at: number) => void) {
  const { api } = useSession();
  const [nodes, setNodes] = useState<Node[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [at, setAt] = useState(0);
  const cb = useRef(onAnswer);
  cb.current = onAnswer;
  useEffect(() => {
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const r = await api.nodes.listNodes({ role }, { signal: ctl.signal });
        const now = Date.now();
        setNodes(r.nodes);
        setError(null);
        setAt(now);
        cb.current(r.nodes, now);
      } catch (e) {
        if (ctl.signal.aborted) return;
        setError(apiError(e));
      }
      if (!ctl.signal.aborted) timer = setTimeout(poll, refreshMs);
    };
    void poll();
    return () => {
      ctl.abort();
      clearTimeout(timer);
    };
  }, [api, role]);
  return { nodes, error, at };
}

// The chart covers this much time; samples older than it are dropped.
const windowMs = 5 * 60 * 1000;

type Counters = Record<Outcome, number>;
type Last = { start: number; sample: number; counters: Counters; rates: Counters | null };

function countersOf(n: Node): Counters | null {
  const t = n.traffic;
  if (!t) return null;
  return {
    accepted: Number(t.accepted),
    rejectedAuth: Number(t.rejectedAuth),
    rejectedOther: Number(t.rejectedOther),
    unavailable: Number(t.unavailable),
  };
}

// useRates turns successive ListNodes answers into the edges' request
// rates. Each edge's counters are cumulative on its own clock: its rate is
// the difference of two of its samples over the difference of their sample
// times; a new start time or a lower counter is a restart, which starts
// its rate again. A point is the sum of every edge's latest rate, taken at
// each answer.
function useRates() {
  const last = useRef(new Map<string, Last>());
  const [samples, setSamples] = useState<RateSample[]>([]);
  const onAnswer = (nodes: Node[], at: number) => {
    const seen = new Set<string>();
    let any = false;
    const sum: Counters = { accepted: 0, rejectedAuth: 0, rejectedOther: 0, unavailable: 0 };
    for (const n of nodes) {
      if (n.role !== NodeRole.EDGE) continue;
      const c = countersOf(n);
      if (!c) continue;
      seen.add(n.id);
      const start = tsMillis(n.traffic!.startTime);
      const sample = tsMillis(n.traffic!.sampleTime);
      const prev = last.current.get(n.id);
      let rates = prev?.rates ?? null;
      if (!prev || prev.start !== start || (Object.keys(c) as Outcome[]).some((k) => c[k] < prev.counters[k])) {
        rates = null;
      } else if (sample > prev.sample) {
        const dt = (sample - prev.sample) / 1000;
        rates = { accepted: 0, rejectedAuth: 0, rejectedOther: 0, unavailable: 0 };
        for (const k of Object.keys(c) as Outcome[]) rates[k] = (c[k] - prev.counters[k]) / dt;
      }
      if (!prev || sample !== prev.sample || rates !== prev.rates) last.current.set(n.id, { start, sample, counters: c, rates });
      if (rates) {
        any = true;
        for (const k of Object.keys(sum) as Outcome[]) sum[k] += rates[k];
      }
    }
    for (const id of [...last.current.keys()]) if (!seen.has(id)) last.current.delete(id);
    if (any) setSamples((s) => [...s.filter((p) => p.at >= at - windowMs - 10000), { at, rates: sum }]);
  };
  return { samples, onAnswer };
}

export function Fleet(_props: PageProps) {
  const [role, setRole] = useState<NodeRole>(NodeRole.UNSPECIFIED);
  const rates = useRates();
  const { nodes, error, at } = useNodes(role, rates.onAnswer);
  const [now, setNow] = useState(Date.now());
  // Re-render every second so "connected … ago" and "updated … ago" move.
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);

  const edges = nodes?.filter((n) => n.role === NodeRole.EDGE).length ?? 0;
  const dispatchers = nodes?.filter((n) => n.role === NodeRole.DISPATCHER).length ?? 0;
  const behind = nodes?.filter((n) => n.lag > 0n).length ?? 0;
  const nacked = nodes?.filter((n) => n.lastNack).length ?? 0;

  return (
    <div className="fl">
      <Page
        title="Fleet"
        actions={
          <label>
            Role{" "}
            <select value={role} onChange={(e) => setRole(Number(e.target.value) as NodeRole)}>
              <option value={NodeRole.UNSPECIFIED}>all</option>
              <option value={NodeRole.EDGE}>edges</option>
              <option value={NodeRole.DISPATCHER}>dispatchers</option>
            </select>
          </label>
        }
      >
        <dl className="stats" aria-label="Fleet summary">
          <div>
            <dt>Edges</dt>
            <dd>{edges}</dd>
          </div>
          <div>
            <dt>Dispatchers</dt>
            <dd>{dispatchers}</dd>
          </div>
          <div>
            <dt>Behind the latest revision</dt>
            <dd>{behind}</dd>
          </div>
          <div>
            <dt>With a NACK</dt>
            <dd>{nacked}</dd>
          </div>
          <div>
            <dt>Updated</dt>
            <dd className="small-dd">{at ? ago({ seconds: BigInt(Math.floor(at / 1000)), nanos: 0 }) : "…"}</dd>
          </div>
        </dl>
        <ErrorBox error={error} />
        {nodes && nodes.length === 0 && <Empty>No data-plane node is connected to the control plane.</Empty>}
        {nodes && nodes.length > 0 && (
          <table className="nodes">
            <caption className="sr-only">Connected nodes, refreshed every 5 seconds</caption>
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col">Role</th>
                <th scope="col">Address</th>
                <th scope="col">Revision</th>
                <th scope="col">Lag</th>
                <th scope="col">Shard</th>
                <th scope="col">Control plane</th>
                <th scope="col">Connected</th>
                <th scope="col">Last NACK</th>
              </tr>
            </thead>
            <tbody>
              {nodes.map((n) => (
                <tr key={n.id} data-node={n.id}>
                  <td>
                    <code>{n.id}</code>
                  </td>
                  <td>
                    <Badge kind={n.role === NodeRole.EDGE ? "ok" : "muted"}>{roleName(n.role)}</Badge>
                  </td>
                  <td>
                    <code>{n.address || "—"}</code>
                  </td>
                  <td className="num">{String(n.configRevision)}</td>
                  <td className="num">{n.lag > 0n ? <Badge kind="warn">{String(n.lag)} behind</Badge> : "0"}</td>
                  <td>{n.role === NodeRole.EDGE ? shardText(n.shard) : "—"}</td>
                  <td>
                    <code>{n.controlPlane || "—"}</code>
                  </td>
                  <td title={when(n.connectTime)}>{ago(n.connectTime)}</td>
                  <td>
                    {n.lastNack ? (
                      <>
                        <Badge kind="bad">NACK</Badge> <span className="small">{n.lastNack}</span>
                        <div className="muted small">{when(n.lastNackTime)}</div>
                      </>
                    ) : (
                      <span className="muted">none</span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {role !== NodeRole.DISPATCHER && <RateChart samples={rates.samples} windowMs={windowMs} now={now} />}
      </Page>
    </div>
  );
}
