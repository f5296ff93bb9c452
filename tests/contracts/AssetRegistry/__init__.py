"""Tests of the AssetRegistry contract, one module per function."""  # noqa: N999 - named after the contract (STYLE.md)
