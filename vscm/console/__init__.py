"""The console: the web pages and the HTTP JSON API of the platform, read from the lenders' index
(``vscm serve``). Each party signs in with its own key and sees what its role allows."""

from __future__ import annotations

from vscm.console.app import Console, ConsoleConfig, create_app, mint
from vscm.console.scope import OutOfScope, Party, whois

__all__ = ["Console", "ConsoleConfig", "OutOfScope", "Party", "create_app", "mint", "whois"]
