"""The README's PHP receiver, copied out of the README and served by
`php -S`, verifies real deliveries from the worker and refuses forged ones."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time

import pytest
import requests

from tests.worker.conftest import ROOT, free_port, wait_until


class PhpReceiver:
    def __init__(self, directory):
        self.directory, self.log = directory, directory / "webhooks.log"
        self.url = f"http://127.0.0.1:{free_port()}/"
        self.process: subprocess.Popen | None = None

    def start(self, secret: str) -> None:
        """Serve it (php -S reads WEBHOOK_SECRET at start, so after registration)."""
        env = {"PATH": os.environ["PATH"], "WEBHOOK_SECRET": secret, "WEBHOOK_LOG": str(self.log)}
        self.process = subprocess.Popen(["php", "-S", self.url[7:-1], "webhook_receiver.php"], cwd=self.directory,
                                        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._answers, what="php -S")

    def _answers(self) -> bool:
        try:
            return requests.get(self.url, timeout=1).status_code > 0
        except requests.ConnectionError:
            return False

    def verified(self) -> list[dict]:
        return [json.loads(line) for line in self.log.read_text().splitlines()] if self.log.exists() else []


@pytest.fixture
def php_receiver(tmp_path):
    if shutil.which("php") is None:
        pytest.fail("php-cli is not installed (scripts/system-deps installs it)")
    readme = open(os.path.join(ROOT, "README.md")).read()
    (code,) = re.findall(r"```php\n(<\?php // webhook_receiver\.php\n.*?)```", readme, flags=re.DOTALL)
    (tmp_path / "webhook_receiver.php").write_text(code)
    receiver = PhpReceiver(tmp_path)
    yield receiver
    if receiver.process:
        receiver.process.terminate()
        receiver.process.wait(10)


def test_the_php_receiver_verifies_real_deliveries(client, admin, publish, php_receiver, workers):
    hook = client.post("/api/v1/webhooks", json={"url": php_receiver.url, "types": ["invoice:paid"]},
                       headers=admin).get_json()
    php_receiver.start(hook["secret"])
    workers()
    ids = publish(3, "invoice:paid")
    wait_until(lambda: len(php_receiver.verified()) == 3, what="three verified deliveries")
    assert sorted(int(e["id"]) for e in php_receiver.verified()) == ids  # sent in parallel: any order
    assert {e["type"] for e in php_receiver.verified()} == {"invoice:paid"}
    assert {e["data"]["n"] for e in php_receiver.verified()} == {0, 1, 2}
    url = f"/api/v1/webhooks/{hook['id']}/deliveries?status=sent"
    wait_until(lambda: len(client.get(url, headers=admin).get_json()["deliveries"]) == 3, what="recorded as sent")
    assert {d["last_status_code"] for d in client.get(url, headers=admin).get_json()["deliveries"]} == {204}


def test_the_php_receiver_refuses_a_forged_signature(client, admin, php_receiver):
    hook = client.post("/api/v1/webhooks", json={"url": php_receiver.url, "types": ["*"]}, headers=admin).get_json()
    php_receiver.start(hook["secret"])
    headers = {"webhook-id": "1", "webhook-timestamp": str(int(time.time())),
               "webhook-signature": "v1,bm90IHRoZSBzaWduYXR1cmU="}
    forged = requests.post(php_receiver.url, data='{"id":1,"type":"a:b","data":{}}', headers=headers, timeout=5)
    assert forged.status_code == 401
    stale = requests.post(php_receiver.url, data="{}", headers={**headers, "webhook-timestamp": "1000"}, timeout=5)
    assert stale.status_code == 400
    assert php_receiver.verified() == []
