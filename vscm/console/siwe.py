"""Sign-In with Ethereum (EIP-4361): the message text, its parser, and its signature check.

The ``siwe`` package does not import with the current ``abnf`` release (its grammar redefines a core
rule that abnf 2.x now refuses), so the message is written and read here, field by field as the EIP
lays it out, and the signature is checked by eth-account (EIP-191 ``personal_sign``:
``encode_defunct`` then ``recover_message``): no cryptography of our own.

Script tokens (``vscm serve token --wallet bank``) are the same kind of message, signed by the wallet's
key with an expiration time: ``vscm1.<base64url message>.<signature>``. The server checks them as it
checks a browser's sign-in, except for the nonce (a token is a bearer credential until it expires).
"""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import is_checksum_address

from vscm.errors import InputError

__all__ = ["TOKEN_DOMAIN", "TOKEN_PREFIX", "SiweError", "SiweMessage", "mint_token", "new_nonce", "read_token",
           "recover_signer"]

#: The ``domain`` of a script token's message (a token is not tied to one host name).
TOKEN_DOMAIN = "vscm-console"
TOKEN_PREFIX = "vscm1"
_HEADER = " wants you to sign in with your Ethereum account:"
_FIELDS = (("uri", "URI"), ("version", "Version"), ("chain_id", "Chain ID"), ("nonce", "Nonce"),
           ("issued_at", "Issued At"), ("expiration_time", "Expiration Time"), ("not_before", "Not Before"),
           ("request_id", "Request ID"))
_NONCE = re.compile(r"^[A-Za-z0-9]{8,}$")


