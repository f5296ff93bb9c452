// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @notice Plain OpenZeppelin tokens, deployed only by the benchmarks as gas references.
contract ReferenceERC20 is ERC20 {
    constructor(address holder, uint256 supply) ERC20("Reference", "REF") {
        _mint(holder, supply);
    }
}

/// @notice Plain OpenZeppelin ERC-721 with an open mint, a gas reference for the benchmarks.
contract ReferenceERC721 is ERC721 {
    constructor() ERC721("Reference", "REF") {}

    function mint(address to, uint256 tokenId) external {
        _mint(to, tokenId);
    }
}
