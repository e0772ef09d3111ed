"""The OpenAPI document (/openapi.json), its readable page (/docs), and the
Blueprint every API resource uses, which documents each route's errors."""
from __future__ import annotations

import flask_smorest
from flask import Flask, abort, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from api.auth import READ_METHODS, require_roles
from api.inputs import Parser
from api.schemas import ErrorSchema

SETTINGS = {
    "API_TITLE": "Mentorship and messaging API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    # Served by the API itself (`register_swagger_assets`), so /docs renders with no network.
    "OPENAPI_SWAGGER_UI_URL": "/docs/assets/",
    "API_SPEC_OPTIONS": {
        "security": [{"bearerAuth": []}],
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
        },
    },
}

ERRORS = {
    400: "The body is not valid JSON (`malformed_json`).",
    401: "No valid bearer token (`unauthorized`, `token_expired`, `token_invalid`, ...).",
    403: "Not allowed for the caller.",
    404: "Not found, or not visible to the caller.",
    409: "Conflicts with the current state.",
    413: "The body is larger than `MAX_BODY_BYTES`.",
    415: "Not a type this route takes (`unsupported_type`: sniffed from the file's content).",
    422: "The input did not validate; `details` says where.",
    429: "Rate limited; try again after `Retry-After` seconds.",
    503: "A service the route needs (the attachment storage) does not answer; try again after `Retry-After`.",
}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.", "schema": {"type": "integer"}}}


class OpenApi(flask_smorest.Api):
    """flask-smorest's Api, documenting our error shape.

    api/errors.py registers the error handlers, so flask-smorest's own
    (which uses a different payload) stays out.
    """

    ERROR_SCHEMA = ErrorSchema
    # No `default` response on every operation: each route documents its
    # statuses (`errors`, `authenticated`, `arguments`), so one it does not
    # document is a bug the OpenAPI fuzz test can see.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self):
        return None


SWAGGER_ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js",
                            "favicon-32x32.png", "favicon-16x16.png"})


def register_swagger_assets(app: Flask) -> None:
    """Swagger UI's files from the swagger-ui-bundle package at /docs/assets/,
    not from a CDN: the docs page works offline and behind strict CSPs."""

    @app.get("/docs/assets/<name>")
    def swagger_asset(name: str):
        if name not in SWAGGER_ASSETS:
            abort(404)
        return send_from_directory(swagger_ui_path, name, max_age=86400)


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint, with the error statuses of a route documented
    in one line and authentication that runs before input is parsed."""

    ARGUMENTS_PARSER = Parser()  # api/inputs.py: JSON decoding and the text rule

    def errors(self, *statuses: int):
        """Document these error statuses with the one error shape."""

        def decorator(view):
            for status in statuses:
                headers = RETRY_AFTER if status in (429, 503) else None
                view = self.alt_response(status, schema=ErrorSchema, description=ERRORS[status], headers=headers)(view)
            return view

        return decorator

    def authenticated(self, *roles: str, service_writes: bool = False):
        """Verify the token (401), then the role (403, when `roles` are given).
        A `service` principal only reads (403 `read_only_role`) unless the route
        says `service_writes=True`. Place it right under `route`, so it runs
        before `arguments` parses input."""

        def decorator(view):
            checked = require_roles(*roles, service_writes=service_writes)(view)
            return self.errors(401, *([403] if roles else []))(checked)

        return decorator

    def route(self, rule: str, *, parameters=None, **options):
        """flask-smorest's; a write also documents 403 (a `service` principal only reads)."""
        register = super().route(rule, parameters=parameters, **options)
        writes = any(method not in READ_METHODS for method in options.get("methods", ["GET"]))

        def decorator(view):
            return register(self.errors(403)(view) if writes else view)

        return decorator

    def arguments(self, schema, *, location: str = "json", **kwargs):
        """flask-smorest's, which documents 422; a JSON body can also be malformed (400) or too large (413)."""
        parse = super().arguments(schema, location=location, **kwargs)
        if location != "json":
            return parse
        return lambda view: self.errors(400, 413)(parse(view))
