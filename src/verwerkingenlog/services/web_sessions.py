"""Server-side sessions for the portal and the admin pages (issue 19.6; docs/portal.md and docs/admin.md).

The session cookie stays Starlette's signed cookie, but a logged-in session also carries a random session id that
the register stores (as its SHA-256) at login and deletes at logout. A page that needs a login checks that the id
still exists, so a cookie copied before logout and replayed after it is logged out, in every server process
(the table is in the shared database). A session lasts at most MAX_AGE_SECONDS from login, whatever the cookie
says; older rows are deleted at the next login.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, MutableMapping
from typing import Any

from verwerkingenlog.store import web_sessions as store
from verwerkingenlog.store.db import Database

SESSION_ID_KEY = "sid"
MAX_AGE_SECONDS = 12 * 3600  # a working day: the cookie's 30 minutes of inactivity usually end it much sooner


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _now_us() -> int:
    return time.time_ns() // 1000


class WebSessions:
    """The sessions of one UI (`portaal` or `beheer`); `db` is read when first needed (the register's database
    exists only once its lifespan started)."""

    def __init__(self, ui: str, db: Callable[[], Database]) -> None:
        self.ui = ui
        self._db = db

    async def start(self, session: MutableMapping[str, Any]) -> None:
        """Store a new session id and put it in the (freshly cleared) session."""
        session_id = secrets.token_urlsafe(32)
        now = _now_us()
        async with self._db().writing() as conn:
            await store.remove_older(conn, now - MAX_AGE_SECONDS * 1_000_000)
            await store.add(conn, _hash(session_id), self.ui, now)
        session[SESSION_ID_KEY] = session_id

    async def valid(self, session: MutableMapping[str, Any]) -> bool:
        """Whether the session's id was started by a login, is not ended, and is not too old."""
        session_id = session.get(SESSION_ID_KEY)
        if not isinstance(session_id, str):
            return False
        async with self._db().reading() as conn:
            created = await store.created(conn, _hash(session_id), self.ui)
        return created is not None and created > _now_us() - MAX_AGE_SECONDS * 1_000_000

    async def end(self, session: MutableMapping[str, Any]) -> None:
        """Logout: the id stops being valid everywhere, also in a copy of the cookie."""
        session_id = session.get(SESSION_ID_KEY)
        if isinstance(session_id, str):
            async with self._db().writing() as conn:
                await store.remove(conn, _hash(session_id))
