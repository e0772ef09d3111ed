"""/docs renders with no network: Swagger UI's files come from the API itself
(swagger-ui-bundle), checked in headless Chromium with every request that
leaves loopback refused. The screenshot lands in test-artifacts/docs.png."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
JS_DIR = os.path.join(ROOT, "tests", "js")
ARTIFACTS = os.path.join(ROOT, "test-artifacts")


def test_the_docs_page_references_only_its_own_assets(live_server):
    page = requests.get(f"{live_server}/docs", timeout=10).text
    assert "cdn." not in page and "https://" not in page
    for asset in ("swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js"):
        assert f"/docs/assets/{asset}" in page
        assert requests.get(f"{live_server}/docs/assets/{asset}", timeout=10).status_code == 200
    assert requests.get(f"{live_server}/docs/assets/index.j2", timeout=10).status_code == 404


def test_swagger_ui_renders_the_operations_offline_in_chromium(live_server):
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.fail("chromium is not installed (scripts/system-deps installs it)")
    os.makedirs(ARTIFACTS, exist_ok=True)
    shot = os.path.join(ARTIFACTS, "docs.png")
    options = {"url": f"{live_server}/docs", "screenshot": shot, "chromium": chromium}
    result = subprocess.run(["node", "docs_browser.js", json.dumps(options)], cwd=JS_DIR, capture_output=True,
                            text=True, timeout=120)
    lines = result.stdout.strip().splitlines()
    assert lines, f"docs_browser.js printed nothing (exit {result.returncode}): {result.stderr[-2000:]}"
    outcome = json.loads(lines[-1])
    assert outcome["ok"], (outcome, result.stderr[-2000:])
    assert outcome["refused"] == []
    assert "/api/v1/conversations" in outcome["operations"]
    assert "/api/v1/me" in outcome["operations"]
    assert os.path.getsize(shot) > 10_000
    print(f"screenshot: {shot}")
