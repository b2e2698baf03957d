"""The operations of the Bewerking, Inzage and VAR APIs as request descriptions (`Call`), the retry policy
and the reading of responses: what `Client` and `AsyncClient` share (only the sending differs).

Public for a caller that needs more than the typed methods: build a `Call` here and `client.send(call)` it
(with the client's retries, token and error mapping) to get the raw response, as the portal does to ask
for the `expand` extension (docs/var.md)."""

from __future__ import annotations

import email.utils
import random
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

import httpx

from verwerkingenlog.client import propagation
from verwerkingenlog.client.errors import ApiError, error_for
from verwerkingenlog.client.models import (
    Page,
    Versie,
    Verwerkingsactie,
    Verwerkingsactiviteit,
    VerwerktObjectUitgebreid,
)

T = TypeVar("T")
IDEMPOTENCY_HEADER = "Idempotency-Key"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
USER_AGENT = "verwerkingenlog-client/0.1"
# How a client waits between attempts (tests pass their own); unasync turns the one into the other.
AsyncSleep = Callable[[float], Awaitable[None]]
Sleep = Callable[[float], None]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Retries on 429, 5xx and connection errors: exponential back-off with jitter, honouring
    Retry-After (up to `max_retry_after`). Safe because every mutating call carries one
    Idempotency-Key for all its attempts (the register deduplicates POSTs by it)."""

    attempts: int = 5
    base_delay: float = 0.25
    max_delay: float = 10.0
    max_retry_after: float = 60.0
    jitter: float = 0.5

    def delay(self, attempt: int, retry_after: float | None = None, rnd: Callable[[], float] = random.random) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.max_retry_after))
        ceiling = min(self.max_delay, self.base_delay * (2 ** (attempt - 1)))
        return float(ceiling * (1 - self.jitter * rnd()))


NO_RETRIES = RetryPolicy(attempts=1)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retryable(status: int) -> bool:
    return status == 429 or status >= 500


@dataclass(slots=True)
class Call:
    """One logical operation; its Idempotency-Key is fixed here and reused by every retry."""

    method: str
    path: str
    params: list[tuple[str, str]] = field(default_factory=list)
    json: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    idempotency_key: str | None = None

    def __post_init__(self) -> None:
        if self.method in MUTATING and self.idempotency_key is None:
            self.idempotency_key = str(uuid.uuid4())

    def request_headers(self, authorization: str | None) -> dict[str, str]:
        out = {"Accept": "application/json", "User-Agent": USER_AGENT, **self.headers}
        if authorization is not None:
            out["Authorization"] = authorization
        if self.idempotency_key is not None:
            out[IDEMPOTENCY_HEADER] = self.idempotency_key
        return out


def api_error(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = {"detail": response.text[:500]}
    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    return error_for(response.status_code, body if isinstance(body, Mapping) else {}, retry_after)


# -- the operations ------------------------------------------------------------------------------

Consumer = Mapping[str, str] | None


def _consumer(consumer: Consumer) -> dict[str, str]:
    """§10.5: a read of the log is itself a processing; pass your own verwerking's headers (the
    current `verwerking(...)` context by default)."""
    return dict(propagation.outgoing_headers() if consumer is None else consumer)


def _body(actie: Verwerkingsactie | Mapping[str, Any], complete: bool = False) -> dict[str, Any]:
    return actie.to_json(complete) if isinstance(actie, Verwerkingsactie) else dict(actie)


def _day(value: date | str) -> str:
    return value.isoformat() if isinstance(value, date) else value


def _paging(params: list[tuple[str, str]], page: int | None, page_size: int | None) -> list[tuple[str, str]]:
    if page is not None:
        params.append(("page", str(page)))
    if page_size is not None:
        params.append(("pageSize", str(page_size)))
    return params


def create(actie: Verwerkingsactie | Mapping[str, Any], idempotency_key: str | None) -> Call:
    """§6.1: no propagation headers on log calls (the information travels in the payload)."""
    return Call("POST", "verwerkingsacties", json=_body(actie), idempotency_key=idempotency_key)


def list_acties(
    object_id: str,
    soort_object_id: str,
    objecttype: str,
    begin_datum: date | str | None,
    eind_datum: date | str | None,
    vertrouwelijkheid: Iterable[str] | str | None,
    verwerkingsactiviteit_id: str | None,
    page: int | None,
    page_size: int | None,
    consumer: Consumer,
) -> Call:
    params = [("objecttype", objecttype), ("soortObjectId", soort_object_id), ("objectId", object_id)]
    if begin_datum is not None:
        params.append(("beginDatum", _day(begin_datum)))
    if eind_datum is not None:
        params.append(("eindDatum", _day(eind_datum)))
    if vertrouwelijkheid is not None:
        values = [vertrouwelijkheid] if isinstance(vertrouwelijkheid, str) else list(vertrouwelijkheid)
        params += [("vertrouwelijkheid", v) for v in values]
    if verwerkingsactiviteit_id is not None:
        params.append(("verwerkingsactiviteitId", verwerkingsactiviteit_id))
    return Call("GET", "verwerkingsacties", _paging(params, page, page_size), headers=_consumer(consumer))


def read(actie_id: str, consumer: Consumer) -> Call:
    return Call("GET", f"verwerkingsacties/{actie_id}", headers=_consumer(consumer))


def update(actie_id: str, actie: Verwerkingsactie | Mapping[str, Any], idempotency_key: str | None) -> Call:
    return Call("PUT", f"verwerkingsacties/{actie_id}", json=_body(actie, True), idempotency_key=idempotency_key)


def patch(
    verwerking_id: str, bewaartermijn: str | None, vertrouwelijkheid: str | None, idempotency_key: str | None
) -> Call:
    body = {k: v for k, v in (("bewaartermijn", bewaartermijn), ("vertrouwelijkheid", vertrouwelijkheid)) if v}
    if not body:
        raise ValueError("patch needs bewaartermijn and/or vertrouwelijkheid (R-PATCH-1)")
    return Call(
        "PATCH", "verwerkingsacties", [("verwerkingId", verwerking_id)], json=body, idempotency_key=idempotency_key
    )


def delete(actie_id: str, idempotency_key: str | None) -> Call:
    return Call("DELETE", f"verwerkingsacties/{actie_id}", idempotency_key=idempotency_key)


def versies(actie_id: str, consumer: Consumer) -> Call:
    return Call("GET", f"verwerkingsacties/{actie_id}/versies", headers=_consumer(consumer))


def inzage_list(
    object_id: str,
    soort_object_id: str,
    objecttype: str,
    begin_datum: date | str,
    eind_datum: date | str,
    verwerkingsactiviteit_id: str | None,
    page: int | None,
    page_size: int | None,
    consumer: Consumer,
    *,
    expand: Iterable[str] = (),
) -> Call:
    """GET /verwerkte-objecten; `expand` names this register's extensions (e.g. `verwerkingsactiviteit`,
    docs/var.md), which a register of another make may refuse with a 400 on `expand`."""
    params = [
        ("objecttype", objecttype),
        ("soortObjectId", soort_object_id),
        ("objectId", object_id),
        ("beginDatum", _day(begin_datum)),
        ("eindDatum", _day(eind_datum)),
    ]
    if verwerkingsactiviteit_id is not None:
        params.append(("verwerkingsactiviteitId", verwerkingsactiviteit_id))
    params = _paging(params, page, page_size) + [("expand", e) for e in expand]
    return Call("GET", "verwerkte-objecten", params, headers=_consumer(consumer))


def inzage_read(verwerkt_object_id: str, consumer: Consumer) -> Call:
    return Call("GET", f"verwerkte-objecten/{verwerkt_object_id}", headers=_consumer(consumer))


def var_list(page: int | None, page_size: int | None) -> Call:
    return Call("GET", "verwerkingsactiviteiten", _paging([], page, page_size))


def var_read(activiteit_id: str, etag: str | None) -> Call:
    """§17.2: with the ETag of a cached copy the register may answer 304 (the result is then None)."""
    return Call(
        "GET", f"verwerkingsactiviteit/{activiteit_id}", headers={} if etag is None else {"If-None-Match": etag}
    )


# -- reading responses -----------------------------------------------------------------------------


def page_of(response: httpx.Response, item: Callable[[Mapping[str, Any]], T]) -> Page[T]:
    data = response.json()
    return Page(int(data["count"]), [item(r) for r in data["results"]], data.get("next"), data.get("previous"))


def actie_of(response: httpx.Response) -> Verwerkingsactie:
    return Verwerkingsactie.from_json(response.json())


def versies_of(response: httpx.Response) -> list[Versie]:
    return [Versie.from_json(r) for r in response.json()["results"]]


def inzage_of(response: httpx.Response) -> VerwerktObjectUitgebreid:
    return VerwerktObjectUitgebreid.from_json(response.json())


def activiteit_of(response: httpx.Response) -> Verwerkingsactiviteit | None:
    if response.status_code == 304:
        return None
    return Verwerkingsactiviteit.from_json(response.json(), response.headers.get("ETag"))


def api_root(base_url: str) -> str:
    """Accept the register's root (`https://log.example`) or its API root (`…/api/v1`)."""
    base = base_url.rstrip("/")
    return base if base.endswith("/api/v1") else base + "/api/v1"
