"""Strict ingest (issue 18.3, domain.strict): refuse, or in lenient mode only count, what the checks find.

One policy per register; switched on per standard (VNG POST and bulk; OTLP spans), so that a supplier's first
call on an empty VAR keeps working unless the organisation chose otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import fields

from verwerkingenlog.domain import logboek
from verwerkingenlog.domain.errors import InvalidParam, ValidationFailed
from verwerkingenlog.domain.logboek import Span
from verwerkingenlog.domain.model import Actiegegevens
from verwerkingenlog.domain.strict import Finding, Reason, activity_finding, bsn_findings
from verwerkingenlog.domain.var import ActiviteitVersie
from verwerkingenlog.store.db import Database
from verwerkingenlog.store.pseudonymisation import is_bsn
from verwerkingenlog.store.var import VarStore

# VNG fields that are no free text: the subject's afnemerId (pseudonymised when its kind is BSN) is handled apart.
_NOT_CHECKED = frozenset({"tijdstip", "tijdstip_us", "vertrouwelijkheid", "afnemer_id"})
_VNG_NAMES = {
    f.name: "".join(p if i == 0 else p.capitalize() for i, p in enumerate(f.name.split("_")))
    for f in fields(Actiegegevens)
}
_SUBJECT_ATTRIBUTES = frozenset({logboek.DATA_SUBJECT_ID})


class StrictIngestRefused(ValidationFailed):
    """422: the entry is well-formed, but strict ingest refuses it (issue 18.3)."""

    status = 422
    code = "strict_ingest_refused"

    def __init__(self, findings: Sequence[Finding]) -> None:
        super().__init__(
            [InvalidParam(f.name, f.reason.value, f.detail) for f in findings],
            "Strict ingest is on for this register: the entry was refused (docs/logboek.md, strict ingest).",
        )


class IngestPolicy:
    def __init__(
        self,
        db: Database,
        strict_vng: bool = False,
        strict_otlp: bool = False,
        would_refuse: Callable[[str, Reason], None] = lambda standard, reason: None,
        store: VarStore | None = None,
    ) -> None:
        self.db = db
        self.strict_vng = strict_vng
        self.strict_otlp = strict_otlp
        self.would_refuse = would_refuse  # lenient mode: counts (api.ops.Metrics.strict_ingest_would_refuse)
        self.store = store or VarStore()

    async def check_vng(self, entries: Sequence[Actiegegevens]) -> list[StrictIngestRefused | None]:
        """Per entry: the refusal when strict (VNG), else None; lenient mode counts each finding instead."""
        histories = await self._histories(e.verwerkingsactiviteit_id for e in entries)
        out: list[StrictIngestRefused | None] = []
        for e in entries:
            found = _vng_findings(e, histories.get(e.verwerkingsactiviteit_id or "", []))
            out.append(self._decide("vng", found, self.strict_vng))
        return out

    async def check_spans(self, spans: Sequence[Span]) -> list[list[Finding] | None]:
        """Per span: the findings that refuse it when strict (OTLP), else None (counted when lenient)."""
        ids = [logboek.activiteit_id_of(_activity(s)) for s in spans]
        histories = await self._histories(ids)
        out: list[list[Finding] | None] = []
        for span, i in zip(spans, ids, strict=True):
            found = _span_findings(span, i, histories.get(i or "", []))
            refused = self._decide("otlp", found, self.strict_otlp)
            out.append(found if refused is not None else None)
        return out

    async def _histories(self, ids: Iterable[str | None]) -> dict[str, list[ActiviteitVersie]]:
        wanted = {i for i in ids if i}
        if not wanted:
            return {}
        async with self.db.reading() as conn:
            return dict(await self.store.histories(conn, wanted))

    def _decide(self, standard: str, found: list[Finding], strict: bool) -> StrictIngestRefused | None:
        if not found:
            return None
        if strict:
            return StrictIngestRefused(found)
        for f in found:
            self.would_refuse(standard, f.reason)
        return None


def _vng_findings(e: Actiegegevens, history: list[ActiviteitVersie]) -> list[Finding]:
    found: list[Finding] = []
    activity = activity_finding("verwerkingsactiviteitId", e.verwerkingsactiviteit_id, history, e.tijdstip_us)
    if activity is not None:
        found.append(activity)
    checked = [(_VNG_NAMES[n], getattr(e, n)) for n in _VNG_NAMES if n not in _NOT_CHECKED]
    if not is_bsn(e.soort_afnemer_id):
        checked.append(("afnemerId", e.afnemer_id))
    found.extend(bsn_findings(checked))
    return found


def _span_findings(span: Span, activiteit_id: str | None, history: list[ActiviteitVersie]) -> list[Finding]:
    found: list[Finding] = []
    activity = activity_finding(logboek.PROCESSING_ACTIVITY_ID, activiteit_id, history, span.start_ns // 1000)
    if activity is not None:
        found.append(activity)
    checked: list[tuple[str, object]] = [("name", span.name), ("status.message", span.status_message)]
    checked += [(k, v) for k, v in span.attributes.items() if k not in _SUBJECT_ATTRIBUTES]
    checked += [(f"resource.{k}", v) for k, v in span.resource.items()]
    checked += [(k, v) for event in span.events for k, v in event.attributes.items()]  # exception.message
    found.extend(bsn_findings(checked))
    return found


def _activity(span: Span) -> str:
    value = span.attributes.get(logboek.PROCESSING_ACTIVITY_ID)
    return value if isinstance(value, str) else ""
