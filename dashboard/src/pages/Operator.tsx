import { useMemo } from "preact/hooks";
import { getAddress, isAddress } from "viem";
import { Chart } from "../components/Chart.js";
import { AddressLink, Badge, Empty, Page, Stat } from "../components/ui.js";
import { loadOperator, type OperatorDetail } from "../data/operator.js";
import { amount, bps, fraction, poai, poaiNumber, time } from "../format.js";
import { useChainData } from "../state.js";
import { chipTone } from "./Operators.js";

export function Operator({ address }: { address: string }) {
  const valid = isAddress(address);
  const loaded = useChainData(
    (client) => (valid ? loadOperator(client, getAddress(address)) : Promise.resolve(null)),
    `operator:${address}`,
  );
  return (
    <Page name="operator" title={`Operator ${valid ? getAddress(address) : address}`} loaded={loaded}>
      {(d) =>
        !valid ? (
          <p class="error">{JSON.stringify(address)} is not an address (0x and 40 hex digits).</p>
        ) : d === null ? (
          <Empty>{address} is not a registered operator.</Empty>
        ) : (
          <OperatorBody d={d} />
        )
      }
    </Page>
  );
}

function OperatorBody({ d }: { d: OperatorDetail }) {
  const v = d.view;
  const stakeChart = useMemo(
    () => ({
      x: d.epochs.map(Number),
      series: [
        { label: "pool stake", values: d.stake.map(poaiNumber), color: "#4f9dff", kind: "step" as const },
      ],
    }),
    [d],
  );
  const challengeChart = useMemo(() => {
    const rows = d.challenges;
    const pick = (status: (s: string) => boolean) =>
      rows.map((c) =>
        status(c.status) ? (c.score === null ? 0 : Number(c.score / 10n ** 14n) / 100) : null,
      );
    return {
      x: rows.map((c) => Number(c.round)),
      series: [
        {
          label: "valid (score %)",
          values: pick((s) => s === "Valid"),
          color: "#3ecf8e",
          kind: "points" as const,
        },
        { label: "fraud", values: pick((s) => s === "Fraud"), color: "#f25f5c", kind: "points" as const },
        {
          label: "missed / other",
          values: pick((s) => !["Valid", "Fraud", "Submitted"].includes(s)),
          color: "#f5a524",
          kind: "points" as const,
        },
        {
          label: "reported accuracy %",
          values: rows.map((c) => (c.reportedScoreBps === null ? null : c.reportedScoreBps / 100)),
          color: "#9aa4b2",
          kind: "line" as const,
        },
      ],
    };
  }, [d]);
  const auditChart = useMemo(() => {
    const rounds = [...new Set(d.audits.map((a) => (a.round === null ? -1 : Number(a.round))))]
      .filter((r) => r >= 0)
      .sort((a, b) => a - b);
    const count = (r: number, ok: boolean | null) =>
      d.audits.filter((a) => a.round !== null && Number(a.round) === r && a.agreed === ok).length;
    return {
      x: rounds,
      series: [
        {
          label: "agreed with the outcome",
          values: rounds.map((r) => count(r, true)),
          color: "#3ecf8e",
          kind: "bars" as const,
        },
        {
          label: "disagreed",
          values: rounds.map((r) => count(r, false)),
          color: "#f25f5c",
          kind: "bars" as const,
        },
      ],
    };
  }, [d]);
  return (
    <>
      <div class="stats">
        <Stat label="Role" field="role" raw={d.role} value={d.role} hint={`id ${v.id}`} />
        <Stat
          label="State"
          field="state"
          raw={d.state}
          value={<Badge text={d.state} />}
          hint={v.jailed ? `jailed until ${time(v.jailedUntil)}` : undefined}
        />
        <Stat
          label="Pool stake"
          field="totalStake"
          raw={String(v.totalStake)}
          value={poai(v.totalStake)}
          hint={`${poai(d.pool.unbondingTokens)} unbonding`}
        />
        <Stat label="Self-stake" field="selfStake" raw={String(v.selfStake)} value={poai(v.selfStake)} />
        <Stat
          label="Commission"
          field="commission"
          raw={String(v.commissionBps)}
          value={bps(v.commissionBps)}
          hint={
            v.pendingCommissionBps > 0
              ? `→ ${bps(v.pendingCommissionBps)} at ${time(v.commissionEffectiveAt)}`
              : `max ${bps(v.maxCommissionBps)}`
          }
        />
        <Stat
          label="Rewards into the pool"
          field="rewards"
          raw={String(d.rewards.amount)}
          value={poai(d.rewards.amount)}
          hint={`commission ${poai(d.rewards.commission)}`}
        />
      </div>
      <p class="muted small">
        endpoint <span class="mono">{v.endpoint || "–"}</span> · GPU {v.gpuClass || "–"} · share price{" "}
        {amount(d.pool.sharePrice, 6)} POAI per share
      </p>
      <Chart
        id="stake-history"
        title="Pool stake at the start of each epoch (POAI)"
        x={stakeChart.x}
        xLabel="epoch"
        yLabel="POAI"
        series={stakeChart.series}
      />

      {d.role === "trainer" && (
        <>
          <h2>Challenges</h2>
          {d.challenges.length === 0 ? (
            <Empty>No challenge yet.</Empty>
          ) : (
            <>
              <Chart
                id="challenges"
                title="Challenges per round: outcome and challenge score (%)"
                x={challengeChart.x}
                xLabel="round"
                yLabel="%"
                series={challengeChart.series}
              />
              <table data-table="challenges">
                <thead>
                  <tr>
                    <th class="num">round</th>
                    <th>outcome</th>
                    <th class="num">reported</th>
                    <th class="num">median measured</th>
                    <th class="num">score</th>
                    <th>committee verdicts</th>
                  </tr>
                </thead>
                <tbody>
                  {[...d.challenges].reverse().map((c) => (
                    <tr key={c.id} data-challenge={c.id} data-round={String(c.round)}>
                      <td class="num">{String(c.round)}</td>
                      <td data-field="status" data-value={c.status}>
                        <Badge text={c.status} />
                      </td>
                      <td class="num">{c.reportedScoreBps === null ? "–" : bps(c.reportedScoreBps)}</td>
                      <td class="num">
                        {c.medianScoreBps === null || c.status !== "Valid" ? "–" : bps(c.medianScoreBps)}
                      </td>
                      <td class="num">{c.score === null ? "–" : fraction(c.score, 1)}</td>
                      <td
                        data-field="members"
                        data-value={c.members
                          .filter((m) => m.revealed)
                          .map((m) => m.verdict)
                          .join(",")}
                      >
                        {c.members.length === 0
                          ? "–"
                          : c.members.map((m, i) => (
                              <span key={i} class="verdict">
                                {m.revealed ? (
                                  <>
                                    <span class={`chip ${chipTone(m.verdict)}`} />{" "}
                                    <AddressLink address={m.validator} /> {m.verdict}
                                    {m.verdict === "Valid" && ` ${bps(m.measuredScoreBps)}`}
                                    {m.verdict === "Invalid" && ` @${m.segment}`}
                                  </>
                                ) : (
                                  <span class="muted">committed, not revealed</span>
                                )}
                              </span>
                            ))}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </>
      )}

      {d.role === "validator" && (
        <>
          <h2>Audits</h2>
          {d.audits.length === 0 ? (
            <Empty>No verdict revealed yet.</Empty>
          ) : (
            <>
              <Chart
                id="audits"
                title="Revealed verdicts per round, by agreement with the final outcome"
                x={auditChart.x}
                xLabel="round"
                yLabel="verdicts"
                series={auditChart.series}
              />
              <table data-table="audits">
                <thead>
                  <tr>
                    <th class="num">round</th>
                    <th>trainer</th>
                    <th>verdict</th>
                    <th class="num">measured</th>
                    <th>outcome</th>
                    <th>agreed</th>
                  </tr>
                </thead>
                <tbody>
                  {[...d.audits].reverse().map((a) => (
                    <tr key={a.id} data-challenge={a.id}>
                      <td class="num">{a.round === null ? "–" : String(a.round)}</td>
                      <td>{a.trainer ? <AddressLink address={a.trainer} /> : "–"}</td>
                      <td data-field="verdict" data-value={a.verdict}>
                        <Badge text={a.verdict} />
                        {a.verdict === "Invalid" && <span class="muted small"> @{a.segment}</span>}
                      </td>
                      <td class="num">{a.verdict === "Valid" ? bps(a.measuredScoreBps) : "–"}</td>
                      <td>
                        <Badge text={a.outcome} />
                      </td>
                      <td>{a.agreed === null ? "–" : a.agreed ? "yes" : "no"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </>
      )}

      <h2>Slashes</h2>
      {d.slashes === null || d.slashes.slashes.length === 0 ? (
        <Empty>Never slashed.</Empty>
      ) : (
        <>
          <p data-field="slash-summary">
            Slashed{" "}
            <span data-field="slashed" data-value={String(d.slashes.slashed)}>
              {poai(d.slashes.slashed)}
            </span>{" "}
            ({d.slashes.count}×)
            {d.slashes.held > 0n && (
              <>
                ,{" "}
                <span data-field="held" data-value={String(d.slashes.held)}>
                  {poai(d.slashes.held)}
                </span>{" "}
                of it held while the verdict may be overruled
              </>
            )}
            {d.slashes.returned > 0n && (
              <>
                ;{" "}
                <span data-field="returned" data-value={String(d.slashes.returned)}>
                  {poai(d.slashes.returned)}
                </span>{" "}
                returned (verdict overruled)
              </>
            )}
            .
          </p>
          <table data-table="slashes">
            <thead>
              <tr>
                <th class="num">block</th>
                <th class="num">fraction</th>
                <th class="num">amount</th>
                <th>state</th>
              </tr>
            </thead>
            <tbody>
              {d.slashes.slashes.map((s, i) => (
                <tr key={i} data-state={s.state}>
                  <td class="num">{String(s.blockNumber)}</td>
                  <td class="num">{fraction(s.fraction, 2)}</td>
                  <td class="num" data-field="slash" data-value={String(s.amount)}>
                    {poai(s.amount)}
                  </td>
                  <td data-field="state">
                    {s.state === "held" && s.hold ? `held until ${time(Number(s.hold.releaseAt))}` : s.state}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      <p class="muted small">
        <a href={`/delegate?operator=${v.operator}`} data-action="delegate-to">
          Delegate to this operator
        </a>
      </p>
    </>
  );
}
