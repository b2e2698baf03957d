"""`make run` (the `demo` command): the example VAR is loaded, a demo action is explained in plain language
through the Inzage API, and the doelbinding report shows the demo's deliberately unknown activity."""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

from typer.testing import CliRunner

from tests.conftest import TEST_KEY
from tests.helpers import INZAGE_HEADERS, Api
from verwerkingenlog.cli import app as cli
from verwerkingenlog.cli.demo import DEMO_BSN, DEMO_SYSTEMEN, ONBEKENDE_ACTIVITEIT, PARKEREN


def test_demo_loads_the_example_var_and_its_curl_commands_show_explanation_and_report(isolated_api: Api) -> None:
    api = isolated_api
    env = {
        "DATABASE_URL": api.tc.app.state.settings.database_url,  # type: ignore[attr-defined]
        "PSEUDONYMISATION_KEY": TEST_KEY,
    }
    for _ in range(2):  # idempotent: a second `make run` adds nothing
        # The demo turns its demo logins and metrics listener on in os.environ (for the server it starts): keep
        # that out of the rest of the test session, whose servers would otherwise inherit it.
        with mock.patch.dict(os.environ):
            result = CliRunner().invoke(cli, ["demo", "--no-start"], env=env)
        assert result.exit_code == 0, result.output
    assert "Example VAR var-voorbeeld.csv: 9 activities (0 new or changed)." in result.stdout
    assert "expand=verwerkingsactiviteit" in result.stdout and "/api/v1/doelbinding" in result.stdout

    r = api.request(
        "GET",
        "/api/v1/verwerkte-objecten",
        "read-normal",
        headers=INZAGE_HEADERS,
        params={
            "objecttype": "persoon",
            "soortObjectId": "BSN",
            "objectId": DEMO_BSN,
            "beginDatum": "2000-01-01",
            "eindDatum": "2100-01-01",
            "verwerkingsactiviteitId": PARKEREN,
            "expand": "verwerkingsactiviteit",
        },
    )
    assert r.status_code == 200, r.text
    (parkeren,) = r.json()["results"]
    uitleg = parkeren["_expand"]["verwerkingsactiviteit"]["uitleg"]
    assert uitleg["nl"]["tekst"].startswith("Uw gegevens zijn verwerkt voor ‘Aanvraag parkeervergunning’.")
    assert uitleg["en"]["grondslag"] == "Public task"

    report = api.request("GET", "/api/v1/doelbinding", "fg", params={"systeem": DEMO_SYSTEMEN[1]})
    assert [(x["bevinding"], x["verwerkingsactiviteitId"], x["aantal"]) for x in report.json()["results"]] == [
        ("onbekend", ONBEKENDE_ACTIVITEIT, 1)
    ]
    assert api.request("GET", "/api/v1/doelbinding", "fg", params={"systeem": DEMO_SYSTEMEN[0]}).json()["count"] == 0


def test_the_example_var_the_demo_loads_is_package_data_and_the_same_as_examples() -> None:
    """The demo must work from a wheel: the file it loads lives inside the package (shipped as package data, see
    tests/test_packaging.py) and not in the checkout's examples/, which holds the user-facing copy of it."""
    import verwerkingenlog
    from verwerkingenlog.cli.demo import EXAMPLE_VAR

    package = Path(verwerkingenlog.__file__).resolve().parent
    assert EXAMPLE_VAR.is_file() and EXAMPLE_VAR.is_relative_to(package)
    user_copy = Path(__file__).resolve().parents[1] / "examples" / EXAMPLE_VAR.name
    assert user_copy.read_bytes() == EXAMPLE_VAR.read_bytes(), "examples/ and the package's copy differ"
