"""The test harness: named parties, the populated world every contract test starts from, and
`reverts`. Imported by name (`from harness import ...`; pytest puts tests/ on sys.path), never as
`conftest`, which would be whichever conftest module pytest loaded last.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from hexbytes import HexBytes

from vscm.chain.deploy import deploy_contracts, deploy_platform, seal_wiring, wire_platform
from vscm.client.platform import Platform
from vscm.client.records import Role
from vscm.client.workflows import certify_core, form_chain, onboard_sme
from vscm.errors import ContractRevert

#: The mint cap of the world's financiers in every currency: far above anything a test mints.
TEST_MINT_CAP = 10**15

PARTY_NAMES = (
    "operator", "bank", "bank2", "auditor", "core", "core2", "supplier", "supplier2", "seller",
    "warehouse", "carrier", "oracle", "monitor", "outsider", "applicant",
)


@dataclass(frozen=True)
class Parties:
    operator: LocalAccount
    bank: LocalAccount
    bank2: LocalAccount
    auditor: LocalAccount
    core: LocalAccount
    core2: LocalAccount
    supplier: LocalAccount
    supplier2: LocalAccount
    seller: LocalAccount
    warehouse: LocalAccount
    carrier: LocalAccount
    oracle: LocalAccount
    monitor: LocalAccount
    outsider: LocalAccount
    applicant: LocalAccount

    def __iter__(self) -> Iterator[tuple[str, LocalAccount]]:
        return ((name, getattr(self, name)) for name in PARTY_NAMES)


def make_parties(seed: str = "vscm-tests") -> Parties:
    return Parties(**{name: Account.from_key(keccak(text=f"{seed}:{name}")) for name in PARTY_NAMES})


@dataclass
class World:
    """A deployed, populated platform: the state every contract test starts from.

    - bank, bank2 (financiers), auditor, oracle, monitor: active institutions;
    - core: an active core manufacturer (certified by bank + auditor), leading supply chain `chain_id`;
    - supplier, supplier2, seller: active SMEs in that chain; warehouse, carrier: active SMEs (no chain);
    - core2: a pending core applicant; applicant, outsider: never registered;
    - cash: core and seller hold CNY 1,000,000.00 and USD 100,000.00 each, minted by bank.
    """

    chain: Any
    platform: Platform
    p: Parties
    chain_id: int

    def now(self) -> int:
        """The latest block's timestamp (the embedded clock ticks one second a block)."""
        return int(self.chain.timestamp())


def deploy_test_wired(chain: Any, parties: Parties) -> Platform:
    """A platform wired at deployment with test parties in internal roles, to drive one contract's rules
    directly: the operator as the AssetRegistry's locker and the FundTracker's LoanBook, the monitor as
    the LoanBook's, the FundTracker's and the MemberRegistry's controller, bank2 as an OrderBook finance contract. The wiring
    is then sealed as `deploy_platform` seals it, except the TelemetryOracle's, whose alert sink the
    oracle tests swap for test doubles. Production deployments never have such a world: see
    tests/contracts/test_wiring_sealed.py."""
    p = parties
    platform = deploy_contracts(chain, p.operator, network="test-wired")
    wire_platform(platform, p.operator)
    platform.assets.as_(p.operator).grant(platform.assets.role("LOCKER_ROLE"), p.operator.address)
    platform.funds.as_(p.operator).grant(platform.funds.role("LOANBOOK_ROLE"), p.operator.address)
    platform.loans.as_(p.operator).grant(platform.loans.role("CONTROLLER_ROLE"), p.monitor.address)
    platform.funds.as_(p.operator).grant(platform.funds.role("CONTROLLER_ROLE"), p.monitor.address)
    platform.members.as_(p.operator).grant_controller(p.monitor.address)
    platform.orders.as_(p.operator).grant(platform.orders.role("FINANCE_ROLE"), p.bank2.address)
    for facade in platform.wired_contracts():
        if facade is not platform.oracle:
            facade.as_(p.operator).renounce(facade.role("WIRING_ROLE"))
    return platform


def deploy_with_monitor_controller(chain: Any, parties: Parties) -> Platform:
    """The production wiring plus the monitor as a second controller of the LoanBook and the FundTracker
    (beside RiskControl), then sealed as `deploy_platform` seals it: the financing machine warns, clears
    and recalls loans through the monitor account to drive the control rules directly."""
    p = parties
    platform = deploy_contracts(chain, p.operator, network="test-monitored")
    wire_platform(platform, p.operator)
    platform.loans.as_(p.operator).grant(platform.loans.role("CONTROLLER_ROLE"), p.monitor.address)
    platform.funds.as_(p.operator).grant(platform.funds.role("CONTROLLER_ROLE"), p.monitor.address)
    seal_wiring(platform, p.operator)
    return platform


