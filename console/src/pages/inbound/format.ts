// Small formatting and parsing helpers of the inbound and fleet pages.
import type { ListValue, Value } from "@bufbuild/protobuf/wkt";
import type { ApiError } from "../../api";

type Ts = { seconds: bigint; nanos: number } | undefined;

// tsMillis is a protobuf Timestamp in milliseconds since the epoch (0 when unset).
export function tsMillis(ts: Ts): number {
  return ts ? Number(ts.seconds) * 1000 + Math.floor(ts.nanos / 1e6) : 0;
}

// ago says how long ago a timestamp was, for a title or a hint.
export function ago(ts: Ts, now = Date.now()): string {
  if (!ts) return "";
  const s = Math.max(0, Math.round((now - tsMillis(ts)) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function bytes(n: number | bigint): string {
  const v = Number(n);
  if (v < 1024) return `${v} B`;
  if (v < 1024 * 1024) return `${(v / 1024).toFixed(v < 10 * 1024 ? 1 : 0)} KiB`;
  return `${(v / 1024 / 1024).toFixed(1)} MiB`;
}

const units: Record<string, number> = { s: 1, m: 60, min: 60, h: 3600, d: 86400 };

// parseDuration reads "90m", "1h30m", "2d" or "45s" into seconds; null
// when it is not such a duration.
export function parseDuration(s: string): number | null {
  const t = s.trim().toLowerCase().replace(/\s+/g, "");
  if (!t) return null;
  const re = /(\d+(?:\.\d+)?)(d|h|min|m|s)/gy;
  let total = 0;
  let end = 0;
  for (let m = re.exec(t); m; m = re.exec(t)) {
    total += parseFloat(m[1]) * units[m[2]];
    end = re.lastIndex;
  }
  if (end !== t.length) return null;
  return Math.round(total);
}

// formatDuration writes seconds as "1 h 30 min".
export function formatDuration(sec: number): string {
  if (sec === 0) return "0";
  const parts: string[] = [];
  const d = Math.floor(sec / 86400);
  const h = Math.floor((sec % 86400) / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  if (d) parts.push(`${d} d`);
  if (h) parts.push(`${h} h`);
  if (m) parts.push(`${m} min`);
  if (s) parts.push(`${s} s`);
  return parts.join(" ");
}

function valueText(v: Value): string {
  switch (v.kind.case) {
    case "stringValue":
      return v.kind.value;
    case "numberValue":
      return String(v.kind.value);
    case "boolValue":
      return String(v.kind.value);
    case "nullValue":
      return "null";
    default:
      return JSON.stringify(v.kind.value ?? null);
  }
}

// headerRows turns a map of ListValue (failed triggers' redacted headers)
// into sorted name/value rows, one per value.
export function headerRows(h: { [k: string]: ListValue }): [string, string][] {
  const rows: [string, string][] = [];
  for (const name of Object.keys(h).sort((a, b) => a.localeCompare(b))) {
    for (const v of h[name].values) rows.push([name, valueText(v)]);
  }
  return rows;
}

// jsonHeaderRows does the same for headers given as JSON ({"Name": ["v"]}).
export function jsonHeaderRows(h: unknown): [string, string][] {
  if (!h || typeof h !== "object") return [];
  const rows: [string, string][] = [];
  for (const name of Object.keys(h).sort((a, b) => a.localeCompare(b))) {
    const vs = (h as Record<string, unknown>)[name];
    for (const v of Array.isArray(vs) ? vs : [vs]) rows.push([name, typeof v === "string" ? v : JSON.stringify(v)]);
  }
  return rows;
}

// preview shows the start of a body as text. A body cut at a limit may
// end inside a UTF-8 sequence: up to 3 bytes are dropped for that. What is
// not UTF-8 otherwise is called binary.
export function preview(body: Uint8Array, max = 4096): string {
  const cut = body.subarray(0, max);
  for (let drop = 0; drop <= 3 && drop < cut.length; drop++) {
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(cut.subarray(0, cut.length - drop));
    } catch {
      if (drop === 0 && cut.length === body.length) break; // whole and still not UTF-8
    }
  }
  if (cut.length === 0) return "";
  return `(binary, ${body.length} bytes)`;
}

// localError is an error the page found before calling the API, shaped as
// the API's so that a Field shows it.
export function localError(field: string, message: string): ApiError {
  return { code: "InvalidArgument", field, message, retryable: false };
}
