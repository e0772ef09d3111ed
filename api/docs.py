"""The OpenAPI document (/openapi.json) and its readable page (/docs)."""
from flask_smorest import Api

from api.schemas import ErrorSchema

SETTINGS = {
    "API_TITLE": "Mentorship and messaging API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/",
    "OPENAPI_JSON_PATH": "openapi.json",
    "OPENAPI_SWAGGER_UI_PATH": "docs",
    "OPENAPI_SWAGGER_UI_URL": "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/",
    "API_SPEC_OPTIONS": {
        "security": [{"bearerAuth": []}],
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
        },
    },
}


class OpenApi(Api):
    """flask-smorest's Api, documenting our error shape.

    api/errors.py registers the error handlers, so flask-smorest's own
    (which uses a different payload) stays out.
    """

    ERROR_SCHEMA = ErrorSchema

    def _register_error_handlers(self):
        return None
