// SPDX-License-Identifier: MIT
// A key-value contract for the cantord test chain. It exists to make storage traffic that
// ERC-20s do not: writes to raw low slots, writes to hashed mapping slots, and deletions (a slot
// going back to zero), so state deltas see created, changed and deleted slots.
pragma solidity ^0.8.20;

contract Store {
    mapping(uint256 => uint256) public values; // slot 0: values[k] at keccak256(k . 0)
    uint256 public writes;                     // slot 1

    event Set(uint256 indexed key, uint256 value);

    function set(uint256 key, uint256 value) external {
        values[key] = value;
        writes += 1;
        emit Set(key, value);
    }

    function clear(uint256 key) external {
        delete values[key];
        writes += 1;
        emit Set(key, 0);
    }

    // Raw slots above 16 so they never alias `values` or `writes`.
    function setRaw(uint256 slot, uint256 value) external {
        require(slot >= 16, "low slot");
        assembly {
            sstore(slot, value)
        }
        writes += 1;
    }
}
