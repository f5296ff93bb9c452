"""Command output: JSON for scripts (``--json``), rich tables and panels for people.

A command builds one plain value (dataclasses, dicts, lists, ints, bytes ...) and hands it to
:func:`emit` together with a function that turns it into a rich renderable::

    @wallet.command("list")
    @json_option
    def list_cmd(as_json: bool) -> None:
        emit(store.list(), as_json, wallets_table)
"""

from __future__ import annotations

import dataclasses
import enum
import json
import sys
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import PurePath
from typing import Any, TypeVar

import click
from rich.console import Console, RenderableType
from rich.table import Table

__all__ = [
    "Money",
    "console",
    "dumps_json",
    "emit",
    "format_amount",
    "json_default",
    "json_option",
    "key_value_table",
    "money",
    "table_style",
    "to_jsonable",
    "wide_option",
]

F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass(frozen=True)
class Money:
    """An amount with its currency, as every command shows money: ``CNY 120000.00`` in tables and
    ``{"amount": "120000.00", "currency": "CNY", "minor": 12000000}`` in JSON (see :func:`to_jsonable`).

    Attributes:
        minor: integer minor units (cents), as the contracts hold them.
        currency: the ISO 4217 code.
        decimals: digits after the point (2 for every currency the platform issues).
    """

    minor: int
    currency: str
    decimals: int = 2

    @property
    def amount(self) -> str:
        """The decimal amount as a string (``"120000.00"``)."""
        return format_amount(self.minor, self.decimals)

    def to_json(self) -> dict[str, Any]:
        return {"amount": self.amount, "currency": self.currency, "minor": self.minor}

    def __str__(self) -> str:
        return f"{self.currency} {self.amount}"


def money(minor: int, currency: str) -> Money:
    """``minor`` units of ``currency`` (a code, any case) as :class:`Money`: the one way commands output money."""
    return Money(int(minor), currency.upper())


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (dicts, lists, str, int, float, bool, None).

    bytes -> ``"0x..."`` hex, Decimal -> string (no float rounding), enum (also ``IntEnum``) -> member
    name, dataclass -> dict of its fields, path -> string, date/datetime -> ISO 8601, set -> sorted
    list, tuple -> list, any mapping (web3's AttributeDict) -> dict; applied all the way down.

    Raises:
        TypeError: for any other type, so that a forgotten case is a visible bug.
    """
    if isinstance(value, enum.Enum):  # before int and str: IntEnum and StrEnum are both
        return value.name
    if isinstance(value, Money):  # before the dataclass case: amount, currency and minor units
        return value.to_json()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {_json_key(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted((to_jsonable(v) for v in value), key=repr)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: to_jsonable(getattr(value, field.name)) for field in dataclasses.fields(value)}
    return json_default(value)


def json_default(value: Any) -> Any:
    """``json.dumps(default=...)`` hook for single values that JSON has no type for (see :func:`to_jsonable`).

    Raises:
        TypeError: the type is not one vscm commands return.
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "0x" + bytes(value).hex()
    if isinstance(value, Money):
        return value.to_json()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if (dataclasses.is_dataclass(value) and not isinstance(value, type)) or isinstance(
        value, (Mapping, set, frozenset)
    ):
        return to_jsonable(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def dumps_json(data: Any) -> str:
    """``data`` as indented JSON with sorted keys (see :func:`to_jsonable` for the types it knows)."""
    return json.dumps(to_jsonable(data), indent=2, sort_keys=True, default=json_default)


#: ``ctx.meta`` key set by ``--wide``: tables are printed one line per row, never wrapped (see :func:`wide_option`).
WIDE = "vscm.wide"


def console(stderr: bool = False) -> Console:
    """A rich console on the current stdout (or stderr); made per call so test runners can capture it.

    Under ``--wide`` it has no width limit, so that no row of a table wraps (for ``grep``, ``sort``, ``cut``).
    """
    ctx = click.get_current_context(silent=True)
    wide = bool(ctx is not None and ctx.meta.get(WIDE))
    return Console(file=sys.stderr if stderr else sys.stdout, highlight=False, width=100_000 if wide else None,
                   soft_wrap=wide)


def wide_option(command: F) -> F:
    """Decorator adding ``--wide`` (full addresses, one line per row); the flag arrives as ``wide``."""

    def remember(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:
            ctx.meta[WIDE] = True
        return value

    return click.option(
        "--wide", "wide", is_flag=True, default=False, callback=remember,
        help="Full addresses and one line per table row, never wrapped (for grep, sort, cut).",
    )(command)


def table_style(wide: bool) -> dict[str, Any]:
    """Keyword arguments of a rich ``Table``: no box and no padding under ``--wide`` (columns split by spaces)."""
    return {"box": None, "pad_edge": False, "show_edge": False} if wide else {}


def emit(data: Any, as_json: bool, table_builder: Callable[[Any], RenderableType] | None = None) -> None:
    """Print a command's result: JSON on stdout with ``--json``, else what ``table_builder`` makes of it.

    Args:
        data: the result, JSON-serialisable with :func:`json_default`.
        as_json: the value of the command's ``--json`` flag.
        table_builder: turns ``data`` into a rich table, panel or text; ``None`` pretty-prints it.
    """
    if as_json:
        click.echo(dumps_json(data))
        return
    if table_builder is not None:
        renderable = table_builder(data)
    else:
        from rich.pretty import Pretty

        renderable = Pretty(data)
    console().print(renderable)


def json_option(command: F) -> F:
    """Decorator adding ``--json`` to a command; the flag arrives as the ``as_json`` argument."""
    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        default=False,
        help="Print the result as JSON (for scripts) instead of a table.",
    )(command)


def key_value_table(rows: Iterable[tuple[str, Any]] | Mapping[str, Any], title: str | None = None) -> Table:
    """A two-column table (field, value) for showing one record to a person."""
    table = Table(title=title, show_header=False, box=None, padding=(0, 2, 0, 0))
    table.add_column("field", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    items = rows.items() if isinstance(rows, Mapping) else rows
    for key, value in items:
        table.add_row(key, _cell(value))
    return table


def format_amount(units: int, decimals: int = 2) -> str:
    """Integer minor units as a decimal string: ``125050`` -> ``"1250.50"``."""
    sign = "-" if units < 0 else ""
    whole, fraction = divmod(abs(units), 10**decimals)
    return f"{sign}{whole}.{fraction:0{decimals}d}" if decimals else f"{sign}{whole}"


def _cell(value: Any) -> str:
    if isinstance(value, datetime):  # a time for people: UTC, to the second (ISO 8601 stays for JSON)
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "0x" + bytes(value).hex()
    if isinstance(value, enum.Enum):
        return value.name
    return str(value)


def _json_key(key: Any) -> str | int | float | bool | None:
    """JSON object keys are strings; enums go by name and bytes by hex, like values."""
    if isinstance(key, enum.Enum):
        return key.name
    if key is None or isinstance(key, (str, int, float, bool)):
        return key
    converted = json_default(key)
    return converted if isinstance(converted, str) else str(converted)
