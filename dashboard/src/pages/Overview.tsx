import { useMemo } from "preact/hooks";
import { Chart } from "../components/Chart.js";
import { Badge, Empty, Page, Stat } from "../components/ui.js";
import { loadOverview, type Overview as OverviewData } from "../data/network.js";
import { jobRegistryOf } from "../data/jobs-check.js";
import { duration, percent, poai, poaiNumber, shortHash, time } from "../format.js";
import { useApp, useChainData } from "../state.js";

export function Overview() {
  const loaded = useChainData(loadOverview, "overview");
  return (
    <Page name="overview" title="Network" loaded={loaded}>
      {(o) => <OverviewBody o={o} />}
    </Page>
  );
}

function OverviewBody({ o }: { o: OverviewData }) {
  const { chain } = useApp();
  const jobs = jobRegistryOf(chain.client);
  const history = useMemo(
    () => ({
      x: o.stakeHistory.epochs.map(Number),
      series: [
        {
          label: "trainers",
          values: o.stakeHistory.trainer.map(poaiNumber),
          color: "#4f9dff",
          kind: "step" as const,
        },
        {
          label: "validators",
          values: o.stakeHistory.validator.map(poaiNumber),
          color: "#f5a524",
          kind: "step" as const,
        },
      ],
    }),
    [o],
  );
  return (
    <>
      <div class="stats">
        <Stat
          label="Epoch"
          field="epoch"
          raw={String(o.epoch)}
          value={String(o.epoch)}
          hint={`ends in ${duration(o.epochEndsAt - o.now)} (epoch ${duration(o.epochLength)})`}
        />
        <Stat
          label="Block"
          field="block"
          raw={String(o.blockNumber)}
          value={String(o.blockNumber)}
          hint={time(o.now)}
        />
        <Stat
          label="Operators"
          field="operators"
          raw={String(o.operators.trainers + o.operators.validators)}
          value={`${o.operators.trainers} trainers · ${o.operators.validators} validators`}
          hint={`${o.operators.active} active, ${o.operators.jailed} jailed`}
        />
        <Stat
          label="Trainer stake"
          field="stake-trainer"
          raw={String(o.stake.trainer)}
          value={poai(o.stake.trainer, 0)}
          hint={`${poai(o.activeStake.trainer, 0)} active this epoch`}
        />
        <Stat
          label="Validator stake"
          field="stake-validator"
          raw={String(o.stake.validator)}
          value={poai(o.stake.validator, 0)}
          hint={`${poai(o.activeStake.validator, 0)} active this epoch`}
        />
        <Stat
          label="Delegated"
          field="delegated"
          raw={String(o.stake.delegated)}
          value={poai(o.stake.delegated, 0)}
          hint="stake of delegators in the pools"
        />
      </div>
      <Chart
        id="role-stake"
        title="Active stake by role at the start of each epoch (POAI)"
        x={history.x}
        xLabel="epoch"
        yLabel="POAI"
        series={history.series}
      />

      <h2>Training specs in force</h2>
      {o.specs === null ? (
        <Empty>This deployment has no Proof-of-AI contracts.</Empty>
      ) : o.specs.length === 0 ? (
        <Empty>
          No spec is active yet: governance registers and activates one (trainers idle until then).
        </Empty>
      ) : (
        <table data-table="specs">
          <thead>
            <tr>
              <th>spec</th>
              <th>model</th>
              <th class="num">steps</th>
              <th class="num">segments</th>
              <th class="num">samples / validator</th>
              <th class="num">deadline</th>
              <th class="num">verification overhead</th>
            </tr>
          </thead>
          <tbody>
            {o.specs.map((s) => (
              <tr key={s.id} data-spec={s.id}>
                <td class="mono" title={s.id}>
                  {shortHash(s.id)}
                </td>
                <td>MLP [{s.widths.join(", ")}]</td>
                <td class="num">{s.steps.toLocaleString("en-US")}</td>
                <td class="num">{s.segments.toLocaleString("en-US")}</td>
                <td class="num">{s.auditSamples}</td>
                <td class="num">{duration(s.responseDeadline)}</td>
                <td class="num" data-field="overhead" data-value={String(s.reexecutedShare)}>
                  ≤ {percent(s.reexecutedShare)} re-executed
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {o.committeeSize !== null && o.specs && o.specs.length > 0 && (
        <p class="muted small">
          Verification overhead: a committee of about {o.committeeSize} validators each re-executes its own
          share of a run's sampled segments (committee × ⌈samples ÷ minReveals⌉ ÷ segments, an upper bound
          since the shares may overlap); verification is a hash comparison, never a tolerance.
        </p>
      )}

      <div class="columns">
        <div>
          <h2>Challenges</h2>
          {Object.keys(o.challenges).length === 0 ? (
            <Empty>No challenge has been submitted yet.</Empty>
          ) : (
            <ul class="plain" data-list="challenge-outcomes">
              {Object.entries(o.challenges)
                .sort((a, b) => b[1] - a[1])
                .map(([status, n]) => (
                  <li key={status} data-status={status} data-value={String(n)}>
                    <Badge text={status} /> {n}
                  </li>
                ))}
            </ul>
          )}
        </div>
        <div>
          <h2>Rewards</h2>
          {o.rewards === null ? (
            <Empty>This deployment has no reward distributor.</Empty>
          ) : (
            <ul class="plain">
              <li data-field="emission" data-value={String(o.rewards.emissionPerEpoch)}>
                emission {poai(o.rewards.emissionPerEpoch, 0)} per epoch
              </li>
              <li>
                funded {poai(o.rewards.funded, 0)}, in reserve {poai(o.rewards.reserve, 0)}
              </li>
              <li data-field="paid-into-pools" data-value={String(o.rewards.paidIntoPools)}>
                paid into pools {poai(o.rewards.paidIntoPools)}
              </li>
              <li>books {o.rewards.balanced ? <Badge text="balanced" /> : <Badge text="unbalanced" />}</li>
            </ul>
          )}
        </div>
        <div>
          <h2>Jobs</h2>
          {jobs ? (
            <p>
              A job registry is deployed at <span class="mono">{jobs.address}</span>:{" "}
              <a href="/jobs">see the jobs</a>.
            </p>
          ) : (
            <Empty>No job registry in this deployment.</Empty>
          )}
        </div>
      </div>
    </>
  );
}
