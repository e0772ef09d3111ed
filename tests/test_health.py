"""Probes, the OpenAPI document, and the app factory itself."""

from __future__ import annotations

import pytest

from api import create_app


def test_healthz(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_readyz_checks_the_database(client):
    assert client.get("/readyz").get_json() == {"status": "ok", "checks": {"database": "ok"}}


def test_readyz_checks_redis_when_configured(config):
    client = create_app(config.replace(redis_url="redis://127.0.0.1:6379/0")).test_client()
    assert client.get("/readyz").get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_readyz_reports_a_dead_dependency(config):
    # Port 9 (discard) has nothing listening on loopback.
    client = create_app(config.replace(redis_url="redis://127.0.0.1:9/0")).test_client()
    response = client.get("/readyz")
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["code"] == "not_ready"
    assert error["details"] == {"database": "ok", "redis": "unavailable"}


def test_openapi_document_and_docs_page(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["info"]["title"]
    assert "/api/v1/me" in spec["paths"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    page = client.get("/docs")
    assert page.status_code == 200
    assert b"openapi.json" in page.data


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json", "/docs"])
def test_public_paths_need_no_token(client, path):
    assert client.get(path).status_code == 200


def test_factory_builds_independent_apps(config):
    first, second = create_app(config), create_app(config.replace(max_body_bytes=4096))
    assert first is not second
    assert second.config["MAX_CONTENT_LENGTH"] == 4096
    assert first.extensions["app_config"].max_body_bytes == config.max_body_bytes


def test_cors_allows_configured_origins(config):
    client = create_app(config.replace(cors_origins=["http://demo.example"])).test_client()
    response = client.options(
        "/api/v1/me",
        headers={
            "Origin": "http://demo.example",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "Authorization",
        },
    )
    assert response.headers["Access-Control-Allow-Origin"] == "http://demo.example"
    other = client.get("/api/v1/me", headers={"Origin": "http://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
