"""Fixtures of the contract tests.

`fin` builds financing situations (assets, orders, loans in every mode) on the `fresh` world; see
tests/financing_support.py. `reverts` is re-exported so that `from conftest import reverts` keeps
working for test modules under this directory, whichever conftest pytest loaded last.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from financing_support import Fin, fast_gas_estimates, reverts

__all__ = ["reverts"]


@pytest.fixture
def fin(fresh: Any) -> Iterator[Fin]:
    """A financing builder on the populated world, rolled back after the test (one-run gas estimates)."""
    with fast_gas_estimates(fresh.chain):
        yield Fin(fresh)
