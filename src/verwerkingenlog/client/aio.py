"""The client of the Bewerking, Inzage and VAR APIs, written once.

aio.py (`AsyncClient`) is the source; sync.py (`Client`) is generated from it by tools/gen_sync_client.py
(unasync), and `make lint` fails when the generated file is stale: edit aio.py, then `make sync-client`.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Iterable, Mapping
from datetime import date
from types import TracebackType
from typing import Any

import httpx

from verwerkingenlog.client import operations as ops
from verwerkingenlog.client.auth import TokenSource
from verwerkingenlog.client.errors import RegisterUnavailable
from verwerkingenlog.client.models import (
    Page,
    Versie,
    Verwerkingsactie,
    Verwerkingsactiviteit,
    VerwerktObjectUitgebreid,
)

DEFAULT_TIMEOUT = 10.0


class AsyncClient:
    """`Client("https://log.gemeente.nl", "zaaksysteem", secret)`, and `AsyncClient` with the same arguments
    and operations, awaitable. Use as a context manager (`with` / `async with`) or `close()` / `aclose()`.

    Every mutating call gets one Idempotency-Key for all its attempts; failures on 429/5xx/connection
    errors are retried per `retry`; errors raise `ApiError` subclasses carrying the problem+json details.
    """

    def __init__(
        self,
        base_url: str,
        client_id: str | None = None,
        secret: str | None = None,
        *,
        token: TokenSource | None = None,
        retry: ops.RetryPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: ops.AsyncSleep = asyncio.sleep,
    ) -> None:
        if token is None and client_id is not None and secret is not None:
            token = TokenSource(client_id, secret)
        self.token = token
        self.retry = retry or ops.RetryPolicy()
        self._sleep = sleep
        self._http = httpx.AsyncClient(base_url=ops.api_root(base_url) + "/", timeout=timeout, transport=transport)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def send(self, call: ops.Call) -> httpx.Response:
        """Send with retries; returns a 2xx/304 response or raises."""
        attempt = 0
        refreshed = False
        while True:
            attempt += 1
            auth = None if self.token is None else self.token.authorization()
            try:
                r = await self._http.request(
                    call.method,
                    call.path,
                    params=tuple(call.params),
                    json=call.json,
                    headers=call.request_headers(auth),
                )
            except httpx.TransportError as exc:
                if attempt >= self.retry.attempts:
                    raise RegisterUnavailable(f"{call.method} {call.path}: {exc!r} after {attempt} attempt(s)") from exc
                await self._sleep(self.retry.delay(attempt))
                continue
            if r.status_code < 400:
                return r
            if r.status_code == 401 and self.token is not None and not refreshed:
                refreshed = True  # a token past the register's maximum age: mint a fresh one once
                self.token.token(force=True)
                attempt -= 1
                continue
            if ops.retryable(r.status_code) and attempt < self.retry.attempts:
                await self._sleep(self.retry.delay(attempt, ops.retry_after_seconds(r.headers.get("Retry-After"))))
                continue
            raise ops.api_error(r)

    # -- Bewerking API (§6) ---------------------------------------------------------------------

    async def create(
        self, actie: Verwerkingsactie | Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> Verwerkingsactie:
        """POST /verwerkingsacties (F7446, F6624). Pass your own key to deduplicate across restarts."""
        return ops.actie_of(await self.send(ops.create(actie, idempotency_key)))

    async def list(
        self,
        object_id: str,
        *,
        soort_object_id: str = "BSN",
        objecttype: str = "persoon",
        begin_datum: date | str | None = None,
        eind_datum: date | str | None = None,
        vertrouwelijkheid: Iterable[str] | str | None = None,
        verwerkingsactiviteit_id: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        consumer: Mapping[str, str] | None = None,
    ) -> Page[Verwerkingsactie]:
        """GET /verwerkingsacties (F9787, F2525, F0143); `read:normal` needs vertrouwelijkheid="normaal"."""
        call = ops.list_acties(
            object_id,
            soort_object_id,
            objecttype,
            begin_datum,
            eind_datum,
            vertrouwelijkheid,
            verwerkingsactiviteit_id,
            page,
            page_size,
            consumer,
        )
        return ops.page_of(await self.send(call), Verwerkingsactie.from_json)

    async def read(self, actie_id: str, *, consumer: Mapping[str, str] | None = None) -> Verwerkingsactie:
        """GET /verwerkingsacties/{actieId}: the current version (R-GETS-2)."""
        return ops.actie_of(await self.send(ops.read(actie_id, consumer)))

    async def update(
        self, actie_id: str, actie: Verwerkingsactie | Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> Verwerkingsactie:
        """PUT /verwerkingsacties/{actieId} (F8316, F3835): the complete action; returns the new version."""
        return ops.actie_of(await self.send(ops.update(actie_id, actie, idempotency_key)))

    async def patch(
        self,
        verwerking_id: str,
        *,
        bewaartermijn: str | None = None,
        vertrouwelijkheid: str | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        """PATCH /verwerkingsacties?verwerkingId= (F4415, F2969): for every action of the verwerking."""
        await self.send(ops.patch(verwerking_id, bewaartermijn, vertrouwelijkheid, idempotency_key))

    async def delete(self, actie_id: str, *, idempotency_key: str | None = None) -> None:
        """DELETE /verwerkingsacties/{actieId} (F9906, F2265): logical delete."""
        await self.send(ops.delete(actie_id, idempotency_key))

    async def versies(self, actie_id: str, *, consumer: Mapping[str, str] | None = None) -> builtins.list[Versie]:
        """GET /verwerkingsacties/{actieId}/versies (extension, read:confidential)."""
        return ops.versies_of(await self.send(ops.versies(actie_id, consumer)))

    # -- Inzage API (§7) ------------------------------------------------------------------------

    async def inzage_list(
        self,
        object_id: str,
        begin_datum: date | str,
        eind_datum: date | str,
        *,
        soort_object_id: str = "BSN",
        objecttype: str = "persoon",
        verwerkingsactiviteit_id: str | None = None,
        page: int | None = None,
        page_size: int | None = None,
        consumer: Mapping[str, str] | None = None,
    ) -> Page[VerwerktObjectUitgebreid]:
        """GET /verwerkte-objecten (F4086, F2008). The register requires OIN and activity headers
        (R-INZ-8): call inside a `verwerking(...)` or pass `consumer`."""
        call = ops.inzage_list(
            object_id,
            soort_object_id,
            objecttype,
            begin_datum,
            eind_datum,
            verwerkingsactiviteit_id,
            page,
            page_size,
            consumer,
        )
        return ops.page_of(await self.send(call), VerwerktObjectUitgebreid.from_json)

    async def inzage_read(
        self, verwerkt_object_id: str, *, consumer: Mapping[str, str] | None = None
    ) -> VerwerktObjectUitgebreid:
        """GET /verwerkte-objecten/{verwerktObjectId}."""
        return ops.inzage_of(await self.send(ops.inzage_read(verwerkt_object_id, consumer)))

    # -- VAR API (§17) --------------------------------------------------------------------------

    async def var_list(self, *, page: int | None = None, page_size: int | None = None) -> Page[Verwerkingsactiviteit]:
        """GET /verwerkingsactiviteiten."""
        return ops.page_of(await self.send(ops.var_list(page, page_size)), Verwerkingsactiviteit.from_json)

    async def var_read(self, activiteit_id: str, *, etag: str | None = None) -> Verwerkingsactiviteit | None:
        """GET /verwerkingsactiviteit/{id}; None when `etag` still matches (304)."""
        return ops.activiteit_of(await self.send(ops.var_read(activiteit_id, etag)))
