// GraceChoice picks how long a replaced key or secret keeps working: none,
// 1 h, 24 h (the API's default) or a custom duration up to 30 days.
import { useId } from "react";
import { fieldMatches, type ApiError } from "../../api";
import { formatDuration, localError, parseDuration } from "./format";

export type Grace = { choice: "0" | "3600" | "86400" | "custom"; custom: string };

export const defaultGrace: Grace = { choice: "86400", custom: "" };

const maxGrace = 30 * 86400;

// graceSeconds reads the choice; an error names the field "grace_period",
// as the API's does.
export function graceSeconds(g: Grace): number | ApiError {
  if (g.choice !== "custom") return Number(g.choice);
  const s = parseDuration(g.custom);
  if (s === null) return localError("grace_period", `"${g.custom}" is not a duration such as 90m, 12h or 7d`);
  if (s > maxGrace) return localError("grace_period", "must be at most 30 days");
  return s;
}

export function GraceChoice({
  legend,
  value,
  onChange,
  error,
}: {
  legend: string;
  value: Grace;
  onChange: (g: Grace) => void;
  error: ApiError | null;
}) {
  const id = useId();
  const bad = fieldMatches(error?.field, "grace_period");
  const options: [Grace["choice"], string][] = [
    ["0", "None: the old one stops now"],
    ["3600", "1 hour"],
    ["86400", "24 hours"],
    ["custom", "Custom"],
  ];
  const parsed = value.choice === "custom" ? parseDuration(value.custom) : null;
  return (
    <fieldset className={bad ? "grace invalid" : "grace"} aria-describedby={bad ? `${id}-err` : undefined}>
      <legend>{legend}</legend>
      <div className="grace-options">
        {options.map(([v, label]) => (
          <label key={v} className="radio">
            <input
              type="radio"
              name={`${id}-grace`}
              value={v}
              checked={value.choice === v}
              onChange={() => onChange({ ...value, choice: v })}
            />{" "}
            {label}
          </label>
        ))}
      </div>
      {value.choice === "custom" && (
        <div className="grace-custom">
          <label htmlFor={`${id}-custom`}>Custom grace period</label>
          <input
            id={`${id}-custom`}
            name="grace_period"
            placeholder="e.g. 90m, 12h, 7d"
            value={value.custom}
            aria-invalid={bad || undefined}
            aria-describedby={`${id}-custom-hint${bad ? ` ${id}-err` : ""}`}
            onChange={(e) => onChange({ ...value, custom: e.target.value })}
          />
          <p className="hint" id={`${id}-custom-hint`}>
            {parsed !== null ? `= ${formatDuration(parsed)}; ` : ""}at most 30 days
          </p>
        </div>
      )}
      {bad && (
        <p className="field-error" id={`${id}-err`} role="alert">
          {error!.message}
        </p>
      )}
    </fieldset>
  );
}
