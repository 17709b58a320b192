import { useState } from "preact/hooks";
import type { OperatorView, PoAIClient } from "@poai/sdk";
import type { Address } from "viem";
import { claim, delegate, formMessage, undelegate, withdraw, type CommandResult } from "../actions.js";
import { AddressLink, Badge, Empty, Page, Stat } from "../components/ui.js";
import { loadPortfolio, type Portfolio } from "../data/delegator.js";
import { allOperators, operatorState } from "../data/network.js";
import { duration, poai, shortAddress, time } from "../format.js";
import { useApp, useChainData } from "../state.js";
import {
  connectDevAccount,
  connectPrivateKey,
  connectWallet,
  DEV_ACCOUNTS,
  hasInjectedWallet,
} from "../wallet.js";

export function Delegate({ operator }: { operator?: string }) {
  const { signer } = useApp();
  return (
    <section class="page-wrap">
      <ConnectPanel />
      {signer ? <Portfolio_ owner={signer.address} preset={operator} /> : <ReadOnly />}
    </section>
  );
}

function ReadOnly() {
  return (
    <section class="page" data-page="delegate" data-state="ready">
      <h1>Delegate</h1>
      <p class="muted">Connect a wallet to see your positions and to delegate, undelegate or claim.</p>
    </section>
  );
}

