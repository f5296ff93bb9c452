"""The order `make test` hands the test files out in (a module of its own: several directories have a
``conftest`` module, so a test cannot import this from ``conftest`` by name)."""

#: The longest files, longest first (seconds of one worker in a `make test` run on 2 cores): `make test` hands
#: them out first (`--dist loadfile --no-loadscope-reorder`), so that no long file starts last and keeps one
#: worker busy while the other has finished. Only the order changes; every file still runs.
LONGEST_FIRST = (
    "tests/integration/test_network.py",  # the demo on 4 BFT validators: mostly waiting for 1 s blocks
    "tests/integration/test_bench.py",
    "tests/stateful/test_financing_machine.py",
    "tests/integration/test_readme_cli.py",
    "tests/integration/test_console_api.py",
    "tests/unit/test_artifacts.py",
    "tests/stateful/test_cash_conservation.py",
    "tests/stateful/test_adversaries.py",
)
