"""The lenders' index, on SQLite and on PostgreSQL: incremental updates from the cursor give the state
of one full replay, a reorganisation is detected by block hash and rolled back, lender queries read it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from demo_chain import demo_on_anvil
from eth_utils import keccak
from harness import World
from support import usd_pledge_loan

from vscm import demo
from vscm.audit.replay import replay
from vscm.audit.source import source_for
from vscm.client.platform import Platform
from vscm.errors import InputError
from vscm.index import Index, exposure, loan_detail, open_index, portfolio


@pytest.fixture(scope="module")
def anvil_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with demo_on_anvil(tmp_path_factory) as platform:
        yield platform


@pytest.fixture(params=["sqlite", "postgresql"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Index]:
    """The index on SQLite, or on the test process's private PostgreSQL (started on first use)."""
    if request.param == "sqlite":
        with open_index(tmp_path / "index.sqlite") as ix:
            yield ix
        return
    schema = f"vscm_test_{uuid.uuid4().hex[:10]}"  # a fresh schema per test: parallel runs never collide
    ix = open_index(request.getfixturevalue("postgres").url, schema=schema)
    try:
        yield ix
    finally:
        ix.db.rollback()
        ix.db.execute(f'DROP SCHEMA "{schema}" CASCADE')
        ix.db.commit()
        ix.close()


def full_replay(platform: Platform) -> Any:
    return replay(source_for(platform.chain), platform.deployment, receipts=False).state


