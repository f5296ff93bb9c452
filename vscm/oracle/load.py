"""The IoT oracle's traffic for the load generator: ``vscm.load.EXTRA_FLOWS["oracle batches"]``.

    flows = vscm.oracle.load.flows(load, 20)       # 20 watched receipts, ROUNDS reports each
    load.run_flows("oracle batches", flows)        # or load.run_extra(20): every extra phase

Each flow is one warehouse's watched receipt: the warehouse registers a lot it holds for an SME of
its supply chain, registers the lot's load cell, temperature logger and door sensor (each device with
its own key) and sets the watch; then ``ROUNDS`` reporting rounds follow, each one report: a batch of
20 to 50 readings the devices signed, checked and signed by 2 of the 3 oracle nodes (EIP-712), and
submitted by the oracle publisher as one transaction through the load's driver (so through the
batched pipeline when the load uses one).

The one-time set-up (the publisher admitted with the Oracle role if the population has no active
oracle member, the signer set of 3 nodes with a quorum of 2) runs once per ``Load`` and is
idempotent on chain: a second ``Load`` on the same platform finds it done and sends nothing.

Timestamps follow the chain's clock, not the wall clock: a flow plans its devices' sample times when
its first report is built, one reading per device every ``interval`` seconds up to the chain's
"now", with ``interval`` chosen so the whole stream spans at most half the oracle's ``maxAge``: every
report's newest reading is then fresh enough when it lands, and never ahead of the chain.
"""

from __future__ import annotations

import random
import weakref
from collections.abc import Callable
from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from vscm.client.records import Role, Tier
from vscm.client.workflows import doc_hash
from vscm.errors import ChainError
from vscm.load import GAS, Flow, Load, Step, Tx
from vscm.oracle.model import TargetKind, serial_hash
from vscm.oracle.node import Aggregator, Batch, BlockReads, OracleNode
from vscm.oracle.report import Report
from vscm.oracle.simulator import Site

__all__ = ["NODES", "QUORUM", "ROUNDS", "OracleSetup", "flows", "setup"]

#: Oracle nodes in the signer set, and how many must sign each report.
NODES, QUORUM = 3, 2
#: Reports per watched receipt.
ROUNDS = 3
#: Samples per device in one report (3 devices: 21 to 48 readings).
SAMPLES = (7, 16)
#: Seconds between two samples of a device, at most (less when the oracle's maxAge is short).
INTERVAL = 60
#: Watched cold chain: 2-8 degrees Celsius, in hundredths.
MIN_TEMP, MAX_TEMP = 200, 800
YEAR = 365 * 86_400
ETHER = 10**18


@dataclass
class OracleSetup:
    """The oracle's parties for one load: the publisher, the nodes (each its own key) and the signer set."""

    publisher: LocalAccount
    nodes: list[OracleNode]
    aggregator: Aggregator
    signer_set: int


_SETUPS: weakref.WeakKeyDictionary[Load, OracleSetup] = weakref.WeakKeyDictionary()
#: the next lot number per asset registry: a lot's number names its receipt (the registry refuses a
#: second receipt for the same lot), so it must not repeat when another ``Load`` drives the platform
_LOTS: dict[tuple[int, str], int] = {}


def _reserve_lots(load: Load, count: int) -> int:
    """The first of ``count`` lot numbers no receipt of this platform has yet (nor a flow already made)."""
    key = (int(load.chain.chain_id), str(load.platform.assets.address))
    first = max(_LOTS.get(key, 0), load.platform.assets.count() + 1)
    _LOTS[key] = first + count
    return first


def setup(load: Load) -> OracleSetup:
    """The oracle's one-time set-up for ``load``, done once (and only what the chain does not have yet)."""
    done = _SETUPS.get(load)
    if done is not None:
        return done
    seed = load.population.seed
    p = load.platform
    oracle, members = p.oracle, p.members
    publisher = next((a for a in load.everyone() if members.is_active(a.address, Role.ORACLE)), None)
    rounds: list[list[Tx]] = []
    if publisher is None:
        publisher = Account.from_key(keccak(text=f"{seed}:oracle-publisher"))
        if not members.is_active(publisher.address, Role.ORACLE):
            faucet = load.chain.faucet
            if faucet is None:
                raise ChainError(f"{load.chain.name} has no faucet to fund the oracle publisher")
            expiry = load.chain.now() + 2 * YEAR
            rounds += [
                [Tx(faucet, to=publisher.address, value=10 * ETHER, gas=GAS["transfer"])],
                load.tx(publisher, load.build(members, publisher).apply(
                    [Role.ORACLE], Tier.SME, keccak(text=publisher.address), expiry, "IoT oracle publisher")),
                load.tx(load.operator, load.build(members, load.operator).approve(publisher.address)),
            ]
    keys = [Account.from_key(keccak(text=f"{seed}:oracle-node:{i}")) for i in range(NODES)]
    set_id, quorum, current = oracle.signer_set()
    if not (set_id and quorum == QUORUM and current == [k.address for k in keys]):
        rounds.append(load.tx(load.operator, load.build(oracle, load.operator).set_signers(
            [k.address for k in keys], QUORUM)))
    if rounds:
        load.run_rounds("oracle set-up", rounds)
        set_id = oracle.signer_set()[0]
    reads = BlockReads(oracle)  # the simulated nodes share their chain reads (each makes its own checks)
    nodes = [OracleNode(k, oracle, f"node{i}", reads) for i, k in enumerate(keys)]
    done = OracleSetup(publisher, nodes, Aggregator(nodes, oracle, publisher), set_id)
    _SETUPS[load] = done
    return done


