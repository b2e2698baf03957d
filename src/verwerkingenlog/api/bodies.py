"""Request bodies (§6.1, §6.4, §6.5): pydantic models built from the model's field table, with
errors translated to `invalidParams` (all problems at once, §4.9 step 3).

The value rules themselves live in `domain.values`; this module only wires them into pydantic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

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


Naam = Annotated[StrictStr, _rule(lambda v: values.max_length(v, values.NAAM_MAX))]
Identificator = Annotated[StrictStr, _rule(lambda v: values.max_length(v, values.IDENTIFICATOR_MAX))]
Uuid = Annotated[StrictStr, _rule(values.uuid_value)]
Uri = Annotated[StrictStr, _rule(values.uri_value)]
Oin = Annotated[StrictStr, _rule(values.oin_value)]
Periode = Annotated[StrictStr, _rule(lambda v: values.duration_value(v).text)]
VertrouwelijkheidT = Annotated[StrictStr, _rule(values.vertrouwelijkheid_value)]
ObjecttypeT = Annotated[StrictStr, _rule(lambda v: values.objecttype_value(v).value)]
MomentT = Annotated[StrictStr, _rule(values.moment_value)]

# §3.2: the type of every client-settable scalar, by JSON name.
FIELD_TYPES: dict[str, Any] = {
    "actieNaam": Naam,
    "handelingNaam": Naam,
    "verwerkingNaam": Naam,
    "verwerkingId": Uuid,
    "verwerkingsactiviteitId": Uuid,
    "verwerkingsactiviteitUrl": Uri,
    "vertrouwelijkheid": VertrouwelijkheidT,
    "bewaartermijn": Periode,
    "uitvoerder": Oin,
    "systeem": Naam,
    "gebruiker": Identificator,
    "gegevensbron": Naam,
    "soortAfnemerId": Naam,
    "afnemerId": Identificator,  # AMB-17: ≤ 40, no OIN pattern (a BSN is allowed)
    "verwerkingsactiviteitIdAfnemer": Uuid,
    "verwerkingsactiviteitUrlAfnemer": Uri,
    "verwerkingIdAfnemer": Uuid,
    "tijdstip": MomentT,
}
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
    data = {attr: getattr(body, json_name) for json_name, attr in ACTIE_FIELDS}
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
