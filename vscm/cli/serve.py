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
              help="Serve the data `make demo` kept in $VSCM_HOME/demo (read-only: its chain ended with it).")
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
    try:
        uvicorn.run(create_app(config), host=host, port=port, log_level="warning")
    finally:
        if chain is not None:
            chain.close()


def _demo_data(index_target: str | None) -> tuple[Any, None, str]:
    """The manifest and index that `make demo` kept (no chain: the embedded one ended with the demo)."""
    from vscm.cli.session import vscm_home
    from vscm.client.deployment import Deployment
    from vscm.errors import NotFound

    directory = vscm_home() / "demo"
    manifest = directory / "deployment.json"
    if not manifest.exists():
        raise NotFound(f"no demo data in {directory}: run `make demo` first")
    return Deployment.load(manifest), None, index_target or str(directory / "index.sqlite")


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

