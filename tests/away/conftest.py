"""Fixtures for reaching people who are away: a VAPID key, the loopback push
service, SMTP servers, and rows made straight in the database."""
from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller

from api.extensions import db
from shared import vapid
from tests.away.servers import HangUpMidData, Inbox, PushService
from tests.gateway.conftest import free_port

SUBJECT = "mailto:ops@example.org"


@pytest.fixture(scope="session")
def vapid_file(tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp("vapid") / "vapid.pem")
    vapid.write_new(path)
    return path


@pytest.fixture
def config(base_config, vapid_file):
    return base_config.replace(vapid_private_key_file=vapid_file, vapid_subject=SUBJECT,
                               mail_from="Mentorship <noreply@example.org>", public_api_url="http://127.0.0.1:5000")


@pytest.fixture(scope="module")
def push_service():
    service = PushService().start()
    yield service
    service.stop()


def _smtp(handler) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller


@pytest.fixture
def smtp():
    """A real SMTP server on loopback: (url, inbox)."""
    inbox = Inbox()
    controller = _smtp(inbox)
    yield f"smtp://127.0.0.1:{controller.port}", inbox
    controller.stop()


@pytest.fixture
def refusing_smtp():
    """refusing_smtp("550 5.1.1 no such user") -> the URL of a server answering RCPT so."""
    controllers = []

    def make(line: str) -> str:
        controllers.append(_smtp(Inbox(refuse_rcpt=line)))
        return f"smtp://127.0.0.1:{controllers[-1].port}"

    yield make
    for controller in controllers:
        controller.stop()


@pytest.fixture
def hangup_smtp():
    server = HangUpMidData()
    yield server
    server.close()


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on."""
    return free_port()


@pytest.fixture
def session(app):
    """A plain SQLAlchemy session on the test database, as the worker has."""
    with app.app_context():
        yield db.session
        db.session.rollback()
