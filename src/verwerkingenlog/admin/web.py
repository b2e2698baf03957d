"""The admin pages, mounted under /beheer by the register's app (api/app.py); docs/admin.md.

Server-rendered like the citizen portal (Jinja templates, Dutch and English, no JavaScript), behind the employees'
OpenID Connect login. Every page needs a login and a role that grants it (admin.roles); every form carries the
session's CSRF token (portal.security); every action is written to the audit trail (services.audit). The pages
call the same services as the API and the CLI: clients, VAR (and its import), the doelbinding report, integrity.

None of these pages shows or changes personal data (clients, the VAR, counts and actieIds in the report, tree
sizes and findings that name actieIds), so no action here is a processing to be self-logged (§10.5); a page that
ever shows log content must log it as the register's reads do (domain.selflog).
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from fastapi import FastAPI, Request
from starlette.datastructures import UploadFile
from starlette.middleware.sessions import SessionMiddleware
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from verwerkingenlog.admin.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate
from verwerkingenlog.admin.roles import Permission, Role, allowed, check_role_map, roles_from_claims
from verwerkingenlog.api.decoding import json_value
from verwerkingenlog.api.security import PageSecurityMiddleware
from verwerkingenlog.domain import values
from verwerkingenlog.domain import var as rules
from verwerkingenlog.domain.errors import DomainError, InvalidValue, NotFound, ValidationFailed
from verwerkingenlog.domain.model import Caller, ObjectFilter
from verwerkingenlog.domain.pagination import Page
from verwerkingenlog.domain.periods import period
from verwerkingenlog.domain.scopes import KNOWN_SCOPES
from verwerkingenlog.domain.var import ActiviteitFilter
from verwerkingenlog.portal.security import CSRF_KEY, RateLimiter, csrf_token, csrf_valid
from verwerkingenlog.services.audit import DENIED, FAILED, OK, Actor, AuditLog, VerifyResults, now_us
from verwerkingenlog.services.clients import ClientExists, Clients, InvalidCredential, NoSecret, UnknownScope
from verwerkingenlog.services.web_sessions import WebSessions
from verwerkingenlog.settings import Settings

log = logging.getLogger("verwerkingenlog.admin")

PREFIX = "/beheer"
HERE = Path(__file__).parent
PORTAL_STATIC = HERE.parent / "portal" / "static"
PAGE_SIZE = 50
Handler = Callable[[Request, Actor], Awaitable[Response]]


class Login(Protocol):
    """The OpenID login (admin.oidc.EmployeeLogin); tests of the page logic may put a stand-in here."""

    async def start(self, request: Request, redirect_uri: str) -> Response: ...

    async def finish(self, request: Request) -> dict[str, Any] | None: ...


class DemoLoginRefused(ValueError):
    """ADMIN_DEMO_LOGIN together with a real OpenID issuer: refused at start-up, as the portal's demo login is."""


DEMO_ROLES = (Role.BEHEERDER, Role.FG)


class NoOpenIdLogin:
    """The demo configuration has no OpenID provider: its login route only sends the employee back."""

    async def start(self, request: Request, redirect_uri: str) -> Response:
        return RedirectResponse(f"{PREFIX}/login", status_code=303)

    async def finish(self, request: Request) -> dict[str, Any] | None:
        return None


class Admin:
    """What the pages share: settings, the register's services (from its app state), the login and role map."""

    def __init__(self, settings: Settings, register_app: Any) -> None:
        from verwerkingenlog.admin.oidc import EmployeeLogin

        if settings.admin_demo_login and settings.admin_oidc_issuer:
            raise DemoLoginRefused(
                "ADMIN_DEMO_LOGIN is set together with ADMIN_OIDC_ISSUER: the demo login lets anyone act as an "
                "administrator and is refused in a configuration with a real login. Unset one of the two."
            )
        if settings.admin_oidc_issuer and not settings.admin_oidc_client_id:
            raise ValueError("ADMIN_OIDC_ISSUER is set but ADMIN_OIDC_CLIENT_ID is not: the admin login needs both.")
        self.settings = settings
        self.register_app = register_app
        self.role_map = check_role_map(settings.admin_role_map)
        # The login routes, per client IP, as the portal's (PORTAL_RATE_LIMIT_PER_MINUTE).
        self.limiter = RateLimiter(settings.portal_rate_limit_per_minute)
        secret = settings.admin_session_secret
        if not secret:
            secret = secrets.token_urlsafe(48)
            log.warning("ADMIN_SESSION_SECRET is unset: a random one is used; admin sessions end at restart.")
        self.secret = secret
        self.login: Login = EmployeeLogin(settings) if settings.admin_oidc_issuer else NoOpenIdLogin()
        self.sessions = WebSessions("beheer", lambda: register_app.state.db)  # logout ends them (issue 19.6)

    def state(self, name: str) -> Any:
        return getattr(self.register_app.state, name)

    @property
    def audit(self) -> AuditLog:
        return AuditLog(self.state("db"))

    @property
    def verify_results(self) -> VerifyResults:
        return VerifyResults(self.state("db"))


