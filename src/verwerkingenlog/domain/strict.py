"""Strict ingest (issue 18.3): the checks a register can apply to an entry before it stores it.

The VNG standard does not require the VAR to know an entry's activity (§17.4: doelbinding is reported, never
blocking), so strict ingest is opt-in per standard (settings STRICT_INGEST_VNG, STRICT_INGEST_OTLP). In lenient
mode the same checks run and are only counted, so an organisation sees what switching would refuse.

Pure: the caller supplies the activity's VAR history; no I/O here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from verwerkingenlog.domain import var as var_rules
from verwerkingenlog.domain.var import ActiviteitVersie

# Nine digits standing alone (not part of a longer number, an id or a word).
_NINE_DIGITS: Final = re.compile(r"(?<![0-9A-Za-z])[0-9]{9}(?![0-9A-Za-z])")
_WEIGHTS: Final = (9, 8, 7, 6, 5, 4, 3, 2, -1)


class Reason(StrEnum):
    """Why strict ingest refuses an entry: the label of the lenient-mode counter."""

    UNKNOWN_ACTIVITY = "unknown_activity"  # the id is not in the VAR (or not yet at the entry's tijdstip)
    RETIRED_ACTIVITY = "retired_activity"  # the activity was retired (ingetrokken) at the entry's tijdstip
    BSN_OUTSIDE_SUBJECT = "bsn_outside_subject"  # a BSN-shaped value in a field that is not the data subject's


@dataclass(frozen=True, slots=True)
class Finding:
    """One reason to refuse, naming the field (for `invalidParams` or the span's rejection)."""

    reason: Reason
    name: str
    detail: str


def passes_elfproef(digits: str) -> bool:
    """The BSN eleven-test: 9 digits, weights 9..2 and -1, the sum a multiple of 11 (never all zeros)."""
    if len(digits) != 9 or not digits.isdigit() or digits == "000000000":
        return False
    return sum(int(d) * w for d, w in zip(digits, _WEIGHTS, strict=True)) % 11 == 0


def holds_bsn(text: str) -> bool:
    """Whether a text contains a value shaped like a BSN (nine digits alone that pass the elfproef)."""
    return any(passes_elfproef(m.group()) for m in _NINE_DIGITS.finditer(text))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, int) and not isinstance(value, bool):
        yield str(value)
    elif isinstance(value, Mapping):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list | tuple):
        for v in value:
            yield from _strings(v)


def bsn_findings(fields: Iterable[tuple[str, Any]]) -> list[Finding]:
    """A finding per (name, value) outside the subject fields whose value holds a BSN-shaped number; the
    value itself is never repeated (the refusal must not carry it either)."""
    return [
        Finding(
            Reason.BSN_OUTSIDE_SUBJECT,
            name,
            "Holds a value shaped like a BSN (nine digits passing the elfproef) outside the data-subject fields; "
            "a BSN belongs in the subject field, where it is pseudonymised.",
        )
        for name, value in fields
        if any(holds_bsn(s) for s in _strings(value))
    ]


def activity_finding(
    name: str, activiteit_id: str | None, history: Sequence[ActiviteitVersie], tijdstip_us: int
) -> Finding | None:
    """Unknown or retired activity at the entry's tijdstip (§17.4's doelbinding, made blocking). An entry that
    names no activity is the standard's business (required or not), not strict ingest's."""
    if activiteit_id is None:
        return None
    if not history:
        return Finding(Reason.UNKNOWN_ACTIVITY, name, f"Processing activity {activiteit_id} is not in the VAR.")
    explained = var_rules.explaining(history, tijdstip_us)
    if explained is None:
        return Finding(
            Reason.UNKNOWN_ACTIVITY, name, f"Processing activity {activiteit_id} was not registered at the tijdstip."
        )
    if explained.ingetrokken:
        return Finding(
            Reason.RETIRED_ACTIVITY, name, f"Processing activity {activiteit_id} was retired (ingetrokken) then."
        )
    return None
