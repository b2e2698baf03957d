"""The register of processing activities (VAR, §17): value type, validation, versions, the plain-language
explanation and the doelbinding rule. Pure Python, no I/O.

§17.3 gives the fields of a `Verwerkingsactiviteit`; §17.4 the relation to the log: log entries refer to
an activity by `verwerkingsactiviteitId`, and the log never checks that id against the VAR at write time
(B0869, B8278). So this module only *explains* entries and *classifies* them afterwards.

History (an extension): every change appends a version, as the log does (B3891). An activity's
organisation (its `verantwoordelijkeOrganisatie`, an OIN) is fixed at creation: several organisations
share one register, each with its own UUIDs for its own activities (B0869).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Final
from zoneinfo import ZoneInfo

from verwerkingenlog.domain import values
from verwerkingenlog.domain.errors import InvalidParam, InvalidValue, ValidationFailed
from verwerkingenlog.domain.periods import start_of_day_us

BESCHRIJVING_MAX: Final = 2042  # format "beschrijving" in the VAR OAS

# (JSON name, attribute, rule) of every scalar of §17.3, in the OAS order. The OAS gives no maximum for
# `categorie`, `verantwoordelijkeBestuursorgaan` and `grondslag`; they are of type Naam (242, §3.1).
_NAAM: Final = ("naam", values.NAAM_MAX)
_BESCHRIJVING: Final = ("beschrijving", BESCHRIJVING_MAX)
SCALARS: Final[tuple[tuple[str, str, tuple[str, int]], ...]] = (
    ("naam", "naam", _NAAM),
    ("gebaseerdOp", "gebaseerd_op", ("uri", values.URI_MAX)),
    ("categorie", "categorie", _NAAM),
    ("verantwoordelijkeOrganisatie", "verantwoordelijke_organisatie", ("oin", 20)),
    ("verantwoordelijkeBestuursorgaan", "verantwoordelijke_bestuursorgaan", _NAAM),
    ("doel", "doel", _BESCHRIJVING),
    ("grondslag", "grondslag", _NAAM),
    ("toelichtingGrondslag", "toelichting_grondslag", _BESCHRIJVING),
    ("bewaartermijn", "bewaartermijn", _BESCHRIJVING),
    ("herkomst", "herkomst", _BESCHRIJVING),
)
REQUIRED: Final = frozenset({"naam", "verantwoordelijkeOrganisatie", "doel", "grondslag"})
LISTS: Final[tuple[tuple[str, str], ...]] = (
    ("afnemendeInternationaleDerden", "afnemende_internationale_derden"),
    ("afnemendeCategorieOntvangers", "afnemende_categorie_ontvangers"),
)
PERSOONSGEGEVENS: Final = "verwerktePersoonsgegevens"
VERTALINGEN: Final = "vertalingen"  # extension: texts in other languages than Dutch
# The texts that may be given in another language (the ones a citizen reads).
TRANSLATABLE: Final[tuple[str, ...]] = ("naam", "doel", "grondslag", "toelichtingGrondslag", "bewaartermijn")
_LANGUAGE = re.compile(r"^[a-z]{2}$", re.ASCII)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # JSON can carry them; no database can store them

# The AVG's legal bases (art. 6(1)) as the VAR OAS lists them, with the English terms of the GDPR, so that
# an English explanation can name the basis even when the VAR gives no English text.
AVG_GRONDSLAGEN_EN: Final[Mapping[str, str]] = {
    "toestemming betrokkene": "Consent of the data subject",
    "uitvoering overeenkomst": "Performance of a contract",
    "wettelijke verplichting": "Legal obligation",
    "vitaal belang": "Vital interests",
    "publieke taak": "Public task",
    "gerechtvaardigd belang": "Legitimate interests",
}


@dataclass(frozen=True, slots=True)
class VerwerktPersoonsgegeven:
    """§17.3 `VerwerktPersoonsgegeven`: a kind of personal data and whose it is; both optional."""

    rol_betrokkene: str | None = None
    naam: str | None = None


@dataclass(frozen=True, slots=True)
class Vertaling:
    """The citizen-facing texts of an activity in one other language (extension)."""

    naam: str | None = None
    doel: str | None = None
    grondslag: str | None = None
    toelichting_grondslag: str | None = None
    bewaartermijn: str | None = None


@dataclass(frozen=True, slots=True)
class Activiteitgegevens:
    """The content of one version of a processing activity (§17.3), without its id.

    Value equality is content equality: an update that equals the current content appends nothing.
    """

    naam: str
    verantwoordelijke_organisatie: str
    doel: str
    grondslag: str
    gebaseerd_op: str | None = None
    categorie: str | None = None
    verantwoordelijke_bestuursorgaan: str | None = None
    toelichting_grondslag: str | None = None
    bewaartermijn: str | None = None
    herkomst: str | None = None
    afnemende_internationale_derden: tuple[str, ...] = ()
    afnemende_categorie_ontvangers: tuple[str, ...] = ()
    verwerkte_persoonsgegevens: tuple[VerwerktPersoonsgegeven, ...] = ()
    vertalingen: tuple[tuple[str, Vertaling], ...] = ()  # (language, texts), sorted by language

    def vertaling(self, taal: str) -> Vertaling | None:
        return dict(self.vertalingen).get(taal)


@dataclass(frozen=True, slots=True)
class ActiviteitVersie:
    """One stored version of an activity. `versie` counts per activity; `seq` is register-wide."""

    id: str
    versie: int
    ingetrokken: bool
    tijdstip_registratie_us: int
    gegevens: Activiteitgegevens
    seq: int | None = None
    client_id: str | None = None

    @property
    def organisatie(self) -> str:
        return self.gegevens.verantwoordelijke_organisatie


@dataclass(frozen=True, slots=True)
class ActiviteitFilter:
    """Filters of GET /verwerkingsactiviteiten (extension parameters; F8529 searches by gebaseerdOp).

    `naam` matches a part of the name, case-insensitively; the others match exactly.
    `peildatum_us` None means "now"; otherwise the state the register held at that instant.
    """

    verantwoordelijke_organisatie: str | None = None
    naam: str | None = None
    categorie: str | None = None
    gebaseerd_op: str | None = None
    grondslag: str | None = None
    peildatum_us: int | None = None


# -- the document form (JSON names) ------------------------------------------------------------------


def document(g: Activiteitgegevens) -> dict[str, Any]:
    """§17.3 in JSON names, every property present (§4.7: null for an absent scalar, [] for a list),
    plus the extension `vertalingen` ({language: texts})."""
    out: dict[str, Any] = {json_name: getattr(g, attr) for json_name, attr, _ in SCALARS}
    for json_name, attr in LISTS:
        out[json_name] = list(getattr(g, attr))
    out[PERSOONSGEGEVENS] = [{"rolBetrokkene": p.rol_betrokkene, "naam": p.naam} for p in g.verwerkte_persoonsgegevens]
    out[VERTALINGEN] = {taal: {name: getattr(v, _attr(name)) for name in TRANSLATABLE} for taal, v in g.vertalingen}
    return out


def _attr(json_name: str) -> str:
    return re.sub(r"(?<!^)([A-Z])", r"_\1", json_name).lower()


class _Problems:
    def __init__(self) -> None:
        self.items: list[InvalidParam] = []

    def add(self, name: str, code: str, reason: str) -> None:
        self.items.append(InvalidParam(name, code, reason))


def _text(p: _Problems, name: str, raw: Any, rule: tuple[str, int], required: bool) -> str | None:
    """One scalar: a JSON string within its length (R-VAL-3, R-VAL-9), or null when optional (R-VAL-13)."""
    if raw is None:
        if required:
            p.add(name, "null", "This field may not be null.")
        return None
    if not isinstance(raw, str):
        p.add(name, "invalid", "Must be a string.")
        return None
    if not raw.isascii() and _LONE_SURROGATE.search(raw):
        p.add(name, "invalid", "Must be valid Unicode text (no lone surrogate code points).")
        return None
    if required and not raw.strip():
        p.add(name, "required", "This field may not be empty.")
        return None
    kind, limit = rule
    try:
        if kind == "oin":
            return values.oin_value(raw)
        if kind == "uri":
            return values.uri_value(raw)
        return values.max_length(raw, limit)
    except InvalidValue as exc:
        p.add(name, exc.code, exc.reason)
        return None


def _texts(p: _Problems, name: str, raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        p.add(name, "invalid", "Must be a list of strings.")
        return ()
    out = []
    for i, item in enumerate(raw):
        value = _text(p, f"{name}.{i}", item, _NAAM, required=True)
        if value is not None:
            out.append(value)
    return tuple(out)


def _unknown(p: _Problems, prefix: str, data: Mapping[str, Any], known: Sequence[str]) -> None:
    """R-VAL-10: a property outside the schema is an error, never silently dropped."""
    for key in data:
        if key not in known:
            p.add(f"{prefix}{key}", "unknown_field", "Unknown field: not part of the schema (check the spelling).")


def _persoonsgegevens(p: _Problems, raw: Any) -> tuple[VerwerktPersoonsgegeven, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        p.add(PERSOONSGEGEVENS, "invalid", "Must be a list of {rolBetrokkene, naam} objects.")
        return ()
    out = []
    for i, item in enumerate(raw):
        name = f"{PERSOONSGEGEVENS}.{i}"
        if not isinstance(item, dict):
            p.add(name, "invalid", "Must be an object with rolBetrokkene and/or naam.")
            continue
        _unknown(p, f"{name}.", item, ("rolBetrokkene", "naam"))
        rol = _text(p, f"{name}.rolBetrokkene", item.get("rolBetrokkene"), _NAAM, required=False)
        naam = _text(p, f"{name}.naam", item.get("naam"), _NAAM, required=False)
        out.append(VerwerktPersoonsgegeven(rol, naam))
    return tuple(out)


def _vertalingen(p: _Problems, raw: Any) -> tuple[tuple[str, Vertaling], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        p.add(VERTALINGEN, "invalid", 'Must be an object by language, e.g. {"en": {"doel": "…"}}.')
        return ()
    rules = {json_name: rule for json_name, _, rule in SCALARS}
    out = []
    for taal, texts in sorted(raw.items()):
        name = f"{VERTALINGEN}.{taal}"
        if not _LANGUAGE.fullmatch(taal):
            p.add(name, "invalid", "A language is a two-letter lowercase ISO 639-1 code, e.g. en.")
            continue
        if not isinstance(texts, dict):
            p.add(name, "invalid", f"Must be an object with any of: {', '.join(TRANSLATABLE)}.")
            continue
        _unknown(p, f"{name}.", texts, TRANSLATABLE)
        fields = {
            _attr(key): _text(p, f"{name}.{key}", texts.get(key), rules[key], required=False) for key in TRANSLATABLE
        }
        vertaling = Vertaling(**fields)
        if vertaling != Vertaling():
            out.append((taal, vertaling))
    return tuple(out)


def parse_activiteit(data: Any, id_allowed: bool = True) -> tuple[str | None, Activiteitgegevens]:
    """Validate a `Verwerkingsactiviteit` document (§17.3, value rules of §4.6) into its content.

    Returns the `id` (if present and allowed) and the content; raises `ValidationFailed` with every
    problem, each named by its JSON path. The API (POST/PUT) and the spreadsheet import both use this.
    """
    p = _Problems()
    if not isinstance(data, dict):
        raise ValidationFailed.one("body", "invalid", "The body must be a JSON object.")
    known = ["id", *(n for n, _, _ in SCALARS), *(n for n, _ in LISTS), PERSOONSGEGEVENS, VERTALINGEN]
    if not id_allowed:
        known.remove("id")
    _unknown(p, "", data, known)
    activiteit_id = None
    if id_allowed and data.get("id") is not None:
        raw_id = data["id"]
        if not isinstance(raw_id, str):
            p.add("id", "invalid", "Must be a UUID string.")
        else:
            try:
                activiteit_id = values.uuid_value(raw_id)
            except InvalidValue as exc:
                p.add("id", exc.code, exc.reason)
    scalars: dict[str, Any] = {}
    for json_name, attr, rule in SCALARS:
        required = json_name in REQUIRED
        if required and json_name not in data:
            p.add(json_name, "required", "This field is required.")
            continue
        scalars[attr] = _text(p, json_name, data.get(json_name), rule, required)
    lists: dict[str, Any] = {attr: _texts(p, json_name, data.get(json_name)) for json_name, attr in LISTS}
    persoonsgegevens = _persoonsgegevens(p, data.get(PERSOONSGEGEVENS))
    vertalingen = _vertalingen(p, data.get(VERTALINGEN))
    if p.items:
        raise ValidationFailed(p.items)
    return activiteit_id, Activiteitgegevens(
        **scalars, **lists, verwerkte_persoonsgegevens=persoonsgegevens, vertalingen=vertalingen
    )


# -- versions (append-only, like the log: B3891) -------------------------------------------------------


def first_version(
    activiteit_id: str, gegevens: Activiteitgegevens, now_us: int, client_id: str | None
) -> ActiviteitVersie:
    return ActiviteitVersie(activiteit_id, 1, False, now_us, gegevens, client_id=client_id)


def changed_version(
    current: ActiviteitVersie, gegevens: Activiteitgegevens, now_us: int, client_id: str | None
) -> ActiviteitVersie | None:
    """A new version with this content, or None when nothing changes (re-importing a file appends nothing).

    The organisation cannot change: an activity's UUID is that organisation's (B0869). Changing a retired
    activity reinstates it. Registration times never go backwards within an activity, so that "the
    version registered last at or before t" is well defined even when clocks step back.
    """
    if gegevens.verantwoordelijke_organisatie != current.organisatie:
        raise ValidationFailed.one(
            "verantwoordelijkeOrganisatie",
            "invalid",
            f"This activity belongs to organisation {current.organisatie}; an activity's organisation cannot "
            "change. Register a new activity (with its own UUID) for the other organisation.",
        )
    if gegevens == current.gegevens and not current.ingetrokken:
        return None
    return _next(current, gegevens, False, now_us, client_id)


def retired_version(current: ActiviteitVersie, now_us: int, client_id: str | None) -> ActiviteitVersie:
    """Retiring appends a copy marked `ingetrokken`; log entries made before it stay explained."""
    if current.ingetrokken:
        raise ValidationFailed.one("id", "ingetrokken", "This activity has already been retired (ingetrokken).")
    return _next(current, current.gegevens, True, now_us, client_id)


def _next(
    current: ActiviteitVersie, gegevens: Activiteitgegevens, ingetrokken: bool, now_us: int, client_id: str | None
) -> ActiviteitVersie:
    return ActiviteitVersie(
        current.id,
        current.versie + 1,
        ingetrokken,
        max(now_us, current.tijdstip_registratie_us),
        gegevens,
        client_id=client_id,
    )


def version_at(versions: Sequence[ActiviteitVersie], instant_us: int) -> ActiviteitVersie | None:
    """The register's state at an instant ("as of"): the version registered last at or before it.

    None when the activity was not registered yet. A retired version is returned as such; callers decide.
    """
    best = None
    for v in sorted(versions, key=lambda v: v.versie):
        if v.tijdstip_registratie_us <= instant_us:
            best = v
    return best


def timeline(versions: Sequence[ActiviteitVersie]) -> list[tuple[int | None, int | None, ActiviteitVersie]]:
    """Which version explains a log entry with a given `tijdstip`: spans [from, until) in epoch µs.

    Each version explains the entries from its registration until the next version's. The first version
    also explains everything before it (None = open): a municipality that starts keeping its VAR here
    imports it after years of logging, and those entries are explained by the activity as first registered.
    """
    ordered = sorted(versions, key=lambda v: v.versie)
    spans: list[tuple[int | None, int | None, ActiviteitVersie]] = []
    for i, v in enumerate(ordered):
        start = None if i == 0 else v.tijdstip_registratie_us
        end = ordered[i + 1].tijdstip_registratie_us if i + 1 < len(ordered) else None
        if start is None or end is None or start < end:
            spans.append((start, end, v))
    return spans


def explaining(versions: Sequence[ActiviteitVersie], tijdstip_us: int) -> ActiviteitVersie | None:
    """§17.4: the version that explains a log entry made at `tijdstip` (see `timeline`)."""
    for start, end, v in timeline(versions):
        if (start is None or start <= tijdstip_us) and (end is None or tijdstip_us < end):
            return v
    return None


# -- doelbinding (§17.4): never blocking, only reported ------------------------------------------------


class Bevinding(StrEnum):
    """What is wrong with a log entry's reference to its processing activity."""

    ONTBREEKT = "ontbreekt"  # the entry names no verwerkingsactiviteitId at all
    ONBEKEND = "onbekend"  # the id is not in the VAR
    INGETROKKEN = "ingetrokken"  # the activity was retired when the action took place
    ANDERE_ORGANISATIE = "andere_organisatie"  # the activity is another organisation's than the uitvoerder


