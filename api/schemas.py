"""Schema pieces both domains use: the principal, ids, limits, text checks,
wire timestamps and the error shape."""
from __future__ import annotations

import logging
import re
import zoneinfo
from importlib.metadata import version
from typing import Any

import marshmallow as ma
from marshmallow import validate

from shared.timeutil import isoformat_z

ROLES = ("mentor", "student", "admin", "service")
# Who can be in a conversation (services publish events, they do not chat).
MEMBER_ROLES = ("mentor", "student", "admin")
MAX_ID = 2**63 - 1  # BIGINT ids: messages, events, notifications, activities
MAX_PRINCIPAL_ID = 2**31 - 1  # INT ids: principals, relationships, goals


def not_blank(value: str) -> None:
    if not value.strip():
        raise ma.ValidationError("must not be blank")


# Text needs no field of its own: api/inputs.py refuses control characters and
# lone surrogates in every string of every input before a schema loads it.

ASCII_INT = re.compile(r"[0-9]{1,20}")


class Integer(ma.fields.Integer):
    """An integer, strictly typed. In a JSON body (`strict`, the default) only a
    JSON integer: not `"3"`, `3.0` or `true` (marshmallow's strict mode lets
    booleans through). In a query string (`strict=False`) only ASCII digits:
    not `١٢`, `+3`, ` 3` or `1_000`, which `int()` would all accept."""

    def __init__(self, *, strict: bool = True, **kwargs) -> None:
        super().__init__(strict=strict, **kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, bool) or (isinstance(value, str) and (self.strict or not ASCII_INT.fullmatch(value))):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class Flag(ma.fields.Boolean):
    """A boolean: `true`/`false` in a JSON body (not `"yes"`, `1` or `"true"`);
    `strict=False` for query strings, which are text (`?unread=true`, `0`, `1`)."""

    def __init__(self, *, strict: bool = True, **kwargs) -> None:
        if not strict:
            kwargs.setdefault("truthy", {"true", "1"})
            kwargs.setdefault("falsy", {"false", "0"})
        super().__init__(**kwargs)
        self.strict = strict

    def _deserialize(self, value, attr, data, **kwargs):
        if self.strict and not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return super()._deserialize(value, attr, data, **kwargs)


def Number(minimum: int, maximum: int, *, strict: bool = True, **kwargs) -> Integer:  # noqa: N802 - a field factory
    """A bounded integer that is not an id (a capacity, a percentage, a cursor offset)."""
    return Integer(strict=strict, validate=validate.Range(minimum, maximum), **kwargs)


def Id(strict: bool = True, **kwargs) -> Integer:  # noqa: N802 - a field factory reads like a field
    """A BIGINT row id; strict in JSON bodies (no "12" for 12), ASCII digits in query strings."""
    return Integer(strict=strict, validate=validate.Range(1, MAX_ID), **kwargs)


def PrincipalId(strict: bool = True, **kwargs) -> Integer:  # noqa: N802
    """An INT id: principals, relationships, goals."""
    return Integer(strict=strict, validate=validate.Range(1, MAX_PRINCIPAL_ID), **kwargs)


def Limit(default: int, maximum: int) -> Integer:  # noqa: N802 - query strings only
    return Integer(strict=False, load_default=default, validate=validate.Range(1, maximum))


_MISSING = object()
log = logging.getLogger(__name__)
# The compiled dump reads fields' private `_CHECK_ATTRIBUTE` and `_serialize`:
# it runs only on the marshmallow it was tested with (the pin in requirements.txt).
TESTED_MARSHMALLOW = "4.4.0"
FAST_DUMP = True


def configure_fast_dump(enabled: bool, installed: str | None = None) -> bool:
    """Called by `create_app` with `API_FAST_DUMP`: the compiled dump when it
    is on and marshmallow is the tested version, else marshmallow's own."""
    global FAST_DUMP
    installed = installed or version("marshmallow")
    if enabled and installed != TESTED_MARSHMALLOW:
        log.warning("fast dump off: marshmallow %s (tested %s); using marshmallow's dump",
                    installed, TESTED_MARSHMALLOW)
        enabled = False
    FAST_DUMP = enabled
    return enabled


class OutSchema(ma.Schema):
    """A response schema: marshmallow documents it; `dump` runs a function
    generated once from its fields (`_compile`), because marshmallow's own
    per-field machinery costs about 2 us a field - a page of 20 conversations
    would spend 1 ms in it. Same output as `ma.Schema.dump` (a test compares
    them); a field kind the plan does not know goes through marshmallow."""

    def dump(self, obj, *, many: bool | None = None):
        if not FAST_DUMP:
            return super().dump(obj, many=many)
        plan = self.__dict__.get("_plan") or self.__dict__.setdefault("_plan", _compile(self))
        return [plan(item) for item in obj] if (self.many if many is None else many) else plan(obj)


