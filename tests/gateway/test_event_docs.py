"""The gateway serves the AsyncAPI document (docs/asyncapi.json) at /asyncapi.json."""
from __future__ import annotations

import json
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_gateway_serves_the_asyncapi_document(module_gateway):
    served = requests.get(module_gateway.url + "/asyncapi.json", timeout=10)
    assert served.status_code == 200 and served.headers["Content-Type"].startswith("application/json")
    assert served.json() == json.loads((ROOT / "docs" / "asyncapi.json").read_text())
    assert served.json()["asyncapi"] == "3.0.0"
