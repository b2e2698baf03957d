"""Reading a municipality's VAR spreadsheet (CSV or XLSX) into processing activities (§17.4).

Most municipalities keep their VAR as a spreadsheet (the IBD's pre-filled register, extended with a UUID
column as the VNG quick start shows). Columns are found by header name, case- and accent-insensitively;
the accepted names are `HEADERS` below (documented in docs/var.md). Each row becomes the same document the
API accepts and is validated by the same rule (`domain.var.parse_activiteit`); a problem is reported with
the row number and the column header as the spreadsheet shows them.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Final

from verwerkingenlog.domain import values
from verwerkingenlog.domain import var as rules
from verwerkingenlog.domain.errors import InvalidValue, ValidationFailed
from verwerkingenlog.domain.var import Activiteitgegevens


def normalise(header: str) -> str:
    """Header comparison: lowercase, accents removed (Categorieën = Categorieen), spaces collapsed."""
    plain = unicodedata.normalize("NFKD", header)
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", plain).strip().lower()


# Accepted headers per field (JSON name of §17.3; "id" is the UUID column). The JSON names themselves are
# accepted too. A translatable field also accepts its header followed by a language, e.g. "Doel (EN)".
HEADERS: Final[dict[str, tuple[str, ...]]] = {
    "id": ("UUID", "Id", "Verwerkingsactiviteit ID", "UUID verwerkingsactiviteit"),
    "naam": ("Naam verwerking", "Naam", "Naam verwerkingsactiviteit", "Verwerkingsactiviteit"),
    "doel": ("Doel", "Doel van de verwerking", "Doel verwerking", "Doeleinde"),
    "grondslag": ("Grondslag", "Rechtsgrond", "AVG-grondslag"),
    "toelichtingGrondslag": ("Toelichting grondslag", "Toelichting op de grondslag", "Wettelijke grondslag"),
    "categorie": ("Categorie", "Categorie verwerking"),
    "verantwoordelijkeOrganisatie": (
        "Verantwoordelijke organisatie (OIN)",
        "Verantwoordelijke organisatie",
        "OIN",
        "OIN verantwoordelijke",
    ),
    "verantwoordelijkeBestuursorgaan": ("Bestuursorgaan", "Verantwoordelijk bestuursorgaan"),
    "bewaartermijn": ("Bewaartermijn",),
    "herkomst": ("Herkomst", "Herkomst gegevens", "Bron"),
    "gebaseerdOp": ("Gebaseerd op",),
    "afnemendeCategorieOntvangers": ("Categorieën ontvangers", "Categorie ontvangers", "Ontvangers"),
    "afnemendeInternationaleDerden": ("Internationale derden", "Doorgifte aan derde landen"),
    "verwerktePersoonsgegevens": ("Persoonsgegevens", "Verwerkte persoonsgegevens", "Categorieën persoonsgegevens"),
}
_BY_HEADER: Final[dict[str, str]] = {normalise(h): name for name, headers in HEADERS.items() for h in (*headers, name)}
_LANGUAGE_SUFFIX = re.compile(r"^(.*\S)\s*\(([a-z]{2})\)$")
_LIST_FIELDS = {json_name for json_name, _ in rules.LISTS}
_ITEMS = re.compile(r"[;\n]")  # items inside one cell: separated by semicolons or line breaks
REQUIRED_COLUMNS: Final = ("id", "naam", "doel", "grondslag")


class ImportFormatError(ValueError):
    """The file as a whole cannot be imported (unreadable, no header, missing or doubled columns)."""


@dataclass(frozen=True, slots=True)
class Afwijzing:
    """One problem of one rejected row: the spreadsheet's row number and column header, and why."""

    rij: int
    kolom: str
    reden: str


@dataclass(frozen=True, slots=True)
class Kolommen:
    """Where each field is: (field, language or None) → column index; and the headers as written."""

    index: dict[tuple[str, str | None], int]
    headers: list[str]
    genegeerd: list[str]

    def header(self, name: str, taal: str | None = None) -> str:
        i = self.index.get((name, taal))
        return self.headers[i] if i is not None else name


@dataclass
class Ingelezen:
    """The rows that passed validation (row number, id, content) and every problem of the others."""

    kolommen: Kolommen
    rijen: list[tuple[int, str, Activiteitgegevens]] = field(default_factory=list)
    afwijzingen: list[Afwijzing] = field(default_factory=list)

    @property
    def afgewezen_rijen(self) -> list[int]:
        return sorted({a.rij for a in self.afwijzingen})


# Limits of a spreadsheet (docs/deployment.md, Request limits): a VAR has tens to a few thousand activities. The
# upload's own size is VAR_IMPORT_MAX_BYTES (admin pages); an XLSX is a zip, so its unpacked parts are bounded
# too (a zip bomb), and so are the rows and columns openpyxl would otherwise pad out to the sheet's declared
# dimension (`A1:XFD1048576` in a file of a few hundred bytes).
MAX_ROWS: Final = 10_000
MAX_COLUMNS: Final = 200
MAX_UNPACKED_BYTES: Final = 64 * 1024 * 1024


