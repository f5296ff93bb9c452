"""`python -m vscm.bench --quick`: the CI smoke test of the benchmarks. It checks that every section
is there with numbers and that no transaction of the load failed; it asserts nothing about speed."""

from __future__ import annotations

import re

import pytest

from vscm import bench

pytestmark = pytest.mark.anvil

NUMBER = re.compile(r"\d[\d,]*(\.\d+)?")
#: Issue 16's goals (applyForLoan and register* <= 200,000, place <= 125,000, disburse <= 160,000,
#: spend <= 150,000, the receivable path <= 1,000,000): the exact gas of each row after the diet.
GAS_GOAL_ROWS = {
    "OrderBook.place": 122_501,
    "receivable: AssetRegistry.registerReceivable": 191_690,
    "payable: AssetRegistry.registerPayable": 193_789,
    "prepayment: AssetRegistry.registerFutureGoods": 188_660,
    "receivable: LoanBook.applyForLoan": 199_052,
    "payable: LoanBook.applyForLoan": 199_121,
    "receivable: LoanBook.disburse": 159_201,
    "pledge: LoanBook.disburse": 159_333,
    "receivable: FundTracker.spend": 143_372,
    bench.RECEIVABLE_PATH: 997_194,
}


def tables(markdown: str) -> list[list[list[str]]]:
    """Each Markdown table in ``markdown``: its rows (header first), cells stripped."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            if not set(line) <= set("|-: "):
                current.append([cell.strip() for cell in line.strip("|").split("|")])
        elif current:
            found.append(current)
            current = []
    return found


def test_quick_bench_writes_every_section_with_numbers_and_no_failed_transaction(tmp_path):
    out, readme = tmp_path / "BENCHMARKS.md", tmp_path / "README.md"
    readme.write_text(f"# x\n\nbefore\n{bench.README_START}\nold table\n{bench.README_END}\nafter\n")

    assert bench.main(["--quick", "--out", str(out), "--readme", str(readme)]) == 0

    doc = out.read_text()
    assert "Command: `python -m vscm.bench --quick" in doc and "Machine: " in doc and " cores" in doc
    titles = re.findall(r"^## (.+)$", doc, re.MULTILINE)
    assert len(titles) == len(bench.SECTIONS) >= 3
    for title, part in zip(titles, re.split(r"^## .+$", doc, flags=re.MULTILINE)[1:]):
        found = tables(part)
        assert found and all(len(t) >= 2 for t in found), f"section {title!r} has no table with rows"
        for header, *body in found:
            assert all(any(NUMBER.fullmatch(cell) for cell in row) for row in body), f"{title}: a row without numbers"
            if "failed" in header:
                column = header.index("failed")
                assert all(row[column] == "0" for row in body), f"{title}: failed transactions"
    throughput = doc.split("## Throughput")[1].split("\n## ")[0]
    for chain in ("anvil", "embedded"):
        for path in ("pipeline", "Sender", "naive web3 transact()"):
            assert re.search(rf"^\| {chain} \| {re.escape(path)}", throughput, re.MULTILINE), (chain, path)
    rates, ceiling = tables(throughput)[:2]
    header = rates[0]
    client, node = header.index("client CPU µs per business tx"), header.index("node CPU µs per business tx")
    by_chain = {row[0]: row for row in rates[1:] if row[1].startswith("pipeline")}
    assert NUMBER.fullmatch(by_chain["anvil"][client]) and NUMBER.fullmatch(by_chain["anvil"][node])
    assert by_chain["embedded"][node] == "in process"  # the embedded chain's work is the client's CPU
    assert [row[0] for row in ceiling[1:]] == ["send + mine", "send + mine + every receipt read back"]
    gas = doc.split("## Gas of each")[1]
    assert "| OrderBook.place (domestic) | 139,601 |" in gas  # exact gas, as on every run
    # Issue 16's gas diet: the goal rows (steady state) and the receivable path end to end, exact.
    for row, value in GAS_GOAL_ROWS.items():
        assert f"| {row} | {value:,} |" in gas, (row, value)
    assert "reference: OpenZeppelin ERC-20 transfer" in gas and "ERC-721 mint" in gas
    # The deployment's wiring and hand-over are rows too (deploy sends them through workflows.together, which on a
    # dev chain goes by the chain's sender, the one the gas recorder wraps).
    for row in ("OrderBook.addCurrency", "LoanBook.grantRole", "TelemetryOracle.setAlertSink", "LoanBook.renounceRole"):
        assert re.search(rf"^\| {re.escape(row)} \| [0-9,]+ \|$", gas, re.MULTILINE), row

    written = readme.read_text()
    assert "old table" not in written and written.startswith("# x\n\nbefore\n") and written.endswith("after\n")
    assert written.count("### ") == len(bench.SECTIONS)
