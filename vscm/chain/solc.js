#!/usr/bin/env node
// solc-js behind a command-line face: `--version` and `--standard-json` (input on stdin, output on
// stdout). vscm's compiler, py-solc-x and brownie all call this, so every path compiles with the one
// pinned compiler from package.json. Imports resolve against the current directory, the repository
// root and its node_modules (so "@openzeppelin/contracts/..." works without remappings).
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const repoRoot = path.resolve(__dirname, "..", "..");
const bases = [process.cwd(), repoRoot, path.join(repoRoot, "node_modules")];

function findImports(unit) {
  for (const base of bases) {
    const candidate = path.resolve(base, unit);
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) {
      return { contents: fs.readFileSync(candidate, "utf8") };
    }
  }
  return { error: "File not found: " + unit };
}

function readStdin() {
  const chunks = [];
  const fd = 0;
  const buf = Buffer.alloc(1 << 16);
  for (;;) {
    let n;
    try {
      n = fs.readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      if (e.code === "EAGAIN") continue;
      if (e.code === "EOF") break;
      throw e;
    }
    if (n === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
  return Buffer.concat(chunks).toString("utf8");
}

function writeAll(data) {
  let off = 0;
  while (off < data.length) {
    try {
      off += fs.writeSync(1, data, off, data.length - off);
    } catch (e) {
      if (e.code !== "EAGAIN") throw e;
    }
  }
}

const args = process.argv.slice(2);
if (args.includes("--version")) {
  process.stdout.write("solc, the solidity compiler commandline interface\nVersion: " + solc.version() + "\n");
} else if (args.includes("--standard-json")) {
  const output = solc.compile(readStdin(), { import: findImports });
  // One write of the whole document: no 64 KiB truncation as with the solcjs CLI.
  writeAll(Buffer.from(output, "utf8"));
} else {
  process.stderr.write("usage: solc.js --version | --standard-json < input.json\n");
  process.exit(2);
}
