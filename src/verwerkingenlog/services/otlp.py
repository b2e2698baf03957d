"""Logboek Dataverwerkingen use cases: ingest OTLP spans, and read in the Logius shape.

Ingest turns each valid span into a first version (domain.logboek.map_span) and appends it through the same
write path as Register.create (store.write.LogWriter.append): one Merkle leaf per action, BSNs pseudonymised,
the append-only rule enforced by the database. The whole export is one transaction, committed before the
receiver answers (Logius: the logbook confirms each write). A span already stored — same (trace_id,
span_id) — is the same entry: it is accepted again without a second version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlalchemy.exc import IntegrityError

from verwerkingenlog.domain import logboek, scopes, versioning
from verwerkingenlog.domain.errors import PermissionDenied
from verwerkingenlog.domain.logboek import Logboekregel, Mapped, Span, SpanRejected
from verwerkingenlog.domain.model import Caller, ConsumerHeaders, Versie, VerwerktObject
from verwerkingenlog.domain.pagination import Page
from verwerkingenlog.domain.values import Vertrouwelijkheid
from verwerkingenlog.services.register import Register, Results
from verwerkingenlog.services.strict import IngestPolicy
from verwerkingenlog.services.var import VarService
from verwerkingenlog.store.logboek import Criteria, LogboekStore


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What the OTLP partial-success response reports: accepted, and each rejected span with its reason."""

    accepted: int
    stored: int
    rejected: list[str] = field(default_factory=list)

    @property
    def error_message(self) -> str:
        return "; ".join(self.rejected)


@dataclass(frozen=True, slots=True)
class Regel:
    """One result of the read extension: a current version, its Logius extras (if it came via OTLP) and
    the persons it may show."""

    versie: Versie
    regel: Logboekregel | None
    objecten: tuple[VerwerktObject, ...]


def _label(span: Span) -> str:
    return f"span {span.trace_id or '?'}/{span.span_id or '?'}"


class Logboek:
    def __init__(
        self,
        register: Register,
        var: VarService,
        store: LogboekStore,
        keep_stacktrace: bool = False,
        policy: IngestPolicy | None = None,
    ) -> None:
        self.register = register
        self.var = var
        self.store = store
        self.keep_stacktrace = keep_stacktrace  # OTLP_KEEP_EXCEPTION_STACKTRACE
        self.policy = policy or IngestPolicy(register.db)  # lenient unless STRICT_INGEST_OTLP

    async def export(self, caller: Caller, spans: Sequence[Span]) -> ExportResult:
        """OTLP TraceService/Export: validate every span, store the valid new ones atomically."""
        profiles = await self._profiles(spans)
        refusals = await self.policy.check_spans(spans)  # strict ingest (issue 18.3)
        rejected: list[str] = []
        valid: list[Mapped] = []
        seen: set[tuple[str, str]] = set()
        for span, refused in zip(spans, refusals, strict=True):
            if refused is not None:
                rejected.append(f"{_label(span)}: " + "; ".join(f"{f.name}: {f.detail}" for f in refused))
                continue
            try:
                profile = profiles.get((logboek.activiteit_id_of(_activity(span)), span.start_ns // 1000))
                mapped = logboek.map_span(span, profile, self.keep_stacktrace)
                scopes.check_create(caller.scopes, mapped.gegevens.vertrouwelijkheid)
            except SpanRejected as exc:
                rejected.append(f"{_label(span)}: {exc}")
                continue
            except PermissionDenied as exc:
                rejected.append(f"{_label(span)}: {exc.detail}")
                continue
            key = (mapped.regel.trace_id, mapped.regel.span_id)
            if key not in seen:  # the same span twice in one export is one entry
                seen.add(key)
                valid.append(mapped)
        try:
            stored = await self._store(caller, valid)
        except IntegrityError:
            # A concurrent export stored some of these spans first: they are the same entries; store the rest.
            stored = await self._store(caller, valid)
        return ExportResult(accepted=len(spans) - len(rejected), stored=stored, rejected=rejected)

    async def _profiles(self, spans: Sequence[Span]) -> dict[tuple[str | None, int], str | None]:
        """The VAR activity version in force at each span's start: its retention is the entry's default."""
        refs = [(logboek.activiteit_id_of(_activity(s)), s.start_ns // 1000) for s in spans]
        found = await self.var.explanations(refs)
        return {(i, t): v.gegevens.bewaartermijn for (i, t), v in found.items()}

    async def _store(self, caller: Caller, valid: Sequence[Mapped]) -> int:
        if not valid:
            return 0
        now = self.register.clock()
        async with self.register.db.writing() as conn:
            known = await self.store.known(conn, ((m.regel.trace_id, m.regel.span_id) for m in valid))
            new = [m for m in valid if (m.regel.trace_id, m.regel.span_id) not in known]
            versions = [versioning.first_version(m.gegevens, m.objecten, now, caller.client_id) for m in new]
            await self.register.writer.append(conn, versions)
            await self.store.insert(
                conn, [(v.lineage_id, m.regel, caller.client_id) for v, m in zip(versions, new, strict=True)]
            )
        return len(new)

    async def read(self, caller: Caller, criteria: Criteria, page: Page, consumer: ConsumerHeaders) -> Results[Regel]:
        """The read extension (POST /processing-activities): visibility as on the Inzage API (R-INZ-5:
        vertrouwelijk never), every read logged as a processing (R-SELF-1)."""
        scopes.require_family(caller.scopes, "read")
        criteria = replace(criteria, vertrouwelijkheid=scopes.inzage_visible(caller.scopes))
        reader = self.register.reader
        async with self.register.db.reading() as conn:
            count, seqs = await self.store.search(conn, criteria, page.size, page.offset)
            by_seq = await reader.by_seq(conn, seqs)
            versions = [by_seq[s] for s in seqs if s in by_seq]
            regels = await self.store.regels(conn, (v.lineage_id for v in versions))
        self.register.check_page(page, count)
        full = Vertrouwelijkheid.OPGEHEVEN in criteria.vertrouwelijkheid and scopes.READ_CONFIDENTIAL in caller.scopes
        items = [Regel(v, regels.get(v.lineage_id), _shown(v, criteria, full)) for v in versions]
        await self.register.log_read(caller, consumer, [o for i in items for o in i.objecten])
        return Results(count, items)


def _shown(v: Versie, c: Criteria, full: bool) -> tuple[VerwerktObject, ...]:
    """Persons a result shows: the one searched for; all of them only to a read:confidential caller."""
    if c.subject_ids:
        return tuple(o for o in v.objecten if o.soort_object_id == c.subject_type and o.object_id in c.subject_ids)
    return v.objecten if full else ()


def _activity(span: Span) -> str:
    value = span.attributes.get(logboek.PROCESSING_ACTIVITY_ID)
    return value if isinstance(value, str) else ""
