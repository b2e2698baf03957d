"""The admin pages' own records (docs/admin.md): the audit trail of admin actions and the stored verify results.

Both tables are insert-only (migration 0007). An audit entry says who (the employee's `sub` and name from the ID
token, with the roles the login gave), when, what action, on what target, and the outcome; it never holds a
secret or a BSN. A verify result is the summary of one `verwerkingenlog verify` run (CLI or admin page).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from verwerkingenlog.integrity.checkpoint import VerifierKey
from verwerkingenlog.services.verify import Verifier, VerifyReport
from verwerkingenlog.store import audit as store
from verwerkingenlog.store.db import Database

OK = "ok"
DENIED = "geweigerd"
FAILED = "mislukt"
OUTCOMES = (OK, DENIED, FAILED)
REPORTED_FINDINGS = 50  # findings kept with a stored verify result; the count is always complete


def now_us() -> int:
    return time.time_ns() // 1000


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts on the admin pages: the employee as the OpenID provider named them."""

    subject: str
    name: str | None
    roles: tuple[str, ...]

    @property
    def label(self) -> str:
        """As recorded where a changed row keeps its author (e.g. the VAR's `client_id`): `beheer:<name>`."""
        return f"beheer:{self.name or self.subject}"[:100]


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at_us: int
    subject: str
    name: str | None
    roles: str
    action: str
    target: str | None
    outcome: str
    detail: str | None


class AuditLog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(
        self, actor: Actor, action: str, target: str | None = None, outcome: str = OK, detail: str | None = None
    ) -> None:
        """Append one entry. Callers pass identifiers and counts only: never a secret, a token or a BSN."""
        assert outcome in OUTCOMES
        async with self.db.writing() as conn:
            await store.append_entry(
                conn,
                {
                    "at_us": now_us(),
                    "subject": actor.subject[:255],
                    "name": None if actor.name is None else actor.name[:255],
                    "roles": ",".join(actor.roles)[:255],
                    "action": action[:64],
                    "target": None if target is None else target[:255],
                    "outcome": outcome,
                    "detail": detail,
                },
            )

    async def entries(self, offset: int = 0, limit: int = 50) -> tuple[int, list[AuditEntry]]:
        """Newest first, with the total count."""
        async with self.db.reading() as conn:
            count, rows = await store.entries(conn, offset, limit)
            return count, [AuditEntry(**r) for r in rows]


@dataclass(frozen=True, slots=True)
class StoredVerify:
    id: int
    started_us: int
    finished_us: int
    run_by: str
    ok: bool
    tree_size: int
    checkpoints: int
    witness_checkpoints: int
    findings: int
    purged: int
    report: list[dict[str, Any]]


def findings_json(report: VerifyReport, limit: int | None = None) -> list[dict[str, Any]]:
    """The findings as the CLI's `--json` names them (leaf, type, volgnummer, entry, finding, detail)."""
    return [
        {
            "leafIndex": f.leaf_index,
            "type": f.kind,
            "volgnummer": f.ref,
            "entry": f.entry,
            "finding": f.what,
            "detail": f.detail,
        }
        for f in report.findings[:limit]
    ]


class VerifyResults:
    """The result of every verify run, kept so that the admin page can show the last one."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def store(self, report: VerifyReport, run_by: str, started_us: int, finished_us: int) -> None:
        async with self.db.writing() as conn:
            await store.append_verify_result(
                conn,
                {
                    "started_us": started_us,
                    "finished_us": finished_us,
                    "run_by": run_by[:255],
                    "ok": report.ok,
                    "tree_size": report.tree_size,
                    "checkpoints": report.checkpoints,
                    "witness_checkpoints": report.witness_checkpoints,
                    "findings": len(report.findings),
                    "purged": len(report.purged),
                    "report": json.dumps(findings_json(report, REPORTED_FINDINGS)),
                },
            )

    async def latest(self) -> StoredVerify | None:
        async with self.db.reading() as conn:
            values = await store.latest_verify_result(conn)
        if values is None:
            return None
        values["ok"] = bool(values["ok"])
        values["report"] = json.loads(values["report"])
        return StoredVerify(**values)

    async def run(
        self,
        verifier: Verifier,
        trusted: Sequence[VerifierKey],
        witness_notes: Sequence[str],
        run_by: str,
        progress: Callable[[int, int], None] | None = None,
    ) -> VerifyReport:
        """Run verify and store its result (the CLI and the admin page's button both come here)."""
        started = now_us()
        report = await verifier.run(trusted, witness_notes, progress)
        await self.store(report, run_by, started, now_us())
        return report
