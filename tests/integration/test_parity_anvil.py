"""The same scenario on the embedded chain (py-evm) and on anvil (revm) ends in the same state.

Both runs start from an empty chain with the same keys, so every transaction has the same sender
and nonce and every contract the same address. The scenario is the populated world of
tests/conftest.py plus orders that end settled (domestic CNY, overseas USD, redirected to a lender),
cancelled (by a party, and by resolving a dispute) and disputed, a suspension, and a refused call.

Not compared, because they come from the clocks and not from the platform's rules: block
timestamps (a document's `attached_at`) and credential expiries (set from the wall clock by the
onboarding workflow). Due dates are fixed here, so they are compared.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from eth_utils import keccak

from vscm.chain.backends import connect
from vscm.client.records import Member, Order, OrderStatus, Status
from vscm.client.workflows import OrderPlan, ship_and_settle
from vscm.errors import ContractRevert

pytestmark = pytest.mark.anvil

#: A fixed "now" for due dates (2030-03-17), later than either chain's clock.
T0 = 1_900_000_000
DAY = 86400


def _root_conftest() -> ModuleType:
    """tests/conftest.py by path (`from harness import` gets whichever conftest loaded last)."""
    name = "vscm_tests_root_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).resolve().parents[1] / "conftest.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def run_scenario(chain: Any) -> dict[str, Any]:
    """Populate the platform on `chain`, run the orders, and read back what the platform holds."""
    conftest = _root_conftest()
    # The test-wired world: bank2 stands in for the LoanBook as a finance contract of the OrderBook.
    world = conftest.populate(chain, conftest.make_parties(), test_wired=True)
    platform, p, chain_id = world.platform, world.p, world.chain_id
    orders = platform.orders

    def plan(buyer: Any, seller: Any, currency: str, amount: int, **terms: Any) -> OrderPlan:
        return OrderPlan(buyer, seller, p.carrier, p.warehouse, chain_id, currency, amount, **terms)

    settled_cny = ship_and_settle(platform, plan(p.core, p.supplier, "CNY", 120_000_00), now=T0)
    settled_usd = ship_and_settle(platform, plan(p.seller, p.core, "USD", 42_500_00, overseas=True,
                                                 incoterm="CIF", destination_country="KZ"), now=T0)

    cancelled = orders.as_(p.supplier).place(p.supplier2.address, chain_id, "CNY", 8_800_00, T0 + 10 * DAY).id
    orders.as_(p.supplier2).cancel(cancelled)

    disputed = orders.as_(p.core).place(p.supplier2.address, chain_id, "CNY", 33_000_00, T0 + 20 * DAY).id
    orders.as_(p.supplier2).accept(disputed)
    orders.as_(p.supplier2).ship(disputed, p.carrier.address, p.warehouse.address)
    orders.as_(p.core).dispute(disputed, keccak(text="wrong parts"))

    resolved = orders.as_(p.seller).place(p.supplier.address, chain_id, "CNY", 5_000_00, T0 + 5 * DAY).id
    orders.as_(p.supplier).accept(resolved)
    orders.as_(p.supplier).ship(resolved, p.carrier.address, p.warehouse.address)
    orders.as_(p.warehouse).deliver(resolved)
    orders.as_(p.seller).dispute(resolved, keccak(text="damaged in transit"))
    orders.as_(p.operator).resolve_dispute(resolved, True)

    # A receivable financed by bank: the settlement goes to the lender (bank2 stands in for LoanBook).
    redirected = orders.as_(p.core).place(p.supplier.address, chain_id, "CNY", 70_000_00, T0 + 60 * DAY).id
    orders.as_(p.supplier).accept(redirected)
    orders.as_(p.supplier).ship(redirected, p.carrier.address, p.warehouse.address)
    orders.as_(p.warehouse).deliver(redirected)
    orders.as_(p.supplier).invoice(redirected, "INV-R-1", keccak(text="invoice R-1"))
    orders.as_(p.bank2).redirect_settlement(redirected, p.bank.address)
    orders.as_(p.core).settle(redirected)

    platform.members.as_(p.operator).suspend(p.supplier2.address, keccak(text="disputed delivery"))
    try:
        orders.as_(p.carrier).settle(settled_cny)
        refused: tuple[str, dict[str, Any]] | None = None
    except ContractRevert as exc:
        refused = (exc.name, exc.values)

    return {
        "ids": {"settled_cny": settled_cny, "settled_usd": settled_usd, "cancelled": cancelled,
                "disputed": disputed, "resolved": resolved, "redirected": redirected},
        "deployment": {"registry": platform.deployment.registry, "orders": platform.deployment.orders,
                       "cash": platform.deployment.cash},
        "orders": [_without_clock_order(orders.order(i)) for i in range(1, orders.count() + 1)],
        "members": [_without_clock_member(m) for m in platform.members.members()],
        "chains": platform.members.supply_chains(),
        "balances": {code: {name: platform.cash(code).balance(a.address) for name, a in p}
                     for code in platform.currencies},
        "supply": {code: platform.cash(code).total_supply() for code in platform.currencies},
        "refused": refused,
    }


def _without_clock_order(order: Order) -> Order:
    return dataclasses.replace(order, documents=tuple(dataclasses.replace(d, attached_at=0) for d in order.documents))


def _without_clock_member(member: Member) -> Member:
    return dataclasses.replace(member, credential_expiry=0)


@pytest.fixture(scope="module")
def embedded() -> dict[str, Any]:
    with connect("embedded") as chain:
        return run_scenario(chain)


@pytest.fixture(scope="module")
def anvil() -> Iterator[dict[str, Any]]:
    with connect("anvil") as chain:
        yield run_scenario(chain)


def test_both_chains_deploy_the_platform_at_the_same_addresses(embedded: dict[str, Any], anvil: dict[str, Any]) -> None:
    assert embedded["deployment"] == anvil["deployment"]
    assert embedded["ids"] == anvil["ids"]


def test_both_chains_end_with_the_same_orders(embedded: dict[str, Any], anvil: dict[str, Any]) -> None:
    statuses = {name: embedded["orders"][i - 1].status for name, i in embedded["ids"].items()}
    assert statuses == {
        "settled_cny": OrderStatus.SETTLED, "settled_usd": OrderStatus.SETTLED, "cancelled": OrderStatus.CANCELLED,
        "disputed": OrderStatus.DISPUTED, "resolved": OrderStatus.CANCELLED, "redirected": OrderStatus.SETTLED,
    }
    assert len(embedded["orders"]) == 6
    assert embedded["orders"] == anvil["orders"]


def test_both_chains_end_with_the_same_members_and_supply_chains(embedded: dict[str, Any],
                                                                 anvil: dict[str, Any]) -> None:
    assert len(embedded["members"]) == 12  # every party but operator, applicant and outsider applied
    statuses = {m.name: m.status for m in embedded["members"]}
    assert statuses["Core Manufacturing"] == Status.ACTIVE and statuses["Second Core"] == Status.PENDING
    assert Status.SUSPENDED in statuses.values()  # supplier2
    assert embedded["members"] == anvil["members"]
    assert embedded["chains"] == anvil["chains"]


def test_both_chains_end_with_the_same_balances(embedded: dict[str, Any], anvil: dict[str, Any]) -> None:
    assert embedded["balances"]["CNY"]["supplier"] == 120_000_00
    assert embedded["balances"]["CNY"]["bank"] == 70_000_00
    assert embedded["balances"]["USD"]["core"] == 100_000_00 + 42_500_00
    assert embedded["balances"] == anvil["balances"]
    assert embedded["supply"] == anvil["supply"]
    assert all(sum(embedded["balances"][c].values()) == embedded["supply"][c] for c in embedded["supply"])


def test_both_chains_refuse_the_same_call_with_the_same_error(embedded: dict[str, Any], anvil: dict[str, Any]) -> None:
    assert embedded["refused"] is not None and embedded["refused"][0] == "OrderNotBuyer"
    assert embedded["refused"] == anvil["refused"]
