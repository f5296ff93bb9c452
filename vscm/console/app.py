"""The console: an ASGI app (FastAPI) with the JSON API (OpenAPI at ``/openapi.json``, docs at
``/docs``) and the server-rendered pages (Jinja2), both read from the lenders' index.

A party signs in with its own key: Sign-In with Ethereum in the page (``GET /auth/nonce``, the
wallet signs the EIP-4361 message, ``POST /auth/siwe``; the session is a signed cookie), or a script
token from ``vscm serve token`` sent as ``Authorization: Bearer``. The server never sees a key.

The index is kept up to date by one background thread (``Console.start``): it folds the blocks after
the cursor, then checks the rebuilt state against the contracts' views at that block (the replay's
verdict on the audit page). Each request opens its own connection to the index.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from eth_utils import is_address, to_checksum_address
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Security
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import AfterValidator, BaseModel, BeforeValidator, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Match

from vscm import __version__
from vscm.console import certificates as certificate_views
from vscm.console import siwe, views
from vscm.console.scope import OutOfScope, Party, whois
from vscm.errors import ContractRevert, InputError, NotFound, VscmError
from vscm.index import Index, open_index

__all__ = ["Console", "ConsoleConfig", "create_app", "vendor_dir"]

log = logging.getLogger("vscm.console")
HERE = Path(__file__).parent
#: How long a browser session lasts after signing in.
SESSION_SECONDS = 8 * 3600
#: How long a nonce handed out by /auth/nonce may be used.
NONCE_SECONDS = 600
#: Bearer tokens whose signature was checked, kept so that a script's next requests skip the ~2 ms recovery
#: (forgotten all at once when this many are kept).
TOKENS_KEPT = 4096
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ExportKind = Literal["loans", "repayments", "trails", "alerts"]
ExportFormat = Literal["csv", "xlsx"]
#: An address in a path or a query: 0x and 40 hex digits in any case (the answers give its EIP-55 form).
ADDRESS_PATTERN = "^0x[0-9a-fA-F]{40}$"
SESSION_COOKIE = "vscm_session"
#: Loans per page of GET /api/loans by default, and at most.
PAGE, MAX_PAGE = 50, 500


def vendor_dir() -> Path:
    """Where the JS libraries from npm are (``node_modules`` of the checkout: ``make install`` runs npm ci)."""
    return HERE.parents[1] / "node_modules"


#: Browser libraries served from npm's copy under /static/vendor (never from a CDN at run time).
VENDOR = {"echarts.min.js": "echarts/dist/echarts.min.js", "ethers.umd.min.js": "ethers/dist/ethers.umd.min.js"}


@dataclass(frozen=True)
class ConsoleConfig:
    """Built once by ``vscm serve`` (or a test): where the index is and which deployment it holds.

    Args:
        index: a SQLite path or a ``postgresql://`` URL; ``schema``: its PostgreSQL schema.
        deployment: the platform's manifest (a ``Deployment``).
        chain: gives the chain for the background updater (None: serve the index as it is); the
            caller that opened the chain closes it.
        interval: seconds between background updates.
        secret: signs the session cookies (random per process when not given).
        domain: the host name sign-in messages must name (default: the request's Host header).
    """

    index: str
    deployment: Any
    chain: Callable[[], Any] | None = None
    schema: str | None = None
    interval: float = 5.0
    secret: str = field(default_factory=lambda: secrets.token_hex(32))
    domain: str | None = None


class Console:
    """The app's state: its configuration, the background updater and the replay's last verdict."""

    def __init__(self, config: ConsoleConfig) -> None:
        self.config = config
        self.verdict: dict[str, Any] | None = None
        self.last_error: str | None = None
        #: bearer token -> (its address, valid from, valid until) in Unix seconds
        self.tokens: dict[str, tuple[str, float, float]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._chain: Any = None
        #: the index has caught up with the chain once (until then it is a partial state: who is who may
        #: not be folded yet); always true for a console that serves the index as it is
        self.caught_up = config.chain is None

    def open(self, create: bool = False) -> Index:
        """The index: per request (``create`` False) without creating its tables again, which the updater
        and ``vscm serve`` did (about 2 ms a request on SQLite)."""
        return open_index(self.config.index, schema=self.config.schema, create=create, tables=create)

    def chain(self) -> Any:
        """The chain the console reads and sends to (None when it serves the index as it is)."""
        if self._chain is None and self.config.chain is not None:
            self._chain = self.config.chain()
        return self._chain

    def refresh(self) -> None:
        """Fold the new blocks into the index, then check the state against the contracts' views."""
        from vscm.audit.source import source_for
        from vscm.audit.verify import verify

        if self.chain() is None:
            return
        deployment = self.config.deployment
        with self.open(create=True) as index:
            index.update(source_for(self._chain), deployment)
            cursor = index.cursor()
            if cursor is None:
                return
            if self.verdict is None or self.verdict["block"] != cursor.block:
                found = verify(index.load_state(), self._chain.w3, deployment, cursor.block)
                self.verdict = {"block": cursor.block, "time": views.iso(index.block_timestamp(cursor.block)),
                                "checked_at": siwe.iso(datetime.now(UTC)),
                                "findings": [f.to_json() for f in found]}
        self.last_error = None
        self.caught_up = True
        from vscm.console import notify

        with self.open() as index:  # after the update: a slow webhook does not hold back the pages
            notify.dispatch(index, deployment)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception as exc:  # noqa: BLE001 - any failure: the console keeps serving the index as it is, and says why
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("index update failed: %s", self.last_error)
            self._stop.wait(self.config.interval)

    def start(self) -> None:
        if self.config.chain is not None and self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="vscm-console-updater", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


class Problem(BaseModel):
    """Why a request failed: one sentence saying what to do instead, or (422 from the request's own
    validation) FastAPI's list of the fields that are wrong."""

    detail: str | list[dict[str, Any]]


#: What each error status of the API means; every operation lists those it can answer.
ERRORS = {
    400: "the request body cannot be read (not JSON)",
    401: "not signed in: no session and no bearer token, or the token is invalid or expired",
    403: "signed in, but outside the party's scope (the detail says what it may see instead)",
    404: "no such record in the index",
    409: "the chain refuses the transaction (the detail names the contract's error)",
    422: "a parameter or the body is malformed, or names something that cannot be (an empty period ...)",
    503: "the index is still being built from the chain (retry after Retry-After), or this console has no chain",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI responses of an API operation: the signed-in ones (401, 403, 422, 503) and ``codes``."""
    return {code: {"model": Problem, "description": ERRORS[code]} for code in sorted({401, 403, 422, 503, *codes})}


def _checksummed(text: str | None) -> str | None:
    return None if text is None else str(to_checksum_address(text.lower()))


AddressPath = Annotated[str, PathParam(pattern=ADDRESS_PATTERN, description="An address: 0x and 40 hex digits, any case."),
                        AfterValidator(_checksummed)]
AddressQuery = Annotated[str | None, Query(pattern=ADDRESS_PATTERN, description="An address: 0x and 40 hex digits, "
                                                                                 "any case."),
                         AfterValidator(_checksummed)]
def _iso_day(value: Any) -> Any:
    """A UTC day as ``YYYY-MM-DD`` only (the OpenAPI ``date`` format), not a number of seconds nor ``YYYYMMDD``."""
    if isinstance(value, str) and not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError(f"{value!r} is not a day as YYYY-MM-DD")
    return value


#: A UTC day in a query (inclusive bounds of a period).
Day = Annotated[date | None, BeforeValidator(_iso_day), Query(description="A UTC day, YYYY-MM-DD.")]
#: A block number in a query.
Block = Annotated[int | None, Query(ge=0)]
#: The two ways to authenticate (either one), as the OpenAPI document declares them.
BEARER = HTTPBearer(auto_error=False, scheme_name="token",
                    description="A token of `vscm serve token --wallet NAME`: an EIP-4361 message signed by the "
                                "party's key, with an expiry.")
SESSION = APIKeyCookie(name=SESSION_COOKIE, auto_error=False, scheme_name="session",
                       description="The session cookie of Sign-In with Ethereum (/auth/nonce, then /auth/siwe).")


class DecisionRequest(BaseModel):
    """A lender's decision on a warned loan."""

    decision: Literal["continue", "recall"]


class SignedTx(BaseModel):
    """A transaction signed by the party's own wallet (hex)."""

    raw: str = Field(pattern="^(0x)?([0-9a-fA-F]{2})+$")


class WebhookRequest(BaseModel):
    """A lender's webhook: where to POST, the HMAC secret (16+ characters) and the event kinds."""

    url: str = Field(pattern=r"^https?://[^\s/?#]+\S*$")
    secret: str = Field(min_length=16)
    kinds: list[Literal["alert", "margin_call", "decision_deadline", "fraud_exposure"]] = Field(
        default=["alert", "margin_call", "decision_deadline", "fraud_exposure"], min_length=1)


class SignIn(BaseModel):
    """A signed EIP-4361 message."""

    message: str
    signature: str


# ---------------------------------------------------------------------- dependencies (module level:
# FastAPI resolves the string annotations of ``from __future__ import annotations`` in this module)

def index_dep(request: Request) -> Iterator[Index]:
    """A connection to the index for one request."""
    with request.app.state.console.open() as index:
        yield index


IndexDep = Annotated[Index, Depends(index_dep)]


def signed_in(request: Request) -> str | None:
    """The address that signed in (bearer token or session cookie), or None."""
    config: ConsoleConfig = request.app.state.console.config
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        token, now = header[7:].strip(), datetime.now(UTC)
        tokens: dict[str, tuple[str, float, float]] = request.app.state.console.tokens
        known = tokens.get(token)  # its signature checked before: only its validity period is checked again
        if known is not None and known[1] <= now.timestamp() < known[2]:
            return known[0]
        try:
            message = siwe.read_token(token, chain_id=config.deployment.chain_id,
                                      registry=config.deployment.registry, now=now)
        except siwe.SiweError as exc:
            raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from None
        if len(tokens) >= TOKENS_KEPT:
            tokens.clear()
        tokens[token] = (message.address, _moment(message.not_before, 0.0), _moment(message.expiration_time, 0.0))
        return message.address
    address = request.session.get("address")
    if address and request.session.get("expires", 0) > datetime.now(UTC).timestamp():
        return str(address)
    return None


def _moment(text: str | None, default: float) -> float:
    """An EIP-4361 time (``2026-12-06T11:02:42Z``) as Unix seconds; ``default`` when there is none."""
    return default if text is None else datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def party_dep(request: Request, index: IndexDep,
              _token: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
              _session: Annotated[str | None, Security(SESSION)]) -> Party:
    """The signed-in party (401 when nobody is); ``signed_in`` reads the token or the session that the
    two security parameters declare in the OpenAPI document."""
    address = signed_in(request)
    if address is None:
        raise HTTPException(401, "sign in first: Sign-In with Ethereum at /login, or a bearer token from "
                                 "`vscm serve token --wallet NAME`", headers={"WWW-Authenticate": "Bearer"})
    console: Console = request.app.state.console
    if not console.caught_up or index.cursor() is None:  # who is who is known once the index caught up
        failed = console.last_error
        raise HTTPException(503, "the index is still being built from the chain: try again in a moment"
                            + (f" (the last update failed: {failed})" if failed else ""), headers={"Retry-After": "5"})
    return whois(index, request.app.state.console.config.deployment, address)


PartyDep = Annotated[Party, Depends(party_dep)]


def create_app(config: ConsoleConfig, *, background: bool = True) -> FastAPI:
    """The console app for ``config``; ``background`` starts the index updater with the app."""
    console = Console(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        if background:
            console.start()
        try:
            yield
        finally:
            console.stop()

    app = FastAPI(title="VSCM console", version=__version__, lifespan=lifespan,
                  description="The lenders', members', auditors' and council's view of the platform, read from "
                              "the lenders' index. Authenticate with a session from Sign-In with Ethereum "
                              "(/auth/nonce, /auth/siwe) or `Authorization: Bearer <token of vscm serve token>`.")
    app.state.console = console
    app.add_middleware(SessionMiddleware, secret_key=config.secret, max_age=SESSION_SECONDS, same_site="strict",
                       session_cookie=SESSION_COOKIE)
    templates = Jinja2Templates(directory=str(HERE / "templates"))

    def directory(index: Index) -> views.Directory:
        return views.Directory(index, config.deployment)

    def address_of(text: str) -> str:
        if not is_address(text):
            raise HTTPException(422, f"bad address {text!r}: 0x and 40 hex digits")
        return str(to_checksum_address(text))

    @app.exception_handler(OutOfScope)
    async def out_of_scope(request: Request, exc: OutOfScope) -> Response:
        if _wants_html(request):
            return templates.TemplateResponse(request, "error.html", {"status": 403, "message": str(exc)},
                                              status_code=403)
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = exc.headers
        if exc.status_code == 405:  # Starlette names the methods of the first route on the path only
            allowed = {m for r in app.router.routes if getattr(r, "methods", None)
                       and r.matches(request.scope)[0] != Match.NONE for m in r.methods}  # type: ignore[attr-defined]
            headers = {**(headers or {}), "Allow": ", ".join(sorted(allowed))}
        if _wants_html(request):
            if exc.status_code == 401:
                return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
            return templates.TemplateResponse(request, "error.html", {"status": exc.status_code,
                                                                      "message": exc.detail},
                                              status_code=exc.status_code)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    # ------------------------------------------------------------------ sign-in

    @app.get("/auth/nonce", tags=["auth"])
    def nonce(request: Request) -> dict[str, Any]:
        """A fresh nonce and the fields the sign-in message must carry (domain, URI, chain id)."""
        value = siwe.new_nonce()
        request.session["nonce"] = value
        request.session["nonce_expires"] = datetime.now(UTC).timestamp() + NONCE_SECONDS
        return {"nonce": value, "domain": config.domain or request.url.netloc,
                "uri": str(request.base_url).rstrip("/"), "chain_id": config.deployment.chain_id,
                "issued_at": siwe.iso(datetime.now(UTC)), "statement": "Sign in to the VSCM console."}

    @app.post("/auth/siwe", tags=["auth"], responses={
        401: {"model": Problem, "description": "no nonce for this session, or the message or signature is wrong"}})
    def sign_in(request: Request, body: SignIn, index: IndexDep) -> dict[str, Any]:
        """Check a signed EIP-4361 message against the nonce this session was given; open the session."""
        expected = request.session.pop("nonce", None)
        if expected is None or request.session.pop("nonce_expires", 0) < datetime.now(UTC).timestamp():
            raise HTTPException(401, "no nonce for this session (or it expired): GET /auth/nonce first")
        try:
            message = siwe.verify(body.message, body.signature, domain=config.domain or request.url.netloc,
                                  chain_id=config.deployment.chain_id, now=datetime.now(UTC), nonce=expected)
        except siwe.SiweError as exc:
            raise HTTPException(401, str(exc)) from None
        request.session["address"] = message.address
        request.session["expires"] = datetime.now(UTC).timestamp() + SESSION_SECONDS
        return whois(index, config.deployment, message.address).to_json()

    @app.post("/auth/logout", tags=["auth"])
    def sign_out(request: Request) -> dict[str, Any]:
        request.session.clear()
        return {"signed_in": False}

    # ------------------------------------------------------------------ the JSON API

    @app.get("/api/me", tags=["api"], responses=errors())
    def me(party: PartyDep) -> dict[str, Any]:
        """Who is signed in, and what the registry says it is (any signed-in address may ask)."""
        return party.to_json()

    @app.get("/api/lenders/{address}/portfolio", tags=["lender"], responses=errors())
    def api_portfolio(address: AddressPath, party: PartyDep, index: IndexDep) -> dict[str, Any]:
        """The lender's outstanding principal, accrued interest and write-offs, per mode and currency."""
        lender = address
        party.see_lender(lender)
        return views.portfolio_view(directory(index), lender)

    @app.get("/api/lenders/{address}/exposure", tags=["lender"], responses=errors())
    def api_exposure(address: AddressPath, party: PartyDep, index: IndexDep) -> dict[str, Any]:
        """What the lender stands to lose on open loans, per currency, by borrower and supply chain."""
        lender = address
        party.see_lender(lender)
        return views.exposure_view(directory(index), lender)

    @app.get("/api/lenders/{address}/maturities", tags=["lender"], responses=errors())
    def api_maturities(address: AddressPath, party: PartyDep, index: IndexDep) -> dict[str, Any]:
        """The lender's running loans by time to maturity, per currency."""
        lender = address
        party.see_lender(lender)
        return views.maturity_ladder(directory(index), lender)

    @app.get("/api/lenders/{address}/alerts", tags=["lender"], responses=errors())
    def api_alerts(address: AddressPath, party: PartyDep, index: IndexDep) -> dict[str, Any]:
        """Warned loans waiting for the lender's decision, with the time left."""
        lender = address
        party.see_lender(lender)
        return views.alerts_waiting(directory(index), lender)

    @app.get("/api/lenders/{address}/defaults", tags=["lender"], responses=errors())
    def api_defaults(address: AddressPath, party: PartyDep, index: IndexDep) -> dict[str, Any]:
        """The lender's loans in default."""
        lender = address
        party.see_lender(lender)
        return views.defaults(directory(index), lender)

    @app.get("/api/lenders/{address}/webhooks", tags=["lender"], responses=errors())
    def api_webhooks(address: AddressPath, party: PartyDep, index: IndexDep) -> dict[str, Any]:
        """The lender's webhook subscriptions (secrets not shown)."""
        from vscm.console import notify

        lender = address
        party.see_lender(lender)
        return {"lender": directory(index).party(lender), "webhooks": notify.webhooks(index, lender)}

    @app.post("/api/lenders/{address}/webhooks", tags=["lender"], responses=errors(400))
    def api_subscribe(address: AddressPath, body: WebhookRequest, party: PartyDep, index: IndexDep) -> dict[str, Any]:
        """Subscribe a webhook to the lender's own loans' alerts, margin calls, decision deadlines and fraud
        exposure: HMAC-SHA256-signed JSON (``X-VSCM-Signature`` over ``X-VSCM-Timestamp`` + "." + body),
        retried with backoff. Only the lender itself subscribes."""
        from vscm.console import notify

        lender = address
        party.act_for_lender(lender)
        try:
            return notify.subscribe(index, lender, body.url, body.secret, body.kinds)
        except InputError as exc:
            raise HTTPException(422, str(exc)) from exc

    @app.get("/api/lenders/{address}/webhooks/deliveries", tags=["lender"], responses=errors())
    def api_deliveries(address: AddressPath, party: PartyDep, index: IndexDep) -> dict[str, Any]:
        """Every delivery attempt to the lender's webhooks: event, attempt, time, HTTP status, error."""
        from vscm.console import notify

        lender = address
        party.see_lender(lender)
        return {"lender": directory(index).party(lender), "deliveries": notify.deliveries(index, lender)}

    @app.get("/api/lenders/{address}/exports/{kind}", tags=["lender"],
             responses={**errors(), 200: {"content": {"text/csv": {}, XLSX: {}}}})
    def api_export(address: AddressPath, kind: ExportKind, party: PartyDep, index: IndexDep,
                   format: ExportFormat = "csv", start: Day = None, end: Day = None) -> Response:
        """The lender's loans, repayments, money trails or alerts as CSV or XLSX, one currency column,
        amounts as decimals of their currency, optionally from ``start`` to ``end`` (UTC days, inclusive)."""
        from vscm.console import exports

        lender = address
        party.see_lender(lender)
        table = exports.rows(directory(index), lender, kind, start, end)
        name = f"{kind}-{lender[:10]}"
        if format == "xlsx":
            return Response(exports.to_xlsx(table, kind), media_type=XLSX,
                            headers={"content-disposition": f'attachment; filename="{name}.xlsx"'})
        return Response(exports.to_csv(table), media_type="text/csv",
                        headers={"content-disposition": f'attachment; filename="{name}.csv"'})

    @app.get("/api/loans", tags=["loans"], responses=errors())
    def api_loans(party: PartyDep, index: IndexDep, lender: AddressQuery = None, borrower: AddressQuery = None,
                  limit: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Loans per page.")] = PAGE,
                  offset: Annotated[int, Query(ge=0, description="Loans skipped (loan id order).")] = 0,
                  ) -> dict[str, Any]:
        """Loans by lender and/or borrower, a page of ``limit`` in loan id order from ``offset``, with the
        ``total``; without either filter, the loans the party lends, borrows or guarantees (every loan for
        auditors and the council)."""
        who = [lender, borrower]
        party.see_loans(who[0], who[1])
        mine = None if party.sees_all or any(who) else party.address
        return views.loan_list(directory(index), lender=who[0], borrower=who[1], party=mine, limit=limit,
                               offset=offset)

    @app.get("/api/loans/{loan_id}", tags=["loans"], responses=errors(404))
    def api_loan(loan_id: int, party: PartyDep, index: IndexDep) -> dict[str, Any]:
        """One loan: figures, collateral, documents, money trail, repayments and the timeline of its events."""
        return _loan(loan_id, party, index)

    @app.get("/api/loans/{loan_id}/readings", tags=["loans"], responses=errors(404))
    def api_readings(loan_id: int, party: PartyDep, index: IndexDep) -> dict[str, Any]:
        """The loan's collateral as the IoT oracle read it over time (quantity counted, collateral value in
        the asset's currency, breaches), one point per accepted batch, from the index."""
        _loan(loan_id, party, index)  # 404 / 403 as for the loan itself
        found = views.oracle_readings(directory(index), loan_id)
        assert found is not None  # _loan found it
        return found

    def _loan(loan_id: int, party: Party, index: Index) -> dict[str, Any]:
        record = index.record("loans", str(loan_id))
        if record is None:
            party.see_everything(f"loan {loan_id}")  # whether a loan exists is not for everyone to learn
            raise HTTPException(404, f"loan {loan_id} is not in the index")
        party.see_loan({"loanId": loan_id, **record})
        view = views.loan_view(directory(index), loan_id)
        assert view is not None
        return view

    @app.post("/api/loans/{loan_id}/decision", tags=["loans"], responses=errors(400, 404, 409))
    def api_decision(loan_id: int, body: DecisionRequest, party: PartyDep, index: IndexDep) -> dict[str, Any]:
        """The unsigned transaction of the lender's decision (continue or recall) on its warned loan, for
        its own wallet to sign (``eth_signTransaction``); send the signed bytes to ``POST /api/tx``."""
        from vscm.console.tx import build_decision

        record = index.record("loans", str(loan_id))
        if record is None:
            party.see_everything(f"loan {loan_id}")
            raise HTTPException(404, f"loan {loan_id} is not in the index")
        chain = needs_chain()
        try:
            tx = build_decision(chain, config.deployment, party, {"loanId": loan_id, **record}, body.decision)
        except ContractRevert as exc:
            raise HTTPException(409, f"the chain refuses: {exc}") from None
        return {"function": "RiskControl.decide", "loan": loan_id, "decision": body.decision, "tx": tx}

    @app.post("/api/tx", tags=["loans"], responses=errors(400, 409))
    def api_send(body: SignedTx, party: PartyDep) -> dict[str, Any]:
        """Send a transaction the party signed in its own wallet, to a platform contract, and wait for it;
        the index is brought up to date before the answer."""
        from vscm.console.tx import send_signed

        try:
            raw = bytes.fromhex(body.raw.removeprefix("0x"))
        except ValueError:
            raise HTTPException(422, "raw must be the signed transaction in hex") from None
        try:
            result = send_signed(needs_chain(), config.deployment, party, raw)
        except ContractRevert as exc:
            raise HTTPException(409, f"the chain refuses: {exc}") from None
        except InputError as exc:
            raise HTTPException(422, str(exc)) from None
        console.refresh()
        return result

    def needs_chain() -> Any:
        chain = console.chain()
        if chain is None:
            raise HTTPException(503, "this console serves the index without a chain: it cannot send")
        return chain

    @app.get("/api/members/{address}", tags=["members"], responses=errors(404))
    def api_member(address: AddressPath, party: PartyDep, index: IndexDep) -> dict[str, Any]:
        """A member: registration, orders with their documents, assets, loans."""
        return _member(address, party, index)

    @app.get("/api/members/{address}/profile", tags=["members"], responses=errors(404))
    def api_member_profile(address: AddressPath, party: PartyDep, index: IndexDep) -> dict[str, Any]:
        """A member's credit profile and score: for a lender the member consented to on chain (or the lender
        of its open loan application), the member itself, auditors and the council (403 for anyone else)."""
        from vscm.underwriting import ConsentRequired, credit_profile, index_now, require, score

        member = address
        if party.sees_all:
            basis = "council" if party.council and not party.auditor else "auditor"
        else:
            try:
                basis = require(index, member, party.address, index_now(index)).basis
            except ConsentRequired as exc:
                raise OutOfScope(str(exc)) from None
        try:
            profile = credit_profile(index, member)
        except NotFound as exc:  # consent and the council's view of an address that never applied
            raise HTTPException(404, str(exc)) from None
        return {"viewer": party.address, "access": basis, "profile": profile, "score": score(profile)}

    def _member(member: str, party: Party, index: Index) -> dict[str, Any]:
        party.see_member(member)
        view = views.member_view(directory(index), member)
        if view is None:
            raise HTTPException(404, f"{member} is not a member of this platform")
        return view

    @app.get("/api/certificates/{certificate_id}", tags=["certificates"], responses=errors(404))
    def api_certificate(certificate_id: int, party: PartyDep, index: IndexDep) -> dict[str, Any]:
        """A payable certificate's split tree: who split what to whom, for which order, sold (locked) or not,
        claimed at redemption (its core and holders see all parts, a financier the parts it bought)."""
        return _certificate(certificate_id, party, index)

    def _certificate(certificate_id: int, party: Party, index: Index) -> dict[str, Any]:
        record = index.record("certificates", str(certificate_id))
        if record is None:
            party.see_everything(f"certificate {certificate_id}")  # whether it exists is not for everyone
            raise HTTPException(404, f"certificate {certificate_id} is not in the index")
        d = directory(index)
        parts = certificate_views.certificate_parts(d, certificate_id)
        shown = party.see_certificate(certificate_id, record["core"], parts)
        return certificate_views.certificate_view(d, certificate_id, record, parts, shown)

    @app.get("/api/audit", tags=["audit"], responses=errors())
    def api_audit(party: PartyDep, index: IndexDep) -> dict[str, Any]:
        """Chain id, contract addresses, the index's range and the replay's verdict (auditors and council)."""
        party.see_everything("the audit view")
        return {**views.audit_view(directory(index), console.verdict), "tool_version": __version__,
                "update_error": console.last_error}

    @app.get("/api/council", tags=["council"], responses=errors())
    def api_council(party: PartyDep, index: IndexDep) -> dict[str, Any]:
        """The membership queue (applied, not yet admitted, with their attestations), requests to join a
        supply chain, suspended members (the council and auditors)."""
        party.see_everything("the council's queue")
        return views.council_view(directory(index))

    @app.get("/api/audit/replay", tags=["audit"], responses={**errors(), 200: {"content": {"text/csv": {}}}})
    def api_audit_replay(party: PartyDep, index: IndexDep, from_block: Block = None,
                         to_block: Block = None, start: Day = None, end: Day = None,
                         format: Literal["json", "csv"] = "json",
                         table: Literal["loans", "findings"] = "loans") -> Any:
        """Replay a period from the chain (blocks, or UTC days ``start``..``end``) and verify it against the
        contracts at its last block: the report (chain id, contracts, range, time, tool version, events,
        findings, the loans it touched with names and currencies), as JSON or CSV (its loans or findings)."""
        party.see_everything("the auditor's replay")
        report = _replay(index, from_block, to_block, start, end)
        if format == "csv":
            from vscm.console import exports

            name = f"audit-{report['from_block']}-{report['to_block']}-{table}.csv"
            return Response(exports.to_csv(exports.audit_rows(report, table)), media_type="text/csv",
                            headers={"content-disposition": f'attachment; filename="{name}"'})
        return report

    def _replay(index: Index, from_block: int | None, to_block: int | None, start: date | None,
                end: date | None) -> dict[str, Any]:
        from vscm.audit.audit import audit_chain

        d = directory(index)
        by_date = views.period_blocks(d, start, end)
        first = from_block if from_block is not None else by_date[0]
        last = to_block if to_block is not None else by_date[1]
        if first is not None and last is not None and first > last:
            raise HTTPException(422, f"the period is empty: block {first} comes after block {last}")
        try:
            outcome = audit_chain(needs_chain(), config.deployment, last, from_block=first)
        except VscmError as exc:
            raise HTTPException(422, f"the replay cannot run: {exc}") from None
        return {**views.audit_report_view(d, outcome.report), "tool_version": __version__,
                "run_at": siwe.iso(datetime.now(UTC))}

    # ------------------------------------------------------------------ pages

    def page(request: Request, name: str, party: Party, **context: Any) -> Response:
        return templates.TemplateResponse(request, name, {"party": party.to_json(), **context})

    @app.get("/", include_in_schema=False)
    def home(party: PartyDep) -> Response:
        if party.sees_all:
            return RedirectResponse("/audit", status_code=303)
        if party.lender:
            return RedirectResponse(f"/lenders/{party.address}", status_code=303)
        return RedirectResponse(f"/members/{party.address}", status_code=303)

    @app.get("/login", include_in_schema=False, response_class=HTMLResponse)
    def login(request: Request) -> Response:
        return templates.TemplateResponse(request, "login.html", {"party": None,
                                                                  "next": request.query_params.get("next", "/")})

    @app.get("/lenders/{address}", include_in_schema=False)
    def lender_page(request: Request, address: str, party: PartyDep, index: IndexDep) -> Response:
        lender = address_of(address)
        party.see_lender(lender)
        d = directory(index)
        return page(request, "lender.html", party, portfolio=views.portfolio_view(d, lender),
                    exposure=views.exposure_view(d, lender), ladder=views.maturity_ladder(d, lender),
                    alerts=views.alerts_waiting(d, lender), defaults=views.defaults(d, lender),
                    loans=views.loan_list(d, lender=lender))

    @app.get("/loans/{loan_id}", include_in_schema=False)
    def loan_page(request: Request, loan_id: int, party: PartyDep, index: IndexDep) -> Response:
        return page(request, "loan.html", party, loan=_loan(loan_id, party, index))

    @app.get("/members/{address}", include_in_schema=False)
    def member_page(request: Request, address: str, party: PartyDep, index: IndexDep) -> Response:
        return page(request, "member.html", party, member=_member(address_of(address), party, index))

    @app.get("/certificates/{certificate_id}", include_in_schema=False)
    def certificate_page(request: Request, certificate_id: int, party: PartyDep, index: IndexDep) -> Response:
        return page(request, "certificate.html", party, cert=_certificate(certificate_id, party, index))

    @app.get("/audit", include_in_schema=False)
    def audit_page(request: Request, party: PartyDep, index: IndexDep) -> Response:
        return page(request, "audit.html", party, audit=api_audit(party, index))

    @app.get("/council", include_in_schema=False)
    def council_page(request: Request, party: PartyDep, index: IndexDep) -> Response:
        return page(request, "council.html", party, council=api_council(party, index))

    @app.get("/audit/replay", include_in_schema=False)
    def audit_replay_page(request: Request, party: PartyDep, index: IndexDep) -> Response:
        party.see_everything("the auditor's replay")
        # The page's form sends empty fields for what was left out: only the filled ones count.
        given = {k: v.strip() for k, v in request.query_params.items()
                 if k in ("from_block", "to_block", "start", "end") and v.strip()}
        try:
            blocks = [int(given[k]) if k in given else None for k in ("from_block", "to_block")]
            days = [date.fromisoformat(given[k]) if k in given else None for k in ("start", "end")]
        except ValueError as exc:
            raise HTTPException(422, f"bad period: {exc}") from None
        report = _replay(index, blocks[0], blocks[1], days[0], days[1])
        query = urlencode({"from_block": report["from_block"], "to_block": report["to_block"]})
        return page(request, "audit_report.html", party, report=report, query=query)

    @app.get("/static/vendor/{name}", include_in_schema=False)
    def vendor(name: str) -> Response:
        from fastapi.responses import FileResponse

        if name not in VENDOR:
            raise HTTPException(404, f"no vendored library {name}")
        path = vendor_dir() / VENDOR[name]
        if not path.is_file():
            raise HTTPException(404, f"{path} is missing: run `make install` (npm ci)")
        return FileResponse(path, media_type="text/javascript")

    # After /static/vendor/{name}: the first route that matches answers.
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    return app


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/auth/")) and "text/html" in request.headers.get("accept", "")


def mint(account: Any, deployment: Any, hours: float) -> str:
    """A script token for ``account`` on ``deployment``, valid ``hours`` from now."""
    return siwe.mint_token(account, chain_id=deployment.chain_id, registry=deployment.registry,
                           now=datetime.now(UTC), lifetime=timedelta(hours=hours))

