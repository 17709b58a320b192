// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {DataRules} from "../disputes/DataRules.sol";
import {StepProver} from "../disputes/StepProver.sol";
import {StepRules} from "../disputes/StepRules.sol";

/// @notice Calls the linked StepProver as DisputeGame does (a library's selectors name its struct
///         types, so it is not called with its ABI directly), for the differential tests.
contract StepProverHarness {
    function execute(
        StepRules.Spec memory s,
        DataRules.Data memory d,
        StepProver.Query memory q,
        bytes32[] calldata roots,
        StepProver.LeafProof[] calldata proofs
    ) external pure returns (int256) {
        return StepProver.execute(s, d, q, roots, proofs);
    }
}
