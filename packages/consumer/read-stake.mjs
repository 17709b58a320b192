/* global console, process */
// A dApp's plain-Node ESM script (no TypeScript loader): reads an operator's self-stake through the
// installed @poai/sdk. Arguments: the JSON-RPC URL, the deployment as JSON, the operator's address.
import { createPoAIClient, formatPoai, parseDeployment } from "@poai/sdk";
import { createPublicClient, http } from "viem";

const [url, deployment, operator] = process.argv.slice(2);
const publicClient = createPublicClient({ transport: http(url) });
const poai = createPoAIClient({ publicClient, deployment: parseDeployment(JSON.parse(deployment)) });
const view = await poai.staking.getOperator({ operator });
console.log(JSON.stringify({ selfStake: view.selfStake.toString(), shown: formatPoai(view.selfStake) }));
