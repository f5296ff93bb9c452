"""A Merkle tree over reading leaves that OpenZeppelin's ``MerkleProof`` verifies.

Pairs are hashed sorted (``keccak(min(a, b) ++ max(a, b))``, OpenZeppelin's commutative hash), so a
proof is the list of siblings from the leaf up. An odd node at the end of a layer goes up unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

from eth_utils import keccak

from vscm.oracle.model import OracleError

__all__ = ["MerkleTree", "hash_pair", "process_proof"]


def hash_pair(a: bytes, b: bytes) -> bytes:
    return keccak(a + b) if a < b else keccak(b + a)


def process_proof(leaf: bytes, proof: Sequence[bytes]) -> bytes:
    node = leaf
    for sibling in proof:
        node = hash_pair(node, sibling)
    return node


class MerkleTree:
    """The layers of the tree over ``leaves`` in the given order."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        if not leaves:
            raise OracleError("a Merkle tree needs at least one leaf")
        self.layers: list[list[bytes]] = [list(leaves)]
        while len(self.layers[-1]) > 1:
            layer = self.layers[-1]
            up = [hash_pair(layer[i], layer[i + 1]) for i in range(0, len(layer) - 1, 2)]
            if len(layer) % 2:
                up.append(layer[-1])
            self.layers.append(up)

    @property
    def root(self) -> bytes:
        return self.layers[-1][0]

    def proof(self, index: int) -> list[bytes]:
        """The siblings of leaf ``index`` from the bottom up."""
        if not 0 <= index < len(self.layers[0]):
            raise OracleError(f"no leaf {index} in a tree of {len(self.layers[0])}")
        out = []
        for layer in self.layers[:-1]:
            sibling = index ^ 1
            if sibling < len(layer):
                out.append(layer[sibling])
            index //= 2
        return out
