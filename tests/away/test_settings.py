"""The settings of reaching people who are away, the VAPID key command, and the outbound URL rule."""
from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys

import pytest

from shared import vapid
from shared.config import Config, ConfigError
from shared.outbound import PUSH_SCHEMES, OutboundRefused, check_destination, check_url
from tests.gateway.conftest import ROOT


def test_python_m_shared_vapid_writes_a_private_key_once(tmp_path):
    path = tmp_path / "vapid.pem"
    made = subprocess.run([sys.executable, "-m", "shared.vapid", "--out", str(path)], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    assert f"public key: {vapid.public_key(vapid.load(str(path)))}" in made.stdout
    again = subprocess.run([sys.executable, "-m", "shared.vapid", "--out", str(path)], cwd=ROOT, capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 1 and "not overwriting" in again.stderr


def test_the_defaults_leave_push_and_email_off():
    config = Config.from_env({})
    assert (config.vapid_private_key_file, config.smtp_url, config.outbound_allow_private) == (None, None, False)
    assert (config.digest_after_minutes, config.email_address_source) == (30, "claim:email")


@pytest.mark.parametrize("env, name", [
    ({"VAPID_PRIVATE_KEY_FILE": "/nonexistent.pem"}, "VAPID_PRIVATE_KEY_FILE"),
    ({"SMTP_URL": "http://mail.example.org", "MAIL_FROM": "a@example.org"}, "SMTP_URL"),
    ({"SMTP_URL": "smtp://mail.example.org"}, "MAIL_FROM"),
    ({"EMAIL_ADDRESS_SOURCE": "guess"}, "EMAIL_ADDRESS_SOURCE"),
    ({"EMAIL_ADDRESS_SOURCE": "claim:"}, "EMAIL_ADDRESS_SOURCE"),
    ({"DIGEST_AFTER_MINUTES": "0"}, "DIGEST_AFTER_MINUTES"),
    ({"OUTBOUND_ALLOW_PRIVATE": "maybe"}, "OUTBOUND_ALLOW_PRIVATE"),
    ({"PUBLIC_API_URL": "api.example.org"}, "PUBLIC_API_URL"),
])
def test_a_wrong_value_names_its_variable(env, name):
    with pytest.raises(ConfigError, match=name):
        Config.from_env(env)


def test_push_needs_a_contact(tmp_path):
    key = str(tmp_path / "k.pem")
    vapid.write_new(key)
    with pytest.raises(ConfigError, match="VAPID_SUBJECT"):
        Config.from_env({"VAPID_PRIVATE_KEY_FILE": key})
    config = Config.from_env({"VAPID_PRIVATE_KEY_FILE": key, "VAPID_SUBJECT": "mailto:ops@example.org"})
    assert config.vapid_private_key_file == key


@pytest.mark.parametrize("url", ["https://localhost/x", "https://127.0.0.1/x", "https://[::1]/x",
                                 "https://192.168.1.1/x", "https://100.64.0.1/x", "https://224.0.0.1/x",
                                 "https://0.0.0.0/x"])
def test_loopback_private_and_special_addresses_are_refused(url):
    with pytest.raises(OutboundRefused):
        check_destination(url, False, PUSH_SCHEMES, allow_credentials=False)
    check_url(url.replace("https", "http"), True, PUSH_SCHEMES, allow_credentials=False)  # tests and on-premise


def test_a_name_that_resolves_inside_is_refused_at_send_time():
    host = socket.gethostname()  # this machine's own name: an address of its own, never a public one
    internal = any(not ipaddress.ip_address(info[4][0]).is_global for info in socket.getaddrinfo(host, 443))
    assert internal
    with pytest.raises(OutboundRefused, match="private"):
        check_destination(f"https://{host}/x", False, PUSH_SCHEMES)
    check_url(f"https://{host}/x", False, PUSH_SCHEMES)  # registration: not looked up
    with pytest.raises(OutboundRefused, match="localhost"):
        check_url("https://localhost./x", False, PUSH_SCHEMES)


def test_a_public_address_passes():
    check_destination("https://8.8.8.8/push", False, PUSH_SCHEMES)
    with pytest.raises(OutboundRefused):
        check_url("http://8.8.8.8/push", False, PUSH_SCHEMES)  # push endpoints are https
