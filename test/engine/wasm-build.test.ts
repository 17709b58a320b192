import { expect } from "chai";
import { readFileSync } from "node:fs";
import { buildKernels, GENERATED_PATH, renderGenerated } from "../../sdk/src/compute/wasm/build.js";
import { kernelsBinary } from "../../sdk/src/compute/wasm/backend.js";

describe("engine: wasm kernels build", () => {
  it("embeds exactly the binary that kernels.as compiles to (run wasm/build.ts after editing it)", async () => {
    const { binary, compilerVersion } = await buildKernels();
    expect(Buffer.from(kernelsBinary()).equals(Buffer.from(binary))).to.equal(true);
    expect(readFileSync(GENERATED_PATH, "utf8")).to.equal(renderGenerated(binary, compilerVersion));
  });
});
