"""Party-centred workflows: the multi-step things people do, each step signed by its own party."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from vscm.client.platform import Platform
from vscm.client.records import DocKind, Role, Tier

if TYPE_CHECKING:
    from vscm.chain.tx import TxRequest
    from vscm.client.facade import WriteResult

__all__ = ["ONE_YEAR", "OrderPlan", "Write", "certify_core", "form_chain", "onboard_sme", "set_mint_cap",
           "ship_and_settle", "sme_application", "together"]

ONE_YEAR = 365 * 24 * 3600


def _credential(name: str) -> bytes:
    return keccak(text=f"credential:{name}")


def onboard_sme(platform: Platform, operator: LocalAccount, member: LocalAccount, roles: Iterable[Role],
                name: str, credential_hash: bytes | None = None, credential_expiry: int | None = None) -> None:
    """The member applies (its own signature), the operator approves (the operator's)."""
    expiry = credential_expiry or platform.chain.now() + ONE_YEAR
    platform.members.as_(member).apply(list(roles), Tier.SME, credential_hash or _credential(name), expiry, name)
    platform.members.as_(operator).approve(member.address)


def sme_application(platform: Platform, member: LocalAccount, roles: Iterable[Role], name: str,
                    credential_hash: bytes | None = None, credential_expiry: int | None = None) -> TxRequest[Any]:
    """The application ``onboard_sme`` sends, built and not sent (``member``'s own write), for a ``Pipeline``
    round in which several members apply at once."""
    expiry = credential_expiry or platform.chain.now() + ONE_YEAR
    return platform.members.as_(member).build.apply(list(roles), Tier.SME, credential_hash or _credential(name),
                                                    expiry, name)


#: One write, built and not sent, with the party that signs it.
Write = tuple[LocalAccount, "TxRequest[WriteResult[Any]]"]


def together(platform: Platform, writes: Sequence[Write]) -> list[WriteResult[Any]]:
    """Send ``writes``, which do not depend on each other (or are one signer's, in nonce order), through one
    round of a ``Pipeline``: on a network they share blocks instead of waiting a block each. On a dev chain
    (embedded, anvil) each is sent as its facade would send it, by the chain's sender, in the order given: one
    block each, so a story's clock (a second a block) and the interest it prints do not change, and a sender's
    wrapper (the bench's gas recorder) sees every transaction. Returns their results in that order.

    Raises:
        ContractRevert, ChainError: the first write that was not mined, by its own error.
    """
    if platform.chain.is_dev:
        return [_one_by_one(platform, account, request) for account, request in writes]
    # The load's fixed gas limits: a payment's gas cannot be estimated before its approve in the same round.
    from vscm.chain.pipeline import Pipeline
    from vscm.load import GAS

    # One transaction an HTTP request, in order: Kaia takes the calls of one JSON-RPC batch in no fixed order, and
    # a block orders the transactions as its node took them in (who applied first is the registry's member order).
    with Pipeline(platform.chain, batch_size=1) as pipe:
        sent = [pipe.submit(account, request,
                            gas=GAS[request.call.fn_name] if request.before and request.gas is None else None)
                for account, request in writes]
        pipe.wait()
    return [request.result(tx) for (_, request), tx in zip(writes, sent, strict=True)]


def _one_by_one(platform: Platform, account: LocalAccount, request: TxRequest[WriteResult[Any]]) -> WriteResult[Any]:
    """Send one built write and the writes around it (a payment's approves) by the chain's sender, as the facade
    would have sent them itself (so that a sender's wrapper, the bench's gas recorder, sees each)."""
    for part in (*request.before, request, *request.after):
        part.check_signer(account.address)
    sender = platform.chain.sender
    for part in request.before:
        sender.transact(account, part.call, gas=part.gas)
    receipt = sender.transact(account, request.call, gas=request.gas)
    platform.last_receipt = receipt
    for part in request.after:
        sender.transact(account, part.call, gas=part.gas)
    return request.result(receipt)


def set_mint_cap(platform: Platform, admin: Any, financier: str, cap: int,
                 currencies: Iterable[str] | None = None) -> None:
    """The council (the contracts' admin) lets `financier` have up to `cap` minor units issued and not yet
    burned, in each of `currencies` (default: every currency of the platform); one transaction each."""
    for code in currencies if currencies is not None else platform.currencies:
        platform.cash(code).as_(admin).set_mint_cap(financier, cap)


def certify_core(platform: Platform, core: LocalAccount, roles: Iterable[Role], name: str,
                 financier: LocalAccount, auditor: LocalAccount, credential_hash: bytes | None = None,
                 credential_expiry: int | None = None) -> None:
    """A core enterprise applies; a financier and an auditor (two distinct members) attest it."""
    expiry = credential_expiry or platform.chain.now() + ONE_YEAR
    platform.members.as_(core).apply(list(roles), Tier.CORE, credential_hash or _credential(name), expiry, name)
    platform.members.as_(financier).attest(core.address, Role.FINANCIER)
    platform.members.as_(auditor).attest(core.address, Role.AUDITOR)


def form_chain(platform: Platform, core: LocalAccount, name: str, members: Sequence[LocalAccount]) -> int:
    """The core creates a supply chain; each member asks to join; the core approves each."""
    chain_id = platform.members.as_(core).create_chain(name).id
    for member in members:
        platform.members.as_(member).request_join(chain_id)
        platform.members.as_(core).approve_join(chain_id, member.address)
    return chain_id


@dataclass(frozen=True)
class OrderPlan:
    """One order's full path: who buys, who sells, who carries and stores, and its documents."""

    buyer: LocalAccount
    seller: LocalAccount
    carrier: LocalAccount
    warehouse: LocalAccount
    chain_id: int
    currency: str
    amount: int
    due_in: int = 30 * 24 * 3600
    invoice_number: str = ""
    overseas: bool = False
    incoterm: str | None = None
    destination_country: str | None = None


def doc_hash(label: str) -> bytes:
    """The keccak hash of a (stand-in) document's contents."""
    return keccak(text=label)


def ship_and_settle(platform: Platform, plan: OrderPlan, now: int | None = None) -> int:
    """Run an order through placed → accepted → shipped → delivered → invoiced → settled.

    Documents: the contract (buyer), a customs declaration for overseas orders (seller), the bill of
    lading (carrier), a quality certificate (seller), the delivery receipt (warehouse) and the
    invoice (seller, with the invoice step). Returns the order id.
    """
    now = now if now is not None else platform.chain.now()
    orders = platform.orders
    order_id = orders.as_(plan.buyer).place(
        plan.seller.address, plan.chain_id, plan.currency, plan.amount, now + plan.due_in,
        plan.overseas, plan.incoterm, plan.destination_country).id
    tag = f"order-{order_id}"
    orders.as_(plan.buyer).attach(order_id, DocKind.CONTRACT, doc_hash(f"{tag}:contract"))
    orders.as_(plan.seller).accept(order_id)
    if plan.overseas:
        orders.as_(plan.seller).attach(order_id, DocKind.CUSTOMS_DECLARATION, doc_hash(f"{tag}:customs"))
    orders.as_(plan.seller).ship(order_id, plan.carrier.address, plan.warehouse.address)
    orders.as_(plan.carrier).attach(order_id, DocKind.BILL_OF_LADING, doc_hash(f"{tag}:bill-of-lading"))
    orders.as_(plan.seller).attach(order_id, DocKind.QUALITY_CERTIFICATE, doc_hash(f"{tag}:quality"))
    orders.as_(plan.warehouse).deliver(order_id)
    orders.as_(plan.warehouse).attach(order_id, DocKind.DELIVERY_RECEIPT, doc_hash(f"{tag}:delivery"))
    number = plan.invoice_number or f"INV-{order_id:06d}"
    orders.as_(plan.seller).invoice(order_id, number, doc_hash(f"{tag}:invoice:{number}"))
    orders.as_(plan.buyer).settle(order_id)
    return order_id
