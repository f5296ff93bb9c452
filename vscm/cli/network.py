"""``vscm network``: a local permissioned BFT network of Kaia validators (``vscm.network``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vscm.cli.output import emit, json_option
from vscm.cli.session import vscm_home

__all__ = ["network"]

_NAME = click.option("--name", default="local", show_default=True,
                     help="The network's name: its state is in $VSCM_HOME/networks/NAME.")
_DIR = click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None,
                    help="Keep the network's state here instead of $VSCM_HOME/networks/NAME.")


def _where(name: str, directory: Path | None) -> Path:
    return directory if directory is not None else vscm_home() / "networks" / name


@click.group("network")
def network() -> None:
    """A local network of Kaia validators (Istanbul BFT, zero gas price, every fork from block 0).

    \b
    Examples:
      vscm network up --validators 4
      vscm network status
      vscm deploy --network local                 # the profile vscm network up stored
      vscm deploy --network http://127.0.0.1:PORT1,http://127.0.0.1:PORT2 --gas-price auto
      vscm network kill 2 && vscm network start 2
      vscm network down
    """


@network.command("up")
@click.option("--validators", type=click.IntRange(min=1), default=4, show_default=True,
              help="Number of validators of a new network (blocks need 2f+1 of 3f+1 running).")
@click.option("--chain-id", type=int, default=None, help="Chain id of a new network [default: 2026].")
@_NAME
@_DIR
@json_option
def up_cmd(validators: int, chain_id: int | None, name: str, directory: Path | None, as_json: bool) -> None:
    """Create the network (or restart the one kept there) and wait until blocks are final on every validator.

    The validators run in the background until `vscm network down`; their RPC URLs are printed.

    \b
    Examples:
      vscm network up
      vscm network up --validators 4 --dir ./consortium --json
    """
    from vscm.network import DEFAULT_CHAIN_ID, Network

    net = Network.up(_where(name, directory), validators=validators,
                     chain_id=chain_id if chain_id is not None else DEFAULT_CHAIN_ID)
    _show(net, as_json, f"network up: {len(net.nodes)} validators, chain id {net.chain_id}")


@network.command("status")
@_NAME
@_DIR
@json_option
def status_cmd(name: str, directory: Path | None, as_json: bool) -> None:
    """Each validator: running or down, peers, head block and hash; and whether blocks can be committed."""
    from vscm.network import Network

    _show(Network.load(_where(name, directory)), as_json, "network")


@network.command("down")
@_NAME
@_DIR
@json_option
def down_cmd(name: str, directory: Path | None, as_json: bool) -> None:
    """Stop every validator; the chain stays on disk for the next `vscm network up`."""
    from vscm.network import Network

    net = Network.load(_where(name, directory))
    net.down()
    emit({"directory": net.directory, "stopped": len(net.nodes)}, as_json,
         lambda r: f"network down: {r['stopped']} validators stopped; the chain is kept in {r['directory']}")


@network.command("kill")
@click.argument("index", type=click.IntRange(min=1))
@_NAME
@_DIR
@json_option
def kill_cmd(index: int, name: str, directory: Path | None, as_json: bool) -> None:
    """Kill validator INDEX at once (SIGKILL), for fault drills; `vscm network start INDEX` brings it back."""
    from vscm.network import Network

    net = Network.load(_where(name, directory))
    net.kill(index)
    _show(net, as_json, f"validator {index} killed")


@network.command("start")
@click.argument("index", type=click.IntRange(min=1))
@_NAME
@_DIR
@json_option
def start_cmd(index: int, name: str, directory: Path | None, as_json: bool) -> None:
    """Start validator INDEX again on its ports and with its data; it catches up with the others."""
    from vscm.network import Network

    net = Network.load(_where(name, directory))
    net.start(index)
    _show(net, as_json, f"validator {index} started")


def _show(net: Any, as_json: bool, title: str) -> None:
    statuses = net.status()
    running = sum(s.running for s in statuses)
    data = {"directory": net.directory, "chain_id": net.chain_id, "urls": net.urls, "quorum": net.quorum(),
            "running": running, "can_commit": running >= net.quorum(),
            "validators": [s.__dict__ for s in statuses]}

    def render(d: dict[str, Any]) -> Any:
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text

        table = Table(title=title)
        for column in ("#", "url", "validator", "state", "peers", "head", "hash"):
            table.add_column(column, no_wrap=column in ("url", "head"))
        for s in d["validators"]:
            table.add_row(str(s["index"]), s["url"], s["address"][:8] + "…", ("down" if not s["running"] else
                           f"STALE: {s['stale']}" if s.get("stale") else "running"),
                          "-" if s["peers"] is None else str(s["peers"]),
                          "-" if s["head"] is None else str(s["head"]),
                          (s["head_hash"] or "-")[:10])
        table.caption = (f"{d['running']} of {len(d['validators'])} running, {d['quorum']} needed: "
                         + ("blocks are committed" if d["can_commit"] else "NO new blocks until enough validators "
                            "run again (vscm network start N)"))
        client = Text(f"platform commands: --network {Path(d['directory']).name}, or the RPC URLs comma-separated "
                      "with --gas-price auto:\n"
                      + "\n".join(f"  {url}" for url in d["urls"]))
        return Group(table, client)

    emit(data, as_json, render)
