"""The README's quick start, run as a newcomer would: `scripts/run` on the
embedded default, then terminal 2's lines as written, until the student's
socket prints the mentor's message. Only the ports differ (free ones, so a
running dev instance is not disturbed), and one wait for "connected"
stands in for the newcomer reading their screen."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import requests

from tests.gateway.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent


def quick_start_lines() -> list[str]:
    section = (ROOT / "README.md").read_text().split("## Quick start", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def wait_for(text: str, path: Path) -> str:
    """A bounded shell wait until `text` shows up in `path`."""
    return f"for _ in $(seq 150); do grep -q {text} {path} 2>/dev/null && break; sleep 0.1; done"


def wait_until_up(url: str, process: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer:\n{log.read_text()[-3000:]}")


def test_the_quick_start_works_as_written(tmp_path):
    lines = quick_start_lines()
    assert lines[0].startswith("scripts/run"), lines[0]
    api_port, gateway_port = free_port(), free_port()
    ours = ("DATABASE_", "REDIS_", "JWT_", "EVENTS_", "GATEWAY_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path}/quickstart.db", API_PORT=str(api_port),
               GATEWAY_PORT=str(gateway_port), PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "metrics"))
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        run = subprocess.Popen(["bash", "scripts/run"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        wait_until_up(f"http://127.0.0.1:{api_port}/healthz", run, log)
        wait_until_up(f"http://127.0.0.1:{gateway_port}/healthz", run, log)
        printed = log.read_text()
        assert f"http://127.0.0.1:{api_port}/api/v1" in printed and "Mentor 1 token" in printed
        assert "Student 2 token" in printed
        script = "\n".join(lines[1:])
        script = script.replace(":5000", f":{api_port}").replace(":8000", f":{gateway_port}")
        # The listener in the background writes to a file; go on once it has connected.
        out = tmp_path / "node.out"
        script = re.sub(r"\)' &(.*)\n", lambda _: f")' > {out} &\n{wait_for('connected', out)}\n", script)
        script += f"\n{wait_for('message:created', out)}\ncat {out}\nkill %1\n"
        done = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert '{"role":"student","id":2}' in done.stdout, done.stdout + done.stderr
        expected = r'message:created \{"id":1,"conversation_id":1,"sender":\{"role":"mentor","id":1\},"body":"hello"'
        assert re.search(expected, done.stdout), done.stdout + done.stderr
    finally:
        os.killpg(run.pid, signal.SIGINT)
        try:
            run.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait(timeout=5)
