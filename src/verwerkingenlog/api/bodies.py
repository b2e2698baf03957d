"""Request bodies (§6.1, §6.4, §6.5): pydantic models built from the model's field table, with
errors translated to `invalidParams` (all problems at once, §4.9 step 3).

The value rules themselves live in `domain.values`; this module only wires them into pydantic.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import msgspec
from pydantic import AfterValidator, BaseModel, ConfigDict, StrictStr, ValidationError, create_model
from pydantic_core import PydanticCustomError

from verwerkingenlog.domain import values
from verwerkingenlog.domain.errors import InvalidParam, InvalidValue, ValidationFailed
from verwerkingenlog.domain.model import ACTIE_FIELDS, Actiegegevens, NieuwObject
from verwerkingenlog.domain.values import Moment, Vertrouwelijkheid

R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)


def _rule(fn: Callable[[str], R]) -> AfterValidator:
    """Run a domain value rule; its InvalidValue becomes a pydantic error carrying our code."""

    def check(value: str) -> R:
        try:
            return fn(value)
        except InvalidValue as exc:
            raise PydanticCustomError(exc.code, exc.reason) from None

    return AfterValidator(check)


def _naam(v: str) -> str:
    return values.max_length(v, values.NAAM_MAX)


def _identificator(v: str) -> str:
    return values.max_length(v, values.IDENTIFICATOR_MAX)


def _periode(v: str) -> str:
    return values.duration_value(v).text


def _objecttype(v: str) -> str:
    return values.objecttype_value(v).value


Naam = Annotated[StrictStr, _rule(_naam)]
Identificator = Annotated[StrictStr, _rule(_identificator)]
Uuid = Annotated[StrictStr, _rule(values.uuid_value)]
Uri = Annotated[StrictStr, _rule(values.uri_value)]
Oin = Annotated[StrictStr, _rule(values.oin_value)]
Periode = Annotated[StrictStr, _rule(_periode)]
VertrouwelijkheidT = Annotated[StrictStr, _rule(values.vertrouwelijkheid_value)]
ObjecttypeT = Annotated[StrictStr, _rule(_objecttype)]
MomentT = Annotated[StrictStr, _rule(values.moment_value)]

# §3.2: the value rule of every client-settable scalar, by JSON name (AMB-17: afnemerId is an Identificator,
# ≤ 40, no OIN pattern - a BSN is allowed).
FIELD_RULES: dict[str, Callable[[str], Any]] = {
    "actieNaam": _naam,
    "handelingNaam": _naam,
    "verwerkingNaam": _naam,
    "verwerkingId": values.uuid_value,
    "verwerkingsactiviteitId": values.uuid_value,
    "verwerkingsactiviteitUrl": values.uri_value,
    "vertrouwelijkheid": values.vertrouwelijkheid_value,
    "bewaartermijn": _periode,
    "uitvoerder": values.oin_value,
    "systeem": _naam,
    "gebruiker": _identificator,
    "gegevensbron": _naam,
    "soortAfnemerId": _naam,
    "afnemerId": _identificator,
    "verwerkingsactiviteitIdAfnemer": values.uuid_value,
    "verwerkingsactiviteitUrlAfnemer": values.uri_value,
    "verwerkingIdAfnemer": values.uuid_value,
    "tijdstip": values.moment_value,
}
# The pydantic type of every client-settable scalar, by JSON name: a strict string and its rule.
FIELD_TYPES: dict[str, Any] = {name: Annotated[StrictStr, _rule(rule)] for name, rule in FIELD_RULES.items()}
REQUIRED = frozenset({"vertrouwelijkheid", "tijdstip"})  # plus verwerkteObjecten (§6.1)
READ_ONLY = ("url", "actieId", "tijdstipRegistratie")  # R-VAL-10: accepted and ignored


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class SoortGegevenIn(_Strict):
    soortGegeven: Naam


class _ObjectBase(_Strict):
    objecttype: ObjecttypeT
    soortObjectId: Naam
    objectId: Identificator
    betrokkenheid: Naam | None = None
    verwerkteSoortenGegevens: list[SoortGegevenIn] | None = None
    url: Any = None


class ObjectPost(_ObjectBase):
    """R-POST-5: a client-supplied verwerktObjectId is ignored."""

    verwerktObjectId: Any = None


class ObjectPut(_ObjectBase):
    """R-PUT-5 (AMB-19): an echoed verwerktObjectId keeps the object's identity."""

    verwerktObjectId: Uuid | None = None


def _actie_model(name: str, object_model: type[_ObjectBase], all_keys_required: bool) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for json_name, _ in ACTIE_FIELDS:
        t = FIELD_TYPES[json_name]
        if json_name in REQUIRED:
            fields[json_name] = (t, ...)
        elif all_keys_required:
            fields[json_name] = (t | None, ...)  # R-PUT-1: key required, value may be null
        else:
            fields[json_name] = (t | None, None)
    fields["verwerkteObjecten"] = (list[object_model], ...)  # type: ignore[valid-type]
    for ro in READ_ONLY:
        fields[ro] = (Any, None)
    model: type[BaseModel] = create_model(name, __base__=_Strict, **fields)
    return model


PostBody = _actie_model("VerwerkingsactieUitgebreidBasis", ObjectPost, all_keys_required=False)
PutBody = _actie_model("VerwerkingsactieUitgebreid", ObjectPut, all_keys_required=True)


class PatchBody(_Strict):
    bewaartermijn: Periode | None = None
    vertrouwelijkheid: VertrouwelijkheidT | None = None


