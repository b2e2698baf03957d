"""Bulk ingest (extension, docs/performance.md): NDJSON or a JSON array, validated per entry, one result per
entry, idempotent per entry with an Idempotency-Key."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.helpers import Api, actie, new_bsn

BULK = "/api/v1/verwerkingsacties/bulk"


def ndjson(*entries: Any) -> bytes:
    return b"\n".join(e if isinstance(e, bytes) else json.dumps(e).encode() for e in entries) + b"\n"


def send(
    api: Api, body: bytes, ctype: str = "application/x-ndjson", who: str = "alles", **headers: str
) -> httpx.Response:
    return api.request("POST", BULK, who, headers={"Content-Type": ctype, **headers}, content=body)


def test_ndjson_entries_are_validated_and_answered_one_by_one(api: Api) -> None:
    bsn = new_bsn()
    bad = actie(bsn, vertrouwelijkheid="geheim")
    del bad["tijdstip"]
    r = send(api, ndjson(actie(bsn), bad, b"{not json", b"", actie(bsn, handelingNaam="Tweede")))
    assert r.status_code == 200, r.text
    data = r.json()
    assert (data["count"], data["stored"], data["replayed"], data["failed"]) == (4, 2, 0, 2)
    first, invalid, unparsable, last = data["results"]
    assert (first["line"], first["status"], last["line"], last["status"]) == (1, 201, 5, 201)
    assert isinstance(first["leafIndex"], int) and last["leafIndex"] == first["leafIndex"] + 1
    assert invalid["line"] == 2 and invalid["status"] == 400
    assert {p["name"] for p in invalid["invalidParams"]} == {"tijdstip", "vertrouwelijkheid"}
    assert unparsable["line"] == 3 and unparsable["status"] == 400 and unparsable["invalidParams"]
    # What was stored is exactly what the single POST would have stored.
    stored = api.get(first["actieId"]).json()
    assert stored["verwerkteObjecten"][0]["objectId"] == bsn
    assert api.get(last["actieId"]).json()["handelingNaam"] == "Tweede"
    assert api.list(bsn).json()["count"] == 2


def test_json_array_and_per_entry_scope(api: Api) -> None:
    bsn = new_bsn()
    body = json.dumps([actie(bsn), actie(bsn, vertrouwelijkheid="vertrouwelijk")]).encode()
    data = send(api, body, "application/json", who="normaal").json()
    assert [x["status"] for x in data["results"]] == [201, 403]
    assert data["results"][1]["code"] == "permission_denied"
    not_array = send(api, b'{"a": 1}', "application/json")
    assert not_array.status_code == 400 and not_array.json()["invalidParams"][0]["name"] == "body"
    assert send(api, body, "text/plain").status_code == 415


def test_idempotency_per_entry(api: Api) -> None:
    bsn = new_bsn()
    entries = [actie(bsn, handelingNaam=f"nr {i}") for i in range(3)]
    first = send(api, ndjson(*entries[:2]), **{"Idempotency-Key": "bulk-1"}).json()
    assert (first["stored"], first["replayed"]) == (2, 0)
    # The retry carries one more entry: the two stored ones are answered, only the new one is stored.
    retry = send(api, ndjson(*entries), **{"Idempotency-Key": "bulk-1"}).json()
    assert (retry["stored"], retry["replayed"]) == (1, 2)
    assert [x["actieId"] for x in retry["results"][:2]] == [x["actieId"] for x in first["results"]]
    assert all(x.get("replayed") for x in retry["results"][:2])
    # Another body under a used entry key: 422 for that entry only.
    changed = send(api, ndjson(actie(bsn, handelingNaam="anders")), **{"Idempotency-Key": "bulk-1"}).json()
    assert changed["results"][0]["status"] == 422 and changed["results"][0]["code"] == "idempotency_key_reused"
    assert api.list(bsn).json()["count"] == 3
