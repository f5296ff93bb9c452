"""``vscm node``: a local anvil node with persistent state, and ``vscm deploy``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vscm.chain import anvil
from vscm.chain.anvil import AnvilNode
from vscm.chain.backends import connect
from vscm.chain.deploy import DEFAULT_CURRENCIES, deploy_platform
from vscm.cli.output import emit, json_option, key_value_table
from vscm.cli.session import PARTY, choice_from, manifest_path, network_options, node_dir, open_chain
from vscm.cli.wallet import signer_options, unlock_signer
from vscm.client.deployment import Deployment
from vscm.errors import InputError, VscmError

__all__ = ["deploy", "node"]


@click.group("node")
def node() -> None:
    """A local anvil node whose chain survives stop and start ($VSCM_HOME/node)."""


@node.command("start")
@click.option("--port", type=int, default=None, help="Port to listen on [default: the last one, else free].")
@click.option("--chain-id", type=int, default=None, help="Chain id of a new node [default: 31337].")
@click.option("--state-interval", type=click.IntRange(min=1), default=anvil.STATE_INTERVAL, show_default=True,
              help="Seconds between two writes of the chain state to disk: what a crash can lose at most.")
@json_option
def start_cmd(port: int | None, chain_id: int | None, state_interval: int, as_json: bool) -> None:
    """Start the node in the background (its state is loaded from the last saved state).

    If the last node was killed rather than stopped, a warning line on stderr says which head it had
    and which it has now (the blocks after the last saved state are lost).

    \b
    Examples:
      vscm node start
      vscm node start --port 8545 --state-interval 5 --json
    """
    started = AnvilNode.start_detached(node_dir(), port=port, chain_id=chain_id, state_interval=state_interval)
    recovery = started.recovery
    if recovery is not None:
        click.echo(f"warning: {recovery.message}", err=True)
    _show_status(as_json, f"started {started.url}", recovery=recovery)


@node.command("stop")
@json_option
def stop_cmd(as_json: bool) -> None:
    """Stop the node; its chain state is written to disk."""
    stopped = anvil.stop(node_dir())
    emit({"stopped": stopped, "state_dir": node_dir()}, as_json,
         lambda r: "node stopped; state saved" if r["stopped"] else "no node was running")


@node.command("status")
@json_option
def status_cmd(as_json: bool) -> None:
    """Whether the node runs, where, and its block height."""
    _show_status(as_json, "node")


@node.command("fund")
@click.argument("who", type=PARTY)
@click.option("--eth", "ether", type=click.FloatRange(min=0, min_open=True), default=10.0, show_default=True)
@json_option
def fund_cmd(who: str, ether: float, as_json: bool) -> None:
    """Give WHO (address or wallet label) ether for gas from the node's dev faucet."""
    with connect(AnvilNode.attach(node_dir())) as chain:
        receipt = chain.fund(who, int(ether * 10**18))
        emit({"funded": who, "wei": int(ether * 10**18), "balance": chain.balance(who),
              "tx": "0x" + bytes(receipt["transactionHash"]).hex()}, as_json,
             lambda r: key_value_table(r.items(), title="funded"))


def _show_status(as_json: bool, title: str, recovery: anvil.Recovery | None = None) -> None:
    s = anvil.status(node_dir())
    data: dict[str, Any] = {**s.__dict__}
    if recovery is not None:
        data["unclean_shutdown"] = {"had_block": recovery.had_block, "has_block": recovery.has_block,
                                    "lost": recovery.lost, "message": recovery.message}
    emit(data, as_json, lambda d: key_value_table(
        [("running", d["running"]), ("url", d["url"] or "-"), ("chain id", d["chain_id"] or "-"),
         ("block", d["block_number"] if d["block_number"] is not None else "-"), ("pid", d["pid"] or "-"),
         ("state file", d["state_file"]), ("state saved", d["state_saved"]),
         ("saved every", f"{d['state_interval']} s" if d["state_interval"] else "-")], title=title))


@click.command("deploy")
@click.option("--currency", "currencies", multiple=True, default=DEFAULT_CURRENCIES, show_default=True,
              help="ISO 4217 code of a settlement currency (repeat for several).")
@click.option("--force", is_flag=True,
              help="Deploy even though the manifest points at a platform live on this chain (it is overwritten).")
