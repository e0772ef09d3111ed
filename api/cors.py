"""CORS for browser frontends on other origins (CORS_ORIGINS)."""
from flask import Flask
from flask_cors import CORS

from shared.config import Config


def setup_cors(app: Flask, config: Config) -> None:
    if not config.cors_origins:
        return  # production default: same-origin only (behind nginx)
    CORS(
        app,
        resources={r"/api/*": {"origins": config.cors_origins}},
        allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
        expose_headers=["X-Request-ID", "Retry-After"],
        max_age=600,
    )