def _compile(schema: ma.Schema):
    """`plan(obj) -> dict`: straight-line Python, one statement per field,
    reading attributes (rows, `Augmented`) or keys (dicts) as marshmallow would."""
    scope: dict[str, Any] = {"MISSING": _MISSING, "ma_missing": ma.missing, "isoformat_z": isoformat_z,
                             "accessor": schema.get_attribute}
    fields = list(schema.dump_fields.items())
    for n, (_, field) in enumerate(fields):
        scope[f"f{n}"] = field

    def function(name: str, get: str) -> list[str]:
        lines = [f"def {name}(obj):", "    out = {}"]
        for n, (field_name, field) in enumerate(fields):
            key, attr = field.data_key or field_name, field.attribute or field_name
            if "." in attr or isinstance(field, ma.fields.Method | ma.fields.Function) or not _plain(field):
                lines.append(f"    v = f{n}.serialize({field_name!r}, obj, accessor=accessor)")
                lines.append("    if v is ma_missing: v = MISSING")  # an absent key, as marshmallow leaves it out
            elif not field._CHECK_ATTRIBUTE:
                lines.append(f"    v = f{n}._serialize(None, {field_name!r}, obj)")
            else:
                lines.append(f"    v = {get.format(repr(attr))}")
                if isinstance(field, DictOrEmpty):
                    lines.append("    if v is None: v = {}")
                elif convert := _conversion(field, n, scope):
                    lines.append(f"    if v is not None and v is not MISSING: v = {convert}")
            lines.append(f"    if v is not MISSING: out[{key!r}] = v")
        return [*lines, "    return out"]

    source = "\n".join([
        *function("from_attrs", "getattr(obj, {}, MISSING)"),
        *function("from_keys", "obj.get({}, MISSING)"),
        "def plan(obj):",
        "    return from_keys(obj) if isinstance(obj, dict) else from_attrs(obj)",
    ])
    exec(compile(source, f"<dump plan of {type(schema).__name__}>", "exec"), scope)  # noqa: S102 - our own source
    return scope["plan"]


def _plain(field: ma.fields.Field) -> bool:
    """A field kind `_conversion` knows (anything else goes through marshmallow)."""
    if isinstance(field, ma.fields.List) and not isinstance(field.inner, ma.fields.Nested):
        return True
    return isinstance(field, Timestamp | ma.fields.Date | DictOrEmpty | ma.fields.Nested | ma.fields.List
                      | ma.fields.Integer | ma.fields.String | ma.fields.Boolean | ma.fields.Dict)


def _conversion(field: ma.fields.Field, n: int, scope: dict[str, Any]) -> str | None:
    """The expression turning a present, non-null value `v` into JSON (None: as it is)."""
    if isinstance(field, Timestamp):
        return "isoformat_z(v)"
    if isinstance(field, ma.fields.Date):
        return "v.isoformat()"
    if isinstance(field, ma.fields.Nested):
        scope[f"inner{n}"] = field.schema
        return f"inner{n}.dump(v, many={bool(field.many or field.schema.many)})"
    if isinstance(field, ma.fields.List) and isinstance(field.inner, ma.fields.Nested):
        scope[f"inner{n}"] = field.inner.schema
        return f"inner{n}.dump(v, many=True)"
    return None  # Integer, String, Boolean, Dict, List: the column already holds the JSON type


class PrincipalSchema(OutSchema):
    """`{"role", "id"}`: who a token names, who is addressed, who did something."""

    role = ma.fields.String(required=True, validate=validate.OneOf(ROLES))
    id = PrincipalId(required=True)


class PrincipalRef(ma.fields.Nested):
    """A principal stored as two columns (`<x>_role`, `<x>_id`); null when the role is."""

    _CHECK_ATTRIBUTE = False  # read from the two columns, not from the field's name

    def __init__(self, role: str, id: str, **kwargs) -> None:  # noqa: A002 - the column pair
        super().__init__(PrincipalSchema, **kwargs)
        self.role_attr, self.id_attr = role, id

    def _serialize(self, value, attr, obj, **kwargs):
        role = getattr(obj, self.role_attr)
        return None if role is None else {"role": role, "id": getattr(obj, self.id_attr)}


class Timestamp(ma.fields.DateTime):
    """ISO 8601 UTC with milliseconds and `Z` (naive datetimes are UTC by rule)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return isoformat_z(value)


class DictOrEmpty(ma.fields.Dict):
    """A JSON object column: `{}` where the row holds none."""

    def _serialize(self, value, attr, obj, **kwargs):
        return {} if value is None else value


class Augmented:
    """A row seen through a schema with computed attributes added:
    `Augmented(conversation, unread=3).unread`, `.id` from the row."""

    __slots__ = ("_row", "_extra")

    def __init__(self, row: Any, **extra: Any) -> None:
        self._row, self._extra = row, extra

    def __getattr__(self, name: str) -> Any:
        extra = object.__getattribute__(self, "_extra")
        return extra[name] if name in extra else getattr(object.__getattribute__(self, "_row"), name)


class MemberSchema(PrincipalSchema):
    """A principal who can take part in a conversation (or be blocked)."""

    role = ma.fields.String(required=True, validate=validate.OneOf(MEMBER_ROLES))


class ErrorBody(ma.Schema):
    code = ma.fields.String(required=True)
    message = ma.fields.String(required=True)
    details = ma.fields.Dict()


class ErrorSchema(ma.Schema):
    """The one error shape: `{"error": {"code", "message", "details"}}`."""

    error = ma.fields.Nested(ErrorBody, required=True)


# available_timezones() walks the tz database on every call: read it once.
TIMEZONES = frozenset(zoneinfo.available_timezones())


def known_timezone(name: str) -> None:
    """An IANA zone name this machine's zone database has (`Europe/Paris`, `UTC`)."""
    if name not in TIMEZONES:
        raise ma.ValidationError("not a known IANA time zone (e.g. Europe/Paris)")
