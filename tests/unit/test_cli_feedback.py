"""What the CLI tells a person besides the result: a spinner while a transaction is mined (on a terminal
only), where the audit report went, and every contract of a deployment."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from vscm.cli.audit import _show
from vscm.cli.common import spinner
from vscm.cli.node import deployed_contracts
from vscm.client.deployment import Deployment


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_spinner_when_stderr_is_not_a_terminal() -> None:
    assert spinner(io.StringIO()) is None


def test_a_spinner_names_the_transaction_on_a_terminal() -> None:
    waiting = spinner(Terminal())
    assert waiting is not None
    status = waiting(bytes.fromhex("ab" * 32))
    assert "0xabababababab" in str(status.status)


def test_the_sender_holds_the_wait_context_while_the_receipt_is_awaited(chain: Any, parties: Any) -> None:
    seen: list[str] = []

    @contextmanager
    def record(tx_hash: bytes) -> Iterator[None]:
        seen.append("0x" + tx_hash.hex())
        yield
        seen.append("mined")

    mark = chain.snapshot()
    try:
        chain.fund(parties.outsider.address, 10**18)
        chain.sender.on_wait = record
        receipt = chain.sender.send_value(parties.outsider, parties.operator.address, 1)
    finally:
        chain.sender.on_wait = None
        chain.revert(mark)
    assert seen == ["0x" + bytes(receipt["transactionHash"]).hex(), "mined"]


def outcome() -> Any:
    report = {"network": "node", "from_block": 1, "to_block": 9, "blocks": 9, "events": 40, "verdict": "clean",
              "findings": []}
    return SimpleNamespace(report=report, findings=[])


def test_audit_replay_says_where_it_wrote_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    _show(outcome(), tmp_path / "audit.html", as_json=False)
    assert f"report written to {tmp_path / 'audit.html'} and {tmp_path / 'audit.json'}" in capsys.readouterr().out
    _show(outcome(), None, as_json=False)
    assert "no report written: add --report" in capsys.readouterr().out


def test_the_deploy_table_lists_every_contract_of_the_manifest() -> None:
    address = iter(f"0x{n:040x}" for n in range(1, 100))
    values = {f.name: next(address) for f in fields(Deployment) if f.type in ("str", str)}
    values.update(network="node", chain_id=31337, block=1, cash={"CNY": next(address), "USD": next(address)},
                  artifacts={})
    d = Deployment(**values)
    rows = dict(deployed_contracts(d))
    contracts = {v for k, v in values.items() if isinstance(v, str) and v.startswith("0x") and k != "operator"}
    assert set(rows.values()) == contracts | set(d.cash.values())
    assert {"MemberRegistry", "LoanBook", "RiskControl", "TelemetryOracle", "ConsentRegistry", "PlatformCash CNY",
            "Council Safe"} <= set(rows)
