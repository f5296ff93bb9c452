"""Decisions from the page: the console builds the unsigned transaction, the lender's own wallet signs
it in the browser, and the console sends the signed bytes. The server never sees a key.

Only the party that signed may send through its session, and only to a platform contract: the console
is no open relay.
"""

from __future__ import annotations

from typing import Any

import rlp
from eth_account import Account
from eth_account.typed_transactions import TypedTransaction
from eth_utils import to_checksum_address
from hexbytes import HexBytes

from vscm.audit.replay import contracts_of
from vscm.client.platform import Platform
from vscm.client.records import Decision
from vscm.console.scope import OutOfScope, Party
from vscm.errors import InputError

__all__ = ["build_decision", "send_signed", "signed_fields"]


def _hex(value: Any) -> Any:
    return hex(value) if isinstance(value, int) else value


def build_decision(chain: Any, deployment: Any, party: Party, loan: dict[str, Any], decision: str) -> dict[str, Any]:
    """The unsigned ``RiskControl.decide(loanId, decision)`` of the loan's lender, with JSON-RPC hex
    quantities (what ``eth_signTransaction`` takes).

    Raises:
        OutOfScope: ``party`` is not the loan's lender (not even an auditor decides for a lender).
        ContractRevert: the call would revert (the loan is not warned, the deadline passed ...).
    """
    if party.address != loan["lender"]:
        raise OutOfScope(f"only the lender of loan {loan['loanId']} decides on it; {party.name} is not its lender")
    choice = Decision[decision.upper()]
    call = Platform(chain, deployment).risk.contract.functions.decide(int(loan["loanId"]), int(choice))
    tx = chain.sender.build(call, party.address)
    return {key: _hex(value) for key, value in tx.items()}


def signed_fields(raw: bytes) -> dict[str, Any]:
    """Sender, recipient, data and gas of a signed transaction (typed or legacy).

    Raises:
        InputError: the bytes are not a signed transaction.
    """
    try:
        sender = to_checksum_address(Account.recover_transaction(raw))
        if raw and raw[0] <= 0x7F:
            fields = TypedTransaction.from_bytes(HexBytes(raw)).as_dict()
            to, data, gas = fields["to"], fields["data"], fields["gas"]
        else:
            _nonce, _price, gas_raw, to, _value, data, *_ = rlp.decode(raw)
            gas = int.from_bytes(gas_raw, "big")
    except Exception as exc:  # noqa: BLE001 - any malformed input is the caller's: say so in one line
        raise InputError(f"not a signed transaction: {exc}") from None
    to_address = to_checksum_address(to) if to else None
    return {"from": sender, "to": to_address, "data": "0x" + bytes(data).hex(), "gas": int(gas)}


def send_signed(chain: Any, deployment: Any, party: Party, raw: bytes) -> dict[str, Any]:
    """Send a transaction ``party`` signed, to a platform contract, and wait for it.

    Raises:
        OutOfScope: it is signed by another key than the party's, or goes elsewhere than the platform.
        InputError: not a signed transaction; ContractRevert, TransactionRejected: as the chain answers.
    """
    fields = signed_fields(raw)
    if fields["from"] != party.address:
        raise OutOfScope(f"the transaction is signed by {fields['from']}, not by {party.name} ({party.address}): "
                         "send only your own transactions")
    names = contracts_of(deployment)
    if fields["to"] not in names:
        raise OutOfScope(f"the console sends only to the platform's contracts, not to {fields['to']}")
    receipt = chain.sender.send_signed(raw, fields, (names[fields["to"]], None))
    return {"tx": "0x" + bytes(receipt["transactionHash"]).hex(), "block": int(receipt["blockNumber"]),
            "gas_used": int(receipt["gasUsed"]), "contract": names[fields["to"]]}
