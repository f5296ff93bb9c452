"""The risk engine: indicators over rolling windows, fed record by record from the chain.

:class:`RiskEngine` keeps its own context from the stream (chains, orders, loans, assets, loan money,
cash) and returns :class:`~vscm.risk.events.Finding` records. ``feed`` handles one record;
``tick`` runs the time-based indicators (repayment late, invoice without delivery, receipts drop).
Its state is plain JSON (``state_dict`` / ``from_state``) so the monitor can save it between runs;
the state is pruned to the rolling windows, to the orders and loans still open, and to the
de-duplication keys of the findings already made.

Rules (thresholds in ``thresholds.toml``):

* 101 receipts drop: a member's PlatformCash received (mints excluded), per currency, over the recent
  window is below ``(1 - drop_fraction)`` times its rate over the trailing window just before, which
  must hold ``min_trailing_count`` receipts; once per episode (re-armed when receipts recover).
* 102 repayment late: a disbursed loan not repaid ``grace_seconds`` after maturity (high), and again
  ``critical_seconds`` after it (critical). A recall makes the loan due at once.
* 103 payee not allowed: a mined ``FundTracker.spend`` that reverted with ``FundsPayeeNotAllowed``;
  critical from the ``critical_attempts``-th attempt of the loan within the window.
* 104 round trip: loan money paid out (``FundsMoved``) that comes back to the borrower within the
  window, over all paths: the payout is followed as it spreads from the payee through up to
  ``max_intermediaries`` members (each member's outgoing PlatformCash carries the payout money it
  holds first, never more than it received), and the parts that reach the borrower, from the payee or
  any intermediary, add up; it fires when they reach ``share`` of the payment (48 % through one
  member and 48 % through another is 96 % back). The settlement of an order whose goods an
  independent carrier shipped and an independent warehouse delivered is trade, not a round trip,
  and is not followed.
* 201 order unwound after financing: ``OrderCancelled``, ``DisputeResolved`` to Cancelled or
  ``OrderDisputed`` on the purpose order or the collateral's order of a disbursed, open loan.
* 202 invoice without delivery: an invoice (``OrderInvoiced`` or an Invoice document) with no delivery
  confirmed by a warehouse other than the buyer and seller ``delivery_grace_seconds`` later.
* 203 goods missing: an oracle breach of :data:`ORACLE_EVENTS` on goods no loan holds (the oracle
  alerts a loan's lender itself).
* 204 counterparty's chain evicted: ``ChainEvicted`` while an open loan of another chain's borrower
  finances an order across chains (its purpose order or its collateral's order) whose other party is in
  the evicted chain, on that loan (RiskControl's on-chain sweep covers the evicted chain's own loans).
* 401 circular trading: a cycle of invoiced orders (seller -> buyer, same currency, across chains too, within
  the window) of at most ``max_length`` members whose per-edge totals are within ``tolerance`` of
  each other.
* 402 receivable without shipment: a receivable or payable registered on an order that was not
  shipped, or shipped by its own buyer or seller as carrier; again on the loan if it is financed.
* 502 certificate round trip: a certificate part paid (``PartSplit``) to the core that issued the
  certificate, on the certificate's chain.
* 503 certificate without shipment: a certificate issued for, or a part paid on, an order that was not
  shipped, or shipped by its own buyer or seller as carrier, on the certificate's chain.

A member-level signal (101, 202 of an unfinanced order, 203 without a loan) targets each open
disbursed loan of the member, otherwise the member's supply chain; with neither it is dropped.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any, Literal

from eth_utils import is_hex_address, to_checksum_address

from vscm.risk.config import Thresholds, load_thresholds
from vscm.risk.events import ChainEvent, FailedCall, Finding, Indicator, Record, Severity
from vscm.risk.graph import canonical, cycle_edges, cycles_through

STATE_VERSION = 2
#: Earlier state versions :meth:`RiskEngine.from_state` still reads (upgraded on load).
READABLE_VERSIONS = (1, 2)
ZERO = "0x0000000000000000000000000000000000000000"

# Enum values of the contracts (IOrderBook.OrderStatus, IOrderBook.DocKind, IAssetRegistry.AssetKind).
ORDER_CANCELLED = 7
DOC_INVOICE = 1
ASSET_RECEIVABLE, ASSET_PAYABLE, ASSET_RECEIPT, ASSET_FUTURE_GOODS = 0, 1, 2, 3

#: Oracle events read as "goods missing" (203). ``kinds`` maps the value of the ``kind`` argument
#: to a severity (only those kinds count); ``severity`` applies when there is no kind filter.
#: Adjust the names here if the TelemetryOracle's events differ.
ORACLE_EVENTS: dict[tuple[str, str], dict[str, Any]] = {
    # Breach.GoodsMissing (0) on a TargetKind.Asset (0) target. A breach bound to a loan, and every
    # MarginCall, is raised on chain by the oracle itself (IAlertSink, indicators 301-305): the engine
    # does not raise it twice; it reports goods missing from receipts no loan holds (on the owner).
    ("TelemetryOracle", "BreachDetected"): {"kind_field": "breach", "kinds": {0: Severity.CRITICAL},
                                            "target_kind": 0, "asset_field": "targetId"},
}

#: Reverted calls read as "loan money attempted outside allowed payees" (103).
PAYEE_REFUSALS: dict[tuple[str, str], frozenset[str]] = {
    ("FundTracker", "spend"): frozenset({"FundsPayeeNotAllowed"}),
}

OPEN_LOAN = ("disbursed", "warned", "recalled", "defaulted")


@lru_cache(maxsize=4096)
def _checksum(value: str) -> str:
    return to_checksum_address(value) if is_hex_address(value) else value


def addr(value: Any) -> str:
    """An address as a checksummed string (anything else as its string)."""
    return _checksum(str(value))


def _id(value: Any) -> str:
    return str(int(value))


class RiskEngine:
    """Incremental risk indicators. See the module docstring for the rules."""

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.t = thresholds if thresholds is not None else load_thresholds()
        self.s: dict[str, Any] = {
            "version": STATE_VERSION,
            "last_block": -1,
            "last_time": 0,
            "block_ids": [],
            "contracts": {},
            "chain_of": {},
            "orders": {},
            "loans": {},
            "assets": {},
            "receipts": {},
            "payee_attempts": {},
            "payouts": [],
            "trade": {},
            "settling": None,
            "emitted": [],
        }
        self._emitted: set[str] = set()
        self._handlers: dict[tuple[str, str], Callable[[ChainEvent], list[Finding]]] = {
            ("MemberRegistry", "ChainCreated"): self._chain_created,
            ("MemberRegistry", "ChainJoinApproved"): self._chain_joined,
            ("MemberRegistry", "ChainLeft"): self._chain_left,
            ("MemberRegistry", "ChainEvicted"): self._chain_evicted,
            ("OrderBook", "OrderPlaced"): self._order_placed,
            ("OrderBook", "OrderPlacedAcrossChains"): self._order_across_chains,
            ("OrderBook", "OrderShipped"): self._order_shipped,
            ("OrderBook", "OrderDelivered"): self._order_delivered,
            ("OrderBook", "OrderInvoiced"): self._order_invoiced,
            ("OrderBook", "DocumentAttached"): self._document_attached,
            ("OrderBook", "OrderSettled"): self._order_settled,
            ("OrderBook", "OrderCancelled"): self._order_cancelled,
            ("OrderBook", "OrderDisputed"): self._order_disputed,
            ("OrderBook", "DisputeResolved"): self._dispute_resolved,
            ("AssetRegistry", "AssetRegistered"): self._asset_registered,
            ("AssetRegistry", "AssetLocked"): self._asset_locked,
            ("AssetRegistry", "AssetRetired"): self._asset_retired,
            ("LoanBook", "LoanApplied"): self._loan_applied,
            ("LoanBook", "LoanRejected"): self._loan_closed,
            ("LoanBook", "LoanWithdrawn"): self._loan_closed,
            ("LoanBook", "LoanDisbursed"): self._loan_disbursed,
            ("LoanBook", "LoanRepayment"): self._loan_repayment,
            ("LoanBook", "LoanRepaid"): self._loan_closed,
            ("LoanBook", "LoanWrittenOff"): self._loan_closed,
            ("LoanBook", "LoanDefaulted"): self._loan_defaulted,
            ("LoanBook", "LoanWarned"): self._loan_warned,
            ("LoanBook", "WarningCleared"): self._loan_cleared,
            ("LoanBook", "LoanRecalled"): self._loan_recalled,
            ("LoanBook", "CollateralConverted"): self._collateral_converted,
            ("FundTracker", "FundsOpened"): self._funds_opened,
            ("FundTracker", "FundsMoved"): self._funds_moved,
            ("PlatformCash", "Transfer"): self._transfer,
            ("Certificates", "CertificateIssued"): self._certificate_issued,
            ("Certificates", "PartSplit"): self._part_split,
        }
        for key in ORACLE_EVENTS:
            self._handlers[key] = self._oracle

    # ------------------------------------------------------------------ persistence

    def state_dict(self) -> dict[str, Any]:
        """The engine's whole state as JSON-able data (a copy)."""
        state = copy.deepcopy(self.s)
        state["emitted"] = sorted(self._emitted)
        return state

    @classmethod
    def from_state(cls, state: Mapping[str, Any], thresholds: Thresholds | None = None) -> RiskEngine:
        """An engine that continues from ``state`` (as returned by :meth:`state_dict`)."""
        if not isinstance(state, Mapping) or state.get("version") not in READABLE_VERSIONS:
            found = state.get("version") if isinstance(state, Mapping) else type(state).__name__
            raise ValueError(f"risk engine state: version {found!r} is not {STATE_VERSION}")
        engine = cls(thresholds)
        missing = [k for k in engine.s if k not in state]
        if missing:
            raise ValueError(f"risk engine state: missing key {missing[0]!r}")
        engine.s = copy.deepcopy(dict(state))
        if engine.s["version"] == 1:
            engine.s["payouts"] = [_payout_v2(p) for p in engine.s["payouts"]]
            engine.s["version"] = STATE_VERSION
        engine._emitted = set(engine.s["emitted"])
        return engine

    # ------------------------------------------------------------------ entry points

    def feed(self, record: Record) -> list[Finding]:
        """Take one record (in chain order) and return the findings it triggers."""
        s = self.s
        if record.block < s["last_block"]:
            return []  # replayed from before what the engine has seen
        rid = (f"e:{record.tx}:{record.log_index}" if isinstance(record, ChainEvent) else f"f:{record.tx}") \
            if record.tx else ""
        if record.block > s["last_block"]:
            s["last_block"], s["block_ids"] = record.block, []
            self._prune(record.time)  # once per block: the windows move with the chain
        elif rid and rid in s["block_ids"]:
            return []  # the same record again
        if rid:
            s["block_ids"].append(rid)
        s["last_time"] = max(s["last_time"], record.time)
        if isinstance(record, FailedCall):
            try:
                return self._failed_call(record)
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"risk engine: failed call {record.contract}.{record.function} at block "
                                 f"{record.block} (tx {record.tx or '-'}): missing or malformed argument {exc}") from exc
        if record.address and record.contract != "PlatformCash":
            s["contracts"][record.contract] = addr(record.address)
        handler = self._handlers.get((record.contract, record.name))
        if handler is None:
            return []
        try:
            return handler(record)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"risk engine: {record.contract}.{record.name} at block {record.block} "
                             f"(tx {record.tx or '-'}): missing or malformed argument {exc}") from exc

    def tick(self, now_time: int, block: int) -> list[Finding]:
        """Run the time-based indicators at chain time ``now_time`` (block ``block``)."""
        self._prune(now_time)
        found: list[Finding] = []
        found += self._late_loans(now_time, block)
        found += self._undelivered_invoices(now_time, block)
        found += self._receipt_drops(now_time, block)
        return found

    # ------------------------------------------------------------------ helpers

    def _finding(self, subject: Literal["loan", "chain"], subject_id: int, indicator: Indicator,
                 severity: Severity, key: str, evidence: dict[str, Any], block: int) -> list[Finding]:
        full = f"{int(indicator)}:{key}@{subject}:{subject_id}"
        if full in self._emitted:
            return []
        self._emitted.add(full)
        return [Finding(subject, int(subject_id), int(indicator), int(severity), full,
                        copy.deepcopy(evidence), block)]

    def _open_loans_of(self, member: str) -> list[int]:
        return sorted(int(lid) for lid, ln in self.s["loans"].items()
                      if ln["borrower"] == member and ln["status"] in OPEN_LOAN)

    def _member_signal(self, member: str, indicator: Indicator, severity: Severity, key: str,
                       evidence: dict[str, Any], block: int) -> list[Finding]:
        """A member-level signal: on each open loan of the member, else on its supply chain."""
        out: list[Finding] = []
        loans = self._open_loans_of(member)
        for lid in loans:
            out += self._finding("loan", lid, indicator, severity, key, evidence, block)
        if not loans:
            chain = self.s["chain_of"].get(member)
            if chain:
                out += self._finding("chain", int(chain), indicator, severity, key, evidence, block)
        return out

    def _loans_financing(self, order_id: str) -> list[int]:
        """Open disbursed loans whose purpose order, or whose collateral's order, is ``order_id``."""
        out = []
        for lid, ln in self.s["loans"].items():
            if ln["status"] not in OPEN_LOAN:
                continue
            asset = self.s["assets"].get(ln["asset"] or "")
            if ln["purpose"] == order_id or (asset is not None and asset["order"] == order_id):
                out.append(int(lid))
        return sorted(out)

    def _is_platform(self, who: str) -> bool:
        return who in self.s["contracts"].values()

    def _prune(self, now: int) -> None:
        s, t = self.s, self.t
        horizon = now - t.receipts_recent_seconds - t.receipts_trailing_seconds
        for key in list(s["receipts"]):
            series = s["receipts"][key]
            series["items"] = [it for it in series["items"] if it[0] > horizon]
            if not series["items"]:
                del s["receipts"][key]
        for lid in list(s["payee_attempts"]):
            kept = [x for x in s["payee_attempts"][lid] if x > now - t.payees_window_seconds]
            if kept:
                s["payee_attempts"][lid] = kept
            else:
                del s["payee_attempts"][lid]
        s["payouts"] = [p for p in s["payouts"] if p["time"] >= now - t.round_trip_window_seconds]
        for graph in s["trade"].values():
            graph["edges"] = [e for e in graph["edges"] if e[4] >= now - t.circular_window_seconds]
            live = {e[0] for e in graph["edges"]}
            graph["fired"] = {c: oids for c, oids in graph["fired"].items() if live.intersection(oids)}

    # ------------------------------------------------------------------ members and chains

    def _chain_created(self, ev: ChainEvent) -> list[Finding]:
        self.s["chain_of"][addr(ev.args["core"])] = int(ev.args["chainId"])
        return []

    def _chain_joined(self, ev: ChainEvent) -> list[Finding]:
        self.s["chain_of"][addr(ev.args["member"])] = int(ev.args["chainId"])
        return []

    def _chain_evicted(self, ev: ChainEvent) -> list[Finding]:
        """204: the open loans of other chains' borrowers that finance an order across chains touching the
        evicted chain (their purpose order, or their collateral's order); the evicted chain's own loans are
        RiskControl's sweep's."""
        evicted = int(ev.args["chainId"])
        out: list[Finding] = []
        for lid, ln in sorted(self.s["loans"].items(), key=lambda kv: int(kv[0])):
            if ln["status"] not in OPEN_LOAN or self.s["chain_of"].get(ln["borrower"]) == evicted:
                continue
            asset = self.s["assets"].get(ln["asset"] or "")
            order_ids = {ln["purpose"], *([asset["order"]] if asset is not None and asset["order"] else [])}
            touched = sorted((oid for oid in order_ids
                              if (o := self.s["orders"].get(oid)) is not None and evicted in self._chains_of(o)),
                             key=int)
            if touched:
                evidence = {"evicted_chain": evicted, "borrower": ln["borrower"],
                            "orders": [int(x) for x in touched], "tx": ev.tx}
                out += self._finding("loan", int(lid), Indicator.COUNTERPARTY_CHAIN_EVICTED, Severity.HIGH,
                                     f"evicted:{evicted}", evidence, ev.block)
        return out

    def _chain_left(self, ev: ChainEvent) -> list[Finding]:
        self.s["chain_of"].pop(addr(ev.args["member"]), None)
        return []

    # ------------------------------------------------------------------ orders

    def _order_placed(self, ev: ChainEvent) -> list[Finding]:
        a = ev.args
        self.s["orders"][_id(a["orderId"])] = {
            "buyer": addr(a["buyer"]), "seller": addr(a["seller"]), "chain": int(a["chainId"]),
            "currency": addr(a["currency"]), "amount": int(a["amount"]), "placed_at": ev.time,
            "carrier": None, "warehouse": None, "delivered_by": None, "invoiced_at": None,
            "invoice_tx": None, "seller_chain": int(a["chainId"]),
        }
        return []

    def _order_across_chains(self, ev: ChainEvent) -> list[Finding]:
        o = self.s["orders"].get(_id(ev.args["orderId"]))
        if o is not None:
            o["seller_chain"] = int(ev.args["sellerChainId"])
        return []

    @staticmethod
    def _chains_of(o: dict[str, Any]) -> list[int]:
        """The chains an order touches: its own (the buyer's) and, across chains, the seller's."""
        seller_chain = int(o["seller_chain"])
        return [o["chain"]] if seller_chain == o["chain"] else sorted({o["chain"], seller_chain})

    def _order_shipped(self, ev: ChainEvent) -> list[Finding]:
        o = self.s["orders"].get(_id(ev.args["orderId"]))
        if o is not None:
            o["carrier"], o["warehouse"] = addr(ev.args["carrier"]), addr(ev.args["warehouse"])
        return []

    def _order_delivered(self, ev: ChainEvent) -> list[Finding]:
        o = self.s["orders"].get(_id(ev.args["orderId"]))
        if o is not None:
            o["delivered_by"] = addr(ev.args["by"])
        return []

    def _mark_invoiced(self, oid: str, ev: ChainEvent) -> dict[str, Any] | None:
        o = self.s["orders"].get(oid)
        if o is not None and o["invoiced_at"] is None:
            o["invoiced_at"], o["invoice_tx"] = ev.time, ev.tx
        return o

    def _order_invoiced(self, ev: ChainEvent) -> list[Finding]:
        oid = _id(ev.args["orderId"])
        o = self._mark_invoiced(oid, ev)
        if o is None:
            return []
        return self._trade_edge(oid, o, ev)

    def _document_attached(self, ev: ChainEvent) -> list[Finding]:
        if int(ev.args["kind"]) == DOC_INVOICE:
            self._mark_invoiced(_id(ev.args["orderId"]), ev)
        return []

    def _order_settled(self, ev: ChainEvent) -> list[Finding]:
        """The settlement's cash transfer follows in the same transaction; remember what it pays for."""
        o = self.s["orders"].pop(_id(ev.args["orderId"]), None)
        independent = o is not None and all(
            x is not None and x not in (o["buyer"], o["seller"]) for x in (o["carrier"], o["delivered_by"]))
        self.s["settling"] = {"tx": ev.tx, "from": addr(ev.args["payer"]), "to": addr(ev.args["payee"]),
                              "amount": int(ev.args["amount"]), "order": _id(ev.args["orderId"]),
                              "delivered": independent}
        return []

    def _unwound(self, ev: ChainEvent, how: str, severity: Severity) -> list[Finding]:
        oid = _id(ev.args["orderId"])
        o = self.s["orders"].get(oid)
        out: list[Finding] = []
        for lid in self._loans_financing(oid):
            ln = self.s["loans"][str(lid)]
            evidence = {"order": int(oid), "event": ev.name, "how": how, "by": addr(ev.args.get("by", "")),
                        "tx": ev.tx, "borrower": ln["borrower"], "principal": ln["principal"],
                        "as": "purpose order" if ln["purpose"] == oid else "collateral order"}
            if o is not None:
                evidence.update(buyer=o["buyer"], seller=o["seller"], amount=o["amount"])
            key = f"order:{oid}:{how}" + ("" if how == "cancelled" else f":{ev.tx or ev.block}:{ev.log_index}")
            out += self._finding("loan", lid, Indicator.ORDER_UNWOUND_AFTER_FINANCING, severity, key,
                                 evidence, ev.block)
        return out

    def _order_cancelled(self, ev: ChainEvent) -> list[Finding]:
        out = self._unwound(ev, "cancelled", Severity.HIGH)
        self.s["orders"].pop(_id(ev.args["orderId"]), None)
        return out

    def _order_disputed(self, ev: ChainEvent) -> list[Finding]:
        return self._unwound(ev, "disputed", Severity.MEDIUM)

    def _dispute_resolved(self, ev: ChainEvent) -> list[Finding]:
        if int(ev.args["status"]) != ORDER_CANCELLED:
            return []
        return self._order_cancelled(ev)

    # ------------------------------------------------------------------ 401 circular trading

    def _trade_edge(self, oid: str, o: dict[str, Any], ev: ChainEvent) -> list[Finding]:
        t = self.t
        # One graph per currency: orders across chains let a cycle pass through several chains.
        gkey = o["currency"]
        graph = self.s["trade"].setdefault(gkey, {"edges": [], "fired": {}})
        graph["edges"].append([oid, o["seller"], o["buyer"], o["amount"], ev.time, self._chains_of(o)])
        weights: dict[tuple[str, str], int] = {}
        orders_on: dict[tuple[str, str], list[str]] = {}
        chains_of: dict[str, list[int]] = {}
        for e_oid, seller, buyer, amount, _, e_chains in graph["edges"]:
            weights[(seller, buyer)] = weights.get((seller, buyer), 0) + amount
            orders_on.setdefault((seller, buyer), []).append(e_oid)
            chains_of[e_oid] = e_chains
        out: list[Finding] = []
        for cycle in cycles_through(weights, o["seller"], o["buyer"], t.circular_max_length):
            edges = cycle_edges(cycle)
            amounts = [weights[e] for e in edges]
            if min(amounts) < (1 - t.circular_tolerance) * max(amounts):
                continue
            name = "->".join(canonical(cycle))
            if name in graph["fired"]:
                continue  # the same cycle, still within the window of the orders that showed it
            oids = sorted({x for e in edges for x in orders_on[e]}, key=int)
            graph["fired"][name] = oids
            financed = any(self._loans_financing(x) for x in oids)
            evidence = {
                "members": list(canonical(cycle)),
                "edges": [{"seller": u, "buyer": v, "amount": weights[(u, v)],
                           "orders": [int(x) for x in orders_on[(u, v)]]} for u, v in edges],
                "currency": o["currency"], "spread": (max(amounts) - min(amounts)) / max(amounts),
                "tolerance": t.circular_tolerance, "window_seconds": t.circular_window_seconds,
                "financed": financed, "tx": ev.tx,
            }
            # Raised on every chain the cycle's orders touch: each chain's lenders see it.
            chains = sorted({c for x in oids for c in chains_of[x]})
            for chain in chains:
                out += self._finding("chain", chain, Indicator.CIRCULAR_TRADING,
                                     Severity.CRITICAL if financed else Severity.HIGH,
                                     f"cycle:{o['currency']}:{name}:from-order:{oids[0]}", evidence, ev.block)
        return out

    # ------------------------------------------------------------------ assets

    def _asset_registered(self, ev: ChainEvent) -> list[Finding]:
        a = ev.args
        aid = _id(a["assetId"])
        kind, order_id = int(a["kind"]), _id(a["orderId"])
        asset: dict[str, Any] = {"kind": kind, "order": order_id if order_id != "0" else None,
                                 "owner": addr(a["owner"]),
                 "issuer": addr(a["issuer"]), "obligor": addr(a["obligor"]), "value": int(a["value"]),
                 "suspect": None}
        self.s["assets"][aid] = asset
        o = self.s["orders"].get(order_id)
        if kind not in (ASSET_RECEIVABLE, ASSET_PAYABLE) or o is None:
            return []
        why = _unshipped(o)
        if why is None:
            return []
        evidence = {"asset": int(aid), "kind": "receivable" if kind == ASSET_RECEIVABLE else "payable",
                    "order": int(order_id), "creditor": o["seller"], "debtor": o["buyer"], "value": int(a["value"]),
                    "carrier": o["carrier"], "why": why, "tx": ev.tx}
        asset["suspect"] = evidence
        out: list[Finding] = []
        for chain in self._chains_of(o):
            out += self._finding("chain", chain, Indicator.RECEIVABLE_WITHOUT_SHIPMENT, Severity.HIGH,
                                 f"asset:{aid}", evidence, ev.block)
        return out

    # ------------------------------------------------------------------ 502, 503 payable certificates

    def _certificate_issued(self, ev: ChainEvent) -> list[Finding]:
        a = ev.args
        # Kept beside the saved state's keys (``setdefault``): a state saved before certificates loads.
        certs = self.s.setdefault("certificates", {})
        certs[_id(a["certificateId"])] = {"core": addr(a["core"]), "chain": int(a["chainId"])}
        return self._unshipped_by_certificate(_id(a["certificateId"]), _id(a["orderId"]), int(a["face"]), ev)

    def _part_split(self, ev: ChainEvent) -> list[Finding]:
        a = ev.args
        cid, order_id = _id(a["certificateId"]), _id(a["orderId"])
        cert = self.s.setdefault("certificates", {}).get(cid)
        if cert is None or order_id == "0":
            return []  # a certificate issued before the engine's history, or a piece kept aside
        out: list[Finding] = []
        if addr(a["to"]) == cert["core"]:
            evidence = {"certificate": int(cid), "part": int(a["child"]), "parent": int(a["parent"]),
                        "from": addr(a["from"]), "core": cert["core"], "order": int(order_id),
                        "amount": int(a["amount"]), "tx": ev.tx}
            out += self._finding("chain", cert["chain"], Indicator.CERTIFICATE_ROUND_TRIP, Severity.HIGH,
                                 f"part:{cid}:{int(a['child'])}", evidence, ev.block)
        return out + self._unshipped_by_certificate(cid, order_id, int(a["amount"]), ev, part=int(a["child"]))

    def _unshipped_by_certificate(self, cid: str, order_id: str, amount: int, ev: ChainEvent,
                                  part: int = 0) -> list[Finding]:
        o = self.s["orders"].get(order_id)
        cert = self.s["certificates"][cid]
        if o is None:
            return []
        why = _unshipped(o)
        if why is None:
            return []
        evidence = {"certificate": int(cid), "part": part, "order": int(order_id), "buyer": o["buyer"],
                    "seller": o["seller"], "amount": amount, "carrier": o["carrier"], "why": why, "tx": ev.tx}
        return self._finding("chain", cert["chain"], Indicator.CERTIFICATE_WITHOUT_SHIPMENT, Severity.MEDIUM,
                             f"order:{cid}:{order_id}", evidence, ev.block)

    def _asset_locked(self, ev: ChainEvent) -> list[Finding]:
        aid, lid = _id(ev.args["assetId"]), _id(ev.args["loanId"])
        asset = self.s["assets"].get(aid)
        ln = self.s["loans"].get(lid)
        held = self.s["assets"].get(ln["asset"] or "") if ln is not None else None
        # A receipt born locked to a prepayment loan is not its collateral until CollateralConverted.
        born_locked = (asset is not None and held is not None and asset["kind"] == ASSET_RECEIPT
                       and held["kind"] == ASSET_FUTURE_GOODS and asset["order"] == held["order"])
        if ln is not None and not born_locked:
            ln["asset"] = aid
        if asset is None or asset["suspect"] is None:
            return []
        evidence = dict(asset["suspect"], loan=int(lid), lock_tx=ev.tx)
        return self._finding("loan", int(lid), Indicator.RECEIVABLE_WITHOUT_SHIPMENT, Severity.CRITICAL,
                             f"asset:{aid}:financed", evidence, ev.block)

    def _asset_retired(self, ev: ChainEvent) -> list[Finding]:
        aid = _id(ev.args["assetId"])
        if not any(ln["asset"] == aid and ln["status"] in OPEN_LOAN for ln in self.s["loans"].values()):
            self.s["assets"].pop(aid, None)
        return []

    # ------------------------------------------------------------------ loans

    def _loan_applied(self, ev: ChainEvent) -> list[Finding]:
        a = ev.args
        self.s["loans"][_id(a["loanId"])] = {
            "borrower": addr(a["borrower"]), "lender": addr(a["lender"]), "mode": int(a["mode"]),
            "asset": _id(a["assetId"]), "purpose": _id(a["purposeOrderId"]), "currency": addr(a["currency"]),
            "principal": int(a["principal"]), "term": int(a["termSeconds"]), "status": "applied",
            "maturity": None, "disbursed_at": None, "outstanding": int(a["principal"]),
        }
        return []

    def _loan(self, ev: ChainEvent) -> dict[str, Any] | None:
        loan: dict[str, Any] | None = self.s["loans"].get(_id(ev.args["loanId"]))
        return loan

    def _loan_disbursed(self, ev: ChainEvent) -> list[Finding]:
        ln = self._loan(ev)
        if ln is not None:
            ln.update(status="disbursed", maturity=int(ev.args["maturity"]), disbursed_at=ev.time,
                      outstanding=int(ev.args["principal"]))
        return []

    def _loan_repayment(self, ev: ChainEvent) -> list[Finding]:
        ln = self._loan(ev)
        if ln is not None:
            ln["outstanding"] = int(ev.args["outstanding"])
        return []

    def _loan_closed(self, ev: ChainEvent) -> list[Finding]:
        lid = _id(ev.args["loanId"])
        self.s["loans"].pop(lid, None)
        self.s["payee_attempts"].pop(lid, None)
        return []

    def _loan_defaulted(self, ev: ChainEvent) -> list[Finding]:
        ln = self._loan(ev)
        if ln is not None:
            ln.update(status="defaulted", outstanding=int(ev.args["outstanding"]))
        return []

    def _loan_warned(self, ev: ChainEvent) -> list[Finding]:
        ln = self._loan(ev)
        if ln is not None:
            ln["status"] = "warned"
        return []

    def _loan_cleared(self, ev: ChainEvent) -> list[Finding]:
        ln = self._loan(ev)
        if ln is not None:
            ln["status"] = "disbursed"
        return []

    def _loan_recalled(self, ev: ChainEvent) -> list[Finding]:
        ln = self._loan(ev)
        if ln is not None:
            ln.update(status="recalled", maturity=ev.time)
        return []

    def _collateral_converted(self, ev: ChainEvent) -> list[Finding]:
        ln = self._loan(ev)
        if ln is not None:
            ln["asset"] = _id(ev.args["toAssetId"])
        return []

    def _late_loans(self, now: int, block: int) -> list[Finding]:
        t = self.t
        out: list[Finding] = []
        for lid, ln in sorted(self.s["loans"].items(), key=lambda kv: int(kv[0])):
            if ln["status"] not in OPEN_LOAN or ln["maturity"] is None or ln["outstanding"] == 0:
                continue
            late = now - ln["maturity"]
            evidence = {"borrower": ln["borrower"], "lender": ln["lender"], "maturity": ln["maturity"],
                        "now": now, "late_seconds": late, "outstanding": ln["outstanding"],
                        "principal": ln["principal"], "status": ln["status"]}
            if late > t.repayment_critical_seconds:
                out += self._finding("loan", int(lid), Indicator.REPAYMENT_LATE, Severity.CRITICAL, "late:critical",
                                     dict(evidence, threshold_seconds=t.repayment_critical_seconds), block)
                # First seen already critically late: that one finding says it all.
                self._emitted.add(f"{int(Indicator.REPAYMENT_LATE)}:late@loan:{int(lid)}")
            elif late > t.repayment_grace_seconds:
                out += self._finding("loan", int(lid), Indicator.REPAYMENT_LATE, Severity.HIGH, "late",
                                     dict(evidence, threshold_seconds=t.repayment_grace_seconds), block)
        return out

    # ------------------------------------------------------------------ 202 invoices without delivery

    def _undelivered_invoices(self, now: int, block: int) -> list[Finding]:
        out: list[Finding] = []
        for oid, o in sorted(self.s["orders"].items(), key=lambda kv: int(kv[0])):
            if o["invoiced_at"] is None or now - o["invoiced_at"] < self.t.invoice_delivery_grace_seconds:
                continue
            by = o["delivered_by"]
            if by is not None and by not in (o["buyer"], o["seller"]):
                continue
            evidence = {"order": int(oid), "buyer": o["buyer"], "seller": o["seller"], "amount": o["amount"],
                        "invoiced_at": o["invoiced_at"], "invoice_tx": o["invoice_tx"], "now": now,
                        "carrier": o["carrier"], "warehouse": o["warehouse"], "delivered_by": by,
                        "why": "never delivered" if by is None else "delivery confirmed by a party of the order",
                        "grace_seconds": self.t.invoice_delivery_grace_seconds}
            loans = self._loans_financing(oid)
            for lid in loans:
                out += self._finding("loan", lid, Indicator.INVOICE_WITHOUT_DELIVERY, Severity.HIGH,
                                     f"order:{oid}", evidence, block)
            if not loans:
                out += self._member_signal(o["seller"], Indicator.INVOICE_WITHOUT_DELIVERY, Severity.MEDIUM,
                                           f"order:{oid}", evidence, block)
        return out

    # ------------------------------------------------------------------ 103 refused payees

    def _failed_call(self, call: FailedCall) -> list[Finding]:
        errors = PAYEE_REFUSALS.get((call.contract, call.function))
        if errors is None or call.error not in errors:
            return []
        lid = _id(call.args["loanId"])
        attempts = self.s["payee_attempts"].setdefault(lid, [])
        attempts.append(call.time)
        ln = self.s["loans"].get(lid)
        evidence: dict[str, Any] = {
            "payee": addr(call.args.get("to", "")), "amount": int(call.args.get("amount", 0)), "sender": call.sender,
            "error": call.error, "tx": call.tx, "attempts_in_window": len(attempts),
            "window_seconds": self.t.payees_window_seconds,
        }
        if ln is not None:
            evidence["borrower"] = ln["borrower"]
            o = self.s["orders"].get(ln["purpose"])
            if o is not None:
                evidence["allowed_payees"] = [p for p in (o["seller"], o["carrier"], o["warehouse"]) if p]
        severity = Severity.CRITICAL if len(attempts) >= self.t.payees_critical_attempts else Severity.HIGH
        return self._finding("loan", int(lid), Indicator.PAYEE_NOT_ALLOWED, severity,
                             f"attempt:{call.tx or call.block}", evidence, call.block)

    # ------------------------------------------------------------------ 104 round trips, cash

    def _funds_opened(self, ev: ChainEvent) -> list[Finding]:
        ln = self._loan(ev)
        if ln is not None:
            ln["currency"] = addr(ev.args["currency"])
        return []

    def _funds_moved(self, ev: ChainEvent) -> list[Finding]:
        lid = int(ev.args["loanId"])
        ln = self.s["loans"].get(str(lid))
        payee, borrower = addr(ev.args["to"]), addr(ev.args["from"])
        self.s["payouts"].append({
            "loan": lid, "borrower": borrower, "payee": payee, "amount": int(ev.args["amount"]),
            "currency": ln["currency"] if ln is not None else None, "time": ev.time, "tx": ev.tx,
            "hop": int(ev.args.get("hop", 0)),
            # member -> [payout money it holds, members between the payee and it]
            "holders": {payee: [int(ev.args["amount"]), 0]},
            "returned": 0, "returns": [], "fired": False,
        })
        return []

    def _transfer(self, ev: ChainEvent) -> list[Finding]:
        sender, to, value = addr(ev.args["from"]), addr(ev.args["to"]), int(ev.args["value"])
        currency = addr(ev.address) if ev.address else None
        if sender != ZERO and to != sender and not self._is_platform(to):
            key = f"{to}|{currency or ''}"
            series = self.s["receipts"].setdefault(key, {"first": ev.time, "items": [], "drop_since": None})
            series["items"].append([ev.time, value])
        settling = self.s["settling"]
        if settling is not None and settling["tx"] == ev.tx and (settling["from"], settling["to"], settling["amount"]) \
                == (sender, to, value):
            self.s["settling"] = None
            if settling["delivered"]:
                return []  # paying for goods an independent carrier and warehouse handled: trade, not a round trip
        out: list[Finding] = []
        t = self.t
        for p in self.s["payouts"]:
            if p["fired"] or sender not in p["holders"] or ev.time < p["time"]:
                continue
            if p["currency"] is not None and currency is not None and p["currency"] != currency:
                continue
            holding = p["holders"][sender]
            # A member pays with the payout money it holds first: this transfer carries that much of
            # it, so every path is measured and no part of the payout is counted twice.
            carried = min(value, holding[0])
            if carried == 0:
                continue
            holding[0] -= carried
            if to == p["borrower"]:
                p["returned"] += carried
                p["returns"].append({"from": sender, "amount": carried, "tx": ev.tx})
                if p["returned"] >= t.round_trip_share * p["amount"]:
                    p["fired"] = True
                    direct = all(r["from"] == p["payee"] for r in p["returns"])
                    evidence = {"borrower": p["borrower"], "payee": p["payee"], "paid_out": p["amount"],
                                "paid_tx": p["tx"], "hop": p["hop"], "returned": p["returned"],
                                "share": p["returned"] / p["amount"], "threshold_share": t.round_trip_share,
                                "returns": p["returns"],
                                "via": sorted({r["from"] for r in p["returns"]} - {p["payee"]}),
                                "seconds_after_payout": ev.time - p["time"]}
                    out += self._finding("loan", p["loan"], Indicator.ROUND_TRIP,
                                         Severity.CRITICAL if direct else Severity.HIGH,
                                         f"payout:{p['tx'] or p['time']}:{p['hop']}", evidence, ev.block)
            elif holding[1] < t.round_trip_max_intermediaries and not self._is_platform(to) and to != ZERO:
                # followed one member further: it now holds that part of the payout
                theirs = p["holders"].setdefault(to, [0, holding[1] + 1])
                theirs[0] += carried
                theirs[1] = min(theirs[1], holding[1] + 1)
        return out

    # ------------------------------------------------------------------ 101 receipts drop

    def _receipt_drops(self, now: int, block: int) -> list[Finding]:
        t = self.t
        out: list[Finding] = []
        recent_from = now - t.receipts_recent_seconds
        trailing_from = recent_from - t.receipts_trailing_seconds
        windows = t.receipts_trailing_seconds / t.receipts_recent_seconds
        for key in sorted(self.s["receipts"]):
            series = self.s["receipts"][key]
            if series["first"] > trailing_from:
                continue  # not enough history for a baseline
            recent = sum(v for ts, v in series["items"] if recent_from < ts <= now)
            trailing = [v for ts, v in series["items"] if trailing_from < ts <= recent_from]
            baseline = sum(trailing) / windows
            if len(trailing) < t.receipts_min_trailing_count or recent >= (1 - t.receipts_drop_fraction) * baseline:
                series["drop_since"] = None
                continue
            if series["drop_since"] is None:
                series["drop_since"] = now
            member, currency = key.split("|")
            evidence = {"member": member, "currency": currency or None, "recent": recent,
                        "recent_seconds": t.receipts_recent_seconds, "trailing_total": sum(trailing),
                        "trailing_count": len(trailing), "trailing_seconds": t.receipts_trailing_seconds,
                        "baseline_per_recent_window": baseline, "drop": 1 - recent / baseline,
                        "threshold_drop": t.receipts_drop_fraction, "now": now}
            out += self._member_signal(member, Indicator.RECEIPTS_DROP,
                                       Severity.HIGH if recent == 0 else Severity.MEDIUM,
                                       f"{member}:{currency}:since:{series['drop_since']}", evidence, block)
        return out

    # ------------------------------------------------------------------ 203 oracle

    def _oracle(self, ev: ChainEvent) -> list[Finding]:
        rule = ORACLE_EVENTS[(ev.contract, ev.name)]
        if "target_kind" in rule and int(ev.args.get("kind", -1)) != rule["target_kind"]:
            return []
        if int(ev.args.get("loanId", 0)):
            return []  # the oracle alerted the loan's lender itself
        if rule["kind_field"] is not None:
            kind = int(ev.args.get(rule["kind_field"], -1))
            if kind not in rule["kinds"]:
                return []
            severity = rule["kinds"][kind]
        else:
            kind, severity = -1, rule["severity"]
        lid = int(ev.args.get("loanId", 0))
        aid = int(ev.args.get(rule.get("asset_field", "assetId"), 0))
        evidence = {"event": ev.name, "asset": aid, "loan": lid, "kind": kind, "tx": ev.tx,
                    "args": {k: v for k, v in ev.args.items() if isinstance(v, (int, str, bool))}}
        key = f"oracle:{ev.name}:asset:{aid}:kind:{kind}"
        if lid:
            return self._finding("loan", lid, Indicator.GOODS_MISSING, severity, key, evidence, ev.block)
        asset = self.s["assets"].get(str(aid))
        if asset is None:
            return []
        return self._member_signal(asset["owner"], Indicator.GOODS_MISSING, severity, key, evidence, ev.block)


def _payout_v2(p: dict[str, Any]) -> dict[str, Any]:
    """A followed payout of a version-1 state (depths, and amounts received by intermediaries) in the
    version-2 form (what each member holds of it): the payee holds what the others do not."""
    received = p.pop("received", {})
    depths = p["holders"]
    others = {m: [int(received.get(m, 0)), d] for m, d in depths.items() if d > 0}
    payee = max(0, p["amount"] - p["returned"] - sum(v for v, _ in others.values()))
    p["holders"] = {p["payee"]: [payee, 0], **others}
    return p


def _unshipped(order: dict[str, Any]) -> str | None:
    """Why an order's goods did not really move (indicators 402 and 503), or None when an outside carrier took them."""
    if order["carrier"] is None:
        return "never shipped"
    if order["carrier"] in (order["buyer"], order["seller"]):
        return "carried by its own buyer or seller"
    return None
