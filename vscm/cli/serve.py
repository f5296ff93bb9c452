"""``vscm serve``: the console (web pages and HTTP API) on the lenders' index, and script tokens.

The app and its libraries (FastAPI, Uvicorn) are imported only when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from vscm.cli.lender import default_index
from vscm.cli.output import emit, json_option, key_value_table
from vscm.cli.session import choice_from, manifest_path, network_options, open_deployment
from vscm.cli.wallet import signer_options, unlock_signer

__all__ = ["serve"]


@click.group("serve", invoke_without_command=True)
@click.option("--index", "index_target", envvar="VSCM_INDEX", default=None,
              help="The index: a SQLite file or a postgresql:// URL [default: $VSCM_HOME/index.sqlite].")
@click.option("--schema", default=None, help="PostgreSQL: the schema that holds the index.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="Port to listen on.")
@click.option("--interval", type=click.FloatRange(min=0.5), default=5.0, show_default=True,
              help="Seconds between updates of the index from the chain.")
@click.option("--domain", default=None,
              help="The host name sign-in messages must name (behind a proxy) [default: the request's Host].")
@click.option("--demo", is_flag=True,
              help="Serve what `make demo` kept in $VSCM_HOME/demo: its chain, started again on a local anvil node "
                   "from its saved state (and saved again at exit), and its index.")
@network_options
@click.pass_context
def serve(ctx: click.Context, index_target: str | None, schema: str | None, host: str, port: int, interval: float,
          domain: str | None, demo: bool, **kwargs: Any) -> None:
    """Serve the console: pages and JSON API (OpenAPI at /openapi.json, docs at /docs) on the index,
    which a background thread keeps up to date from the chain.

    Sign in with Ethereum in the page, or send a token of `vscm serve token` as `Authorization: Bearer`.
    Session cookies are signed with $VSCM_CONSOLE_SECRET (random per start when unset).

    \b
    Examples:
      vscm serve
      vscm serve --demo
      vscm serve --index postgresql://vscm@db/vscm --port 8080
      vscm serve token --wallet bank
    """
    if ctx.invoked_subcommand is not None:
        return
    import os
    import signal

    import uvicorn

    from vscm.console import ConsoleConfig, create_app

    if demo:
        deployment, chain, target = _demo_data(index_target)
    else:
        deployment, chain = open_deployment(choice_from(kwargs))
        target = index_target or default_index()
    opened = iter([chain])
    config = ConsoleConfig(index=target, deployment=deployment,
                           chain=None if chain is None else lambda: next(opened), schema=schema,
                           interval=interval, domain=domain, **({"secret": os.environ["VSCM_CONSOLE_SECRET"]}
                                                 if os.environ.get("VSCM_CONSOLE_SECRET") else {}))
    from vscm.index import open_index

    with open_index(target, schema=schema):  # create the tables before the first request reads them
        pass
    click.echo(f"console on http://{host}:{port}/ (index {target}, chain {deployment.chain_id}); Ctrl-C stops it",
               err=True)
    # Uvicorn stops on SIGTERM, then raises the signal again: with the default action the process would end
    # there, before the chain is closed (the demo's anvil left running, its state not saved). Exit instead.
    previous = signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        uvicorn.run(create_app(config), host=host, port=port, log_level="warning")
    finally:
        signal.signal(signal.SIGTERM, previous)
        if chain is not None:
            chain.close()


def _exit_on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def _demo_data(index_target: str | None) -> tuple[Any, Any, str]:
    """The manifest, chain and index that `make demo` kept: the chain is anvil started again from the demo's
    saved state (written back when the console stops, so decisions sent from the page are kept)."""
    from vscm.chain.backends import connect
    from vscm.cli.session import vscm_home
    from vscm.client.deployment import Deployment
    from vscm.demo import CHAIN_STATE
    from vscm.errors import NotFound

    directory = vscm_home() / "demo"
    manifest, state = directory / "deployment.json", directory / CHAIN_STATE
    if not manifest.exists() or not state.exists():
        raise NotFound(f"no demo data in {directory}: run `make demo` first")
    deployment = Deployment.load(manifest)
    chain = connect("anvil", state_file=state, chain_id=deployment.chain_id, expected_chain_id=deployment.chain_id)
    return deployment, chain, index_target or str(directory / "index.sqlite")


@serve.command("token")
@signer_options
@click.option("--hours", type=click.FloatRange(min=0.01, max=24 * 90), default=24.0, show_default=True,
              help="How long the token is valid.")
@json_option
@network_options
def token_cmd(wallet: str, password_file: Path | None, hours: float, as_json: bool, **kwargs: Any) -> None:
    """A token for scripts, signed by wallet LABEL's key (an EIP-4361 message with an expiry): send it
    as `Authorization: Bearer TOKEN`. The console checks the signature; it never sees the key.

    \b
    Examples:
      vscm serve token --wallet bank
      TOKEN=$(vscm serve token --wallet bank --hours 1 --json | jq -r .token)
      curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8080/api/me
    """
    from vscm.client.deployment import Deployment
    from vscm.console.app import mint

    deployment = Deployment.load(manifest_path(choice_from(kwargs)))
    signer = unlock_signer(wallet, password_file)
    token = mint(signer, deployment, hours)
    data = {"wallet": wallet, "address": signer.address, "chain_id": deployment.chain_id, "hours": hours,
            "token": token}
    if as_json:
        emit(data, True, lambda d: key_value_table(d.items()))
    else:
        click.echo(token)


@serve.group("webhook")
def webhook() -> None:
    """Lenders' webhooks: alerts, margin calls, decision deadlines and fraud exposure of the lender's own
    loans, POSTed as HMAC-SHA256-signed JSON, retried with backoff; every attempt is logged in the index.
    `vscm serve` sends them after each update; a lender subscribes in the API too (POST
    /api/lenders/ADDRESS/webhooks)."""


def _index_option(command: Any) -> Any:
    return click.option("--index", "index_target", envvar="VSCM_INDEX", default=None,
                        help="The index [default: $VSCM_HOME/index.sqlite].")(command)


@webhook.command("add")
@click.argument("lender")
@click.argument("url")
@click.option("--secret", envvar="VSCM_WEBHOOK_SECRET", prompt=True, hide_input=True,
              help="The HMAC key the receiver checks signatures with (16+ characters) [env: VSCM_WEBHOOK_SECRET].")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["alert", "margin_call", "decision_deadline",
                                                                   "fraud_exposure"]),
              help="Event kinds [default: all].")
@_index_option
@json_option
def webhook_add(lender: str, url: str, secret: str, kinds: tuple[str, ...], index_target: str | None,
                as_json: bool) -> None:
    """Subscribe URL to the events of lender LENDER's own loans (an address).

    \b
    Example:
      VSCM_WEBHOOK_SECRET=... vscm serve webhook add 0xBank… https://bank.example/vscm --kind alert
    """
    from eth_utils import is_address, to_checksum_address

    from vscm.console import notify
    from vscm.errors import InputError
    from vscm.index import open_index

    if not is_address(lender):
        raise InputError(f"{lender!r} is not an address")
    with open_index(index_target or default_index()) as index:
        hook = notify.subscribe(index, to_checksum_address(lender), url, secret, kinds or notify.KINDS)
    emit(hook, as_json, lambda d: key_value_table((k, ", ".join(v) if isinstance(v, list) else v)
                                                   for k, v in d.items()))


@webhook.command("list")
@click.option("--lender", default=None, help="Only this lender's subscriptions.")
@_index_option
@json_option
def webhook_list(lender: str | None, index_target: str | None, as_json: bool) -> None:
    """The subscriptions (secrets not shown)."""
    from vscm.console import notify
    from vscm.index import open_index

    with open_index(index_target or default_index()) as index:
        hooks = notify.webhooks(index, lender)
    if as_json:
        emit(hooks, True)
        return
    for h in hooks:
        click.echo(f"{h['id']}  {h['lender']}  {h['url']}  {','.join(h['kinds'])}  since {h['created']}")


@webhook.command("log")
@click.option("--lender", default=None, help="Only this lender's deliveries.")
@click.option("--webhook", "hook_id", default=None, help="Only this subscription's deliveries.")
@_index_option
@json_option
def webhook_log(lender: str | None, hook_id: str | None, index_target: str | None, as_json: bool) -> None:
    """Every delivery attempt: time, subscription, event, attempt, HTTP status, error."""
    from vscm.console import notify
    from vscm.index import open_index

    with open_index(index_target or default_index()) as index:
        rows = notify.deliveries(index, lender, hook_id)
    if as_json:
        emit(rows, True)
        return
    for r in rows:
        outcome = "ok" if r["ok"] else f"failed ({r['error']})"
        click.echo(f"{r['at']}  {r['webhook']}  {r['event']}  attempt {r['attempt']}  "
                   f"{r['status'] or '-'}  {outcome}")


@webhook.command("send")
@_index_option
@network_options
@json_option
def webhook_send(index_target: str | None, as_json: bool, **kwargs: Any) -> None:
    """Send now what the subscriptions have not had yet (what `vscm serve` does after each update)."""
    from vscm.client.deployment import Deployment
    from vscm.console import notify
    from vscm.index import open_index

    deployment = Deployment.load(manifest_path(choice_from(kwargs)))
    with open_index(index_target or default_index()) as index:
        counts = notify.dispatch(index, deployment)
    emit(counts, as_json, lambda d: key_value_table(d.items()))


@webhook.command("remove")
@click.argument("hook_id")
@_index_option
def webhook_remove(hook_id: str, index_target: str | None) -> None:
    """Remove subscription HOOK_ID (its delivery log stays)."""
    from vscm.console import notify
    from vscm.index import open_index

    with open_index(index_target or default_index()) as index:
        notify.unsubscribe(index, hook_id)
    click.echo(f"removed {hook_id}")
