"""``vscm council``: governance by the consortium council (a Safe k-of-n in front of a timelock).

Each member runs these commands with its own wallet (``--wallet``): no server and no other member ever
holds its key. ``propose`` publishes a call on the Safe and approves it (the member's own ``approveHash``
transaction); ``approve`` adds a member's approval; ``execute`` sends a proposal that has its approvals
(the call is then scheduled on the timelock, visible to every lender) or, after the delay, carries out a
scheduled call; ``pending`` lists both, ``show`` one of them decoded (or the council itself). Exit codes
are those of every ``vscm`` command: 2 for bad input, 3 when the chain refuses, 1 when the council cannot
go ahead yet (too few approvals, the delay not over), with the next step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from vscm.cli.common import emit_tx, platform_command, signed_command
from vscm.cli.output import emit, json_option, key_value_table
from vscm.errors import InputError, NotFound

__all__ = ["council", "decode_call", "encode_call"]

#: Contract names a proposal may target (besides cash:<CODE> and a 0x address).
_CONTRACTS = ("members", "orders", "assets", "funds", "loans", "risk", "oracle")


@click.group("council")
def council() -> None:
    """The consortium council: propose, approve, execute and list governed changes.

    \b
    Examples:
      vscm council show
      vscm council propose risk setParameters 172800 1 3 --wallet bank
      vscm council propose cash:CNY setMintCap bank 50000000 --wallet bank
      vscm council propose members suspend supplier "court order" --now --wallet bank
      vscm council approve 0x<proposal> --wallet bank2
      vscm council execute 0x<proposal> --wallet bank      # schedules it on the timelock
      vscm council pending
      vscm council execute 0x<operation> --wallet bank     # after the delay
    """


def _facade(platform: Any, name: str) -> Any:
    """The facade of a contract named on the command line."""
    key = name.lower()
    if key.startswith("cash:"):
        return platform.cash(name[5:])
    if key in ("registry", "members"):
        return platform.members
    if key in _CONTRACTS:
        return getattr(platform, key)
    if key.startswith("0x"):
        for facade in platform.wired_contracts():
            if facade.address.lower() == key:
                return facade
    raise InputError(f"unknown contract {name!r}: use {', '.join(_CONTRACTS)}, cash:<CODE> or the address of one")


def _argument(kind: str, text: str) -> Any:
    from vscm.cli.session import resolve_party

    if kind == "address":
        return resolve_party(text)
    if kind == "address[]":
        return [resolve_party(t) for t in text.split(",") if t]
    if kind == "bool":
        if text.lower() not in ("true", "false", "1", "0"):
            raise InputError(f"bad bool {text!r}: use true or false")
        return text.lower() in ("true", "1")
    if kind.startswith(("uint", "int")):
        try:
            return int(text, 0)
        except ValueError:
            raise InputError(f"bad {kind} {text!r}: expected a whole number (minor units for amounts)") from None
    if kind == "bytes32":
        if text.startswith("0x"):
            try:
                raw = bytes.fromhex(text[2:])
            except ValueError:
                raw = b""
            if len(raw) != 32:
                raise InputError(f"bad bytes32 {text!r}: expected 0x and 64 hex digits")
            return raw
        from eth_utils import keccak

        return keccak(text=text)  # a label stands for its hash, as a reason or a reference does elsewhere
    raise InputError(f"argument type {kind} is not supported here")


def encode_call(contract: Any, function: str, args: tuple[str, ...]) -> bytes:
    """Call data of ``function`` (a name, or ``name(type,...)`` for an overloaded one) of a web3 contract,
    with ``args`` given as text (addresses may be wallet labels)."""
    name = function.split("(", 1)[0]
    candidates = [item for item in contract.abi if item.get("type") == "function" and item["name"] == name
                  and item.get("stateMutability") not in ("view", "pure")]
    if "(" in function:
        wanted = function.replace(" ", "")
        candidates = [c for c in candidates if f"{name}({','.join(i['type'] for i in c['inputs'])})" == wanted]
    if not candidates:
        raise InputError(f"{function!r} is not a function that changes state on this contract "
                         "(see docs/trust-model.md for the functions the council may call)")
    if len(candidates) > 1:
        raise InputError(f"{name} is overloaded: name it with its types, e.g. {name}(uint256)")
    inputs = candidates[0]["inputs"]
    if len(inputs) != len(args):
        names = " ".join(i["name"].upper() or i["type"] for i in inputs)
        raise InputError(f"{name} takes {len(inputs)} argument(s) ({names}), got {len(args)}")
    values = [_argument(i["type"], a) for i, a in zip(inputs, args, strict=True)]
    from hexbytes import HexBytes

    fn = contract.get_function_by_signature(f"{name}({','.join(i['type'] for i in inputs)})")(*values)
    return bytes(HexBytes(fn._encode_transaction_data()))


def decode_call(platform: Any, target: str, data: bytes) -> str:
    """``Contract.function(name=value, ...)`` for a call to a platform contract, else the raw selector."""
    from vscm.client.council import decode_call_data

    for facade in platform.wired_contracts():
        if facade.address.lower() != str(target).lower():
            continue
        call = decode_call_data(facade.contract.abi, data)
        if call is None:
            break
        return call.text(facade.contract_name or type(facade).__name__)
    return f"{target}: 0x{bytes(data[:4]).hex()}"


def _hash(text: str) -> bytes:
    try:
        value = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        value = b""
    if len(value) != 32:
        raise InputError(f"bad id {text!r}: expected 0x and 64 hex digits (see `vscm council pending`)")
    return value


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _proposal_row(platform: Any, p: Any, threshold: int) -> dict[str, Any]:
    op = p.scheduled
    target, data = (op.target, op.data) if op else (p.to, p.data)
    return {"kind": "proposal", "id": "0x" + p.safe_tx_hash.hex(), "nonce": p.nonce, "timelocked": op is not None,
            "target": target, "call": decode_call(platform, target, data), "proposer": p.proposer,
            "approvals": list(p.approvals), "threshold": threshold, "executed": p.executed,
            "operation": "0x" + op.operation.hex() if op else None}


def _scheduled_row(platform: Any, op: Any, now: int) -> dict[str, Any]:
    return {"kind": "scheduled", "id": "0x" + op.operation.hex(), "target": op.target,
            "call": decode_call(platform, op.target, op.data), "ready_at": _iso(op.ready_at),
            "ready": op.ready_at <= now, "done": op.done, "cancelled": op.cancelled}


@council.command("show")
@click.argument("ident", required=False, metavar="[ID]")
@json_option
@platform_command
def show_cmd(platform: Any, ident: str | None, as_json: bool) -> None:
    """The council (Safe, timelock, owners, threshold, delay), or one proposal or scheduled call by ID."""
    c = platform.council
    if ident is None:
        data = {"safe": c.safe_address, "timelock": c.timelock_address, "owners": c.owners(),
                "threshold": c.threshold(), "delay_seconds": c.delay()}
        emit(data, as_json, lambda d: key_value_table(
            [("Safe", d["safe"]), ("timelock", d["timelock"]), ("owners", ", ".join(d["owners"])),
             ("approvals needed", f"{d['threshold']} of {len(d['owners'])}"), ("delay", f"{d['delay_seconds']} s")],
            title="council"))
        return
    value = _hash(ident)
    try:
        row = _proposal_row(platform, c.proposal(value), c.threshold())
    except NotFound:
        row = _scheduled_row(platform, c.scheduled(value), int(platform.chain.timestamp()))
    emit(row, as_json, lambda r: key_value_table(r.items(), title=r["kind"]))


@council.command("propose", context_settings={"ignore_unknown_options": True})
@click.argument("contract")
@click.argument("function")
@click.argument("args", nargs=-1)
@click.option("--now", "immediate", is_flag=True,
              help="Call from the Safe at once, without the timelock: only the guardian's suspension "
                   "(members suspend, reinstate) works so.")
@json_option
@signed_command
def propose_cmd(platform: Any, signer: Any, contract: str, function: str, args: tuple[str, ...], immediate: bool,
                as_json: bool) -> None:
    """Council member: propose CONTRACT FUNCTION ARGS... (and approve it yourself).

    CONTRACT is members, orders, assets, funds, loans, risk, oracle or cash:<CODE>; FUNCTION a function's
    name; ARGS its arguments (addresses may be wallet labels, amounts in minor units, a bytes32 a 0x value
    or a text whose hash it stands for).
    """
    c = platform.council
    facade = _facade(platform, contract)
    data = encode_call(facade.contract, function, args)
    proposal = c.propose_raw(signer, facade.address, data, immediate=immediate)
    row = _proposal_row(platform, proposal, c.threshold())
    emit(row, as_json, lambda r: key_value_table(r.items(), title="proposed"))


@council.command("approve")
@click.argument("proposal")
@json_option
@signed_command
def approve_cmd(platform: Any, signer: Any, proposal: str, as_json: bool) -> None:
    """Council member: approve PROPOSAL (its id, from `vscm council pending`)."""
    c = platform.council
    h = _hash(proposal)
    c.proposal(h)  # a hash nobody proposed is refused here, not approved blindly
    receipt = c.approve(signer, h)
    emit_tx(receipt, "approved", as_json, id=proposal, approvals=len(c.approvals(h)), threshold=c.threshold())


@council.command("execute")
@click.argument("ident", metavar="ID")
@json_option
@signed_command
def execute_cmd(platform: Any, signer: Any, ident: str, as_json: bool) -> None:
    """Send an approved proposal (a timelocked one is then scheduled), or carry out a scheduled call
    (its operation id) once its delay has passed. Anyone may."""
    c = platform.council
    value = _hash(ident)
    try:
        proposal = c.proposal(value)
    except NotFound:
        receipt = c.execute_scheduled(signer, value)
        emit_tx(receipt, "carried out", as_json, id=ident)
        return
    receipt = c.execute(signer, value, proposal)
    op = proposal.scheduled
    extra = {"operation": "0x" + op.operation.hex(), "ready_at": _iso(c._state(op).ready_at)} if op else {}
    emit_tx(receipt, "scheduled" if op else "executed", as_json, id=ident, **extra)


@council.command("pending")
@json_option
@platform_command
def pending_cmd(platform: Any, as_json: bool) -> None:
    """Proposals awaiting approvals or execution, and calls scheduled on the timelock (what lenders watch)."""
    c = platform.council
    proposals, scheduled = c.pending()
    threshold, now = c.threshold(), int(platform.chain.timestamp())
    data = {"threshold": threshold, "owners": len(c.owners()), "delay_seconds": c.delay(),
            "proposals": [_proposal_row(platform, p, threshold) for p in proposals],
            "scheduled": [_scheduled_row(platform, op, now) for op in scheduled]}

    def view(d: dict[str, Any]) -> Any:
        from rich.table import Table

        table = Table("kind", "id", "call", "state",
                      title=f"council: {d['threshold']} of {d['owners']}, delay {d['delay_seconds']} s")
        for p in d["proposals"]:
            table.add_row("proposal", p["id"], p["call"], f"{len(p['approvals'])}/{threshold} approvals")
        for op in d["scheduled"]:
            table.add_row("scheduled", op["id"], op["call"], ("ready" if op["ready"] else "waiting") +
                          f" (from {op['ready_at']})")
        return table

    emit(data, as_json, view)
