"""Helpers shared by the contract tests: events of a receipt, and a few multi-party steps.

Importable as `support` (pytest puts `tests/` on sys.path for tests/conftest.py); kept out of
conftest.py so that it is imported by name, not as whichever conftest module was loaded last.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from web3.logs import DISCARD

from vscm import demo
from vscm.client.financing import DAY, Origination, originate
from vscm.client.platform import Platform
from vscm.client.records import LoanMode, Role, Tier
from vscm.client.workflows import ONE_YEAR, doc_hash

__all__ = [
    "CONTROLLER_ROLE",
    "DEFAULT_ADMIN_ROLE",
    "FINANCE_ROLE",
    "ONE_YEAR",
    "OPERATOR_ROLE",
    "WIRING_ROLE",
    "apply_as",
    "b32",
    "certify_core2",
    "emitted",
    "expire_credential",
    "invoiced_order",
    "the_event",
    "usd_pledge_loan",
]

#: AccessControl roles, computed here rather than read from the contracts so that a renamed role fails.
DEFAULT_ADMIN_ROLE = b"\x00" * 32
OPERATOR_ROLE = keccak(text="OPERATOR_ROLE")
CONTROLLER_ROLE = keccak(text="CONTROLLER_ROLE")
FINANCE_ROLE = keccak(text="FINANCE_ROLE")
WIRING_ROLE = keccak(text="WIRING_ROLE")


def emitted(facade: Any, receipt: Any, name: str) -> list[dict[str, Any]]:
    """Every `name` event the facade's contract emitted in `receipt`, as dicts of arguments."""
    event = getattr(facade.contract.events, name)()
    return [dict(log["args"]) for log in event.process_receipt(receipt, errors=DISCARD)
            if log["address"] == facade.contract.address]


def the_event(facade: Any, receipt: Any, name: str) -> dict[str, Any]:
    """The one `name` event of `receipt` (fails when there are none or several)."""
    found = emitted(facade, receipt, name)
    assert len(found) == 1, f"expected one {name} event, found {len(found)}: {found}"
    return found[0]


def b32(label: str) -> bytes:
    """A distinct bytes32 value (reason, evidence, reference, credential hash) for a label."""
    return keccak(text=label)


def apply_as(world: Any, account: LocalAccount, roles: Iterable[Role] = (Role.SUPPLIER,), tier: Tier = Tier.SME,
             expiry: int | None = None, name: str = "Applicant Ltd") -> Any:
    """`account` applies for membership (credential valid for a year unless `expiry` is given)."""
    expiry = expiry if expiry is not None else world.now() + ONE_YEAR
    return world.platform.members.as_(account).apply(list(roles), tier, b32(f"credential:{name}"), expiry, name)


def expire_credential(world: Any, account: LocalAccount) -> int:
    """The operator shortens `account`'s credential to a minute, then the clock passes it; returns the expiry.

    Only this member is affected: everyone else's credential runs for a year.
    """
    expiry = world.now() + 60
    world.platform.members.as_(world.p.operator).update_credential(account.address, b32("short"), expiry)
    world.chain.time_travel(120)
    return expiry


def certify_core2(platform: Platform, p: Any) -> None:
    """The pending core applicant core2 is attested by bank (financier) and auditor: Active."""
    platform.members.as_(p.bank).attest(p.core2.address, Role.FINANCIER)
    platform.members.as_(p.auditor).attest(p.core2.address, Role.AUDITOR)


def invoiced_order(platform: Platform, buyer: LocalAccount, seller: LocalAccount, carrier: LocalAccount,
                   warehouse: LocalAccount, chain_id: int, amount: int, currency: str = "CNY") -> int:
    """An order taken through placed, accepted, shipped, delivered to invoiced; returns its id.

    The same steps as `vscm.client.workflows.ship_and_settle`, stopping before settlement.
    """
    orders = platform.orders
    now = platform.chain.now()
    order_id = orders.as_(buyer).place(seller.address, chain_id, currency, amount, now + 30 * 86400).id
    orders.as_(seller).accept(order_id)
    orders.as_(seller).ship(order_id, carrier.address, warehouse.address)
    orders.as_(warehouse).deliver(order_id)
    orders.as_(seller).invoice(order_id, f"INV-{order_id:06d}", doc_hash(f"order-{order_id}:invoice"))
    return order_id


def usd_pledge_loan(platform: Platform, principal: int) -> int:
    """The demo's bank lends ``principal`` USD to Baoji against a USD warehouse receipt (a second currency)."""
    cast = demo.Cast.from_seed()
    chain_id = platform.members.member(cast.core.address).chain_id
    platform.cash("USD").as_(cast.bank).mint(cast.bank.address, principal, keccak(text="index:usd-reserves"))
    lot = platform.assets.as_(cast.warehouse).register_receipt(cast.supplier_a.address, "XY-USD-0001", 40, "t", "USD",
                                                               4 * principal, doc_hash("lot: 40 t alloy")).id
    order = platform.orders.as_(cast.supplier_a).place(cast.supplier_b.address, chain_id, "USD", principal,
                                                       platform.chain.now() + 90 * DAY).id
    platform.orders.as_(cast.supplier_b).accept(order)
    return originate(platform, Origination(LoanMode.PLEDGE, lot, cast.supplier_a, cast.bank, principal, 600, 60 * DAY,
                                           5_000, order, guarantor=cast.core, supervisor=cast.warehouse.address))
