"""VAR history (extension): every version kept, reads "as of" an instant or a date (`peildatum`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.helpers import Api
from tests.var_support import VAR, activiteit, create, new_oin, problem_names, read, versies


def _just_before(iso: str) -> str:
    return (datetime.fromisoformat(iso) - timedelta(microseconds=1)).isoformat()


def test_reading_as_of_an_instant_returns_the_version_valid_then(api: Api) -> None:
    """The version valid at t = the last one registered at or before t; before the first → 404;
    during a retirement → 410; the list shows the state of the register at that instant."""
    oin = new_oin()
    v1 = create(api, activiteit(oin, doel="Eerste doel"))
    api.request("PUT", f"{VAR}/{v1['id']}", "var-write", json={**v1, "doel": "Tweede doel"})
    api.request("DELETE", f"{VAR}/{v1['id']}", "var-write")
    history = versies(api, v1["id"])
    t1, t2, t3 = (v["tijdstipRegistratie"] for v in history)

    def doel_at(instant: str) -> tuple[int, str | None]:
        r = read(api, v1["id"], params={"peildatum": instant})
        return r.status_code, r.json().get("doel")

    assert doel_at(_just_before(t1))[0] == 404
    assert doel_at(t1) == (200, "Eerste doel")
    assert doel_at(_just_before(t2)) == (200, "Eerste doel")
    assert doel_at(t2) == (200, "Tweede doel")
    assert doel_at(t3)[0] == 410
    assert read(api, v1["id"]).status_code == 410

    def listed_at(instant: str) -> list[str]:
        r = api.request("GET", VAR, "read-normal", params={"verantwoordelijkeOrganisatie": oin, "peildatum": instant})
        assert r.status_code == 200, r.text
        return [x["doel"] for x in r.json()["results"]]

    assert listed_at(_just_before(t1)) == []
    assert listed_at(t1) == ["Eerste doel"]
    assert listed_at(t2) == ["Tweede doel"]
    assert listed_at(t3) == []


def test_a_peildatum_date_means_the_end_of_that_day(api: Api) -> None:
    """A date (YYYY-MM-DD) counts everything registered on that day; yesterday nothing existed yet."""
    body = create(api, activiteit(new_oin()))
    today = datetime.now(UTC).astimezone().date()
    tomorrow, yesterday = today + timedelta(days=1), today - timedelta(days=2)
    assert read(api, body["id"], params={"peildatum": tomorrow.isoformat()}).status_code == 200
    assert read(api, body["id"], params={"peildatum": yesterday.isoformat()}).status_code == 404


def test_a_malformed_peildatum_is_400(api: Api) -> None:
    body = create(api, activiteit(new_oin()))
    for bad in ("gisteren", "2024-13-01", "2024-01-01T10:00:00"):
        assert problem_names(read(api, body["id"], params={"peildatum": bad})) == {"peildatum"}
        assert problem_names(api.request("GET", VAR, "read-normal", params={"peildatum": bad})) == {"peildatum"}


def test_the_register_refuses_to_rewrite_history(api: Api) -> None:
    """Append-only (migration 0003): the database itself refuses UPDATE and DELETE of VAR versions."""
    import asyncio

    from sqlalchemy import text

    from verwerkingenlog.store.db import Database

    body = create(api, activiteit(new_oin()))
    db_url: str = api.tc.app.state.settings.database_url  # type: ignore[attr-defined]

    async def attempt(sql: str) -> str:
        db = Database(db_url)
        try:
            async with db.writing() as conn:
                await conn.execute(text(sql), {"id": body["id"]})
        except Exception as exc:
            return str(exc)
        finally:
            await db.dispose()
        return "allowed"

    for sql in (
        "UPDATE verwerkingsactiviteit_versie SET doel = 'x' WHERE activiteit_id = :id",
        "DELETE FROM verwerkingsactiviteit_versie WHERE activiteit_id = :id",
    ):
        assert "append-only" in asyncio.run(attempt(sql))
    assert read(api, body["id"]).json() == body
