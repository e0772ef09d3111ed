"""Where request input enters the API: path ids, JSON bodies and query strings.

Each rule on raw input lives here once, at the depth where the input enters:
- path ids: the `int` converter matches ASCII digits only (`\\d` would also
  match other scripts' digits, and `int("١٢")` is 12), within `max=`;
- body size: a chunked body is held to MAX_BODY_BYTES like a sized one;
- JSON bodies: decoded here (not by webargs' bare `json.loads`), so depth and
  number size are bounded and any decoding failure is a 400 `malformed_json`;
- text: every string of a body (values and object keys, at any depth) and
  of a query string passes `TEXT_RULE` before any schema sees it.

The text rule sits in the parser rather than in a field type because the
parser sees every input of every route, including free-form JSON (event
`data`) that no field describes; a new schema cannot forget it.
"""
from __future__ import annotations

import io
import json
import re
from typing import Any

import marshmallow as ma
from flask import current_app, request
from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

MAX_JSON_DEPTH = 32  # arrays and objects inside each other; no endpoint needs more than 4
# Lone surrogates, C0 controls but tab/newline/carriage return, DEL, C1 controls,
# and the noncharacters U+FFFE/U+FFFF: not text, and some break the database (JSON_VALID).
TEXT_RULE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
TEXT_MESSAGE = "contains a control character, a lone surrogate or a noncharacter"


def range_pattern(maximum: int) -> str:
    """A regex for the canonical decimals 0..maximum (ASCII, no sign, no leading zero)."""
    digits = str(maximum)
    n = len(digits)
    alternatives = ["0"] + ([f"[1-9][0-9]{{0,{n - 2}}}"] if n > 1 else [])
    for i, digit in enumerate(digits):
        low, high = (1 if i == 0 else 0), int(digit) - 1
        if high >= low:
            alternatives.append(digits[:i] + f"[{low}-{high}]" + (f"[0-9]{{{n - i - 1}}}" if i < n - 1 else ""))
    alternatives.append(digits)
    return "|".join(alternatives)


class AsciiIntegerConverter(IntegerConverter):
    """werkzeug's `int`, registered under that name, for ASCII digits within `max=`.

    The range is in the regex, not only in `to_python`: werkzeug checks a
    rule's method before it converts, so `DELETE /goals/<too big>` would be a
    405 from the PATCH rule of the same path instead of a 404."""

    def __init__(self, map, fixed_digits: int = 0, min: int | None = None, max: int | None = None,  # noqa: A002
                 signed: bool = False) -> None:
        if signed or fixed_digits:
            raise ValueError("ids are unsigned and not fixed-width")
        super().__init__(map, min=min, max=max)
        self.regex = range_pattern(10**20 - 1 if max is None else max)


class Malformed(Exception):
    pass


def _walk(value: Any, errors: dict, path: tuple) -> None:
    """Check the text rule and the depth on decoded JSON, iteratively (no recursion to exhaust)."""
    stack = [(value, path)]
    while stack:
        value, path = stack.pop()
        if len(path) > MAX_JSON_DEPTH:
            raise Malformed(f"nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(value, str):
            if TEXT_RULE.search(value):
                _put(errors, path, TEXT_MESSAGE)
        elif isinstance(value, dict):
            for key, item in value.items():
                if TEXT_RULE.search(key):
                    _put(errors, (*path, _printable(key)), f"key {TEXT_MESSAGE}")
                stack.append((item, (*path, key)))
        elif isinstance(value, list):
            stack.extend((item, (*path, index)) for index, item in enumerate(value))


def _printable(key: str) -> str:
    # The error names the key, escaped: its raw form is what cannot be stored or shown.
    return key.encode("unicode_escape").decode("ascii")


def _put(errors: dict, path: tuple, message: str) -> None:
    """Errors nest like marshmallow's: `{"data": {"a": {0: [...]}}}`; a body that is one string is `_schema`."""
    node = errors
    for key in path[:-1] or ():
        node = node.setdefault(key, {})
    node.setdefault(path[-1] if path else "_schema", []).append(message)


def check_text(value: Any) -> None:
    errors: dict = {}
    _walk(value, errors, ())
    if errors:
        raise ma.ValidationError(errors)


def loads(raw: bytes) -> Any:
    """JSON from a body; any failure (syntax, encoding, depth, a 5000-digit number) is `Malformed`."""
    try:
        value = json.loads(raw.decode("utf-8"))
    except RecursionError:
        raise Malformed(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError; so is int()'s digit limit
        raise Malformed(str(exc)) from None
    _walk(value, {}, ())  # depth only here; text is checked with the field names in `_load_location_data`
    return value


def streams_body(view):
    """Mark a view that streams its own body under its own limit (an upload,
    api/messaging/uploads.py): `bound_chunked_body` leaves its stream alone.
    Put it right above `def`, so the decorators around it carry it along."""
    view.streams_body = True
    return view


def bound_chunked_body() -> None:
    """A `before_request` hook: a chunked body (no Content-Length) is measured
    like a sized one. werkzeug caps such a stream at MAX_CONTENT_LENGTH by
    silently cutting it, so the rest would be read as malformed JSON."""
    if "chunked" not in request.headers.get("Transfer-Encoding", "").lower():
        return
    if getattr(current_app.view_functions.get(request.endpoint or ""), "streams_body", False):
        return
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    body = request.environ["wsgi.input"].read(limit + 1)
    if len(body) > limit:
        raise RequestEntityTooLarge()
    request.environ["wsgi.input"] = io.BytesIO(body)
    request.environ["CONTENT_LENGTH"] = str(len(body))


class Parser(FlaskParser):
    """webargs' parser with the app's JSON decoding and the one text rule."""

    def load_json(self, req, schema):
        if not is_json_request(req):
            return core.missing
        raw = req.get_data(cache=True)  # over MAX_CONTENT_LENGTH: 413, also when chunked
        if not raw:
            return core.missing
        try:
            return loads(raw)
        except Malformed as exc:
            abort(400, exc=exc, messages={"json": [f"Invalid JSON body: {exc}"]})

    def _load_location_data(self, *, schema, req, location):
        data = super()._load_location_data(schema=schema, req=req, location=location)
        if location in ("query", "querystring"):
            check_text({key: values[0] if len(values) == 1 else values for key, values in req.args.lists()})
        elif data is not core.missing:
            check_text(data)
        return data
