"""Adversaries for the financing machine, and the money invariants checked on the chain itself.

Two parts, kept apart from the model (financing_model.py) so that they can follow the contracts on
their own:

- `platform_calls()` enumerates every state-changing function of every platform contract from the
  ABIs (as tests/unit/test_trust_model.py does): a function added to a contract is tried by every
  adversary without a change here. `arguments()` draws the arguments of a call from what exists on
  the chain (loan, asset and order ids, the parties' addresses, the roles, amounts near the loans').
- `ChainInvariants` states the money invariants over the chain's own state and the logs of each
  transaction, with no model: they hold whatever an adversary did before, so the machine checks them
  even after a call the model does not know. Each invariant has a name (`INVARIANTS`); the definitions
  that other work changes (what a guarantor owes) are one function each.

Addresses are checksummed strings; amounts are minor units.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from eth_abi import decode
from eth_utils import event_abi_to_log_topic, keccak, to_checksum_address
from hypothesis import strategies as st

from vscm.chain import artifacts
from vscm.chain.deploy import PLATFORM_CONTRACTS
from vscm.client.records import AssetKind, AssetStatus, Loan, LoanMode, LoanStatus, OrderStatus

__all__ = [
    "ADVERSARIES",
    "GOVERNANCE_EVENTS",
    "INVARIANTS",
    "MAX_UINT",
    "ROLES",
    "Call",
    "ChainInvariants",
    "arguments",
    "governance_acts",
    "guarantor_owes",
    "platform_calls",
]

MAX_UINT = 2**256 - 1
ZERO = "0x" + "00" * 20

#: Who attacks: the operator key alone (every power it holds today), an evicted member (an SME the
#: operator evicted, with whatever loans, assets and cash it had), an outsider (never a member), and a
#: borrower and its guarantor acting together (the supplier and the chain's core enterprise).
ADVERSARIES = ("operator", "evicted", "outsider", "borrower", "guarantor")

#: The invariants `ChainInvariants` checks, by name:
INVARIANTS = {
    "cash": "no money created or destroyed except by mints and burns: per currency, the balances of "
            "every holder sum to the supply, which is what the minters minted less what they burned",
    "tracked": "tracked money leaves the FundTracker only to its loan's purpose payees (while the loan "
               "runs), back to the lender, or to the borrower once the loan is repaid; the FundTracker "
               "holds at least the loans' unspent money, which is what its books say",
    "pull": "a platform contract takes a member's cash only in that member's own transaction, or as "
            "the guarantee call of a loan it guaranteed",
    "locks": "an asset is locked by at most one loan, by a loan that may hold it, owned by that loan's "
             "borrower (a pledged claim settling to the LoanBook); a loan from approval to its end holds its "
             "asset's lock",
    "guarantor": "a guarantor called at default pays what it owes as the contracts define it today "
                 "(`guarantor_owes`): never more than it committed, never less",
    "borrower": "a defaulting borrower never gains cash: no loan money is released to it after its "
                "default, no settlement of a claim a guarantor paid for reaches it",
    "governance": "with a council, the operator key alone changes no governance (roles, mint caps, currencies, "
                  "parameters, signers, evictions, institutions), lifts no suspension a higher authority imposed "
                  "and cancels no financed order; every financier's issuance stays within the cap the council set "
                  "(checked only in the council's world)",
}

#: AccessControl roles of the platform contracts (DEFAULT_ADMIN_ROLE is zero).
ROLES = {name: keccak(text=name) for name in ("OPERATOR_ROLE", "LOCKER_ROLE", "LOANBOOK_ROLE", "CONTROLLER_ROLE",
                                                "FINANCE_ROLE", "DETECTOR_ROLE", "GUARDIAN_ROLE",
                                                "CERTIFICATES_ROLE", "WIRING_ROLE")} | {"DEFAULT_ADMIN_ROLE": b"\x00" * 32}

#: Events that only governance emits (the admin's calls: DEFAULT_ADMIN_ROLE, the council's timelock when there
#: is one), by contract-independent name. `RoleRevoked` of a role its holder renounced itself is not governance.
GOVERNANCE_EVENTS = frozenset({"RoleGranted", "RoleRevoked", "MintCapSet", "CurrencyAdded", "MemberEvicted",
                               "ChainEvicted", "ParametersSet", "SignerSetChanged", "LimitsSet", "BoundsSet",
                               "AlertSinkSet", "AgentSet"})

#: Loan statuses in which a loan holds its asset's lock (LoanBook: Approved until Repaid / WrittenOff).
RUNNING = (LoanStatus.DISBURSED, LoanStatus.WARNED, LoanStatus.RECALLED)
HOLDS_LOCK = RUNNING + (LoanStatus.APPROVED, LoanStatus.DEFAULTED)
CLAIMS = (LoanMode.RECEIVABLE, LoanMode.PAYABLE)


def guarantor_owes(owed: int, committed: int) -> int:
    """What a guarantor must pay when its loan defaults, as LoanBook.markDefault defines it.

    `owed` is the debt left after the loan's unspent money went back to the lender; `committed` is what the
    guarantor committed to this loan when it signed (F-04: the principal, held by the LoanBook for this loan
    alone, whatever the guarantor's allowance or balance is later).
    """
    return min(owed, committed)


# ---------------------------------------------------------------------- the calls


@dataclass(frozen=True)
class Call:
    """One state-changing function of one platform contract."""

    contract: str
    name: str
    inputs: tuple[dict[str, Any], ...]

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(_abi_type(p) for p in self.inputs)})"

    def __str__(self) -> str:
        return f"{self.contract}.{self.name}"


def _abi_type(param: dict[str, Any]) -> str:
    if param["type"].startswith("tuple"):
        return "(" + ",".join(_abi_type(c) for c in param["components"]) + ")" + param["type"][5:]
    return str(param["type"])


def platform_calls() -> list[Call]:
    """Every function of every platform contract's ABI that is neither view nor pure."""
    return [Call(name, entry["name"], tuple(entry["inputs"]))
            for name in PLATFORM_CONTRACTS for entry in artifacts.load(name).abi
            if entry["type"] == "function" and entry.get("stateMutability") not in ("view", "pure")]


@dataclass(frozen=True)
class Palette:
    """What arguments are drawn from: the entities on the chain and the parties."""

    loans: int
    assets: int
    orders: int
    chains: int
    now: int
    addresses: tuple[str, ...]
    currencies: tuple[str, ...]
    amounts: tuple[int, ...]
    #: the adversary and its accomplice first, so that shrinking goes to them
    own: tuple[str, ...]
    #: the platform contracts (spenders, agents, payees an adversary may aim at)
    platform: tuple[str, ...] = ()
    #: loans the adversary or its accomplice borrowed or guaranteed
    own_loans: tuple[int, ...] = ()


def _ids(count: int) -> st.SearchStrategy[int]:
    return st.integers(min_value=1, max_value=max(count, 1)) | st.sampled_from((0, count + 1))


def _uint(param: dict[str, Any], p: Palette) -> st.SearchStrategy[int]:
    name, kind = param["name"].lower(), param["type"]
    bits = int(kind[4:] or 256)
    if "loan" in name:
        return (st.sampled_from(p.own_loans) | _ids(p.loans)) if p.own_loans else _ids(p.loans)
    if "asset" in name or "receipt" in name or "token" in name:
        return _ids(p.assets)
    if "order" in name:
        return _ids(p.orders)
    if "chain" in name:
        return st.integers(min_value=0, max_value=p.chains + 1)
    if any(w in name for w in ("deadline", "until", "expiry", "duedate", "maxage", "maxskew")):
        return st.sampled_from((p.now + 3600, p.now + 400 * 86400, p.now - 1, 0))
    if "window" in name:
        return st.sampled_from((3 * 86400, 3600, 0))
    if "ltv" in name:
        return st.sampled_from((10_000, 8000, 1))
    if name in ("kind", "mode", "tier", "asrole", "metric", "decision", "policy", "severity", "quorum"):
        return st.integers(min_value=0, max_value=5)
    if "roles" in name:
        return st.sampled_from((1 << 5, 1 << 0, 1 << 2, 0x1FF))
    amounts = [0] + [a for a in p.amounts if a < 2**bits] + [2**bits - 1]
    return st.sampled_from(amounts)


def _value(param: dict[str, Any], p: Palette) -> st.SearchStrategy[Any]:
    kind, name = param["type"], param["name"].lower()
    if kind.endswith("[]"):
        inner = dict(param, type=kind[:-2])
        return st.lists(_value(inner, p), max_size=2)
    if kind == "tuple":
        return st.tuples(*(_value(c, p) for c in param["components"]))
    if kind == "address":
        if "currency" in name:
            return st.sampled_from(p.currencies + (ZERO,))
        if name in ("spender", "agent", "operator") and p.platform:
            return st.sampled_from(p.platform) | st.sampled_from(p.own) | st.sampled_from(p.addresses)
        return st.sampled_from(p.own) | st.sampled_from(p.addresses)
    if kind == "bool":
        return st.booleans()
    if kind.startswith("uint"):
        return _uint(param, p)
    if kind.startswith("int"):
        return st.sampled_from((0, 1, -1))
    if kind == "bytes32":
        if "role" in name:
            return st.sampled_from(tuple(ROLES.values()))
        return st.sampled_from((keccak(text="evidence"), b"\x00" * 32, keccak(text="INV-1")))
    if kind.startswith("bytes") and kind != "bytes":
        return st.just(b"A" * int(kind[5:]))
    if kind == "bytes":
        return st.just(b"")
    if kind == "string":
        return st.just("adversary")
    raise NotImplementedError(f"no strategy for ABI type {kind} ({param['name']})")


def arguments(call: Call, p: Palette) -> st.SearchStrategy[tuple[Any, ...]]:
    """The arguments of `call`, drawn from the palette by each input's type and name."""
    return st.tuples(*(_value(param, p) for param in call.inputs))


# ---------------------------------------------------------------------- events


@dataclass(frozen=True)
class Log:
    """A decoded event of a platform contract (or a PlatformCash), in transaction order."""

    address: str
    name: str
    args: dict[str, Any]


#: (topic 0, number of topics) -> (event name, inputs): ERC-20 and ERC-721 `Transfer` share topic 0
#: and differ in the number of indexed inputs.
EventTable = dict[tuple[bytes, int], tuple[str, list[dict[str, Any]]]]


def _event_table(names: Iterable[str]) -> EventTable:
    table: EventTable = {}
    for name in names:
        for entry in artifacts.load(name).abi:
            if entry["type"] == "event" and not entry.get("anonymous"):
                indexed = sum(1 for i in entry["inputs"] if i["indexed"])
                table[(event_abi_to_log_topic(entry), indexed + 1)] = (entry["name"], entry["inputs"])
    return table


def decode_logs(receipt: Any, table: EventTable) -> list[Log]:
    found = []
    for log in receipt["logs"]:
        topics = [bytes(t) for t in log["topics"]]
        if not topics or (topics[0], len(topics)) not in table:
            continue
        name, inputs = table[(topics[0], len(topics))]
        indexed = [i for i in inputs if i["indexed"]]
        plain = [i for i in inputs if not i["indexed"]]
        args: dict[str, Any] = {}
        for param, topic in zip(indexed, topics[1:]):
            args[param["name"]] = decode([_abi_type(param)], topic)[0]
        for param, value in zip(plain, decode([_abi_type(i) for i in plain], bytes(log["data"]))):
            args[param["name"]] = value
        args = {k: to_checksum_address(v) if isinstance(v, str) and v.startswith("0x") and len(v) == 42 else v
                for k, v in args.items()}
        found.append(Log(to_checksum_address(log["address"]), name, args))
    return found


def governance_acts(sender: str, logs: Iterable[Log], institutions: Callable[[str], bool]) -> list[str]:
    """The governance acts among a transaction's logs, which with a council only its timelock (or its Safe: the
    guardian's suspensions) may cause: `GOVERNANCE_EVENTS` (a renounced role excepted) and the approval of an
    applicant for an institution role (`institutions(member)`)."""
    acts = []
    for log in logs:
        if log.name == "RoleRevoked" and log.args.get("account") == log.args.get("sender") == sender:
            continue  # renounceRole: giving up one's own power
        if log.name in GOVERNANCE_EVENTS or (log.name == "MemberApproved" and institutions(log.args["member"])):
            acts.append(f"{log.name}({', '.join(f'{k}={v!r}' for k, v in log.args.items())}) at {log.address}")
    return acts


# ---------------------------------------------------------------------- the invariants


@dataclass
class ChainInvariants:
    """The money invariants over the chain's state and each transaction's logs (no model).

    `read(contract, function, *args)` reads a view; `contracts` are the platform contracts' addresses
    by name, `cash` the PlatformCash addresses. `holders` and `minters` start with everyone who held or
    minted money at setup and grow with every Transfer and Deposited event seen.
    """

    read: Callable[..., Any]
    contracts: dict[str, str]
    cash: tuple[str, ...]
    holders: set[str]
    minters: set[str]
    table: EventTable = field(default_factory=dict)
    #: order id -> the claims (receivables, payables) on it: a settlement redirected touches them
    claims: dict[int, set[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.table = _event_table(PLATFORM_CONTRACTS)
        for asset_id in range(1, self.read("AssetRegistry", "assetCount") + 1):
            asset = self.read("AssetRegistry", "getAsset", asset_id)
            if _asset_kind(asset) in (AssetKind.RECEIVABLE, AssetKind.PAYABLE):
                self.claims.setdefault(_order_of(asset), set()).add(asset_id)

    # -------------------------------------------------------------- per transaction

    def check_receipts(self, receipts: Iterable[Any]) -> tuple[list[tuple[str, str]], set[int], set[int]]:
        """The invariants a batch of mined transactions broke, as (invariant, what); and the loans and
        assets they touched (to be checked by `check_entities`)."""
        found: list[tuple[str, str]] = []
        loans: set[int] = set()
        assets: set[int] = set()
        touched_cash: set[str] = set()
        for receipt in receipts:
            sender = to_checksum_address(receipt["from"])
            logs = decode_logs(receipt, self.table)
            found.extend(self._flows(sender, to_checksum_address(receipt["to"] or ZERO), logs))
            for log in logs:
                if log.address in self.cash:
                    touched_cash.add(log.address)
                    if log.name == "Transfer":
                        self.holders.update(a for a in (log.args["from"], log.args["to"]) if a != ZERO)
                    elif log.name == "Deposited":
                        self.minters.add(log.args["financier"])
                elif log.address in (self.contracts["LoanBook"], self.contracts["FundTracker"]) and "loanId" in log.args:
                    loans.add(log.args["loanId"])
                elif log.address == self.contracts["AssetRegistry"]:
                    for key in ("assetId", "tokenId"):
                        if key in log.args:
                            assets.add(log.args[key])
                    if log.args.get("loanId"):
                        loans.add(log.args["loanId"])
                    if log.name == "AssetRegistered" and log.args["kind"] in (AssetKind.RECEIVABLE, AssetKind.PAYABLE):
                        self.claims.setdefault(log.args["orderId"], set()).add(log.args["assetId"])
                elif log.address == self.contracts["OrderBook"] and "orderId" in log.args:
                    assets.update(self.claims.get(log.args["orderId"], ()))
        for currency in touched_cash:
            found.extend(self._cash(currency))
        return found, loans, assets

    def _flows(self, sender: str, target: str, logs: list[Log]) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        c = self.contracts
        ft, lb = c["FundTracker"], c["LoanBook"]
        platform = {c[n] for n in ("LoanBook", "FundTracker", "OrderBook")}
        # What the FundTracker said it paid, and to whom, matched against its cash transfers.
        said: list[tuple[str, int]] = []
        defaulted: dict[int, int] = {}
        called: dict[str, list[int]] = {}
        for log in logs:
            a = log.args
            if log.address == ft and log.name == "FundsMoved":
                said.append((a["to"], a["amount"]))
                loan = self._loan(a["loanId"])
                if not self.read("FundTracker", "isAllowedPayee", a["loanId"], a["to"]):
                    found.append(("tracked", (f"loan {a['loanId']}: {a['amount']} paid to {a['to']}, not a payee "
                                             f"of its purpose order")))
                if loan["status"] not in (LoanStatus.DISBURSED, LoanStatus.WARNED):
                    found.append(("tracked", (f"loan {a['loanId']}: {a['amount']} spent while the loan is "
                                             f"{LoanStatus(loan['status']).name}")))
            elif log.address == ft and log.name == "FundsRevoked":
                said.append((a["lender"], a["amount"]))
                if a["lender"] != self._loan(a["loanId"])["lender"]:
                    found.append(("tracked", (f"loan {a['loanId']}: {a['amount']} revoked to {a['lender']}, "
                                             f"not its lender")))
            elif log.address == ft and log.name == "FundsReleased":
                said.append((a["borrower"], a["amount"]))
                loan = self._loan(a["loanId"])
                if loan["status"] != LoanStatus.REPAID or a["borrower"] != loan["borrower"]:
                    found.append(("tracked", (f"loan {a['loanId']}: {a['amount']} released to {a['borrower']} "
                                             f"while the loan is {LoanStatus(loan['status']).name}")))
                if loan["defaultedAt"] or a["loanId"] in defaulted:
                    found.append(("borrower", (f"loan {a['loanId']}: {a['amount']} of loan money released to "
                                              f"its borrower after its default")))
            elif log.address == lb and log.name == "LoanDefaulted":
                defaulted[a["loanId"]] = a["outstanding"]
            elif log.address == lb and log.name == "GuaranteeCalled":
                called.setdefault(a["guarantor"], []).append(a["amount"])
                found.extend(self._guarantee(a["loanId"], a["guarantor"], a["amount"], defaulted))
            elif log.address in self.cash and log.name == "Transfer":
                frm, to, value = a["from"], a["to"], a["value"]
                if frm == ft:
                    if (to, value) in said:
                        said.remove((to, value))
                    else:
                        found.append(("tracked", f"{value} left the FundTracker to {to} with no loan event"))
                elif frm not in platform and frm != ZERO and frm != sender and target in platform:
                    # Pulled by a platform contract in someone else's transaction: only a guarantee call.
                    # (A spender calling PlatformCash.transferFrom itself uses the holder's own consent.)
                    if value in called.get(frm, []):
                        called[frm].remove(value)
                    else:
                        found.append(("pull", f"{value} taken from {frm} in a transaction of {sender}"))
                elif frm == lb and value:
                    found.extend(self._to_borrower(to, value, logs))
        return found

    def _to_borrower(self, to: str, value: int, logs: list[Log]) -> list[tuple[str, str]]:
        found = []
        for log in logs:
            if log.name == "SettlementCollected" and log.address == self.contracts["LoanBook"]:
                loan = self._loan(log.args["loanId"])
                if to == loan["borrower"] and loan["guarantorPaid"]:
                    found.append(("borrower", (f"loan {log.args['loanId']}: {value} of the settlement of a claim "
                                              f"its guarantor paid for went to the borrower")))
        return found

    def _guarantee(self, loan_id: int, guarantor: str, take: int, defaulted: dict[int, int]) -> list[tuple[str, str]]:
        loan = self._loan(loan_id)
        if guarantor != loan["guarantor"]:
            return [("guarantor", f"loan {loan_id}: {guarantor} charged, but the guarantor is {loan['guarantor']}")]
        if loan_id not in defaulted:
            return [("guarantor", f"loan {loan_id}: guarantor charged {take} outside a default")]
        owes = guarantor_owes(defaulted[loan_id], loan["principal"])
        if take != owes:
            return [("guarantor", (f"loan {loan_id}: guarantor paid {take}, owes {owes} (debt {defaulted[loan_id]}, "
                                  f"committed {loan['principal']})"))]
        return []

    def _loan(self, loan_id: int) -> dict[str, Any]:
        raw = self.read("LoanBook", "getLoan", loan_id)
        loan = Loan.from_chain(loan_id, raw)
        return {"status": loan.status, "borrower": loan.borrower, "lender": loan.lender,
                "guarantor": loan.guarantor or ZERO, "currency": loan.currency, "defaultedAt": loan.defaulted_at,
                "guarantorPaid": loan.guarantor_paid, "assetId": loan.asset_id, "mode": loan.mode,
                "purposeOrderId": loan.purpose_order_id, "principal": loan.principal,
                "settlementCollected": loan.settlement_collected}

    def _cash(self, currency: str) -> list[tuple[str, str]]:
        held = sum(self.read(currency, "balanceOf", h) for h in self.holders)
        supply = self.read(currency, "totalSupply")
        issued = 0
        for minter in self.minters:
            minted, burned = self.read(currency, "issuance", minter)
            issued += minted - burned
        if not held == supply == issued:
            return [("cash", f"{currency}: holders hold {held}, supply {supply}, minted - burned {issued}")]
        return []

    # -------------------------------------------------------------- state

    def check_tracked(self) -> list[tuple[str, str]]:
        """The FundTracker's books against its loans and its cash, per currency."""
        found = []
        count = self.read("LoanBook", "loanCount")
        unspent: dict[str, int] = {c: 0 for c in self.cash}
        for loan_id in range(1, count + 1):
            funds = self.read("FundTracker", "getFunds", loan_id)
            if funds[0] == ZERO:
                continue
            loan = self._loan(loan_id)
            if (funds[0], funds[1], funds[4]) != (loan["borrower"], loan["lender"], loan["principal"]):
                found.append(("tracked", (f"loan {loan_id}: tracked funds of {funds[0]} from {funds[1]} for {funds[4]} "
                                         f"are not the loan's")))
            unspent[funds[2]] = unspent.get(funds[2], 0) + self.read("FundTracker", "unspent", loan_id)
        for currency, total in unspent.items():
            books = self.read("FundTracker", "totalUnspent", currency)
            held = self.read(currency, "balanceOf", self.contracts["FundTracker"])
            if not total == books <= held:
                found.append(("tracked", f"{currency}: loans' unspent {total}, FundTracker books {books}, holds {held}"))
        return found

    def check_entities(self, loans: Iterable[int], assets: Iterable[int]) -> list[tuple[str, str]]:
        """Locks of the given loans and assets (`check_all` for every one)."""
        found = []
        for loan_id in sorted(set(loans)):
            if not 0 < loan_id <= self.read("LoanBook", "loanCount"):
                continue
            loan = self._loan(loan_id)
            asset = self.read("AssetRegistry", "getAsset", loan["assetId"])
            # (A claim whose settlement was collected while its loan still runs is consumed: retired.)
            held = _asset_status(asset) == AssetStatus.RETIRED or _locked_by(asset) == loan_id
            if loan["status"] in HOLDS_LOCK and not held:
                found.append(("locks", (f"loan {loan_id} ({LoanStatus(loan['status']).name}): its asset "
                                       f"{loan['assetId']} is locked by {_locked_by(asset)}")))
        for asset_id in sorted(set(assets)):
            if not 0 < asset_id <= self.read("AssetRegistry", "assetCount"):
                continue
            found.extend(self._asset_lock(asset_id))
        return found

    def _asset_lock(self, asset_id: int) -> list[tuple[str, str]]:
        asset = self.read("AssetRegistry", "getAsset", asset_id)
        holder = _locked_by(asset)
        if holder == 0:
            return []
        if not 0 < holder <= self.read("LoanBook", "loanCount"):
            return [("locks", f"asset {asset_id}: locked by loan {holder}, which does not exist")]
        loan = self._loan(holder)
        owner = self.read("AssetRegistry", "ownerOf", asset_id)
        mine = loan["assetId"] == asset_id or self._born_locked(asset, loan)
        if not mine or not self._may_hold_lock(loan, holder):
            return [("locks", (f"asset {asset_id}: locked by loan {holder} ({LoanStatus(loan['status']).name}, "
                              f"on asset {loan['assetId']})"))]
        if owner != loan["borrower"]:
            return [("locks", f"asset {asset_id}: locked by loan {holder} of {loan['borrower']}, owned by {owner}")]
        if _asset_kind(asset) in (AssetKind.RECEIVABLE, AssetKind.PAYABLE):
            # A pledged claim's debtor pays the LoanBook, for the lender, until the loan lets it go.
            order = self.read("OrderBook", "getOrder", _order_of(asset))
            status, payee = OrderStatus(order[_ORDER_STATUS]), order[_ORDER.index("payee")]
            if status not in (OrderStatus.SETTLED, OrderStatus.CANCELLED) and payee != self.contracts["LoanBook"]:
                return [("locks", (f"claim {asset_id} pledged to loan {holder}: its order {_order_of(asset)} settles to "
                                  f"{payee}, not the LoanBook"))]
        return []

    def _born_locked(self, receipt: Any, loan: dict[str, Any]) -> bool:
        right = self.read("AssetRegistry", "getAsset", loan["assetId"])
        return (_asset_kind(receipt) == AssetKind.WAREHOUSE_RECEIPT and _asset_kind(right) == AssetKind.FUTURE_GOODS
                and _order_of(receipt) == _order_of(right) != 0)

    def _may_hold_lock(self, loan: dict[str, Any], loan_id: int) -> bool:
        if loan["status"] in HOLDS_LOCK:
            return True
        if loan["status"] != LoanStatus.REPAID:
            return False
        if loan["guarantorPaid"] and not self.read("MemberRegistry", "isActiveMember", loan["guarantor"]):
            return True  # kept locked for a subrogated guarantor that cannot hold assets
        asset = self.read("AssetRegistry", "getAsset", loan["assetId"])
        order = self.read("OrderBook", "getOrder", _order_of(asset))
        return (loan["mode"] in CLAIMS and not loan["settlementCollected"]
                and OrderStatus(order[_ORDER_STATUS]) == OrderStatus.SETTLED)

    def check_all(self) -> list[tuple[str, str]]:
        """Every invariant over the whole state (at the end of an example)."""
        found = [f for currency in self.cash for f in self._cash(currency)]
        found.extend(self.check_tracked())
        found.extend(self.check_entities(range(1, self.read("LoanBook", "loanCount") + 1),
                                         range(1, self.read("AssetRegistry", "assetCount") + 1)))
        return found


# IAssetRegistry.Asset and IOrderBook.Order as tuples: the fields the invariants read.
_ASSET = [i["name"] for i in next(e for e in artifacts.load("AssetRegistry").abi
                                  if e.get("name") == "getAsset")["outputs"][0]["components"]]
_ORDER = [i["name"] for i in next(e for e in artifacts.load("OrderBook").abi
                                  if e.get("name") == "getOrder")["outputs"][0]["components"]]
_ORDER_STATUS = _ORDER.index("status")


def _locked_by(asset: Any) -> int:
    return int(asset[_ASSET.index("lockedBy")])


def _asset_status(asset: Any) -> int:
    return int(asset[_ASSET.index("status")])


def _asset_kind(asset: Any) -> AssetKind:
    return AssetKind(asset[_ASSET.index("kind")])


def _order_of(asset: Any) -> int:
    return int(asset[_ASSET.index("orderId")])
