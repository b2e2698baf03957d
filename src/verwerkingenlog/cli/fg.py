"""`fg report`: the FG's periodic report (docs/fg.md)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from verwerkingenlog.cli import console
from verwerkingenlog.domain.errors import InvalidValue
from verwerkingenlog.domain.values import render_registratie
from verwerkingenlog.settings import Settings
from verwerkingenlog.store.db import Database

group = typer.Typer(help="The FG's tools (docs/fg.md): the periodic report.", no_args_is_help=True)


@group.command("report")
def fg_report(
    period: Annotated[str, typer.Option("--period", help="A year (2026), a quarter (2026-Q4) or a month (2026-11).")],
    fmt: Annotated[str, typer.Option("--format", help="csv or json.")] = "csv",
    vertrouwelijk: Annotated[
        bool, typer.Option(help="Log this look at the persons in the signals as vertrouwelijk (docs/fg.md).")
    ] = False,
) -> None:
    """The FG report of a period on stdout: volumes per activity and organisation, and the signals of misuse with
    the entries behind them. Printing it is logged as the FG's processing of the persons in the signals."""
    import csv

    from verwerkingenlog.api.app import build_register
    from verwerkingenlog.domain.errors import ValidationFailed
    from verwerkingenlog.domain.fg import rapportperiode
    from verwerkingenlog.domain.periods import period as span_of
    from verwerkingenlog.services.fg import Rapport, build_fg
    from verwerkingenlog.services.var import VarService

    if fmt not in ("csv", "json"):
        console.fail("--format must be csv or json.")
    settings = Settings()
    try:
        first, after = rapportperiode(period)
    except InvalidValue as exc:
        console.fail(f"--period: {exc.reason}")
        return
    span, _ = span_of(first, after, settings.zone)
    assert span is not None and span.begin_us is not None and span.end_us is not None
    begin_us, end_us = span.begin_us, span.end_us

    async def work(db: Database) -> Rapport:
        register = build_register(settings, db)
        fg = build_fg(settings, register, VarService(db))
        return await fg.rapport(console.operator(), begin_us, end_us, vertrouwelijk)

    try:
        rapport = console.run(work)
    except ValidationFailed as exc:
        console.fail(exc.params[0].reason)
        return
    personen = rapport.signalen.personen

    def persoon(sleutel: bytes | None) -> str | None:
        return None if sleutel is None or sleutel not in personen else ":".join(personen[sleutel])

    volumes = [
        {
            "verwerkingsactiviteitId": v.activiteit_id,
            "verwerkingsactiviteit": None if a is None else a.gegevens.naam,
            "verantwoordelijkeOrganisatie": None if a is None else a.organisatie,
            "uitvoerder": v.uitvoerder,
            "acties": v.acties,
            "personen": v.personen,
        }
        for v in rapport.volumes
        for a in [rapport.activiteiten.get(v.activiteit_id or "")]
    ]
    signalen = [
        {
            "soort": s.soort.value,
            "uitleg": s.uitleg,
            "gebruiker": s.gebruiker,
            "verwerkingsactiviteitId": s.activiteit_id,
            "persoon": persoon(s.persoon),
            "actieIds": [r.actie_id for r in s.regels],
        }
        for s in rapport.signalen.signalen
    ]
    if fmt == "json":
        doc = {
            "periode": {"begin": render_registratie(begin_us), "eind": render_registratie(end_us)},
            "volumes": volumes,
            "signalen": signalen,
            "controle": {"verwerkingId": rapport.signalen.controle.verwerking_id},
        }
        sys.stdout.write(json.dumps(doc, ensure_ascii=False) + "\n")
        return
    columns = ["sectie", "verwerkingsactiviteitId", "verwerkingsactiviteit", "verantwoordelijkeOrganisatie"]
    columns += ["uitvoerder", "acties", "personen", "soort", "uitleg", "gebruiker", "persoon", "actieIds"]
    writer = csv.DictWriter(sys.stdout, columns, lineterminator="\n")
    writer.writeheader()
    for row in volumes:
        writer.writerow({"sectie": "volume", **row})
    for sig in signalen:
        writer.writerow({"sectie": "signaal", **sig, "actieIds": " ".join(sig["actieIds"] or [])})
