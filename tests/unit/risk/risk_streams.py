"""Hand-made event streams for the risk engine: the logs the platform contracts emit, in their order.

`Stream` plays business actions (place an order, ship it, disburse a loan, ...) and records the
decoded events each action's transaction would log, with blocks, times, tx hashes and log indexes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from eth_utils import to_checksum_address

from vscm.risk import ChainEvent, FailedCall, Finding, Record, RiskEngine

DAY = 86_400
T0 = 1_790_000_000


def member(n: int) -> str:
    return to_checksum_address(f"0x{n:040x}")


ZERO = "0x0000000000000000000000000000000000000000"
CNY = member(0xC1)
USD = member(0xC2)
LOANBOOK = member(0xB1)
FUNDS = member(0xB2)
ORDERBOOK = member(0xB3)
REGISTRY = member(0xB4)
ASSETS = member(0xB5)
ORACLE = member(0xB6)
CERTIFICATES = member(0xB7)

CORE, SUP_A, SUP_B, DIST, CARRIER, WAREHOUSE, BANK, OUTSIDER = (member(0x100 + i) for i in range(8))
CHAIN = 1

ADDRESSES = {"LoanBook": LOANBOOK, "FundTracker": FUNDS, "OrderBook": ORDERBOOK, "MemberRegistry": REGISTRY,
             "AssetRegistry": ASSETS, "TelemetryOracle": ORACLE, "Certificates": CERTIFICATES}


@dataclass
class Stream:
    time: int = T0
    block: int = 1
    records: list[Record] = field(default_factory=list)
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    loans: dict[int, dict[str, Any]] = field(default_factory=dict)
    next_order: int = 1
    next_loan: int = 1
    next_asset: int = 1
    _log: int = 0
    _tx: str = ""

    # ---------------------------------------------------------------- plumbing

    def _begin(self, label: str) -> None:
        """A new transaction in a new block, a few seconds later."""
        self.block += 1
        self.time += 12
        self._log = 0
        self._tx = f"0x{self.block:064x}"

    def emit(self, contract: str, event: str, address: str | None = None, /, **args: Any) -> None:
        self.records.append(ChainEvent(self.block, self.time, contract, event, args, self._tx, self._log,
                                       address if address is not None else ADDRESSES.get(contract, "")))
        self._log += 1

    def transfer(self, frm: str, to: str, value: int, currency: str = CNY) -> None:
        self.emit("PlatformCash", "Transfer", currency, **{"from": frm, "to": to, "value": value})

    def wait(self, seconds: int) -> None:
        self.time += seconds
        self.block += max(1, seconds // 12)

    @property
    def tx(self) -> str:
        return self._tx

    # ---------------------------------------------------------------- members and cash

    def setup_chain(self, members: Iterable[str] = (SUP_A, SUP_B, DIST)) -> None:
        self._begin("chain")
        self.emit("MemberRegistry", "ChainCreated", chainId=CHAIN, core=CORE, name="0x" + "ab" * 32)
        for m in members:
            self._begin(f"join{m}")
            self.emit("MemberRegistry", "ChainJoinRequested", chainId=CHAIN, member=m)
            self._begin(f"approve{m}")
            self.emit("MemberRegistry", "ChainJoinApproved", chainId=CHAIN, member=m)

    def mint(self, to: str, amount: int, currency: str = CNY) -> None:
        self._begin(f"mint{to}{amount}")
        self.emit("PlatformCash", "Deposited", currency, financier=BANK, to=to, amount=amount,
                  depositRef="0x" + "00" * 32)
        self.transfer(ZERO, to, amount, currency)

    def pay(self, frm: str, to: str, amount: int, currency: str = CNY) -> None:
        """A plain cash transfer between members."""
        self._begin(f"pay{frm}{to}{amount}")
        self.transfer(frm, to, amount, currency)

    # ---------------------------------------------------------------- orders

    def place(self, buyer: str, seller: str, amount: int, currency: str = CNY, chain: int = CHAIN,
              seller_chain: int | None = None) -> int:
        """An order placed in the buyer's `chain`; across chains when `seller_chain` is another chain."""
        oid = self.next_order
        self.next_order += 1
        self.orders[oid] = {"buyer": buyer, "seller": seller, "amount": amount, "currency": currency,
                            "prepaid": 0, "payee": seller}
        self._begin(f"place{oid}")
        self.emit("OrderBook", "OrderPlaced", orderId=oid, buyer=buyer, seller=seller, chainId=chain,
                  currency=currency, amount=amount, dueDate=self.time + 120 * DAY, overseas=False,
                  incoterm="0x000000", destinationCountry="0x0000")
        if seller_chain is not None and seller_chain != chain:
            self.emit("OrderBook", "OrderPlacedAcrossChains", orderId=oid, buyerChainId=chain,
                      sellerChainId=seller_chain)
        return oid

    def evict_chain(self, chain: int) -> None:
        self._begin(f"evict{chain}")
        self.emit("MemberRegistry", "ChainEvicted", chainId=chain, by=REGISTRY, evidence="0x" + "ee" * 32)

    def accept(self, oid: int) -> None:
        self._begin(f"accept{oid}")
        self.emit("OrderBook", "OrderAccepted", orderId=oid)

    def ship(self, oid: int, carrier: str = CARRIER, warehouse: str = WAREHOUSE) -> None:
        self._begin(f"ship{oid}")
        self.emit("OrderBook", "OrderShipped", orderId=oid, carrier=carrier, warehouse=warehouse)
        self.orders[oid]["warehouse"] = warehouse

    def deliver(self, oid: int, by: str | None = None) -> None:
        self._begin(f"deliver{oid}")
        self.emit("OrderBook", "OrderDelivered", orderId=oid, by=by or self.orders[oid]["warehouse"])

    def invoice(self, oid: int) -> None:
        self._begin(f"invoice{oid}")
        self.emit("OrderBook", "OrderInvoiced", orderId=oid, invoiceNumber=f"0x{oid:064x}",
                  invoiceHash="0x" + "11" * 32)
        self.emit("OrderBook", "DocumentAttached", orderId=oid, index=0, kind=1, hash="0x" + "11" * 32,
                  attachedBy=self.orders[oid]["seller"])

    def attach_invoice_document(self, oid: int) -> None:
        self._begin(f"attach{oid}")
        self.emit("OrderBook", "DocumentAttached", orderId=oid, index=0, kind=1, hash="0x" + "22" * 32,
                  attachedBy=self.orders[oid]["seller"])

    def settle(self, oid: int) -> None:
        o = self.orders[oid]
        due = o["amount"] - o["prepaid"]
        self._begin(f"settle{oid}")
        self.emit("OrderBook", "OrderSettled", orderId=oid, payer=o["buyer"], payee=o["payee"], amount=due)
        if due:
            self.transfer(o["buyer"], o["payee"], due, o["currency"])

    def cancel(self, oid: int, by: str) -> None:
        self._begin(f"cancel{oid}")
        self.emit("OrderBook", "OrderCancelled", orderId=oid, by=by)

    def dispute(self, oid: int, by: str) -> None:
        self._begin(f"dispute{oid}")
        self.emit("OrderBook", "OrderDisputed", orderId=oid, by=by, reasonHash="0x" + "33" * 32)

    def resolve(self, oid: int, status: int) -> None:
        self._begin(f"resolve{oid}")
        self.emit("OrderBook", "DisputeResolved", orderId=oid, status=status)

    def trade(self, buyer: str, seller: str, amount: int, settle: bool = True, chain: int = CHAIN,
              seller_chain: int | None = None) -> int:
        """An order through its whole life."""
        oid = self.place(buyer, seller, amount, chain=chain, seller_chain=seller_chain)
        self.accept(oid)
        self.ship(oid)
        self.deliver(oid)
        self.invoice(oid)
        if settle:
            self.settle(oid)
        return oid

    # ---------------------------------------------------------------- assets

    def register_asset(self, kind: int, oid: int, owner: str, obligor: str, value: int) -> int:
        aid = self.next_asset
        self.next_asset += 1
        self._begin(f"asset{aid}")
        self.emit("AssetRegistry", "AssetRegistered", assetId=aid, kind=kind, businessKey=f"0x{aid:064x}",
                  owner=owner, issuer=owner, obligor=obligor, orderId=oid, currency=CNY, value=value)
        return aid

    def receivable(self, oid: int) -> int:
        o = self.orders[oid]
        aid = self.register_asset(0, oid, o["seller"], o["buyer"], o["amount"])
        self._begin(f"confirm{aid}")
        self.emit("AssetRegistry", "AssetConfirmed", assetId=aid, by=o["buyer"])
        return aid

    def warehouse_receipt(self, owner: str, value: int) -> int:
        aid = self.register_asset(2, 0, owner, WAREHOUSE, value)
        self.emit("AssetRegistry", "ReceiptDetails", assetId=aid, quantity=100, unit="0x74",
                  descriptionHash="0x" + "44" * 32)
        return aid

    # ---------------------------------------------------------------- loans

    def loan(self, mode: int, borrower: str, asset: int, purpose: int, principal: int, term: int,
             collateral_order: int | None = None) -> int:
        """Apply, approve (lock the asset) and disburse: the loan money is tracked for the borrower."""
        lid = self.next_loan
        self.next_loan += 1
        self.loans[lid] = {"borrower": borrower, "principal": principal, "unspent": principal,
                           "outstanding": principal, "purpose": purpose, "mode": mode}
        self._begin(f"apply{lid}")
        self.emit("LoanBook", "LoanApplied", loanId=lid, mode=mode, borrower=borrower, lender=BANK,
                  guarantor=ZERO, assetId=asset, purposeOrderId=purpose, currency=CNY, principal=principal,
                  rateBps=600, termSeconds=term)
        self._begin(f"approveloan{lid}")
        self.emit("LoanBook", "LoanApproved", loanId=lid, ltvBps=8000, supervisor=ZERO, collateralQuantity=0)
        self.emit("AssetRegistry", "AssetLocked", assetId=asset, loanId=lid, pledgedQuantity=0)
        if collateral_order is not None:
            self.emit("OrderBook", "SettlementRedirected", orderId=collateral_order, payee=LOANBOOK, by=LOANBOOK)
            self.orders[collateral_order]["payee"] = LOANBOOK
        self._begin(f"disburse{lid}")
        self.emit("LoanBook", "LoanDisbursed", loanId=lid, principal=principal, maturity=self.time + term)
        self.transfer(BANK, FUNDS, principal)
        self.emit("FundTracker", "FundsOpened", loanId=lid, borrower=borrower, lender=BANK, currency=CNY,
                  orderId=purpose, amount=principal)
        self.loans[lid]["maturity"] = self.time + term
        self.loans[lid]["hop"] = 0
        return lid

    def spend(self, lid: int, to: str, amount: int) -> None:
        ln = self.loans[lid]
        self._begin(f"spend{lid}{to}{amount}")
        ln["hop"] += 1
        ln["unspent"] -= amount
        self.emit("FundTracker", "FundsMoved", loanId=lid, **{"from": ln["borrower"]}, to=to, amount=amount,
                  purpose="0x" + "55" * 32, hop=ln["hop"])
        purpose = self.orders.get(ln["purpose"])
        if purpose is not None and to == purpose["seller"]:
            purpose["prepaid"] += amount
            self.emit("OrderBook", "OrderPrepaid", orderId=ln["purpose"], amount=amount,
                      prepaid=purpose["prepaid"], by=FUNDS)
        self.transfer(FUNDS, to, amount)

    def refused_spend(self, lid: int, to: str, amount: int, error: str = "FundsPayeeNotAllowed") -> None:
        """A mined spend that reverted: no log, a failed call."""
        self._begin(f"refused{lid}{to}{amount}{len(self.records)}")
        self.records.append(FailedCall(self.block, self.time, "FundTracker", "spend",
                                       {"loanId": lid, "to": to, "amount": amount, "purpose": "0x" + "66" * 32},
                                       self.loans[lid]["borrower"], error, self._tx))

    def repay(self, lid: int, amount: int, payer: str | None = None) -> None:
        ln = self.loans[lid]
        payer = payer or ln["borrower"]
        interest = amount // 50
        ln["outstanding"] = max(0, ln["outstanding"] - (amount - interest))
        self._begin(f"repay{lid}{amount}")
        self.emit("LoanBook", "InterestAccrued", loanId=lid, amount=interest, total=interest, at=self.time)
        self.transfer(payer, BANK, amount)
        self.emit("LoanBook", "LoanRepayment", loanId=lid, payer=payer, interest=interest,
                  principal=amount - interest, outstanding=ln["outstanding"])
        if ln["outstanding"] == 0:
            self.emit("LoanBook", "LoanRepaid", loanId=lid)
            if ln["unspent"]:
                self.emit("FundTracker", "FundsReleased", loanId=lid, borrower=ln["borrower"], amount=ln["unspent"])
                self.transfer(FUNDS, ln["borrower"], ln["unspent"])
                ln["unspent"] = 0

    def collect(self, lid: int, asset: int, received: int) -> None:
        """Receivable loan: the debtor settled to the LoanBook; pay the lender, the surplus to the borrower."""
        ln = self.loans[lid]
        owed = ln["outstanding"]
        to_lender = min(owed, received)
        self._begin(f"collect{lid}")
        self.emit("LoanBook", "SettlementCollected", loanId=lid, received=received, toLender=to_lender,
                  surplus=received - to_lender)
        self.transfer(LOANBOOK, BANK, to_lender)
        ln["outstanding"] = owed - to_lender
        self.emit("LoanBook", "LoanRepayment", loanId=lid, payer=ln["borrower"], interest=0, principal=to_lender,
                  outstanding=ln["outstanding"])
        if ln["outstanding"] == 0:
            self.emit("LoanBook", "LoanRepaid", loanId=lid)
        if received > to_lender:
            self.transfer(LOANBOOK, ln["borrower"], received - to_lender)
        self.emit("AssetRegistry", "AssetUnlocked", assetId=asset, loanId=lid)
        self.emit("AssetRegistry", "AssetRetired", assetId=asset, by=LOANBOOK)

    # ---------------------------------------------------------------- oracle

    def breach(self, asset: int, lid: int, kind: int) -> None:
        self._begin(f"breach{asset}{lid}{kind}{len(self.records)}")
        self.emit("TelemetryOracle", "BreachDetected", kind=0, targetId=asset, breach=kind, batchId=1, loanId=lid,
                  observed=0)

    # ---------------------------------------------------------------- payable certificates

    def issue_certificate(self, oid: int, face: int, cid: int = 1, root: int = 1) -> None:
        """The order's buyer (the core) issues certificate `cid` for it; the root part to its seller."""
        self._begin(f"issue{cid}")
        o = self.orders[oid]
        self.emit("Certificates", "CertificateIssued", certificateId=cid, core=o["buyer"], orderId=oid,
                  rootPart=root, seller=o["seller"], currency=o["currency"], face=face,
                  maturity=self.time + 90 * DAY, chainId=CHAIN)

    def pay_certificate(self, parent: int, child: int, oid: int, amount: int, cid: int = 1) -> None:
        """The order's buyer pays `amount` of part `parent` to its seller as part `child` (0 order: kept)."""
        self._begin(f"certpay{child}")
        o = self.orders[oid] if oid else None
        holder = o["buyer"] if o else self.orders[1]["seller"]
        self.emit("Certificates", "PartSplit", certificateId=cid, parent=parent, child=child,
                  **{"from": holder}, to=o["seller"] if o else holder, orderId=oid, amount=amount)

    def margin_call(self, lid: int, asset: int) -> None:
        self._begin(f"margin{asset}{lid}{len(self.records)}")
        self.emit("TelemetryOracle", "MarginCall", loanId=lid, assetId=asset, collateralValue=10, limit=20,
                  outstanding=30)