def populate(chain: Any, parties: Parties, test_wired: bool = False, monitor_controller: bool = False) -> World:
    """The world every contract test starts from; `test_wired`: on :func:`deploy_test_wired`'s platform;
    `monitor_controller`: on :func:`deploy_with_monitor_controller`'s."""
    for _, account in parties:
        chain.fund(account.address, 10**21)
    if test_wired:
        platform = deploy_test_wired(chain, parties)
    elif monitor_controller:
        platform = deploy_with_monitor_controller(chain, parties)
    else:
        platform = deploy_platform(chain, parties.operator, manifest=False, network="test")
    p = parties
    for account, roles in ((p.bank, [Role.FINANCIER]), (p.bank2, [Role.FINANCIER]), (p.auditor, [Role.AUDITOR]),
                           (p.oracle, [Role.ORACLE]), (p.monitor, [Role.MONITOR]),
                           (p.supplier, [Role.SUPPLIER]), (p.supplier2, [Role.SUPPLIER]),
                           (p.seller, [Role.SELLER]), (p.warehouse, [Role.WAREHOUSE]),
                           (p.carrier, [Role.LOGISTICS])):
        onboard_sme(platform, p.operator, account, roles, f"member {account.address[:8]}")
    certify_core(platform, p.core, [Role.MANUFACTURER], "Core Manufacturing", p.bank, p.auditor)
    chain_id = form_chain(platform, p.core, "Core chain", [p.supplier, p.supplier2, p.seller])
    platform.members.as_(p.core2).apply([Role.MANUFACTURER], 1, keccak(text="core2"),
                                        chain.now() + 365 * 86400,
                                        "Second Core")
    for code in platform.currencies:
        for financier in (p.bank, p.bank2):
            platform.cash(code).as_(p.operator).set_mint_cap(financier.address, TEST_MINT_CAP)
    for who in (p.core, p.seller):
        platform.cash("CNY").as_(p.bank).mint(who.address, 1_000_000_00, keccak(text=f"dep:{who.address}"))
        platform.cash("USD").as_(p.bank).mint(who.address, 100_000_00, keccak(text=f"depu:{who.address}"))
    return World(chain=chain, platform=platform, p=p, chain_id=chain_id)


def second_chain(w: World, movers: tuple[LocalAccount, ...] = ()) -> int:
    """core2 (the world's pending core applicant) is attested by bank and auditor and forms a second chain;
    each of `movers` leaves the core's chain and joins it. Returns the new chain's id."""
    p, members = w.p, w.platform.members
    members.as_(p.bank).attest(p.core2.address, Role.FINANCIER)
    members.as_(p.auditor).attest(p.core2.address, Role.AUDITOR)
    chain2 = members.as_(p.core2).create_chain("Second chain").id
    for who in movers:
        members.as_(who).leave_chain()
        members.as_(who).request_join(chain2)
        members.as_(p.core2).approve_join(chain2, who.address)
    return int(chain2)


def reverts(name: str, **expected: Any) -> Any:
    """`with reverts("OrderWrongStatus", orderId=1):` asserts the custom error and its values."""
    return _Reverts(name, expected)


class _Reverts:
    def __init__(self, name: str, expected: dict[str, Any]) -> None:
        self.name = name
        self.expected = expected
        self.error: ContractRevert | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool:
        if exc_type is None:
            raise AssertionError(f"expected revert {self.name}, but the call succeeded")
        if not isinstance(exc, ContractRevert):
            return False
        assert exc.name == self.name, f"expected {self.name}, got {exc}"
        for key, value in self.expected.items():
            assert key in exc.values, f"{exc.name} has no argument {key}: {exc.values}"
            assert exc.values[key] == value, f"{exc.name}.{key}: expected {value!r}, got {exc.values[key]!r}"
        self.error = exc
        return True


def b32(label: str) -> bytes:
    """A distinct bytes32 (document hash, reason, reference) for a label."""
    return keccak(text=label)


def emitted(facade: Any, receipt: Any, name: str) -> list[dict[str, Any]]:
    """Every `name` event the facade's contract emitted in `receipt`, as dicts of arguments."""
    event = getattr(facade.contract.events, name)()
    topic = bytes(HexBytes(event.topic))
    return [dict(event.process_log(log)["args"]) for log in receipt["logs"]
            if log["address"] == facade.address and bytes(log["topics"][0]) == topic]


def the_event(facade: Any, receipt: Any, name: str) -> dict[str, Any]:
    """The one `name` event of `receipt` (fails when there are none or several)."""
    found = emitted(facade, receipt, name)
    assert len(found) == 1, f"expected one {name} event, found {len(found)}: {found}"
    return found[0]
