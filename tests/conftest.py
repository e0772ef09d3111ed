"""Fixtures in layers: backend -> config -> app -> client -> tokens.

By default the suite runs on a throwaway MariaDB database created for this
run (TEST_MYSQL_URL, default root@127.0.0.1:3306) and dropped at the end;
`TEST_DATABASE=sqlite` runs the same suite on a SQLite file. A missing
MariaDB is an error, never a skip.
"""
from __future__ import annotations

import os
import threading
import uuid

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from api import create_app
from api.extensions import db
from shared.auth import mint_token
from shared.config import Config
from shared.db import make_engine
from shared.migrate import migrate
from shared.models import Base

BACKEND = os.environ.get("TEST_DATABASE", "mysql")
MYSQL_SERVER_URL = os.environ.get("TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/")
TEST_SECRET = "test-secret-for-the-suite-0123456789abcdef"
# Production refuses secrets under 32 bytes (shared.config.MIN_SECRET_BYTES).
EVENTS_SECRET = "test-events-secret-for-the-suite-0123456789"


def pytest_configure(config):
    config.addinivalue_line("markers", "mysql: needs MariaDB/MySQL (skipped only under TEST_DATABASE=sqlite)")


def pytest_collection_modifyitems(config, items):
    if BACKEND != "sqlite":
        return
    skip = pytest.mark.skip(reason="TEST_DATABASE=sqlite: this test proves MySQL behaviour")
    for item in items:
        if "mysql" in item.keywords:
            item.add_marker(skip)


class ThrowawayMySQL:
    """Creates uniquely named databases on the MariaDB server and drops them."""

    def __init__(self, server_url: str):
        self.server_url = make_url(server_url)
        self.admin = create_engine(self.server_url.set(database=None), isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def create(self, prefix: str = "mentorship_test") -> str:
        name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as conn:
            conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"))
        self.created.append(name)
        url = self.server_url.set(database=name, query={"charset": "utf8mb4"})
        return url.render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        self.admin.dispose()


@pytest.fixture(scope="session")
def mysql_server():
    server = ThrowawayMySQL(MYSQL_SERVER_URL)
    try:
        with server.admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # pragma: no cover - the message is the point
        pytest.exit(f"MariaDB is not reachable at {MYSQL_SERVER_URL}: {exc}", returncode=3)
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def database_url(request, tmp_path_factory):
    """One migrated database for the whole run."""
    if BACKEND == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        url = request.getfixturevalue("mysql_server").create()
    engine = make_engine(url)
    migrate(engine, log=lambda *_: None)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def base_config(database_url, tmp_path_factory) -> Config:
    # Attachment files of the run go to a temporary directory, not the working dir's default.
    return Config(database_url=database_url, jwt_secret=TEST_SECRET, events_signing_secret=EVENTS_SECRET,
                  storage_url=f"file://{tmp_path_factory.mktemp('attachments')}")


@pytest.fixture
def config(base_config) -> Config:
    """A per-test copy: tests change fields freely."""
    return base_config.replace()


def _clean(engine) -> None:
    with engine.begin() as conn:
        if conn.dialect.name != "sqlite":
            # messages.parent_id points into its own table: row-by-row FK checks
            # would refuse to delete a parent before its replies.
            conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
        if conn.dialect.name != "sqlite":
            conn.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")


@pytest.fixture
def app(config):
    app = create_app(config)
    yield app
    with app.app_context():
        db.session.remove()
        _clean(db.engine)
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def live_server(app):
    """The app on a real TCP port (threaded), for tests that need real HTTP."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session


@pytest.fixture
def token(config):
    """token("student", 12) -> a JWT the app accepts."""

    def make(role: str, principal_id: int, **kwargs) -> str:
        return mint_token(config, role, principal_id, **kwargs)

    return make


@pytest.fixture
def auth(token):
    """auth("student", 12) -> headers for that principal."""

    def make(role: str, principal_id: int) -> dict:
        return {"Authorization": f"Bearer {token(role, principal_id)}"}

    return make


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3 API (moto's standalone server) on a free loopback port, for the whole run."""
    from tests.attachment_files import start_s3_server

    server, endpoint = start_s3_server()
    yield endpoint
    server.stop()


@pytest.fixture(params=["file", "s3"])
def storage_url(request, tmp_path):
    """Attachment tests run on both storages: a local directory and an S3 bucket of its own."""
    if request.param == "file":
        return f"file://{tmp_path / 'attachments'}"
    from tests.attachment_files import new_bucket

    return new_bucket(request.getfixturevalue("s3_endpoint"))


@pytest.fixture
def stored(app):
    """stored() -> the keys the app's attachment storage holds now."""
    from tests.attachment_files import stored_keys

    return lambda: stored_keys(app.extensions["storage"])