@dataclass
class _Lot:
    """One watched receipt's devices and their planned sample times."""

    samples: list[int]
    site: Site | None = None
    origin: int = 0
    interval: int = 0
    sent: int = 0  # samples per device already reported
    pending: Batch | None = None  # submitted in the last round, to be remembered by the nodes


def flows(load: Load, count: int, rounds: int = ROUNDS) -> list[Flow]:
    """``count`` watched receipts, ``rounds`` reports each (see the module docstring)."""
    if count <= 0:
        return []
    s = setup(load)
    p = load.platform
    assets, oracle = p.assets, p.oracle
    first = _reserve_lots(load, count)
    out: list[Flow] = []
    for i in range(count):
        cast = load.chains[i % len(load.chains)]
        k = i // len(load.chains)
        warehouse = cast.warehouses[k % len(cast.warehouses)]
        owner = cast.traders[k % len(cast.traders)]
        serial = first + i
        rng = random.Random(f"{load.population.seed}:oracle:{serial}")
        quantity = rng.randrange(100, 501)  # tonnes
        value = quantity * rng.randrange(8_000, 15_000) * 100  # CNY minor units
        lot = _Lot([rng.randint(*SAMPLES) for _ in range(rounds)])
        seed = f"{load.population.seed}:oracle:{serial}"

        def register(ctx: dict[str, int], warehouse: LocalAccount = warehouse, owner: LocalAccount = owner,
                     serial: int = serial, quantity: int = quantity, value: int = value) -> list[Tx]:
            return load.tx(warehouse, load.build(assets, warehouse).register_receipt(
                owner.address, f"IOT-{serial}", quantity, "t", "CNY", value, doc_hash(f"oracle lot {serial}")),
                capture=("asset", *load.topics["asset"]))

        def devices(ctx: dict[str, int], warehouse: LocalAccount = warehouse, lot: _Lot = lot, seed: str = seed,
                    quantity: int = quantity) -> list[Tx]:
            receipt = ctx["asset"]
            lot.site = Site.warehouse(seed, receipt, quantity, prefix="LOAD", custodian=warehouse.address)
            custodian = load.build(oracle, warehouse)
            return [*(tx for d in lot.site.devices for tx in load.tx(warehouse, custodian.register_device(
                        serial_hash(d.serial), d.key.address, d.metric, TargetKind.ASSET, receipt))),
                    *load.tx(warehouse, custodian.set_watch(TargetKind.ASSET, receipt, MIN_TEMP, MAX_TEMP))]

        steps = [Step(register, "oracle receipt"), Step(devices, "oracle devices")]
        steps += [Step(_report(load, s, lot, n), f"oracle report {n + 1}") for n in range(rounds)]
        out.append(Flow(steps))
    return out


def _report(load: Load, s: OracleSetup, lot: _Lot, n: int) -> Callable[[dict[str, int]], list[Tx]]:
    """The build of round ``n``: one report, submitted by the publisher."""
    publisher = load.build(load.platform.oracle, s.publisher)
    return lambda ctx: load.tx(s.publisher, publisher.submit_report(*_next_report(load, s, lot, n)))


def _next_report(load: Load, s: OracleSetup, lot: _Lot, n: int) -> tuple[Report, list[bytes]]:
    """Round ``n`` of a lot: the devices' next samples, checked and signed by the nodes."""
    assert lot.site is not None, "the devices are registered before the first report"
    if lot.pending is not None:  # the previous report landed (a failed flow stops before this)
        for node in s.nodes:
            node.commit(lot.pending)
    if n == 0:
        max_age, _ = load.platform.oracle.limits()
        total = sum(lot.samples)
        lot.interval = max(1, min(INTERVAL, (max_age // 2) // total))
        lot.origin = int(load.chain.now()) - total * lot.interval
    readings = []
    for j in range(lot.samples[n]):
        t = lot.origin + (lot.sent + j + 1) * lot.interval
        readings += [d.sample(t) for d in lot.site.devices]
    lot.sent += lot.samples[n]
    batch, signatures = s.aggregator.collect(readings)
    lot.pending = batch
    return batch.report, [sig for _, sig in signatures]
