"""The ``vscm`` command line: one click group per party or concern, registered in ``vscm.cli.main``."""
