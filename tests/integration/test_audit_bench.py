"""The replay benchmark runs end to end on a small history (speed itself is only reported, never asserted)."""

from __future__ import annotations

from vscm.audit.bench import generate_history, measure_replay, render_markdown
from vscm.chain.backends import connect


def test_the_bench_generates_the_history_and_measures_fetch_and_replay_in_one_run() -> None:
    with connect("anvil") as chain:
        platform = generate_history(chain, 600)
        rows, memory = measure_replay(chain.node.url, platform, window=2)
    fetch, replayed, checked, audited, bloomed = rows
    assert fetch.events == replayed.events >= 600
    assert replayed.note.endswith("0 findings") and checked.note.endswith("0 findings")
    assert checked.events == replayed.events == audited.events
    assert audited.what.startswith("audit end to end") and " roots, 0 findings" in audited.note
    assert "s CPU in this process" in audited.note and "in the node" in audited.note
    assert bloomed.what.startswith("audit end to end, bloom-only") and bloomed.events == audited.events
    assert "load average" in bloomed.note and " 0 roots, 0 findings" in bloomed.note
    assert memory["peak_full"][0] == replayed.events
    text = render_markdown(rows, memory)
    assert "raw eth_getLogs fetch" in text and "events/s" in text
