"""The portal's pages, mounted under /portaal by the register's app (api/app.py).

Routers hold no rule: the data comes from `registers.lookup` (the Inzage API of every configured
register), grouping and periods from `timeline`, exports from `export`. The citizen's BSN comes only from
the session, so no URL can show another person's data.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi import FastAPI, Request
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from verwerkingenlog.api.security import PageSecurityMiddleware
from verwerkingenlog.client import AsyncClient, RetryPolicy, TokenSource, VerwerkingenlogError, operations
from verwerkingenlog.portal import export
from verwerkingenlog.portal.dates import human_moment
from verwerkingenlog.portal.i18n import DEFAULT_LANGUAGE, LANGUAGES, plural, translate
from verwerkingenlog.portal.oidc import OidcLogin
from verwerkingenlog.portal.registers import Bron, Lookup, lookup, parse_registers
from verwerkingenlog.portal.security import RateLimiter, SessionCrypto, csrf_token, csrf_valid
from verwerkingenlog.portal.summary import CHART_WIDTH, overview
from verwerkingenlog.portal.timeline import PERIODS, Period, grouped, moment, period_from
from verwerkingenlog.services.web_sessions import WebSessions
from verwerkingenlog.settings import Settings

log = logging.getLogger("verwerkingenlog.portal")

PREFIX = "/portaal"
PORTAL_CLIENT_ID = "portal"
PORTAL_SCOPES = ("read:confidential",)  # R-INZ-5: citizens see normaal and opgeheven, never vertrouwelijk
# The portal's own log of a machtiging (a processing of both people), written to this register with its own client:
# the reading client `portal` keeps its single read scope.
MACHTIGING_CLIENT_ID = "portal-machtiging"
MACHTIGING_SCOPES = ("create:normal",)
HERE = Path(__file__).parent
SELF_BASE = "http://register.internal"
ONE_ATTEMPT = RetryPolicy(attempts=2, base_delay=0.1, max_delay=0.5, max_retry_after=1.0)


class DemoLoginRefused(RuntimeError):
    """PORTAL_DEMO_LOGIN together with a real OpenID configuration: refused at start-up."""


def check_configuration(settings: Settings) -> None:
    """The demo login never runs beside a real login: a configured OpenID issuer is the marker of a
    non-demo deployment, and the demo flag must be set explicitly (it is off by default)."""
    if settings.portal_demo_login and settings.portal_oidc_issuer:
        raise DemoLoginRefused(
            "PORTAL_DEMO_LOGIN is set together with PORTAL_OIDC_ISSUER: the demo login lets anyone pick a "
            "citizen and is refused in a configuration with a real login. Unset one of the two."
        )
    parse_registers(settings.portal_registers)


class Portal:
    """What the pages share: settings, session crypto, rate limiter, OpenID login and the register clients."""

    def __init__(self, settings: Settings, register_app: Any) -> None:
        check_configuration(settings)
        self.settings = settings
        self.register_app = register_app
        secret = settings.portal_session_secret
        if not secret:
            secret = secrets.token_urlsafe(48)
            log.warning("PORTAL_SESSION_SECRET is unset: a random one is used; portal sessions end at restart.")
        self.secret = secret
        self.crypto = SessionCrypto(secret)
        self.sessions = WebSessions("portaal", lambda: register_app.state.db)  # logout ends them (issue 19.6)
        self.limiter = RateLimiter(settings.portal_rate_limit_per_minute)
        self.oidc = OidcLogin(settings) if settings.portal_oidc_issuer else None
        self.remote = parse_registers(settings.portal_registers)
        self.demo_citizens = tuple(b.strip() for b in settings.portal_demo_citizens.split(",") if b.strip())
        self.demo_machtigingen = tuple(
            (g.strip(), v.strip())
            for g, _, v in (p.partition(":") for p in settings.portal_demo_machtigingen.split(","))
            if g.strip() and v.strip()
        )
        self._bronnen: list[Bron] | None = None
        self._lock = asyncio.Lock()

    async def bronnen(self) -> list[Bron]:
        """The registers to read: this one (in-process, as the registered client `portal`) and the remote ones."""
        async with self._lock:
            if self._bronnen is None:
                out = []
                if self.settings.portal_include_self:
                    secret = await self._own_client_secret(PORTAL_CLIENT_ID, PORTAL_SCOPES)
                    transport = httpx.ASGITransport(app=self.register_app)
                    client = AsyncClient(
                        SELF_BASE, token=TokenSource(PORTAL_CLIENT_ID, secret), transport=transport, retry=ONE_ATTEMPT
                    )
                    out.append(Bron(self.settings.portal_register_name, client))
                for r in self.remote:
                    client = AsyncClient(r.url, r.client_id, r.secret, retry=ONE_ATTEMPT, timeout=5.0)
                    out.append(Bron(r.naam, client))
                self._bronnen = out
            return self._bronnen

    async def _own_client_secret(self, client_id: str, scopes: tuple[str, ...]) -> str:
        from verwerkingenlog.services.clients import ClientExists, Clients

        clients: Clients = self.register_app.state.clients
        found = await clients.get(client_id)
        if found is None:
            try:
                found = await clients.add(client_id, list(scopes))
            except ClientExists:
                found = await clients.get(client_id)
        assert found is not None
        if found.secret is None:  # registered by hand with a key pair, or its secret does not open
            raise RuntimeError(f"The portal's own client {client_id!r} must be a client with a readable secret.")
        return found.secret

    async def log_machtiging(self, request: Request, gemachtigde: str, vertegenwoordigde: str) -> None:
        """A gemachtigde's visit is a processing of both people (issue 18.4): the portal logs it in this register,
        once per visit, about the gemachtigde and the person represented, under the machtiging activity and the
        visit's verwerkingId — so each sees it in their own timeline. The look-ups themselves are logged by every
        register read, about the person represented, under the same activity (`consumer_headers`)."""
        s = self.settings
        secret = await self._own_client_secret(MACHTIGING_CLIENT_ID, MACHTIGING_SCOPES)
        transport = httpx.ASGITransport(app=self.register_app)
        client = AsyncClient(
            SELF_BASE, token=TokenSource(MACHTIGING_CLIENT_ID, secret), transport=transport, retry=ONE_ATTEMPT
        )
        headers = self.consumer_headers(request)
        body = {
            "actieNaam": "Inzage namens een ander",
            "handelingNaam": "Inloggen met machtiging",
            "verwerkingNaam": "Inzage met machtiging",
            "verwerkingId": headers["VerwerkingId"],
            "verwerkingsactiviteitId": headers["VerwerkingsactiviteitId"],
            "verwerkingsactiviteitUrl": headers["VerwerkingsactiviteitUrl"],
            "vertrouwelijkheid": "normaal",
            "bewaartermijn": s.portal_bewaartermijn,
            "uitvoerder": s.portal_oin,
            "systeem": "Mijn verwerkingen (portaal)",
            "gebruiker": MACHTIGING_CLIENT_ID,
            "tijdstip": datetime.now(UTC).isoformat(timespec="seconds"),
            "verwerkteObjecten": [
                {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn, "betrokkenheid": rol}
                for bsn, rol in ((gemachtigde, "Gemachtigde"), (vertegenwoordigde, "Vertegenwoordigde"))
            ],
        }
        try:
            await client.send(operations.create(body, f"machtiging-{headers['VerwerkingId']}"))
        finally:
            await client.aclose()

    def consumer_headers(self, request: Request) -> dict[str, str]:
        """§10.3: the headers a caller of the Inzage API sends. The VerwerkingId is one per login session: the
        citizen's visit is the portal's verwerking, and every lookup in it is an action of that verwerking."""
        s = self.settings
        activity, url = s.portal_verwerkingsactiviteit_id, s.portal_verwerkingsactiviteit_url
        if self.crypto.gemachtigde(request.session) is not None:  # on someone's behalf: its own activity
            activity, url = s.portal_machtiging_verwerkingsactiviteit_id, None
        if not url:
            root = (s.public_base_url or f"{request.url.scheme}://{request.url.netloc}/api/v1").rstrip("/")
            url = f"{root}/verwerkingsactiviteit/{activity}"
        return {
            "OIN": s.portal_oin or "",
            "VerwerkingsactiviteitId": activity,
            "VerwerkingsactiviteitUrl": url,
            "VerwerkingId": str(request.session.get("verwerking") or uuid.uuid4()),
            "Vertrouwelijkheid": "normaal",
            "Bewaartermijn": s.portal_bewaartermijn,
        }

    async def lookup(self, request: Request, bsn: str, period: Period) -> Lookup:
        return await lookup(await self.bronnen(), bsn, period.begin, period.eind, self.consumer_headers(request))

    async def names(self) -> list[str]:
        return [b.naam for b in await self.bronnen()]


def _lang(request: Request) -> str:
    lang = request.session.get("lang")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def _reference(text: str | None) -> uuid.UUID | None:
    """A verwerkingId (UUID) or a W3C trace id (32 hex digits, the same 128 bits), as written in a letter."""
    try:
        return uuid.UUID(text.strip()) if text else None
    except ValueError:
        return None


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def create_portal(settings: Settings, register_app: Any) -> FastAPI:
    portal = Portal(settings, register_app)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.portal = portal
    app.add_middleware(PageSecurityMiddleware)  # a strict Content-Security-Policy (issue 21.5)
    app.add_middleware(
        SessionMiddleware,
        secret_key=portal.secret,
        session_cookie="mijnverwerkingen",
        max_age=30 * 60,  # a logged-in session lasts half an hour of inactivity at most
        path=PREFIX,
        same_site="lax",
        https_only=settings.portal_cookie_secure,
    )
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        lang = _lang(request)

        def t(key: str, **values: object) -> str:
            return translate(key, lang, **values)

        def tn(key: str, n: int, **values: object) -> str:
            return plural(key, n, lang, **values)

        def human(when: datetime) -> str:
            return human_moment(when, lang, settings.zone)

        base = {
            "request": request,
            "t": t,
            "tn": tn,
            "lang": lang,
            "other_lang": "en" if lang == "nl" else "nl",
            "prefix": PREFIX,
            "csrf": csrf_token(request.session),
            "demo": settings.portal_demo_login,
            "logged_in": portal.crypto.bsn(request.session) is not None,
            "namens": portal.crypto.gemachtigde(request.session) is not None,  # a machtiging: marked on every page
            # Back to this page after a language switch, keeping only the period (nothing a URL was given else).
            "here": f"{request.url.path}?{urlencode(period_from(request.query_params, date.today()).query())}",
            "when": lambda e: human(moment(e)),  # `2 december 2026, 20:25`, Europe/Amsterdam (issue 18.5)
            "human": human,
        }
        response = templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
        response.headers["Cache-Control"] = "no-store"  # personal data: never cached by browsers or proxies
        return response

    def limited(group: str) -> Callable[[Callable[..., Awaitable[Response]]], Callable[..., Awaitable[Response]]]:
        def wrap(handler: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
            @functools.wraps(handler)
            async def guarded(request: Request, *args: Any, **kwargs: Any) -> Response:
                wait = portal.limiter.allow(f"{group}:{_client_ip(request)}")
                if wait is not None:
                    response = page(request, "message.html", 429, message=translate("too_many", _lang(request)))
                    response.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
                    return response
                return await handler(request, *args, **kwargs)

            return guarded

        return wrap

    async def form_ok(request: Request) -> tuple[bool, dict[str, str]]:
        form = await request.form()
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        return csrf_valid(request.session, values.get("csrf")), values

    def bad_form(request: Request) -> HTMLResponse:
        return page(request, "message.html", 400, message=translate("session_expired", _lang(request)))

    def forget(request: Request) -> None:
        """Clear the session, keeping only the language."""
        lang = request.session.get("lang")
        request.session.clear()
        if lang:
            request.session["lang"] = lang

    async def login_required(request: Request) -> str | None:
        """The logged-in citizen's BSN; None without a login, or when the session was ended by logout (a replayed
        cookie) or is too old (services.web_sessions): the session is then cleared."""
        bsn = portal.crypto.bsn(request.session)
        if bsn is None:
            return None
        if not await portal.sessions.valid(request.session):
            forget(request)
            return None
        return bsn

    def to_login() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/login", status_code=303)

    @app.get("/", response_class=HTMLResponse)
    async def timeline(request: Request) -> Response:
        """The citizen's processings, grouped by verwerking, newest first, for the chosen period."""
        bsn = await login_required(request)
        if bsn is None:
            return to_login()
        period = period_from(request.query_params, date.today())
        found = await _lookup(request, bsn, period)
        groups, summary, own = overview(
            found.entries,
            _lang(request),
            _folded_oin(request),
            settings.portal_verwerkingsactiviteit_id,
            _this_visit(request, period),
        )
        return page(
            request,
            "timeline.html",
            groups=groups,
            summary=summary,
            own=own,
            chart_width=CHART_WIDTH,
            unreachable=found.unreachable,
            period=period,
            periods=PERIODS,
            query=urlencode(period.query()),
            configured=bool(settings.portal_oin),
        )

    def _folded_oin(request: Request) -> str | None:
        """Whose look-ups fold into the one line: the portal's, for a citizen looking at their own data. A
        gemachtigde sees every look-up as a processing — the person's own visits and every gemachtigde's — since
        the line ("U heeft … bekeken") would speak of the wrong person."""
        return None if portal.crypto.gemachtigde(request.session) is not None else settings.portal_oin

    def _this_visit(request: Request, period: Period) -> str | None:
        """This login session's verwerking, when this page's look-up counts as a visit in `period`."""
        if not _folded_oin(request) or not period.begin <= date.today() < period.eind:
            return None
        return str(request.session.get("verwerking") or "") or None

    async def _lookup(request: Request, bsn: str, period: Period) -> Lookup:
        if not settings.portal_oin:
            return Lookup([], [])
        return await portal.lookup(request, bsn, period)

    @app.get("/verwerking/{key}", response_class=HTMLResponse)
    async def detail(request: Request, key: str) -> Response:
        """One verwerking: found only among the logged-in citizen's own results, else 404."""
        bsn = await login_required(request)
        if bsn is None:
            return to_login()
        period = period_from(request.query_params, date.today())
        found = await _lookup(request, bsn, period)
        group = next((g for g in grouped(found.entries) if g.key == key), None)
        if group is None:
            return page(request, "message.html", 404, message=translate("not_found", _lang(request)))
        return page(
            request,
            "detail.html",
            group=group,
            unreachable=found.unreachable,
            query=urlencode(period.query()),
        )

    @app.get("/kenmerk", response_class=HTMLResponse)
    @limited("kenmerk")  # each search reads every register over all periods, as heavy as an export
    async def by_reference(request: Request) -> Response:
        """A reference from a letter (a verwerkingId, or the trace id that is the same 128 bits in hex) leads to
        that processing's page — found only among the logged-in citizen's own entries, so a reference of someone
        else's processing gets the same answer as one that does not exist (no oracle)."""
        bsn = await login_required(request)
        if bsn is None:
            return to_login()
        wanted = _reference(request.query_params.get("kenmerk", ""))
        if wanted is not None:
            found = await _lookup(request, bsn, period_from({"periode": "alles"}, date.today()))
            for g in grouped(found.entries):
                if any(wanted in (_reference(e.verwerking_id), _reference(e.verwerking_id_afnemer)) for e in g.entries):
                    return RedirectResponse(f"{PREFIX}/verwerking/{g.key}?periode=alles", status_code=303)
        return page(request, "message.html", 404, message=translate("not_found", _lang(request)))

    @app.get("/export.{fmt}")
    @limited("export")
    async def download(request: Request, fmt: str) -> Response:
        """PDF (AVG art. 15) or JSON/CSV (art. 20) of exactly what the timeline shows for the period."""
        bsn = await login_required(request)
        if bsn is None:
            return to_login()
        if fmt not in ("pdf", "json", "csv"):
            return page(request, "message.html", 404, message=translate("not_found", _lang(request)))
        period = period_from(request.query_params, date.today())
        found = await _lookup(request, bsn, period)
        stamp = datetime.now(UTC).strftime("%Y%m%d")
        lang = _lang(request)
        if fmt == "pdf":
            groups, _, own = overview(
                found.entries,
                lang,
                _folded_oin(request),
                settings.portal_verwerkingsactiviteit_id,
                _this_visit(request, period),
            )
            names = await portal.names()
            namens = portal.crypto.gemachtigde(request.session) is not None
            body = export.as_pdf(groups, own, period, names, found.unreachable, bsn, lang, settings.zone, namens)
            media = "application/pdf"
        elif fmt == "json":
            body, media = export.as_json(found.entries, period, found.unreachable), "application/json"
        else:
            body, media = export.as_csv(found.entries, lang), "text/csv; charset=utf-8"
        return Response(
            body,
            media_type=media,
            headers={
                "Content-Disposition": f'attachment; filename="mijn-verwerkingen-{stamp}.{fmt}"',
                "Cache-Control": "no-store",
            },
        )

    @app.get("/login", response_class=HTMLResponse)
    async def login_page(request: Request) -> Response:
        await login_required(request)  # a stale session shows no logout button
        return page(
            request,
            "login.html",
            oidc=portal.oidc is not None,
            demo_citizens=portal.demo_citizens if settings.portal_demo_login else (),
            demo_machtigingen=portal.demo_machtigingen if settings.portal_demo_login else (),
            failed=request.query_params.get("mislukt") == "1",
        )

    @app.post("/login/demo")
    @limited("login")
    async def login_demo(request: Request) -> Response:
        """The demo login: only with PORTAL_DEMO_LOGIN, only the configured demo citizens."""
        ok, form = await form_ok(request)
        if not settings.portal_demo_login:
            return page(request, "message.html", 404, message=translate("not_found", _lang(request)))
        if not ok:
            return bad_form(request)
        gemachtigde, _, bsn = form.get("burger", "").rpartition(":")
        if (gemachtigde, bsn) not in portal.demo_machtigingen and not (not gemachtigde and bsn in portal.demo_citizens):
            return RedirectResponse(f"{PREFIX}/login?mislukt=1", status_code=303)
        return await logged_in(request, bsn, gemachtigde or None, "demo")

    async def logged_in(request: Request, bsn: str, gemachtigde: str | None, via: str) -> Response:
        """A fresh session; with a machtiging, the visit is logged as a processing of both people first."""
        portal.crypto.login(request.session, bsn, gemachtigde, via=via, verwerking=str(uuid.uuid4()))
        await portal.sessions.start(request.session)
        if gemachtigde is not None:
            try:
                await portal.log_machtiging(request, gemachtigde, bsn)
            except VerwerkingenlogError as exc:  # no look-up on someone's behalf that is not logged (R-SELF-2)
                log.error("Portal: a machtiging could not be logged (%s); the login is refused.", type(exc).__name__)
                await portal.sessions.end(request.session)
                forget(request)
                return page(request, "message.html", 503, message=translate("machtiging_unlogged", _lang(request)))
        return RedirectResponse(f"{PREFIX}/", status_code=303)

    @app.get("/login/oidc")
    @limited("login")
    async def login_oidc(request: Request) -> Response:
        if portal.oidc is None:
            return to_login()
        return await portal.oidc.start(request, f"{request.url.scheme}://{request.url.netloc}{PREFIX}/auth")

    @app.get("/auth")
    @limited("login")
    async def auth(request: Request) -> Response:
        """The OpenID provider's redirect: exchange the code (PKCE), read the BSN from the configured claim."""
        if portal.oidc is None:
            return to_login()
        found = await portal.oidc.finish(request)
        if found is None:
            return RedirectResponse(f"{PREFIX}/login?mislukt=1", status_code=303)
        bsn, representee = found
        if representee is not None:  # a machtiging: the session shows the person represented
            return await logged_in(request, representee, bsn, "oidc")
        return await logged_in(request, bsn, None, "oidc")

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        ok, _ = await form_ok(request)
        if not ok:
            return bad_form(request)
        await portal.sessions.end(request.session)  # a copy of the cookie is logged out too
        forget(request)
        return to_login()

    @app.post("/taal")
    async def taal(request: Request) -> Response:
        """Switch the language; back to the page the citizen was on (only a path of the portal)."""
        ok, form = await form_ok(request)
        if not ok:
            return bad_form(request)
        if form.get("lang") in LANGUAGES:
            request.session["lang"] = form["lang"]
        back = form.get("terug", "")
        if not back.startswith(PREFIX + "/") or back.startswith("//") or "\\" in back:
            back = f"{PREFIX}/"
        return RedirectResponse(back, status_code=303)

    return app
