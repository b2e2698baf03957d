"""Federation details that need a register of another make: one that does not know this register's
`expand=verwerkingsactiviteit` extension (simulated with httpx's MockTransport, answering as the standard's
Inzage API does), and the checks on PORTAL_REGISTERS that stop a wrong configuration at start-up."""

from __future__ import annotations

import asyncio
from datetime import date

import httpx
import pytest

from verwerkingenlog.client.aio import AsyncClient
from verwerkingenlog.portal.registers import Bron, lookup, parse_registers

RESULT = {
    "url": "https://elders.example/api/v1/verwerkte-objecten/3f0d2a8e-4c7b-4e55-9b5e-0a3f7c9d2b11",
    "verwerktObjectId": "3f0d2a8e-4c7b-4e55-9b5e-0a3f7c9d2b11",
    "objecttype": "persoon",
    "soortObjectId": "BSN",
    "objectId": "999990019",
    "betrokkenheid": "Aanvrager",
    "verwerkteSoortenGegevens": [{"soortGegeven": "Adres"}],
    "verwerkingsactie": {
        "actieId": "7a1e0c9b-1d2f-4a3b-8c4d-5e6f7a8b9c0d",
        "actieNaam": "Opvragen adres",
        "verwerkingNaam": "Belastingaanslag",
        "verwerkingId": "0e1d2c3b-4a59-4687-9a6b-5c4d3e2f1a0b",
        "tijdstip": "2026-11-01T10:00:00+01:00",
        "vertrouwelijkheid": "normaal",
    },
}


def _other_make(seen: list[httpx.Request]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if "expand" in request.url.params:
            problem = {
                "status": 400,
                "code": "invalid",
                "title": "Invalid input.",
                "invalidParams": [{"name": "expand", "code": "unknown", "reason": "Unknown parameter."}],
            }
            return httpx.Response(400, json=problem, headers={"Content-Type": "application/problem+json"})
        return httpx.Response(200, json={"count": 1, "next": None, "previous": None, "results": [RESULT]})

    return httpx.MockTransport(answer)


def test_a_register_without_the_expand_extension_is_asked_again_without_it() -> None:
    seen: list[httpx.Request] = []
    client = AsyncClient("https://elders.example", "portaal", "secret", transport=_other_make(seen))
    headers = {"OIN": "00000001001172773000", "VerwerkingsactiviteitId": "x", "VerwerkingsactiviteitUrl": "y"}
    found = asyncio.run(lookup([Bron("Elders", client)], "999990019", date(2026, 1, 1), date(2027, 1, 1), headers))
    assert found.unreachable == []
    (entry,) = found.entries
    assert (entry.register, entry.verwerking_naam, entry.uitleg) == ("Elders", "Belastingaanslag", {})
    assert [("expand" in r.url.params) for r in seen] == [True, False]
    assert all(r.headers["OIN"] == "00000001001172773000" for r in seen)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"naam": "x"}', "must be a JSON list"),
        ('[{"naam": "Belastingen", "url": "https://log.example/api/v1"}]', "lacks client_id, secret"),
    ],
)
def test_a_wrong_registers_setting_stops_the_start(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_registers(raw)
