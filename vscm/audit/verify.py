"""Compare a rebuilt state with what the contracts report at the same block, and check money.

Each table of the state has a verifier that reads the contract's own view of every record at
``block`` (``block_identifier=``) and lists each field that differs: expected is what the history
says, found is what the contract reports. Counts catch records the contracts hold but no event
announced. ``register_verifier`` adds the checks of a new contract.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from eth_abi.exceptions import DecodingError
from eth_utils import to_checksum_address
from eth_utils.abi import get_abi_output_types
from web3 import HTTPProvider, Web3
from web3._utils.abi import map_abi_data
from web3._utils.normalizers import BASE_RETURN_NORMALIZERS
from web3.types import RPCEndpoint

from vscm.audit.replay import contracts_of
from vscm.audit.state import ZERO, Finding, State
from vscm.chain import artifacts as artifact_store
from vscm.errors import AuditError

__all__ = ["VERIFIERS", "Views", "check_money", "register_verifier", "verify"]


class Views:
    """Contract views at one block, with struct results named by the ABI."""

    def __init__(self, w3: Web3, deployment: Any, block: int) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.block = block
        self.contracts = {name: address for address, name in contracts_of(deployment).items()
                          if name != "PlatformCash"}
        self._bound: dict[str, Any] = {}
        self._output_abi: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
        self.timestamp = int(w3.eth.get_block(block)["timestamp"])

    def contract(self, address: str, name: str) -> Any:
        if address not in self._bound:
            self._bound[address] = self.w3.eth.contract(address=to_checksum_address(address),
                                                        abi=artifact_store.load(name).abi)
        return self._bound[address]

    def call(self, name: str, fn: str, *args: Any, address: str | None = None) -> Any:
        target = self.contract(address or self.contracts[name], name)
        outputs = self._outputs(name, fn, len(args))
        bound = getattr(target.functions, fn)(*args)
        value = self._raw_call(target.address, bound, outputs)
        if value is _SLOW:
            value = bound.call(block_identifier=self.block)
        if len(outputs) == 1 and outputs[0]["type"] == "tuple":
            return {c["name"]: _clean(v) for c, v in zip(outputs[0]["components"], value, strict=True)}
        if len(outputs) > 1:
            return {o["name"] or str(i): _clean(v) for i, (o, v) in enumerate(zip(outputs, value, strict=True))}
        return _clean(value)


    def _outputs(self, name: str, fn: str, arity: int) -> list[dict[str, Any]]:
        key = (name, fn, arity)
        if key not in self._output_abi:
            self._output_abi[key] = next(
                i["outputs"] for i in artifact_store.load(name).abi
                if i.get("type") == "function" and i["name"] == fn and len(i["inputs"]) == arity)
        return self._output_abi[key]

    def _raw_call(self, to: str, bound: Any, outputs: list[dict[str, Any]]) -> Any:
        """The view's value from one raw ``eth_call`` on an HTTP node, decoded and normalised as
        web3's ``call`` does (``w3.codec`` and its return normalisers), without web3's request
        middleware (a chain-id request and the validators on every call: most of a view's cost). A
        node answering an error, or another provider, takes web3's own path (``_SLOW``), so a
        reverting view raises as before."""
        if not isinstance(self.w3.provider, HTTPProvider):
            return _SLOW
        response = self.w3.provider.make_request(
            RPCEndpoint("eth_call"), [{"to": to, "data": bound._encode_transaction_data()}, hex(self.block)])
        if "error" in response or not isinstance(response.get("result"), str):
            return _SLOW
        types = get_abi_output_types(cast(Any, {"type": "function", "name": "", "inputs": [], "outputs": outputs}))
        try:
            decoded = self.w3.codec.decode(types, bytes.fromhex(response["result"][2:]))
        except DecodingError:
            return _SLOW  # web3 says why (e.g. no code at the address)
        value = map_abi_data(BASE_RETURN_NORMALIZERS, types, decoded)
        return value[0] if len(value) == 1 else value


#: ``Views._raw_call``: take web3's own call path.
_SLOW = object()


def _clean(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


Verifier = Callable[[State, Views, list[Finding]], None]
VERIFIERS: list[Verifier] = []


def register_verifier(fn: Verifier) -> Verifier:
    VERIFIERS.append(fn)
    return fn


def _diff(out: list[Finding], entity: str, ours: dict[str, Any], theirs: dict[str, Any], block: int) -> None:
    for name, found in theirs.items():
        expected = ours.get(name, "(not rebuilt)")
        if expected != found:
            out.append(Finding("state", entity, name, expected, found, block))


def _count(out: list[Finding], entity: str, expected: int, found: int, block: int) -> None:
    if expected != found:
        out.append(Finding("state", entity, "count", expected, found, block,
                           "records without (or events without) a matching record"))


def effective_status(state: State, member: dict[str, Any], now: int) -> int:
    """MemberRegistry._effectiveStatus: evicted with its chain, suspended when the credential expired."""
    chain = state.get("chains", str(member["chainId"])) if member["chainId"] else None
    if member["status"] == 4 or (member["status"] != 0 and chain is not None and chain["evicted"]):
        return 4
    if member["status"] == 2 and member["credentialExpiry"] <= now:
        return 3
    return int(member["status"])


@register_verifier
def _members(state: State, v: Views, out: list[Finding]) -> None:
    members = state.table("members")
    _count(out, "members", len(members), v.call("MemberRegistry", "memberCount"), v.block)
    for address, m in members.items():
        theirs = v.call("MemberRegistry", "getMember", address)
        _diff(out, f"member {address}", m, theirs, v.block)
        at = v.call("MemberRegistry", "memberAt", m["index"])
        if at != address:
            out.append(Finding("state", f"member {address}", "index", address, at, v.block))
        status = v.call("MemberRegistry", "statusOf", address)
        if status != effective_status(state, m, v.timestamp):
            out.append(Finding("state", f"member {address}", "statusOf", effective_status(state, m, v.timestamp),
                               status, v.block))
    chains = state.table("chains")
    _count(out, "supply chains", len(chains), v.call("MemberRegistry", "chainCount"), v.block)
    for cid, c in chains.items():
        _diff(out, f"supply chain {cid}", c, v.call("MemberRegistry", "getChain", int(cid)), v.block)
    for cid, inv in state.table("chain_investigations").items():
        found = v.call("MemberRegistry", "investigatedUntil", int(cid))
        if found != inv["until"]:
            out.append(Finding("state", f"supply chain {cid}", "investigatedUntil", inv["until"], found, v.block))
    for k, p in state.table("pending_joins").items():
        cid, member = k.split(":")
        found = v.call("MemberRegistry", "pendingJoin", int(cid), member)
        if found != p["pending"]:
            out.append(Finding("state", f"join request {k}", "pending", p["pending"], found, v.block))


@register_verifier
def _roles(state: State, v: Views, out: list[Finding]) -> None:
    names = contracts_of(v.deployment)
    for k, r in state.table("roles").items():
        address, role, account = k.split(":")
        found = v.call(names[address], "hasRole", bytes.fromhex(role[2:]), account, address=address)
        if found != r["granted"]:
            out.append(Finding("state", f"role {role[:10]}… of {account} on {names[address]}", "granted",
                               r["granted"], found, v.block))


@register_verifier
def _orders(state: State, v: Views, out: list[Finding]) -> None:
    orders = state.table("orders")
    _count(out, "orders", len(orders), v.call("OrderBook", "orderCount"), v.block)
    for oid, o in orders.items():
        _diff(out, f"order {oid}", o, v.call("OrderBook", "getOrder", int(oid)), v.block)
        # An order across chains records its seller's chain (a same-chain order's is its own chain: getOrder's).
        if o["sellerChainId"] != o["chainId"]:
            found = v.call("OrderBook", "sellerChainOf", int(oid))
            if found != o["sellerChainId"]:
                out.append(Finding("state", f"order {oid}", "sellerChainId", o["sellerChainId"], found, v.block))
        for index in range(o["documentCount"]):
            ours = state.get("documents", f"{oid}:{index}") or {}
            _diff(out, f"order {oid} document {index}", ours,
                  v.call("OrderBook", "getDocument", int(oid), index), v.block)
    for currency in state.table("currencies"):
        if not v.call("OrderBook", "isCurrency", currency):
            out.append(Finding("state", f"currency {currency}", "isCurrency", True, False, v.block))


@register_verifier
def _assets(state: State, v: Views, out: list[Finding]) -> None:
    assets = state.table("assets")
    _count(out, "assets", len(assets), v.call("AssetRegistry", "assetCount"), v.block)
    for aid, a in assets.items():
        theirs = v.call("AssetRegistry", "getAsset", int(aid))
        theirs["owner"] = v.call("AssetRegistry", "ownerOf", int(aid))
        theirs["approved"] = v.call("AssetRegistry", "getApproved", int(aid))
        _diff(out, f"asset {aid}", a, theirs, v.block)
    for k, r in state.table("asset_operators").items():
        owner, operator = k.split(":")
        found = v.call("AssetRegistry", "isApprovedForAll", owner, operator)
        if found != r["approved"]:
            out.append(Finding("state", f"asset operator {operator} of {owner}", "approved", r["approved"], found,
                               v.block))


@register_verifier
def _loans_and_funds(state: State, v: Views, out: list[Finding]) -> None:
    loans = state.table("loans")
    _count(out, "loans", len(loans), v.call("LoanBook", "loanCount"), v.block)
    for lid, loan in loans.items():
        _diff(out, f"loan {lid}", loan, v.call("LoanBook", "getLoan", int(lid)), v.block)
    for lid, f in state.table("funds").items():
        theirs = v.call("FundTracker", "getFunds", int(lid))
        where = v.call("FundTracker", "whereabouts", int(lid))
        theirs["payees"], theirs["paid"] = where["payees"], where["paid"]
        _diff(out, f"funds of loan {lid}", f, theirs, v.block)
    for lid in loans:
        if state.get("funds", lid) is None and v.call("FundTracker", "getFunds", int(lid))["borrower"] != ZERO:
            out.append(Finding("state", f"funds of loan {lid}", "borrower", ZERO, "opened", v.block,
                               "tracked money without FundsOpened"))
    for currency in v.deployment.cash.values():
        ours = (state.get("tracked", currency) or {"amount": 0})["amount"]
        found = v.call("FundTracker", "totalUnspent", currency)
        if ours != found:
            out.append(Finding("state", f"tracked money in {currency}", "totalUnspent", ours, found, v.block))


@register_verifier
def _cash(state: State, v: Views, out: list[Finding]) -> None:
    for code, cash in v.deployment.cash.items():
        supply = (state.get("supply", cash) or {"amount": 0})["amount"]
        found = v.call("PlatformCash", "totalSupply", address=cash)
        if supply != found:
            out.append(Finding("state", f"cash {code}", "totalSupply", supply, found, v.block))
    for k, b in state.table("balances").items():
        cash, account = k.split(":")
        found = v.call("PlatformCash", "balanceOf", account, address=cash)
        if b["amount"] != found:
            out.append(Finding("state", f"cash {cash} of {account}", "balance", b["amount"], found, v.block))
    for k, r in state.table("issuance").items():
        cash, financier = k.split(":")
        theirs = v.call("PlatformCash", "issuance", financier, address=cash)
        _diff(out, f"issuance of {financier} in {cash}", r, theirs, v.block)
    for k, r in state.table("mint_caps").items():
        cash, financier = k.split(":")
        cap = v.call("PlatformCash", "mintCap", financier, address=cash)["cap"]
        if cap != r["cap"]:
            out.append(Finding("state", f"mint cap of {financier} in {cash}", "cap", r["cap"], cap, v.block))
    for k, r in state.table("agents").items():
        cash, agent = k.split(":")
        found = v.call("PlatformCash", "isAgent", agent, address=cash)
        if found != r["allowed"]:
            out.append(Finding("state", f"agent {agent} of {cash}", "allowed", r["allowed"], found, v.block))


def check_money(state: State, deployment: Any, views: Views | None = None) -> list[Finding]:
    """Money conservation in the rebuilt state (and, with ``views``, in the contracts' balances)."""
    out: list[Finding] = []
    block = views.block if views else None
    for code, cash in deployment.cash.items():
        supply = (state.get("supply", cash) or {"amount": 0})["amount"]
        held = sum(b["amount"] for b in state.table("balances").values() if b["currency"] == cash)
        if held != supply:
            out.append(Finding("money", f"cash {code}", "sum of balances", supply, held, block))
        minted = sum(r["minted"] - r["burned"] for k, r in state.table("issuance").items() if k.startswith(cash))
        if minted != supply:
            out.append(Finding("money", f"cash {code}", "minted - burned", supply, minted, block))
        # The FundTracker must hold at least the tracked money; cash anyone sent it directly is nobody's
        # loan money (it counts only what loans deposited) and is not a difference.
        tracked = (state.get("tracked", cash) or {"amount": 0})["amount"]
        in_tracker = (state.get("balances", f"{cash}:{deployment.funds}") or {"amount": 0})["amount"]
        if in_tracker < tracked:
            out.append(Finding("money", f"tracked money {code}", "FundTracker balance", tracked, in_tracker, block))
        if views is not None:
            chain_held = views.call("PlatformCash", "balanceOf", deployment.funds, address=cash)
            chain_tracked = views.call("FundTracker", "totalUnspent", cash)
            if chain_held < chain_tracked:
                out.append(Finding("money", f"tracked money {code}", "FundTracker balance (contracts)",
                                   chain_tracked, chain_held, block))
    for lid, f in state.table("funds").items():
        unspent = f["disbursed"] - f["spent"] - f["returned"] - f["released"]
        if unspent < 0:
            out.append(Finding("money", f"funds of loan {lid}", "unspent", ">= 0", unspent, block))
        if sum(f["paid"]) != f["spent"]:
            out.append(Finding("money", f"funds of loan {lid}", "sum paid to payees", f["spent"], sum(f["paid"]), block))
        hops = sum(h["amount"] for k, h in state.table("hops").items() if k.split(":")[0] == lid)
        if hops != f["spent"]:
            out.append(Finding("money", f"funds of loan {lid}", "sum of hops", f["spent"], hops, block))
    for lid, loan in state.table("loans").items():
        if loan["principalRepaid"] > loan["principal"] or loan["interestPaid"] > loan["interestAccrued"]:
            out.append(Finding("money", f"loan {lid}", "repaid", "<= principal and interest accrued",
                               (loan["principalRepaid"], loan["interestPaid"]), block))
        paid = sum(r["principal"] + r["interest"] for k, r in state.table("repayments").items()
                   if k.split(":")[0] == lid)
        if paid != loan["principalRepaid"] + loan["interestPaid"]:
            out.append(Finding("money", f"loan {lid}", "sum of repayments",
                               loan["principalRepaid"] + loan["interestPaid"], paid, block))
    return out


#: Contracts of the council (``vscm.audit.council``), deployed after the platform's own.
COUNCIL_CONTRACTS = frozenset({"Safe", "TimelockController"})


def _folded_from(state: State, address: str) -> bool:
    """Whether the fold saw an event of the council contract at ``address``."""
    return any(r.get("address") == address for r in state.table("council").values()) or any(
        r.get("timelock") == address for r in state.table("timelock_ops").values())


def verify(state: State, w3: Web3, deployment: Any, block: int) -> list[Finding]:
    """Every verifier against the contracts at ``block``, then money conservation.

    Raises:
        AuditError: a platform contract has no code at ``block`` (the deployment was not finished then).
    """
    for address, name in sorted(contracts_of(deployment).items(), key=lambda kv: kv[1]):
        if name in COUNCIL_CONTRACTS and not _folded_from(state, address):
            continue  # the council came after the platform: a period before it knows nothing of it
        if not w3.eth.get_code(to_checksum_address(address), block):
            raise AuditError(f"the platform's {name} ({address}) has no code at block {block}: its views can be "
                             f"read only from the block that finished the deployment on; end the audit later")
    views = Views(w3, deployment, block)
    out: list[Finding] = []
    for verifier in VERIFIERS:
        verifier(state, views, out)
    out.extend(check_money(state, deployment, views))
    return out
