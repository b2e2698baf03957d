"""The README's first look, as a test: log an action, list it, see it through the Inzage API."""

from __future__ import annotations

from tests.helpers import Api, actie, new_bsn


def test_log_list_and_inzage(api: Api) -> None:
    bsn = new_bsn()
    created = api.create(actie(bsn))
    assert created["actieId"] and created["url"].endswith(created["actieId"])

    listed = api.list(bsn, who="normaal")
    assert listed.status_code == 200, listed.text
    assert [a["actieId"] for a in listed.json()["results"]] == [created["actieId"]]

    seen = api.inzage(bsn)
    assert seen.status_code == 200, seen.text
    results = seen.json()["results"]
    assert len(results) == 1
    nested = results[0]["verwerkingsactie"]
    assert nested["actieId"] == created["actieId"]
    assert not {"systeem", "gebruiker", "gegevensbron"} & nested.keys()
