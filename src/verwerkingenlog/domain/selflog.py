"""§10.5 (C3677, C5953): reading the log is itself a processing, logged by the register as provider."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from verwerkingenlog.domain.model import Actiegegevens, ConsumerHeaders, NieuwObject, VerwerktObject
from verwerkingenlog.domain.values import Vertrouwelijkheid, from_epoch_us

ACTIE_NAAM = "Raadplegen verwerkingenlog"
VERWERKING_NAAM = "Inzage verwerkingenlog"


@dataclass(frozen=True, slots=True)
class SelfLogProfile:
    """The register's own processing activity and defaults (configured in settings)."""

    verwerkingsactiviteit_id: str
    verwerkingsactiviteit_url: str | None
    bewaartermijn: str
    systeem: str


def persons(objecten: Iterable[VerwerktObject | NieuwObject]) -> list[NieuwObject]:
    """The persons whose data a read returns, each once, in order (R-SELF-1)."""
    seen: set[tuple[str, str, str]] = set()
    out: list[NieuwObject] = []
    for o in objecten:
        key = (o.objecttype, o.soort_object_id, o.object_id)
        if key not in seen:
            seen.add(key)
            out.append(NieuwObject(o.objecttype, o.soort_object_id, o.object_id, betrokkenheid="Geraadpleegd"))
    return out


def self_log_entry(
    profile: SelfLogProfile,
    consumer: ConsumerHeaders,
    client_id: str,
    verwerking_id: str,
    now_us: int,
) -> Actiegegevens:
    """R-SELF-1: the register's own action, with the consumer's headers mapped per §10.4."""
    return Actiegegevens(
        tijdstip=from_epoch_us(now_us).isoformat(timespec="microseconds"),
        tijdstip_us=now_us,
        vertrouwelijkheid=consumer.vertrouwelijkheid or Vertrouwelijkheid.NORMAAL,
        actie_naam=ACTIE_NAAM,
        verwerking_naam=VERWERKING_NAAM,
        verwerking_id=verwerking_id,
        verwerkingsactiviteit_id=profile.verwerkingsactiviteit_id,
        verwerkingsactiviteit_url=profile.verwerkingsactiviteit_url,
        bewaartermijn=consumer.bewaartermijn or profile.bewaartermijn,
        systeem=profile.systeem,
        gebruiker=client_id[:40],
        soort_afnemer_id="OIN" if consumer.oin else None,
        afnemer_id=consumer.oin,
        verwerkingsactiviteit_id_afnemer=consumer.verwerkingsactiviteit_id,
        verwerkingsactiviteit_url_afnemer=consumer.verwerkingsactiviteit_url,
        verwerking_id_afnemer=consumer.verwerking_id,
    )
