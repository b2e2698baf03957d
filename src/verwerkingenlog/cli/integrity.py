"""The integrity commands of `verwerkingenlog` (docs/integrity.md): keys, checkpoint, verify, purge.

Thin like the rest of the CLI: each command parses its options and calls the same services the API uses.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from verwerkingenlog.cli import console
from verwerkingenlog.domain.errors import InvalidValue
from verwerkingenlog.domain.values import moment_value, render_registratie
from verwerkingenlog.integrity.checkpoint import NoteError, VerifierKey
from verwerkingenlog.integrity.witness import parse_witness_file
from verwerkingenlog.services.audit import VerifyResults
from verwerkingenlog.services.integrity import Integrity
from verwerkingenlog.services.purge import Purger, PurgeReport
from verwerkingenlog.services.verify import Verifier, VerifyReport
from verwerkingenlog.settings import Settings
from verwerkingenlog.store.db import Database
from verwerkingenlog.store.var import VarStore

keys_app = typer.Typer(
    help="The Ed25519 key that signs checkpoints (docs/integrity.md §5): generate, rotate, list.",
    no_args_is_help=True,
)


# -- keys ----------------------------------------------------------------------------------------------------


@keys_app.command("generate")
def keys_generate() -> None:
    """Create the signing key (CHECKPOINT_KEY_FILE) and publish its public half; refused when one exists."""

    async def work(integrity: Integrity, _db: Database, _s: Settings) -> str:
        return (await integrity.generate_key()).verifier.encode()

    vkey = console.with_integrity(work)
    console.out.print("Created the checkpoint signing key. Its public key (published at /api/v1/integriteit/sleutels):")
    sys.stdout.write(vkey + "\n")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Replace the signing key: the new one is published, the old one stays published as replaced, and one
    checkpoint is signed by both so that verifiers can move from the old key to the new."""

    async def work(integrity: Integrity, _db: Database, _s: Settings) -> tuple[str, str, int]:
        old, new, bridge = await integrity.rotate_key()
        return old.verifier.encode(), new.verifier.encode(), bridge.id

    old, new, bridge = console.with_integrity(work)
    console.out.print(f"Replaced key: {old}")
    console.out.print(f"Checkpoint #{bridge} is signed by both keys. The new public key:")
    sys.stdout.write(new + "\n")


