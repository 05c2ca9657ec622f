// What a failed trigger and a tailed event both show of the call the edge
// received: its headers (as stored: credentials REDACTED) and its body.
import type { ReactNode } from "react";
import { bytes } from "./format";

export function HeaderTable({ rows }: { rows: [string, string][] }) {
  return (
    <table className="headers">
      <tbody>
        {rows.map(([k, v], i) => (
          <tr key={i}>
            <th scope="row">{k}</th>
            <td>
              <code className={v === "REDACTED" ? "redacted" : undefined}>{v}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

// BodyHeading names the body's size and how much of it is kept.
export function BodyHeading({ size, kept, keptWord }: { size: number | bigint; kept: number; keptWord: string }): ReactNode {
  return (
    <h3>
      Body{" "}
      <span className="muted small">
        {bytes(size)}
        {Number(size) > kept ? `, first ${bytes(kept)} ${keptWord}` : ""}
      </span>
    </h3>
  );
}
