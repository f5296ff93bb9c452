"""The consortium council: a Safe k-of-n multisig of named members in front of a TimelockController.

The TimelockController holds ``DEFAULT_ADMIN_ROLE`` on every platform contract: every governance change
(parameters, mint caps, signer sets, currencies, institutions, roles) is a call the timelock makes. Only
the council's Safe may schedule (and cancel) such a call, and only after the delay set at deployment may
anyone execute it; ``CallScheduled`` is what a lender watches. The Safe also holds ``GUARDIAN_ROLE`` on
the MemberRegistry, so it can suspend a member at once (and lift it), without the timelock.

Each member signs with its own key and sends its own transaction: a proposal is the proposer's
``approveHash(safeTxHash)`` transaction, with the Safe transaction itself appended to its call data (the
Safe ignores it) so that every other member reads it from the chain and checks it against the hash;
the others ``approveHash`` the same hash; once ``threshold`` members approved, anyone sends
``execTransaction`` with pre-validated signatures. No server holds a member's key and no signature is
collected off chain.

    council = platform.council
    proposal = council.propose(alice, platform.risk.contract.functions.setParameters(86400, 1, 2))
    council.approve(bob, proposal.safe_tx_hash)
    council.execute(alice, proposal.safe_tx_hash)       # schedules on the timelock
    council.execute_scheduled(alice, proposal.operation) # after the delay
    platform.risk.as_(council.by(alice, bob)).set_parameters(...)   # all of it, on a dev chain
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_checksum_address
from hexbytes import HexBytes
from web3 import Web3

from vscm.chain.artifacts import load as load_artifact
from vscm.errors import InputError, NotFound, VscmError

__all__ = ["Council", "CouncilConfig", "CouncilError", "CouncilSigner", "DecodedCall", "Proposal", "ScheduledCall",
           "decode_call_data"]

ZERO = "0x" + "00" * 20
ZERO32 = b"\x00" * 32
#: The Safe transaction appended to a proposer's approveHash call data: to, value, data, operation, nonce.
_PAYLOAD_TYPES = ["address", "uint256", "bytes", "uint8", "uint256"]
_APPROVE_HASH = keccak(text="approveHash(bytes32)")[:4]


class CouncilError(VscmError):
    """A council action that cannot go ahead (too few approvals, not an owner, not ready yet)."""


@dataclass(frozen=True)
class DecodedCall:
    """A council call decoded against its target's ABI: the function and its arguments in order, each
    ``(name, ABI type, value)`` (bytes as 0x hex, addresses checksummed)."""

    function: str
    args: tuple[tuple[str, str, Any], ...]

    def text(self, contract: str) -> str:
        """``Contract.function(name=value, ...)``, as ``vscm council pending`` shows it."""
        return f"{contract}.{self.function}({', '.join(f'{n}={v}' for n, _, v in self.args)})"


@cache
def _offline() -> Web3:
    """A Web3 without a provider: its codec decodes call data, nothing is sent."""
    return Web3()


def decode_call_data(abi: list[dict[str, Any]], data: bytes) -> DecodedCall | None:
    """``data`` as a call of a function of ``abi`` (web3's decoder, no chain needed); None when no function
    of it has that selector or the arguments do not decode."""
    try:
        fn, args = _offline().eth.contract(abi=abi).decode_function_input(bytes(data))
    except ValueError:
        return None
    types = {i["name"]: i["type"] for i in fn.abi["inputs"]}

    def shown(value: Any) -> Any:
        if isinstance(value, bytes):
            return "0x" + value.hex()
        if isinstance(value, (list, tuple)):
            return [shown(v) for v in value]
        return value

    return DecodedCall(fn.fn_name, tuple((k, types.get(k, ""), shown(v)) for k, v in args.items()))


@dataclass(frozen=True)
class CouncilConfig:
    """Who sits on the council: the Safe's owners, how many must approve, the timelock's delay.

    Args:
        owners: the consortium members' addresses (each signs with its own key).
        threshold: approvals a Safe transaction needs (k of n).
        delay: seconds between scheduling a governance call and the earliest time it may execute.
    """

    owners: tuple[str, ...]
    threshold: int
    delay: int

    def __post_init__(self) -> None:
        if not self.owners:
            raise InputError("a council needs at least one owner")
        if len({o.lower() for o in self.owners}) != len(self.owners):
            raise InputError("council owners must be distinct")
        if not 1 <= self.threshold <= len(self.owners):
            raise InputError(f"council threshold {self.threshold} must be between 1 and {len(self.owners)} owners")
        if self.delay < 0:
            raise InputError(f"council delay must not be negative, got {self.delay}")

    @classmethod
    def local_dev(cls, operator: str) -> CouncilConfig:
        """The default on a local dev node: the operator alone (1 of 1) and a one-minute delay.

        On a real network name the consortium's members, a majority threshold and a delay long enough
        for lenders to react (days).
        """
        return cls(owners=(operator,), threshold=1, delay=DEV_DELAY)


#: The council's timelock delay on a local dev node, seconds.
DEV_DELAY = 60


@dataclass(frozen=True)
class Proposal:
    """A Safe transaction of the council, as proposed on chain, with who approved it so far."""

    safe_tx_hash: bytes
    to: str
    value: int
    data: bytes
    operation: int
    nonce: int
    proposer: str
    approvals: tuple[str, ...]
    executed: bool
    #: the timelock operation this proposal schedules (None for an immediate call)
    scheduled: ScheduledCall | None = None

    @property
    def operation_id(self) -> bytes | None:
        return self.scheduled.operation if self.scheduled else None


@dataclass(frozen=True)
class ScheduledCall:
    """A call on the timelock: scheduled, ready at ``ready_at`` (Unix seconds), maybe executed."""

    operation: bytes
    target: str
    value: int
    data: bytes
    predecessor: bytes
    salt: bytes
    delay: int
    ready_at: int = 0
    done: bool = False
    cancelled: bool = False


@dataclass
class CouncilSigner:
    """Stands in for a signer in the facades: a write becomes a council decision of ``members``.

    ``platform.risk.as_(council.by(alice, bob)).set_parameters(...)`` proposes, approves, executes and (on
    a dev chain, moving its clock over the delay) carries out the call through the timelock;
    ``council.at_once(...)`` sends it from the Safe itself (the guardian's emergency suspension).
    """

    council: Council
    members: tuple[LocalAccount, ...]
    immediate: bool = False
    receipts: list[Any] = field(default_factory=list)

    @property
    def address(self) -> str:
        """Who the platform contracts see calling: the timelock, or the Safe for an immediate call."""
        return self.council.safe_address if self.immediate else self.council.timelock_address

    def enact(self, call: Any) -> Any:
        return self.council.enact(call, self.members, immediate=self.immediate)


class Council:
    """The council of one deployment: its Safe and its TimelockController."""

    def __init__(self, chain: Any, safe: str, timelock: str, from_block: int = 0) -> None:
        self.chain = chain
        w3: Web3 = chain.w3
        self.safe = w3.eth.contract(address=to_checksum_address(safe), abi=load_artifact("Safe").abi)
        self.timelock = w3.eth.contract(address=to_checksum_address(timelock),
                                        abi=load_artifact("TimelockController").abi)
        self.from_block = from_block

    # ---- reads
    @property
    def safe_address(self) -> str:
        return str(self.safe.address)

    @property
    def timelock_address(self) -> str:
        return str(self.timelock.address)

    def owners(self) -> list[str]:
        return [to_checksum_address(o) for o in self.safe.functions.getOwners().call()]

    def threshold(self) -> int:
        return int(self.safe.functions.getThreshold().call())

    def delay(self) -> int:
        return int(self.timelock.functions.getMinDelay().call())

    def by(self, *members: LocalAccount) -> CouncilSigner:
        """A signer for the facades: writes become timelocked council decisions of ``members``."""
        return CouncilSigner(self, tuple(members))

    def at_once(self, *members: LocalAccount) -> CouncilSigner:
        """A signer for the facades: writes are sent by the Safe itself, without the timelock (the
        guardian's emergency suspension and its lifting)."""
        return CouncilSigner(self, tuple(members), immediate=True)

    # ---- building
    def schedule_data(self, target: str, data: bytes, value: int = 0, salt: bytes | None = None,
                      nonce: int | None = None) -> bytes:
        """Call data of ``timelock.schedule`` for ``target.data`` with the council's delay."""
        salt = salt if salt is not None else self._fresh_salt(target, data, nonce)
        fn = self.timelock.functions.schedule(to_checksum_address(target), value, data, ZERO32, salt, self.delay())
        return bytes(HexBytes(fn._encode_transaction_data()))

    def safe_tx_hash(self, to: str, value: int, data: bytes, operation: int, nonce: int) -> bytes:
        return bytes(self.safe.functions.getTransactionHash(
            to_checksum_address(to), value, data, operation, 0, 0, 0, ZERO, ZERO, nonce).call())

    # ---- writes, each signed by the member who sends it
    def propose(self, owner: LocalAccount, call: Any, *, immediate: bool = False) -> Proposal:
        """``owner`` proposes ``call`` (a bound contract function): through the timelock, or ``immediate``.

        The proposal is ``owner``'s ``approveHash`` of the Safe transaction, which it also publishes.
        """
        target, data = str(call.address), bytes(HexBytes(call._encode_transaction_data()))
        return self.propose_raw(owner, target, data, immediate=immediate)

    def propose_raw(self, owner: LocalAccount, target: str, data: bytes, *, immediate: bool = False,
                    value: int = 0, nonce: int | None = None) -> Proposal:
        """Propose a raw call; ``nonce`` (default: after every proposal still waiting) is the Safe nonce."""
        self._require_owner(owner.address)
        nonce = nonce if nonce is not None else self._next_nonce()
        if immediate:
            to, inner = target, data
        else:
            to, inner = self.timelock_address, self.schedule_data(target, data, value, nonce=nonce)
        tx_value = value if immediate else 0
        h = self.safe_tx_hash(to, tx_value, inner, 0, nonce)
        payload = abi_encode(_PAYLOAD_TYPES, [to_checksum_address(to), tx_value, inner, 0, nonce])
        self.chain.sender.transact(owner, to=self.safe_address, data=_APPROVE_HASH + h + payload)
        return Proposal(h, to_checksum_address(to), tx_value, inner, 0, nonce, to_checksum_address(owner.address),
                        (to_checksum_address(owner.address),), False, self._decode_schedule(to, inner))

    def approvals(self, safe_tx_hash: bytes) -> list[str]:
        """The owners who approved ``safe_tx_hash`` on the Safe (its ``approvedHashes``), in owner order."""
        return [o for o in self.owners() if self.safe.functions.approvedHashes(o, bytes(safe_tx_hash)).call()]

    def approve(self, owner: LocalAccount, safe_tx_hash: bytes) -> Any:
        """``owner`` approves a proposal (its own ``approveHash`` transaction)."""
        self._require_owner(owner.address)
        return self.chain.sender.transact(owner, self.safe.functions.approveHash(safe_tx_hash))

    def execute(self, sender: LocalAccount, safe_tx_hash: bytes, proposal: Proposal | None = None) -> Any:
        """Send the Safe transaction of a proposal that ``threshold`` owners approved (anyone may).

        ``proposal``: the proposal as its proposer built it (saves reading it back from the chain's logs)."""
        p = proposal if proposal is not None else self.proposal(safe_tx_hash)
        current = int(self.safe.functions.nonce().call())
        if p.nonce < current:
            raise CouncilError(f"proposal {safe_tx_hash.hex()} was already executed or replaced "
                               f"(Safe nonce {p.nonce}, the Safe is at {current})")
        signers = set(self.approvals(safe_tx_hash))
        if sender.address in self.owners():
            signers.add(to_checksum_address(sender.address))  # the sender's own v=1 signature counts
        threshold = self.threshold()
        if len(signers) < threshold:
            raise CouncilError(f"proposal {safe_tx_hash.hex()} has {len(signers)} of {threshold} approvals: "
                               "more members must run `vscm council approve`")
        if p.nonce != current:
            raise CouncilError(f"proposal {safe_tx_hash.hex()} has Safe nonce {p.nonce}, the Safe is at {current}: "
                               "execute the earlier proposals first")
        # Surface the inner call's own error (the Safe would only say GS013).
        self._simulate(p.to, p.value, p.data)
        ordered = sorted(signers, key=lambda a: int(a, 16))[:threshold]
        signatures = b"".join(bytes(12) + bytes(HexBytes(a)) + ZERO32 + b"\x01" for a in ordered)
        return self.chain.sender.transact(sender, self.safe.functions.execTransaction(
            to_checksum_address(p.to), p.value, p.data, p.operation, 0, 0, 0, ZERO, ZERO, signatures))

    def execute_scheduled(self, sender: LocalAccount, operation: bytes | ScheduledCall) -> Any:
        """Carry out a timelock operation whose delay has passed (anyone may): its id (read from the
        timelock's logs) or the :class:`ScheduledCall` itself."""
        if isinstance(operation, ScheduledCall):
            op = self._state(operation)
            operation = op.operation
        else:
            op = self.scheduled(operation)
        if op.done:
            raise CouncilError(f"operation {operation.hex()} was already executed")
        now = int(self.chain.timestamp())
        if op.ready_at > now + 1:
            raise CouncilError(f"operation {operation.hex()} is ready at {op.ready_at}, "
                               f"{op.ready_at - now} s from now")
        self._simulate(op.target, op.value, op.data, sender=self.timelock_address)
        return self.chain.sender.transact(sender, self.timelock.functions.execute(
            to_checksum_address(op.target), op.value, op.data, op.predecessor, op.salt))

    def enact(self, call: Any, members: Sequence[LocalAccount], *, immediate: bool = False) -> Any:
        """Propose, approve, execute and (after the delay) carry out ``call``; returns the receipt of the
        transaction that made the call. Waiting out the delay moves the clock, so only on a dev chain."""
        if not members:
            raise CouncilError("a council decision needs at least one member")
        # The Safe's current nonce: enact assumes no other proposal is waiting for it.
        proposal = self.propose_raw(members[0], str(call.address), bytes(HexBytes(call._encode_transaction_data())),
                                    immediate=immediate, nonce=int(self.safe.functions.nonce().call()))
        for member in members[1:self.threshold()]:
            self.approve(member, proposal.safe_tx_hash)
        receipt = self.execute(members[0], proposal.safe_tx_hash, proposal)
        if immediate:
            return receipt
        op = proposal.scheduled
        assert op is not None
        wait = self._state(op).ready_at - int(self.chain.timestamp())
        if wait > 0:
            if not self.chain.is_dev:
                raise CouncilError(f"the call is scheduled and ready in {wait} s: run `vscm council execute` then")
            self.chain.time_travel(wait)
        return self.execute_scheduled(members[0], op)

    # ---- what is pending
    def proposals(self) -> list[Proposal]:
        """Every proposal published on the Safe (oldest first), executed or not."""
        approvals: dict[bytes, list[tuple[str, Any]]] = {}
        for log in self.safe.events.ApproveHash().get_logs(from_block=self.from_block):
            approvals.setdefault(bytes(log["args"]["approvedHash"]), []).append((log["args"]["owner"], log))
        executed = {bytes(log["args"]["txHash"])
                    for log in self.safe.events.ExecutionSuccess().get_logs(from_block=self.from_block)}
        out = []
        for h, approved in approvals.items():
            published = self._published(h, [log for _, log in approved])
            if published is None:
                continue  # an approval of a hash nobody published: nothing to show
            to, value, data, operation, nonce, proposer = published
            out.append(Proposal(h, to, value, data, operation, nonce, proposer,
                                tuple(dict.fromkeys(to_checksum_address(o) for o, _ in approved)), h in executed,
                                self._decode_schedule(to, data)))
        return sorted(out, key=lambda p: p.nonce)

    def proposal(self, safe_tx_hash: bytes) -> Proposal:
        for p in self.proposals():
            if p.safe_tx_hash == bytes(safe_tx_hash):
                return p
        raise NotFound(f"no council proposal {bytes(safe_tx_hash).hex()} on the Safe {self.safe_address}")

    def scheduled_calls(self) -> list[ScheduledCall]:
        """Every call scheduled on the timelock (what a lender watches), with its state."""
        salts = {bytes(log["args"]["id"]): bytes(log["args"]["salt"])
                 for log in self.timelock.events.CallSalt().get_logs(from_block=self.from_block)}
        done = {bytes(log["args"]["id"]) for log in self.timelock.events.CallExecuted().get_logs(
            from_block=self.from_block)}
        cancelled = {bytes(log["args"]["id"]) for log in self.timelock.events.Cancelled().get_logs(
            from_block=self.from_block)}
        out = []
        for log in self.timelock.events.CallScheduled().get_logs(from_block=self.from_block):
            a = log["args"]
            op = bytes(a["id"])
            out.append(ScheduledCall(op, a["target"], a["value"], bytes(a["data"]), bytes(a["predecessor"]),
                                     salts.get(op, ZERO32), a["delay"],
                                     int(self.timelock.functions.getTimestamp(op).call()), op in done,
                                     op in cancelled))
        return out

    def scheduled(self, operation: bytes) -> ScheduledCall:
        for op in self.scheduled_calls():
            if op.operation == bytes(operation):
                return op
        raise NotFound(f"no timelock operation {bytes(operation).hex()} on {self.timelock_address}")

    def pending(self) -> tuple[list[Proposal], list[ScheduledCall]]:
        """Proposals not yet executed, and scheduled calls neither executed nor cancelled."""
        return ([p for p in self.proposals() if not p.executed],
                [op for op in self.scheduled_calls() if not op.done and not op.cancelled])

    # ---- internals
    def _require_owner(self, address: str) -> None:
        if to_checksum_address(address) not in self.owners():
            raise CouncilError(f"{address} is not a council member (owners: {', '.join(self.owners())})")

    def _next_nonce(self) -> int:
        current = int(self.safe.functions.nonce().call())
        waiting = [p.nonce for p in self.proposals() if not p.executed and p.nonce >= current]
        return max([current - 1, *waiting]) + 1

    def _state(self, op: ScheduledCall) -> ScheduledCall:
        """``op`` with its state read from the timelock's views (no logs)."""
        t = self.timelock.functions
        return replace(op, ready_at=int(t.getTimestamp(op.operation).call()),
                       done=bool(t.isOperationDone(op.operation).call()))

    def _fresh_salt(self, target: str, data: bytes, nonce: int | None = None) -> bytes:
        # One salt per proposal, so that the same call proposed twice is two operations.
        return keccak(abi_encode(["address", "bytes", "uint256", "uint256"],
                                 [to_checksum_address(target), data,
                                  nonce if nonce is not None else self._next_nonce(),
                                  int(self.chain.w3.eth.block_number)]))

    def _published(self, h: bytes, logs: list[Any]) -> tuple[str, int, bytes, int, int, str] | None:
        """The Safe transaction appended to one of the approveHash transactions of ``h``, if it matches."""
        for log in logs:
            tx = self.chain.w3.eth.get_transaction(log["transactionHash"])
            raw = bytes(HexBytes(tx["input"]))
            if len(raw) <= 36 or raw[:4] != _APPROVE_HASH:
                continue
            try:
                to, value, data, operation, nonce = abi_decode(_PAYLOAD_TYPES, raw[36:])
            except Exception:  # noqa: BLE001, S112 - anything appended that is not a Safe transaction
                continue
            if self.safe_tx_hash(to, value, bytes(data), operation, nonce) == h:
                return to_checksum_address(to), int(value), bytes(data), int(operation), int(nonce), tx["from"]
        return None

    def _decode_schedule(self, to: str, data: bytes) -> ScheduledCall | None:
        if to_checksum_address(to) != self.timelock_address:
            return None
        try:
            fn, args = self.timelock.decode_function_input(data)
        except ValueError:
            return None
        if fn.fn_name != "schedule":
            return None
        target, value, inner, predecessor, salt = (args["target"], args["value"], bytes(args["data"]),
                                                   bytes(args["predecessor"]), bytes(args["salt"]))
        op = bytes(self.timelock.functions.hashOperation(target, value, inner, predecessor, salt).call())
        return ScheduledCall(op, target, value, inner, predecessor, salt, args["delay"])

    def _simulate(self, to: str, value: int, data: bytes, sender: str | None = None) -> None:
        """eth_call the inner call as the Safe (or ``sender``): its custom error, decoded, if it reverts."""
        from vscm.chain.revert import revert_from_exception

        try:
            self.chain.w3.eth.call({"from": to_checksum_address(sender or self.safe_address),
                                    "to": to_checksum_address(to), "value": value, "data": data})
        except Exception as exc:
            revert = revert_from_exception(exc)
            if revert is None:
                raise
            raise revert from exc
