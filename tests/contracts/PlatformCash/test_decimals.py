"""PlatformCash.decimals: amounts are minor units (fen, cents)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("code", ["CNY", "USD"])
def test_cash_has_two_decimals(platform, code):
    assert platform.cash(code).contract.functions.decimals().call() == 2
