"""Who may call what: every state-changing function of the three contracts, from every party.

The matrix below is data: for each function, the parties that may call it in the matrix world and
the refusal every other party gets (with per-party exceptions where a different check stops them
first). Each allowed party's call is checked to succeed, so a refusal is never an accident of bad
arguments; each other party's call is checked to fail with exactly the error named.

The matrix world is the shared `world` (see tests/conftest.py) with a few changes, so that every
kind of caller exists and every function has a state in which someone may call it:

- core2 is certified (an active core outside any chain) and may found a chain;
- applicant has applied as an SME supplier: a pending member;
- supplier2 is suspended (still in the core's chain);
- outsider and operator are not members; operator holds the admin and operator roles;
- `newcore` (not a caller) is a pending core applicant, the target of attestations;
- warehouse has asked to join the core's chain;
- bank and bank2 hold 10.00 CNY each (to burn); core lets carrier spend 1.00 CNY of its money;
- a third currency (EUR) is deployed but not yet added to the OrderBook;
- one order per stage, bought by seller from supplier in the core's chain (carrier, warehouse):
  placed, accepted, shipped, delivered, invoiced (its amount approved to the OrderBook), disputed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account import Account
from eth_utils import keccak
from harness import PARTY_NAMES, reverts
from support import (
    CONTROLLER_ROLE,
    DEFAULT_ADMIN_ROLE,
    FINANCE_ROLE,
    ONE_YEAR,
    OPERATOR_ROLE,
    WIRING_ROLE,
    apply_as,
    b32,
    certify_core2,
)

from vscm.chain.artifacts import load as load_artifact
from vscm.client.platform import text32
from vscm.client.records import DocKind, Role, Status, Tier, roles_to_mask

CERTIFICATES_ROLE = keccak(text="CERTIFICATES_ROLE")

# ---------------------------------------------------------------------------------------------- world


@dataclass(frozen=True)
class Ctx:
    """The matrix world: the shared world plus what the module docstring lists."""

    world: Any
    newcore: str
    eur: str
    far: int  # a credential expiry far in the future
    orders: Mapping[str, int]

    @property
    def chain_id(self) -> int:
        return int(self.world.chain_id)

    def address(self, party: str) -> str:
        return str(getattr(self.world.p, party).address)

    def contract(self, name: str) -> Any:
        platform = self.world.platform
        return {"MemberRegistry": platform.members, "PlatformCash": platform.cash("CNY"),
                "OrderBook": platform.orders}[name].contract


def build(world: Any) -> Ctx:
    platform, p, chain = world.platform, world.p, world.chain
    certify_core2(platform, p)
    apply_as(world, p.applicant, [Role.SUPPLIER])
    newcore = Account.from_key(b32("matrix:newcore"))
    chain.fund(newcore.address, 10**18)
    apply_as(world, newcore, [Role.MANUFACTURER], Tier.CORE, name="New Core")
    platform.members.as_(p.operator).suspend(p.supplier2.address, b32("matrix"))
    platform.members.as_(p.warehouse).request_join(world.chain_id)
    cash = platform.cash("CNY")
    for financier in (p.bank, p.bank2):
        cash.as_(financier).mint(financier.address, 10_00, b32("matrix:deposit"))
    cash.as_(p.core).approve(p.carrier.address, 1_00)
    eur = chain.sender.deploy(p.operator, "PlatformCash", platform.members.address, "EUR", p.operator.address)

    orders = platform.orders
    due = world.now() + 30 * 86400

    def place() -> int:
        return orders.as_(p.seller).place(p.supplier.address, world.chain_id, "CNY", 100_00, due).id

    stage = {name: place() for name in ("placed", "accepted", "shipped", "delivered", "invoiced", "disputed")}
    for name in ("accepted", "shipped", "delivered", "invoiced", "disputed"):
        orders.as_(p.supplier).accept(stage[name])
    for name in ("shipped", "delivered", "invoiced", "disputed"):
        orders.as_(p.supplier).ship(stage[name], p.carrier.address, p.warehouse.address)
    for name in ("delivered", "invoiced"):
        orders.as_(p.warehouse).deliver(stage[name])
    orders.as_(p.supplier).invoice(stage["invoiced"], "INV-MATRIX", b32("matrix:invoice"))
    cash.as_(p.seller).approve(orders.address, 100_00)
    orders.as_(p.seller).dispute(stage["disputed"], b32("matrix:damaged"))
    return Ctx(world=world, newcore=newcore.address, eur=eur, far=world.now() + 10 * ONE_YEAR, orders=stage)


# ---------------------------------------------------------------------------------------------- matrix

CALLER = "<caller>"  # stands for the refused party's address in expected error values


@dataclass(frozen=True)
class Refusal:
    """The error a refused party gets; values are constants, CALLER, or functions of the world."""

    error: str
    values: Mapping[str, Any] = field(default_factory=dict)

    def expected(self, ctx: Ctx, caller: str) -> dict[str, Any]:
        return {key: caller if value == CALLER else value(ctx) if callable(value) else value
                for key, value in self.values.items()}


@dataclass(frozen=True)
class Row:
    contract: str
    function: str
    args: Callable[[Ctx], tuple[Any, ...]]
    allowed: frozenset[str]
    refusal: Refusal | None  # None: open to every party
    exceptions: Mapping[str, Refusal] = field(default_factory=dict)
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or f"{self.contract}.{self.function}"

    def refusal_for(self, party: str) -> Refusal:
        refusal = self.exceptions.get(party, self.refusal)
        assert refusal is not None, f"{self.name}: {party} is refused but no error is named"
        return refusal


def row(contract: str, function: str, args: Callable[[Ctx], tuple[Any, ...]], allowed: Any,
        refusal: Refusal | None, exceptions: Mapping[str, Refusal] | None = None, label: str = "") -> Row:
    allowed = frozenset(allowed)
    exceptions = dict(exceptions or {})
    unknown = (allowed | set(exceptions)) - set(PARTY_NAMES)
    assert not unknown, f"{contract}.{function}: unknown parties {unknown}"
    assert not allowed & set(exceptions), f"{contract}.{function}: a party is both allowed and refused"
    return Row(contract, function, args, allowed, refusal, exceptions, label)


def unauthorized(role: bytes) -> Refusal:
    return Refusal("AccessControlUnauthorizedAccount", {"account": CALLER, "neededRole": role})


def order(stage: str) -> Callable[[Ctx], int]:
    return lambda ctx: ctx.orders[stage]


def chain_id(ctx: Ctx) -> int:
    return ctx.chain_id


def not_party(error: str, stage: str) -> Refusal:
    return Refusal(error, {"orderId": order(stage), "caller": CALLER})


ALL = frozenset(PARTY_NAMES)
OPERATOR = {"operator"}
FINANCIERS = {"bank", "bank2"}
#: Active members of the matrix world (operator, outsider: not members; applicant: pending; supplier2: suspended).
ACTIVE = {"bank", "bank2", "auditor", "oracle", "monitor", "core", "core2", "supplier", "seller", "warehouse",
          "carrier"}
#: Active members outside any chain.
UNCHAINED = {"bank", "bank2", "auditor", "oracle", "monitor", "warehouse", "carrier", "core2"}
ORDER_PARTIES = {"seller", "supplier"}  # buyer and seller of every matrix order


def not_active(status: Status) -> Refusal:
    return Refusal("MemberNotActive", {"member": CALLER, "status": status})


#: A role no contract names: its admin is DEFAULT_ADMIN_ROLE (the internal roles' admin is WIRING_ROLE,
#: which nobody holds after the deployment: tests/contracts/test_wiring_sealed.py).
SOME_ROLE = b32("SOME_ROLE")


def role_rows(contract: str) -> list[Row]:
    """AccessControl's three writes, the same on every contract: the admin grants and revokes,
    and a role holder alone renounces its own role."""
    return [
        row(contract, "grantRole", lambda c: (SOME_ROLE, c.address("monitor")), OPERATOR,
            unauthorized(DEFAULT_ADMIN_ROLE)),
        row(contract, "revokeRole", lambda c: (OPERATOR_ROLE, c.address("monitor")), OPERATOR,
            unauthorized(DEFAULT_ADMIN_ROLE)),
        row(contract, "renounceRole", lambda c: (OPERATOR_ROLE, c.address("operator")), OPERATOR,
            Refusal("AccessControlBadConfirmation")),
    ]


MATRIX: list[Row] = [
    # ---------------------------------------------------------------- MemberRegistry
    row("MemberRegistry", "applyForMembership",
        lambda c: (roles_to_mask([Role.SUPPLIER]), int(Tier.SME), b32("matrix:cred"), c.far, "New Member"),
        {"operator", "outsider"}, Refusal("MemberAlreadyRegistered", {"member": CALLER})),
    row("MemberRegistry", "approveMember", lambda c: (c.address("applicant"),), OPERATOR,
        unauthorized(OPERATOR_ROLE)),
    row("MemberRegistry", "attest", lambda c: (c.newcore, int(Role.FINANCIER)), FINANCIERS,
        Refusal("MemberLacksRole", {"member": CALLER, "role": Role.FINANCIER}), label="attest(as financier)"),
    row("MemberRegistry", "attest", lambda c: (c.newcore, int(Role.AUDITOR)), {"auditor"},
        Refusal("MemberLacksRole", {"member": CALLER, "role": Role.AUDITOR}), label="attest(as auditor)"),
    row("MemberRegistry", "updateCredential", lambda c: (c.address("supplier"), b32("matrix:renewed"), c.far),
        OPERATOR, unauthorized(OPERATOR_ROLE)),
    row("MemberRegistry", "suspend", lambda c: (c.address("supplier"), b32("matrix:reason")), OPERATOR,
        unauthorized(CONTROLLER_ROLE)),
    row("MemberRegistry", "reinstate", lambda c: (c.address("supplier2"),), OPERATOR,
        unauthorized(CONTROLLER_ROLE)),
    # Eviction is final: the council's timelock (DEFAULT_ADMIN_ROLE; the operator key in a world without a
    # council) or the controller, not the operator role alone.
    row("MemberRegistry", "evict", lambda c: (c.address("supplier"), b32("matrix:reason")), OPERATOR,
        unauthorized(DEFAULT_ADMIN_ROLE)),
    row("MemberRegistry", "createChain", lambda c: (text32("Matrix chain"),), {"core2"},
        Refusal("NotCoreEnterprise", {"member": CALLER}),
        {"core": Refusal("AlreadyInChain", {"member": CALLER, "chainId": chain_id})}),
    row("MemberRegistry", "requestJoin", lambda c: (c.chain_id,), UNCHAINED,
        Refusal("AlreadyInChain", {"member": CALLER, "chainId": chain_id}),
        {"operator": not_active(Status.NONE), "outsider": not_active(Status.NONE),
         "applicant": not_active(Status.PENDING), "supplier2": not_active(Status.SUSPENDED)}),
    row("MemberRegistry", "approveJoin", lambda c: (c.chain_id, c.address("warehouse")), {"core"},
        Refusal("NotChainCore", {"chainId": chain_id, "caller": CALLER})),
    row("MemberRegistry", "leaveChain", lambda c: (), {"supplier", "seller"},
        Refusal("NotInChain", {"member": CALLER, "chainId": 0}),
        {"core": Refusal("CoreCannotLeave", {"chainId": chain_id}), "supplier2": not_active(Status.SUSPENDED)}),
    row("MemberRegistry", "evictChain", lambda c: (c.chain_id, b32("matrix:evidence")), OPERATOR,
        unauthorized(DEFAULT_ADMIN_ROLE)),
    # Only the control mechanism (RiskControl, CONTROLLER_ROLE) puts a chain under investigation.
    row("MemberRegistry", "setInvestigation", lambda c: (c.chain_id, c.far), set(), unauthorized(CONTROLLER_ROLE)),
    *role_rows("MemberRegistry"),
    # ---------------------------------------------------------------- PlatformCash (CNY)
    row("PlatformCash", "mint", lambda c: (c.address("supplier"), 1_00, b32("matrix:deposit")), FINANCIERS,
        Refusal("CashNotFinancier", {"caller": CALLER})),
    row("PlatformCash", "burn", lambda c: (1_00, b32("matrix:withdrawal")), FINANCIERS,
        Refusal("CashNotFinancier", {"caller": CALLER})),
    # The agents are wired at deployment; nobody names one afterwards.
    row("PlatformCash", "setAgent", lambda c: (c.eur, True), set(), unauthorized(WIRING_ROLE)),
    row("PlatformCash", "setMintCap", lambda c: (c.address("bank2"), 10**15), OPERATOR,
        unauthorized(DEFAULT_ADMIN_ROLE)),
    # A zero amount: only the transfer rule (an active sender) can refuse it.
    row("PlatformCash", "transfer", lambda c: (c.address("seller"), 0), ACTIVE,
        Refusal("CashSenderNotActive", {"sender": CALLER})),
    row("PlatformCash", "transferFrom", lambda c: (c.address("core"), c.address("seller"), 1_00), {"carrier"},
        Refusal("ERC20InsufficientAllowance", {"spender": CALLER, "allowance": 0, "needed": 1_00})),
    # Approving moves nothing; the transfer rule applies when the allowance is spent.
    row("PlatformCash", "approve", lambda c: (c.address("seller"), 1_00), ALL, None),
    *role_rows("PlatformCash"),
    # ---------------------------------------------------------------- OrderBook
    row("OrderBook", "addCurrency", lambda c: (c.eur,), OPERATOR, unauthorized(DEFAULT_ADMIN_ROLE)),
    row("OrderBook", "place",
        lambda c: (c.address("supplier"), c.chain_id, c.world.platform.currency_address("CNY"), 100_00,
                   c.far, False, b"\x00" * 3, b"\x00" * 2),
        {"core", "seller"}, Refusal("OrderNotTrader", {"member": CALLER}),
        {"supplier": Refusal("OrderSelfTrade", {"member": CALLER}),
         "core2": Refusal("OrderNotInChain", {"member": CALLER, "chainId": chain_id})}),
    row("OrderBook", "accept", lambda c: (c.orders["placed"],), {"supplier"}, not_party("OrderNotSeller", "placed")),
    row("OrderBook", "ship", lambda c: (c.orders["accepted"], c.address("carrier"), c.address("warehouse")),
        {"supplier"}, not_party("OrderNotSeller", "accepted")),
    row("OrderBook", "deliver", lambda c: (c.orders["shipped"],), {"warehouse"},
        not_party("OrderNotWarehouse", "shipped")),
    row("OrderBook", "invoice", lambda c: (c.orders["delivered"], text32("INV-M2"), b32("matrix:invoice-2")),
        {"supplier"}, not_party("OrderNotSeller", "delivered")),
    row("OrderBook", "settle", lambda c: (c.orders["invoiced"],), {"seller"}, not_party("OrderNotBuyer", "invoiced")),
    row("OrderBook", "cancel", lambda c: (c.orders["placed"],), ORDER_PARTIES, not_party("OrderNotParty", "placed")),
    row("OrderBook", "dispute", lambda c: (c.orders["shipped"], b32("matrix:reason")), ORDER_PARTIES,
        not_party("OrderNotParty", "shipped")),
    row("OrderBook", "resolveDispute", lambda c: (c.orders["disputed"], False), OPERATOR,
        unauthorized(OPERATOR_ROLE)),
    # Only a financing contract holding FINANCE_ROLE (the LoanBook) redirects; no party holds it.
    row("OrderBook", "redirectSettlement", lambda c: (c.orders["invoiced"], c.address("bank")), set(),
        unauthorized(FINANCE_ROLE)),
    # Only the FundTracker (FINANCE_ROLE) records loan money paid to a seller ahead of settlement.
    row("OrderBook", "recordPrepayment", lambda c: (c.orders["accepted"], 1), set(), unauthorized(FINANCE_ROLE)),
    # Only the Certificates contract (CERTIFICATES_ROLE) records what a certificate part paid.
    row("OrderBook", "recordCertificatePayment", lambda c: (c.orders["accepted"], 1), set(),
        unauthorized(CERTIFICATES_ROLE)),
    row("OrderBook", "attach", lambda c: (c.orders["shipped"], int(DocKind.QUALITY_CERTIFICATE), b32("matrix:qc")),
        ORDER_PARTIES | {"carrier", "warehouse"}, not_party("OrderNotParty", "shipped")),
    *role_rows("OrderBook"),
]

ALLOWED_CASES = [pytest.param(r, party, id=f"{r.name}-{party}") for r in MATRIX for party in sorted(r.allowed)]
REFUSED_CASES = [pytest.param(r, party, id=f"{r.name}-{party}")
                 for r in MATRIX for party in PARTY_NAMES if party not in r.allowed]


@pytest.fixture(scope="module")
def matrix(chain: Any, world: Any) -> Iterator[Ctx]:
    snapshot = chain.snapshot()
    try:
        yield build(world)
    finally:
        chain.revert(snapshot)


def call(ctx: Ctx, r: Row, party: str) -> Any:
    function = getattr(ctx.contract(r.contract).functions, r.function)
    return ctx.world.chain.sender.transact(getattr(ctx.world.p, party), function(*r.args(ctx)))


# ---------------------------------------------------------------------------------------------- tests


def test_matrix_covers_every_state_changing_function():
    declared = {(name, entry["name"]) for name in ("MemberRegistry", "PlatformCash", "OrderBook")
                for entry in load_artifact(name).abi
                if entry["type"] == "function" and entry["stateMutability"] in ("nonpayable", "payable")}
    assert {(r.contract, r.function) for r in MATRIX} == declared


def test_every_refusal_names_an_error_the_contracts_declare():
    declared = {entry["name"] for name in ("MemberRegistry", "PlatformCash", "OrderBook")
                for entry in load_artifact(name).abi if entry["type"] == "error"}
    named = {r.refusal.error for r in MATRIX if r.refusal} | {e.error for r in MATRIX for e in r.exceptions.values()}
    assert named <= declared


@pytest.mark.parametrize("r,party", ALLOWED_CASES)
def test_allowed_party_call_succeeds(matrix, fresh, r, party):
    receipt = call(matrix, r, party)

    assert receipt["status"] == 1


@pytest.mark.parametrize("r,party", REFUSED_CASES)
def test_other_party_call_is_refused(matrix, fresh, r, party):
    refusal = r.refusal_for(party)

    with reverts(refusal.error, **refusal.expected(matrix, matrix.address(party))):
        call(matrix, r, party)