def verdict(explained_by: ActiviteitVersie | None, has_id: bool, uitvoerder: str | None) -> Bevinding | None:
    """The doelbinding rule for one log entry, given the version that explains it (see `explaining`).

    The standard says a provider does not reject an entry for an unknown purpose (B0869, B8278), so this
    is only ever reported. `uitvoerder` is empty when the responsible organisation acted itself (§3.2 #11);
    an entry with an uitvoerder whose OIN differs from the activity's organisation is reported so that the
    FG can check it (it is expected under mandate, C2672, and a mistake otherwise).
    """
    if not has_id:
        return Bevinding.ONTBREEKT
    if explained_by is None:
        return Bevinding.ONBEKEND
    if explained_by.ingetrokken:
        return Bevinding.INGETROKKEN
    if uitvoerder is not None and uitvoerder != explained_by.organisatie:
        return Bevinding.ANDERE_ORGANISATIE
    return None


def doelbinding(
    activiteit_id: str | None, versions: Sequence[ActiviteitVersie], tijdstip_us: int, uitvoerder: str | None
) -> Bevinding | None:
    """The doelbinding rule for one entry: its activity's version at `tijdstip`, judged by `verdict`."""
    return verdict(explaining(versions, tijdstip_us), activiteit_id is not None, uitvoerder)


