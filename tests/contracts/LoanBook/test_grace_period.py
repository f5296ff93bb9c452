"""LoanBook's grace period after maturity is a deployment parameter (``deploy_platform(grace_period=...)``):
7 days on the platform's defaults, seconds for the demo on a network whose clock cannot be moved."""

from __future__ import annotations

from financing_support import GRACE
from harness import reverts

from vscm.chain.deploy import DEFAULT_GRACE_PERIOD

YEAR = 365 * 24 * 3600


def _deploy_loan_book(fin, grace: int) -> str:
    d = fin.platform.deployment
    return fin.chain.sender.deploy(fin.p.operator, "LoanBook", d.registry, d.orders, d.assets, d.funds,
                                   fin.p.operator.address, grace)


def test_default_platform_grace_period_is_seven_days(fin):
    assert fin.platform.loans.contract.functions.GRACE_PERIOD().call() == DEFAULT_GRACE_PERIOD == GRACE


def test_deployer_sets_the_grace_period(fin):
    book = fin.chain.contract("LoanBook", _deploy_loan_book(fin, 7))
    assert book.functions.GRACE_PERIOD().call() == 7


def test_grace_period_longer_than_a_year_is_refused(fin):
    with reverts("LoanBadGracePeriod", gracePeriod=YEAR + 1, maxGracePeriod=YEAR):
        _deploy_loan_book(fin, YEAR + 1)
