"""The `name==version` pins of requirements.txt, which the fast paths' tested-version tables must equal."""
from __future__ import annotations

import re
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parent.parent / "requirements.txt"


def requirement_pins() -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        found = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;\\#]+)", line)
        if found:
            pins[found[1].lower().replace("_", "-")] = found[2]
    return pins
