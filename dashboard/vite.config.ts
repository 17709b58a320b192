/**
 * Build of the dashboard: a static single-page app in `dist/`, served by `poai dashboard` (or
 * `npm run devnet -- --dashboard`) next to a JSON-RPC bridge to the chain.
 *
 * `@poai/sdk` is imported by package name, and only its root entry (viem actions, ABIs, pure
 * helpers). That entry is browser-safe (no Node built-ins or globals), so it bundles with no
 * polyfills or shims.
 */
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  // JSX through Vite's own transform (Oxc), with Preact's automatic runtime: no Babel.
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  resolve: { alias: { react: "preact/compat", "react-dom": "preact/compat" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    chunkSizeWarningLimit: 1024,
    reportCompressedSize: false,
  },
  logLevel: "warn",
});