def test_incremental_updates_from_the_cursor_equal_one_full_replay(anvil_demo: Platform, index: Index) -> None:
    source, d = source_for(anvil_demo.chain), anvil_demo.deployment
    head = anvil_demo.chain.block_number()
    steps = [d.block + 7, (d.block + head) // 2, head - 3, head]
    for stop in steps:
        index.update(source, d, stop, window=16)
        assert index.cursor() is not None and index.cursor().block == stop
    again = index.update(source, d)  # up to date: nothing to fold
    assert again.events == 0
    assert index.load_state().fingerprint() == full_replay(anvil_demo).fingerprint()
    assert len(index.loans_of()) == anvil_demo.loans.count() >= 5
    assert index.findings() == []


def test_a_reorganisation_is_rolled_back_to_the_fork_point(anvil_demo: Platform, index: Index) -> None:
    chain, d = anvil_demo.chain, anvil_demo.deployment
    source = source_for(chain)
    index.update(source, d)
    fork = chain.block_number()
    cast = demo.Cast.from_seed()
    bank = anvil_demo.cash("CNY").as_(cast.bank)
    mark = chain.snapshot()
    try:
        bank.mint(cast.supplier_a.address, 111_00, keccak(text="reorg:a"))
        bank.mint(cast.supplier_a.address, 222_00, keccak(text="reorg:b"))
        index.update(source, d)
        assert index.cursor().block == fork + 2
        chain.revert(mark)  # the two mints vanish; another history grows from the fork point
        mark = chain.snapshot()
        bank.mint(cast.supplier_b.address, 333_00, keccak(text="reorg:c"))
        chain.mine(2)
        report = index.update(source, d)
        assert report.reorg_at == fork
        assert index.load_state().fingerprint() == full_replay(anvil_demo).fingerprint()
        balances = index.records("balances")
        assert balances[f"{d.cash['CNY']}:{cast.supplier_b.address}"]["amount"] >= 333_00
        assert index.cursor().hash == source.headers(fork + 3, fork + 3)[0].hash
    finally:
        chain.revert(mark)


def test_lender_queries_read_the_index(anvil_demo: Platform, index: Index) -> None:
    index.update(source_for(anvil_demo.chain), anvil_demo.deployment)
    bank = demo.Cast.from_seed().bank.address
    mine = anvil_demo.loans.loans(lender=bank)
    view = portfolio(index, bank)
    assert sum(r["loans"] for r in view["modes"].values()) == len(mine)
    assert set(view["modes"]) == {ln.mode.name.lower() for ln in mine}
    for ln in mine:
        detail = loan_detail(index, ln.loan_id)
        assert detail is not None
        assert (detail["principal"], detail["principalRepaid"], detail["interestPaid"]) == (
            ln.principal, ln.principal_repaid, ln.interest_paid)
        assert [(h["to"], h["amount"]) for h in detail["hops"]] == [
            (h["to"], h["amount"]) for h in anvil_demo.funds.hops(ln.loan_id)]
    assert exposure(index, bank)["loans"] == sum(1 for ln in mine if ln.status.running)
    assert loan_detail(index, 999) is None


def test_lender_totals_are_per_currency_and_named_by_code(anvil_demo: Platform, index: Index) -> None:
    chain, d = anvil_demo.chain, anvil_demo.deployment
    bank = demo.Cast.from_seed().bank.address
    mark = chain.snapshot()
    try:
        usd_loan = usd_pledge_loan(anvil_demo, 25_000_00)
        index.update(source_for(chain), d)
        mine = anvil_demo.loans.loans(lender=bank)
        open_cny = [ln for ln in mine if ln.status.running and ln.currency == d.cash["CNY"]]
        assert open_cny, "the demo leaves the bank an open CNY loan"

        view = portfolio(index, bank)
        assert set(view["totals"]) == {"CNY", "USD"}
        assert view["totals"]["USD"]["outstanding_principal"] == 25_000_00
        assert view["totals"]["CNY"]["outstanding_principal"] == sum(
            ln.principal - ln.principal_repaid - ln.written_off for ln in open_cny)
        assert view["modes"]["pledge"]["currencies"]["USD"]["outstanding_principal"] == 25_000_00
        assert all(set(r["currencies"]) <= {"CNY", "USD"} for r in view["modes"].values())

        seen = exposure(index, bank)
        assert set(seen["currency"]) == {"CNY", "USD"}
        assert seen["currency"]["USD"] == {"loans": 1, "outstanding": 25_000_00, "unspent": 25_000_00}
        assert seen["currency"]["CNY"]["loans"] == len(open_cny)
        assert seen["loans"] == len(open_cny) + 1
        baoji = demo.Cast.from_seed().supplier_a.address
        assert seen["borrower"][baoji]["USD"]["outstanding"] == 25_000_00
        assert all(set(per) <= {"CNY", "USD"} for per in [*seen["borrower"].values(), *seen["supply_chain"].values()])
        assert loan_detail(index, usd_loan)["currencyCode"] == "USD"
    finally:
        chain.revert(mark)


def test_an_index_refuses_another_deployment(anvil_demo: Platform, index: Index) -> None:
    from dataclasses import replace

    from vscm.errors import InputError

    index.update(source_for(anvil_demo.chain), anvil_demo.deployment, anvil_demo.deployment.block + 3)
    other = replace(anvil_demo.deployment, registry="0x" + "77" * 20)
    with pytest.raises(InputError, match="holds deployment"):
        index.update(source_for(anvil_demo.chain), other)
    assert index.cursor() is not None and index.cursor().block == anvil_demo.deployment.block + 3


def test_a_bad_index_target_is_a_clear_error(tmp_path: Path) -> None:
    from vscm.errors import InputError

    with pytest.raises(InputError, match="unknown index 'mysql://x'"):
        open_index("mysql://x")
    with pytest.raises(InputError, match="cannot open the index at postgresql://nobody@127.0.0.1:1/none"):
        open_index("postgresql://nobody@127.0.0.1:1/none")


UPDATER = """
import json, sys
from vscm.audit.source import source_for
from vscm.chain.backends import connect
from vscm.client.deployment import Deployment
from vscm.index import open_index

url, manifest, target, schema = sys.argv[1:5]
deployment = Deployment.load(__import__("pathlib").Path(manifest))
with connect(url) as chain, open_index(target, schema=schema or None) as index:
    report = index.update(source_for(chain), deployment, window=3)
    print(json.dumps({"from": report.from_block, "to": report.to_block, "events": report.events}))
"""


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_concurrent_updaters_fold_every_window_once(anvil_demo: Platform, kind: str, tmp_path: Path,
                                                    request: pytest.FixtureRequest) -> None:
    """Updaters started together on a new index (schema created by whichever comes first) leave the
    state of one fresh rebuild: no window folded twice, no failed first use."""
    import subprocess
    import sys

    manifest = anvil_demo.deployment.save(tmp_path / "deployment.json")
    url = anvil_demo.chain.node.url  # type: ignore[attr-defined]
    if kind == "sqlite":
        target, schema = str(tmp_path / "index.sqlite"), ""
    else:
        target, schema = request.getfixturevalue("postgres").url, f"vscm_race_{uuid.uuid4().hex[:10]}"
    updaters = [subprocess.Popen([sys.executable, "-c", UPDATER, url, str(manifest), target, schema],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(6)]
    results = [(p, *p.communicate(timeout=600)) for p in updaters]
    for process, _, err in results:
        assert process.returncode == 0, err
    head = anvil_demo.chain.block_number()
    with open_index(target, schema=schema or None) as index:
        try:
            assert index.cursor() is not None and index.cursor().block == head
            assert index.load_state().fingerprint() == full_replay(anvil_demo).fingerprint()
            assert len(index.loans_of()) == anvil_demo.loans.count()
            assert index.findings() == []
        finally:
            if schema:
                index.db.rollback()
                index.db.execute(f'DROP SCHEMA "{schema}" CASCADE')
                index.db.commit()


def test_a_full_disk_is_one_named_error_and_keeps_the_windows_written(fresh: World, tmp_path: Path) -> None:
    """SQLite's max_page_count stands in for a full disk: the write fails with SQLITE_FULL."""
    source, d = source_for(fresh.chain), fresh.platform.deployment
    with open_index(tmp_path / "full.sqlite") as ix:
        pages = ix.db.query("PRAGMA page_count")[0][0]
        ix.db.query(f"PRAGMA max_page_count = {pages + 2}")
        with pytest.raises(InputError, match="cannot write the index at .*full.sqlite: database or disk is full"):
            ix.update(source, d, window=4)
        kept = ix.cursor()
        ix.db.query("PRAGMA max_page_count = 1000000")
        report = ix.update(source, d)
        assert report.from_block == (kept.block + 1 if kept else d.block) and ix.cursor().block == source.head()