def _code(err: Any) -> str:
    kind = err["type"]
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "unknown_field"
    if kind == "json_invalid":
        return "parse_error"
    if err.get("input", ...) is None:
        return "null"  # R-VAL-13
    if kind in {"max_length", "invalid", "invalid_choice"}:
        return str(kind)
    return "invalid"


def _reason(err: Any, code: str) -> str:
    if code == "required":
        return "This field is required."
    if code == "null":
        return "This field may not be null."
    if code == "unknown_field":
        return "Unknown field: it is not part of the schema (check the spelling)."
    return str(err["msg"]).removeprefix("Value error, ")


def validation_failed(exc: ValidationError) -> ValidationFailed:
    params = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        code = _code(err)
        params.append(InvalidParam(".".join(loc) or "body", code, _reason(err, code)))
    return ValidationFailed(params)


def parse(model: type[M], raw: bytes) -> M:
    """Parse and validate a JSON body; every problem is reported at once."""
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise validation_failed(exc) from None


def gegevens_of(body: BaseModel) -> Actiegegevens:
    return _gegevens({attr: getattr(body, json_name) for json_name, attr in ACTIE_FIELDS})


def _gegevens(data: dict[str, Any]) -> Actiegegevens:
    """Validated values by attribute name (`ACTIE_FIELDS`) as Actiegegevens."""
    moment: Moment = data.pop("tijdstip")
    vertrouwelijkheid: Vertrouwelijkheid = data.pop("vertrouwelijkheid")
    return Actiegegevens(tijdstip=moment.text, tijdstip_us=moment.epoch_us, vertrouwelijkheid=vertrouwelijkheid, **data)


def objecten_of(body: BaseModel) -> list[NieuwObject]:
    out = []
    for o in body.verwerkteObjecten:  # type: ignore[attr-defined]
        soorten = tuple(s.soortGegeven for s in (o.verwerkteSoortenGegevens or []))
        object_id = o.verwerktObjectId if isinstance(o, ObjectPut) else None
        out.append(NieuwObject(o.objecttype, o.soortObjectId, o.objectId, o.betrokkenheid, soorten, object_id))
    return out


# -- the bulk fast path: msgspec first, pydantic for the bodies it does not take -----------------------------
#
# Bulk ingest validates thousands of POST bodies per request; pydantic (with a Python callback per value) was
# a fifth of its CPU (docs/performance.md). `parse_post` decodes with msgspec structs of the same shape and
# runs the same `FIELD_RULES`; only a body that this path refuses for any reason goes through `PostBody`,
# which then gives the answer - its errors, or its value. So the fast path needs to be exact only for what it
# accepts: tests/test_bodies_fast.py checks on generated and mutated bodies that it accepts nothing pydantic
# refuses and yields the same Actiegegevens and objects.


class _SoortFast(msgspec.Struct, forbid_unknown_fields=True):
    soortGegeven: str


class _ObjectFast(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    objecttype: str
    soortObjectId: str
    objectId: str
    betrokkenheid: str | None = None
    verwerkteSoortenGegevens: list[_SoortFast] | None = None
    # Ignored (R-VAL-10, R-POST-5), so pydantic takes any JSON there; this path only a string or null. Other
    # values go to pydantic, whose JSON parser has limits of its own (nesting depth) that msgspec's has not.
    url: str | None = None
    verwerktObjectId: str | None = None


_PostFast = msgspec.defstruct(
    "_PostFast",
    [(n, str) if n in REQUIRED else (n, str | None, None) for n, _ in ACTIE_FIELDS]
    + [("verwerkteObjecten", list[_ObjectFast])]
    + [(ro, str | None, None) for ro in READ_ONLY],
    forbid_unknown_fields=True,
    kw_only=True,
)
_post_fast = msgspec.json.Decoder(_PostFast)
# A retention period is one of a few texts, and its rule is the costliest after the date-time's: remembered.
_FAST_RULES: dict[str, Callable[[str], Any]] = {
    **FIELD_RULES,
    "bewaartermijn": functools.lru_cache(maxsize=256)(_periode),
}
_FAST_FIELDS = tuple((json_name, attr, _FAST_RULES[json_name]) for json_name, attr in ACTIE_FIELDS)


def _fast_post(raw: bytes) -> tuple[Actiegegevens, list[NieuwObject]] | None:
    """The body's action and objects, or None when anything about it needs pydantic's verdict."""
    try:
        body: Any = _post_fast.decode(raw)
        data: dict[str, Any] = {}
        for json_name, attr, rule in _FAST_FIELDS:
            value = getattr(body, json_name)
            data[attr] = None if value is None else rule(value)
        objecten = []
        for o in body.verwerkteObjecten:
            soorten = tuple(_naam(s.soortGegeven) for s in (o.verwerkteSoortenGegevens or ()))
            betrokkenheid = None if o.betrokkenheid is None else _naam(o.betrokkenheid)
            objecten.append(
                NieuwObject(
                    _objecttype(o.objecttype),
                    _naam(o.soortObjectId),
                    _identificator(o.objectId),
                    betrokkenheid,
                    soorten,
                )
            )
    except (msgspec.MsgspecError, ValueError, RecursionError):  # InvalidValue and UnicodeDecodeError are ValueErrors
        return None
    return _gegevens(data), objecten


def parse_post(raw: bytes) -> tuple[Actiegegevens, list[NieuwObject]]:
    """A `POST /verwerkingsacties` body as the action's data and its objects; raises ValidationFailed exactly as
    `parse(PostBody, raw)` does."""
    fast = _fast_post(raw)
    if fast is not None:
        return fast
    body = parse(PostBody, raw)
    return gegevens_of(body), objecten_of(body)
