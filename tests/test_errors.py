"""Every failure answers with the one error shape and the right status."""
from __future__ import annotations

import marshmallow as ma
import pytest
from flask_smorest import Blueprint

from api import create_app


class EchoSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=20))
    count = ma.fields.Integer(required=True)


probe = Blueprint("probe", __name__, url_prefix="/api/v1/_probe")


@probe.route("/echo", methods=["POST"])
@probe.arguments(EchoSchema)
@probe.response(200, EchoSchema)
def echo(body):
    return body


@probe.route("/boom")
def boom():
    raise RuntimeError("secret internals: password=hunter2")


@pytest.fixture
def probe_client(config):
    app = create_app(config.replace(max_body_bytes=2048))
    app.extensions["openapi"].register_blueprint(probe)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    return app.test_client()


def assert_error(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def test_unknown_route_is_404(client):
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_wrong_method_is_405(client):
    assert_error(client.delete("/api/v1/me"), 405, "method_not_allowed")


def test_missing_token_is_401(client):
    assert_error(client.get("/api/v1/me"), 401, "token_missing")


def test_malformed_json_is_400(probe_client):
    response = probe_client.post("/api/v1/_probe/echo", data="{not json", content_type="application/json")
    assert_error(response, 400, "malformed_json")


def test_validation_is_422_with_field_details(probe_client):
    response = probe_client.post("/api/v1/_probe/echo", json={"name": "", "count": "many", "extra": 1})
    error = assert_error(response, 422, "validation_failed")
    assert set(error["details"]) == {"name", "count", "extra"}


def test_non_object_body_is_422(probe_client):
    assert_error(probe_client.post("/api/v1/_probe/echo", json=[1, 2]), 422, "validation_failed")


def test_body_over_the_limit_is_413(probe_client):
    response = probe_client.post("/api/v1/_probe/echo", json={"name": "x" * 5000, "count": 1})
    assert_error(response, 413, "payload_too_large")


def test_valid_body_passes(probe_client):
    response = probe_client.post("/api/v1/_probe/echo", json={"name": "ok", "count": 2})
    assert response.get_json() == {"name": "ok", "count": 2}


def test_500_hides_internals(probe_client):
    response = probe_client.get("/api/v1/_probe/boom")
    error = assert_error(response, 500, "internal_error")
    assert "hunter2" not in response.get_data(as_text=True)
    assert error["message"] == "internal error"


def test_every_response_carries_a_request_id(client):
    response = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert response.headers["X-Request-ID"] == "abc-123"
    assert len(client.get("/healthz").headers["X-Request-ID"]) == 32
