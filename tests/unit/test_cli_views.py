"""The CLI's record conventions without a chain: money with its currency, UTC times, named parties, and
refused calls whose amounts carry their currency."""

from __future__ import annotations

from datetime import datetime, timezone

from vscm.cli.common import readable_revert
from vscm.cli.output import Money, dumps_json
from vscm.cli.views import Parties, short_address, stamp, utc
from vscm.errors import ContractRevert

BANK = "0xeAEE5C9B1e4b7e0d8E1Ea1A8b8C7C6d5E4f3A2b1"


def test_a_refused_call_shows_its_amounts_with_the_currency() -> None:
    exc = ContractRevert("CashMintCapExceeded", {"financier": BANK, "outstanding": 5_000_000, "amount": 95_000_001,
                                                  "cap": 100_000_000}, contract="PlatformCash", function="mint")
    shown = str(readable_revert(exc, lambda values: "CNY"))
    assert "outstanding=CNY 50000.00, amount=CNY 950000.01, cap=CNY 1000000.00" in shown
    assert f"financier={BANK}" in shown


def test_quantities_of_goods_are_not_money() -> None:
    exc = ContractRevert("AssetQuantityTooLarge", {"assetId": 3, "requested": 120, "available": 100})
    assert "available=100)" in str(readable_revert(exc, lambda values: "CNY"))


def test_without_a_currency_the_amount_stays_a_number() -> None:
    exc = ContractRevert("LoanLtvExceeded", {"principal": 100_000, "limit": 70_000})
    assert "principal=100000, limit=70000" in str(readable_revert(exc, lambda values: None))


def test_times_are_utc_iso_8601_and_zero_is_none() -> None:
    moment = utc(1_924_992_000)
    assert moment == datetime(2031, 1, 1, tzinfo=timezone.utc) and utc(0) is None
    assert dumps_json({"due": moment, "never": utc(0)}) == '{\n  "due": "2031-01-01T00:00:00+00:00",\n  "never": null\n}'
    assert stamp(moment) == "2031-01-01" and stamp(utc(1_924_992_009)) == "2031-01-01 00:00:09 UTC"
    assert stamp(None) == "-"


def test_parties_are_named_with_a_short_address_and_whole_when_wide() -> None:
    names = {BANK: "Silk Road Bank"}
    party = Parties(names.get)
    party._labels = {}  # no keystore
    assert party(BANK) == "Silk Road Bank 0xeAEE…" and short_address(BANK) == "0xeAEE…"
    assert party(None) == "-"
    other = "0x" + "12" * 20
    assert party(other) == "0x1212…"
    wide = Parties(names.get, wide=True)
    wide._labels = {}
    assert wide(BANK) == f"Silk Road Bank {BANK}"


def test_money_is_one_shape() -> None:
    assert dumps_json(Money(12_000_000, "CNY")) == '{\n  "amount": "120000.00",\n  "currency": "CNY",\n  "minor": 12000000\n}'


def test_a_time_in_a_key_value_table_is_utc_to_the_second() -> None:
    import io

    from rich.console import Console

    from vscm.cli.output import key_value_table

    out = io.StringIO()
    Console(file=out, width=120).print(key_value_table([("deadline", utc(1_924_992_009))]))
    assert "2031-01-01 00:00:09 UTC" in out.getvalue() and "+00:00" not in out.getvalue()
