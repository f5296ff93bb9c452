"""The client's modules import one way (issue 15's import cycle): the facades of oracle, risk and consent build
on ``vscm.client.facade``, and ``vscm.client.platform`` imports them; none of them imports the platform module
when it runs."""

from __future__ import annotations

import ast
from pathlib import Path

import vscm

CLIENT = Path(vscm.__file__).parent / "client"


def imported_modules(path: Path) -> set[str]:
    """Every ``vscm.*`` module the file imports when it runs, at any depth (``if TYPE_CHECKING:`` blocks,
    read only by the type checker, left out)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            return
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vscm"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("vscm"))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


def test_no_facade_module_imports_the_platform_module() -> None:
    for name in ("facade", "oracle", "risk", "consent"):
        assert "vscm.client.platform" not in imported_modules(CLIENT / f"{name}.py"), name


def test_the_platform_imports_the_facades_at_the_top() -> None:
    """...except the oracle's, imported where its facade is first made (it loads vscm.oracle and its signing code,
    which the CLI's quick commands do not need: issue 15's start-up time); the direction is the same."""
    tree = ast.parse((CLIENT / "platform.py").read_text())
    top = {node.module for node in tree.body if isinstance(node, ast.ImportFrom)}
    assert {"vscm.client.facade", "vscm.client.risk", "vscm.client.consent"} <= top
    assert "vscm.client.oracle" in imported_modules(CLIENT / "platform.py")


def test_the_sender_does_not_import_the_backends_even_for_types() -> None:
    """``vscm.chain.backends`` imports ``vscm.chain.tx``; the other way round, even under ``TYPE_CHECKING``, was
    the second import cycle of issue 15. The sender types its chain by the ``SendingChain`` protocol."""
    tree = ast.parse((CLIENT.parent / "chain" / "tx.py").read_text())
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "vscm.chain.backends" not in modules