class SiweError(InputError):
    """A sign-in message or signature that does not hold (the message says which part)."""


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _parse_time(text: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise SiweError(f"bad {name} {text!r}: an RFC 3339 date-time is expected") from None
    if moment.tzinfo is None:
        raise SiweError(f"bad {name} {text!r}: the time zone is missing")
    return moment


def new_nonce() -> str:
    """A random nonce of 17 letters and digits (EIP-4361 asks for at least 8)."""
    return secrets.token_hex(9)[:17]


@dataclass(frozen=True)
class SiweMessage:
    """One EIP-4361 message; ``text()`` is what the wallet signs, ``parse`` reads it back."""

    domain: str
    address: str
    uri: str
    chain_id: int
    nonce: str
    issued_at: str
    statement: str | None = None
    version: str = "1"
    expiration_time: str | None = None
    not_before: str | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = field(default_factory=tuple)

    def text(self) -> str:
        lines = [f"{self.domain}{_HEADER}", self.address, ""]
        if self.statement is not None:
            lines += [self.statement, ""]
        for attr, label in _FIELDS:
            value = getattr(self, attr)
            if value is not None:
                lines.append(f"{label}: {value}")
        if self.resources:
            lines.append("Resources:")
            lines += [f"- {r}" for r in self.resources]
        return "\n".join(lines)

    @classmethod
    def parse(cls, text: str) -> SiweMessage:
        """The message written in ``text``.

        Raises:
            SiweError: the text is not an EIP-4361 message (the first line that is not says so).
        """
        lines = text.split("\n")
        if len(lines) < 4 or not lines[0].endswith(_HEADER):
            raise SiweError(f"not a sign-in message: the first line must end with {_HEADER.strip()!r}")
        domain, address = lines[0][: -len(_HEADER)], lines[1]
        if not domain or not is_checksum_address(address):
            raise SiweError(f"bad sign-in message: domain {domain!r}, address {address!r} (EIP-55 checksum needed)")
        if lines[2] != "":
            raise SiweError("bad sign-in message: an empty line must follow the address")
        i, statement = 3, None
        if lines[i] and not lines[i].startswith("URI: "):
            statement, i = lines[i], i + 1
            if i >= len(lines) or lines[i] != "":
                raise SiweError("bad sign-in message: an empty line must follow the statement")
            i += 1
        elif lines[i] == "":
            i += 1
        values: dict[str, str] = {}
        labels = {label: attr for attr, label in _FIELDS}
        order = [label for _, label in _FIELDS]
        last = -1
        while i < len(lines) and lines[i] != "Resources:":
            label, sep, value = lines[i].partition(": ")
            if not sep or label not in labels or order.index(label) <= last:
                raise SiweError(f"bad sign-in message: unexpected line {lines[i]!r}")
            last = order.index(label)
            values[labels[label]] = value
            i += 1
        resources: list[str] = []
        if i < len(lines):
            for line in lines[i + 1:]:
                if not line.startswith("- "):
                    raise SiweError(f"bad sign-in message: unexpected resource line {line!r}")
                resources.append(line[2:])
        for required in ("uri", "version", "chain_id", "nonce", "issued_at"):
            if required not in values:
                raise SiweError(f"bad sign-in message: its {required.replace('_', ' ')} is missing")
        if values["version"] != "1":
            raise SiweError(f"bad sign-in message: version {values['version']!r}, only 1 is known")
        if not values["chain_id"].isdigit():
            raise SiweError(f"bad sign-in message: chain id {values['chain_id']!r}")
        if not _NONCE.match(values["nonce"]):
            raise SiweError("bad sign-in message: the nonce must be at least 8 letters or digits")
        for name in ("issued_at", "expiration_time", "not_before"):
            if name in values:
                _parse_time(values[name], name.replace("_", " "))
        chain_id = int(values.pop("chain_id"))
        return cls(domain=domain, address=address, statement=statement, chain_id=chain_id,
                   resources=tuple(resources), **values)

    def check_time(self, now: datetime) -> None:
        """Raises SiweError when the message has expired at ``now`` or is not valid yet."""
        if self.expiration_time is not None and now >= _parse_time(self.expiration_time, "expiration time"):
            raise SiweError(f"the sign-in expired at {self.expiration_time}: sign in again")
        if self.not_before is not None and now < _parse_time(self.not_before, "not before"):
            raise SiweError(f"the sign-in is valid only from {self.not_before}")


def recover_signer(text: str, signature: str) -> str:
    """The address whose key signed ``text`` (EIP-191 personal message), by eth-account."""
    try:
        return str(Account.recover_message(encode_defunct(text=text), signature=signature))
    except Exception as exc:  # noqa: BLE001 - malformed hex, wrong length, bad v: all say the same
        raise SiweError(f"bad signature: {exc}") from None


def verify(text: str, signature: str, *, domain: str, chain_id: int, now: datetime,
           nonce: str | None = None) -> SiweMessage:
    """The message in ``text`` if it is for ``domain`` and ``chain_id``, valid at ``now``, carries
    ``nonce`` (when given) and was signed by its own address's key.

    Raises:
        SiweError: which of these does not hold.
    """
    message = SiweMessage.parse(text)
    if message.domain != domain:
        raise SiweError(f"the sign-in is for {message.domain!r}, not {domain!r}")
    if message.chain_id != chain_id:
        raise SiweError(f"the sign-in is for chain {message.chain_id}, this platform is on chain {chain_id}")
    if nonce is not None and message.nonce != nonce:
        raise SiweError("the sign-in's nonce is not the one this console gave: ask for a new one")
    message.check_time(now)
    signer = recover_signer(text, signature)
    if signer != message.address:
        raise SiweError(f"the signature is by {signer}, not by {message.address}")
    return message


def mint_token(account: object, *, chain_id: int, registry: str, now: datetime, lifetime: timedelta) -> str:
    """A script token for the console: a sign-in message for ``TOKEN_DOMAIN`` signed by ``account``
    (an eth-account ``LocalAccount``), valid for ``lifetime`` from ``now``."""
    message = SiweMessage(domain=TOKEN_DOMAIN, address=account.address,  # type: ignore[attr-defined]
                          statement="VSCM console API token.", uri=f"vscm:registry:{registry}", chain_id=chain_id,
                          nonce=new_nonce(), issued_at=_iso(now), expiration_time=_iso(now + lifetime))
    text = message.text()
    signed = account.sign_message(encode_defunct(text=text))  # type: ignore[attr-defined]
    body = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    return f"{TOKEN_PREFIX}.{body}.0x{bytes(signed.signature).hex()}"


def read_token(token: str, *, chain_id: int, registry: str, now: datetime) -> SiweMessage:
    """The signed message of a script token, checked (domain, chain, registry, expiry, signature).

    Raises:
        SiweError: the token is malformed, for another platform, expired, or not signed by its address.
    """
    prefix, _, rest = token.partition(".")
    body, _, signature = rest.partition(".")
    if prefix != TOKEN_PREFIX or not body or not signature:
        raise SiweError(f"not a console token: expected {TOKEN_PREFIX}.<message>.<signature> "
                        "(mint one with `vscm serve token --wallet NAME`)")
    try:
        text = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        raise SiweError("not a console token: its message is not base64url text") from None
    message = verify(text, signature, domain=TOKEN_DOMAIN, chain_id=chain_id, now=now)
    if message.uri != f"vscm:registry:{registry}":
        raise SiweError(f"the token is for {message.uri}, not for this platform's registry {registry}")
    if message.expiration_time is None:
        raise SiweError("a console token must expire: mint a new one with `vscm serve token`")
    return message


def iso(moment: datetime) -> str:
    """``moment`` in UTC as ``2026-12-06T11:02:42Z`` (the form EIP-4361 messages carry)."""
    return _iso(moment)
