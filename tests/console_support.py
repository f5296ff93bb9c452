"""The console's test story: the demo on a local anvil, plus a USD loan of the bank (two currencies),
folded into an index, served by the console app (no background thread: tests call ``refresh``)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak
from fastapi import FastAPI
from support import usd_pledge_loan

from vscm import demo
from vscm.chain.backends import connect
from vscm.client.platform import Platform
from vscm.console import ConsoleConfig, create_app
from vscm.console.siwe import mint_token


@dataclass
class Story:
    platform: Platform
    cast: demo.Cast
    app: FastAPI
    usd_loan: int
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
def console_story(index_path: Path) -> Iterator[Story]:
    with connect("anvil") as chain:
        with contextlib.redirect_stdout(io.StringIO()):
            platform = demo.run(chain=chain, audit=False)
        usd_loan = usd_pledge_loan(platform, 25_000_00)
        config = ConsoleConfig(index=str(index_path), deployment=platform.deployment, chain=lambda: chain,
                               interval=3600)
        app = create_app(config, background=False)
        story = Story(platform, demo.Cast.from_seed(), app, usd_loan, Account.from_key(keccak(text="console:outsider")))
        story.refresh()
        yield story


def amount_units(value: dict[str, Any]) -> int:
    return int(value["units"])
