"""The OpenAPI document describes every response of every operation, and
authentication comes before input validation on every route."""
from __future__ import annotations

import re

import pytest
from werkzeug.routing import IntegerConverter

API = "/api/v1"
# Operations that answer 429 with Retry-After when the caller goes too fast.
RATE_LIMITED = {("post", "/api/v1/conversations/{conversation_id}/messages")}
# Operations that answer 200 with the existing resource when asked again (idempotent replays).
REPLAYS_200 = {
    ("post", "/api/v1/conversations/{conversation_id}/messages"),
    ("post", "/api/v1/conversations"),
    ("post", "/api/v1/blocks"),
}
# Operations whose success is a file (any type) rather than JSON.
FILES = {("get", "/api/v1/attachments/{attachment_id}")}
METHODS = ("get", "put", "post", "patch", "delete")
# Operations anyone may call without a token (documented with `security: []`, no 401): the calendar
# feed (its credential is in the URL; calendar apps send no headers), the VAPID key browsers
# subscribe with, and the email unsubscribe link (its signed token is in the query).
PUBLIC = {
    ("get", "/api/v1/calendar/{feed_token}.ics"),
    ("get", "/api/v1/push/vapid-public-key"),
    ("get", "/api/v1/unsubscribe"),
    ("post", "/api/v1/unsubscribe"),
}


@pytest.fixture
def spec(client):
    return client.get("/openapi.json").get_json()


def _resolve(spec: dict, item: dict) -> dict:
    while "$ref" in item:
        node = spec
        for part in item["$ref"].lstrip("#/").split("/"):
            node = node[part]
        item = node
    return item


def _operations(spec: dict):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def _problems(spec: dict, method: str, path: str, op: dict) -> list[str]:
    responses = {str(k): _resolve(spec, v) for k, v in op["responses"].items()}
    problems = []
    successes = [s for s in responses if s.startswith("2")]
    if not successes:
        problems.append("no success response")
    for status in successes:
        if (method, path) in FILES:
            if not responses[status].get("content"):
                problems.append(f"{status} documents no file")
            continue
        content = responses[status].get("content", {})
        # JSON, or one other media type (text/calendar, text/html) described by a schema.
        schema = content.get("application/json", next(iter(content.values()), {})).get("schema")
        if status != "204" and schema is None:
            problems.append(f"{status} has no response schema")
        if status == "204" and responses[status].get("content"):
            problems.append("204 documents a body")
    expected = {"401"}
    if (method, path) in PUBLIC:
        expected = set()
        if op.get("security") != [] or "401" in responses:
            problems.append("a public operation must say security: [] and answer no 401")
    takes_input = "requestBody" in op or any(p["in"] == "query" for p in op.get("parameters", []))
    if takes_input:
        expected.add("422")
    if "{" in path:
        expected.add("404")
    if (method, path) in RATE_LIMITED:
        expected.add("429")
        if "Retry-After" not in responses.get("429", {}).get("headers", {}):
            problems.append("429 without a Retry-After header")
    if (method, path) in REPLAYS_200 and not {"200", "201"} <= set(responses):
        problems.append("the replay's 200 is not documented next to the 201")
    problems += [f"{status} not documented" for status in sorted(expected - set(responses))]
    for status, response in responses.items():
        if status.startswith(("4", "5")) or status == "default":
            schema = response.get("content", {}).get("application/json", {}).get("schema", {})
            if _resolve(spec, schema) != spec["components"]["schemas"]["Error"]:
                problems.append(f"{status} is not the error shape")
    return problems


def test_every_operation_documents_its_responses_and_errors(spec):
    operations = [(m, p, op) for m, p, op in _operations(spec) if p.startswith(API)]
    assert len(operations) >= 35
    problems = {f"{m.upper()} {p}": found for m, p, op in operations if (found := _problems(spec, m, p, op))}
    assert problems == {}


def test_the_error_shape_is_a_schema(spec):
    error = spec["components"]["schemas"]["Error"]
    body = _resolve(spec, error["properties"]["error"])
    assert error["required"] == ["error"] and set(body["properties"]) == {"code", "message", "details"}


def _example_url(rule) -> str:
    """The rule's path with a plausible value per variable (ids 1, words `student`)."""
    url = rule.rule
    for name, converter in rule._converters.items():
        value = "1" if isinstance(converter, IntegerConverter) else "student"
        url = re.sub(rf"<[^>]*\b{name}>", value, url)
    return url


def _public(rule, method: str) -> bool:
    path = re.sub(r"<(?:[^:>]*:)?([^>]*)>", r"{\1}", rule.rule)
    return (method.lower(), path) in PUBLIC


def _routes(app):
    """Every route that takes a token (the PUBLIC ones are left out)."""
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API + "/"):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if not _public(rule, method):
                    yield method, _example_url(rule)


def test_authentication_runs_before_input_validation_on_every_route(app, client):
    routes = list(_routes(app))
    assert len(routes) >= 35
    answers = {}
    for method, url in routes:
        for body in ("{not json", '{"limit": "x", "body": 5, "participants": 1}'):
            response = client.open(
                url + "?limit=abc&before=x&after=-1&q=", method=method, data=body,
                headers={"Content-Type": "application/json"},
            )
            answers[f"{method} {url} {body}"] = (response.status_code, response.get_json()["error"]["code"])
    assert {k: v for k, v in answers.items() if v != (401, "token_missing")} == {}
