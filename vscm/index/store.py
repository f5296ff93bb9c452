"""The lenders' index: the replayed platform state in SQL (SQLite by default, PostgreSQL by URL).

Tables: ``records`` (every record of the replayed state, JSON, by table and key — what the fold
resumes from), ``counters``, ``blocks`` (number, hash, parent hash, timestamp of every replayed
block: reorganisations are detected by hash), ``logs`` (the raw platform logs used, so a rollback
re-folds without asking the chain), ``findings``, the ``cursor`` (last block folded and its hash), and
two typed tables for queries: ``loans`` (indexed by lender and borrower) and ``hops``. Amounts are
stored as decimal TEXT: uint256 does not fit SQLite's integers; queries sum them in Python.

``Index.update(source, deployment)`` folds the blocks after the cursor, one transaction per window
(cursor included), so an interrupted update resumes where it stopped. Several processes may update one
index at once: each window is written under a lock (PostgreSQL ``pg_advisory_xact_lock``, SQLite
``BEGIN IMMEDIATE``) only if the cursor is still the one its state was read at, in the same transaction;
otherwise another updater got there first and the update starts again from the new cursor. The tables
are created under the same kind of lock, so two first uses do not race.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vscm.audit.decode import RawLog
from vscm.audit.replay import Cursor, ReplayResult, contracts_of, replay_into
from vscm.audit.source import Header, Source
from vscm.audit.state import Finding, State
from vscm.errors import AuditError, InputError, NotFound

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["Index", "UpdateReport", "open_index"]

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS cursor (id INTEGER PRIMARY KEY, block BIGINT NOT NULL, hash TEXT NOT NULL)",
    ("CREATE TABLE IF NOT EXISTS blocks (number BIGINT PRIMARY KEY, hash TEXT NOT NULL, parent_hash TEXT NOT NULL,"
    " timestamp BIGINT NOT NULL, receipts_root TEXT NOT NULL)"),
    ("CREATE TABLE IF NOT EXISTS logs (block_number BIGINT NOT NULL, log_index BIGINT NOT NULL,"
    " block_hash TEXT NOT NULL, tx_hash TEXT NOT NULL, tx_index BIGINT NOT NULL, address TEXT NOT NULL,"
    " topics TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (block_number, log_index))"),
    ("CREATE TABLE IF NOT EXISTS records (tbl TEXT NOT NULL, k TEXT NOT NULL, data TEXT NOT NULL,"
    " PRIMARY KEY (tbl, k))"),
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS findings (id BIGINT PRIMARY KEY, data TEXT NOT NULL)",
    ("CREATE TABLE IF NOT EXISTS loans (loan_id BIGINT PRIMARY KEY, lender TEXT NOT NULL, borrower TEXT NOT NULL,"
    " mode INTEGER NOT NULL, status INTEGER NOT NULL, currency TEXT NOT NULL, principal TEXT NOT NULL,"
    " principal_repaid TEXT NOT NULL, interest_accrued TEXT NOT NULL, interest_paid TEXT NOT NULL,"
    " written_off TEXT NOT NULL, rate_bps BIGINT NOT NULL, last_accrual BIGINT NOT NULL, maturity BIGINT NOT NULL,"
    " asset_id BIGINT NOT NULL, purpose_order_id BIGINT NOT NULL)"),
    # A lender's (a borrower's) loans in loan id order straight from the index: a page is a range of it.
    "DROP INDEX IF EXISTS loans_by_lender",
    "DROP INDEX IF EXISTS loans_by_borrower",
    "CREATE INDEX IF NOT EXISTS loans_by_lender_id ON loans (lender, loan_id)",
    "CREATE INDEX IF NOT EXISTS loans_by_borrower_id ON loans (borrower, loan_id)",
    # Which stored logs are about which loan (LoanBook, FundTracker, RiskControl): a loan's timeline without
    # decoding every log of the index. Derived from the logs at each write; rebuilt with the state.
    ("CREATE TABLE IF NOT EXISTS loan_logs (loan_id BIGINT NOT NULL, block_number BIGINT NOT NULL,"
    " log_index BIGINT NOT NULL, PRIMARY KEY (loan_id, block_number, log_index))"),
    ("CREATE TABLE IF NOT EXISTS hops (loan_id BIGINT NOT NULL, hop BIGINT NOT NULL, payee TEXT NOT NULL,"
    " amount TEXT NOT NULL, purpose TEXT NOT NULL, block BIGINT NOT NULL, tx TEXT NOT NULL,"
    " PRIMARY KEY (loan_id, hop))"),
    # Lenders' webhooks and their delivery log (vscm.console.notify): not chain state (not in STATE_TABLES),
    # so kept across rebuilds and rollbacks.
    ("CREATE TABLE IF NOT EXISTS webhooks (id TEXT PRIMARY KEY, lender TEXT NOT NULL, url TEXT NOT NULL,"
    " secret TEXT NOT NULL, kinds TEXT NOT NULL, created TEXT NOT NULL)"),
    ("CREATE TABLE IF NOT EXISTS webhook_deliveries (id TEXT PRIMARY KEY, webhook TEXT NOT NULL, lender TEXT NOT NULL,"
    " event TEXT NOT NULL,"
    " kind TEXT NOT NULL, attempt BIGINT NOT NULL, at TEXT NOT NULL, status BIGINT, ok INTEGER NOT NULL,"
    " error TEXT NOT NULL)"),
    "CREATE INDEX IF NOT EXISTS deliveries_by_webhook ON webhook_deliveries (webhook, event)",
]
STATE_TABLES = ("records", "counters", "findings", "loans", "hops", "loan_logs")
#: The contracts whose events name a loan (``loanId``, or an alert's loan subject).
LOAN_CONTRACTS = ("LoanBook", "FundTracker", "RiskControl")
#: First key of the PostgreSQL advisory locks of the index (the second is the schema's hash).
LOCK_KEY = 0x5653434D  # "VSCM"
#: Seconds a SQLite writer waits for another one to commit before giving up.
SQLITE_BUSY_TIMEOUT = 600.0


class _Raced(Exception):
    """Another updater moved the cursor since this one read it: start again from the new cursor."""


@dataclass
class UpdateReport:
    """What one ``Index.update`` did."""

    from_block: int
    to_block: int
    events: int
    reorg_at: int | None
    findings: list[Finding]


class _Db:
    """The few statements the index needs, on sqlite3 or psycopg (``?`` placeholders in both)."""

    def __init__(self, conn: Any, kind: str) -> None:
        self.conn = conn
        self.kind = kind
        self._depth = 0

    @contextmanager
    def locked(self, name: str = "") -> Iterator[None]:
        """One transaction that holds the index's write lock; nested calls join the outer one.

        PostgreSQL: ``pg_advisory_xact_lock`` on (``LOCK_KEY``, hash of ``name`` or of the current
        schema), released at commit or rollback, also when the process dies. SQLite: ``BEGIN
        IMMEDIATE``, the database's single writer lock, taken before the first read.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.conn.rollback()  # end a read-only transaction: the lock must come first
        if self.kind == "postgresql":
            key = "hashtext(%s)" if name else "hashtext(current_schema())"
            self.conn.execute(f"SELECT pg_advisory_xact_lock(%s, {key})", (LOCK_KEY, name) if name else (LOCK_KEY,))
        else:
            self.conn.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self.conn.rollback()
            raise
        self._depth = 0
        self.conn.commit()

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.kind == "postgresql" else sql

    def execute(self, sql: str, params: Iterable[Any] = ()) -> Any:
        return self.conn.execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        if self.kind == "postgresql":
            with self.conn.cursor() as cur:
                cur.executemany(self._sql(sql), rows)
        else:
            self.conn.executemany(sql, rows)

    def query(self, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self.execute(sql, params).fetchall())

    def commit(self) -> None:
        if not self._depth:  # inside locked() the outer block commits
            self.conn.commit()

    def rollback(self) -> None:
        if not self._depth:  # inside locked() the outer block rolls back when the error reaches it
            self.conn.rollback()

    def close(self) -> None:
        self.conn.close()


