"""Examples for the ``--help`` of commands whose docstring has none (as ``cast`` shows them).

A command whose docstring carries its own ``Example:``/``Examples:`` block keeps it; the others get theirs
from :data:`EXAMPLES` when the root group loads them (:func:`add_examples`). A test checks that every command
has examples, and that each example names its own command.
"""

from __future__ import annotations

import click

__all__ = ["EXAMPLES", "add_examples"]

#: command path (without ``vscm``) -> example command lines
EXAMPLES: dict[str, tuple[str, ...]] = {
    "wallet new": ("vscm wallet new bank", "vscm wallet new bank --password-file pass.txt --json"),
    "wallet import": ("vscm wallet import operator --key-file operator.key",),
    "wallet list": ("vscm wallet list", "vscm wallet list --json"),
    "wallet address": ("vscm wallet address bank",),
    "node stop": ("vscm node stop",),
    "node status": ("vscm node status", "vscm node status --json"),
    "node fund": ("vscm node fund bank", "vscm node fund 0xeAEE… --json"),
    "network status": ("vscm network status", "vscm network status --name local --json"),
    "network down": ("vscm network down", "vscm network down --name local"),
    "network kill": ("vscm network kill 2",),
    "network start": ("vscm network start 2",),
    "deploy": ("vscm deploy --wallet operator", "vscm deploy --wallet operator --deployment other.json --force"),
    "member apply": (('vscm member apply --role financier --name "Silk Road Bank" --credential file:licence.pdf '
                     "--expires 2027-12-31 --wallet bank"),
                     ('vscm member apply --role manufacturer --tier core --name "Xi\'an Motors" '
                     "--credential 0x11… --expires 2027-12-31 --wallet core")),
    "member approve": ("vscm member approve bank --wallet operator",),
    "member attest": ("vscm member attest core --as financier --wallet bank",
                      "vscm member attest core --as auditor --wallet auditor"),
    "member suspend": ('vscm member suspend supplier --reason "licence expired" --wallet operator',),
    "member reinstate": ("vscm member reinstate supplier --wallet operator",),
    "member evict": ('vscm member evict supplier --reason "fraud case 7" --wallet operator',),
    "member show": ("vscm member show bank", "vscm member show 0xeAEE… --json"),
    "member list": ("vscm member list", "vscm member list --json"),
    "chain create": ('vscm chain create "Xi\'an Motors chain" --wallet core',),
    "chain join": ("vscm chain join 1 --wallet supplier",),
    "chain approve": ("vscm chain approve 1 supplier --wallet core",),
    "chain leave": ("vscm chain leave --wallet supplier",),
    "chain show": ("vscm chain show 1", "vscm chain show 1 --json"),
    "cash mint": ("vscm cash mint CNY core 500000 --ref DEP-1 --wallet bank",),
    "cash burn": ("vscm cash burn CNY 1000 --ref WD-1 --wallet bank",),
    "cash transfer": ("vscm cash transfer CNY supplier 1250.50 --wallet core",),
    "cash balance": ("vscm cash balance core", "vscm cash balance 0xeAEE… --currency USD --json"),
    "order place": (("vscm order place --seller supplier --chain 1 --currency CNY --amount 120000 --due 2027-01-31 "
                    "--wallet core"),
                    ("vscm order place --seller supplier --chain 1 --currency USD --amount 8000 --due 2027-01-31 "
                    "--overseas --incoterm FOB --country DE --wallet core")),
    "order accept": ("vscm order accept 1 --wallet supplier",),
    "order deliver": ("vscm order deliver 1 --wallet warehouse",),
    "order settle": ("vscm order settle 1 --wallet core",),
    "order cancel": ("vscm order cancel 1 --wallet core",),
    "order ship": ("vscm order ship 1 --carrier carrier --warehouse warehouse --wallet supplier",),
    "order invoice": ("vscm order invoice 1 --number INV-7 --hash file:invoice.pdf --wallet supplier",),
    "order dispute": ("vscm order dispute 1 --reason file:complaint.pdf --wallet core",),
    "order resolve": ("vscm order resolve 1 --restore --wallet operator", "vscm order resolve 1 --cancel --wallet operator"),
    "order attach": ("vscm order attach 1 --kind bill-of-lading --hash file:bl.pdf --wallet carrier",),
    "asset register receivable": ("vscm asset register receivable --order 1 --wallet supplier",),
    "asset register payable": ("vscm asset register payable --order 1 --wallet core",),
    "asset register receipt": (("vscm asset register receipt --owner supplier --lot XY-1 --quantity 500 --unit t "
                               "--currency CNY --value 400000 --wallet warehouse"),),
    "asset register future-goods": ("vscm asset register future-goods --order 2 --wallet supplier",),
    "asset confirm": ("vscm asset confirm 1 --wallet core",),
    "loan apply": (("vscm loan apply --mode pledge --asset 1 --lender bank --principal 200000 --rate-bps 650 "
                   "--term-days 90 --guarantor core --wallet supplier"),
                   ("vscm loan apply --mode receivable --asset 2 --lender bank --principal 90000 --rate-bps 500 "
                   "--term-days 60 --wallet supplier")),
    "loan approve": ("vscm loan approve 1 --ltv-bps 7000 --supervisor warehouse --wallet bank",
                     "vscm loan approve 2 --ltv-bps 9000 --wallet bank"),
    "loan reject": ('vscm loan reject 1 --reason "collateral too thin" --wallet bank',),
    "loan disburse": ("vscm loan disburse 1 --wallet bank",),
    "loan repay": ("vscm loan repay 1 --amount 203205.48 --wallet supplier",),
    "loan collect": ("vscm loan collect 2 --wallet bank",),
    "loan convert": ("vscm loan convert 3 --receipt 5 --wallet supplier",),
    "loan write-off": ("vscm loan write-off 5 --wallet bank",),
    "audit stored": ("vscm audit stored history.jsonl --report audit.html", "vscm audit stored history.jsonl --offline"),
    "monitor run": ("vscm monitor run --wallet monitor", "vscm monitor run --once --dry-run --json --wallet monitor"),
    "risk alerts": ("vscm risk alerts", "vscm risk alerts --lender bank --json"),
    "risk show": ("vscm risk show 1", "vscm risk show 1 --json"),
    "risk decide": ("vscm risk decide 3 recall --wallet bank", "vscm risk decide 3 continue --wallet bank"),
    "council show": ("vscm council show", "vscm council show 0x3f2a… --json"),
    "council propose": ("vscm council propose cash:CNY setMintCap bank 2000000000 --wallet bank",
                        'vscm council propose members suspend supplier "licence expired" --now --wallet operator'),
    "council approve": ("vscm council approve 0x3f2a… --wallet auditor",),
    "council execute": ("vscm council execute 0x3f2a… --wallet bank",),
    "council pending": ("vscm council pending", "vscm council pending --json"),
    "risk raise": (("vscm risk raise --loan 3 --indicator 103 --severity high --evidence file:evidence.json "
                   "--wallet monitor"),),
    "risk lapse": ("vscm risk lapse 3 --wallet operator",),
    "risk declare-fraud": ("vscm risk declare-fraud 2 --evidence 0x5e… --wallet monitor",),
    "risk withdraw-fraud": ("vscm risk withdraw-fraud 2 --wallet operator",),
    "risk sweep": ("vscm risk sweep 2 --max-loans 50 --wallet operator",),
    "risk exposure": ("vscm risk exposure 2", "vscm risk exposure 2 --json"),
    "risk parameters": ("vscm risk parameters",),
    "risk set-parameters": (("vscm risk set-parameters --window-hours 48 --lapse freeze --warn-severity 2 "
                            "--wallet operator"),),
    "oracle simulate": ("vscm oracle simulate --devices devices.json --receipt 1 --quantity 500 --custodian warehouse",),
    "oracle run": (("vscm oracle run --source readings.jsonl --node oracle1 --node oracle2 --node oracle3 "
                   "--wallet oracle1"),),
    "oracle verify-reading": ("vscm oracle verify-reading --batch batch.json --device LC-1 --seq 3",),
    "oracle signers": (("vscm oracle signers --node oracle1 --node oracle2 --node oracle3 --quorum 2 "
                       "--wallet operator"),),
    "oracle watch": ("vscm oracle watch --receipt 1 --min-temp 2 --max-temp 8 --wallet warehouse",),
    "oracle state": ("vscm oracle state", "vscm oracle state --json"),
    "device register": ("vscm device register LC-1 --key 0x3f… --metric weight --receipt 1 --wallet warehouse",),
    "device retire": ("vscm device retire LC-1 --wallet warehouse",),
    "device list": ("vscm device list", "vscm device list --json"),
    "serve webhook list": ("vscm serve webhook list", "vscm serve webhook list --lender bank --json"),
    "serve webhook log": ("vscm serve webhook log --lender bank",),
    "serve webhook send": ("vscm serve webhook send",),
    "serve webhook remove": ("vscm serve webhook remove 3",),
}


def add_examples(command: click.Command, path: str) -> None:
    """Append :data:`EXAMPLES` to the help of ``command`` (at ``path``, e.g. ``"loan"``) and of every
    command under it, where the docstring has no examples of its own."""
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            add_examples(sub, f"{path} {name}")
        return
    lines = EXAMPLES.get(path)
    if lines and "Example" not in (command.help or ""):
        title = "Example:" if len(lines) == 1 else "Examples:"
        block = "\n".join(f"  {line}" for line in lines)
        command.help = f"{(command.help or '').rstrip()}\n\n\b\n{title}\n{block}"
