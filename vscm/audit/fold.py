"""Fold decoded events into the platform state: one handler table per contract.

``HANDLERS[contract][event](state, event, ctx)`` applies one event. A contract that joins the
platform (the telemetry oracle, risk control) plugs in with ``register(contract, {event: handler})``
and a verifier in ``vscm.audit.verify``; nothing else changes. An event of a platform contract that
no handler knows is never skipped silently: :func:`fold_event` records a finding for it.

Besides rebuilding state, handlers check what an event says against what the fold already knows
(an event's running total, hop number, document index): a mismatch is a finding of check ``event``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vscm.audit.decode import DecodedEvent
from vscm.audit.state import ZERO, Finding, State, key

__all__ = ["HANDLERS", "FoldContext", "Handler", "fold_event", "owed", "pending_interest", "register"]


@dataclass
class FoldContext:
    """What handlers need besides the event: block timestamps and the platform's own addresses."""

    timestamps: dict[int, int]
    loans_address: str = ZERO
    funds_address: str = ZERO

    def ts(self, block: int) -> int:
        return self.timestamps[block]


Handler = Callable[[State, DecodedEvent, FoldContext], object]  # lambdas may return the record
HANDLERS: dict[str, dict[str, Handler]] = {}


def register(contract: str, handlers: dict[str, Handler]) -> None:
    """Add (or extend) the handler table of ``contract`` (an artifact name)."""
    HANDLERS.setdefault(contract, {}).update(handlers)


