// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Bisection} from "./Bisection.sol";
import {DataRules} from "./DataRules.sol";
import {StepRules} from "./StepRules.sol";

/// @title StepProver
/// @notice The one-step proof of a training game (a linked library: its code is not the game's):
///         the element a challenger names in a revealed leaf, and the re-execution of one rule of
///         StepRules (an element rule, or a fold's start, one chunk or its finish) from operands
///         proven against the roots of earlier slots. The data slots' rules read the claim's data
///         (DataRules): the Philox generator for engine version 1, one dataset example proven
///         against the dataset's training root for version 2.
library StepProver {
    /// @notice A leaf of a slot's byte tree and its siblings, bottom up. For an element of a
    ///         version 2 data slot, the first proof is the dataset example instead: `index` the
    ///         example, `leaf` its label (uint16 LE) then its features root (34 bytes), `siblings`
    ///         its proof under the training root; an X element adds the leaf of the features' byte
    ///         tree that holds its feature (`index` the leaf, its 136 bytes, its siblings).
    struct LeafProof {
        uint256 index;
        bytes leaf;
        bytes32[] siblings;
    }

    /// @notice What to re-execute: `part` 0 a fold's start, 1 chunk `chunk` from `acc`, 2 the
    ///         finish from `acc`, 3 an element rule; `step` is the disputed step.
    struct Query {
        uint256 slot;
        uint256 offset;
        uint8 part;
        uint256 chunk;
        int256 acc;
        uint256 step;
    }

    error BadOffset(uint256 offset);
    error BadSlot(uint256 slot);
    error BadProof(uint256 slot, uint256 leaf);
    error MissingProof(uint256 slot, uint256 leaf);

    /// @notice The element holding byte `byteInLeaf` of leaf `node` of slot `slot` (the leaf's bytes
    ///         `leaf`): its offset in the slot, the value the leaf holds, and its fold's chunk count
    ///         (0 for an element rule).
    function pick(
        StepRules.Spec memory s,
        uint256 slot,
        uint256 node,
        bytes calldata leaf,
        uint256 byteInLeaf
    ) external pure returns (uint256 offset, int256 claimed, uint256 chunks) {
        if (byteInLeaf >= StepRules.LEAF_BYTES) revert BadOffset(byteInLeaf);
        uint256 leafStart = node * StepRules.LEAF_BYTES;
        StepRules.Element memory e = StepRules.elementAt(s, slot, leafStart + byteInLeaf);
        offset = e.offset;
        claimed = StepRules.storedValue(e, leaf, offset - leafStart);
        if (StepRules.isFold(e)) chunks = StepRules.chunkCount(e);
    }

    /// @notice The value the rule of `q` gives, from the operands in `proofs` (each leaf proven
    ///         against `roots` of a slot before `q.slot`).
    function execute(
        StepRules.Spec memory s,
        DataRules.Data memory d,
        Query memory q,
        bytes32[] calldata roots,
        LeafProof[] calldata proofs
    ) external pure returns (int256) {
        StepRules.Element memory e = StepRules.elementAt(s, q.slot, q.offset);
        if (q.part == 3) {
            if (e.op == StepRules.OP_INPUT) {
                bytes memory b = DataRules.streamBytes(
                    d.key,
                    DataRules.DOMAIN_INPUT,
                    q.step * s.batchSize + e.row,
                    e.col,
                    1
                );
                return StepRules.int8At(b, 0);
            }
            if (e.op == StepRules.OP_EXAMPLE) return _example(s, d, q, e, proofs);
            return
                StepRules.elementValue(
                    e,
                    _read(s, q.slot, roots, StepRules.elementOperands(s, e), proofs),
                    q.step
                );
        }
        if (q.part == 0)
            return StepRules.foldInit(e, _read(s, q.slot, roots, StepRules.initOperands(s, e), proofs));
        if (q.part == 2)
            return
                StepRules.foldFinish(
                    s,
                    e,
                    q.acc,
                    _read(s, q.slot, roots, StepRules.finishOperands(s, e), proofs)
                );
        bytes[] memory ops = _read(s, q.slot, roots, StepRules.chunkOperands(s, e, q.chunk), proofs);
        if (e.op == StepRules.OP_ARGMAX)
            return StepRules.argmaxChunk(q.acc, ops[0], q.chunk * StepRules.CHUNK_I32);
        if (e.op == StepRules.OP_TEACHER) {
            // the teacher row's chunk, derived from the key, then the inputs'
            bytes[] memory both = new bytes[](2);
            both[0] = DataRules.streamBytes(
                d.key,
                DataRules.DOMAIN_TEACHER,
                e.col,
                q.chunk * StepRules.CHUNK,
                ops[0].length
            );
            both[1] = ops[0];
            ops = both;
        }
        return StepRules.foldChunk(e, q.acc, ops);
    }

    /// Version 2: X[r][i] is feature i and LBL[r] the label of the example at sample position
    /// step · B + r, proven against the dataset's training root; feature i is read from leaf
    /// i / 136 of the example's features tree, proven against its features root.
    function _example(
        StepRules.Spec memory s,
        DataRules.Data memory d,
        Query memory q,
        StepRules.Element memory e,
        LeafProof[] calldata proofs
    ) private pure returns (int256) {
        uint256 index = DataRules.trainingExampleAt(d.key, d.count, q.step * s.batchSize + e.row);
        bool label_ = q.slot == 3;
        if (proofs.length != (label_ ? 1 : 2) || proofs[0].index != index) revert MissingProof(q.slot, index);
        (uint256 label, bytes32 featuresRoot) = DataRules.example(
            d.root,
            index,
            proofs[0].leaf,
            proofs[0].siblings
        );
        if (label_) return int256(label);
        (, uint256 depth) = StepRules.treeShape(s.widths[0]);
        uint256 j = e.col / StepRules.LEAF_BYTES;
        LeafProof calldata p = proofs[1];
        if (p.index != j || !Bisection.verify(featuresRoot, depth, j, p.leaf, p.siblings))
            revert BadProof(q.slot, j);
        return int8(uint8(p.leaf[e.col % StepRules.LEAF_BYTES]));
    }

    /// Reads each range from the supplied leaves (in order: each range's leaves, first to last),
    /// every leaf proven against the root of an earlier slot than the disputed one.
    function _read(
        StepRules.Spec memory s,
        uint256 slot,
        bytes32[] calldata roots,
        StepRules.Range[] memory ranges,
        LeafProof[] calldata proofs
    ) private pure returns (bytes[] memory out) {
        out = new bytes[](ranges.length);
        uint256 cursor;
        for (uint256 r; r < ranges.length; ++r) {
            StepRules.Range memory range = ranges[r];
            if (range.slot >= slot) revert BadSlot(range.slot);
            (uint256 leaves, uint256 depth) = StepRules.treeShape(StepRules.slotAt(s, range.slot).length);
            bytes memory bytes_ = new bytes(range.length);
            uint256 first = range.offset / StepRules.LEAF_BYTES;
            uint256 last = (range.offset + range.length - 1) / StepRules.LEAF_BYTES;
            for (uint256 j = first; j <= last; ++j) {
                if (cursor >= proofs.length) revert MissingProof(range.slot, j);
                LeafProof calldata p = proofs[cursor++];
                if (
                    p.index != j ||
                    j >= leaves ||
                    !Bisection.verify(roots[range.slot], depth, p.index, p.leaf, p.siblings)
                ) revert BadProof(range.slot, j);
                Bisection.copyLeaf(bytes_, range.offset, j, p.leaf);
            }
            out[r] = bytes_;
        }
    }
}
