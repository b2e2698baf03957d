"""The client library from a supplier's side: every operation against a real register process
(SQLite and PostgreSQL), and retries/errors against a scripted transport."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from tests.helpers import CONSUMER_OIN, INZAGE_HEADERS, TEST_ACTIVITY, new_bsn
from tests.live import RegisterProcess, live_register  # noqa: F401 - fixture
from verwerkingenlog.client import (
    AsyncClient,
    AuthenticationFailed,
    Client,
    IdempotencyKeyReused,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    RateLimited,
    RegisterUnavailable,
    RetryPolicy,
    ServerError,
    TokenSource,
    Verwerkingsactie,
    persoon,
    verwerking,
)
from verwerkingenlog.services.clients import Client as Registered

ACTIVITY_URL = f"https://var.example.nl/api/v1/verwerkingsactiviteit/{TEST_ACTIVITY}"


def _actie(bsn: str, **kw: Any) -> Verwerkingsactie:
    values: dict[str, Any] = {
        "actie_naam": "Opvragen persoonsgegevens",
        "verwerkingsactiviteit_id": TEST_ACTIVITY,
        "verwerkingsactiviteit_url": ACTIVITY_URL,
        "verwerking_id": str(uuid.uuid4()),
        "bewaartermijn": "P10Y",
        "systeem": "ClientTest 1.0",
        "verwerkte_objecten": [persoon(bsn, "Aanvrager", ["Adres"])],
        **kw,
    }
    return Verwerkingsactie(**values)


@pytest.fixture
def client(live_register: RegisterProcess, registered: dict[str, Registered]) -> Iterator[Client]:  # noqa: F811
    c = registered["alles"]
    with Client(live_register.url, c.client_id, c.secret) as client:
        yield client


def test_bewerking_operations_round_trip(client: Client) -> None:
    """create → list → read → update → patch → versies → delete, as a supplier calls them."""
    bsn = new_bsn()
    created = client.create(_actie(bsn))
    assert created.actie_id and created.url and created.tijdstip_registratie
    assert created.verwerkte_objecten[0].object_id == bsn
    assert created.verwerkte_objecten[0].soorten_gegevens == ("Adres",)

    page = client.list(bsn, verwerkingsactiviteit_id=TEST_ACTIVITY, begin_datum=date(2000, 1, 1))
    assert page.count == 1 and page.results[0].actie_id == created.actie_id

    assert client.read(created.actie_id).actie_naam == "Opvragen persoonsgegevens"

    corrected = client.update(
        created.actie_id,
        _actie(bsn, actie_naam="Raadplegen persoonsgegevens", verwerking_id=created.verwerking_id),
    )
    assert corrected.actie_id != created.actie_id and corrected.actie_naam == "Raadplegen persoonsgegevens"

    assert created.verwerking_id is not None
    client.patch(created.verwerking_id, bewaartermijn="P20Y")
    assert client.read(created.actie_id).bewaartermijn == "P20Y"

    history = client.versies(created.actie_id)
    assert [v.versie for v in history] == [1, 2, 3] and not history[-1].vervallen

    client.delete(created.actie_id)
    with pytest.raises(NotFound) as gone:
        client.read(created.actie_id)
    assert gone.value.status == 404 and gone.value.code == "not_found"


def test_inzage_operations(client: Client) -> None:
    bsn = new_bsn()
    client.create(_actie(bsn))
    page = client.inzage_list(
        bsn, "2000-01-01", "2100-01-01", verwerkingsactiviteit_id=TEST_ACTIVITY, consumer=INZAGE_HEADERS
    )
    assert page.count == 1
    hit = page.results[0]
    assert hit.object_id == bsn and hit.verwerkingsactie is not None
    assert hit.verwerkingsactie.systeem is None  # R-INZ-6: not in the restricted field set
    assert hit.verwerkt_object_id is not None
    again = client.inzage_read(hit.verwerkt_object_id, consumer=INZAGE_HEADERS)
    assert again.verwerkt_object_id == hit.verwerkt_object_id


def test_reads_carry_the_current_verwerking_as_consumer_headers(client: Client) -> None:
    """§10.5/R-INZ-8: inside `verwerking(...)` the Inzage call identifies the reader by itself."""
    bsn = new_bsn()
    client.create(_actie(bsn))
    with pytest.raises(InvalidRequest) as missing:
        client.inzage_list(bsn, "2000-01-01", "2100-01-01")
    assert {p.name for p in missing.value.invalid_params} >= {"OIN", "VerwerkingsactiviteitId"}
    reader_activity = str(uuid.uuid4())
    with verwerking(reader_activity, f"https://var.example.nl/{reader_activity}", oin=CONSUMER_OIN):
        page = client.inzage_list(bsn, "2000-01-01", "2100-01-01", verwerkingsactiviteit_id=TEST_ACTIVITY)
    assert page.count == 1


def test_errors_carry_the_problem_details(client: Client, live_register: RegisterProcess) -> None:  # noqa: F811
    bsn = new_bsn()
    with pytest.raises(InvalidRequest) as bad:
        client.create(_actie(bsn, uitvoerder="123"))
    err = bad.value
    assert err.status == 400 and err.code == "invalid" and err.instance and err.instance.startswith("urn:uuid:")
    assert [(p.name, p.code) for p in err.invalid_params] == [("uitvoerder", "invalid")]
    assert "uitvoerder" in str(err)

    with pytest.raises(PermissionDenied):
        client.create(_actie(bsn, vertrouwelijkheid="opgeheven"))

    with Client(live_register.url, "onbekend", "x" * 40) as stranger, pytest.raises(AuthenticationFailed) as auth:
        stranger.create(_actie(bsn))
    assert auth.value.code == "authentication_failed"


def test_own_idempotency_key_deduplicates_and_reuse_is_reported(client: Client) -> None:
    bsn = new_bsn()
    key = str(uuid.uuid4())
    body = _actie(bsn, tijdstip="2024-04-05T14:35:42+01:00")
    first = client.create(body, idempotency_key=key)
    second = client.create(body, idempotency_key=key)
    assert first.actie_id == second.actie_id
    with pytest.raises(IdempotencyKeyReused) as reused:
        client.create(_actie(bsn, actie_naam="Anders"), idempotency_key=key)
    assert reused.value.status == 422
    assert client.list(bsn, verwerkingsactiviteit_id=TEST_ACTIVITY).count == 1


def test_lost_response_is_retried_with_the_same_key_and_stored_once(
    live_register: RegisterProcess,  # noqa: F811
    registered: dict[str, Registered],
) -> None:
    """A duplicate delivery: the register stored the entry but the answer was lost on the way back."""
    real = httpx.HTTPTransport()
    lost: list[str] = []

    class LosesFirstAnswer(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            response = real.handle_request(request)
            if request.method == "POST" and not lost:
                response.read()
                lost.append(request.headers["Idempotency-Key"])
                raise httpx.ReadError("connection reset after the register answered", request=request)
            return response

    c = registered["alles"]
    bsn = new_bsn()
    with Client(live_register.url, c.client_id, c.secret, transport=LosesFirstAnswer(), sleep=lambda _s: None) as cl:
        created = cl.create(_actie(bsn))
        assert lost and created.actie_id
        assert cl.list(bsn, verwerkingsactiviteit_id=TEST_ACTIVITY).count == 1


def test_async_client(live_register: RegisterProcess, registered: dict[str, Registered]) -> None:  # noqa: F811
    c = registered["alles"]
    bsn = new_bsn()

    async def scenario() -> tuple[int, str | None]:
        async with AsyncClient(live_register.url, c.client_id, c.secret) as client:
            created = await client.create(_actie(bsn))
            assert created.actie_id is not None
            read = await client.read(created.actie_id)
            page = await client.list(bsn, verwerkingsactiviteit_id=TEST_ACTIVITY)
            await client.delete(created.actie_id)
            return page.count, read.actie_id

    count, actie_id = asyncio.run(scenario())
    assert count == 1 and actie_id is not None


# -- retries and errors against a scripted transport --------------------------------------------


def _scripted(
    *answers: httpx.Response | Exception,
) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return httpx.MockTransport(handle), seen


def _created() -> httpx.Response:
    body = _actie("1").to_json() | {"actieId": str(uuid.uuid4()), "url": "http://x/1", "tijdstipRegistratie": "t"}
    return httpx.Response(201, json=body)


def _problem(status: int, code: str, headers: dict[str, str] | None = None) -> httpx.Response:
    body = {"code": code, "title": "t", "status": status, "detail": f"{code} detail", "instance": "urn:uuid:1"}
    return httpx.Response(status, json=body, headers=headers)


def _client(transport: httpx.MockTransport, sleeps: list[float], **kw: Any) -> Client:
    return Client("http://register.test", "app", "s" * 40, transport=transport, sleep=sleeps.append, **kw)


def test_retries_5xx_429_and_connection_errors_with_one_idempotency_key() -> None:
    transport, seen = _scripted(
        _problem(503, "error"),
        httpx.ConnectError("refused"),
        _problem(429, "throttled", {"Retry-After": "3"}),
        _created(),
    )
    sleeps: list[float] = []
    _client(transport, sleeps).create(_actie("1"))
    assert len(seen) == 4
    assert len({r.headers["Idempotency-Key"] for r in seen}) == 1
    assert sleeps[2] == 3.0  # Retry-After honoured
    assert 0 < sleeps[0] <= 0.25 and 0 < sleeps[1] <= 0.5  # exponential back-off with jitter


def test_each_logical_call_gets_its_own_key() -> None:
    transport, seen = _scripted(_created(), _created())
    client = _client(transport, [])
    client.create(_actie("1"))
    client.create(_actie("1"))
    assert seen[0].headers["Idempotency-Key"] != seen[1].headers["Idempotency-Key"]


def test_client_errors_are_not_retried() -> None:
    transport, seen = _scripted(_problem(400, "invalid"))
    with pytest.raises(InvalidRequest):
        _client(transport, []).create(_actie("1"))
    assert len(seen) == 1


def test_gives_up_after_the_attempts() -> None:
    transport, seen = _scripted(*[_problem(500, "error") for _ in range(3)])
    with pytest.raises(ServerError) as failed:
        _client(transport, [], retry=RetryPolicy(attempts=3)).create(_actie("1"))
    assert failed.value.detail == "error detail" and len(seen) == 3

    transport, seen = _scripted(*[httpx.ConnectError("refused") for _ in range(2)])
    with pytest.raises(RegisterUnavailable):
        _client(transport, [], retry=RetryPolicy(attempts=2)).create(_actie("1"))

    transport, _ = _scripted(_problem(429, "throttled", {"Retry-After": "120"}))
    with pytest.raises(RateLimited) as limited:
        _client(transport, [], retry=RetryPolicy(attempts=1)).create(_actie("1"))
    assert limited.value.retry_after == 120.0


def test_token_is_hs256_with_client_claims_and_refreshed() -> None:
    clock = [1_000_000.0]
    source = TokenSource("app", "geheim" * 8, refresh_after=1800, clock=lambda: clock[0])
    first = source.token()
    claims = jwt.decode(first, "geheim" * 8, algorithms=["HS256"])
    assert claims == {"iss": "app", "client_id": "app", "iat": 1_000_000}
    clock[0] += 1799
    assert source.token() == first
    clock[0] += 2
    assert jwt.decode(source.token(), "geheim" * 8, algorithms=["HS256"])["iat"] == 1_001_801


def test_a_refused_token_is_reminted_once() -> None:
    transport, seen = _scripted(_problem(401, "authentication_failed"), _created())
    _client(transport, []).create(_actie("1"))
    tokens = [r.headers["Authorization"] for r in seen]
    assert len(seen) == 2 and tokens[0].startswith("Bearer ")


VAR_ID = "c83b2d4e-119b-4214-9567-8095e1d30eff"
VAR_BODY = {
    "id": VAR_ID,
    "naam": "Parkeervergunningen",
    "verantwoordelijkeOrganisatie": "00000001821002193000",
    "doel": "Verlenen van parkeervergunningen",
    "grondslag": "Publieke taak",
    "verwerktePersoonsgegevens": [{"rolBetrokkene": "Aanvrager", "naam": "Adres"}],
}


def test_var_operations_follow_the_oas() -> None:
    """§17.2: list (paginated) and single GET with ETag/If-None-Match (304 → None)."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/verwerkingsactiviteiten":
            return httpx.Response(200, json={"count": 1, "next": None, "previous": None, "results": [VAR_BODY]})
        assert request.url.path == f"/api/v1/verwerkingsactiviteit/{VAR_ID}"
        if request.headers.get("If-None-Match") == '"abc"':
            return httpx.Response(304)
        return httpx.Response(200, json=VAR_BODY, headers={"ETag": '"abc"'})

    client = Client("http://register.test/api/v1", "app", "s" * 40, transport=httpx.MockTransport(handle))
    page = client.var_list(page=1)
    assert page.count == 1 and page.results[0].naam == "Parkeervergunningen"
    one = client.var_read(VAR_ID)
    assert one is not None and one.etag == '"abc"' and one.verwerkte_persoonsgegevens[0].naam == "Adres"
    assert client.var_read(VAR_ID, etag='"abc"') is None


