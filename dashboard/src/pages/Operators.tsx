import { useMemo, useState } from "preact/hooks";
import { AddressLink, Badge, Empty, Page } from "../components/ui.js";
import { loadOperators, RECENT, type OperatorRow } from "../data/network.js";
import { bps, poai } from "../format.js";
import { useChainData } from "../state.js";

type Filter = "all" | "trainer" | "validator";
type SortKey = "totalStake" | "commissionBps" | "rewards" | "slashed";

export function Operators() {
  const loaded = useChainData(loadOperators, "operators");
  return (
    <Page name="operators" title="Operators" loaded={loaded}>
      {(rows) => <OperatorsTable rows={rows} />}
    </Page>
  );
}

function OperatorsTable({ rows }: { rows: OperatorRow[] }) {
  const [filter, setFilter] = useState<Filter>("all");
  const [sort, setSort] = useState<SortKey>("totalStake");
  const shown = useMemo(() => {
    const list = rows.filter((r) => filter === "all" || r.role === filter);
    return list.sort((a, b) => {
      const x = a[sort];
      const y = b[sort];
      return x === y ? 0 : x < y ? 1 : -1;
    });
  }, [rows, filter, sort]);
  if (rows.length === 0) return <Empty>No operator has registered yet.</Empty>;
  const head = (key: SortKey, label: string) => (
    <th class="num sortable" aria-sort={sort === key ? "descending" : "none"}>
      <button type="button" onClick={() => setSort(key)}>
        {label}
        {sort === key ? " ▾" : ""}
      </button>
    </th>
  );
  return (
    <>
      <div class="toolbar" role="group" aria-label="role">
        {(["all", "trainer", "validator"] as const).map((f) => (
          <button
            type="button"
            key={f}
            class={filter === f ? "on" : ""}
            onClick={() => setFilter(f)}
            data-filter={f}
          >
            {f === "all" ? `all (${rows.length})` : `${f}s (${rows.filter((r) => r.role === f).length})`}
          </button>
        ))}
      </div>
      <table data-table="operators">
        <thead>
          <tr>
            <th>operator</th>
            <th>role</th>
            <th>state</th>
            {head("totalStake", "stake")}
            <th class="num">self-stake</th>
            <th class="num">delegated</th>
            {head("commissionBps", "commission")}
            <th>last {RECENT} verdicts</th>
            {head("slashed", "slashed")}
            {head("rewards", "rewards")}
          </tr>
        </thead>
        <tbody>
          {shown.map((r) => (
            <tr key={r.address} data-operator={r.address}>
              <td>
                <AddressLink address={r.address} />
              </td>
              <td>{r.role}</td>
              <td>
                <Badge text={r.state} />
              </td>
              <td class="num" data-field="totalStake" data-value={String(r.totalStake)}>
                {poai(r.totalStake, 0)}
              </td>
              <td class="num" data-field="selfStake" data-value={String(r.selfStake)}>
                {poai(r.selfStake, 0)}
              </td>
              <td class="num" data-field="delegated" data-value={String(r.delegated)}>
                {poai(r.delegated, 0)}
              </td>
              <td class="num" data-field="commission" data-value={String(r.commissionBps)}>
                {bps(r.commissionBps)}
                {r.pendingCommissionBps > 0 && (
                  <span class="muted small"> → {bps(r.pendingCommissionBps)}</span>
                )}
              </td>
              <td
                data-field="verdicts"
                data-value={r.verdicts.map((v) => v.outcome).join(",")}
                data-rounds={r.verdicts.map((v) => (v.round === null ? "" : String(v.round))).join(",")}
              >
                <span class="chips">
                  {r.verdicts.length === 0 ? (
                    <span class="muted">–</span>
                  ) : (
                    r.verdicts.map((v, i) => (
                      <span
                        key={i}
                        class={`chip ${chipTone(v.outcome)}`}
                        title={`${v.round === null ? "" : `round ${v.round}: `}${v.outcome}`}
                      />
                    ))
                  )}
                </span>
              </td>
              <td class="num" data-field="slashed" data-value={String(r.slashed)}>
                {r.slashes === 0 ? "–" : `${poai(r.slashed)} (${r.slashes}×)`}
                {r.held > 0n && <div class="muted small">{poai(r.held)} of it held</div>}
              </td>
              <td class="num" data-field="rewards" data-value={String(r.rewards)}>
                {poai(r.rewards)}
                {r.commission > 0n && <div class="muted small">commission {poai(r.commission)}</div>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="muted small legend">
        <span class="chip good" /> valid <span class="chip bad" /> fraud / invalid <span class="chip warn" />{" "}
        missed, withheld, unavailable, no quorum <span class="chip neutral" /> open
      </p>
    </>
  );
}

export function chipTone(outcome: string): string {
  if (outcome === "Valid") return "good";
  if (outcome === "Fraud" || outcome === "Invalid") return "bad";
  if (outcome === "Submitted") return "neutral";
  return "warn";
}
