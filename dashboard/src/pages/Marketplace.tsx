import { useMemo } from "preact/hooks";
import { Chart } from "../components/Chart.js";
import { AddressLink, Badge, Empty, Page, Stat } from "../components/ui.js";
import { loadMarketplace, type Marketplace as MarketplaceData } from "../data/marketplace.js";
import { fraction, poai, shortHash } from "../format.js";
import { useChainData } from "../state.js";

const PALETTE = ["#4f9dff", "#f5a524", "#3ecf8e", "#c084fc", "#f25f5c", "#22d3ee"];

export function Marketplace() {
  const loaded = useChainData(loadMarketplace, "marketplace");
  return (
    <Page name="marketplace" title="Inference marketplace" loaded={loaded}>
      {(m) =>
        m === null ? (
          <Empty>This deployment has no inference marketplace (no Coordinator in its address book).</Empty>
        ) : (
          <MarketBody m={m} />
        )
      }
    </Page>
  );
}

function MarketBody({ m }: { m: MarketplaceData }) {
  const usage = useMemo(
    () => ({
      x: m.usage.epochs.map(Number),
      series: m.models.map((model, i) => ({
        label: model.name,
        values: m.usage.deliveries[i]!.map(Number),
        color: PALETTE[i % PALETTE.length]!,
        kind: "bars" as const,
      })),
    }),
    [m],
  );
  const totalFees = m.models.reduce((s, x) => s + x.fees, 0n);
  return (
    <>
      <div class="stats">
        <Stat
          label="Models"
          field="models"
          raw={String(m.models.length)}
          value={String(m.models.length)}
          hint={`${m.models.filter((x) => x.active).length} active`}
        />
        <Stat
          label="Subscriptions"
          field="subscriptions"
          raw={String(m.subscriptions)}
          value={String(m.subscriptions)}
        />
        <Stat
          label="Deliveries"
          field="deliveries"
          raw={String(m.deliveries.total)}
          value={String(m.deliveries.total)}
        />
        <Stat
          label="Usage fees (last epochs)"
          field="fees"
          raw={String(totalFees)}
          value={poai(totalFees)}
          hint={`epochs ${m.usage.epochs[0]}–${m.epoch}`}
        />
        {m.verification && (
          <Stat
            label="Disputes"
            field="disputes"
            raw={String(m.verification.disputes.length)}
            value={String(m.verification.disputes.length)}
            hint={`${m.verification.requested} outputs verified, ${m.verification.accepted} accepted`}
          />
        )}
      </div>

      <h2>Models</h2>
      {m.models.length === 0 ? (
        <Empty>No model is registered.</Empty>
      ) : (
        <>
          <table data-table="models">
            <thead>
              <tr>
                <th>model</th>
                <th>trainer</th>
                <th>layers</th>
                <th>weights</th>
                <th>state</th>
                <th class="num">deliveries</th>
                <th class="num">fees</th>
              </tr>
            </thead>
            <tbody>
              {m.models.map((model) => (
                <tr key={model.containerId} data-model={model.name}>
                  <td title={model.containerId}>{model.name}</td>
                  <td>
                    <AddressLink address={model.trainer} />
                  </td>
                  <td>[{model.widths.join(", ")}]</td>
                  <td class="mono" title={model.weightsHash}>
                    {shortHash(model.weightsHash)}
                  </td>
                  <td>
                    <Badge text={model.active ? "active" : "inactive"} />
                    {/^0x0+$/.test(model.challengeId) ? (
                      ""
                    ) : (
                      <span class="muted small"> proven by challenge {shortHash(model.challengeId)}</span>
                    )}
                  </td>
                  <td class="num" data-field="deliveries" data-value={String(model.deliveries)}>
                    {String(model.deliveries)}
                  </td>
                  <td class="num" data-field="fees" data-value={String(model.fees)}>
                    {poai(model.fees)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Chart
            id="usage"
            title="Accepted deliveries per epoch, by model"
            x={usage.x}
            xLabel="epoch"
            yLabel="deliveries"
            series={usage.series}
          />
        </>
      )}

      <div class="columns">
        <div>
          <h2>Recent deliveries</h2>
          {m.deliveries.recent.length === 0 ? (
            <Empty>No delivery yet.</Empty>
          ) : (
            <table data-table="deliveries">
              <thead>
                <tr>
                  <th class="num">block</th>
                  <th class="num">subscription</th>
                  <th>node</th>
                  <th>transaction</th>
                </tr>
              </thead>
              <tbody>
                {m.deliveries.recent.map((x) => (
                  <tr key={x.transactionHash + x.node}>
                    <td class="num">{String(x.blockNumber)}</td>
                    <td class="num">#{x.subscriptionId}</td>
                    <td>
                      <AddressLink address={x.node} />
                    </td>
                    <td class="mono">{shortHash(x.transactionHash)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
        <div>
          <h2>Disputes</h2>
          {m.verification === null ? (
            <Empty>No output verifier in this deployment.</Empty>
          ) : m.verification.disputes.length === 0 ? (
            <Empty>No output has been disputed.</Empty>
          ) : (
            <table data-table="disputes">
              <thead>
                <tr>
                  <th class="num">block</th>
                  <th>subscription</th>
                  <th>node</th>
                  <th>disputer</th>
                  <th class="num">slashed</th>
                </tr>
              </thead>
              <tbody>
                {m.verification.disputes.map((x) => (
                  <tr key={`${x.subscriptionId}:${x.interval}:${x.node}`} data-dispute={x.node}>
                    <td class="num">{String(x.blockNumber)}</td>
                    <td>
                      #{x.subscriptionId} interval {x.interval}
                    </td>
                    <td>
                      <AddressLink address={x.node} />
                    </td>
                    <td class="mono">{x.disputer.slice(0, 10)}…</td>
                    <td class="num">{fraction(x.slashFraction, 1)} of the pool</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      </div>
    </>
  );
}