def fold_event(state: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    handler = HANDLERS.get(ev.contract, {}).get(ev.name)
    if handler is None:
        state.findings.append(Finding("unknown-event", f"{ev.contract}@{ev.log.address}", ev.name, "a handler",
                                      "none", ev.log.block_number, f"tx {ev.log.tx_hash} log {ev.log.log_index}"))
        return
    state.count(f"events.{ev.contract}.{ev.name}")
    handler(state, ev, ctx)


def _check(state: State, ev: DecodedEvent, entity: str, field: str, expected: Any, found: Any) -> None:
    """An event's own figure (``found``) against what the history so far implies (``expected``)."""
    if expected != found:
        state.findings.append(Finding("event", entity, field, expected, found, ev.log.block_number,
                                      f"{ev.name} in tx {ev.log.tx_hash}"))


# ---------------------------------------------------------------- AccessControl (every contract)

def _role_granted(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    s.put("roles", key(ev.log.address, ev.args["role"], ev.args["account"]), {"granted": True})


def _role_revoked(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    s.put("roles", key(ev.log.address, ev.args["role"], ev.args["account"]), {"granted": False})


def _role_admin(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    s.put("role_admins", key(ev.log.address, ev.args["role"]), {"admin": ev.args["newAdminRole"]})


ACCESS = {"RoleGranted": _role_granted, "RoleRevoked": _role_revoked, "RoleAdminChanged": _role_admin}

# ---------------------------------------------------------------- MemberRegistry

STATUS_PENDING, STATUS_ACTIVE, STATUS_SUSPENDED, STATUS_EVICTED = 1, 2, 3, 4


def _member_applied(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    index = s.count("members") - 1
    s.put("members", a["member"], {
        "roles": a["roles"], "tier": a["tier"], "status": STATUS_PENDING, "chainId": 0,
        "credentialExpiry": a["credentialExpiry"], "credentialHash": a["credentialHash"],
        "financierAttestor": ZERO, "auditorAttestor": ZERO, "name": a["name"], "index": index})


def _member_status(status: int) -> Handler:
    def handler(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
        s.update("members", ev.args["member"], status=status)
    return handler


def _core_attested(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    field = "financierAttestor" if ev.args["asRole"] == 5 else "auditorAttestor"
    s.update("members", ev.args["member"], **{field: ev.args["attestor"]})


def _credential_updated(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    s.update("members", ev.args["member"], credentialHash=ev.args["credentialHash"],
             credentialExpiry=ev.args["credentialExpiry"])


def _chain_created(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    cid = ev.args["chainId"]
    _check(s, ev, f"chain {cid}", "chainId", s.count("chains"), cid)
    s.put("chains", str(cid), {"core": ev.args["core"], "evicted": False, "memberCount": 1, "name": ev.args["name"]})
    s.update("members", ev.args["core"], chainId=cid)


def _join_requested(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    s.put("pending_joins", key(ev.args["chainId"], ev.args["member"]), {"pending": True})


def _join_approved(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    cid = ev.args["chainId"]
    s.put("pending_joins", key(cid, ev.args["member"]), {"pending": False})
    s.update("members", ev.args["member"], chainId=cid)
    chain = s.table("chains")[str(cid)]
    s.update("chains", str(cid), memberCount=chain["memberCount"] + 1)


def _chain_left(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    cid = ev.args["chainId"]
    s.update("members", ev.args["member"], chainId=0)
    chain = s.table("chains")[str(cid)]
    s.update("chains", str(cid), memberCount=chain["memberCount"] - 1)


def _chain_evicted(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    s.update("chains", str(ev.args["chainId"]), evicted=True)
    s.put("evictions", str(ev.args["chainId"]), {"by": ev.args["by"], "evidence": ev.args["evidence"],
                                                  "block": ev.log.block_number})


register("MemberRegistry", {
    **ACCESS,
    "MemberApplied": _member_applied,
    "MemberApproved": lambda s, ev, ctx: None,  # MemberActivated follows in the same call
    "CoreAttested": _core_attested,
    "MemberActivated": _member_status(STATUS_ACTIVE),
    "CredentialUpdated": _credential_updated,
    "MemberSuspended": _member_status(STATUS_SUSPENDED),
    "MemberReinstated": _member_status(STATUS_ACTIVE),
    "MemberEvicted": _member_status(STATUS_EVICTED),
    "ChainCreated": _chain_created,
    "ChainJoinRequested": _join_requested,
    "ChainJoinApproved": _join_approved,
    "ChainLeft": _chain_left,
    "ChainEvicted": _chain_evicted,
    "ChainInvestigationSet": lambda s, ev, ctx: s.put("chain_investigations", str(ev.args["chainId"]),
                                                      {"until": ev.args["until"]}),
})

# ---------------------------------------------------------------- PlatformCash (one per currency)


def _cash_transfer(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    cash, a = ev.log.address, ev.args
    amount = a["value"]
    if a["from"] == ZERO:
        supply = s.get("supply", cash) or {"amount": 0}
        s.update("supply", cash, amount=supply["amount"] + amount)
    else:
        k = key(cash, a["from"])
        held = (s.get("balances", k) or {"amount": 0})["amount"]
        if held < amount:
            s.findings.append(Finding("event", f"cash {cash} balance of {a['from']}", "amount", f">= {amount}",
                                      held, ev.log.block_number, f"Transfer overdraws, tx {ev.log.tx_hash}"))
        s.put("balances", k, {"currency": cash, "account": a["from"], "amount": held - amount})
    if a["to"] == ZERO:
        supply = s.get("supply", cash) or {"amount": 0}
        s.update("supply", cash, amount=supply["amount"] - amount)
    else:
        k = key(cash, a["to"])
        held = (s.get("balances", k) or {"amount": 0})["amount"]
        s.put("balances", k, {"currency": cash, "account": a["to"], "amount": held + amount})


def _issuance(field: str, who: str) -> Handler:
    def handler(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
        k = key(ev.log.address, ev.args[who])
        record = s.get("issuance", k) or {"minted": 0, "burned": 0}
        s.put("issuance", k, {**record, field: record[field] + ev.args["amount"]})
    return handler


def _agent_set(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    s.put("agents", key(ev.log.address, ev.args["agent"]), {"allowed": ev.args["allowed"]})


def _cash_approval(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    # OpenZeppelin 5 does not emit Approval when transferFrom spends an allowance, so allowances
    # cannot be rebuilt from events; the last approval is kept for the report, never verified.
    s.put("approvals", key(ev.log.address, ev.args["owner"], ev.args["spender"]), {"approved": ev.args["value"]})


register("PlatformCash", {
    **ACCESS,
    "Transfer": _cash_transfer,
    "Approval": _cash_approval,
    "Deposited": _issuance("minted", "financier"),
    "Withdrawn": _issuance("burned", "financier"),
    "AgentSet": _agent_set,
    "MintCapSet": lambda s, ev, ctx: s.put("mint_caps", key(ev.log.address, ev.args["financier"]),
                                          {"cap": ev.args["cap"]}),
})

# ---------------------------------------------------------------- OrderBook

ORDER_DISPUTED = 8


def _currency_added(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    s.put("currencies", ev.args["currency"], {"code": ev.args["code"]})


def _order_placed(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    _check(s, ev, f"order {a['orderId']}", "orderId", s.count("orders"), a["orderId"])
    members = s.table("members")
    # The buyer places the order in its own chain; the seller's chain is the one it is in now (another
    # chain: an order across chains, announced by OrderPlacedAcrossChains and checked there).
    buyer_chain = members.get(a["buyer"], {}).get("chainId", 0)
    _check(s, ev, f"order {a['orderId']}", "buyer's chain", buyer_chain, a["chainId"])
    s.put("orders", str(a["orderId"]), {
        "buyer": a["buyer"], "seller": a["seller"], "chainId": a["chainId"], "dueDate": a["dueDate"],
        "currency": a["currency"], "amount": a["amount"], "status": 1, "statusBeforeDispute": 0,
        "overseas": a["overseas"], "incoterm": a["incoterm"], "destinationCountry": a["destinationCountry"],
        "carrier": ZERO, "warehouse": ZERO, "invoiceNumber": "0x" + "00" * 32, "payee": a["seller"],
        "documentCount": 0, "prepaid": 0,
        "sellerChainId": members.get(a["seller"], {}).get("chainId", 0)})


def _order_placed_across_chains(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    oid = str(a["orderId"])
    o = s.table("orders")[oid]
    _check(s, ev, f"order {oid}", "buyerChainId", o["chainId"], a["buyerChainId"])
    _check(s, ev, f"order {oid}", "sellerChainId", o["sellerChainId"], a["sellerChainId"])


def _order_status(status: int, **extra: str) -> Handler:
    def handler(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
        s.update("orders", str(ev.args["orderId"]), status=status,
                 **{field: ev.args[arg] for field, arg in extra.items()})
    return handler


def _order_disputed(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    o = s.table("orders")[str(ev.args["orderId"])]
    s.update("orders", str(ev.args["orderId"]), statusBeforeDispute=o["status"], status=ORDER_DISPUTED)


def _dispute_resolved(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    s.update("orders", str(ev.args["orderId"]), status=ev.args["status"], statusBeforeDispute=0)


def _order_prepaid(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    oid = str(ev.args["orderId"])
    prepaid = s.table("orders")[oid]["prepaid"] + ev.args["amount"]
    _check(s, ev, f"order {oid}", "prepaid", prepaid, ev.args["prepaid"])
    s.update("orders", oid, prepaid=prepaid)


def _settlement_redirected(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    s.update("orders", str(ev.args["orderId"]), payee=ev.args["payee"])


def _document_attached(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    oid = str(a["orderId"])
    count = s.table("orders")[oid]["documentCount"]
    _check(s, ev, f"order {oid}", "documentCount", count, a["index"])
    s.put("documents", key(oid, a["index"]), {"kind": a["kind"], "hash": a["hash"], "attachedBy": a["attachedBy"],
                                              "attachedAt": ctx.ts(ev.log.block_number)})
    s.update("orders", oid, documentCount=a["index"] + 1)


register("OrderBook", {
    **ACCESS,
    "CurrencyAdded": _currency_added,
    "OrderPlaced": _order_placed,
    "OrderPlacedAcrossChains": _order_placed_across_chains,
    "OrderAccepted": _order_status(2),
    "OrderShipped": _order_status(3, carrier="carrier", warehouse="warehouse"),
    "OrderDelivered": _order_status(4),
    "OrderInvoiced": _order_status(5, invoiceNumber="invoiceNumber"),
    "OrderSettled": _order_status(6),
    "OrderCancelled": _order_status(7),
    "OrderDisputed": _order_disputed,
    "DisputeResolved": _dispute_resolved,
    "OrderPrepaid": _order_prepaid,
    "SettlementRedirected": _settlement_redirected,
    "DocumentAttached": _document_attached,
})

# ---------------------------------------------------------------- AssetRegistry (ERC-721)


def _asset_registered(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    _check(s, ev, f"asset {a['assetId']}", "assetId", s.count("assets"), a["assetId"])
    s.put("assets", str(a["assetId"]), {
        "kind": a["kind"], "status": 1, "orderId": a["orderId"], "issuer": a["issuer"], "obligor": a["obligor"],
        "currency": a["currency"], "value": a["value"], "quantity": 0, "pledgedQuantity": 0,
        "unit": "0x" + "00" * 32, "descriptionHash": "0x" + "00" * 32, "businessKey": a["businessKey"],
        "lockedBy": 0, "owner": a["owner"], "approved": ZERO})


def _receipt_details(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    s.update("assets", str(ev.args["assetId"]), quantity=ev.args["quantity"], unit=ev.args["unit"],
             descriptionHash=ev.args["descriptionHash"])


def _asset_locked(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    aid = str(ev.args["assetId"])
    _check(s, ev, f"asset {aid}", "pledgedQuantity", s.table("assets")[aid]["quantity"], ev.args["pledgedQuantity"])
    s.update("assets", aid, lockedBy=ev.args["loanId"], pledgedQuantity=ev.args["pledgedQuantity"])


def _pledge_released(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    aid = str(ev.args["assetId"])
    left = s.table("assets")[aid]["pledgedQuantity"] - ev.args["quantity"]
    _check(s, ev, f"asset {aid}", "pledgedQuantity", left, ev.args["pledgedQuantity"])
    s.update("assets", aid, pledgedQuantity=left)


def _goods_withdrawn(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    aid = str(ev.args["assetId"])
    asset = s.table("assets")[aid]
    remaining = asset["quantity"] - ev.args["quantity"]
    _check(s, ev, f"asset {aid}", "quantity", remaining, ev.args["remaining"])
    _check(s, ev, f"asset {aid}", "value", asset["value"] * remaining // asset["quantity"], ev.args["value"])
    s.update("assets", aid, quantity=remaining, value=ev.args["value"])


def _asset_unlocked(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    s.update("assets", str(ev.args["assetId"]), lockedBy=0, pledgedQuantity=0)


def _asset_nft_transfer(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    aid = str(ev.args["tokenId"])
    if ev.args["from"] == ZERO:
        return  # the mint: AssetRegistered (emitted just before) set the owner
    s.update("assets", aid, owner=ev.args["to"], approved=ZERO)


def _asset_approval(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    s.update("assets", str(ev.args["tokenId"]), approved=ev.args["approved"])


def _asset_operator(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    s.put("asset_operators", key(ev.args["owner"], ev.args["operator"]), {"approved": ev.args["approved"]})


register("AssetRegistry", {
    **ACCESS,
    "AssetRegistered": _asset_registered,
    "ReceiptDetails": _receipt_details,
    "AssetConfirmed": lambda s, ev, ctx: s.update("assets", str(ev.args["assetId"]), status=2),
    "AssetRetired": lambda s, ev, ctx: s.update("assets", str(ev.args["assetId"]), status=3),
    "AssetLocked": _asset_locked,
    "PledgeReleased": _pledge_released,
    "GoodsWithdrawn": _goods_withdrawn,
    "AssetUnlocked": _asset_unlocked,
    "AssetSeized": lambda s, ev, ctx: None,  # the ERC-721 Transfer just before moved it
    "Transfer": _asset_nft_transfer,
    "Approval": _asset_approval,
    "ApprovalForAll": _asset_operator,
})

# ---------------------------------------------------------------- FundTracker


def _funds_opened(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    s.put("funds", str(a["loanId"]), {
        "borrower": a["borrower"], "lender": a["lender"], "currency": a["currency"], "orderId": a["orderId"],
        "disbursed": a["amount"], "spent": 0, "returned": 0, "released": 0, "frozen": False,
        "payees": [], "paid": []})
    _unspent(s, a["currency"], a["amount"])


def _unspent(s: State, currency: str, delta: int) -> None:
    record = s.get("tracked", currency) or {"amount": 0}
    s.put("tracked", currency, {"amount": record["amount"] + delta})


def _funds_moved(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    lid = str(a["loanId"])
    f = s.table("funds")[lid]
    hop = s.count(f"hops.{lid}")
    _check(s, ev, f"funds {lid}", "hop", hop, a["hop"])
    payees, paid = list(f["payees"]), list(f["paid"])
    if a["to"] in payees:
        paid[payees.index(a["to"])] += a["amount"]
    else:
        payees.append(a["to"])
        paid.append(a["amount"])
    s.update("funds", lid, spent=f["spent"] + a["amount"], payees=payees, paid=paid)
    s.put("hops", key(lid, a["hop"]), {"loanId": a["loanId"], "hop": a["hop"], "from": a["from"], "to": a["to"],
                                       "amount": a["amount"], "purpose": a["purpose"],
                                       "block": ev.log.block_number, "tx": ev.log.tx_hash})
    _unspent(s, f["currency"], -a["amount"])


def _funds_back(field: str) -> Handler:
    def handler(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
        lid = str(ev.args["loanId"])
        f = s.table("funds")[lid]
        s.update("funds", lid, **{field: f[field] + ev.args["amount"]})
        _unspent(s, f["currency"], -ev.args["amount"])
    return handler


register("FundTracker", {
    **ACCESS,
    "FundsOpened": _funds_opened,
    "FundsMoved": _funds_moved,
    "FundsReleased": _funds_back("released"),
    "FundsRevoked": _funds_back("returned"),
    "FundsFrozen": lambda s, ev, ctx: s.update("funds", str(ev.args["loanId"]), frozen=True),
    "FundsUnfrozen": lambda s, ev, ctx: s.update("funds", str(ev.args["loanId"]), frozen=False),
})

# ---------------------------------------------------------------- LoanBook

(L_APPLIED, L_APPROVED, L_REJECTED, L_DISBURSED, L_WARNED, L_RECALLED, L_REPAID, L_DEFAULTED,
 L_WRITTEN_OFF, L_WITHDRAWN) = range(1, 11)
APPROVAL_VALIDITY = 30 * 86400  # LoanBook.APPROVAL_VALIDITY
RUNNING = (L_DISBURSED, L_WARNED, L_RECALLED)


def owed(loan: dict[str, Any]) -> int:
    """What a loan owes, as LoanBook._owed computes it (without interest not yet accrued)."""
    return (loan["principal"] + loan["interestAccrued"] - loan["principalRepaid"] - loan["interestPaid"]
            - loan["writtenOff"])


SCALE = 10_000 * 365 * 86400  # LoanBook: BPS x YEAR


def interest_scaled(loan: dict[str, Any], now: int) -> int:
    """LoanBook._interestScaled: the carried remainder plus, on a running loan, the interest since its
    last accrual up to ``now``, in 1/SCALE of a minor unit."""
    scaled: int = loan.get("interestCarry", 0)
    if loan["status"] in RUNNING and now > loan["lastAccrual"]:
        left = loan["principal"] - loan["principalRepaid"]
        scaled += left * loan["rateBps"] * (now - loan["lastAccrual"])
    return scaled


def pending_interest(loan: dict[str, Any], now: int) -> int:
    """LoanBook._pendingInterest: interest on a running loan since its last accrual, up to ``now``
    (with the remainder carried from earlier accruals)."""
    return interest_scaled(loan, now) // SCALE


def _loan(s: State, ev: DecodedEvent) -> tuple[str, dict[str, Any]]:
    lid = str(ev.args["loanId"])
    return lid, s.table("loans")[lid]


def _touch_accrual(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    """LoanBook._accrue ran in this call: a running loan's lastAccrual is now and the remainder below a
    unit is carried (it emits only when interest is due, so the timestamp comes from the block)."""
    lid, loan = _loan(s, ev)
    if loan["status"] in RUNNING:
        now = ctx.ts(ev.log.block_number)
        s.update("loans", lid, lastAccrual=now, interestCarry=interest_scaled(loan, now) % SCALE)


def _loan_applied(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    a = ev.args
    _check(s, ev, f"loan {a['loanId']}", "loanId", s.count("loans"), a["loanId"])
    s.put("loans", str(a["loanId"]), {
        "mode": a["mode"], "status": L_APPLIED, "guaranteeSigned": False, "settlementCollected": False,
        "ltvBps": 0, "rateBps": a["rateBps"], "termSeconds": a["termSeconds"], "disbursedAt": 0, "maturity": 0,
        "lastAccrual": 0, "defaultedAt": 0, "warningDeadline": 0, "interestCarry": 0, "borrower": a["borrower"], "lender": a["lender"],
        "guarantor": a["guarantor"], "supervisor": ZERO, "currency": a["currency"], "assetId": a["assetId"],
        "purposeOrderId": a["purposeOrderId"], "principal": a["principal"], "collateralQuantity": 0,
        "interestAccrued": 0, "principalRepaid": 0, "interestPaid": 0, "guarantorPaid": 0, "writtenOff": 0,
        "guaranteeHeld": 0, "expiresAt": 0})


def _loan_approved(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    s.update("loans", str(ev.args["loanId"]), status=L_APPROVED, ltvBps=ev.args["ltvBps"],
             supervisor=ev.args["supervisor"], collateralQuantity=ev.args["collateralQuantity"],
             expiresAt=ctx.ts(ev.log.block_number) + APPROVAL_VALIDITY)


def _loan_disbursed(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    lid, loan = _loan(s, ev)
    now = ctx.ts(ev.log.block_number)
    _check(s, ev, f"loan {lid}", "principal", loan["principal"], ev.args["principal"])
    _check(s, ev, f"loan {lid}", "maturity", now + loan["termSeconds"], ev.args["maturity"])
    s.update("loans", lid, status=L_DISBURSED, disbursedAt=now, lastAccrual=now, maturity=ev.args["maturity"])


def _interest_accrued(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    lid, loan = _loan(s, ev)
    total = loan["interestAccrued"] + ev.args["amount"]
    _check(s, ev, f"loan {lid}", "interestAccrued", total, ev.args["total"])
    scaled = interest_scaled(loan, ev.args["at"])
    _check(s, ev, f"loan {lid}", "interest accrued", scaled // SCALE, ev.args["amount"])
    s.update("loans", lid, interestAccrued=total, lastAccrual=ev.args["at"], interestCarry=scaled % SCALE)


def _loan_repayment(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    _touch_accrual(s, ev, ctx)
    lid, loan = _loan(s, ev)
    loan = s.update("loans", lid, interestPaid=loan["interestPaid"] + ev.args["interest"],
                    principalRepaid=loan["principalRepaid"] + ev.args["principal"])
    _check(s, ev, f"loan {lid}", "outstanding", owed(loan), ev.args["outstanding"])
    s.put("repayments", key(lid, s.count(f"repayments.{lid}")), {
        "loanId": ev.args["loanId"], "payer": ev.args["payer"], "interest": ev.args["interest"],
        "principal": ev.args["principal"], "outstanding": ev.args["outstanding"], "block": ev.log.block_number,
        "tx": ev.log.tx_hash})


def _settlement_collected(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    _touch_accrual(s, ev, ctx)
    lid, _ = _loan(s, ev)
    _check(s, ev, f"loan {lid}", "received", ev.args["toLender"] + ev.args["surplus"], ev.args["received"])
    s.update("loans", lid, settlementCollected=True)


def _loan_defaulted(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    _touch_accrual(s, ev, ctx)
    lid, loan = _loan(s, ev)
    _check(s, ev, f"loan {lid}", "outstanding", owed(loan), ev.args["outstanding"])
    s.update("loans", lid, status=L_DEFAULTED, defaultedAt=ctx.ts(ev.log.block_number))


def _guarantee_signed(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    lid, loan = _loan(s, ev)
    _check(s, ev, f"loan {lid}", "guarantee amount", loan["principal"], ev.args["amount"])
    s.update("loans", lid, guaranteeSigned=True, guaranteeHeld=ev.args["amount"])


def _guarantee_called(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    """The guarantor is charged out of the commitment held for the loan."""
    lid, loan = _loan(s, ev)
    s.update("loans", lid, guarantorPaid=loan["guarantorPaid"] + ev.args["amount"],
             guaranteeHeld=loan["guaranteeHeld"] - ev.args["amount"])


def _guarantee_released(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    """What was held of the commitment went back to the guarantor: nothing is held any more."""
    lid, loan = _loan(s, ev)
    _check(s, ev, f"loan {lid}", "guarantee released", loan["guaranteeHeld"], ev.args["amount"])
    s.update("loans", lid, guaranteeHeld=0)


def _loan_written_off(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    lid, loan = _loan(s, ev)
    _check(s, ev, f"loan {lid}", "writtenOff", owed(loan), ev.args["amount"])
    s.update("loans", lid, status=L_WRITTEN_OFF, writtenOff=ev.args["amount"])


def _loan_warned(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    _touch_accrual(s, ev, ctx)
    s.update("loans", str(ev.args["loanId"]), status=L_WARNED, warningDeadline=ev.args["deadline"])


def _loan_recalled(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    _touch_accrual(s, ev, ctx)
    now = ctx.ts(ev.log.block_number)
    s.update("loans", str(ev.args["loanId"]), status=L_RECALLED, maturity=now, warningDeadline=0)


def _collateral_converted(s: State, ev: DecodedEvent, ctx: FoldContext) -> None:
    receipt = s.table("assets")[str(ev.args["toAssetId"])]
    s.update("loans", str(ev.args["loanId"]), assetId=ev.args["toAssetId"], supervisor=receipt["obligor"],
             collateralQuantity=ev.args["quantity"])


register("LoanBook", {
    **ACCESS,
    "LoanApplied": _loan_applied,
    "LoanApproved": _loan_approved,
    "LoanRejected": lambda s, ev, ctx: s.update("loans", str(ev.args["loanId"]), status=L_REJECTED),
    "LoanWithdrawn": lambda s, ev, ctx: s.update("loans", str(ev.args["loanId"]), status=L_WITHDRAWN),
    "GuaranteeSigned": _guarantee_signed,
    "GuaranteeReleased": _guarantee_released,
    "LoanDisbursed": _loan_disbursed,
    "InterestAccrued": _interest_accrued,
    "LoanRepayment": _loan_repayment,
    "LoanRepaid": lambda s, ev, ctx: s.update("loans", str(ev.args["loanId"]), status=L_REPAID),
    "SettlementCollected": _settlement_collected,
    "LoanDefaulted": _loan_defaulted,
    "GuaranteeCalled": _guarantee_called,
    "LoanWrittenOff": _loan_written_off,
    "LoanWarned": _loan_warned,
    "WarningCleared": lambda s, ev, ctx: s.update("loans", str(ev.args["loanId"]), status=L_DISBURSED,
                                                  warningDeadline=0),
    "LoanRecalled": _loan_recalled,
    "CollateralConverted": _collateral_converted,
})
