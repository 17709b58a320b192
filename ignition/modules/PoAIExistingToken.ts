/**
 * The whole suite over a token that already exists: set `ExternalToken.address` in the parameters
 * file. `npx hardhat ignition deploy ignition/modules/PoAIExistingToken.ts --parameters …`.
 */
import { poaiModule } from "./PoAI.js";

export default poaiModule("existing");
