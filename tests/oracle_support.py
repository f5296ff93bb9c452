"""Helpers of the oracle tests: node keys, a watched pledge, batches signed by k of n nodes.

Importable as `oracle_support` (pytest puts tests/ on sys.path).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from financing_support import Deal, Fin

from vscm.oracle.model import SignedReading, TargetKind
from vscm.oracle.node import Aggregator, Batch, OracleNode
from vscm.oracle.report import Report, sign_report
from vscm.oracle.simulator import LoadCell, Site

__all__ = ["NODE_COUNT", "QUORUM", "Watched", "node_keys", "setup_oracle", "signed", "watch_pledge"]

NODE_COUNT = 3
QUORUM = 2


def node_keys(seed: str = "vscm-tests", count: int = NODE_COUNT) -> list[LocalAccount]:
    """Each oracle node's own key."""
    return [Account.from_key(keccak(text=f"{seed}:oracle-node:{i}")) for i in range(count)]


def setup_oracle(world: Any, keys: list[LocalAccount] | None = None, quorum: int = QUORUM) -> list[OracleNode]:
    """The operator registers the signer set; returns one node per key."""
    keys = keys or node_keys()
    world.platform.oracle.as_(world.p.operator).set_signers([k.address for k in keys], quorum)
    return [OracleNode(k, world.platform.oracle, f"node{i}") for i, k in enumerate(keys)]


@dataclass
class Watched:
    """A disbursed pledge loan whose receipt the warehouse watches with simulated devices."""

    deal: Deal
    site: Site
    nodes: list[OracleNode]
    aggregator: Aggregator

    @property
    def cell(self) -> LoadCell:
        cell = self.site.devices[0]
        assert isinstance(cell, LoadCell)
        return cell

    def readings(self, world: Any, samples: int = 3, interval: int = 10) -> list[SignedReading]:
        start = int(world.chain.now()) - samples * interval
        return self.site.run(start, samples, interval)


def watch_pledge(world: Any, seed: str = "watched", quantity: int = 500) -> Watched:
    """A pledge of 500 t worth 400,000.00 at 60% LTV for 200,000.00, watched by a load cell, a
    temperature logger (2..8 C) and a door sensor (open 08:00-18:00 UTC); three nodes, quorum 2."""
    fin = Fin(world)
    deal = fin.pledge(quantity=quantity)
    oracle = world.platform.oracle
    nodes = setup_oracle(world)
    site = Site.warehouse(seed, deal.asset_id, quantity, custodian=world.p.warehouse.address)
    for dev in site.devices:
        oracle.as_(world.p.warehouse).register_device(dev.serial, dev.key.address, dev.metric, TargetKind.ASSET,
                                                      deal.asset_id)
    oracle.as_(world.p.warehouse).set_watch(TargetKind.ASSET, deal.asset_id, 200, 800, 8 * 3600, 18 * 3600)
    return Watched(deal, site, nodes, Aggregator(nodes, oracle, world.p.oracle))


def signed(world: Any, report: Report, keys: list[LocalAccount], chain_id: int | None = None,
           contract: str | None = None) -> list[bytes]:
    oracle = world.platform.oracle
    return [sign_report(report, k, chain_id if chain_id is not None else oracle.chain_id,
                        contract or oracle.address) for k in keys]


def prepare(w: Watched, world: Any, samples: int = 3) -> Batch:
    return w.nodes[0].prepare(w.readings(world, samples))
