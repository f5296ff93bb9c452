"""A ``solc`` executable over the pinned solc-js, for py-solc-x and brownie offline.

py-solc-x (and brownie through it) runs a native ``solc`` binary that it downloads from GitHub;
offline that download fails. ``python -m vscm.chain.solc_shim install`` (run by ``make install``)
writes instead a small shell script named ``solc-v<version>`` into py-solc-x's install folder
(``~/.solcx``, or ``$SOLCX_BINARY_PATH``), so both tools see the version from ``package.json`` as
installed and compile with it.

What the shim answers:

* ``--version`` and ``--standard-json`` (input on stdin): straight to ``vscm/chain/solc.js``, which
  is all brownie and ``solcx.compile_standard`` use. ``--base-path DIR`` makes solc.js resolve
  imports from ``DIR``; ``--allow-paths`` is accepted and ignored (solc-js may read any file).
* ``--help`` and ``--combined-json`` (``solcx.compile_source`` and ``compile_files``): through this
  module, which turns the command line into a standard-JSON input, runs solc.js and reshapes its
  output the way native solc prints it. ``--link`` and the other native-only modes are refused.

The script records the absolute paths of ``node``, ``solc.js`` and the Python that installed it:
install again after moving the checkout or the virtual environment.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vscm.errors import CompileError

__all__ = [
    "COMBINED_JSON_OUTPUTS",
    "SOLC_JS",
    "compiler_version",
    "install",
    "render_shim",
    "run_command_line",
    "shim_path",
]

SOLC_JS = Path(__file__).resolve().parent / "solc.js"

#: ``--combined-json`` keys of solc 0.8.30 and the standard-JSON output each one is read from
#: (``ast`` is per source file, the rest per contract).
COMBINED_JSON_OUTPUTS: dict[str, str] = {
    "abi": "abi",
    "asm": "evm.legacyAssembly",
    "ast": "ast",
    "bin": "evm.bytecode.object",
    "bin-runtime": "evm.deployedBytecode.object",
    "devdoc": "devdoc",
    "function-debug": "evm.bytecode.functionDebugData",
    "function-debug-runtime": "evm.deployedBytecode.functionDebugData",
    "generated-sources": "evm.bytecode.generatedSources",
    "generated-sources-runtime": "evm.deployedBytecode.generatedSources",
    "hashes": "evm.methodIdentifiers",
    "metadata": "metadata",
    "opcodes": "evm.bytecode.opcodes",
    "srcmap": "evm.bytecode.sourceMap",
    "srcmap-runtime": "evm.deployedBytecode.sourceMap",
    "storage-layout": "storageLayout",
    "transient-storage-layout": "transientStorageLayout",
    "userdoc": "userdoc",
}

# The environment variables through which the shim tells this module which node to run and which
# version it found at install time (saving a start of solc-js per call).
_NODE_ENV = "VSCM_SOLC_NODE"
_VERSION_ENV = "VSCM_SOLC_VERSION"
_VERSION_RE = re.compile(r"Version: (\d+\.\d+\.\d+)(\S*)")

# Native solc options that take a value, as the command-line emulation reads them.
_VALUE_OPTIONS = frozenset({
    "--combined-json", "--base-path", "--include-path", "--allow-paths", "--output-dir", "-o",
    "--evm-version", "--revert-strings", "--metadata-hash", "--optimize-runs", "--yul-optimizations",
    "--libraries", "--debug-info",
})
_FLAG_OPTIONS = frozenset({
    "--optimize", "--overwrite", "--metadata-literal", "--optimize-yul", "--no-optimize-yul", "--via-ir",
})

_SHIM_TEMPLATE = """\
#!/bin/sh
# solc {version} for py-solc-x and brownie: the pinned solc-js of {repo}.
# Written by `python -m vscm.chain.solc_shim install`; edits are overwritten.
NODE={node}
SOLC_JS={solc_js}
case " $* " in
  *" --standard-json "*|*" --version "*)
    # solc.js resolves imports from the working directory: honour --base-path by moving there.
    take=
    for arg in "$@"; do
      case "$arg" in
        --base-path=*) cd "${{arg#--base-path=}}" || exit 1 ;;
        *) [ -n "$take" ] && {{ cd "$arg" || exit 1; }} ;;
      esac
      take=
      [ "$arg" = --base-path ] && take=1
    done
    exec "$NODE" "$SOLC_JS" "$@" ;;
