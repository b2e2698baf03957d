"""`verwerkingenlog var import FILE`: a municipality's VAR spreadsheet (CSV or XLSX) into the register,
every rejected row reported, re-importing the same file changes nothing."""

from __future__ import annotations

import csv
import uuid
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from rich.console import Console
from typer.testing import CliRunner

from tests.helpers import Api
from tests.var_support import new_oin, read, versies
from verwerkingenlog.cli import app as cli
from verwerkingenlog.settings import DEFAULT_SELF_LOG_ACTIVITY, Settings

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "var-voorbeeld.csv"
HEADER = [
    "UUID",
    "Naam verwerking",
    "Categorie",
    "Doel",
    "Grondslag",
    "Toelichting grondslag",
    "Bestuursorgaan",
    "Verantwoordelijke organisatie (OIN)",
    "Bewaartermijn",
    "Herkomst",
    "Categorieën ontvangers",
    "Internationale derden",
    "Persoonsgegevens",
    "Doel (EN)",
    "Opmerkingen intern",
]


@pytest.fixture(autouse=True)
def _wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's tables are read back by the tests: give them a fixed, wide console (the width of a
    test worker's terminal varies)."""
    monkeypatch.setattr("verwerkingenlog.cli.console.out", Console(width=300, height=50))


def _row(activiteit_id: str, oin: str, **cells: str) -> list[str]:
    values = {
        "UUID": activiteit_id,
        "Naam verwerking": "Wmo-maatwerkvoorziening",
        "Categorie": "Zorg",
        "Doel": "Toekennen van ondersteuning",
        "Grondslag": "Wettelijke verplichting",
        "Toelichting grondslag": "Wmo 2015 art. 2.3.5",
        "Bestuursorgaan": "College van B&W",
        "Verantwoordelijke organisatie (OIN)": oin,
        "Bewaartermijn": "15 jaar",
        "Herkomst": "Betrokkene, zorgaanbieder",
        "Categorieën ontvangers": "Zorgaanbieders; CAK",
        "Internationale derden": "",
        "Persoonsgegevens": "Cliënt: Naam\nCliënt: Gezondheid; Mantelzorger",
        "Doel (EN)": "Granting support",
        "Opmerkingen intern": "niet importeren",
        **cells,
    }
    return [values[h] for h in HEADER]


def _expected(activiteit_id: str, oin: str) -> dict[str, Any]:
    return {
        "id": activiteit_id,
        "naam": "Wmo-maatwerkvoorziening",
        "gebaseerdOp": None,
        "categorie": "Zorg",
        "verantwoordelijkeOrganisatie": oin,
        "verantwoordelijkeBestuursorgaan": "College van B&W",
        "doel": "Toekennen van ondersteuning",
        "grondslag": "Wettelijke verplichting",
        "toelichtingGrondslag": "Wmo 2015 art. 2.3.5",
        "bewaartermijn": "15 jaar",
        "herkomst": "Betrokkene, zorgaanbieder",
        "afnemendeInternationaleDerden": [],
        "afnemendeCategorieOntvangers": ["Zorgaanbieders", "CAK"],
        "verwerktePersoonsgegevens": [
            {"rolBetrokkene": "Cliënt", "naam": "Naam"},
            {"rolBetrokkene": "Cliënt", "naam": "Gezondheid"},
            {"rolBetrokkene": None, "naam": "Mantelzorger"},
        ],
        "vertalingen": {
            "en": {
                "naam": None,
                "doel": "Granting support",
                "grondslag": None,
                "toelichtingGrondslag": None,
                "bewaartermijn": None,
            }
        },
    }


def _write_csv(path: Path, rows: list[list[str]], delimiter: str = ";", encoding: str = "cp1252") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        csv.writer(fh, delimiter=delimiter).writerows([HEADER, *rows])
    return path


def _import(api: Api, *args: str) -> Any:
    env = {"DATABASE_URL": api.tc.app.state.settings.database_url}  # type: ignore[attr-defined]
    return CliRunner().invoke(cli, ["var", "import", *map(str, args)], env=env)


def test_csv_import_round_trips_and_reports_every_rejected_row(api: Api, tmp_path: Path) -> None:
    """A semicolon-separated Windows-1252 export, as Dutch Excel writes it: good rows are imported and
    read back through the API exactly; each bad row is listed with its row number, column and reason."""
    oin = new_oin()
    good, also_good, twice = (str(uuid.uuid4()) for _ in range(3))
    path = _write_csv(
        tmp_path / "var.csv",
        [
            _row(good, oin),
            _row("", oin),  # row 3: no UUID
            _row(str(uuid.uuid4()), "1234"),  # row 4: not an OIN
            _row(also_good, oin, **{"Naam verwerking": "Bijstand", "Doel (EN)": ""}),
            _row(str(uuid.uuid4()), oin, **{"Naam verwerking": "x" * 243, "Doel": ""}),  # row 6: two problems
            _row(twice, oin),
            _row(twice, oin),  # row 8: same UUID again
            ["", "", "", "", "", "", "", "", "", "", "", "", "", "", ""],  # an empty row is skipped
        ],
    )
    result = _import(api, path)
    assert result.exit_code == 1, result.output
    assert "3 new, 0 changed, 0 unchanged, 4 rejected" in result.stdout
    assert "Columns ignored (not part of the VAR): Opmerkingen intern" in result.stdout
    lines = [line for line in result.stdout.splitlines() if line.startswith("│")]
    rejected = [tuple(cell.strip() for cell in line.strip("│").split("│"))[:2] for line in lines]
    assert rejected == [
        ("3", "UUID"),
        ("4", "Verantwoordelijke organisatie (OIN)"),
        ("6", "Naam verwerking"),
        ("6", "Doel"),
        ("8", "UUID"),
    ]
    assert "Must be an OIN: exactly 20 digits." in result.stdout
    assert "The same UUID as row 7" in result.stdout

    assert read(api, good).json() == _expected(good, oin)
    bijstand = read(api, also_good).json()
    assert bijstand["naam"] == "Bijstand" and bijstand["vertalingen"] == {}

    again = _import(api, path)
    assert "0 new, 0 changed, 3 unchanged, 4 rejected" in again.stdout
    assert [v["versie"] for v in versies(api, good)] == [1]