def _lang(request: Request) -> str:
    lang = request.session.get("lang")
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def actor_of(request: Request) -> Actor | None:
    s = request.session
    if not isinstance(s.get("sub"), str):
        return None
    roles = s.get("roles")
    return Actor(
        s["sub"], s.get("name"), tuple(r for r in roles if isinstance(r, str)) if isinstance(roles, list) else ()
    )


def _employee_name(claims: dict[str, Any]) -> str | None:
    for key in ("name", "preferred_username", "email"):
        value = claims.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def create_admin(settings: Settings, register_app: Any) -> FastAPI:
    """The admin app; without ADMIN_OIDC_ISSUER (or ADMIN_DEMO_LOGIN) only a page saying that the admin pages
    are off."""
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.add_middleware(PageSecurityMiddleware)  # a strict Content-Security-Policy (issue 21.5)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.mount("/portal-static", StaticFiles(directory=str(PORTAL_STATIC)), name="portal-static")

    if not settings.admin_oidc_issuer and not settings.admin_demo_login:

        @app.get("/{path:path}", response_class=HTMLResponse)
        async def off(request: Request, path: str) -> Response:
            lang = DEFAULT_LANGUAGE

            def t(key: str, **v: object) -> str:
                return translate(key, lang, **v)

            context = {"t": t, "lang": lang, "prefix": PREFIX, "message": t("off"), "actor": None, "csrf": ""}
            return templates.TemplateResponse(request, "message.html", context, status_code=404)

        return app

    admin = Admin(settings, register_app)
    app.state.admin = admin
    app.add_middleware(
        SessionMiddleware,
        secret_key=admin.secret,
        session_cookie="beheer",
        max_age=30 * 60,  # half an hour without a request ends the session
        path=PREFIX,
        same_site="lax",  # the provider's redirect back is a top-level cross-site GET: Strict would drop the state
        https_only=settings.admin_cookie_secure,
    )

    def when(us: int | None) -> str:
        """A stored instant in the register's time zone; at the edges of the calendar (R-VAL-4 allows any instant
        in years 1..9999 UTC) the local time may fall outside it, and the instant is shown in UTC instead."""
        if us is None:
            return ""
        instant = datetime.fromtimestamp(us / 1e6, UTC)
        try:
            return instant.astimezone(settings.zone).strftime("%d-%m-%Y %H:%M:%S")
        except OverflowError:
            return instant.strftime("%d-%m-%Y %H:%M:%S UTC")

    def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        lang = _lang(request)

        def t(key: str, **v: object) -> str:
            return translate(key, lang, **v)

        actor = actor_of(request)
        base = {
            "t": t,
            "lang": lang,
            "other_lang": "en" if lang == "nl" else "nl",
            "prefix": PREFIX,
            "csrf": csrf_token(request.session),
            "actor": actor,
            "can": (lambda p: allowed(actor.roles, Permission(p))) if actor else (lambda p: False),
            "here": request.url.path,
            "when": when,
            "demo": settings.admin_demo_login,
            "oidc": bool(settings.admin_oidc_issuer),
        }
        response = templates.TemplateResponse(request, name, {**base, **context}, status_code=status)
        response.headers["Cache-Control"] = "no-store"  # secrets are shown once; nothing is cached
        return response

    def message(request: Request, key: str, status: int, **v: object) -> HTMLResponse:
        return page(request, "message.html", status, message=translate(key, _lang(request), **v))

    def to_login() -> RedirectResponse:
        return RedirectResponse(f"{PREFIX}/login", status_code=303)

    def forget(request: Request) -> None:
        """Clear the session, keeping only the language."""
        lang = request.session.get("lang")
        request.session.clear()
        if lang:
            request.session["lang"] = lang

    async def logged_in(request: Request) -> Actor | None:
        """The employee of a session that a login started and no logout ended (services.web_sessions): a cookie
        replayed after logout, or older than the sessions' maximum age, is cleared and logged out."""
        actor = actor_of(request)
        if actor is not None and not await admin.sessions.valid(request.session):
            forget(request)
            return None
        return actor

    def guarded(permission: Permission | None, write: bool = False) -> Callable[[Handler], Callable[..., Any]]:
        """Login first (else to the login page), then on a POST the CSRF token (else 400), then the role
        (else 403; a refused write is audited). `permission` None: any logged-in employee with a role."""

        def wrap(handler: Handler) -> Callable[..., Any]:
            async def endpoint(request: Request) -> Response:
                actor = await logged_in(request)
                if actor is None:
                    return to_login()
                if request.method == "POST":
                    form = await request.form()
                    if not csrf_valid(request.session, form.get("csrf")):
                        return message(request, "session_expired", 400)
                ok = bool(actor.roles) if permission is None else allowed(actor.roles, permission)
                if not ok:
                    if write:
                        action = f"{permission}:{request.url.path.removeprefix(PREFIX)}"
                        await admin.audit.record(actor, action, None, DENIED, "role does not allow this")
                    return message(request, "forbidden", 403)
                return await handler(request, actor)

            endpoint.__name__ = handler.__name__
            endpoint.__doc__ = handler.__doc__
            return endpoint

        return wrap

    def route(
        path: str, methods: list[str], permission: Permission | None, write: bool = False
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            app.add_api_route(path, guarded(permission, write)(handler), methods=methods, response_class=HTMLResponse)
            return handler

        return register

    async def form_of(request: Request) -> dict[str, str]:
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}

    # -- login -----------------------------------------------------------------------------------------------

    @app.get("/login", response_class=HTMLResponse)
    async def login_page(request: Request) -> Response:
        await logged_in(request)  # a stale session shows no logout button
        return page(request, "login.html", failed=request.query_params.get("mislukt") == "1", demo_roles=DEMO_ROLES)

    def too_many(request: Request) -> Response | None:
        wait = admin.limiter.allow(f"login:{request.client.host if request.client else 'unknown'}")
        if wait is None:
            return None
        response = message(request, "too_many", 429)
        response.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
        return response

    @app.get("/login/oidc")
    async def login_oidc(request: Request) -> Response:
        refused = too_many(request)
        if refused is not None:
            return refused
        return await admin.login.start(request, f"{request.url.scheme}://{request.url.netloc}{PREFIX}/auth")

    @app.get("/auth")
    async def auth(request: Request) -> Response:
        """The provider's redirect: exchange the code (PKCE), map the roles claim to roles, start a fresh session
        (nothing of the anonymous one survives but the language). An employee without a role is logged in but
        refused every page (403); both are audited."""
        refused = too_many(request)
        if refused is not None:
            return refused
        claims = await admin.login.finish(request)
        if claims is None:
            return RedirectResponse(f"{PREFIX}/login?mislukt=1", status_code=303)
        roles = roles_from_claims(claims, settings.admin_oidc_roles_claim, admin.role_map)
        forget(request)
        await admin.sessions.start(request.session)
        actor = Actor(str(claims["sub"]), _employee_name(claims), tuple(r.value for r in roles))
        request.session.update(sub=actor.subject, name=actor.name, roles=list(actor.roles))
        request.session[CSRF_KEY] = secrets.token_urlsafe(32)
        outcome, detail = (OK, None) if roles else (DENIED, "no role: the roles claim maps to none")
        await admin.audit.record(actor, "inloggen", None, outcome, detail)
        return RedirectResponse(f"{PREFIX}/", status_code=303)

    @app.post("/login/demo")
    async def login_demo(request: Request) -> Response:
        """The demo login (ADMIN_DEMO_LOGIN only): pick a role, no authentication. Like a real login it starts
        a fresh session and is audited, as `demo:<role>`."""
        if not settings.admin_demo_login:
            return message(request, "not_found", 404)
        refused = too_many(request)
        if refused is not None:
            return refused
        form = await form_of(request)
        if not csrf_valid(request.session, form.get("csrf")):
            return message(request, "session_expired", 400)
        role = next((r for r in DEMO_ROLES if r.value == form.get("rol")), None)
        if role is None:
            return RedirectResponse(f"{PREFIX}/login?mislukt=1", status_code=303)
        forget(request)
        await admin.sessions.start(request.session)
        actor = Actor(f"demo:{role.value}", translate(f"demo_name_{role.value}", _lang(request)), (role.value,))
        request.session.update(sub=actor.subject, name=actor.name, roles=list(actor.roles))
        request.session[CSRF_KEY] = secrets.token_urlsafe(32)
        await admin.audit.record(actor, "inloggen", None, OK, "demo login (ADMIN_DEMO_LOGIN)")
        return RedirectResponse(f"{PREFIX}/", status_code=303)

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        form = await form_of(request)
        if not csrf_valid(request.session, form.get("csrf")):
            return message(request, "session_expired", 400)
        actor = await logged_in(request)
        if actor is not None:
            await admin.audit.record(actor, "uitloggen")
        await admin.sessions.end(request.session)  # a copy of the cookie is logged out too
        forget(request)
        return to_login()

    @app.post("/taal")
    async def taal(request: Request) -> Response:
        form = await form_of(request)
        if not csrf_valid(request.session, form.get("csrf")):
            return message(request, "session_expired", 400)
        if form.get("lang") in LANGUAGES:
            request.session["lang"] = form["lang"]
        back = form.get("terug", "")
        if not back.startswith(PREFIX + "/") or back.startswith("//") or "\\" in back:
            back = f"{PREFIX}/"
        return RedirectResponse(back, status_code=303)

    @route("/", ["GET"], None)
    async def home(request: Request, actor: Actor) -> Response:
        return page(request, "home.html")

    # -- API clients ----------------------------------------------------------------------------------------

    def clients() -> Clients:
        found: Clients = admin.state("clients")
        return found

    async def clients_page(request: Request, status: int = 200, **context: Any) -> Response:
        found = await clients().list()
        return page(request, "clients.html", status, clients=found, known_scopes=KNOWN_SCOPES, **context)

    @route("/clients", ["GET"], Permission.CLIENTS)
    async def client_list(request: Request, actor: Actor) -> Response:
        return await clients_page(request)

    @route("/clients", ["POST"], Permission.CLIENTS, write=True)
    async def client_create(request: Request, actor: Actor) -> Response:
        """Register a client with the chosen scopes; its secret is shown once, on this response only. With a
        public key or JWKS URL there is no secret: the client signs with its own private key."""
        form = await request.form()
        client_id = str(form.get("client_id") or "").strip()
        chosen = [s for s in form.getlist("scope") if isinstance(s, str)]
        public_key = str(form.get("public_key") or "").strip() or None
        jwks_url = str(form.get("jwks_url") or "").strip() or None
        lang = _lang(request)
        try:
            new = await clients().add(client_id, chosen, public_key=public_key, jwks_url=jwks_url)
        except InvalidCredential as exc:
            await admin.audit.record(actor, "client:aanmaken", client_id[:255], FAILED, "unusable key or URL")
            return await clients_page(request, 400, error=translate("client_key_invalid", lang, reason=str(exc)))
        except ClientExists:
            await admin.audit.record(actor, "client:aanmaken", client_id, FAILED, "exists already")
            return await clients_page(request, 400, error=translate("client_exists", lang, id=client_id))
        except (UnknownScope, ValueError):
            await admin.audit.record(actor, "client:aanmaken", client_id[:255], FAILED, "invalid id or scope")
            return await clients_page(request, 400, error=translate("client_invalid", lang))
        detail = ("" if new.kind == "secret" else f"{new.kind}; ") + "scopes: " + " ".join(sorted(new.scopes))
        await admin.audit.record(actor, "client:aanmaken", new.client_id, OK, detail)
        if new.secret is None:
            return await clients_page(request, notice=translate("client_own_key", lang, id=new.client_id))
        return page(request, "secret.html", client_id=new.client_id, secret=new.secret)

    @route("/clients/{client_id}/rotate", ["POST"], Permission.CLIENTS, write=True)
    async def client_rotate(request: Request, actor: Actor) -> Response:
        """A new secret (services.clients.rotate): tokens signed with the old one stop working at once."""
        client_id = request.path_params["client_id"]
        try:
            rotated = await clients().rotate(client_id)
        except NoSecret:
            await admin.audit.record(actor, "client:nieuw-geheim", client_id, FAILED, "signs with its own key")
            return await clients_page(request, 400, error=translate("client_own_key", _lang(request), id=client_id))
        if rotated is None:
            await admin.audit.record(actor, "client:nieuw-geheim", client_id, FAILED, "no such client")
            return message(request, "not_found", 404)
        await admin.audit.record(actor, "client:nieuw-geheim", client_id)
        return page(request, "secret.html", client_id=rotated.client_id, secret=rotated.secret)

    @route("/clients/{client_id}/revoke", ["POST"], Permission.CLIENTS, write=True)
    async def client_revoke(request: Request, actor: Actor) -> Response:
        """Remove the registration (services.clients.remove): its tokens are refused from the next request on."""
        client_id = request.path_params["client_id"]
        if not await clients().remove(client_id):
            await admin.audit.record(actor, "client:intrekken", client_id, FAILED, "no such client")
            return message(request, "not_found", 404)
        await admin.audit.record(actor, "client:intrekken", client_id)
        return await clients_page(request, notice=translate("revoked", _lang(request), id=client_id))

    # -- the VAR ----------------------------------------------------------------------------------------------

    def var_caller(actor: Actor) -> Caller:
        """The VAR records who changed it (`client_id` of a version): `beheer:<employee>`."""
        return Caller(actor.label, frozenset(KNOWN_SCOPES))

    async def var_list_page(request: Request, actor: Actor, status: int = 200, **context: Any) -> Response:
        number = _int(request.query_params.get("pagina"), 1)
        service = admin.state("var")
        first = await service.search(var_caller(actor), ActiviteitFilter(), Page(1, PAGE_SIZE))
        pages = max(1, -(-first.count // PAGE_SIZE))
        number = min(max(1, number), pages)
        found = (
            first
            if number == 1
            else await service.search(var_caller(actor), ActiviteitFilter(), Page(number, PAGE_SIZE))
        )
        return page(request, "var_list.html", status, items=found.items, number=number, pages=pages, **context)

    @route("/var", ["GET"], Permission.VAR)
    async def var_list(request: Request, actor: Actor) -> Response:
        return await var_list_page(request, actor)

    def var_form(request: Request, doc: dict[str, Any], new: bool, status: int = 200, **context: Any) -> Response:
        return page(request, "var_form.html", status, doc=_form_fields(doc), new=new, **context)

    @route("/var/nieuw", ["GET"], Permission.VAR)
    async def var_new(request: Request, actor: Actor) -> Response:
        return var_form(request, {}, True)

    @route("/var/nieuw", ["POST"], Permission.VAR, write=True)
    async def var_create(request: Request, actor: Actor) -> Response:
        form = await request.form()
        doc = _document(form)
        try:
            activiteit_id, gegevens = rules.parse_activiteit(doc)
            created = await admin.state("var").create(var_caller(actor), activiteit_id, gegevens)
        except ValidationFailed as exc:
            await admin.audit.record(actor, "var:aanmaken", doc.get("id"), FAILED, _problems(exc))
            return var_form(request, doc, True, 400, problems=exc.params)
        await admin.audit.record(actor, "var:aanmaken", created.id, OK, f"versie {created.versie}")
        notice = translate("saved", _lang(request), id=created.id, versie=created.versie)
        return await var_list_page(request, actor, notice=notice)

    @route("/var/import", ["GET"], Permission.VAR)
    async def var_import_form(request: Request, actor: Actor) -> Response:
        return page(request, "var_import.html")

    @route("/var/import", ["POST"], Permission.VAR, write=True)
    async def var_import(request: Request, actor: Actor) -> Response:
        """A VAR spreadsheet, as `verwerkingenlog var import`: new, changed and unchanged rows, and every rejected
        row with its column and reason."""
        from verwerkingenlog.services.var_import import ImportFormatError

        limit = admin.settings.var_import_max_bytes
        lang = _lang(request)
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit + 64 * 1024:  # the file and the form around it
            # refused before the upload is read or spooled to disk (docs/deployment.md, Request limits)
            reason = f"larger than {limit // (1024 * 1024)} MB"
            await admin.audit.record(actor, "var:importeren", None, FAILED, reason)
            return page(request, "var_import.html", 413, error=translate("import_unusable", lang, reason=reason))
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("bestand")
        organisatie = str(form.get("organisatie") or "").strip() or None
        dry_run = form.get("controle") == "1"
        name = upload.filename if isinstance(upload, UploadFile) and upload.filename else ""
        try:
            if not isinstance(upload, UploadFile) or not name:
                raise ImportFormatError("no file" if lang == "en" else "geen bestand")
            data = await upload.read(limit + 1)
            if len(data) > limit:
                raise ImportFormatError(f"larger than {limit // (1024 * 1024)} MB")
            result = await _import(admin.state("var"), var_caller(actor), name, data, organisatie, dry_run)
        except ImportFormatError as exc:
            await admin.audit.record(actor, "var:importeren", name[:255] or None, FAILED, str(exc)[:1000])
            return page(request, "var_import.html", 400, error=translate("import_unusable", lang, reason=str(exc)))
        detail = (
            f"{'dry run: ' if dry_run else ''}{result['nieuw']} new, {result['gewijzigd']} changed, "
            f"{result['ongewijzigd']} unchanged, {result['afgewezen']} rejected"
        )
        await admin.audit.record(actor, "var:importeren", name[:255], OK, detail)
        return page(request, "var_import.html", result=result, file=name, dry_run=dry_run)

    @route("/var/{activiteit_id}", ["GET"], Permission.VAR)
    async def var_edit(request: Request, actor: Actor) -> Response:
        activiteit_id = request.path_params["activiteit_id"]
        try:
            current = await admin.state("var").read(var_caller(actor), activiteit_id)
        except DomainError:
            return message(request, "not_found", 404)
        return var_form(request, {"id": current.id, **rules.document(current.gegevens)}, False, versie=current.versie)

    @route("/var/{activiteit_id}", ["POST"], Permission.VAR, write=True)
    async def var_update(request: Request, actor: Actor) -> Response:
        activiteit_id = request.path_params["activiteit_id"]
        form = await request.form()
        doc = _document(form)
        doc.pop("id", None)
        try:
            _, gegevens = rules.parse_activiteit(doc, id_allowed=False)
            updated = await admin.state("var").update(var_caller(actor), activiteit_id, gegevens)
        except ValidationFailed as exc:
            await admin.audit.record(actor, "var:wijzigen", activiteit_id, FAILED, _problems(exc))
            return var_form(request, {"id": activiteit_id, **doc}, False, 400, problems=exc.params)
        await admin.audit.record(actor, "var:wijzigen", activiteit_id, OK, f"versie {updated.versie}")
        notice = translate("saved", _lang(request), id=updated.id, versie=updated.versie)
        return await var_list_page(request, actor, notice=notice)

    @route("/var/{activiteit_id}/intrekken", ["POST"], Permission.VAR, write=True)
    async def var_retire(request: Request, actor: Actor) -> Response:
        activiteit_id = request.path_params["activiteit_id"]
        try:
            retired = await admin.state("var").retire(var_caller(actor), activiteit_id)
        except ValidationFailed as exc:
            await admin.audit.record(actor, "var:intrekken", activiteit_id, FAILED, _problems(exc))
            return message(request, "not_found", 404)
        await admin.audit.record(actor, "var:intrekken", activiteit_id, OK, f"versie {retired.versie}")
        return await var_list_page(request, actor, notice=translate("retired", _lang(request), id=activiteit_id))

    # -- the doelbinding report -----------------------------------------------------------------------------------

    @route("/doelbinding", ["GET"], Permission.REPORT)
    async def report(request: Request, actor: Actor) -> Response:
        """The doelbinding report (§17.4) as GET /api/v1/doelbinding gives it to a client with `fg:read`."""
        q = request.query_params
        begin_raw, end_raw = q.get("beginDatum") or "", q.get("eindDatum") or ""
        systeem = (q.get("systeem") or "").strip() or None
        form = {"beginDatum": begin_raw, "eindDatum": end_raw, "systeem": systeem or ""}
        try:
            begin = values.date_value(begin_raw) if begin_raw else None
            end = values.date_value(end_raw) if end_raw else None
        except InvalidValue as exc:
            error = translate("invalid_period", _lang(request), reason=exc.reason)
            return page(request, "doelbinding.html", 400, regels=None, form=form, error=error)
        span, problem = period(begin, end, settings.zone)
        if problem is not None or span is None:
            reason = problem.reason if problem else ""
            error = translate("invalid_period", _lang(request), reason=reason)
            return page(request, "doelbinding.html", 400, regels=None, form=form, error=error)
        caller = Caller(actor.label, frozenset({"fg:read"}))
        regels = await admin.state("var").doelbinding(caller, span.begin_us, span.end_us, systeem)
        return page(request, "doelbinding.html", regels=regels, form=form)

    # -- the FG's tools (docs/fg.md) ----------------------------------------------------------------------------

    @route("/controle", ["GET"], Permission.CONTROLE)
    async def controle(request: Request, actor: Actor) -> Response:
        """Empty forms: nothing is looked at (and so nothing logged) until the FG asks."""
        return page(request, "controle.html", form={}, gevonden=None, signalen=None)

    @route("/controle", ["POST"], Permission.CONTROLE)
    async def controle_zoek(request: Request, actor: Actor) -> Response:
        """Who processed one person (`actie=persoon`) or the signals of a period (`actie=signalen`), through the same
        service as GET /api/v1/fg/…, so every look is logged as the FG's processing. A POST keeps the BSN out of
        URLs and browser history; the audit trail records the look's verwerkingId, never the BSN."""
        form = await form_of(request)
        lang = _lang(request)
        begin_raw, end_raw = form.get("beginDatum", ""), form.get("eindDatum", "")
        vertrouwelijk = form.get("vertrouwelijk") == "1"
        shown = {"beginDatum": begin_raw, "eindDatum": end_raw, "vertrouwelijk": vertrouwelijk}

        def refused(error: str) -> Response:
            return page(request, "controle.html", 400, form=shown, gevonden=None, signalen=None, error=error)

        try:
            begin = values.date_value(begin_raw) if begin_raw else None
            end = values.date_value(end_raw) if end_raw else None
        except InvalidValue as exc:
            return refused(translate("invalid_period", lang, reason=exc.reason))
        span, problem = period(begin, end, settings.zone)
        if problem is not None or span is None:
            return refused(translate("invalid_period", lang, reason=problem.reason if problem else ""))
        caller = Caller(actor.label, frozenset({"fg:read"}))
        fg = admin.state("fg")
        if form.get("actie") == "signalen":
            if span.begin_us is None or span.end_us is None:
                return refused(translate("period_required", lang))
            try:
                found = await fg.signalen(caller, span.begin_us, span.end_us, vertrouwelijk)
            except ValidationFailed as exc:
                return refused(translate("invalid_period", lang, reason=exc.params[0].reason))
            await admin.audit.record(actor, "fg:signalen", found.controle.verwerking_id, OK, None)
            return page(request, "controle.html", form=shown, gevonden=None, signalen=found, controle=found.controle)
        object_id = form.get("objectId", "").strip()
        if not object_id or len(object_id) > values.IDENTIFICATOR_MAX:
            return refused(translate("bsn_required", lang))
        f = ObjectFilter("persoon", "BSN", object_id, span.begin_us, span.end_us)
        view = await fg.persoon(caller, f, Page(1, 100), vertrouwelijk)
        await admin.audit.record(actor, "fg:persoon", view.controle.verwerking_id, OK, None)
        return page(request, "controle.html", form=shown, gevonden=view, signalen=None, controle=view.controle)

    # -- integrity: checkpoint status and verify -------------------------------------------------------------

    async def integrity_page(request: Request, status: int = 200, **context: Any) -> Response:
        from verwerkingenlog.store import integrity as store

        async with admin.state("db").reading() as conn:
            size = await store.tree_size(conn)
        try:
            latest = await admin.state("integrity").latest()
        except NotFound:
            latest = None
        age = None if latest is None else max(0, (now_us() - latest.created_us) // 60_000_000)
        last = await admin.verify_results.latest()
        return page(request, "integriteit.html", status, size=size, latest=latest, age=age, last=last, **context)

    @route("/integriteit", ["GET"], Permission.INTEGRITY)
    async def integrity(request: Request, actor: Actor) -> Response:
        return await integrity_page(request)

    @route("/integriteit/verify", ["POST"], Permission.VERIFY, write=True)
    async def run_verify(request: Request, actor: Actor) -> Response:
        """`verwerkingenlog verify` now, with the published keys (and the witness file when configured); the
        result is stored like the CLI's and shown. It reads the whole log: on a large log this takes a while."""
        from verwerkingenlog.integrity.witness import parse_witness_file
        from verwerkingenlog.services.verify import Verifier

        notes: list[str] = []
        witness = settings.checkpoint_witness_file
        if witness is not None and witness.is_file():
            try:
                notes = parse_witness_file(witness.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ValueError):
                log.warning("Admin: the witness file could not be read; verify runs without it.")
        trusted = await admin.state("integrity").trusted_keys()
        register = admin.state("register")
        verifier = Verifier(admin.state("db"), register.reader, admin.state("var").store)
        result = await admin.verify_results.run(verifier, trusted, notes, actor.label)
        detail = f"{result.tree_size} leaves, {result.checkpoints} checkpoints, {len(result.findings)} findings"
        await admin.audit.record(actor, "verify", None, OK if result.ok else FAILED, detail)
        return await integrity_page(request)

    # -- audit -------------------------------------------------------------------------------------------------

    @route("/audit", ["GET"], Permission.AUDIT)
    async def audit(request: Request, actor: Actor) -> Response:
        number = max(1, _int(request.query_params.get("pagina"), 1))
        count, entries = await admin.audit.entries((number - 1) * PAGE_SIZE, PAGE_SIZE)
        pages = max(1, -(-count // PAGE_SIZE))
        return page(request, "audit.html", entries=entries, number=number, pages=pages, count=count)

    return app


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw else default
    except ValueError:
        return default


def _problems(exc: ValidationFailed) -> str:
    """For the audit: which fields were refused and why (no values)."""
    return "; ".join(f"{p.name}: {p.code}" for p in exc.params)[:1000]


# The VAR form: one field per scalar of §17.3, the lists one item per line, translations as JSON.
LIST_FIELDS = tuple(name for name, _ in rules.LISTS)


def _document(form: Any) -> dict[str, Any]:
    """The form as a `Verwerkingsactiviteit` document, validated by rules.parse_activiteit as the API's body."""

    def text(name: str) -> str | None:
        value = form.get(name)
        return value.strip() or None if isinstance(value, str) else None

    doc: dict[str, Any] = {"id": text("id")}
    for name, _, _ in rules.SCALARS:
        doc[name] = text(name)
    for name in LIST_FIELDS:
        doc[name] = _lines(text(name))
    persoonsgegevens = []
    for item in _lines(text(rules.PERSOONSGEGEVENS)):
        rol, sep, naam = item.partition(":")
        persoonsgegevens.append(
            {"rolBetrokkene": rol.strip() or None, "naam": naam.strip() or None}
            if sep
            else {"rolBetrokkene": None, "naam": item}
        )
    doc[rules.PERSOONSGEGEVENS] = persoonsgegevens
    raw = text(rules.VERTALINGEN)
    try:  # the API's JSON rule (api.decoding): nesting and surrogates refused while parsing
        doc[rules.VERTALINGEN] = json_value(raw.encode(), rules.VERTALINGEN) if raw else {}
    except ValidationFailed:
        doc[rules.VERTALINGEN] = raw  # refused by parse_activiteit, named by its field
    return doc


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _form_fields(doc: dict[str, Any]) -> dict[str, str]:
    """A document back into the form's text fields."""
    import json

    out = {"id": doc.get("id") or ""}
    for name, _, _ in rules.SCALARS:
        out[name] = doc.get(name) or ""
    for name in LIST_FIELDS:
        items = doc.get(name) or []
        out[name] = "\n".join(items) if isinstance(items, list) else str(items)
    pg = doc.get(rules.PERSOONSGEGEVENS) or []
    out[rules.PERSOONSGEGEVENS] = "\n".join(
        f"{p.get('rolBetrokkene')}: {p.get('naam') or ''}" if p.get("rolBetrokkene") else str(p.get("naam") or "")
        for p in pg
        if isinstance(p, dict)
    )
    vertalingen = doc.get(rules.VERTALINGEN)
    if isinstance(vertalingen, dict):
        out[rules.VERTALINGEN] = json.dumps(vertalingen, ensure_ascii=False, indent=1) if vertalingen else ""
    else:
        out[rules.VERTALINGEN] = str(vertalingen or "")
    return out


async def _import(
    service: Any, caller: Caller, name: str, data: bytes, organisatie: str | None, dry_run: bool
) -> dict[str, Any]:
    """services.var_import on an uploaded file (kept in a temporary file only while it is read)."""
    from verwerkingenlog.services.var import Uitkomst
    from verwerkingenlog.services.var_import import Afwijzing, parse_rows, read_table

    suffix = Path(name).suffix.lower()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"upload{suffix}"
        path.write_bytes(data)
        table = read_table(path)
    ingelezen = parse_rows(table, organisatie)
    items = [(i, g) for _, i, g in ingelezen.rijen]
    results = await service.apply(caller, items, dry_run)
    rejected = list(ingelezen.afwijzingen)
    counts = dict.fromkeys(Uitkomst, 0)
    for (number, _, _), result in zip(ingelezen.rijen, results, strict=True):
        if isinstance(result, Uitkomst):
            counts[result] += 1
        else:
            rejected += [Afwijzing(number, ingelezen.kolommen.header(p.name), p.reason) for p in result.params]
    return {
        "nieuw": counts[Uitkomst.NIEUW],
        "gewijzigd": counts[Uitkomst.GEWIJZIGD],
        "ongewijzigd": counts[Uitkomst.ONGEWIJZIGD],
        "afgewezen": len({a.rij for a in rejected}),
        "afwijzingen": sorted(rejected, key=lambda a: a.rij),
        "genegeerd": ingelezen.kolommen.genegeerd,
    }


__all__ = ["PREFIX", "Admin", "Role", "create_admin"]