esac
# Everything else (--help, --combined-json) is emulated on top of --standard-json.
{node_env}="$NODE" {version_env}={full_version} exec {python} -m vscm.chain.solc_shim solc "$@"
"""


def compiler_version(node: str | None = None, solc_js: Path = SOLC_JS) -> tuple[str, str]:
    """The version of solc-js as ``(base, full)``, e.g. ``("0.8.30", "0.8.30+commit.73712a01...")``.

    Raises:
        CompileError: node is missing or solc.js does not answer ``--version``.
    """
    node = node or shutil.which("node")
    if node is None:
        raise CompileError("node is not on PATH: the solc shim runs solc-js under Node.js")
    proc = subprocess.run([node, str(solc_js), "--version"], capture_output=True, text=True, check=False)
    match = _VERSION_RE.search(proc.stdout)
    if proc.returncode != 0 or match is None:
        raise CompileError(
            f"{solc_js} --version failed (exit {proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}"
            "; run `npm ci` (`make install`) to install solc-js"
        )
    return match.group(1), match.group(1) + match.group(2)


def render_shim(full_version: str, node: str, python: str, solc_js: Path = SOLC_JS) -> str:
    """The text of the ``solc-v<version>`` script (``full_version`` as solc-js prints it)."""
    return _SHIM_TEMPLATE.format(
        version=full_version.split("+")[0],
        full_version=shlex.quote(full_version),
        version_env=_VERSION_ENV,
        repo=solc_js.parents[2],
        node=shlex.quote(node),
        solc_js=shlex.quote(str(solc_js)),
        python=shlex.quote(python),
        node_env=_NODE_ENV,
    )


def shim_path(version: str, folder: Path | str | None = None) -> Path:
    """Where py-solc-x looks for ``solc`` ``version``: ``$SOLCX_BINARY_PATH``, ``folder`` or ``~/.solcx``."""
    import solcx

    return Path(solcx.get_solcx_install_folder(folder)) / f"solc-v{version}"


def install(folder: Path | str | None = None) -> tuple[Path, bool]:
    """Write the shim into py-solc-x's install folder; idempotent.

    Args:
        folder: the install folder; ``$SOLCX_BINARY_PATH`` wins over it (as in py-solc-x), and
            ``~/.solcx`` is the default.

    Returns:
        The shim's path and whether it was (re)written (``False``: it was already up to date).

    Raises:
        CompileError: node or solc-js is missing, or the platform is Windows (py-solc-x wants a
            ``solc.exe`` there, which a script cannot be).
    """
    if os.name == "nt":
        raise CompileError("the solc shim is a POSIX shell script; on Windows install a native solc")
    node = shutil.which("node")
    if node is None:
        raise CompileError("node is not on PATH: the solc shim runs solc-js under Node.js")
    version, full_version = compiler_version(node)
    path = shim_path(version, folder)
    # sys.executable unresolved: a virtualenv's python is a symlink that must stay one.
    text = render_shim(full_version, node, sys.executable)
    if path.is_file() and path.read_text() == text and os.access(path, os.X_OK):
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():  # a native Windows-layout install or a stale folder: not ours to keep
        shutil.rmtree(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.chmod(0o755)
    os.replace(tmp, path)
    return path, True


# --- native command-line emulation (--help, --combined-json) ---------------------------------------


class _UsageError(Exception):
    """A command line native solc would refuse; the message is what solc prints."""


@dataclass
class _CommandLine:
    combined_json: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    remappings: list[str] = field(default_factory=list)
    options: dict[str, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    help: bool = False


def _parse(argv: list[str]) -> _CommandLine:
    cmd = _CommandLine()
    args = iter(argv)
    for arg in args:
        name, eq, inline = arg.partition("=")
        if arg == "--help":
            cmd.help = True
        elif arg == "-" or not arg.startswith("-"):
            (cmd.remappings if "=" in arg else cmd.files).append(arg)
        elif name in _VALUE_OPTIONS:
            value = inline if eq else next(args, None)
            if value is None:
                raise _UsageError(f"the required argument for option '{name}' is missing")
            cmd.options["--output-dir" if name == "-o" else name] = value
        elif arg in _FLAG_OPTIONS:
            cmd.flags.add(arg)
        else:
            # The form py-solc-x turns into UnknownOption; it also covers --link, --asm, --ir...,
            # which the shim does not emulate.
            raise _UsageError(f"unrecognised option '{name}'")
    if "--combined-json" in cmd.options:
        cmd.combined_json = [key for key in cmd.options["--combined-json"].split(",") if key]
        unknown = [key for key in cmd.combined_json if key not in COMBINED_JSON_OUTPUTS]
        if unknown:
            raise _UsageError(f"Invalid option to --combined-json: {unknown[0]}")
    return cmd


def _help_text(version: str) -> str:
    return (
        "solc, the Solidity commandline compiler (emulated over solc-js by vscm.chain.solc_shim).\n"
        f"Version: {version}\n\n"
        "Usage: solc [options] [input_file...]\n\n"
        "Input Modes:\n"
        "  --standard-json      Switch to Standard JSON input / output mode (stdin in, stdout out).\n\n"
        "Output Components:\n"
        f"  --combined-json {','.join(COMBINED_JSON_OUTPUTS)}\n"
        "                       Output a single json document containing the specified information.\n"
    )


def _unit_name(file: str, base_path: Path | None) -> str:
    path = Path(file)
    if base_path is not None:
        try:
            return path.resolve().relative_to(base_path.resolve()).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def _standard_input(cmd: _CommandLine, stdin: str, base_path: Path | None) -> dict[str, Any]:
    sources: dict[str, dict[str, str]] = {}
    for file in cmd.files:
        if file == "-":
            sources["<stdin>"] = {"content": stdin}
            continue
        path = base_path / file if base_path is not None and not Path(file).is_absolute() else Path(file)
        if not path.is_file():
            raise _UsageError(f'"{file}" is not found.')
        sources[_unit_name(str(path), base_path)] = {"content": path.read_text(encoding="utf-8")}
    if not sources:
        raise _UsageError("No input files given. If you wish to use the standard input please specify \"-\" explicitly.")
    optimizer: dict[str, Any] = {"enabled": "--optimize" in cmd.flags,
                                 "runs": int(cmd.options.get("--optimize-runs", 200))}
    if "--no-optimize-yul" in cmd.flags or "--optimize-yul" in cmd.flags:
        optimizer["details"] = {"yul": "--no-optimize-yul" not in cmd.flags}
    if "--yul-optimizations" in cmd.options:
        optimizer.setdefault("details", {})["yulDetails"] = {"optimizerSteps": cmd.options["--yul-optimizations"]}
    selected = {COMBINED_JSON_OUTPUTS[key] for key in cmd.combined_json}
    settings: dict[str, Any] = {
        "optimizer": optimizer,
        "remappings": cmd.remappings,
        "outputSelection": {"*": {"*": sorted(selected - {"ast"}), "": ["ast"] if "ast" in selected else []}},
    }
    if "--evm-version" in cmd.options:
        settings["evmVersion"] = cmd.options["--evm-version"]
    if "--via-ir" in cmd.flags:
        settings["viaIR"] = True
    metadata: dict[str, Any] = {}
    if "--metadata-hash" in cmd.options:
        metadata["bytecodeHash"] = cmd.options["--metadata-hash"]
    if "--metadata-literal" in cmd.flags:
        metadata["useLiteralContent"] = True
    if metadata:
        settings["metadata"] = metadata
    if "--revert-strings" in cmd.options:
        settings["debug"] = {"revertStrings": cmd.options["--revert-strings"]}
    return {"language": "Solidity", "sources": sources, "settings": settings}


def _dig(data: dict[str, Any], dotted: str) -> Any:
    value: Any = data
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _combined_output(cmd: _CommandLine, output: dict[str, Any], version: str) -> dict[str, Any]:
    contracts = {
        f"{unit}:{name}": {key: _dig(data, COMBINED_JSON_OUTPUTS[key]) for key in cmd.combined_json if key != "ast"}
        for unit, by_name in sorted(output.get("contracts", {}).items())
        for name, data in sorted(by_name.items())
    }
    source_list = sorted(output.get("sources", {}), key=lambda unit: output["sources"][unit]["id"])
    sources: dict[str, Any] = {}
    for unit in source_list:
        entry: dict[str, Any] = {"id": output["sources"][unit]["id"]}
        if "ast" in cmd.combined_json:
            entry["AST"] = output["sources"][unit].get("ast")
        sources[unit] = entry
    return {"contracts": contracts, "sourceList": source_list, "sources": sources, "version": version}


def run_command_line(argv: list[str], stdin: str, node: str | None = None,
                     full_version: str | None = None) -> tuple[str, str, int]:
    """Emulate native solc's ``--help`` and ``--combined-json`` modes on top of solc-js.

    Args:
        argv: the arguments after ``solc``.
        stdin: the standard input (the source, for ``-``).
        node: the node executable (default: from PATH).
        full_version: solc-js's version (default: asked from solc-js).

    Returns:
        ``(stdout, stderr, exit code)`` as native solc would give them.
    """
    try:
        cmd = _parse(argv)
        node = node or shutil.which("node") or "node"
        full_version = full_version or compiler_version(node)[1]
        if cmd.help:
            return _help_text(full_version), "", 0
        if not cmd.combined_json:
            raise _UsageError("the solc shim emulates only --standard-json, --combined-json, --version and --help")
        base_path = Path(cmd.options["--base-path"]) if "--base-path" in cmd.options else None
        standard_input = _standard_input(cmd, stdin, base_path)
        proc = subprocess.run(
            [node, str(SOLC_JS), "--standard-json"],
            input=json.dumps(standard_input), capture_output=True, text=True, check=False,
            cwd=base_path,
        )
        if proc.returncode != 0:
            return "", proc.stderr or f"solc-js failed (exit {proc.returncode})\n", 1
        output = json.loads(proc.stdout)
    except (_UsageError, CompileError) as exc:
        return "", f"{exc}\n", 1
    diagnostics = output.get("errors", [])
    stderr = "".join(error.get("formattedMessage", error.get("message", "")) for error in diagnostics)
    if any(error.get("severity") == "error" for error in diagnostics):
        return "", stderr, 1
    text = json.dumps(_combined_output(cmd, output, full_version), separators=(",", ":")) + "\n"
    if "--output-dir" in cmd.options:
        target = Path(cmd.options["--output-dir"]) / "combined.json"
        if target.exists() and "--overwrite" not in cmd.flags:
            return "", f"Refusing to overwrite existing file \"{target}\" (use --overwrite to force).\n", 1
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        return "", stderr, 0
    return text, stderr, 0


# --- entry point --------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python -m vscm.chain.solc_shim install [--folder DIR]`` (and ``solc ARGS``, used by the shim)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["solc"]:
        stdout, stderr, code = run_command_line(argv[1:], sys.stdin.read(), os.environ.get(_NODE_ENV),
                                               os.environ.get(_VERSION_ENV))
        sys.stdout.write(stdout)
        sys.stderr.write(stderr)
        return code
    parser = argparse.ArgumentParser(
        prog="python -m vscm.chain.solc_shim",
        description="Install the pinned solc-js as a solc binary for py-solc-x and brownie.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    install_cmd = commands.add_parser("install", help="write solc-v<version> into py-solc-x's install folder")
    install_cmd.add_argument("--folder", type=Path, default=None,
                             help="install folder (default: $SOLCX_BINARY_PATH or ~/.solcx)")
    args = parser.parse_args(argv)
    try:
        path, written = install(args.folder)
    except CompileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{'installed' if written else 'up to date'}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
