"""Command output helpers: JSON encoding, --json flag, tables (no chain)."""

from __future__ import annotations

import enum
import io
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from rich.console import Console
from rich.text import Text

from vscm.cli.output import dumps_json, emit, format_amount, json_option, key_value_table, money


class Status(enum.IntEnum):
    Created = 0
    Disbursed = 1


@dataclass(frozen=True)
class Loan:
    id: int
    status: Status
    doc: bytes
    rate: Decimal


def test_dumps_json_handles_vscm_values() -> None:
    data = {
        "loan": Loan(7, Status.Disbursed, b"\x00\xff", Decimal("0.0125")),
        "path": Path("/tmp/x.json"),
        "day": date(2026, 12, 31),
        "tags": {"b", "a"},
    }

    assert json.loads(dumps_json(data)) == {
        "loan": {"id": 7, "status": "Disbursed", "doc": "0x00ff", "rate": "0.0125"},
        "path": "/tmp/x.json",
        "day": "2026-12-31",
        "tags": ["a", "b"],
    }


def test_dumps_json_sorts_keys_and_indents() -> None:
    assert dumps_json({"b": 1, "a": 2}) == '{\n  "a": 2,\n  "b": 1\n}'


def test_dumps_json_refuses_unknown_types() -> None:
    with pytest.raises(TypeError, match=r"cannot write object as JSON"):
        dumps_json(object())


@pytest.mark.parametrize(("units", "text"), [(125050, "1250.50"), (5, "0.05"), (0, "0.00"), (-150, "-1.50")])
def test_format_amount(units: int, text: str) -> None:
    assert format_amount(units) == text


@click.command()
@json_option
def _show(as_json: bool) -> None:
    emit({"label": "bank", "doc": b"\x01"}, as_json, lambda d: key_value_table(d, title="Record"))


def test_json_option_prints_parseable_json() -> None:
    result = CliRunner().invoke(_show, ["--json"])

    assert result.exit_code == 0
    assert json.loads(result.stdout) == {"label": "bank", "doc": "0x01"}


def test_without_json_option_prints_the_table() -> None:
    result = CliRunner().invoke(_show, [])

    assert result.exit_code == 0
    assert "Record" in result.stdout
    assert "0x01" in result.stdout
    with pytest.raises(json.JSONDecodeError):
        json.loads(result.stdout)


def test_emit_accepts_any_renderable() -> None:
    @click.command()
    def hello() -> None:
        emit("ignored", False, lambda _: Text("plain text"))

    assert CliRunner().invoke(hello).stdout == "plain text\n"


def test_dumps_json_writes_enum_keys_and_nested_values_by_name() -> None:
    data = {Status.Created: [Loan(1, Status.Created, b"", Decimal(1))]}

    assert json.loads(dumps_json(data)) == {
        "Created": [{"id": 1, "status": "Created", "doc": "0x", "rate": "1"}]
    }


def test_money_is_amount_currency_and_minor_units_in_json_and_code_amount_in_tables() -> None:
    paid = money(12000000, "cny")

    assert json.loads(dumps_json({"paid": paid, "rows": [money(-5, "USD")]})) == {
        "paid": {"amount": "120000.00", "currency": "CNY", "minor": 12000000},
        "rows": [{"amount": "-0.05", "currency": "USD", "minor": -5}]}
    assert str(paid) == "CNY 120000.00"
    console = Console(record=True, width=80, file=io.StringIO())
    console.print(key_value_table({"paid": paid}))
    assert "CNY 120000.00" in console.export_text()