def read_table(path: Path, sheet: str | None = None) -> list[tuple[int, list[Any]]]:
    """Every non-empty row with its row number as the spreadsheet shows it; the first is the header.

    Any file, however malformed, gives rows or an ImportFormatError (tests/fuzz: var_csv, var_xlsx)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        rows = _xlsx_rows(path, sheet)
    elif suffix in (".csv", ".txt"):
        rows = _csv_rows(path)
    else:
        raise ImportFormatError(f"{path.name}: use a .csv or .xlsx file (got {suffix or 'no extension'}).")
    return [(n, r) for n, r in rows if any(_cell(v) for v in r)]


def _bounded(rows: Iterable[tuple[int, Sequence[Any]]], name: str) -> list[tuple[int, list[Any]]]:
    out = []
    for n, row in rows:
        if n > MAX_ROWS + 1:
            raise ImportFormatError(f"{name} has more than {MAX_ROWS} rows; split it.")
        if len(row) > MAX_COLUMNS:
            if any(_cell(v) for v in row[MAX_COLUMNS:]):
                raise ImportFormatError(f"{name} has more than {MAX_COLUMNS} columns.")
            row = row[:MAX_COLUMNS]
        out.append((n, list(row)))
    return out


def _xlsx_rows(path: Path, sheet: str | None) -> list[tuple[int, list[Any]]]:
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except Exception as exc:  # BadZipFile, but also NotImplementedError, EOFError… on a damaged archive
        raise ImportFormatError(f"{path.name} is not a readable XLSX file: {exc}") from None
    if unpacked > MAX_UNPACKED_BYTES:
        raise ImportFormatError(f"{path.name} unpacks to more than {MAX_UNPACKED_BYTES // (1024 * 1024)} MB.")
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:
        raise ImportFormatError(f"{path.name} is not a readable XLSX file: {exc}") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise ImportFormatError(f"No sheet {sheet!r}; the sheets are: {', '.join(book.sheetnames)}.")
        if not book.worksheets:
            raise ImportFormatError(f"{path.name} has no worksheet.")
        ws = book[sheet] if sheet is not None else book.worksheets[0]
        if hasattr(ws, "reset_dimensions"):
            ws.reset_dimensions()  # read the rows the file has, not the dimension it claims
        return _bounded(enumerate(ws.iter_rows(values_only=True, max_col=MAX_COLUMNS + 1), start=1), path.name)
    except ImportFormatError:
        raise
    except Exception as exc:  # openpyxl's failures on a malformed part are of no documented type
        raise ImportFormatError(f"{path.name} is not a readable XLSX file: {exc!r}") from None
    finally:
        book.close()


def _csv_rows(path: Path) -> list[tuple[int, list[Any]]]:
    """UTF-8 (with or without BOM) or, failing that, Windows-1252 as Dutch Excel exports it; the
    delimiter (comma, semicolon or tab) is the one the header line uses most."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _bounded(enumerate(reader, start=1), path.name)
    except csv.Error as exc:  # e.g. a field over the csv module's limit, or a quote left open at the end
        raise ImportFormatError(f"{path.name} is not a readable CSV file: line {reader.line_num}: {exc}") from None


def _cell(value: Any) -> str | None:
    """A cell as text: stripped, empty = absent; numbers without a spurious `.0`, dates as ISO."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "Ja" if value else "Nee"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        value = value.isoformat()
    text = str(value).strip()
    return text or None


def map_headers(header: Sequence[Any]) -> Kolommen:
    """Find each field's column by its header. Unknown headers are ignored (and reported); a field
    found twice, or a missing UUID/name/purpose/basis column, makes the file unusable."""
    index: dict[tuple[str, str | None], int] = {}
    headers = [_cell(h) or "" for h in header]
    genegeerd = []
    for i, h in enumerate(headers):
        if not h:
            continue
        key = _field_of(h)
        if key is None:
            genegeerd.append(h)
            continue
        if key in index:
            raise ImportFormatError(f"Columns {headers[index[key]]!r} and {h!r} both hold the same field; keep one.")
        index[key] = i
    missing = [HEADERS[name][0] for name in REQUIRED_COLUMNS if (name, None) not in index]
    if missing:
        raise ImportFormatError(
            f"Missing column(s): {', '.join(missing)}. The header row is: {', '.join(h for h in headers if h)}. "
            "See docs/var.md for the accepted column names."
        )
    return Kolommen(index, headers, genegeerd)


def _field_of(header: str) -> tuple[str, str | None] | None:
    norm = normalise(header)
    if norm in _BY_HEADER:
        return _BY_HEADER[norm], None
    m = _LANGUAGE_SUFFIX.match(norm)
    if m and _BY_HEADER.get(m.group(1)) in rules.TRANSLATABLE:
        return _BY_HEADER[m.group(1)], m.group(2)
    return None


def _oin(value: Any) -> str | None:
    """Excel stores an OIN typed as a number without its leading zeros; pad it back to 20 digits."""
    if isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer():
        return str(int(value)).zfill(20)
    return _cell(value)


def _items(text: str | None) -> list[str]:
    return [part.strip() for part in _ITEMS.split(text or "") if part.strip()]


def _document(row: Sequence[Any], k: Kolommen, organisatie: str | None) -> dict[str, Any]:
    """One row as the API's `Verwerkingsactiviteit` document (absent cells are absent properties)."""

    def get(name: str, taal: str | None = None) -> Any:
        i = k.index.get((name, taal))
        return row[i] if i is not None and i < len(row) else None

    doc: dict[str, Any] = {}
    vertalingen: dict[str, dict[str, str]] = {}
    for name, taal in k.index:
        if taal is not None:
            text = _cell(get(name, taal))
            if text is not None:
                vertalingen.setdefault(taal, {})[name] = text
        elif name == "verantwoordelijkeOrganisatie":
            continue
        elif name in _LIST_FIELDS:
            doc[name] = _items(_cell(get(name)))
        elif name == rules.PERSOONSGEGEVENS:
            doc[name] = [_persoonsgegeven(item) for item in _items(_cell(get(name)))]
        else:
            doc[name] = _cell(get(name))
    doc["verantwoordelijkeOrganisatie"] = _oin(get("verantwoordelijkeOrganisatie")) or organisatie
    if vertalingen:
        doc[rules.VERTALINGEN] = vertalingen
    return doc