def test_a_changed_row_becomes_a_new_version_and_dry_run_writes_nothing(api: Api, tmp_path: Path) -> None:
    oin = new_oin()
    activiteit_id = str(uuid.uuid4())
    path = _write_csv(tmp_path / "var.csv", [_row(activiteit_id, oin)], delimiter=",", encoding="utf-8")
    assert _import(api, path).exit_code == 0

    _write_csv(path, [_row(activiteit_id, oin, Bewaartermijn="20 jaar")], delimiter=",", encoding="utf-8")
    dry = _import(api, path, "--dry-run")
    assert dry.exit_code == 0 and "Would import var.csv: 0 new, 1 changed, 0 unchanged, 0 rejected" in dry.stdout
    assert read(api, activiteit_id).json()["bewaartermijn"] == "15 jaar"

    wet = _import(api, path)
    assert wet.exit_code == 0 and "0 new, 1 changed" in wet.stdout
    assert read(api, activiteit_id).json()["bewaartermijn"] == "20 jaar"
    assert [v["versie"] for v in versies(api, activiteit_id)] == [1, 2]


def test_xlsx_import_with_an_oin_typed_as_a_number(api: Api, tmp_path: Path) -> None:
    """Excel drops the leading zeros of an OIN typed as a number; the importer pads it back. A row whose
    UUID belongs to another organisation is rejected, not moved (B0869)."""
    oin = "0000000" + str(uuid.uuid4().int)[:13]
    theirs = str(uuid.uuid4())
    first = _write_csv(tmp_path / "other.csv", [_row(theirs, new_oin())], delimiter=",", encoding="utf-8")
    assert _import(api, first).exit_code == 0

    mine = str(uuid.uuid4())
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "VAR 2024"
    sheet.append(["Toelichting bij dit bestand"])  # text above the table is not a header: see --sheet
    book.remove(sheet)
    ws = book.create_sheet("VAR")
    ws.append(HEADER)
    ws.append(
        [
            int(v) if h == "Verantwoordelijke organisatie (OIN)" else v
            for h, v in zip(HEADER, _row(mine, oin), strict=True)
        ]
    )
    ws.append(_row(theirs, oin))
    path = tmp_path / "var.xlsx"
    book.save(path)

    result = _import(api, path, "--sheet", "VAR")
    assert result.exit_code == 1, result.output
    assert "1 new, 0 changed, 0 unchanged, 1 rejected" in result.stdout
    assert "an activity's organisation cannot change" in result.stdout
    assert read(api, mine).json() == _expected(mine, oin)
    assert _import(api, path, "--sheet", "Blad1").exit_code == 2


def test_organisatie_option_fills_rows_without_an_oin(api: Api, tmp_path: Path) -> None:
    oin = new_oin()
    activiteit_id = str(uuid.uuid4())
    path = _write_csv(tmp_path / "var.csv", [_row(activiteit_id, "")], delimiter=",", encoding="utf-8")
    without = _import(api, path)
    assert without.exit_code == 1 and "No organisation (OIN) in this row and no --organisatie given." in without.stdout
    assert _import(api, path, "--organisatie", oin).exit_code == 0
    assert read(api, activiteit_id).json()["verantwoordelijkeOrganisatie"] == oin
    assert _import(api, path, "--organisatie", "123").exit_code == 2


def test_a_file_without_the_required_columns_is_refused_whole(api: Api, tmp_path: Path) -> None:
    path = tmp_path / "var.csv"
    path.write_text("Naam,Doel\nParkeren,Vergunning\n", encoding="utf-8")
    result = _import(api, path)
    assert result.exit_code == 2
    assert "Missing column(s): UUID, Grondslag" in result.output
    assert _import(api, tmp_path / "missing.csv").exit_code == 2
    other = tmp_path / "var.ods"
    other.write_bytes(b"")
    assert _import(api, other).exit_code == 2


def test_the_shipped_example_imports_cleanly_and_describes_the_registers_own_reads(api: Api) -> None:
    """examples/var-voorbeeld.csv (loaded by `make run`) has no bad rows, and it contains the activity
    the register logs its own reads under (settings.DEFAULT_SELF_LOG_ACTIVITY, §10.5) and the one the citizen
    portal sends with its lookups (PORTAL_VERWERKINGSACTIVITEIT_ID)."""
    result = _import(api, EXAMPLE, "--dry-run")
    assert result.exit_code == 0, result.output
    assert "0 rejected" in result.stdout
    assert DEFAULT_SELF_LOG_ACTIVITY in EXAMPLE.read_text(encoding="utf-8")
    assert Settings().portal_verwerkingsactiviteit_id in EXAMPLE.read_text(encoding="utf-8")
