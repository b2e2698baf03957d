"""Exports from the same entries the pages show: a PDF report (the answer to an AVG article 15 access
request) and machine-readable JSON and CSV (article 20)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from fpdf import FPDF

from verwerkingenlog.portal.dates import human_day, human_moment
from verwerkingenlog.portal.i18n import plural, translate
from verwerkingenlog.portal.registers import Entry
from verwerkingenlog.portal.summary import OwnLookups
from verwerkingenlog.portal.timeline import Group, Period, moment

CSV_COLUMNS = (
    "register",
    "tijdstip",
    "verwerkingNaam",
    "handelingNaam",
    "actieNaam",
    "verantwoordelijkeOrganisatie",
    "uitvoerder",
    "doel",
    "grondslag",
    "verwerkteSoortenGegevens",
    "afnemerId",
    "bewaartermijn",
    "vertrouwelijkheid",
    "verwerkingId",
    "actieId",
)

# The PDF's core font speaks Latin-1: typographic characters of the VAR texts are written plainly.
_PLAIN = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "€": "EUR"})


def _latin1(text: str) -> str:
    return text.translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")


def as_json(entries: Sequence[Entry], period: Period, unreachable: Sequence[str]) -> bytes:
    document: dict[str, Any] = {
        "periode": {"beginDatum": period.begin.isoformat(), "eindDatum": period.eind.isoformat()},
        "onbereikbareRegisters": list(unreachable),
        "verwerkingen": [e.as_json() for e in entries],
    }
    return json.dumps(document, ensure_ascii=False, indent=2).encode()


def as_csv(entries: Sequence[Entry], lang: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        uitleg = e.explained(lang)
        row = e.as_json()
        row["doel"] = uitleg.get("doel")
        row["grondslag"] = uitleg.get("grondslag")
        row["verwerkteSoortenGegevens"] = "; ".join(e.soorten_gegevens)
        writer.writerow(["" if row.get(c) is None else row[c] for c in CSV_COLUMNS])
    return out.getvalue().encode("utf-8-sig")  # the BOM lets spreadsheet programs read the accents


def as_pdf(
    groups: Sequence[Group],
    own: OwnLookups,
    period: Period,
    registers: Sequence[str],
    unreachable: Sequence[str],
    bsn: str,
    lang: str,
    zone: tzinfo,
    namens: bool = False,
) -> bytes:
    """The report a municipality sends in answer to an access request: who, what, why, how long. Dates as people
    write them, in the register's time zone (issue 18.5); the citizen's own look-ups are one line, as on the page."""

    def t(key: str, **values: object) -> str:
        return _latin1(translate(key, lang, **values))

    pdf = FPDF(format="A4")
    pdf.set_title(translate("pdf_title", lang))
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    width = pdf.epw
    pdf.set_font("helvetica", "B", 16)
    pdf.multi_cell(width, 8, t("pdf_title"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 10)
    made = human_moment(datetime.now(UTC), lang, zone)
    last_day = period.eind - timedelta(days=1)  # the period is half-open; the citizen reads both days included
    for line in (
        t("pdf_intro", begin=human_day(period.begin, lang), eind=human_day(last_day, lang)),
        f"{t('bsn')}: {bsn}",
        t("pdf_made", when=made),
        t("pdf_registers", names=", ".join(registers)),
    ):
        pdf.multi_cell(width, 5, line, new_x="LMARGIN", new_y="NEXT")
    if namens:  # a machtiging: said as plainly as on the pages
        pdf.set_font("helvetica", "B", 10)
        pdf.multi_cell(width, 5, t("pdf_namens"), new_x="LMARGIN", new_y="NEXT")
    for naam in unreachable:
        pdf.set_font("helvetica", "B", 10)
        pdf.multi_cell(width, 5, t("unreachable", naam=naam), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 10)
    if own.visits:
        pdf.multi_cell(width, 5, _latin1(plural("pdf_own_lookups", own.visits, lang)), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    if not groups:
        pdf.multi_cell(width, 5, t("none_found"), new_x="LMARGIN", new_y="NEXT")
    for group in groups:
        first = group.first
        uitleg = first.explained(lang)
        pdf.set_font("helvetica", "B", 12)
        title = uitleg.get("naam") or first.verwerking_naam or t("onbekend")
        pdf.multi_cell(width, 6, _latin1(str(title)), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", "", 10)
        rows = [
            (t("register"), first.register),
            (t("verwerking"), first.verwerking_naam),
            (t("organisatie"), first.bestuursorgaan or first.organisatie),
            (t("doel"), uitleg.get("doel")),
            (t("grondslag"), uitleg.get("grondslag")),
            (t("gegevens"), ", ".join(sorted({s for e in group.entries for s in e.soorten_gegevens}))),
            (
                t("afnemer"),
                ", ".join(sorted({e.afnemer_id for e in group.entries if e.afnemer_id})) or t("geen_afnemer"),
            ),
            (t("bewaartermijn"), uitleg.get("bewaartermijn") or first.bewaartermijn),
        ]
        for label, value in rows:
            if value:
                pdf.multi_cell(width, 5, f"{label}: {_latin1(str(value))}", new_x="LMARGIN", new_y="NEXT")
        for e in group.entries:
            what = " / ".join(x for x in (e.actie_naam, e.handeling_naam) if x)
            when = human_moment(moment(e), lang, zone)
            pdf.multi_cell(width, 5, _latin1(f"  - {when}: {what}"), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    return bytes(pdf.output())
