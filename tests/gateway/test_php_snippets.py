"""The README's PHP files, copied out of the README and run with php-cli as
pasted, against a live API and gateway: minting a JWT the API accepts,
calling REST, publishing over HTTP and over Redis (channel v2, delivered to a
socket), and refusing to publish with an empty signing secret.

php-cli, php-curl and php-redis come from Debian (scripts/system-deps).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from tests.conftest import EVENTS_SECRET, TEST_SECRET
from tests.gateway.conftest import ROOT, SHARED_REDIS
from tests.gateway.helpers import Sock, run

# webhook_receiver.php is run by tests/worker/test_php_receiver.py.
FILES = ("mentorship_jwt.php", "call_api.php", "publish_http.php", "publish_redis.php", "webhook_receiver.php")


@pytest.fixture
def php_dir(tmp_path) -> Path:
    if shutil.which("php") is None:
        pytest.fail("php-cli is not installed (scripts/system-deps installs it)")
    readme = Path(ROOT, "README.md").read_text()
    blocks = dict(re.findall(r"```php\n(<\?php // (\S+\.php)\n.*?)```", readme, flags=re.DOTALL))
    found = {name: code for code, name in blocks.items()}
    assert sorted(found) == sorted(FILES)
    for name, code in found.items():
        (tmp_path / name).write_text(code)
    return tmp_path


def php(directory: Path, script: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    environ = {"PATH": os.environ["PATH"], **env}
    return subprocess.run(["php", script, *args], cwd=directory, env=environ, capture_output=True, text=True,
                          timeout=60)


def test_the_minted_jwt_is_accepted_by_the_api(php_dir, live_server):
    result = php(php_dir, "mentorship_jwt.php", "mentor", "21", JWT_SECRET=TEST_SECRET)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    me = requests.get(f"{live_server}/api/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert me.json() == {"role": "mentor", "id": 21}


def test_minting_refuses_a_short_secret(php_dir):
    result = php(php_dir, "mentorship_jwt.php", JWT_SECRET="short")
    assert result.returncode != 0
    assert "JWT_SECRET is unset or shorter than 32 bytes" in result.stderr + result.stdout


def test_rest_calls_and_the_error_shape(php_dir, live_server):
    result = php(php_dir, "call_api.php", JWT_SECRET=TEST_SECRET, MENTORSHIP_API=f"{live_server}/api/v1")
    assert result.returncode == 0, result.stderr
    me, conversations = (json.loads(line) for line in result.stdout.splitlines())
    assert me == {"role": "student", "id": 12}
    assert conversations["conversations"] == []
    # The same helper with a token signed by another secret: the error shape comes through.
    wrong = php(php_dir, "call_api.php", JWT_SECRET="x" * 40, MENTORSHIP_API=f"{live_server}/api/v1")
    assert wrong.returncode != 0
    assert "401 token_bad_signature" in wrong.stderr + wrong.stdout


def test_publishing_over_http_and_over_redis_reaches_the_socket(php_dir, gateways, live_server, channel, token):
    gateway = gateways()

    async def scenario():
        sock = await Sock(gateway.url).connect(token("student", 12))
        http = php(php_dir, "publish_http.php", JWT_SECRET=TEST_SECRET, MENTORSHIP_API=f"{live_server}/api/v1")
        assert http.returncode == 0, http.stderr
        logged_id = int(re.fullmatch(r"event (\d+) logged\n", http.stdout).group(1))
        paid = await sock.wait_for(lambda c: c.of("invoice:paid"), what="invoice:paid")
        assert (paid[0]["id"], paid[0]["data"]) == (logged_id, {"amount": 12})
        direct = php(php_dir, "publish_redis.php", "student:12", EVENTS_SIGNING_SECRET=EVENTS_SECRET,
                     REDIS_URL=SHARED_REDIS, EVENTS_CHANNEL=channel)
        assert direct.returncode == 0, direct.stderr
        assert direct.stdout.startswith("published to student:12, heard by ")
        notice = await sock.wait_for(lambda c: c.of("notice:created"), what="notice:created")
        assert notice[0]["data"] == {"text": "hi"} and notice[0]["id"] is None
        await sock.close()

    run(scenario())


def test_publishing_over_redis_refuses_an_empty_signing_secret(php_dir, channel):
    for env in ({}, {"EVENTS_SIGNING_SECRET": ""}):
        result = php(php_dir, "publish_redis.php", REDIS_URL=SHARED_REDIS, EVENTS_CHANNEL=channel, **env)
        assert result.returncode == 1
        assert result.stderr == "EVENTS_SIGNING_SECRET is not set: the gateways would drop every message\n"