function ConnectPanel() {
  const { chain, signer, setSigner } = useApp();
  const [index, setIndex] = useState(1);
  const [key, setKey] = useState("");
  const [error, setError] = useState<string | null>(null);
  const attempt = async (connect: () => Promise<Parameters<typeof setSigner>[0]>) => {
    setError(null);
    try {
      setSigner(await connect());
    } catch (err) {
      setError((err as Error).message);
    }
  };
  if (signer)
    return (
      <div class="connect" data-signer={signer.address}>
        Signing as <span class="mono">{signer.address}</span> ({signer.label}){" "}
        <button type="button" onClick={() => setSigner(null)}>
          disconnect
        </button>
      </div>
    );
  return (
    <div class="connect">
      {hasInjectedWallet() ? (
        <button
          type="button"
          data-action="connect-wallet"
          onClick={() => attempt(() => connectWallet(chain.chain))}
        >
          Connect browser wallet
        </button>
      ) : (
        <span class="muted">No browser wallet (EIP-1193) found.</span>
      )}
      {chain.config.devnet && (
        <>
          <span class="muted"> · on this devnet: </span>
          <select
            value={index}
            onChange={(e) => setIndex(Number((e.target as HTMLSelectElement).value))}
            data-input="dev-account"
            aria-label="dev account"
          >
            {Array.from({ length: DEV_ACCOUNTS }, (_, i) => (
              <option key={i} value={i}>
                dev account #{i}
              </option>
            ))}
          </select>{" "}
          <button
            type="button"
            data-action="use-dev-account"
            onClick={() => attempt(() => connectDevAccount(chain.chain, chain.transport, index))}
          >
            use it
          </button>
          <span class="muted"> or </span>
          <input
            type="password"
            placeholder="paste a private key"
            value={key}
            onInput={(e) => setKey((e.target as HTMLInputElement).value)}
            aria-label="private key"
          />{" "}
          <button
            type="button"
            disabled={!key}
            onClick={() => attempt(() => connectPrivateKey(chain.chain, chain.transport, key))}
          >
            use key
          </button>
        </>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

interface Loaded {
  portfolio: Portfolio;
  operators: OperatorView[];
}

async function loadAll(client: PoAIClient, owner: Address): Promise<Loaded> {
  const [portfolio, operators] = await Promise.all([loadPortfolio(client, owner), allOperators(client)]);
  return { portfolio, operators };
}

function Portfolio_({ owner, preset }: { owner: Address; preset: string | undefined }) {
  const loaded = useChainData((client) => loadAll(client, owner), `portfolio:${owner}`);
  return (
    <Page name="delegate" title="Delegate" loaded={loaded}>
      {(d) => <PortfolioBody d={d} preset={preset} />}
    </Page>
  );
}

type Busy = null | "delegate" | "undelegate" | "claim" | "withdraw";

function PortfolioBody({ d, preset }: { d: Loaded; preset: string | undefined }) {
  const { chain, signer, refresh } = useApp();
  const p = d.portfolio;
  const open = d.operators.filter((op) => op.status === 1 && !op.jailed);
  const [target, setTarget] = useState<string>(preset ?? open[0]?.operator ?? "");
  const [amount, setAmount] = useState("");
  const [chosenFrom, setFrom] = useState<string>(p.positions[0]?.operator ?? "");
  // After a delegation or an undelegation the positions change: keep the choice while it exists.
  const from = p.positions.some((x) => x.operator === chosenFrom)
    ? chosenFrom
    : (p.positions[0]?.operator ?? "");
  const [outAmount, setOutAmount] = useState("");
  const [all, setAll] = useState(false);
  const [busy, setBusy] = useState<Busy>(null);
  const [result, setResult] = useState<{ ok: boolean; lines: string[] } | null>(null);
  const matured = p.unbonding.filter((e) => BigInt(e.maturity) <= p.now);

  const run = async (what: Exclude<Busy, null>, work: (client: PoAIClient) => Promise<CommandResult>) => {
    if (!signer) return;
    setBusy(what);
    setResult(null);
    try {
      const r = await work(chain.withWallet(signer.walletClient));
      setResult({ ok: true, lines: r.lines });
      refresh();
    } catch (err) {
      setResult({ ok: false, lines: [formMessage(err)] });
    } finally {
      setBusy(null);
    }
  };

  return (
    <>
      <div class="stats">
        <Stat label="Balance" field="balance" raw={String(p.balance)} value={poai(p.balance)} />
        <Stat
          label="Staked"
          field="staked"
          raw={String(p.staked)}
          value={poai(p.staked)}
          hint={`in ${p.positions.length} pool${p.positions.length === 1 ? "" : "s"}`}
        />
        <Stat
          label="Claimable rewards"
          field="claimable"
          raw={String(p.claimable)}
          value={poai(p.claimable)}
        />
        <Stat
          label="Unbonding"
          field="unbonding"
          raw={String(p.unbonding.reduce((s, e) => s + e.tokens, 0n))}
          value={poai(p.unbonding.reduce((s, e) => s + e.tokens, 0n))}
          hint={`unbonding period ${duration(p.unbondingPeriod)}`}
        />
      </div>

      <div class="columns">
        <form
          class="card"
          data-form="delegate"
          onSubmit={(e) => {
            e.preventDefault();
            void run("delegate", (c) => delegate(c, { operator: target, amount }));
          }}
        >
          <h2>Delegate</h2>
          <label>
            operator
            <select
              value={target}
              onChange={(e) => setTarget((e.target as HTMLSelectElement).value)}
              name="operator"
            >
              {!open.some((op) => op.operator === target) && target && (
                <option value={target}>{target}</option>
              )}
              {open.map((op) => (
                <option key={op.operator} value={op.operator}>
                  {shortAddress(op.operator)} · {op.role} · {poai(op.totalStake, 0)} ·{" "}
                  {op.commissionBps / 100}%
                </option>
              ))}
            </select>
          </label>
          <label>
            amount (POAI)
            <input
              name="amount"
              inputMode="decimal"
              placeholder="100"
              value={amount}
              onInput={(e) => setAmount((e.target as HTMLInputElement).value)}
            />
          </label>
          <button type="submit" disabled={busy !== null}>
            {busy === "delegate" ? "delegating…" : "Delegate"}
          </button>
          <p class="muted small">
            Approves Staking for the amount first when the allowance is short (allowance now{" "}
            {p.allowance >= 2n ** 255n ? "unlimited" : poai(p.allowance)}).
          </p>
        </form>

        <form
          class="card"
          data-form="undelegate"
          onSubmit={(e) => {
            e.preventDefault();
            void run("undelegate", (c) => undelegate(c, { operator: from, amount: outAmount, all }));
          }}
        >
          <h2>Undelegate</h2>
          <label>
            from
            <select
              value={from}
              onChange={(e) => setFrom((e.target as HTMLSelectElement).value)}
              name="operator"
            >
              {p.positions.length === 0 && <option value="">no position</option>}
              {p.positions.map((pos) => (
                <option key={pos.operator} value={pos.operator}>
                  {shortAddress(pos.operator)} · {poai(pos.tokens)}
                </option>
              ))}
            </select>
          </label>
          <label>
            amount (POAI)
            <input
              name="amount"
              inputMode="decimal"
              disabled={all}
              value={outAmount}
              onInput={(e) => setOutAmount((e.target as HTMLInputElement).value)}
            />
          </label>
          <label class="inline">
            <input
              type="checkbox"
              name="all"
              checked={all}
              onChange={(e) => setAll((e.target as HTMLInputElement).checked)}
            />{" "}
            the whole position
          </label>
          <button type="submit" disabled={busy !== null}>
            {busy === "undelegate" ? "undelegating…" : "Undelegate"}
          </button>
          <p class="muted small">
            Undelegated stake earns nothing, stays slashable, and can be withdrawn after{" "}
            {duration(p.unbondingPeriod)}.
          </p>
        </form>

        <div class="card">
          <h2>Rewards</h2>
          <p>
            {poai(p.claimable)} claimable in {p.positions.filter((x) => x.claimable > 0n).length} pool(s).
          </p>
          <button
            type="button"
            data-action="claim"
            disabled={busy !== null}
            onClick={() => void run("claim", (c) => claim(c))}
          >
            {busy === "claim" ? "claiming…" : "Claim all"}
          </button>{" "}
          <button
            type="button"
            data-action="withdraw"
            disabled={busy !== null}
            onClick={() => void run("withdraw", (c) => withdraw(c))}
          >
            {busy === "withdraw" ? "withdrawing…" : `Withdraw matured (${matured.length})`}
          </button>
        </div>
      </div>

      {result && (
        <div
          class={result.ok ? "result ok" : "result error"}
          role={result.ok ? "status" : "alert"}
          data-result={result.ok ? "ok" : "error"}
        >
          {result.lines.map((l, i) => (
            <div key={i}>{l}</div>
          ))}
        </div>
      )}

      <h2>Positions</h2>
      {p.positions.length === 0 ? (
        <Empty>No position yet.</Empty>
      ) : (
        <table data-table="positions">
          <thead>
            <tr>
              <th>operator</th>
              <th>state</th>
              <th class="num">staked</th>
              <th class="num">claimable</th>
            </tr>
          </thead>
          <tbody>
            {p.positions.map((pos) => {
              const op = d.operators.find((o) => o.operator === pos.operator);
              return (
                <tr key={pos.operator} data-operator={pos.operator}>
                  <td>
                    <AddressLink address={pos.operator} />
                  </td>
                  <td>{op ? <Badge text={operatorState(op)} /> : "–"}</td>
                  <td class="num" data-field="tokens" data-value={String(pos.tokens)}>
                    {poai(pos.tokens)}
                  </td>
                  <td class="num" data-field="claimable" data-value={String(pos.claimable)}>
                    {poai(pos.claimable)}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}

      <h2>Unbonding</h2>
      {p.unbonding.length === 0 ? (
        <Empty>Nothing unbonding.</Empty>
      ) : (
        <table data-table="unbonding">
          <thead>
            <tr>
              <th class="num">entry</th>
              <th>from</th>
              <th class="num">amount</th>
              <th>withdrawable</th>
            </tr>
          </thead>
          <tbody>
            {p.unbonding.map((e) => (
              <tr key={String(e.index)} data-entry={String(e.index)}>
                <td class="num">#{String(e.index)}</td>
                <td>
                  <AddressLink address={e.operator} />
                </td>
                <td class="num" data-field="tokens" data-value={String(e.tokens)}>
                  {poai(e.tokens)}
                </td>
                <td>
                  {BigInt(e.maturity) <= p.now
                    ? "now"
                    : `${time(e.maturity)} (in ${duration(BigInt(e.maturity) - p.now)})`}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
