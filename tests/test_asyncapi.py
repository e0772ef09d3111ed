"""The AsyncAPI document (docs/asyncapi.json, served by the gateway): current
with the code, valid for the official parser, and naming every event type the
API records."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from api import asyncapi

ROOT = Path(__file__).resolve().parent.parent
JS_DIR = ROOT / "tests" / "js"
# Event types in the API's code: literals handed to record/announce/... and the relationship verbs.
LITERAL = re.compile(r'"([a-z]+:[a-z_]+)"')


def _validate(path: Path) -> dict:
    result = subprocess.run(["node", "asyncapi_validate.js", str(path)], cwd=JS_DIR, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_committed_document_is_what_the_code_generates():
    committed = json.loads((ROOT / "docs" / "asyncapi.json").read_text())
    assert committed == json.loads(json.dumps(asyncapi.document())), (
        "docs/asyncapi.json is stale: run `python -m api.asyncapi > docs/asyncapi.json`"
    )


def test_the_official_parser_accepts_it_and_refuses_a_broken_one(tmp_path):
    outcome = _validate(ROOT / "docs" / "asyncapi.json")
    assert outcome["ok"], outcome["errors"]
    assert {"message:created", "sync", "sync ack", "presence", "batch"} <= set(outcome["names"])
    broken = asyncapi.document()
    broken["operations"]["deliver"]["action"] = "shout"
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    assert not _validate(tmp_path / "broken.json")["ok"]


def test_every_event_type_the_api_records_is_documented():
    documented = {event.name for event in asyncapi.SERVER_EVENTS}
    recorded = set()
    for path in (ROOT / "api").rglob("*.py"):
        source = path.read_text()
        for call in re.finditer(r"(?:record|room_event|personal_event|announce|_announce|_membership_event)\(", source):
            recorded |= set(LITERAL.findall(source[call.end():call.end() + 200].split("\n\n")[0]))
    recorded |= {f"relationship:{verb}" for verb in ("accepted", "declined", "cancelled", "ended")}
    assert recorded, "found no event types: the scan is broken"
    assert recorded - documented == set()