def verdict_spans(
    activiteit_id: str | None, versions: Sequence[ActiviteitVersie], uitvoerder: str | None
) -> list[tuple[int | None, int | None, Bevinding | None]]:
    """`doelbinding` as a function of tijdstip: spans with one verdict each, so that a report can count
    a whole group of entries per span in the database instead of judging them one by one."""
    if activiteit_id is None or not versions:
        return [(None, None, verdict(None, activiteit_id is not None, uitvoerder))]
    return [(start, end, verdict(v, True, uitvoerder)) for start, end, v in timeline(versions)]


# -- the plain-language explanation (extension for the Inzage side) -----------------------------------


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def uitleg(g: Activiteitgegevens, taal: str = "nl") -> dict[str, str | None] | None:
    """The activity in plain words for a citizen: name, purpose, legal basis, retention, and one text.

    Dutch always; another language only where the VAR gives that language's texts (`vertalingen`), with
    a running `tekst` for the languages there are sentence templates for (Dutch and English).
    An English explanation names a standard AVG basis in the GDPR's English terms when no English basis
    is given. Missing texts stay null rather than being mixed in from Dutch.
    """
    if taal == "nl":
        naam: str | None = g.naam
        doel: str | None = g.doel
        grondslag: str | None = g.grondslag
        toelichting, bewaartermijn = g.toelichting_grondslag, g.bewaartermijn
    else:
        v = g.vertaling(taal)
        if v is None:
            return None
        naam, doel, toelichting, bewaartermijn = v.naam, v.doel, v.toelichting_grondslag, v.bewaartermijn
        grondslag = v.grondslag
        if grondslag is None and taal == "en":
            grondslag = AVG_GRONDSLAGEN_EN.get(g.grondslag.strip().lower())
    words = _WORDS.get(taal)
    tekst = None if words is None else _tekst(words, naam, doel, grondslag, toelichting, bewaartermijn, g)
    return {
        "naam": naam,
        "doel": doel,
        "grondslag": grondslag,
        "toelichtingGrondslag": toelichting,
        "bewaartermijn": bewaartermijn,
        "tekst": tekst,
    }


