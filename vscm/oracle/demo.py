"""The oracle's part of the demo: a pledge whose goods are watched by devices.

A warehouse issues a receipt for rubber it holds for a borrower; the borrower pledges it to the bank
at 60 % LTV. The warehouse puts a load cell, a temperature logger and a door sensor on the lot, each
with its own key; three oracle nodes (each its own key, quorum 2) check and sign batches, and an
oracle publisher (an active member) puts them on chain. Readings flow; then 25 % of the goods leave
the warehouse without a release: the next batch shows the shortfall, the oracle raises a breach and
a margin call on the loan. Anyone can prove a single reading against the accepted batch root.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from vscm.client.financing import DAY, Origination, originate
from vscm.client.platform import Platform
from vscm.client.records import LoanMode, Role
from vscm.client.workflows import doc_hash, sme_application, together
from vscm.oracle.model import TargetKind
from vscm.oracle.node import Aggregator, OracleNode
from vscm.oracle.simulator import LoadCell, Site

__all__ = ["WatchedPledge", "run_watched_pledge"]

QUANTITY = 300  # t of natural rubber
VALUE = 240_000_00
PRINCIPAL = 120_000_00
LTV_BPS = 6_000


@dataclass(frozen=True)
class WatchedPledge:
    loan_id: int
    receipt_id: int
    batches: list[int]
    margin_call: bool
    quantity_seen: int


def _yuan(amount: int) -> str:
    return f"CNY {amount // 100:,}.{amount % 100:02d}"


def run_watched_pledge(platform: Platform, *, operator: LocalAccount, lender: LocalAccount,
                       guarantor: LocalAccount, borrower: LocalAccount, seller: LocalAccount,
                       warehouse: LocalAccount, chain_id: int, say: Callable[[str], None] = print,
                       seed: str = "vscm-demo") -> WatchedPledge:
    """Run the watched-pledge story on a platform whose parties are already members.

    ``borrower`` and ``seller`` are SMEs of supply chain ``chain_id``, ``guarantor`` its core
    enterprise, ``lender`` a financier holding the principal, ``warehouse`` an active warehouse. An
    oracle publisher is admitted and the oracle's signer set registered here (keys from ``seed``).
    """
    chain = platform.chain
    publisher = Account.from_key(keccak(text=f"{seed}:oracle-publisher"))
    nodes = [Account.from_key(keccak(text=f"{seed}:oracle-node:{i}")) for i in range(3)]
    if chain.faucet is not None:
        chain.fund(publisher.address, 10**20)
    oracle = platform.oracle
    together(platform, [(publisher, sme_application(platform, publisher, [Role.ORACLE], "Qinling IoT Oracle"))])
    _, signers = together(platform, [
        (operator, platform.members.as_(operator).build.approve(publisher.address)),
        (operator, oracle.as_(operator).build.set_signers([n.address for n in nodes], 2))])
    set_id = signers.id
    say(f"Qinling IoT Oracle joined as the oracle publisher; the operator registered signer set #{set_id}: "
        f"3 oracle nodes, each with its own key, any 2 of them sign a report")

    issued, placed = together(platform, [
        (warehouse, platform.assets.as_(warehouse).build.register_receipt(
            borrower.address, "XY-2026-0450", QUANTITY, "t", "CNY", VALUE, doc_hash("lot: 300 t natural rubber"))),
        (borrower, platform.orders.as_(borrower).build.place(seller.address, chain_id, "CNY", 100_000_00,
                                                             chain.now() + 90 * DAY))])
    receipt, purpose = issued.id, placed.id
    platform.orders.as_(seller).accept(purpose)
    loan_id = originate(platform, Origination(
        LoanMode.PLEDGE, receipt, borrower, lender, PRINCIPAL, 650, 90 * DAY, LTV_BPS, purpose,
        guarantor=guarantor, supervisor=warehouse.address))
    say(f"pledge loan #{loan_id}: receipt #{receipt} ({QUANTITY} t rubber, {_yuan(VALUE)}) backs {_yuan(PRINCIPAL)} "
        f"at a {LTV_BPS // 100} % LTV (limit {_yuan(VALUE * LTV_BPS // 10_000)})")

    site = Site.warehouse(seed, receipt, QUANTITY, prefix="XY", custodian=warehouse.address)
    custodian = oracle.as_(warehouse).build
    together(platform, [
        *((warehouse, custodian.register_device(dev.serial, dev.key.address, dev.metric, TargetKind.ASSET, receipt))
          for dev in site.devices),
        (warehouse, custodian.set_watch(TargetKind.ASSET, receipt, 200, 800, 0, 0))])
    say(f"the warehouse registered a load cell, a temperature logger (2-8 °C) and a door sensor on receipt "
        f"#{receipt}: {', '.join(d.serial for d in site.devices)}")

    aggregator = Aggregator([OracleNode(n, oracle, f"node{i}") for i, n in enumerate(nodes)], oracle, publisher)
    batches = []
    for round_ in range(2):
        readings = site.run(int(chain.now()) - 50, 6, 10)
        published = aggregator.publish(readings)
        state = oracle.target_state(TargetKind.ASSET, receipt)
        batches.append(published.batch.report.batch_id)
        say(f"batch {round_ + 1}: {published.batch.report.reading_count} signed readings under one Merkle root, "
            f"signed by {len(published.signers)} nodes, {published.gas_used:,} gas; on chain: {state.quantity} t, "
            f"{state.min_temp / 100:.1f}-{state.max_temp / 100:.1f} °C, collateral {_yuan(state.collateral_value)}")

    cell = site.devices[0]
    assert isinstance(cell, LoadCell)
    cell.remove(75)
    published = aggregator.publish(site.run(int(chain.now()) - 50, 6, 10))
    batches.append(published.batch.report.batch_id)
    state = oracle.target_state(TargetKind.ASSET, receipt)
    say(f"75 t left the warehouse without a release: batch 3 shows {state.quantity} t → breach "
        f"{', '.join(state.breach_names)}")
    for a in oracle.events(published.receipt, "MarginCall"):
        say(f"MARGIN CALL on loan #{a['loanId']}: collateral {_yuan(a['collateralValue'])} × {LTV_BPS // 100} % = "
            f"{_yuan(a['limit'])} < {_yuan(a['outstanding'])} owed")
    sink = oracle.alert_sink()
    if int(sink, 16):
        say(f"the oracle passed the margin call and the breach to the control mechanism at {sink}")

    batch = published.batch
    index = batch.index_of(cell.device_id, cell.seq)
    leaf = oracle.verify_reading(batch.report.batch_id, batch.readings[index].reading, batch.proof(index))
    say(f"anyone can prove a reading: the load cell's reading #{cell.seq} ({batch.readings[index].reading.value / 1000:.1f} t) "
        f"is in batch 3 (leaf 0x{leaf.hex()[:12]}…, proof of {len(batch.proof(index))} hashes)")
    return WatchedPledge(loan_id, receipt, batches, state.margin_call, state.quantity)
