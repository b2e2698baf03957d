"""`var …`: the register of processing activities (VAR, §17): import, list, the doelbinding report (docs/var.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from verwerkingenlog.cli import console
from verwerkingenlog.domain.errors import InvalidValue
from verwerkingenlog.domain.values import date_value, oin_value, render_registratie
from verwerkingenlog.domain.var import ActiviteitVersie
from verwerkingenlog.services.var_import import Afwijzing
from verwerkingenlog.settings import Settings
from verwerkingenlog.store.db import Database

group = typer.Typer(
    help="The register of processing activities (VAR, §17): import, list, report.", no_args_is_help=True
)


@group.command("import")
def var_import(
    file: Annotated[Path, typer.Argument(help="The VAR spreadsheet: .csv (comma, semicolon or tab) or .xlsx.")],
    organisatie: Annotated[
        str | None,
        typer.Option(help="OIN of the organisation, for rows without a 'Verantwoordelijke organisatie (OIN)' cell."),
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check and report only; write nothing.")] = False,
    sheet: Annotated[str | None, typer.Option(help="XLSX: the sheet to read (default: the first).")] = None,
) -> None:
    """Import a VAR spreadsheet: new activities are added, changed ones get a new version, unchanged rows
    change nothing (so re-importing the same file is harmless). Every rejected row is listed with the
    reason; the exit code is 1 when a row was rejected, 2 when the file cannot be used at all."""
    from rich.progress import Progress

    from verwerkingenlog.services.var import Uitkomst, VarService
    from verwerkingenlog.services.var_import import ImportFormatError, parse_rows, read_table

    if not file.is_file():
        console.fail(f"No such file: {file}")
    try:
        table = read_table(file, sheet)
        with Progress(console=console.err, transient=True, disable=len(table) < 200) as bar:
            task = bar.add_task("Reading rows", total=max(len(table) - 1, 0))
            ingelezen = parse_rows(table, organisatie, lambda n: bar.advance(task, n))
            bar.update(task, description="Writing" if not dry_run else "Checking", completed=0)
            items = [(i, g) for _, i, g in ingelezen.rijen]
            caller = console.operator()
            results = console.run(
                lambda db: VarService(db).apply(caller, items, dry_run, lambda n: bar.advance(task, n))
            )
    except ImportFormatError as exc:
        console.fail(str(exc))
        return
    rejected = list(ingelezen.afwijzingen)
    counts = dict.fromkeys(Uitkomst, 0)
    for (number, _, _), result in zip(ingelezen.rijen, results, strict=True):
        if isinstance(result, Uitkomst):
            counts[result] += 1
        else:
            rejected += [Afwijzing(number, ingelezen.kolommen.header(p.name), p.reason) for p in result.params]
    rows = len({a.rij for a in rejected})
    verb = "Would import" if dry_run else "Imported"
    console.out.print(
        f"{verb} {file.name}: {counts[Uitkomst.NIEUW]} new, {counts[Uitkomst.GEWIJZIGD]} changed, "
        f"{counts[Uitkomst.ONGEWIJZIGD]} unchanged, {rows} rejected."
    )
    if ingelezen.kolommen.genegeerd:
        console.out.print(f"Columns ignored (not part of the VAR): {', '.join(ingelezen.kolommen.genegeerd)}")
    if rejected:
        table_out = Table("row", "column", "reason", title="Rejected rows")
        for a in sorted(rejected, key=lambda a: a.rij):
            table_out.add_row(str(a.rij), a.kolom, a.reden)
        console.out.print(table_out)
        raise typer.Exit(1)


@group.command("list")
def var_list(
    organisatie: Annotated[str | None, typer.Option(help="Only this organisation's activities (OIN).")] = None,
    peildatum: Annotated[str | None, typer.Option(help="As the register held it then: a date or date-time.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON (the API's representation).")] = False,
) -> None:
    """List the activities valid now (or at --peildatum)."""
    from verwerkingenlog.api.var import render_activiteit
    from verwerkingenlog.domain.pagination import MAX_PAGE_SIZE, Page
    from verwerkingenlog.domain.var import ActiviteitFilter, peildatum_value
    from verwerkingenlog.services.var import VarService

    settings = Settings()
    try:
        oin = None if organisatie is None else oin_value(organisatie)
        as_of = None if peildatum is None else peildatum_value(peildatum, settings.zone)
    except InvalidValue as exc:
        console.fail(exc.reason)
        return
    f = ActiviteitFilter(verantwoordelijke_organisatie=oin, peildatum_us=as_of)

    async def work(db: Database) -> list[ActiviteitVersie]:
        service, caller, found, number = VarService(db), console.operator(), [], 1
        while True:
            page = await service.search(caller, f, Page(number, MAX_PAGE_SIZE))
            found += page.items
            if len(found) >= page.count:
                return found
            number += 1

    found = console.run(work)
    if as_json:
        sys.stdout.write(json.dumps([render_activiteit(v) for v in found], ensure_ascii=False) + "\n")
        return
    table = Table("id", "organisatie", "naam", "grondslag", "versie")
    for v in found:
        table.add_row(v.id, v.organisatie, v.gegevens.naam, v.gegevens.grondslag, str(v.versie))
    console.out.print(
        table if found else "No processing activities (import a VAR with `verwerkingenlog var import FILE`)."
    )


@group.command("report")
def var_report(
    begin: Annotated[str | None, typer.Option(help="Entries from this date (YYYY-MM-DD).")] = None,
    eind: Annotated[str | None, typer.Option(help="Entries before this date (YYYY-MM-DD).")] = None,
    systeem: Annotated[str | None, typer.Option(help="Only entries of this logging system.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON (the API's representation).")] = False,
) -> None:
    """The doelbinding report (§17.4): log entries whose activity is missing, unknown, retired at their
    tijdstip, or another organisation's than the uitvoerder, per logging system and client."""
    from verwerkingenlog.api.var import render_regel
    from verwerkingenlog.domain.periods import period
    from verwerkingenlog.services.var import DoelbindingRegel, VarService

    settings = Settings()
    try:
        span, problem = period(
            None if begin is None else date_value(begin), None if eind is None else date_value(eind), settings.zone
        )
    except InvalidValue as exc:
        console.fail(exc.reason)
        return
    if problem is not None or span is None:
        console.fail("--eind must not be before --begin.")
        return

    async def work(db: Database) -> list[DoelbindingRegel]:
        return await VarService(db).doelbinding(console.operator(), span.begin_us, span.end_us, systeem)

    regels = console.run(work)
    if as_json:
        sys.stdout.write(json.dumps([render_regel(r) for r in regels], ensure_ascii=False) + "\n")
        return
    if not regels:
        console.out.print("Every log entry names a known, valid activity of its own organisation.")
        return
    table = Table("finding", "system", "client", "verwerkingsactiviteitId", "uitvoerder", "entries", "last")
    for r in regels:
        table.add_row(
            r.bevinding.value,
            r.systeem or "-",
            r.client_id or "-",
            r.activiteit_id or "-",
            r.uitvoerder or "-",
            str(r.aantal),
            render_registratie(r.laatste_us),
        )
    console.out.print(table)
