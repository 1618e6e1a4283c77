// SPDX-License-Identifier: MIT
// CantorVerifier - checks cantord proofs on chain (docs/formats.md: "Checkpoint message", "MMR leaf and
// root", "Delta leaf ABI", "State tree node"). One call verifies the whole chain of trust:
//   secp256k1 checkpoint signature (ecrecover, EIP-2 low s) -> block position in the MMR -> MMR path of
//   the block record -> delta entry (OZ MerkleProof, sorted pairs, double-hashed leaf) or state key (SMT).
// It reverts with a custom error naming the first check that failed (same order and names as
// core/proof.c) and returns true otherwise. Stateless apart from the immutable trusted signer.
// Kept in contracts/verifier/ because lib/compile.mjs compiles contracts/*.sol without an import resolver.
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

contract CantorVerifier {
    // docs/formats.md "ABI proof encoding": cantord's `?format=abi` answer is abi.encode(one of the
    // proof structs), so calldata = selector || that answer's bytes.
    struct Checkpoint {
        uint64 chainId;
        uint64 number; // head block of the checkpoint = last MMR leaf
        bytes32 blockHash;
        bytes32 mmrRoot;
    }

    struct DeltaProof {
        uint64 blockNumber;
        address addr;
        uint8 kind; // 0 balance, 1 nonce, 2 code hash, 3 storage
        bytes32 slot; // zero unless kind == 3
        bytes32 oldValue;
        bytes32 newValue;
        bytes32[] deltaProof; // OZ sibling list, leaf -> deltaRoot
        bytes32 deltaRoot;
        bytes32 stateRoot;
        bytes32 blockHash;
        uint64 leafIndex;
        uint64 leafCount;
        bytes32[] mmrSiblings; // leaf level first
        bytes32[] mmrPeaks; // highest (leftmost) first
        Checkpoint checkpoint;
        bytes signature; // r || s || v, 65 bytes, v in {27, 28}, low s
    }

    struct StateProof {
        uint64 blockNumber;
        address addr;
        uint8 kind;
        bytes32 slot;
        bool present; // the claim: key present with `value`, or absent
        bytes32 value;
        uint8 term; // 0 empty subtree, 1 the key's own leaf, 2 another key's leaf
        bytes32 leafKey;
        bytes32 leafValue;
        uint16 depth; // levels from the root to the terminal node
        uint256 bitmap; // bit (255 - i) set: the sibling at level i is non-empty
        bytes32[] smtSiblings; // the non-empty siblings, root side first
        bytes32 deltaRoot;
        bytes32 stateRoot;
        bytes32 blockHash;
        uint64 leafIndex;
        uint64 leafCount;
        bytes32[] mmrSiblings;
        bytes32[] mmrPeaks;
        Checkpoint checkpoint;
        bytes signature;
    }

    /// Where the block sits in the MMR: shared by both proof kinds.
    struct BlockPath {
        uint64 blockNumber;
        bytes32 blockHash;
        bytes32 deltaRoot;
        bytes32 stateRoot;
        uint64 leafIndex;
        uint64 leafCount;
    }

    error CheckpointSignature(); // malformed or high-s signature, bad v
    error CheckpointSigner(address recovered); // a valid signature by someone else
    error BlockMismatch();
    error MmrPath();
    error Leaf();
    error DeltaPath();
    error StatePath();

    uint64 private constant MAX_MMR_LEAVES = uint64(1) << 48;

    address public immutable signer;

    constructor(address trustedSigner) {
        signer = trustedSigner;
    }

    function verifyDelta(DeltaProof calldata p) external view returns (bool) {
        _checkCheckpoint(
            p.checkpoint,
            p.signature,
            BlockPath(p.blockNumber, p.blockHash, p.deltaRoot, p.stateRoot, p.leafIndex, p.leafCount),
            p.mmrSiblings,
            p.mmrPeaks
        );
        bytes32 leaf = keccak256(
            bytes.concat(keccak256(abi.encode(p.blockNumber, p.addr, p.kind, p.slot, p.oldValue, p.newValue)))
        );
        if (!MerkleProof.verifyCalldata(p.deltaProof, p.deltaRoot, leaf)) revert DeltaPath();
        return true;
    }

    function verifyState(StateProof calldata p) external view returns (bool) {
        _checkCheckpoint(
            p.checkpoint,
            p.signature,
            BlockPath(p.blockNumber, p.blockHash, p.deltaRoot, p.stateRoot, p.leafIndex, p.leafCount),
            p.mmrSiblings,
            p.mmrPeaks
        );
        if (p.present && (p.term != 1 || p.leafValue != p.value)) revert Leaf();
        if (!p.present && p.term == 1) revert Leaf();
        bytes32 key = keccak256(abi.encodePacked(p.addr, p.kind, p.slot));
        if (!_smtVerify(key, p)) revert StatePath();
        return true;
    }

    /// Signature, block position and MMR path: everything above the block record.
    function _checkCheckpoint(
        Checkpoint calldata cp,
        bytes calldata signature,
        BlockPath memory b,
        bytes32[] calldata mmrSiblings,
        bytes32[] calldata mmrPeaks
    ) internal view {
        bytes32 digest =
            keccak256(abi.encode(uint256(cp.chainId), uint256(cp.number), cp.blockHash, cp.mmrRoot));
        (address rec, ECDSA.RecoverError rerr,) =
            ECDSA.tryRecover(MessageHashUtils.toEthSignedMessageHash(digest), signature);
        if (rerr != ECDSA.RecoverError.NoError) revert CheckpointSignature();
        if (rec != signer) revert CheckpointSigner(rec);

        if (b.leafCount == 0 || b.leafCount > MAX_MMR_LEAVES || b.leafIndex >= b.leafCount) {
            revert BlockMismatch();
        }
        // One leaf per block, contiguous up to the checkpoint's block.
        if (cp.number < b.blockNumber || cp.number - b.blockNumber != b.leafCount - 1 - b.leafIndex) {
            revert BlockMismatch();
        }
        if (cp.number == b.blockNumber && cp.blockHash != b.blockHash) revert BlockMismatch();

        bytes32 leaf = keccak256(abi.encode(b.blockNumber, b.blockHash, b.deltaRoot, b.stateRoot));
        if (!_mmrVerify(cp.mmrRoot, leaf, b.leafIndex, b.leafCount, mmrSiblings, mmrPeaks)) revert MmrPath();
    }

    function _mmrVerify(
        bytes32 root,
        bytes32 leaf,
        uint256 idx,
        uint256 count,
        bytes32[] calldata siblings,
        bytes32[] calldata peaks
    ) internal pure returns (bool) {
        uint256 nPeaks;
        uint256 first;
        uint256 height = type(uint256).max;
        uint256 peak;
        for (uint256 bb = 64; bb > 0; bb--) {
            uint256 b = bb - 1;
            if ((count >> b) & 1 == 0) continue;
            if (height == type(uint256).max && idx < first + (uint256(1) << b)) {
                height = b;
                peak = nPeaks;
            } else if (height == type(uint256).max) {
                first += uint256(1) << b;
            }
            nPeaks++;
        }
        if (peaks.length != nPeaks || siblings.length != height) return false;
        uint256 li = idx - first;
        bytes32 cur = leaf;
        for (uint256 h = 0; h < height; h++) {
            cur = (li >> h) & 1 == 1 ? _hash2(siblings[h], cur) : _hash2(cur, siblings[h]);
        }
        if (cur != peaks[peak]) return false;
        bytes32 bag = peaks[nPeaks - 1];
        for (uint256 j = nPeaks - 1; j > 0; j--) {
            bag = _hash2(peaks[j - 1], bag);
        }
        return _hash2(bytes32(count), bag) == root;
    }

    /// The compacted sparse Merkle path of key reaches stateRoot (core/smt.c cantor_smt_verify).
    function _smtVerify(bytes32 key, StateProof calldata p) internal pure returns (bool) {
        uint256 depth = p.depth;
        uint256 bitmap = p.bitmap;
        if (depth > 256) return false;
        // Bits past the terminal must be clear and the set bits must match the siblings carried.
        if (depth < 256 && (bitmap << depth) != 0) return false;
        uint256 bits;
        for (uint256 m = bitmap; m != 0; m &= m - 1) {
            bits++;
        }
        if (bits != p.smtSiblings.length) return false;

        bytes32 cur;
        if (p.term == 1 || p.term == 2) {
            if ((p.leafKey == key) != (p.term == 1)) return false;
            // Another key's leaf only proves absence where its prefix is the queried key's.
            if (depth > 0 && (uint256(p.leafKey ^ key) >> (256 - depth)) != 0) return false;
            cur = keccak256(abi.encodePacked(uint8(0), p.leafKey, p.leafValue));
        } else if (p.term != 0) {
            return false;
        }
        uint256 j = bits;
        for (uint256 l = depth; l > 0; l--) {
            uint256 lvl = l - 1;
            bytes32 sib;
            if ((bitmap >> (255 - lvl)) & 1 == 1) sib = p.smtSiblings[--j];
            if ((uint256(key) >> (255 - lvl)) & 1 == 1) {
                cur = keccak256(abi.encodePacked(uint8(1), sib, cur));
            } else {
                cur = keccak256(abi.encodePacked(uint8(1), cur, sib));
            }
        }
        return cur == p.stateRoot;
    }

    function _hash2(bytes32 a, bytes32 b) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0x00, a)
            mstore(0x20, b)
            h := keccak256(0x00, 0x40)
        }
    }
}
