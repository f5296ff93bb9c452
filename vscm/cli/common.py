"""Helpers shared by the platform command groups: one decorator for the usual options, results."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from eth_account.signers.local import LocalAccount

from vscm.cli.output import emit, key_value_table
from vscm.cli.session import choice_from, network_options, open_platform
from vscm.cli.wallet import signer_options, unlock_signer
from vscm.client.platform import Platform

__all__ = ["emit_tx", "platform_command", "signed_command", "tx_result"]

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def _opened(kwargs: dict[str, Any]) -> Iterator[Platform]:
    platform = open_platform(choice_from(kwargs))
    try:
        yield platform
    finally:
        platform.chain.close()


def platform_command(fn: F) -> F:
    """A read command: adds the network options; `fn(platform, ...)` gets the connected platform."""

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        with _opened(kwargs) as platform:
            return fn(platform, **kwargs)

    return network_options(wrapper)  # type: ignore[return-value]


def signed_command(fn: F) -> F:
    """A write command: network options plus --wallet/--password-file; `fn(platform, signer, ...)`."""

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> Any:
        label: str = kwargs.pop("wallet")
        password_file: Path | None = kwargs.pop("password_file")
        signer: LocalAccount = unlock_signer(label, password_file)
        with _opened(kwargs) as platform:
            return fn(platform, signer, **kwargs)

    return network_options(signer_options(wrapper))  # type: ignore[return-value]


def tx_result(receipt: Any, action: str, **extra: Any) -> dict[str, Any]:
    return {
        "action": action,
        "tx": "0x" + bytes(receipt["transactionHash"]).hex(),
        "block": int(receipt["blockNumber"]),
        "gas_used": int(receipt["gasUsed"]),
        **extra,
    }


def emit_tx(receipt: Any, action: str, as_json: bool, **extra: Any) -> None:
    result = tx_result(receipt, action, **extra)
    emit(result, as_json, lambda r: key_value_table(r.items(), title=action))
