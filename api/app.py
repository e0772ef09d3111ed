"""The app factory: `create_app(config)` binds extensions, blueprints, docs, metrics and error handlers."""
from __future__ import annotations

import uuid

from flask import Flask, g, request
from flask_smorest.spec.plugins import integerconverter2paramschema

# outbox: its import registers the hooks
from api import delivery, docs, errors, health, me, mentorship, messaging, outbox
from api.cors import setup_cors
from api.delivery.addressing import remember_claimed_address
from api.extensions import db
from api.inputs import AsciiIntegerConverter, bound_chunked_body
from api.messaging.storage import make_storage
from api.metrics import setup_metrics
from api.schemas import configure_fast_dump
from shared.config import Config, load_or_exit
from shared.db import engine_options
from shared.events import make_publisher
from shared.logs import set_request_id_provider

BLUEPRINTS = [me.blp, *mentorship.BLUEPRINTS, *messaging.BLUEPRINTS, *delivery.BLUEPRINTS]


def _flask_settings(config: Config) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": config.database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(config.database_url),
        "MAX_CONTENT_LENGTH": config.max_body_bytes,
        **docs.SETTINGS,
    }


def _assign_request_id() -> None:
    # Honour an id from nginx or the caller so one id follows a request through.
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex


def _echo_request_id(response):
    response.headers["X-Request-ID"] = g.get("request_id", "")
    return response


def create_app(config: Config | None = None) -> Flask:
    config = config or load_or_exit()
    configure_fast_dump(config.api_fast_dump)
    app = Flask(__name__)
    # Before any rule is added: every `<int:...>` in a path is ASCII digits (api/inputs.py).
    app.url_map.converters["int"] = AsciiIntegerConverter
    app.config.update(_flask_settings(config))
    app.json.sort_keys = False
    app.extensions["app_config"] = config
    app.extensions["publisher"] = make_publisher(
        config.redis_url, config.events_channel, config.events_signing_secret, config.redis_cluster_nodes
    )
    app.extensions["storage"] = make_storage(config.storage_url)
    db.init_app(app)
    openapi = docs.OpenApi(app)
    openapi.register_converter(AsciiIntegerConverter, integerconverter2paramschema)
    app.extensions["openapi"] = openapi
    for blueprint in BLUEPRINTS:
        openapi.register_blueprint(blueprint)
    app.register_blueprint(health.blp)
    docs.register_swagger_assets(app)
    setup_metrics(app)
    setup_cors(app, config)
    set_request_id_provider(outbox.request_id)
    errors.register_error_handlers(app)
    app.before_request(_assign_request_id)
    app.before_request(bound_chunked_body)
    app.after_request(_echo_request_id)
    app.after_request(remember_claimed_address)
    return app