def _tekst(
    words: Mapping[str, str],
    naam: str | None,
    doel: str | None,
    grondslag: str | None,
    toelichting: str | None,
    bewaartermijn: str | None,
    g: Activiteitgegevens,
) -> str | None:
    """The explanation as running text, in a language we have sentence templates for (`_WORDS`)."""
    parts = []
    if naam:
        parts.append(words["naam"].format(naam.strip().rstrip(".")))
    if doel:
        parts.append(words["doel"] + _sentence(doel))
    if grondslag:
        basis = grondslag.strip().rstrip(".") + (f" ({toelichting.strip().rstrip('.')})" if toelichting else "")
        parts.append(words["grondslag"] + _sentence(basis))
    if bewaartermijn:
        parts.append(words["bewaartermijn"] + _sentence(bewaartermijn))
    if g.verantwoordelijke_bestuursorgaan:
        parts.append(words["verantwoordelijke"] + _sentence(g.verantwoordelijke_bestuursorgaan))
    return " ".join(parts) or None


_WORDS: Final[dict[str, dict[str, str]]] = {
    "nl": {
        "naam": "Uw gegevens zijn verwerkt voor ‘{}’.",
        "doel": "Waarom: ",
        "grondslag": "Dat mag op grond van: ",
        "bewaartermijn": "Hoe lang de gegevens bewaard worden: ",
        "verantwoordelijke": "Verantwoordelijk: ",
    },
    "en": {
        "naam": "Your data was processed for ‘{}’.",
        "doel": "Why: ",
        "grondslag": "Legal basis: ",
        "bewaartermijn": "How long the data is kept: ",
        "verantwoordelijke": "Responsible: ",
    },
}


# -- the "as of" instant -------------------------------------------------------------------------------


def peildatum_value(raw: str, zone: ZoneInfo) -> int:
    """The `peildatum` parameter (extension) as epoch µs: a date-time with offset (R-VAL-4) is that
    instant; a date (R-VAL-5) means the end of that day in the configured zone, so that everything
    registered on that day counts."""
    if "T" in raw or "t" in raw:
        return values.moment_value(raw).epoch_us
    day: date = values.date_value(raw)
    try:
        next_day = day + timedelta(days=1)
    except OverflowError:
        return values.to_epoch_us(datetime.max.replace(tzinfo=zone))
    return start_of_day_us(next_day, zone) - 1