def run(records: Iterable[Record], engine: RiskEngine | None = None, tick_every: int | None = DAY,
        until: int | None = None) -> list[Finding]:
    """Feed every record; tick at every `tick_every` seconds of chain time and at `until` (if given)."""
    engine = engine or RiskEngine()
    found: list[Finding] = []
    next_tick: int | None = None
    last: Record | None = None
    for rec in records:
        if tick_every is not None:
            if next_tick is None:
                next_tick = rec.time + tick_every
            while rec.time >= next_tick:
                found += engine.tick(next_tick, rec.block)
                next_tick += tick_every
        found += engine.feed(rec)
        last = rec
    if until is not None and last is not None:
        if tick_every is not None and next_tick is not None:
            while next_tick < until:
                found += engine.tick(next_tick, last.block)
                next_tick += tick_every
        found += engine.tick(until, last.block)
    return found


def codes(findings: Iterable[Finding]) -> list[int]:
    return [f.indicator for f in findings]


def healthy_stream() -> Stream:
    """Eleven weeks of a normal supply chain.

    Supplier A sells parts to the core every week, the core sells vehicles to the distributor every
    week (one direction: supplier -> manufacturer -> distributor); suppliers A and B trade both ways
    once each with very different amounts. Every order is placed, accepted, shipped by the carrier,
    delivered by the warehouse, invoiced and settled. A pledge loan's money pays its purpose order's
    seller and the carrier and is repaid on time; a receivable is financed and collected at maturity.
    (The refused-by-estimation payment of a real run never reaches the chain: nothing to feed.)
    """
    s = Stream()
    s.setup_chain()
    for who, amount in ((CORE, 5_000_000), (DIST, 9_000_000), (SUP_A, 1_000_000), (SUP_B, 1_000_000),
                        (BANK, 20_000_000)):
        s.mint(who, amount)
    # Both-ways pair: B buys 100,000 and 25,000 from A; A buys 30,000 (and B 50,000) with loan money.
    s.trade(SUP_B, SUP_A, 100_000)
    pledge_receipt = s.warehouse_receipt(SUP_A, 400_000)
    purpose = s.place(SUP_A, SUP_B, 30_000)
    s.accept(purpose)
    pledge = s.loan(0, SUP_A, pledge_receipt, purpose, 40_000, 60 * DAY)
    s.spend(pledge, SUP_B, 30_000)
    s.trade(SUP_B, SUP_A, 25_000)  # B pays A for goods: trade, not the loan money coming back
    s.ship(purpose)
    s.spend(pledge, CARRIER, 1_500)
    s.deliver(purpose)
    s.invoice(purpose)
    s.settle(purpose)  # fully prepaid: nothing left to pay
    # A receivable of B on the core finances B's purchase from A.
    sale = s.trade(CORE, SUP_B, 200_000, settle=False)
    recv = s.receivable(sale)
    purpose2 = s.place(SUP_B, SUP_A, 50_000)
    s.accept(purpose2)
    recv_loan = s.loan(1, SUP_B, recv, purpose2, 150_000, 30 * DAY, collateral_order=sale)
    s.spend(recv_loan, SUP_A, 50_000)
    s.ship(purpose2)
    s.deliver(purpose2)
    s.invoice(purpose2)
    s.settle(purpose2)
    for week in range(11):
        s.trade(CORE, SUP_A, 120_000 + 1_000 * week)
        s.wait(2 * DAY)
        s.trade(DIST, CORE, 300_000 - 2_000 * week)
        if week == 4:  # day ~30: the core pays B's invoice; the loan collects it
            s.settle(sale)
            s.collect(recv_loan, recv, 200_000)
        if week == 6:  # before maturity (day 60)
            s.repay(pledge, 20_000)
            s.repay(pledge, 40_000)
        s.wait(5 * DAY)
    return s
