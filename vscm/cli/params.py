"""Command-line value types: addresses, money amounts, 32-byte hashes and dates.

Each type has a plain parser (``parse_address`` ...) that raises :class:`vscm.errors.InputError`
and a click ``ParamType`` (``ADDRESS`` ...) that turns that error into a bad-parameter message::

    @click.argument("to", type=ADDRESS)
    @click.option("--amount", type=AMOUNT, required=True)   # "1250.50" -> 125050 (cents)
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import click
from eth_typing import ChecksumAddress, Hash32
from eth_utils import keccak, to_checksum_address

from vscm.errors import InputError

__all__ = [
    "ADDRESS",
    "AMOUNT",
    "AMOUNT_DECIMALS",
    "DATE",
    "HASH32",
    "AddressType",
    "AmountType",
    "DateType",
    "Hash32Type",
    "parse_address",
    "parse_amount",
    "parse_date",
    "parse_hash32",
]

AMOUNT_DECIMALS = 2  # money is kept on chain in minor units (cents): 1250.50 -> 125050
_MAX_UINT256 = 2**256 - 1

_ADDRESS = re.compile(r"0[xX][0-9a-fA-F]{40}")
_HASH32 = re.compile(r"0[xX][0-9a-fA-F]{64}")
_NUMBER = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_UNIX_SECONDS = re.compile(r"[0-9]+")


def parse_address(text: str) -> ChecksumAddress:
    """Read an account address: ``0x`` and 40 hex digits.

    All-lower or all-upper case is accepted as is; mixed case must be a valid EIP-55 checksum.

    Returns:
        The checksummed address.

    Raises:
        InputError: wrong shape, or a mixed-case address whose checksum does not match.
    """
    value = text.strip() if isinstance(text, str) else text
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise InputError(f"bad address {_quote(text)}: expected 0x followed by 40 hex digits")
    digits = value[2:]
    checksummed = to_checksum_address("0x" + digits.lower())
    if digits != digits.lower() and digits != digits.upper() and checksummed[2:] != digits:
        raise InputError(
            f"bad address {_quote(text)}: checksum mismatch (a typo?); check it, or write it all in lower case"
        )
    return checksummed


def parse_amount(text: str) -> int:
    """Read a money amount with at most two decimals into integer minor units.

    ``"1250.50"`` -> ``125050``, ``"7"`` -> ``700``, ``"0.5"`` -> ``50``. No sign, exponent or separators.

    Raises:
        InputError: not a number, negative, more than two decimals, or beyond uint256.
    """
    value = text.strip() if isinstance(text, str) else ""
    match = _NUMBER.fullmatch(value)
    if match is None:
        raise InputError(f"bad amount {_quote(text)}: expected a number like 1250.50")
    sign, whole, fraction = match.group(1), match.group(2), match.group(3) or ""
    if sign:
        raise InputError(f"bad amount {_quote(text)}: must not be negative")
    if len(fraction.rstrip("0")) > AMOUNT_DECIMALS:
        raise InputError(f"bad amount {_quote(text)}: at most {AMOUNT_DECIMALS} decimals (cents)")
    fraction = (fraction + "0" * AMOUNT_DECIMALS)[:AMOUNT_DECIMALS]
    units = int(whole) * 10**AMOUNT_DECIMALS + int(fraction)
    if units > _MAX_UINT256:
        raise InputError(f"bad amount {_quote(text)}: too large")
    return units


def parse_hash32(text: str) -> Hash32:
    """Read a 32-byte hash: ``0x`` and 64 hex digits, or ``file:PATH`` for the keccak256 of a file.

    Raises:
        InputError: wrong shape, or the file cannot be read.
    """
    value = text.strip() if isinstance(text, str) else ""
    if value.startswith("file:"):
        path = Path(value[len("file:"):]).expanduser()
        try:
            return Hash32(keccak(path.read_bytes()))
        except OSError as exc:
            raise InputError(f"bad hash {_quote(text)}: cannot read {path}: {exc.strerror or exc}") from None
    if not _HASH32.fullmatch(value):
        raise InputError(
            f"bad hash {_quote(text)}: expected 0x followed by 64 hex digits, or file:PATH to hash a file"
        )
    return Hash32(bytes.fromhex(value[2:]))


def parse_date(text: str) -> int:
    """Read a point in time as unix seconds (UTC).

    Accepts ``2026-12-31`` (midnight UTC), an ISO datetime (``2026-12-31T17:00:00``, UTC unless it
    carries an offset such as ``+02:00`` or ``Z``), or unix seconds (``1798675200``).

    Raises:
        InputError: none of these forms, or an impossible date, or a time before 1970.
    """
    value = text.strip() if isinstance(text, str) else ""
    if _UNIX_SECONDS.fullmatch(value):
        return int(value)
    hint = "expected YYYY-MM-DD, an ISO datetime like 2026-12-31T17:00:00Z, or unix seconds"
    try:
        if _ISO_DATE.fullmatch(value):
            moment = datetime.combine(date.fromisoformat(value), datetime.min.time())
        else:
            if not value or not value[0].isdigit():
                raise ValueError("not a date")
            # Python 3.10's fromisoformat does not read a trailing "Z"; 3.11+ does.
            moment = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
    except ValueError as exc:
        reason = "" if str(exc).startswith(("Invalid isoformat", "not a date")) else f" ({exc})"
        raise InputError(f"bad date {_quote(text)}: {hint}{reason}") from None
    return _unix_seconds(moment, text)


def _unix_seconds(moment: datetime, original: object) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    seconds = int(moment.timestamp())
    if seconds < 0:
        raise InputError(f"bad date {_quote(original)}: before 1970")
    return seconds


class AddressType(click.ParamType):
    """A checksummed account address (see :func:`parse_address`)."""

    name = "address"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> ChecksumAddress:
        try:
            return parse_address(value)
        except InputError as exc:
            self.fail(str(exc), param, ctx)


class AmountType(click.ParamType):
    """A money amount in major units on the command line, integer minor units in Python.

    An ``int`` (e.g. a default) is taken as minor units already.
    """

    name = "amount"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0:
                self.fail(f"bad amount {value}: must not be negative", param, ctx)
            return value
        try:
            return parse_amount(str(value))
        except InputError as exc:
            self.fail(str(exc), param, ctx)


class Hash32Type(click.ParamType):
    """A 32-byte hash, ``0x`` + 64 hex digits or ``file:PATH`` (see :func:`parse_hash32`)."""

    name = "hash32"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Hash32:
        if isinstance(value, (bytes, bytearray)) and len(value) == 32:
            return Hash32(bytes(value))
        try:
            return parse_hash32(value)
        except InputError as exc:
            self.fail(str(exc), param, ctx)


class DateType(click.ParamType):
    """A date or datetime on the command line, unix seconds (UTC) in Python (see :func:`parse_date`)."""

    name = "date"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            if isinstance(value, int) and not isinstance(value, bool):
                if value < 0:
                    raise InputError(f"bad date {value}: before 1970")
                return value
            if isinstance(value, datetime):
                return _unix_seconds(value, value.isoformat())
            if isinstance(value, date):
                return _unix_seconds(datetime.combine(value, datetime.min.time()), value.isoformat())
            return parse_date(value)
        except InputError as exc:
            self.fail(str(exc), param, ctx)


ADDRESS = AddressType()
AMOUNT = AmountType()
HASH32 = Hash32Type()
DATE = DateType()


def _quote(value: object, limit: int = 70) -> str:
    """``repr`` of a user value, cut short, so that an error stays on one readable line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "...'"
