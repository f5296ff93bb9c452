"""PlatformCash.currencyCode: one deployment per ISO 4217 currency, named after it."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("code", ["CNY", "USD"])
def test_cash_reports_its_currency_code(platform, code):
    assert platform.cash(code).code == code


@pytest.mark.parametrize("code", ["CNY", "USD"])
def test_cash_token_name_and_symbol_follow_the_currency(platform, code):
    functions = platform.cash(code).contract.functions
    assert (functions.name().call(), functions.symbol().call()) == (f"VSCM {code}", f"v{code}")
