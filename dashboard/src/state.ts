/** The chain the page talks to, the signer, and loading chain data into components. */
import { createContext } from "preact";
import { useCallback, useContext, useEffect, useRef, useState } from "preact/hooks";
import type { PoAIClient } from "@poai/sdk";
import type { Chain0 } from "./config.js";
import type { Signer } from "./wallet.js";

export interface AppState {
  chain: Chain0;
  /** Bumped after a transaction or a refresh: every page reloads its data. */
  version: number;
  refresh(): void;
  signer: Signer | null;
  setSigner(signer: Signer | null): void;
}

export const AppContext = createContext<AppState | null>(null);

export function useApp(): AppState {
  const app = useContext(AppContext);
  if (!app) throw new Error("useApp outside the dashboard");
  return app;
}

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  /** True until the first load ends (a reload keeps showing the previous data). */
  loading: boolean;
  reloading: boolean;
  /** Milliseconds the last load took. */
  ms: number | undefined;
}

/** Runs `load` with the read-only client on mount, when `key` changes, and on every refresh. */
export function useChainData<T>(load: (client: PoAIClient) => Promise<T>, key: string): Loaded<T> {
  const { chain, version } = useApp();
  const [state, setState] = useState<Loaded<T>>({
    data: undefined,
    error: undefined,
    loading: true,
    reloading: false,
    ms: undefined,
  });
  const run = useRef(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  const start = useCallback(() => {
    const id = ++run.current;
    const t0 = performance.now();
    setState((s) => ({ ...s, reloading: s.data !== undefined, loading: s.data === undefined }));
    loadRef.current(chain.client).then(
      (data) => {
        if (id === run.current)
          setState({ data, error: undefined, loading: false, reloading: false, ms: performance.now() - t0 });
      },
      (error: unknown) => {
        if (id === run.current)
          setState((s) => ({
            ...s,
            error: error instanceof Error ? error : new Error(String(error)),
            loading: false,
            reloading: false,
          }));
      },
    );
  }, [chain]);
  useEffect(() => {
    setState({ data: undefined, error: undefined, loading: true, reloading: false, ms: undefined });
    start();
  }, [key, start]);
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    start();
  }, [version]);
  return state;
}
