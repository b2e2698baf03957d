"""The §5.2 authorisation matrix as one table: operation × client (scope set) × current value ×
body/filter value → expected status.

Each row names the §5.2 row group and rule it checks (R-POST-1..3, R-GETL-6, R-GETS-4, R-PUT-3, AMB-24,
R-PATCH-4, AMB-28, R-DEL-3, R-SCOPE-1..3, §4.9 step 2). Refused writes must leave the log unchanged.

Clients (tests/conftest.py): alles = every scope, normaal = every :normal scope, geen = none, and one
client per single scope (create-conf, read-normal, read-conf, update-normal, update-conf,
delete-normal, delete-conf).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.bewerking_support import assert_problem, history, with_confidentiality
from tests.helpers import TEST_ACTIVITY, Api, actie, editable, new_bsn

N, V, OPG = "normaal", "vertrouwelijk", "opgeheven"
LIST = "/api/v1/verwerkingsacties"


def row(op: str, who: str, current: str | None, value: Any, status: int, rule: str) -> Any:
    shown = value if not isinstance(value, dict) else "+".join(f"{k}={v}" for k, v in value.items())
    return pytest.param(op, who, current, value, status, id=f"{op}-{who}-{current}-{shown}-{status}-{rule}")


B = {"bewaartermijn": "P7Y"}

MATRIX = [
    # POST: any registered client → N; create:confidential → V; opgeheven never (R-POST-1..3, R-SCOPE-3, AMB-25)
    row("POST", "geen", None, N, 201, "R-POST-3"),
    row("POST", "read-normal", None, N, 201, "R-POST-3"),
    row("POST", "normaal", None, N, 201, "R-POST-3"),
    row("POST", "create-conf", None, N, 201, "R-SCOPE-1"),
    row("POST", "create-conf", None, V, 201, "R-POST-1"),
    row("POST", "alles", None, V, 201, "R-POST-1"),
    row("POST", "normaal", None, V, 403, "R-POST-1"),
    row("POST", "geen", None, V, 403, "R-POST-1"),
    row("POST", "read-conf", None, V, 403, "R-POST-1"),
    row("POST", "alles", None, OPG, 403, "R-POST-2"),
    row("POST", "create-conf", None, OPG, 403, "R-POST-2"),
    row("POST", "geen", None, OPG, 403, "R-POST-2"),
    # GET list: read:normal only with exactly {N}; read:confidential anything (R-GETL-6, AMB-05)
    row("LIST", "read-normal", None, N, 200, "R-GETL-6"),
    row("LIST", "normaal", None, N, 200, "R-GETL-6"),
    row("LIST", "read-normal", None, None, 403, "R-GETL-6"),
    row("LIST", "read-normal", None, V, 403, "R-GETL-6"),
    row("LIST", "read-normal", None, OPG, 403, "R-GETL-6"),
    row("LIST", "read-normal", None, "normaal,opgeheven", 403, "R-GETL-6"),
    row("LIST", "read-normal", None, "vertrouwelijk,opgeheven", 403, "R-GETL-6"),
    row("LIST", "normaal", None, None, 403, "R-GETL-6"),
    row("LIST", "read-conf", None, None, 200, "R-GETL-6"),
    row("LIST", "read-conf", None, N, 200, "R-GETL-6"),
    row("LIST", "read-conf", None, V, 200, "R-GETL-6"),
    row("LIST", "read-conf", None, OPG, 200, "R-GETL-6"),
    row("LIST", "read-conf", None, "vertrouwelijk,opgeheven", 200, "R-GETL-6"),
    row("LIST", "alles", None, V, 200, "R-SCOPE-1"),
    row("LIST", "geen", None, N, 403, "family"),
    row("LIST", "create-conf", None, N, 403, "family"),
    row("LIST", "update-conf", None, N, 403, "family"),
    row("LIST", "delete-conf", None, N, 403, "family"),
    # GET single: read:normal only when current = N (R-GETS-4)
    row("GET", "read-normal", N, None, 200, "R-GETS-4"),
    row("GET", "read-normal", V, None, 403, "R-GETS-4"),
    row("GET", "read-normal", OPG, None, 403, "R-GETS-4"),
    row("GET", "normaal", N, None, 200, "R-GETS-4"),
    row("GET", "normaal", V, None, 403, "R-GETS-4"),
    row("GET", "read-conf", N, None, 200, "R-GETS-4"),
    row("GET", "read-conf", V, None, 200, "R-GETS-4"),
    row("GET", "read-conf", OPG, None, 200, "R-GETS-4"),
    row("GET", "alles", V, None, 200, "R-SCOPE-1"),
    row("GET", "geen", N, None, 403, "family"),
    row("GET", "create-conf", N, None, 403, "family"),
    row("GET", "update-conf", N, None, 403, "family"),
    # PUT: update:normal only N → N; update:confidential N/V, opgeheven only when already opgeheven (R-PUT-3, AMB-24)
    row("PUT", "update-normal", N, N, 200, "R-PUT-3"),
    row("PUT", "normaal", N, N, 200, "R-PUT-3"),
    row("PUT", "update-normal", N, V, 403, "R-PUT-3"),
    row("PUT", "update-normal", N, OPG, 403, "R-PUT-3"),
    row("PUT", "update-normal", V, V, 403, "R-PUT-3"),
    row("PUT", "update-normal", V, N, 403, "R-PUT-3"),
    row("PUT", "update-normal", OPG, OPG, 403, "R-PUT-3"),
    row("PUT", "update-normal", OPG, N, 403, "R-PUT-3"),
    row("PUT", "update-conf", N, N, 200, "R-PUT-3"),
    row("PUT", "update-conf", N, V, 200, "R-PUT-3"),
    row("PUT", "update-conf", V, V, 200, "R-PUT-3"),
    row("PUT", "update-conf", V, N, 200, "R-PUT-3"),
    row("PUT", "update-conf", N, OPG, 403, "R-PUT-3"),
    row("PUT", "update-conf", V, OPG, 403, "R-PUT-3"),
    row("PUT", "alles", V, OPG, 403, "R-PUT-3"),
    row("PUT", "update-conf", OPG, OPG, 200, "AMB-24"),
    row("PUT", "update-conf", OPG, N, 200, "R-PUT-3"),
    row("PUT", "update-conf", OPG, V, 200, "R-PUT-3"),
    row("PUT", "geen", N, N, 403, "family"),
    row("PUT", "read-conf", N, N, 403, "family"),
    row("PUT", "delete-conf", N, N, 403, "family"),
    row("PUT", "create-conf", N, N, 403, "family"),
    # PATCH: update:normal only bewaartermijn and only if every addressed action is N (R-PATCH-4, AMB-28)
    row("PATCH", "update-normal", N, B, 204, "R-PATCH-4"),
    row("PATCH", "normaal", N, B, 204, "R-PATCH-4"),
    row("PATCH", "update-normal", V, B, 403, "R-PATCH-4"),
    row("PATCH", "update-normal", OPG, B, 403, "R-PATCH-4"),
    row("PATCH", "update-normal", N, {"vertrouwelijkheid": N}, 403, "R-PATCH-4"),
    row("PATCH", "update-normal", N, {"vertrouwelijkheid": V}, 403, "R-PATCH-4"),
    row("PATCH", "update-normal", N, {**B, "vertrouwelijkheid": N}, 403, "R-PATCH-4"),
    row("PATCH", "update-conf", N, B, 204, "R-PATCH-4"),
    row("PATCH", "update-conf", V, B, 204, "R-PATCH-4"),
    row("PATCH", "update-conf", OPG, B, 204, "R-PATCH-4"),
    row("PATCH", "update-conf", N, {"vertrouwelijkheid": V}, 204, "R-PATCH-4"),
    row("PATCH", "update-conf", N, {"vertrouwelijkheid": OPG}, 204, "R-PATCH-4"),
    row("PATCH", "update-conf", V, {"vertrouwelijkheid": OPG}, 204, "R-PATCH-4"),
    row("PATCH", "update-conf", V, {"vertrouwelijkheid": N}, 204, "R-PATCH-4"),
    row("PATCH", "update-conf", OPG, {"vertrouwelijkheid": V}, 204, "R-PATCH-4"),
    row("PATCH", "update-conf", OPG, {"vertrouwelijkheid": N}, 204, "R-PATCH-4"),
    row("PATCH", "update-conf", V, {**B, "vertrouwelijkheid": OPG}, 204, "R-PATCH-4"),
    row("PATCH", "geen", N, B, 403, "family"),
    row("PATCH", "read-conf", N, B, 403, "family"),
    row("PATCH", "delete-conf", N, B, 403, "family"),
    # DELETE: delete:normal only when current = N (R-DEL-3)
    row("DELETE", "delete-normal", N, None, 204, "R-DEL-3"),
    row("DELETE", "normaal", N, None, 204, "R-DEL-3"),
    row("DELETE", "delete-normal", V, None, 403, "R-DEL-3"),
    row("DELETE", "delete-normal", OPG, None, 403, "R-DEL-3"),
    row("DELETE", "normaal", V, None, 403, "R-DEL-3"),
    row("DELETE", "delete-conf", N, None, 204, "R-DEL-3"),
    row("DELETE", "delete-conf", V, None, 204, "R-DEL-3"),
    row("DELETE", "delete-conf", OPG, None, 204, "R-DEL-3"),
    row("DELETE", "geen", N, None, 403, "family"),
    row("DELETE", "update-conf", N, None, 403, "family"),
    row("DELETE", "read-conf", N, None, 403, "family"),
]


@pytest.mark.parametrize(("op", "who", "current", "value", "status"), MATRIX)
def test_authorisation_matrix(api: Api, op: str, who: str, current: str | None, value: Any, status: int) -> None:
    """§5.2 authorisation matrix, every row (R-POST-1..3, R-GETL-6, R-GETS-4, R-PUT-3, AMB-24, R-PATCH-4,
    AMB-28, R-DEL-3, R-SCOPE-1..3); 403 is a `Fout` body and refused writes change nothing."""
    bsn = new_bsn()
    if op == "POST":
        r = api.post(actie(bsn, vertrouwelijkheid=value), who)
        if status == 403:
            assert_problem(r, 403, "permission_denied")
            assert api.list(bsn).json()["count"] == 0
        else:
            assert r.status_code == 201, r.text
            assert r.json()["vertrouwelijkheid"] == value
        return

    if op == "LIST":
        present = {v: with_confidentiality(api, bsn, v)["actieId"] for v in (N, V, OPG)}
        params: dict[str, Any] = {"objecttype": "persoon", "soortObjectId": "BSN", "objectId": bsn}
        params["verwerkingsactiviteitId"] = TEST_ACTIVITY
        if value is not None:
            params["vertrouwelijkheid"] = value
        r = api.request("GET", LIST, who, params=params)
        if status == 403:
            assert_problem(r, 403, "permission_denied")
        else:
            assert r.status_code == 200, r.text
            wanted = {N, V, OPG} if value is None else set(value.split(","))
            assert {a["actieId"] for a in r.json()["results"]} == {present[v] for v in wanted}
        return

    assert current is not None
    created = with_confidentiality(api, bsn, current)
    actie_id = created["actieId"]
    versions_before = 2 if current == OPG else 1  # opgeheven is reached by a PATCH (with_confidentiality)

    if op == "GET":
        r = api.get(actie_id, who)
        if status == 403:
            assert_problem(r, 403, "permission_denied")
        else:
            assert r.status_code == 200, r.text
            assert r.json()["vertrouwelijkheid"] == current
        return

    if op == "PUT":
        r = api.put(actie_id, editable(created) | {"vertrouwelijkheid": value, "actieNaam": "Gecorrigeerd"}, who)
    elif op == "PATCH":
        r = api.patch(created["verwerkingId"], value, who)
    else:
        r = api.delete(actie_id, who)

    after = history(api, actie_id)
    if status == 403:
        assert_problem(r, 403, "permission_denied")
        assert len(after) == versions_before
        assert after[-1]["actieId"] == actie_id  # still the version we started from
        return
    assert r.status_code == status, r.text
    assert len(after) == versions_before + 1
    latest = after[-1]
    if op == "PUT":
        assert (latest["vertrouwelijkheid"], latest["actieNaam"]) == (value, "Gecorrigeerd")
    elif op == "PATCH":
        expected = {"vertrouwelijkheid": current, "bewaartermijn": created["bewaartermijn"], **value}
        assert {k: latest[k] for k in expected} == expected
    else:
        assert latest["vervallen"] is True
        assert api.get(actie_id).status_code == 404


def test_the_matrix_rows_are_unique() -> None:
    """Guard for the table itself: no row is listed twice with a different outcome."""
    keys = [(p.values[0], p.values[1], p.values[2], str(p.values[3])) for p in MATRIX]
    assert len(keys) == len(set(keys))
    assert {p.values[0] for p in MATRIX} == {"POST", "LIST", "GET", "PUT", "PATCH", "DELETE"}


ORDER = [
    # (operation, client, what is wrong, expected status, §4.9 step that decides)
    pytest.param("PUT", "geen", "unknown id", 403, id="PUT-family-before-resolution"),
    pytest.param("PUT", "update-normal", "unknown id", 400, id="PUT-resolution-before-confidentiality"),
    pytest.param("PUT", "update-normal", "invalid body", 400, id="PUT-validation-before-confidentiality"),
    pytest.param("PATCH", "update-normal", "unknown id", 400, id="PATCH-resolution-before-confidentiality"),
    pytest.param("PATCH", "geen", "unknown id", 403, id="PATCH-family-before-resolution"),
    pytest.param("DELETE", "delete-normal", "unknown id", 400, id="DELETE-resolution-before-confidentiality"),
    pytest.param("DELETE", "read-conf", "unknown id", 403, id="DELETE-family-before-resolution"),
    pytest.param("GET", "read-normal", "unknown id", 404, id="GET-resolution-before-confidentiality"),
    pytest.param("GET", "geen", "unknown id", 403, id="GET-family-before-resolution"),
    pytest.param("LIST", "read-normal", "invalid query", 400, id="LIST-validation-before-confidentiality"),
    pytest.param("LIST", "geen", "invalid query", 403, id="LIST-family-before-validation"),
]


@pytest.mark.parametrize(("op", "who", "wrong", "status"), ORDER)
def test_the_order_of_checks_decides_between_403_400_and_404(
    api: Api, op: str, who: str, wrong: str, status: int
) -> None:
    """§4.9: scope family (403) → validation (400) → resolution (400/404) → confidentiality rules (403).

    The confidential action makes the confidentiality rule fail too, so the earlier step must win."""
    conf = with_confidentiality(api, new_bsn(), V)
    unknown = "00000000-0000-4000-8000-000000000000"
    target = unknown if wrong == "unknown id" else conf["actieId"]
    body = editable(conf) | {"vertrouwelijkheid": V}
    if wrong == "invalid body":
        body["uitvoerder"] = "1"
    if op == "PUT":
        r = api.put(target, body, who)
    elif op == "PATCH":
        r = api.patch(unknown, {"vertrouwelijkheid": OPG}, who)
    elif op == "DELETE":
        r = api.delete(target, who)
    elif op == "GET":
        r = api.get(target, who)
    else:
        params = {"objecttype": "persoon", "soortObjectId": "BSN", "vertrouwelijkheid": V}  # objectId missing
        r = api.request("GET", LIST, who, params=params)
    code = {400: "invalid", 403: "permission_denied", 404: "not_found"}[status]
    assert_problem(r, status, code)
    assert len(history(api, conf["actieId"])) == 1
