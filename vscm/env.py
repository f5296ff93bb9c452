"""Names of the environment variables vscm reads, in a module that imports nothing (the CLI's root
reads them before it knows which command runs)."""

from __future__ import annotations

__all__ = ["KEYSTORE_DIR_ENV"]

#: directory of the encrypted wallets (default ~/.vscm/keystores)
KEYSTORE_DIR_ENV = "VSCM_KEYSTORE_DIR"