@keys_app.command("list")
def keys_list(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """Every public key the register has signed with: in use (actief) or replaced (vervangen)."""

    async def work(integrity: Integrity, _db: Database, _s: Settings) -> list[Any]:
        return await integrity.published_keys()

    found = console.with_integrity(work)
    if as_json:
        rows = [{"vkey": k.vkey, "status": k.status, "sinds": render_registratie(k.sinds_us)} for k in found]
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    if not found:
        console.out.print("No key yet: `verwerkingenlog keys generate` (or sign a checkpoint, which creates one).")
        return
    table = Table("status", "since", "until")
    table.add_column("verifier key", overflow="fold")
    for k in found:
        until = "" if k.tot_us is None else render_registratie(k.tot_us)
        table.add_row(k.status, render_registratie(k.sinds_us), until, k.vkey)
    console.out.print(table)


# -- checkpoint ----------------------------------------------------------------------------------------------


def checkpoint(
    force: Annotated[bool, typer.Option("--force", help="Sign even when the log did not grow.")] = False,
) -> None:
    """Sign a checkpoint of the log now (the server also does so every CHECKPOINT_INTERVAL_SECONDS)."""

    async def work(integrity: Integrity, _db: Database, _s: Settings) -> tuple[str | None, int | None]:
        signed = await integrity.sign_checkpoint(force=force)
        if signed is not None:
            return signed.note, signed.id
        latest = await integrity.latest()
        return None, latest.id

    note, number = console.with_integrity(work)
    if note is None:
        console.out.print(
            f"The log did not grow since checkpoint #{number}; nothing signed (use --force to sign anyway)."
        )
        return
    console.err.print(f"Signed checkpoint #{number}:")
    sys.stdout.write(note)


# -- verify --------------------------------------------------------------------------------------------------


def verify(
    witness: Annotated[
        Path | None, typer.Option(help="A witness copy of the checkpoints (CHECKPOINT_WITNESS_FILE) to check too.")
    ] = None,
    key: Annotated[
        list[str] | None,
        typer.Option(
            "--key",
            help="Trust only this verifier key (repeatable). Default: the keys the database publishes, "
            "which someone who can write the database could extend; pin the keys you hold for full assurance.",
        ),
    ] = None,
    show_purged: Annotated[bool, typer.Option("--show-purged", help="List every purged leaf too.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Recompute every leaf from the database and check it against every stored checkpoint (and a witness
    copy): names each entry that was altered, inserted, removed or moved. Exit code 1 on any finding."""
    notes: list[str] = []
    if witness is not None:
        try:
            notes = parse_witness_file(witness.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            console.fail(f"cannot read the witness file {witness}: {exc}")
    try:
        pinned = [VerifierKey.parse(k) for k in key or []]
    except NoteError as exc:
        console.fail(f"--key: {exc}")

    async def work(integrity: Integrity, db: Database, settings: Settings) -> VerifyReport:
        from verwerkingenlog.api.app import build_register

        trusted = pinned or await integrity.trusted_keys()
        register = build_register(settings, db)
        columns = (TextColumn("Verifying leaves"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console.err, transient=True, disable=as_json) as bar:
            task = bar.add_task("verify", total=None)
            verifier = Verifier(db, register.reader, VarStore())
            # Stored (services.audit), so that the admin page shows the last result (docs/admin.md).
            return await VerifyResults(db).run(
                verifier,
                trusted,
                notes,
                console.os_user(),
                lambda done, total: bar.update(task, completed=done, total=total),
            )

    report = console.with_integrity(work)
    if as_json:
        sys.stdout.write(json.dumps(_report_json(report)) + "\n")
    else:
        _print_report(report, show_purged)
    if not report.ok:
        raise typer.Exit(1)


def _report_json(report: VerifyReport) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "treeSize": report.tree_size,
        "checkpoints": report.checkpoints,
        "witnessCheckpoints": report.witness_checkpoints,
        "findings": [
            {
                "leafIndex": f.leaf_index,
                "type": f.kind,
                "volgnummer": f.ref,
                "entry": f.entry,
                "finding": f.what,
                "detail": f.detail,
            }
            for f in report.findings
        ],
        "purged": [
            {"leafIndex": p.leaf_index, "type": p.kind, "volgnummer": p.ref, "purge": p.purge_id} for p in report.purged
        ],
    }


def _print_report(report: VerifyReport, show_purged: bool) -> None:
    purges = sorted({p.purge_id for p in report.purged})
    summary = (
        f"{report.tree_size} leaves, {report.checkpoints} stored checkpoints"
        + (f", {report.witness_checkpoints} witness checkpoints" if report.witness_checkpoints else "")
        + (f"; {len(report.purged)} purged by purge " + ", ".join(f"#{p}" for p in purges) if purges else "")
    )
    if report.ok:
        console.out.print(f"[green]OK[/green]: {summary}. Every leaf matches its row and every checkpoint.")
    else:
        table = Table(title="Findings")
        table.add_column("leaf", no_wrap=True)
        table.add_column("finding", no_wrap=True)
        table.add_column("volgnummer", no_wrap=True)
        table.add_column("entry (actieId) and detail", min_width=36, overflow="fold")  # the id whole, to copy
        for f in report.findings:
            cell = Text(f.entry or "-")
            cell.append(f"\n{f.kind + ': ' if f.kind else ''}{f.detail}", style="dim")
            table.add_row(
                "" if f.leaf_index is None else str(f.leaf_index),
                f.what,
                "" if f.ref is None else str(f.ref),
                cell,
            )
        console.out.print(table)
        console.out.print(f"[red]{len(report.findings)} finding(s)[/red]: {summary}.")
    if show_purged and report.purged:
        table = Table("leaf", "type", "volgnummer", "status", title="Purged leaves")
        for p in report.purged:
            table.add_row(str(p.leaf_index), p.kind, str(p.ref), p.detail)
        console.out.print(table)


# -- purge ---------------------------------------------------------------------------------------------------


def purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would be removed; remove nothing.")] = False,
    peilmoment: Annotated[
        str | None,
        typer.Option(
            help="With --dry-run: what would be expired at this moment (RFC 3339, e.g. 2030-01-01T00:00:00Z)."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Remove the content of every action whose retention expired (R-RET-1..4): all versions of a lineage whose
    current version's tijdstip + bewaartermijn has passed. Actions without a bewaartermijn are never purged.
    Each purge is recorded as an entry of the log; the leaf hashes stay, so every proof stays valid."""
    peil_us = None
    if peilmoment is not None:
        if not dry_run:
            console.fail("--peilmoment only with --dry-run: a purge removes what is expired now, never more.")
        try:
            peil_us = moment_value(peilmoment).epoch_us
        except InvalidValue as exc:
            console.fail(f"--peilmoment: {exc.reason}")

    async def work(_integrity: Integrity, db: Database, settings: Settings) -> PurgeReport:
        from verwerkingenlog.api.app import build_register

        register = build_register(settings, db)
        with Progress(console=console.err, transient=True, disable=as_json) as bar:
            task = bar.add_task("Checking retention", total=None)
            return await Purger(db, register.writer).run(dry_run, peil_us, progress=lambda n: bar.advance(task, n))

    report = console.with_integrity(work)
    if as_json:
        sys.stdout.write(json.dumps(_purge_json(report)) + "\n")
        return
    verb = "Would purge" if dry_run else "Purged"
    regels = f", {report.logboekregels} logboekregels" if report.logboekregels else ""
    console.out.print(
        f"{verb} {len(report.lineages)} actions ({report.versies} versions, {report.objecten} objects{regels}) "
        f"expired at {render_registratie(report.peilmoment_us)}."
    )
    for entry, leaf in report.entries:
        console.out.print(
            f"Recorded as purge #{entry.id} (leaf {leaf}): content of leaves {_ranges(entry.leaves)} removed."
        )
    if report.lineages:
        table = Table("actieId (first version)", "expired at", "versions")
        for v in report.lineages:
            table.add_row(v.lineage_id, v.verlopen_op.isoformat(), str(v.versies))
        console.out.print(table)


def _purge_json(report: PurgeReport) -> dict[str, Any]:
    return {
        "dryRun": report.dry_run,
        "peilmoment": render_registratie(report.peilmoment_us),
        "lineages": [
            {"lineageId": v.lineage_id, "verlopenOp": v.verlopen_op.isoformat(), "versies": v.versies}
            for v in report.lineages
        ],
        "versies": report.versies,
        "objecten": report.objecten,
        "logboekregels": report.logboekregels,
        "purges": [{"purge": e.id, "leafIndex": leaf, "leaves": list(e.leaves)} for e, leaf in report.entries],
    }


def _ranges(indexes: tuple[int, ...] | list[int] | Any) -> str:
    """1,2,3,7 → "1…3, 7"."""
    spans: list[list[int]] = []
    for i in sorted(indexes):
        if spans and spans[-1][1] == i - 1:
            spans[-1][1] = i
        else:
            spans.append([i, i])
    return ", ".join(str(a) if a == b else f"{a}…{b}" for a, b in spans)


async def repseudonymise_existing(db: Database) -> int:
    """`migrate`: re-store objectIds an older version kept in the clear (docs/integrity.md §14); how many."""
    from verwerkingenlog.api.app import build_register
    from verwerkingenlog.services.herpseudonimisering import repseudonymise

    entry = await repseudonymise(db, build_register(Settings(), db).reader.codec)
    return 0 if entry is None else entry.objecten


async def adopt_existing_versions(db: Database) -> int:
    """`migrate`: give the versions of a log that predates the Merkle tree their leaves (only while the tree is
    empty; the pseudonymisation key is needed only then, to rebuild the records)."""
    from verwerkingenlog.api.app import build_integrity, build_register

    settings = Settings()
    integrity = build_integrity(settings, db)
    if not await integrity.needs_adoption():
        return 0
    return await integrity.adopt_existing(build_register(settings, db).reader, VarStore())


def register(app: typer.Typer) -> None:
    """Add the integrity commands to the `verwerkingenlog` command."""
    app.add_typer(keys_app, name="keys")
    app.command()(checkpoint)
    app.command()(verify)
    app.command()(purge)
