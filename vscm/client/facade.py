"""The base of every contract facade: ``as_(account)`` for a signer, ``_send`` for writes, AccessControl.

It lives apart from ``vscm.client.platform`` so that the facades defined elsewhere (oracle, risk, consent)
build on it without importing the platform module that imports them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vscm.errors import InputError, NotFound

if TYPE_CHECKING:  # only types: the CLI's light path (vscm.chain.light) runs the facades without web3
    from eth_account.signers.local import LocalAccount
    from typing_extensions import Self
    from web3.contract import Contract

    from vscm.client.platform import Platform

__all__ = ["Facade"]


class Facade:
    """A contract facade; `as_(account)` returns a copy whose writes that account signs."""

    contract_name = ""

    def __init__(self, platform: Platform, contract: Contract, signer: LocalAccount | None = None) -> None:
        self.platform = platform
        self.contract = contract
        self.signer = signer

    def as_(self, account: LocalAccount) -> Self:
        return type(self)(self.platform, self.contract, account)

    @property
    def address(self) -> str:
        return str(self.contract.address)

    def _send(self, fn: Any, gas: int | None = None) -> Any:
        if self.signer is None:
            raise InputError(f"{self.contract_name}: a write needs a signer: use .as_(account)")
        enact = getattr(self.signer, "enact", None)  # a council decision (vscm.client.council.CouncilSigner)
        receipt = enact(fn) if enact is not None else self.platform.chain.sender.transact(self.signer, fn, gas=gas)
        self.platform.last_receipt = receipt
        return receipt

    def _send_paying(self, currency: str, amount: int, fn: Any) -> Any:
        """Send ``fn``, a call through which this contract takes up to ``amount`` of the signer's ``currency``
        cash (``transferFrom``). The signer's allowance to this contract is set to ``amount`` for the call and
        put back to what it was afterwards, whether the call went through or was refused: no approval stays
        behind a refused or partly used call, and an allowance the signer gave for another purpose is neither
        used nor lost. That is one ``approve`` before the call and, only when something is left, one after."""
        if self.signer is None:
            raise InputError(f"{self.contract_name}: a write needs a signer: use .as_(account)")
        owner = self.signer.address
        cash = self.platform.cash_at(currency).as_(self.signer)
        before = cash.allowance(owner, self.address)
        if before != amount:
            cash.approve(self.address, amount)
        try:
            receipt = self._send(fn)
        finally:
            if cash.allowance(owner, self.address) != before:
                cash.approve(self.address, before)
        self.platform.last_receipt = receipt
        return receipt

    def role(self, name: str) -> bytes:
        """The bytes32 id of an AccessControl role constant of this contract (``"FINANCE_ROLE"``)."""
        return bytes(getattr(self.contract.functions, name)().call())

    def grant(self, role: bytes, account: str) -> Any:
        """The role's admin grants an AccessControl role."""
        return self._send(self.contract.functions.grantRole(role, account))

    def revoke_role(self, role: bytes, account: str) -> Any:
        """The role's admin revokes an AccessControl role."""
        return self._send(self.contract.functions.revokeRole(role, account))

    def renounce(self, role: bytes) -> Any:
        """The signer gives up a role it holds."""
        if self.signer is None:
            raise InputError(f"{self.contract_name}: a write needs a signer: use .as_(account)")
        return self._send(self.contract.functions.renounceRole(role, self.signer.address))

    def has_role(self, role: bytes | str, account: str) -> bool:
        """Whether `account` holds `role` (a bytes32 id or the name of the role's constant)."""
        role_id = self.role(role) if isinstance(role, str) else role
        return bool(self.contract.functions.hasRole(role_id, account).call())

    def _event(self, receipt: Any, name: str) -> Any:
        """The first `name` event this contract emitted in `receipt`."""
        event = getattr(self.contract.events, name)()
        topic = bytes.fromhex(str(event.topic).removeprefix("0x")) if isinstance(event.topic, str) else bytes(event.topic)
        for log in receipt["logs"]:
            if log["address"] == self.contract.address and bytes(log["topics"][0]) == topic:
                return event.process_log(log)["args"]
        raise NotFound(f"{self.contract_name}: no {name} event in transaction {receipt['transactionHash'].hex()}")
