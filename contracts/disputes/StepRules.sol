// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IntegerMLP} from "../libraries/IntegerMLP.sol";

/// @title StepRules
/// @notice The state layout of one SGD step of the engine (docs/disputes.md, "State layout") and the
///         one-step rules that define each element of it, bit for bit what
///         `sdk/src/compute/state/{layout,ops}.ts` compute. A step's state is 6 + 5L tensors
///         ("slots"), each committed by a byte tree of 136-byte leaves:
///
///         Θ_in, X, TS, LBL, A_1 … A_L, G, then for l = L-1 … 0: ET_{l+1}, AT_l, WT_l, E_l, then Θ_out
///
///         Element rules (w = clamp(roundShift(p, 8), ±127), the effective weight of parameter p):
///         - A_l[r][o]   fold over i: init 127·w(b[o]); chunk += w(W[o][i])·A_{l-1}[r][i];
///                       finish clamp(roundShift(acc, F_l), l = L ? -127 : 0, 127)
///         - G[r][c]     clamp(A_L[r][c] - 64·[c = LBL[r]], -127, 127)
///         - ET_l[o][r] = E_l[r][o] (E_L = G); AT_l[i][r] = A_l[r][i] (A_0 = X); WT_l[i][o] = w(W_l[o][i])
///         - E_l[r][i]   fold over o: chunk += WT_l[i][o]·E_{l+1}[r][o];
///                       finish A_l[r][i] > 0 ? clamp(roundShift(acc, G_l), ±127) : 0
///         - Θ_out[k]    fold over r: chunk += ET_{l+1}[o][r]·AT_l[i][r] (bias: 127·ET_{l+1}[o][r]);
///                       finish clamp(Θ_in[k] - roundShift(acc, lrShift), ±32767); header = step + 1
///         - bytes past a slot's encoding in its last leaf are 0.
///         - the data slots (docs/disputes.md, "Data slots"; the generator and the dataset proof are
///           DataRules', executed by StepProver):
///           X[r][i]     version 1: byte i of Philox item step·B + r (DOMAIN_INPUT), as int8;
///                       version 2: feature i of the dataset example the permutation picks
///           TS[r][c]    version 1, fold over i: chunk += T[c][i]·X[r][i] (T[c] Philox item c of
///                       DOMAIN_TEACHER); finish acc
///           LBL[r]      version 1, fold over c in chunks of 32: argmax_c TS[r][c] (ties to the
///                       lowest c; accumulator int128 best << 128 | index); version 2: the example's
///                       label
///
///         Rounding and saturation are IntegerMLP's: roundShift(x, s) = (x + 2^(s-1)) >> s with an
///         arithmetic shift, F_l = IntegerMLP.forwardShift(inputs of layer l-1), G_l the same
///         function of the outputs of layer l.
library StepRules {
    uint256 internal constant LEAF_BYTES = 136;
    uint256 internal constant THETA_HEADER = 8;
    /// @notice Contraction indices per fold chunk.
    uint256 internal constant CHUNK = 64;
    int256 internal constant PARAMETER_MAX = 32_767;
    int256 internal constant BIAS_INPUT = 127;
    int256 internal constant TARGET = 64;

    // slot kinds
    uint8 internal constant THETA_IN = 0;
    uint8 internal constant X = 1;
    uint8 internal constant TS = 2;
    uint8 internal constant LBL = 3;
    uint8 internal constant ACT = 4;
    uint8 internal constant LOSS = 5;
    uint8 internal constant ERR_T = 6;
    uint8 internal constant ACT_T = 7;
    uint8 internal constant WEIGHT_T = 8;
    uint8 internal constant ERR = 9;
    uint8 internal constant THETA_OUT = 10;

    // element rules
    uint8 internal constant OP_PADDING = 0;
    uint8 internal constant OP_HEADER = 1;
    uint8 internal constant OP_LOSS = 2;
    uint8 internal constant OP_TRANSPOSE = 3;
    uint8 internal constant OP_WEIGHT_T = 4;
    uint8 internal constant OP_FORWARD = 5;
    uint8 internal constant OP_BACKWARD = 6;
    uint8 internal constant OP_UPDATE_WEIGHT = 7;
    uint8 internal constant OP_UPDATE_BIAS = 8;
    uint8 internal constant OP_TEACHER = 9;
    uint8 internal constant OP_ARGMAX = 10;
    // element rules of the data slots (after the folds)
    uint8 internal constant OP_INPUT = 11;
    uint8 internal constant OP_EXAMPLE = 12;

    /// @notice Contraction indices per chunk of the argmax over int32 teacher scores (128 bytes).
    uint256 internal constant CHUNK_I32 = 32;
    /// @notice The argmax's start: best = int128 minimum, index 0, as the game stores it.
    int256 internal constant ARGMAX_START = type(int256).min;

    /// @notice The training spec fields a step's layout depends on.
    struct Spec {
        uint32[] widths;
        uint32 batchSize;
        uint8 lrShift;
        uint8 version;
    }

    struct Slot {
        uint8 kind;
        /// act: l in 1..L; err-t: l in 1..L; act-t, weight-t, err: l in 0..L-1.
        uint256 layer;
        uint256 rows;
        uint256 cols;
        uint256 size;
        uint256 length;
        bool present;
    }

    /// @notice One element of a slot and the rule that defines it.
    struct Element {
        uint8 op;
        uint256 slot;
        /// Byte offset and size of the element in the slot's encoding.
        uint256 offset;
        uint256 size;
        uint256 row;
        uint256 col;
        /// Weight layer of the rule.
        uint256 layer;
        /// Parameter index (Θ_out).
        uint256 param;
        /// Fold: contraction length.
        uint256 K;
    }

    /// @notice A byte range of a slot that a rule reads.
    struct Range {
        uint256 slot;
        uint256 offset;
        uint256 length;
    }

    error SlotOutOfRange(uint256 slot, uint256 slots);
    error SlotAbsent(uint256 slot);
    error SlotHasNoRule(uint256 slot, uint8 kind);

    function slotCount(Spec memory s) internal pure returns (uint256) {
        return 1 + 5 * s.widths.length;
    }

    function parameterCount(uint32[] memory w) internal pure returns (uint256 p) {
        for (uint256 j; j + 1 < w.length; ++j) p += (uint256(w[j]) + 1) * w[j + 1];
    }

    function weightOffset(uint32[] memory w, uint256 j) internal pure returns (uint256 p) {
        for (uint256 k; k < j; ++k) p += (uint256(w[k]) + 1) * w[k + 1];
    }

    function biasOffset(uint32[] memory w, uint256 j) internal pure returns (uint256) {
        return weightOffset(w, j) + uint256(w[j]) * w[j + 1];
    }

    /// @notice Leaves of a slot of `length` bytes, and the height of its tree.
    function treeShape(uint256 length) internal pure returns (uint256 leaves, uint256 depth) {
        leaves = length == 0 ? 1 : (length + LEAF_BYTES - 1) / LEAF_BYTES;
        while ((1 << depth) < leaves) ++depth;
    }

    /// @notice Slot `index` of a step of `s`.
    function slotAt(Spec memory s, uint256 index) internal pure returns (Slot memory out) {
        uint256 L = s.widths.length - 1;
        uint256 B = s.batchSize;
        uint32[] memory w = s.widths;
        uint256 count = 6 + 5 * L;
        if (index >= count) revert SlotOutOfRange(index, count);
        if (index == 0 || index == count - 1) {
            uint256 length = THETA_HEADER + 2 * parameterCount(w);
            return Slot(index == 0 ? THETA_IN : THETA_OUT, 0, 1, parameterCount(w), 2, length, true);
        }
        if (index == 1) return _slot(X, 0, B, w[0], 1, true);
        if (index == 2) return _slot(TS, 0, B, w[L], 4, s.version == 1);
        if (index == 3) return _slot(LBL, 0, B, 1, 4, true);
        if (index <= 3 + L) return _slot(ACT, index - 3, B, w[index - 3], 1, true);
        if (index == 4 + L) return _slot(LOSS, 0, B, w[L], 1, true);
        uint256 k = index - 5 - L;
        uint256 j = L - 1 - k / 4;
        uint256 part = k % 4;
        if (part == 0) return _slot(ERR_T, j + 1, w[j + 1], B, 1, true);
        if (part == 1) return _slot(ACT_T, j, w[j], B, 1, true);
        if (part == 2) return _slot(WEIGHT_T, j, w[j], w[j + 1], 1, j > 0);
        return _slot(ERR, j, B, w[j], 1, j > 0);
    }

    function _slot(
        uint8 kind,
        uint256 layer,
        uint256 rows,
        uint256 cols,
        uint256 size,
        bool present
    ) private pure returns (Slot memory) {
        return Slot(kind, layer, rows, cols, size, present ? rows * cols * size : 0, present);
    }

    /// @notice Index of A_l (A_0 = X).
    function actSlot(uint256 j) internal pure returns (uint256) {
        return j == 0 ? 1 : 3 + j;
    }

    /// @notice First of the four backward slots of layer l (ET_{l+1}, AT_l, WT_l, E_l).
    function backwardBase(uint256 L, uint256 j) internal pure returns (uint256) {
        return 5 + L + 4 * (L - 1 - j);
    }

    /// @notice Index of E_l (E_L = G).
    function errSlot(uint256 L, uint256 j) internal pure returns (uint256) {
        return j == L ? 4 + L : backwardBase(L, j) + 3;
    }

    /// @notice The element holding byte `offset` of slot `index`, and its rule.
    function elementAt(
        Spec memory s,
        uint256 index,
        uint256 offset
    ) internal pure returns (Element memory e) {
        Slot memory slot = slotAt(s, index);
        if (!slot.present) revert SlotAbsent(index);
        e.slot = index;
        if (offset >= slot.length) {
            e.op = OP_PADDING;
            e.offset = offset;
            e.size = 1;
            return e;
        }
        uint256 L = s.widths.length - 1;
        if (slot.kind == THETA_OUT) {
            if (offset < THETA_HEADER) {
                e.op = OP_HEADER;
                e.size = THETA_HEADER;
                return e;
            }
            uint256 k = (offset - THETA_HEADER) >> 1;
            e.param = k;
            e.offset = THETA_HEADER + 2 * k;
            e.size = 2;
            e.K = s.batchSize;
            uint256 start;
            for (uint256 j; j < L; ++j) {
                uint256 n = s.widths[j];
                uint256 m = s.widths[j + 1];
                if (k < start + n * m) {
                    (e.op, e.layer, e.row, e.col) = (OP_UPDATE_WEIGHT, j, (k - start) / n, (k - start) % n);
                    return e;
                }
                if (k < start + n * m + m) {
                    (e.op, e.layer, e.row) = (OP_UPDATE_BIAS, j, k - start - n * m);
                    return e;
                }
                start += (n + 1) * m;
            }
        }
        e.size = slot.size;
        uint256 el = offset / slot.size;
        e.offset = el * slot.size;
        e.row = el / slot.cols;
        e.col = el % slot.cols;
        e.layer = slot.layer;
        if (slot.kind == ACT) {
            e.op = OP_FORWARD;
            e.layer = slot.layer - 1;
            e.K = s.widths[slot.layer - 1];
        } else if (slot.kind == LOSS) e.op = OP_LOSS;
        else if (slot.kind == ERR_T || slot.kind == ACT_T) e.op = OP_TRANSPOSE;
        else if (slot.kind == WEIGHT_T) e.op = OP_WEIGHT_T;
        else if (slot.kind == ERR) {
            e.op = OP_BACKWARD;
            e.K = s.widths[slot.layer + 1];
        } else if (slot.kind == X) e.op = s.version == 1 ? OP_INPUT : OP_EXAMPLE;
        else if (slot.kind == TS) {
            e.op = OP_TEACHER;
            e.K = s.widths[0];
        } else if (slot.kind == LBL) {
            e.op = s.version == 1 ? OP_ARGMAX : OP_EXAMPLE;
            e.K = s.version == 1 ? s.widths[L] : 0;
        } else revert SlotHasNoRule(index, slot.kind);
    }

    /// @notice Whether the element's rule is a fold over chunks of a contraction.
    function isFold(Element memory e) internal pure returns (bool) {
        return e.op >= OP_FORWARD && e.op < OP_INPUT;
    }

    function chunkCount(Element memory e) internal pure returns (uint256) {
        uint256 chunk = e.op == OP_ARGMAX ? CHUNK_I32 : CHUNK;
        return (e.K + chunk - 1) / chunk;
    }

    // --- operand ranges ---------------------------------------------------------------------

    /// @notice What an element rule (not a fold) reads.
    function elementOperands(Spec memory s, Element memory e) internal pure returns (Range[] memory r) {
        uint256 L = s.widths.length - 1;
        if (e.op == OP_LOSS) {
            r = new Range[](2);
            r[0] = Range(actSlot(L), e.row * s.widths[L] + e.col, 1);
            r[1] = Range(3, 4 * e.row, 4);
        } else if (e.op == OP_TRANSPOSE) {
            r = new Range[](1);
            uint256 j = e.layer;
            uint256 source = slotAt(s, e.slot).kind == ERR_T ? errSlot(L, j) : actSlot(j);
            r[0] = Range(source, e.col * s.widths[j] + e.row, 1);
        } else if (e.op == OP_WEIGHT_T) {
            r = new Range[](1);
            r[0] = Range(
                0,
                THETA_HEADER + 2 * (weightOffset(s.widths, e.layer) + e.col * s.widths[e.layer] + e.row),
                2
            );
        }
    }

    /// @notice What a fold's start reads (only the forward pass's bias).
    function initOperands(Spec memory s, Element memory e) internal pure returns (Range[] memory r) {
        if (e.op != OP_FORWARD) return r;
        r = new Range[](1);
        r[0] = Range(0, THETA_HEADER + 2 * (biasOffset(s.widths, e.layer) + e.col), 2);
    }

    /// @notice What chunk `c` of a fold reads.
    function chunkOperands(
        Spec memory s,
        Element memory e,
        uint256 c
    ) internal pure returns (Range[] memory r) {
        uint256 chunk = e.op == OP_ARGMAX ? CHUNK_I32 : CHUNK;
        uint256 k0 = c * chunk;
        uint256 m = e.K - k0 < chunk ? e.K - k0 : chunk;
        uint256 L = s.widths.length - 1;
        uint256 B = s.batchSize;
        if (e.op == OP_TEACHER) {
            r = new Range[](1);
            r[0] = Range(1, e.row * s.widths[0] + k0, m);
        } else if (e.op == OP_ARGMAX) {
            r = new Range[](1);
            r[0] = Range(2, 4 * (e.row * s.widths[L] + k0), 4 * m);
        } else if (e.op == OP_FORWARD) {
            uint256 n = s.widths[e.layer];
            r = new Range[](2);
            r[0] = Range(0, THETA_HEADER + 2 * (weightOffset(s.widths, e.layer) + e.col * n + k0), 2 * m);
            r[1] = Range(actSlot(e.layer), e.row * n + k0, m);
        } else if (e.op == OP_BACKWARD) {
            uint256 n = s.widths[e.layer + 1];
            r = new Range[](2);
            r[0] = Range(backwardBase(L, e.layer) + 2, e.col * n + k0, m);
            r[1] = Range(errSlot(L, e.layer + 1), e.row * n + k0, m);
        } else if (e.op == OP_UPDATE_WEIGHT) {
            uint256 base = backwardBase(L, e.layer);
            r = new Range[](2);
            r[0] = Range(base, e.row * B + k0, m);
            r[1] = Range(base + 1, e.col * B + k0, m);
        } else {
            r = new Range[](1);
            r[0] = Range(backwardBase(L, e.layer), e.row * B + k0, m);
        }
    }

    /// @notice What a fold's finish reads: the ReLU's activation, or the parameter an update moves.
    function finishOperands(Spec memory s, Element memory e) internal pure returns (Range[] memory r) {
        if (e.op == OP_BACKWARD) {
            r = new Range[](1);
            r[0] = Range(actSlot(e.layer), e.row * s.widths[e.layer] + e.col, 1);
        } else if (e.op == OP_UPDATE_WEIGHT || e.op == OP_UPDATE_BIAS) {
            r = new Range[](1);
            r[0] = Range(0, THETA_HEADER + 2 * e.param, 2);
        }
    }

    // --- the rules ----------------------------------------------------------------------------

    /// @notice round(x / 2^s), halves up: (x + 2^(s-1)) >> s, arithmetic.
    function roundShift(int256 x, uint256 s) internal pure returns (int256) {
        return s == 0 ? x : (x + int256(1 << (s - 1))) >> s;
    }

    function clamp(int256 x, int256 lo, int256 hi) internal pure returns (int256) {
        return
            x < lo
                ? lo
                : x > hi
                    ? hi
                    : x;
    }

    /// @notice The int8 weight stored parameter `p` stands for.
    function effectiveWeight(int256 p) internal pure returns (int256) {
        return clamp(roundShift(p, 8), -127, 127);
    }

    function int8At(bytes memory b, uint256 i) internal pure returns (int256) {
        return int8(uint8(b[i]));
    }

    function int16At(bytes memory b, uint256 i) internal pure returns (int256) {
        return int16(uint16(uint8(b[i])) | (uint16(uint8(b[i + 1])) << 8));
    }

    function int32At(bytes memory b, uint256 i) internal pure returns (int256) {
        uint32 v;
        for (uint256 k; k < 4; ++k) v |= uint32(uint8(b[i + k])) << uint32(8 * k);
        return int32(v);
    }

    /// @notice The value of an element rule from its operands (in `elementOperands` order).
    function elementValue(Element memory e, bytes[] memory ops, uint256 step) internal pure returns (int256) {
        if (e.op == OP_PADDING) return 0;
        if (e.op == OP_HEADER) return int256(step + 1);
        if (e.op == OP_LOSS) {
            int256 label = int32At(ops[1], 0);
            return clamp(int8At(ops[0], 0) - (int256(e.col) == label ? TARGET : int256(0)), -127, 127);
        }
        if (e.op == OP_TRANSPOSE) return int8At(ops[0], 0);
        return effectiveWeight(int16At(ops[0], 0));
    }

    /// @notice A fold's start.
    function foldInit(Element memory e, bytes[] memory ops) internal pure returns (int256) {
        if (e.op == OP_ARGMAX) return ARGMAX_START;
        return e.op == OP_FORWARD ? BIAS_INPUT * effectiveWeight(int16At(ops[0], 0)) : int256(0);
    }

    /// @notice The accumulator after a chunk, from the one before it (not the argmax's: `argmaxChunk`).
    ///         A teacher score's operands are the teacher row's chunk (StepProver derives it), then
    ///         the inputs'.
    function foldChunk(Element memory e, int256 acc, bytes[] memory ops) internal pure returns (int256) {
        if (e.op == OP_FORWARD) {
            bytes memory a = ops[1];
            for (uint256 t; t < a.length; ++t) acc += effectiveWeight(int16At(ops[0], 2 * t)) * int8At(a, t);
        } else if (e.op == OP_UPDATE_BIAS) {
            for (uint256 t; t < ops[0].length; ++t) acc += BIAS_INPUT * int8At(ops[0], t);
        } else {
            for (uint256 t; t < ops[0].length; ++t) acc += int8At(ops[0], t) * int8At(ops[1], t);
        }
        return acc;
    }

    /// @notice The argmax accumulator (int128 best << 128 | index, as a word) after the int32 LE
    ///         scores `scores` of classes `first ..`: the first strictly larger score wins.
    function argmaxChunk(int256 acc, bytes memory scores, uint256 first) internal pure returns (int256) {
        uint256 word = uint256(acc);
        int256 best = int128(uint128(word >> 128));
        uint256 index = uint128(word);
        for (uint256 t; 4 * t < scores.length; ++t) {
            int256 v = int32At(scores, 4 * t);
            if (v > best) (best, index) = (v, first + t);
        }
        return int256((uint256(uint128(int128(best))) << 128) | index);
    }

    /// @notice The element's value from the fold's end.
    function foldFinish(
        Spec memory s,
        Element memory e,
        int256 acc,
        bytes[] memory ops
    ) internal pure returns (int256) {
        if (e.op == OP_FORWARD) {
            uint256 L = s.widths.length - 1;
            int256 lo = e.layer == L - 1 ? int256(-127) : int256(0);
            return clamp(roundShift(acc, IntegerMLP.forwardShift(s.widths[e.layer])), lo, 127);
        }
        if (e.op == OP_TEACHER) return acc;
        if (e.op == OP_ARGMAX) return int256(uint256(uint128(uint256(acc))));
        if (e.op == OP_BACKWARD) {
            if (int8At(ops[0], 0) <= 0) return 0;
            return clamp(roundShift(acc, IntegerMLP.forwardShift(s.widths[e.layer + 1])), -127, 127);
        }
        return clamp(int16At(ops[0], 0) - roundShift(acc, s.lrShift), -PARAMETER_MAX, PARAMETER_MAX);
    }

    /// @notice The value an element's bytes hold in its leaf (`at`: the element's offset in the leaf).
    function storedValue(Element memory e, bytes memory leaf, uint256 at) internal pure returns (int256 v) {
        if (e.op == OP_HEADER) {
            uint256 u;
            for (uint256 k; k < 8; ++k) u |= uint256(uint8(leaf[at + k])) << (8 * k);
            return int256(u);
        }
        if (e.op == OP_PADDING) return int256(uint256(uint8(leaf[at])));
        if (e.size == 1) return int8At(leaf, at);
        if (e.size == 2) return int16At(leaf, at);
        return int32At(leaf, at);
    }
}
