/**
 * The PoAI dashboard: network overview, operators, an operator's page, the delegator view, the
 * inference marketplace and (when the deployment has a registry) training jobs. Everything is read
 * from the chain through `@poai/sdk` over the serving process's JSON-RPC bridge.
 */
import { render } from "preact";
import { useMemo, useState } from "preact/hooks";
import { ErrorBoundary, LocationProvider, Route, Router, lazy, useLocation } from "preact-iso";
import { connectChain, loadConfig, type Chain0 } from "./config.js";
import { shortAddress } from "./format.js";
import { Delegate } from "./pages/Delegate.js";
import { Marketplace } from "./pages/Marketplace.js";
import { Operator } from "./pages/Operator.js";
import { Operators } from "./pages/Operators.js";
import { Overview } from "./pages/Overview.js";
import { AppContext, useApp, type AppState } from "./state.js";
import type { Signer } from "./wallet.js";
import "./style.css";

const Jobs = lazy(() => import("./pages/Jobs.js"));

const NAV = [
  ["/", "Network"],
  ["/operators", "Operators"],
  ["/delegate", "Delegate"],
  ["/marketplace", "Marketplace"],
  ["/jobs", "Jobs"],
] as const;

function Nav({ chain }: { chain: Chain0 }) {
  const { path } = useLocation();
  const { signer, refresh } = useApp();
  return (
    <header class="top">
      <a class="brand" href="/">
        PoAI
      </a>
      <nav>
        {NAV.map(([href, label]) => (
          <a key={href} href={href} class={(href === "/" ? path === "/" : path.startsWith(href)) ? "on" : ""}>
            {label}
          </a>
        ))}
      </nav>
      <div class="chain muted small">
        chain {chain.config.chainId} · {chain.config.chainLabel}
        {signer && <span> · {shortAddress(signer.address)}</span>}{" "}
        <button type="button" class="link" onClick={refresh} data-action="refresh">
          refresh
        </button>
      </div>
    </header>
  );
}

function App({ chain }: { chain: Chain0 }) {
  const [version, setVersion] = useState(0);
  const [signer, setSigner] = useState<Signer | null>(null);
  const state = useMemo<AppState>(
    () => ({ chain, version, refresh: () => setVersion((v) => v + 1), signer, setSigner }),
    [chain, version, signer],
  );
  return (
    <AppContext.Provider value={state}>
      <LocationProvider>
        <Nav chain={chain} />
        <main>
          <ErrorBoundary>
            <Router>
              <Route path="/" component={Overview} />
              <Route path="/operators" component={Operators} />
              <Route path="/operators/:address" component={Operator} />
              <Route path="/delegate" component={DelegateRoute} />
              <Route path="/marketplace" component={Marketplace} />
              <Route path="/jobs" component={Jobs} />
              <Route default component={NotFound} />
            </Router>
          </ErrorBoundary>
        </main>
      </LocationProvider>
    </AppContext.Provider>
  );
}

function DelegateRoute() {
  const { query } = useLocation();
  return <Delegate operator={query.operator} />;
}

function NotFound() {
  return (
    <section class="page" data-page="not-found" data-state="ready">
      <h1>Not found</h1>
      <p>
        No such page: <a href="/">back to the network</a>.
      </p>
    </section>
  );
}

async function start() {
  const root = document.getElementById("app")!;
  try {
    const chain = connectChain(await loadConfig());
    root.textContent = "";
    render(<App chain={chain} />, root);
  } catch (err) {
    root.innerHTML = "";
    const p = document.createElement("p");
    p.className = "error";
    p.setAttribute("role", "alert");
    p.textContent = `The dashboard cannot start: ${(err as Error).message}`;
    root.append(p);
  }
}

void start();