def test_put_sends_every_key() -> None:
    """R-PUT-1: a PUT body carries every client-settable key, null when unset."""
    seen: list[dict[str, Any]] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return _created()

    Client("http://r.test", transport=httpx.MockTransport(handle)).update(str(uuid.uuid4()), _actie("1"))
    assert seen[0]["uitvoerder"] is None and "afnemerId" in seen[0] and seen[0]["vertrouwelijkheid"] == "normaal"


def test_var_operations_against_the_register(client: Client) -> None:
    """The VAR API as the register serves it (§17.2): a page, and 404 for an unknown activity."""
    page = client.var_list(page=1)
    assert page.count == len(page.results) or page.next is not None
    for activiteit in page.results:
        assert activiteit.id and activiteit.naam and activiteit.verantwoordelijke_organisatie
    with pytest.raises(NotFound):
        client.var_read(str(uuid.uuid4()))
    if page.results:
        first = client.var_read(page.results[0].id)
        assert first is not None and first.etag
        assert client.var_read(first.id, etag=first.etag) is None


GENERATOR = Path(__file__).resolve().parents[1] / "tools" / "gen_sync_client.py"
SYNC_CLIENT = GENERATOR.parents[1] / "src" / "verwerkingenlog" / "client" / "sync.py"


def _check_generated(target: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(GENERATOR), "--check", "--target", str(target)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_the_sync_client_is_the_one_generated_from_the_async_client(tmp_path: Path) -> None:
    """`Client` and `AsyncClient` cannot drift: sync.py is what unasync makes of aio.py, and a hand edit is caught."""
    fresh = _check_generated(SYNC_CLIENT)
    assert fresh.returncode == 0, fresh.stdout + fresh.stderr
    edited = tmp_path / "sync.py"
    edited.write_text(SYNC_CLIENT.read_text().replace("attempt += 1", "attempt += 2"))
    stale = _check_generated(edited)
    assert stale.returncode == 1 and "-            attempt += 2" in stale.stdout and "make sync-client" in stale.stderr
