"""Several gateways on one host as the README's production section runs them:
`honcho start -c gateway=2` gives each its own PORT, and `scripts/nginx-conf`
writes the upstream list for them."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import requests

from tests.conftest import EVENTS_SECRET, TEST_SECRET
from tests.gateway.conftest import ROOT
from tests.gateway.helpers import eventually, run


def _free_base() -> int:
    """A base port whose +100 and +101 (the gateways' under honcho) are free."""
    for base in range(23000, 40000, 211):
        try:
            for port in (base + 100, base + 101):
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
            return base
        except OSError:
            continue
    raise RuntimeError("no free ports")


def test_honcho_runs_two_gateways_on_consecutive_ports_and_nginx_conf_lists_them(database_url, tmp_path):
    base = _free_base()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("GATEWAY_", "REDIS_"))}
    env.update(DATABASE_URL=database_url, JWT_SECRET=TEST_SECRET, EVENTS_SIGNING_SECRET=EVENTS_SECRET,
               PYTHONUNBUFFERED="1")
    # The Procfile says `python`: this interpreter's, as `source .venv/bin/activate` would give.
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    honcho = os.path.join(os.path.dirname(sys.executable), "honcho")
    proc = subprocess.Popen([honcho, "start", "-p", str(base), "-c", "api=0,gateway=2"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    ports = [base + 100, base + 101]
    try:
        def both_up():
            try:
                return all(requests.get(f"http://127.0.0.1:{p}/healthz", timeout=1).ok for p in ports)
            except requests.RequestException:
                return False

        run(eventually(both_up, timeout=30, what="two gateways from honcho"))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output = proc.communicate(timeout=20)[0].decode(errors="replace")
    assert "gateway.1" in output and "gateway.2" in output, output
    rendered = subprocess.run(
        [os.path.join(ROOT, "scripts", "nginx-conf")], capture_output=True, text=True, check=True, timeout=30,
        env={**os.environ, "NGINX_GATEWAYS": "2", "NGINX_GATEWAY_PORT": str(base + 100)},
    ).stdout
    upstreams = [line.strip() for line in rendered.splitlines() if line.strip().endswith("# @gateway-upstreams")]
    assert upstreams == [f"server 127.0.0.1:{port};  # @gateway-upstreams" for port in ports]
