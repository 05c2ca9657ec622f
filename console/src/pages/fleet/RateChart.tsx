// RateChart draws the edges' request rate by outcome as stacked areas
// over time, in plain SVG, with a legend that states the latest rates in
// text (the chart's accessible summary too).

export type Outcome = "accepted" | "rejectedAuth" | "rejectedOther" | "unavailable";

export type RateSample = { at: number; rates: Record<Outcome, number> };

export const outcomes: { key: Outcome; label: string; color: string }[] = [
  { key: "accepted", label: "accepted (2xx)", color: "#2e7d4f" },
  { key: "rejectedAuth", label: "rejected: key or signature (401/403)", color: "#b86e00" },
  { key: "rejectedOther", label: "rejected: other 4xx", color: "#6d4bb7" },
  { key: "unavailable", label: "unavailable (5xx)", color: "#c62828" },
];

const W = 900;
const H = 220;
const pad = { l: 48, r: 12, t: 10, b: 24 };

// niceMax rounds up to 1, 2 or 5 times a power of ten.
function niceMax(v: number): number {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

export function fmtRate(v: number): string {
  if (v === 0) return "0";
  if (v < 0.1) return v.toFixed(2);
  if (v < 10) return v.toFixed(1);
  return Math.round(v).toLocaleString("en");
}

export function RateChart({ samples, windowMs, now }: { samples: RateSample[]; windowMs: number; now: number }) {
  const x0 = now - windowMs;
  const shown = samples.filter((s) => s.at >= x0 - 10000);
  const totals = shown.map((s) => outcomes.reduce((a, o) => a + s.rates[o.key], 0));
  const ymax = niceMax(Math.max(0, ...totals));
  const x = (t: number) => pad.l + ((t - x0) / windowMs) * (W - pad.l - pad.r);
  const y = (v: number) => H - pad.b - (v / ymax) * (H - pad.t - pad.b);
  const last = shown[shown.length - 1];

  // Stacked areas: each outcome's band lies on the sum of those before it.
  const bands = outcomes.map((o, i) => {
    if (shown.length < 2) return { o, d: "" };
    const lower = shown.map((s) => outcomes.slice(0, i).reduce((a, p) => a + s.rates[p.key], 0));
    const upper = shown.map((s, j) => lower[j] + s.rates[o.key]);
    const top = shown.map((s, j) => `${x(s.at).toFixed(1)},${y(upper[j]).toFixed(1)}`);
    const bottom = shown.map((s, j) => `${x(s.at).toFixed(1)},${y(lower[j]).toFixed(1)}`).reverse();
    return { o, d: `M${top.join("L")}L${bottom.join("L")}Z` };
  });

  const yTicks = [0, ymax / 2, ymax];
  const minute = 60000;
  const xTicks: number[] = [];
  for (let t = Math.ceil(x0 / minute) * minute; t <= now; t += minute) xTicks.push(t);

  const summary = last
    ? `Edge requests per second by outcome over the last ${Math.round(windowMs / minute)} minutes; latest: ` +
      outcomes.map((o) => `${o.label} ${fmtRate(last.rates[o.key])}`).join(", ")
    : "Edge requests per second by outcome: waiting for two reports from the edges";

  return (
    <figure className="chart-wrap" aria-labelledby="rate-title">
      <div className="chart-head">
        <h2 id="rate-title">Edge requests per second</h2>
        <span className="muted small">
          {last ? `total ${fmtRate(totals[totals.length - 1])}/s` : "waiting for two reports from the edges"}
        </span>
      </div>
      <ul className="legend" aria-label="Latest rates">
        {outcomes.map((o) => (
          <li key={o.key} data-outcome={o.key}>
            <span className="swatch" style={{ background: o.color }} aria-hidden="true" />
            {o.label}: <strong>{last ? fmtRate(last.rates[o.key]) : "—"}</strong>/s
          </li>
        ))}
      </ul>
      <svg className="chart" viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary}>
        {yTicks.map((v) => (
          <g key={v}>
            <line className="grid" x1={pad.l} x2={W - pad.r} y1={y(v)} y2={y(v)} />
            <text x={pad.l - 6} y={y(v) + 4} textAnchor="end">
              {fmtRate(v)}
            </text>
          </g>
        ))}
        {xTicks.map((t) => (
          <text key={t} x={x(t)} y={H - 6} textAnchor="middle">
            {new Date(t).toISOString().slice(11, 16)}Z
          </text>
        ))}
        <line className="axis" x1={pad.l} x2={W - pad.r} y1={y(0)} y2={y(0)} />
        <clipPath id="rate-clip">
          <rect x={pad.l} y={0} width={W - pad.l - pad.r} height={H} />
        </clipPath>
        <g clipPath="url(#rate-clip)">
          {bands.map(({ o, d }) => d && <path key={o.key} d={d} fill={o.color} fillOpacity={0.75} stroke={o.color} strokeWidth={1} />)}
        </g>
      </svg>
    </figure>
  );
}
