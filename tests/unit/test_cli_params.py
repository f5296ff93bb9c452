"""Command-line value types: addresses, amounts, hashes, dates (no chain)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from eth_utils import keccak

from vscm.cli.params import (
    ADDRESS,
    AMOUNT,
    DATE,
    HASH32,
    parse_address,
    parse_amount,
    parse_date,
    parse_hash32,
)
from vscm.errors import InputError

CHECKSUMMED = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"


# -- ADDRESS -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [CHECKSUMMED, CHECKSUMMED.lower(), "0x" + CHECKSUMMED[2:].upper(), f" {CHECKSUMMED}\n"])
def test_address_is_returned_checksummed(text: str) -> None:
    assert parse_address(text) == CHECKSUMMED


def test_address_of_wrong_shape_is_refused_with_the_documented_message() -> None:
    with pytest.raises(InputError, match=r"^bad address '0x12': expected 0x followed by 40 hex digits$"):
        parse_address("0x12")


@pytest.mark.parametrize("text", ["", "2c7536E3605D9C16a7a3D7b1898e529396a65c23", CHECKSUMMED + "0", "0x" + "g" * 40])
def test_address_malformed_is_refused(text: str) -> None:
    with pytest.raises(InputError, match=r"expected 0x followed by 40 hex digits"):
        parse_address(text)


def test_address_with_bad_checksum_is_refused() -> None:
    typo = CHECKSUMMED[:-1] + "C"  # last letter's case flipped
    with pytest.raises(InputError, match=r"checksum mismatch"):
        parse_address(typo)


# -- AMOUNT ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "units"),
    [("1250.50", 125050), ("1250.5", 125050), ("7", 700), ("0", 0), ("0.01", 1), ("3.100", 310), (" 12 ", 1200)],
)
def test_amount_becomes_integer_minor_units(text: str, units: int) -> None:
    assert parse_amount(text) == units


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc", r"^bad amount 'abc': expected a number like 1250.50$"),
        ("-5", r"must not be negative"),
        ("-0.01", r"must not be negative"),
        ("1.234", r"at most 2 decimals"),
        ("1e3", r"expected a number"),
        ("1,000", r"expected a number"),
        ("", r"expected a number"),
        (".5", r"expected a number"),
        ("NaN", r"expected a number"),
        ("١٢", r"expected a number"),  # non-ASCII digits
        ("9" * 80, r"too large"),
    ],
)
def test_amount_malformed_is_refused(text: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason):
        parse_amount(text)


# -- HASH32 ------------------------------------------------------------------------------------


def test_hash32_hex_is_returned_as_bytes() -> None:
    assert parse_hash32("0x" + "ab" * 32) == bytes.fromhex("ab" * 32)


def test_hash32_file_form_hashes_the_file_with_keccak(tmp_path: Path) -> None:
    document = tmp_path / "invoice.pdf"
    document.write_bytes(b"%PDF-1.7 invoice 42")

    assert parse_hash32(f"file:{document}") == keccak(b"%PDF-1.7 invoice 42")


@pytest.mark.parametrize("text", ["0x1234", "ab" * 32, "0x" + "zz" * 32, "some text"])
def test_hash32_malformed_is_refused(text: str) -> None:
    with pytest.raises(InputError, match=r"expected 0x followed by 64 hex digits, or file:PATH"):
        parse_hash32(text)


def test_hash32_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cannot read .*No such file"):
        parse_hash32(f"file:{tmp_path / 'missing'}")


# -- DATE --------------------------------------------------------------------------------------

END_OF_2026 = int(datetime(2026, 12, 31, tzinfo=timezone.utc).timestamp())


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2026-12-31", END_OF_2026),
        ("2026-12-31T00:00:00", END_OF_2026),
        ("2026-12-31T00:00:00Z", END_OF_2026),
        ("2026-12-31T02:00:00+02:00", END_OF_2026),
        ("2026-12-31 17:30", END_OF_2026 + 17 * 3600 + 1800),
        (str(END_OF_2026), END_OF_2026),
    ],
)
def test_date_becomes_unix_seconds_utc(text: str, seconds: int) -> None:
    assert parse_date(text) == seconds


@pytest.mark.parametrize("text", ["tomorrow", "2026-13-01", "2026-02-30", "31/12/2026", "", "-5", "1969-12-31"])
def test_date_malformed_is_refused(text: str) -> None:
    with pytest.raises(InputError, match=r"^bad date"):
        parse_date(text)


# -- as click parameters -----------------------------------------------------------------------


@click.command()
@click.option("--to", type=ADDRESS)
@click.option("--amount", type=AMOUNT)
@click.option("--doc", type=HASH32)
@click.option("--due", type=DATE)
def _probe(to: str | None, amount: int | None, doc: bytes | None, due: int | None) -> None:
    click.echo(repr((to, amount, doc.hex() if doc else None, due)))


def test_param_types_convert_command_line_values() -> None:
    result = CliRunner().invoke(
        _probe, ["--to", CHECKSUMMED.lower(), "--amount", "1250.50", "--doc", "0x" + "00" * 32, "--due", "2026-12-31"]
    )

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == repr((CHECKSUMMED, 125050, "00" * 32, END_OF_2026))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "0x12"], "bad address '0x12': expected 0x followed by 40 hex digits"),
        (["--amount", "abc"], "bad amount 'abc': expected a number like 1250.50"),
        (["--doc", "0x12"], "bad hash '0x12'"),
        (["--due", "soon"], "bad date 'soon'"),
    ],
)
def test_param_types_report_bad_values_as_usage_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(_probe, args)

    assert result.exit_code == 2  # a usage error, as in vscm's own group
    assert message in result.stderr


def test_param_types_accept_already_converted_values() -> None:
    assert AMOUNT.convert(125050, None, None) == 125050
    assert DATE.convert(date(2026, 12, 31), None, None) == END_OF_2026
    assert DATE.convert(END_OF_2026, None, None) == END_OF_2026
    assert HASH32.convert(b"\x01" * 32, None, None) == b"\x01" * 32
    assert ADDRESS.convert(CHECKSUMMED, None, None) == CHECKSUMMED
