/** Small building blocks shared by the pages. */
import type { ComponentChildren } from "preact";
import { shortAddress } from "../format.js";
import type { Loaded } from "../state.js";

/** A page with its loading state on `data-state` (the browser test waits for `ready`). */
export function Page<T>({
  name,
  title,
  loaded,
  children,
}: {
  name: string;
  title: string;
  loaded: Loaded<T>;
  children: (data: T) => ComponentChildren;
}) {
  const state = loaded.error && !loaded.data ? "error" : loaded.data !== undefined ? "ready" : "loading";
  return (
    <section class="page" data-page={name} data-state={state} data-load-ms={loaded.ms?.toFixed(0)}>
      <h1>
        {title}
        {loaded.reloading && <span class="muted small"> · refreshing…</span>}
      </h1>
      {loaded.error && (
        <p class="error" role="alert">
          Could not read the chain: {loaded.error.message.split("\n")[0]}
        </p>
      )}
      {state === "loading" && <p class="muted">Reading the chain…</p>}
      {loaded.data !== undefined && children(loaded.data)}
    </section>
  );
}

export function Stat({
  label,
  value,
  raw,
  field,
  hint,
}: {
  label: string;
  value: ComponentChildren;
  raw?: string;
  field?: string;
  hint?: ComponentChildren;
}) {
  return (
    <div class="stat" data-field={field} data-value={raw}>
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
      {hint !== undefined && <div class="stat-hint">{hint}</div>}
    </div>
  );
}

export function AddressLink({ address, label }: { address: string; label?: string }) {
  return (
    <a href={`/operators/${address}`} title={address} class="mono">
      {label ?? shortAddress(address)}
    </a>
  );
}

const GOOD = new Set(["Valid", "active", "balanced"]);
const BAD = new Set(["Fraud", "Invalid", "jailed", "Withheld", "Unavailable", "Missed", "unbalanced"]);

export function Badge({ text }: { text: string }) {
  const tone = GOOD.has(text) ? "good" : BAD.has(text) ? "bad" : "neutral";
  return <span class={`badge ${tone}`}>{text}</span>;
}

export function Empty({ children }: { children: ComponentChildren }) {
  return <p class="muted empty">{children}</p>;
}