@click.option("--council", "council_owners", metavar="OWNER,OWNER,...",
              help="Hand every admin power to a council of these members (wallet labels or addresses): a Safe "
                   "k-of-n that schedules changes on a timelock; the operator keeps only day-to-day powers.")
@click.option("--threshold", type=click.IntRange(min=1), help="Approvals a council decision needs (k of n); "
              "default a majority.")
@click.option("--delay", type=click.IntRange(min=0), help="Seconds between scheduling a governed change and the "
              "earliest time it may run (default 2 days; give days on a real network).")
@network_options
@signer_options
@json_option
def deploy(currencies: tuple[str, ...], force: bool, council_owners: str | None, threshold: int | None,
           delay: int | None, as_json: bool, wallet: str, password_file: Path | None, **net: Any) -> None:
    """Deploy and wire the platform, signed by the operator's wallet; writes the manifest.

    \b
    Examples:
      vscm deploy --wallet operator
      vscm deploy --council bank,bank2,auditor --threshold 2 --delay 172800 --wallet operator
    """
    for code in currencies:
        if len(code) != 3 or not code.isalpha():
            raise click.BadParameter(f"bad currency {code!r}: expected an ISO 4217 code such as CNY",
                                     param_hint="--currency")
    config = _council_config(council_owners, threshold, delay)
    choice = choice_from(net)
    operator = unlock_signer(wallet, password_file)
    path = manifest_path(choice)
    with open_chain(choice) as chain:
        if not force:
            _refuse_to_orphan(chain, path)
        platform = deploy_platform(chain, operator, tuple(c.upper() for c in currencies), network=choice.key,
                                   manifest=path, council=config)
    d = platform.deployment
    council_rows = [("council Safe", d.council_safe), ("council timelock", d.council_timelock),
                    ("council", f"{config.threshold} of {len(config.owners)}, delay {config.delay} s")] if config else []
    emit({"manifest": path, **d.__dict__}, as_json, lambda r: key_value_table(
        [("manifest", path), ("network", d.network), ("chain id", d.chain_id), ("block", d.block),
         ("operator", d.operator), *deployed_contracts(d), *council_rows[2:]], title="deployed"))


def deployed_contracts(d: Any) -> list[tuple[str, str]]:
    """Every contract of deployment ``d``, by name, in the order the manifest holds them: each address
    field of the manifest (a field added later is listed without a change here), each currency's cash."""
    from dataclasses import fields

    from vscm.audit.replay import CONTRACT_FIELDS

    names = {**CONTRACT_FIELDS, "council_safe": "Council Safe", "council_timelock": "Council TimelockController"}
    rows: list[tuple[str, str]] = []
    for f in fields(d):
        value = getattr(d, f.name)
        if f.name == "cash":
            rows += [(f"PlatformCash {code}", address) for code, address in value.items()]
        elif f.name != "operator" and isinstance(value, str) and value.startswith("0x") and len(value) == 42:
            rows.append((names.get(f.name, f.name), value))
    return rows


#: The council's delay when --delay is not given: long enough for lenders to see a change coming.
DEFAULT_COUNCIL_DELAY = 2 * 86_400


def _council_config(owners: str | None, threshold: int | None, delay: int | None) -> Any:
    """The council of ``--council/--threshold/--delay`` (None without --council)."""
    if owners is None:
        if threshold is not None or delay is not None:
            raise click.BadParameter("--threshold and --delay need --council OWNER,OWNER,...", param_hint="--council")
        return None
    from vscm.cli.session import resolve_party
    from vscm.client.council import CouncilConfig

    members = tuple(resolve_party(o) for o in owners.split(",") if o.strip())
    k = threshold if threshold is not None else len(members) // 2 + 1
    return CouncilConfig(members, k, DEFAULT_COUNCIL_DELAY if delay is None else delay)


def _refuse_to_orphan(chain: Any, path: Path) -> None:
    """A second deploy would overwrite the manifest of a live platform and lose track of it: refuse.

    A manifest of another chain, or of contracts no longer on this one (a wiped node), is replaced.
    """
    if not path.is_file():
        return
    try:
        existing = Deployment.load(path)
    except VscmError:
        return
    if existing.chain_id == chain.chain_id and chain.w3.eth.get_code(existing.registry):
        raise InputError(f"a platform is already deployed on this chain (MemberRegistry {existing.registry}, "
                         f"manifest {path}): use it, or add --force to deploy another and overwrite the manifest, "
                         "or --deployment FILE to keep both")
