// Runs before `npm test`, `npm run devnet` and `npm run bench`: on a fresh clone it installs the
// dependencies with Node 22 (the npm `node` package), because Hardhat 3 needs Node >= 22 and npm
// under an older Node silently skips Hardhat's native EDR package. Plain CommonJS so any Node runs it.
const { existsSync } = require("node:fs");
const { execSync } = require("node:child_process");
const path = require("node:path");

const root = path.resolve(__dirname, "..");
const needed = [
  "node_modules/hardhat/package.json",
  "node_modules/node/package.json",
  "node_modules/@nomicfoundation/edr",
];
if (needed.every((p) => existsSync(path.join(root, p)))) process.exit(0);

// Progress goes to stderr: stdout may be a report (`npm run devnet -- --json > report.json`).
console.error("Installing dependencies with Node 22 (first run)…");
const npmCli = process.env.npm_execpath || "npm";
execSync(`npx -y node@22 "${npmCli}" ci`, { cwd: root, stdio: ["inherit", process.stderr, "inherit"] });