def open_index(target: str | Path, *, schema: str | None = None, create: bool = True, tables: bool = True) -> Index:
    """Open (creating its tables) the index at ``target``: a file path or ``sqlite:///path`` for SQLite,
    a ``postgresql://`` URL for PostgreSQL (``schema``: a PostgreSQL schema to keep it in).

    Args:
        create: False to open only an index that exists (a missing SQLite file is not created).
        tables: False to skip creating the tables that are missing (a caller that opened it with True before).

    Raises:
        InputError: the target is neither a path nor a supported URL, or the database cannot be opened.
        NotFound: ``create`` is False and there is no SQLite file at ``target``.
    """
    text = str(target)
    conn: Any
    if text.startswith(("postgresql://", "postgres://")):
        try:
            import psycopg
        except ImportError as exc:  # declared in pyproject; a broken install says so
            raise InputError("PostgreSQL index needs psycopg: run `make install`") from exc
        try:
            conn = psycopg.connect(text)
        except psycopg.Error as exc:
            raise InputError(f"cannot open the index at {text}: {str(exc).strip()}") from None
        db = _Db(conn, "postgresql")
        if schema:
            # CREATE ... IF NOT EXISTS is not safe against a concurrent CREATE (UniqueViolation): lock.
            with db.locked(f"schema {_ident(schema)}"):
                db.execute(f'CREATE SCHEMA IF NOT EXISTS "{_ident(schema)}"')
            db.execute(f'SET search_path TO "{_ident(schema)}"')
            db.commit()
    elif "://" in text and not text.startswith("sqlite:///"):
        raise InputError(f"unknown index {text!r}: use a file path, sqlite:///PATH or postgresql://...")
    else:
        path = Path(text.removeprefix("sqlite:///"))
        if not create and not path.is_file():
            raise NotFound(f"no index at {path}: run the command once without --no-update to build it")
        try:
            if create:
                path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: transactions are begun explicitly (BEGIN IMMEDIATE in _Db.locked).
            # check_same_thread=False: the console's request opens the index in one worker thread and its
            # dependencies and handler use it in others, one after the other (never at the same time).
            conn = sqlite3.connect(path, timeout=SQLITE_BUSY_TIMEOUT, isolation_level=None,
                                   check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise InputError(f"cannot open the index at {path}: {exc}") from None
        db = _Db(conn, "sqlite")
    try:
        if tables and db.kind == "sqlite" and db.query("PRAGMA journal_mode")[0][0] != "wal":
            # Write-ahead log (kept by the file): readers (the console's requests) and the writer (its
            # updater) do not wait for each other.
            db.execute("PRAGMA journal_mode=WAL")
        if tables:
            with db.locked("schema"):
                for statement in SCHEMA:
                    db.execute(statement)
    except Exception as exc:
        db.close()
        if isinstance(exc, sqlite3.DatabaseError):
            raise InputError(f"the index at {text} is not a usable SQLite database: {exc}") from None
        raise
    return Index(db, text)


def _is_database_error(exc: BaseException) -> bool:
    """An error of the database itself (SQLite, or psycopg when installed), not of vscm."""
    if isinstance(exc, sqlite3.Error):
        return True
    psycopg = sys.modules.get("psycopg")
    return psycopg is not None and isinstance(exc, psycopg.Error)


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise InputError(f"bad schema name {name!r}: letters, digits and _ only")
    return name


class Index:
    def __init__(self, db: _Db, target: str) -> None:
        self.db = db
        self.target = target

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- reading

    def cursor(self) -> Cursor | None:
        rows = self.db.query("SELECT block, hash FROM cursor WHERE id = 1")
        return Cursor(int(rows[0][0]), rows[0][1]) if rows else None

    def meta(self) -> dict[str, str]:
        return dict(self.db.query("SELECT name, value FROM meta"))

    def load_state(self) -> State:
        state = State()
        for tbl, k, data in self.db.query("SELECT tbl, k, data FROM records"):
            state.tables.setdefault(tbl, {})[k] = json.loads(data)
        state.counters = {name: int(value) for name, value in self.db.query("SELECT name, value FROM counters")}
        return state

    def records(self, table: str) -> dict[str, dict[str, Any]]:
        return {k: json.loads(d) for k, d in self.db.query("SELECT k, data FROM records WHERE tbl = ?", (table,))}

    def records_of(self, table: str, first: str) -> dict[str, dict[str, Any]]:
        """The records of ``table`` whose key is ``first:…`` (a loan's repayments, an order's documents):
        a range of the primary key, not the whole table."""
        rows = self.db.query("SELECT k, data FROM records WHERE tbl = ? AND k >= ? AND k < ?",
                             (table, f"{first}:", f"{first};"))  # ';' is the character after ':'
        return {k: json.loads(d) for k, d in rows}

    def record(self, table: str, k: str) -> dict[str, Any] | None:
        rows = self.db.query("SELECT data FROM records WHERE tbl = ? AND k = ?", (table, k))
        return json.loads(rows[0][0]) if rows else None

    def block_timestamp(self, number: int) -> int:
        rows = self.db.query("SELECT timestamp FROM blocks WHERE number = ?", (number,))
        if not rows:
            raise AuditError(f"block {number} is not in the index")
        return int(rows[0][0])

    def contracts(self) -> dict[str, str]:
        """Address -> artifact name of the platform's contracts, as the last update bound them.

        Raises:
            NotFound: the index was built before it recorded them (update it once).
        """
        text = self.meta().get("contracts")
        if text is None:
            raise NotFound(f"the index at {self.target} does not name its contracts yet: update it once "
                           "(run the command without --no-update)")
        return dict(json.loads(text))

    def raw_history(self, until: int | None = None) -> Iterator[tuple[RawLog, int]]:
        """Every stored platform log in chain order with its block's timestamp, up to timestamp ``until``."""
        sql = ("SELECT l.block_number, l.block_hash, l.tx_hash, l.tx_index, l.log_index, l.address, l.topics, l.data,"
               " b.timestamp FROM logs l JOIN blocks b ON b.number = l.block_number")
        params: tuple[Any, ...] = ()
        if until is not None:
            sql, params = sql + " WHERE b.timestamp <= ?", (until,)
        for b, bh, tx, ti, li, a, t, d, ts in self.db.query(sql + " ORDER BY l.block_number, l.log_index", params):
            yield RawLog(int(b), bh, tx, int(ti), int(li), a, tuple(json.loads(t)), d), int(ts)

    def findings(self) -> list[dict[str, Any]]:
        return [json.loads(d) for (d,) in self.db.query("SELECT data FROM findings ORDER BY id")]

    @staticmethod
    def _loan_filter(lender: str | None, borrower: str | None) -> tuple[str, list[Any]]:
        where, params = [], []
        for column, value in (("lender", lender), ("borrower", borrower)):
            if value:
                where.append(f"l.{column} = ?")
                params.append(value)
        return (" WHERE " + " AND ".join(where) if where else ""), params

    def loans_of(self, lender: str | None = None, borrower: str | None = None, *, limit: int | None = None,
                 offset: int = 0) -> list[dict[str, Any]]:
        """The loans by lender and/or borrower in loan id order, ``limit`` of them from ``offset`` (all by
        default): one query (the loans table's index, each loan's record by its key)."""
        where, params = self._loan_filter(lender, borrower)
        join = "SELECT l.loan_id, r.data FROM loans l JOIN records r ON r.tbl = 'loans' AND r.k = CAST(l.loan_id AS TEXT)"
        if limit is not None:
            # The page's ids from the (lender|borrower, loan_id) index first, then only their records.
            sql = (join + f" WHERE l.loan_id IN (SELECT l.loan_id FROM loans l{where} ORDER BY l.loan_id LIMIT ? OFFSET ?)"
                   " ORDER BY l.loan_id")
            params = [*params, limit, offset]
        else:
            sql = join + where + " ORDER BY l.loan_id"
        return [{"loanId": int(i), **json.loads(d)} for i, d in self.db.query(sql, params)]

    def loans_with_assets(self, lender: str) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        """The lender's loans in loan id order, each with its collateral's asset record (None when the
        index has none): one query instead of one per loan."""
        rows = self.db.query("SELECT l.loan_id, r.data, a.data FROM loans l"
                             " JOIN records r ON r.tbl = 'loans' AND r.k = CAST(l.loan_id AS TEXT)"
                             " LEFT JOIN records a ON a.tbl = 'assets' AND a.k = CAST(l.asset_id AS TEXT)"
                             " WHERE l.lender = ? ORDER BY l.loan_id", (lender,))
        return [({"loanId": int(i), **json.loads(d)}, json.loads(a) if a is not None else None) for i, d, a in rows]

    def count_loans(self, lender: str | None = None, borrower: str | None = None) -> int:
        where, params = self._loan_filter(lender, borrower)
        return int(self.db.query("SELECT COUNT(*) FROM loans l" + where, params)[0][0])

    def loan_logs(self, loan_id: int) -> list[tuple[RawLog, int]]:
        """The stored logs about loan ``loan_id`` (see ``LOAN_CONTRACTS``) in chain order, each with its
        block's timestamp. Some may not be about it after all (an index written before ``loan_logs``
        existed answers every log of those contracts): the caller decodes and checks."""
        columns = ("SELECT l.block_number, l.block_hash, l.tx_hash, l.tx_index, l.log_index, l.address, l.topics,"
                   " l.data, b.timestamp FROM ")
        if self.meta().get("loan_logs") == "1":
            rows = self.db.query(columns + "loan_logs x JOIN logs l ON l.block_number = x.block_number AND"
                                 " l.log_index = x.log_index JOIN blocks b ON b.number = l.block_number"
                                 " WHERE x.loan_id = ? ORDER BY l.block_number, l.log_index", (loan_id,))
        else:
            rows = self.db.query(columns + "logs l JOIN blocks b ON b.number = l.block_number"
                                 " ORDER BY l.block_number, l.log_index")
        return [(RawLog(int(b), bh, tx, int(ti), int(li), a, tuple(json.loads(t)), d), int(ts))
                for b, bh, tx, ti, li, a, t, d, ts in rows]

    def hops(self, loan_id: int) -> list[dict[str, Any]]:
        rows = self.db.query("SELECT hop, payee, amount, purpose, block, tx FROM hops WHERE loan_id = ? ORDER BY hop",
                             (loan_id,))
        return [{"hop": int(h), "to": p, "amount": int(a), "purpose": pu, "block": int(b), "tx": t}
                for h, p, a, pu, b, t in rows]

    # ---------------------------------------------------------------- writing

    def _bind(self, deployment: Any) -> None:
        ident = f"{deployment.chain_id}:{deployment.registry}"
        with self.db.locked():
            meta = self.meta()
            if not meta:
                self.db.execute("INSERT INTO meta (name, value) VALUES (?, ?)", ("deployment", ident))
                self.db.execute("INSERT INTO meta (name, value) VALUES (?, ?)", ("network", deployment.network))
                meta = {"deployment": ident}
        if meta.get("deployment") != ident:
            raise InputError(f"the index at {self.target} holds deployment {meta.get('deployment')}, not {ident}: "
                             "use another index")
        # Which contract wrote each stored log: readers of the raw history (vscm.underwriting) decode with it.
        contracts = json.dumps(contracts_of(deployment), sort_keys=True)
        if meta.get("contracts") != contracts:
            with self.db.locked():
                known = json.loads(self.meta().get("contracts") or "{}")
                if known and set(contracts_of(deployment)) - set(known):
                    # A contract joined the deployment (the council's Safe and timelock): its events since the
                    # deployment's first block are not in the stored history, so the index is folded again.
                    for table in (*STATE_TABLES, "blocks", "logs", "cursor"):
                        self.db.execute(f"DELETE FROM {table}")
                self.db.execute("INSERT INTO meta (name, value) VALUES (?, ?)"
                                " ON CONFLICT (name) DO UPDATE SET value = excluded.value", ("contracts", contracts))

    def _flush(self, state: State, findings: list[Finding], headers: list[Header], logs: list[RawLog],
               cursor: Header | None, expected: tuple[int, str] | None) -> None:
        """Write one window and move the cursor to ``cursor``, in one transaction under the write lock,
        if the stored cursor is still ``expected`` (where ``state`` was read); else raise ``_Raced``."""
        with self.db.locked():
            if _key(self.cursor()) != expected:
                raise _Raced
            self._write(state, findings, headers, logs, cursor)

    def _write(self, state: State, findings: list[Finding], headers: list[Header], logs: list[RawLog],
               cursor: Header | None) -> None:
        db = self.db
        db.executemany("INSERT INTO blocks (number, hash, parent_hash, timestamp, receipts_root) VALUES (?, ?, ?, ?, ?)"
                       " ON CONFLICT (number) DO UPDATE SET hash = excluded.hash, parent_hash = excluded.parent_hash,"
                       " timestamp = excluded.timestamp, receipts_root = excluded.receipts_root",
                       [(h.number, h.hash, h.parent_hash, h.timestamp, h.receipts_root) for h in headers])
        db.executemany("INSERT INTO logs (block_number, log_index, block_hash, tx_hash, tx_index, address, topics, data)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (block_number, log_index) DO NOTHING",
                       [(lg.block_number, lg.log_index, lg.block_hash, lg.tx_hash, lg.tx_index, lg.address,
                         json.dumps(list(lg.topics)), lg.data) for lg in logs])
        dirty = state.take_dirty()
        rows = [(tbl, k, json.dumps(state.tables[tbl][k])) for tbl, keys in dirty.items() for k in keys]
        db.executemany("INSERT INTO records (tbl, k, data) VALUES (?, ?, ?)"
                       " ON CONFLICT (tbl, k) DO UPDATE SET data = excluded.data", rows)
        db.executemany("INSERT INTO counters (name, value) VALUES (?, ?)"
                       " ON CONFLICT (name) DO UPDATE SET value = excluded.value", list(state.counters.items()))
        loans = [(int(k), *_loan_row(state.tables["loans"][k])) for k in dirty.get("loans", ())]
        db.executemany("INSERT INTO loans (loan_id, lender, borrower, mode, status, currency, principal, principal_repaid,"
                       " interest_accrued, interest_paid, written_off, rate_bps, last_accrual, maturity, asset_id,"
                       " purpose_order_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                       " ON CONFLICT (loan_id) DO UPDATE SET lender = excluded.lender, borrower = excluded.borrower,"
                       " mode = excluded.mode, status = excluded.status, currency = excluded.currency,"
                       " principal = excluded.principal, principal_repaid = excluded.principal_repaid,"
                       " interest_accrued = excluded.interest_accrued, interest_paid = excluded.interest_paid,"
                       " written_off = excluded.written_off, rate_bps = excluded.rate_bps,"
                       " last_accrual = excluded.last_accrual, maturity = excluded.maturity,"
                       " asset_id = excluded.asset_id, purpose_order_id = excluded.purpose_order_id", loans)
        db.executemany("INSERT INTO loan_logs (loan_id, block_number, log_index) VALUES (?, ?, ?)"
                       " ON CONFLICT (loan_id, block_number, log_index) DO NOTHING", self._about_loans(logs))
        hops = []
        for k in dirty.get("hops", ()):
            h = state.tables["hops"][k]
            hops.append((h["loanId"], h["hop"], h["to"], str(h["amount"]), h["purpose"], h["block"], h["tx"]))
        db.executemany("INSERT INTO hops (loan_id, hop, payee, amount, purpose, block, tx) VALUES (?, ?, ?, ?, ?, ?, ?)"
                       " ON CONFLICT (loan_id, hop) DO NOTHING", hops)
        if findings:
            first = int(self.db.query("SELECT COALESCE(MAX(id), 0) FROM findings")[0][0]) + 1
            db.executemany("INSERT INTO findings (id, data) VALUES (?, ?)",
                           [(first + i, json.dumps(f.to_json())) for i, f in enumerate(findings)])
            findings.clear()
        if cursor is not None:
            db.execute("INSERT INTO cursor (id, block, hash) VALUES (1, ?, ?)"
                       " ON CONFLICT (id) DO UPDATE SET block = excluded.block, hash = excluded.hash",
                       (cursor.number, cursor.hash))
        db.commit()

    def _about_loans(self, logs: list[RawLog]) -> list[tuple[int, int, int]]:
        """(loan id, block, log index) of each log that names a loan."""
        from vscm.audit.decode import decoder_for

        names = self.contracts()
        out = []
        for lg in logs:
            name = names.get(lg.address)
            if name not in LOAN_CONTRACTS:
                continue
            ev = decoder_for(name).decode(lg)
            if ev is None:
                continue
            about = ev.args.get("loanId")
            if about is None and ev.name == "AlertRaised" and ev.args.get("subject") == 0:
                about = ev.args.get("subjectId")
            if isinstance(about, int):
                out.append((about, lg.block_number, lg.log_index))
        return out

    def _index_loan_logs(self) -> None:
        """Fill ``loan_logs`` from the stored logs once (an index written before it existed)."""
        if self.meta().get("loan_logs") == "1":
            return
        with self.db.locked():
            history = [lg for lg, _ in self.raw_history()]
            self.db.executemany("INSERT INTO loan_logs (loan_id, block_number, log_index) VALUES (?, ?, ?)"
                                " ON CONFLICT (loan_id, block_number, log_index) DO NOTHING", self._about_loans(history))
            self.db.execute("INSERT INTO meta (name, value) VALUES ('loan_logs', '1')"
                            " ON CONFLICT (name) DO UPDATE SET value = excluded.value")
            self.db.commit()

    def update(self, source: Source, deployment: Any, to_block: int | None = None, *, window: int = 2000,
               receipts: bool = False, progress: Any = None) -> UpdateReport:
        """Fold the blocks after the cursor up to ``to_block`` (default: the head), first rolling back
        to the fork point if the chain reorganised since the last update.

        Safe to run in several processes at once: a window is written only if the cursor has not moved
        since its state was read; if it has, the update starts again from the new cursor.

        Raises:
            InputError: the database refused a write (a full disk, a read-only file); the windows
                written before are kept, the next update continues from them."""
        try:
            return self._update(source, deployment, to_block, window=window, receipts=receipts, progress=progress)
        except Exception as exc:
            if not _is_database_error(exc):
                raise
            raise InputError(f"cannot write the index at {self.target}: {str(exc).strip() or type(exc).__name__}; "
                             "free disk space (or make it writable) and run the command again: the windows "
                             "already written are kept") from None

    def _update(self, source: Source, deployment: Any, to_block: int | None, *, window: int, receipts: bool,
                progress: Any) -> UpdateReport:
        self._bind(deployment)
        self._index_loan_logs()
        head = source.head()
        stop = head if to_block is None else min(to_block, head)
        reorg_at = None
        while True:
            # The cursor and the state it belongs to, read in one transaction (no window lands between).
            with self.db.locked():
                cursor = self.cursor()
                state = self.load_state()
                previous = self._header(cursor.block) if cursor is not None else None
            if cursor is not None:
                theirs = source.headers(cursor.block, cursor.block) if cursor.block <= head else []
                if not theirs or theirs[0].hash != cursor.hash:
                    reorg_at = self._fork_point(source, cursor.block, head)
                    try:
                        self._rollback(deployment, reorg_at, expected=_key(cursor))
                    except _Raced:
                        pass
                    continue
            start = deployment.block if cursor is None else cursor.block + 1
            if stop < start:
                return UpdateReport(start, stop, 0, reorg_at, [])
            try:
                return self._fold(source, deployment, state, start, stop, previous, window=window, receipts=receipts,
                                  progress=progress, reorg_at=reorg_at, expected=_key(cursor))
            except _Raced:
                continue

    def _fold(self, source: Source, deployment: Any, state: State, start: int, stop: int, previous: Header | None,
              *, window: int, receipts: bool, progress: Any, reorg_at: int | None,
              expected: tuple[int, str] | None) -> UpdateReport:
        result = ReplayResult(state, start, stop)
        all_findings: list[Finding] = []
        seen = len(state.findings)
        at = expected

        def on_window(headers: list[Header], logs: list[RawLog]) -> None:
            nonlocal seen, at
            new = [*result.findings, *state.findings[seen:]]
            seen = len(state.findings)
            result.findings.clear()
            all_findings.extend(new)
            cursor = headers[-1] if headers else None
            self._flush(state, new, headers, logs, cursor, at)
            if cursor is not None:
                at = (cursor.number, cursor.hash)

        try:
            replay_into(result, source, deployment, start, stop, window=window, receipts=receipts,
                        previous=previous, on_window=on_window, progress=progress)
        except BaseException:
            self.db.rollback()
            raise
        return UpdateReport(start, stop, result.events, reorg_at, all_findings)

    def _header(self, number: int) -> Header | None:
        rows = self.db.query("SELECT number, hash, parent_hash, timestamp, receipts_root FROM blocks WHERE number = ?",
                             (number,))
        return Header(int(rows[0][0]), rows[0][1], rows[0][2], int(rows[0][3]), rows[0][4]) if rows else None

    def _fork_point(self, source: Source, from_block: int, head: int) -> int:
        """The last block the index and the chain agree on."""
        number = min(from_block, head)
        while number >= 0:
            first = max(0, number - 63)
            ours = {int(n): h for n, h in self.db.query("SELECT number, hash FROM blocks WHERE number BETWEEN ? AND ?",
                                                        (first, number))}
            for header in reversed(source.headers(first, number)):
                if ours.get(header.number) == header.hash:
                    return header.number
            number = first - 1
        return -1

    def _rollback(self, deployment: Any, fork: int, expected: tuple[int, str] | None) -> None:
        """Forget everything after ``fork`` and rebuild the state up to it from the stored logs, in one
        transaction, if the cursor is still ``expected`` (else raise ``_Raced``: another updater did it)."""
        db = self.db
        with db.locked():
            if _key(self.cursor()) != expected:
                raise _Raced
            db.execute("DELETE FROM blocks WHERE number > ?", (fork,))
            db.execute("DELETE FROM logs WHERE block_number > ?", (fork,))
            for table in STATE_TABLES:
                db.execute(f"DELETE FROM {table}")
            db.execute("DELETE FROM cursor")
            if fork >= deployment.block:
                self._fold(_IndexSource(self), deployment, State(), deployment.block, fork, None, window=10_000,
                           receipts=False, progress=None, reorg_at=None, expected=None)


class _IndexSource(Source):
    """The index's own stored blocks and logs, for re-folding after a rollback."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.name = f"index {index.target}"

    @property
    def live(self) -> bool:
        return False

    def head(self) -> int:
        return int(self.index.db.query("SELECT COALESCE(MAX(number), -1) FROM blocks")[0][0])

    def headers(self, start: int, stop: int) -> list[Header]:
        rows = self.index.db.query("SELECT number, hash, parent_hash, timestamp, receipts_root FROM blocks"
                                   " WHERE number BETWEEN ? AND ? ORDER BY number", (start, stop))
        return [Header(int(n), h, p, int(t), r) for n, h, p, t, r in rows]

    def logs(self, start: int, stop: int, addresses: list[str]) -> list[RawLog]:
        rows = self.index.db.query("SELECT block_number, block_hash, tx_hash, tx_index, log_index, address, topics, data"
                                   " FROM logs WHERE block_number BETWEEN ? AND ? ORDER BY block_number, log_index",
                                   (start, stop))
        wanted = set(addresses)
        return [RawLog(int(b), bh, tx, int(ti), int(li), a, tuple(json.loads(t)), d)
                for b, bh, tx, ti, li, a, t, d in rows if a in wanted]

    def receipt_logs(self, tx_hashes: list[str]) -> dict[str, list[RawLog]]:
        raise AuditError("the index re-folds its own stored logs without receipts")


def _key(cursor: Cursor | None) -> tuple[int, str] | None:
    return (cursor.block, cursor.hash) if cursor is not None else None


def _loan_row(loan: dict[str, Any]) -> tuple[Any, ...]:
    return (loan["lender"], loan["borrower"], loan["mode"], loan["status"], loan["currency"], str(loan["principal"]),
            str(loan["principalRepaid"]), str(loan["interestAccrued"]), str(loan["interestPaid"]),
            str(loan["writtenOff"]), loan["rateBps"], loan["lastAccrual"], loan["maturity"], loan["assetId"],
            loan["purposeOrderId"])

