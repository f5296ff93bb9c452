"""The console's test story: the demo on a local anvil, plus a USD loan of the bank (two currencies),
folded into an index, served by the console app (no background thread: tests call ``refresh``)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from demo_chain import demo_on_anvil
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from fastapi import FastAPI
from support import usd_pledge_loan

from vscm import demo
from vscm.client.platform import Platform
from vscm.client.records import LoanStatus, Severity
from vscm.console import ConsoleConfig, create_app
from vscm.console.siwe import mint_token
from vscm.risk.demo import ControlCast


@dataclass
class Story:
    platform: Platform
    cast: demo.Cast
    app: FastAPI
    usd_loan: int
    warned_loan: int
    outsider: LocalAccount

    def token(self, account: LocalAccount, hours: float = 1.0) -> str:
        d = self.platform.deployment
        return mint_token(account, chain_id=d.chain_id, registry=d.registry, now=datetime.now(UTC),
                          lifetime=timedelta(hours=hours))

    def auth(self, account: LocalAccount) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(account)}"}

    def refresh(self) -> None:
        self.app.state.console.refresh()


@contextlib.contextmanager
def console_story(tmp_path_factory: pytest.TempPathFactory, index_path: Path) -> Iterator[Story]:
    with demo_on_anvil(tmp_path_factory) as platform:
        chain = platform.chain
        usd_loan = usd_pledge_loan(platform, 25_000_00)
        warned_loan = warn_a_loan(platform)
        config = ConsoleConfig(index=str(index_path), deployment=platform.deployment, chain=lambda: chain,
                               interval=3600)
        app = create_app(config, background=False)
        story = Story(platform, demo.Cast.from_seed(), app, usd_loan, warned_loan, Account.from_key(keccak(text="console:outsider")))
        story.refresh()
        yield story


def warn_a_loan(platform: Platform, currency: str = "CNY") -> int:
    """The risk monitor raises a high alert on the bank's first running loan in ``currency``: it is warned
    and waits for the bank's decision."""
    cast = demo.Cast.from_seed()
    loan = next(ln for ln in platform.loans.loans(lender=cast.bank.address)
                if ln.status == LoanStatus.DISBURSED and ln.currency == platform.deployment.cash[currency])
    platform.risk.as_(ControlCast.from_seed().monitor).raise_loan_alert(loan.loan_id, 101, Severity.HIGH,
                                                                        keccak(text="console:warning"))
    assert platform.loans.loan(loan.loan_id).status == LoanStatus.WARNED
    return loan.loan_id


def amount_units(value: dict[str, Any]) -> int:
    return int(value["units"])
