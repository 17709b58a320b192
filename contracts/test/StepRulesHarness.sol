// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {StepRules} from "../disputes/StepRules.sol";

/// @notice Exposes StepRules for the differential tests against the TypeScript engine.
contract StepRulesHarness {
    function slotAt(StepRules.Spec memory s, uint256 index) external pure returns (StepRules.Slot memory) {
        return StepRules.slotAt(s, index);
    }

    /// @notice The element at byte `offset` of slot `index`, and the operand ranges of its rule
    ///         (element rule; or a fold's start, chunk `chunk` and finish, concatenated).
    function elementAt(
        StepRules.Spec memory s,
        uint256 index,
        uint256 offset,
        uint256 chunk
    ) external pure returns (StepRules.Element memory e, StepRules.Range[] memory ranges) {
        e = StepRules.elementAt(s, index, offset);
        if (!StepRules.isFold(e)) return (e, StepRules.elementOperands(s, e));
        StepRules.Range[] memory a = StepRules.initOperands(s, e);
        StepRules.Range[] memory b = StepRules.chunkOperands(s, e, chunk);
        StepRules.Range[] memory c = StepRules.finishOperands(s, e);
        ranges = new StepRules.Range[](a.length + b.length + c.length);
        for (uint256 i; i < a.length; ++i) ranges[i] = a[i];
        for (uint256 i; i < b.length; ++i) ranges[a.length + i] = b[i];
        for (uint256 i; i < c.length; ++i) ranges[a.length + b.length + i] = c[i];
    }

    function effectiveWeight(int256 p) external pure returns (int256) {
        return StepRules.effectiveWeight(p);
    }

    function foldChunk(uint8 op, int256 acc, bytes[] memory ops) external pure returns (int256) {
        StepRules.Element memory e;
        e.op = op;
        return StepRules.foldChunk(e, acc, ops);
    }

    function foldFinish(
        StepRules.Spec memory s,
        uint8 op,
        uint256 layer,
        int256 acc,
        bytes[] memory ops
    ) external pure returns (int256) {
        StepRules.Element memory e;
        (e.op, e.layer) = (op, layer);
        return StepRules.foldFinish(s, e, acc, ops);
    }
}