def _persoonsgegeven(item: str) -> dict[str, str | None]:
    """`Rol: gegeven` (e.g. "Aanvrager: Adres"); without a colon the item is the data's name only."""
    rol, sep, naam = item.partition(":")
    if not sep:
        return {"rolBetrokkene": None, "naam": item}
    return {"rolBetrokkene": rol.strip() or None, "naam": naam.strip() or None}


def _column_of(param: str, k: Kolommen) -> str:
    """`invalidParams[].name` (a JSON path) back to the column header the user wrote."""
    parts = param.split(".")
    if parts[0] == rules.VERTALINGEN and len(parts) >= 3:
        return k.header(parts[2], parts[1])
    header = k.header(parts[0])
    if len(parts) >= 2 and parts[1].isdigit():
        header += f" (item {int(parts[1]) + 1})"
    return header


def parse_rows(
    table: Sequence[tuple[int, list[Any]]],
    organisatie: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> Ingelezen:
    """Validate every data row; the first row of `table` is the header.

    `organisatie` (an OIN) fills the organisation of rows whose organisation column is empty or absent;
    a filled cell wins, so one file can hold several organisations. Every row needs a UUID: a register
    cannot invent one, because the municipality's applications must log with it (§17.4, B0869).
    """
    if not table:
        raise ImportFormatError("The file is empty: it needs a header row and one row per activity.")
    if organisatie is not None:
        try:
            values.oin_value(organisatie)
        except InvalidValue as exc:
            raise ImportFormatError(f"--organisatie {organisatie!r}: {exc.reason}") from None
    header_row, *data = table
    k = map_headers(header_row[1])
    if ("verantwoordelijkeOrganisatie", None) not in k.index and organisatie is None:
        raise ImportFormatError(
            "The file has no column 'Verantwoordelijke organisatie (OIN)'; give the organisation with --organisatie."
        )
    out = Ingelezen(k)
    seen: dict[str, int] = {}
    for number, row in data:
        problems = _parse_row(number, row, k, organisatie, seen, out)
        out.afwijzingen.extend(problems)
        if progress is not None:
            progress(1)
    return out


def _parse_row(
    number: int,
    row: list[Any],
    k: Kolommen,
    organisatie: str | None,
    seen: dict[str, int],
    out: Ingelezen,
) -> list[Afwijzing]:
    doc = _document(row, k, organisatie)
    problems: list[Afwijzing] = []
    if doc.get("id") is None:
        reason = "No UUID: every activity needs one (VNG quick start: add a UUID column)."
        problems.append(Afwijzing(number, k.header("id"), reason))
    reported = set()
    if doc["verantwoordelijkeOrganisatie"] is None:
        reported.add("verantwoordelijkeOrganisatie")
        reason = "No organisation (OIN) in this row and no --organisatie given."
        problems.append(Afwijzing(number, k.header("verantwoordelijkeOrganisatie"), reason))
    try:
        activiteit_id, gegevens = rules.parse_activiteit(doc)
    except ValidationFailed as exc:
        problems += [Afwijzing(number, _column_of(p.name, k), p.reason) for p in exc.params if p.name not in reported]
    if problems:
        return problems
    assert activiteit_id is not None
    if activiteit_id in seen:
        reason = f"The same UUID as row {seen[activiteit_id]}: each row is one activity."
        return [Afwijzing(number, k.header("id"), reason)]
    seen[activiteit_id] = number
    out.rijen.append((number, activiteit_id, gegevens))
    return []
