"""Hand-made JWTs for refusal tests (API and gateway use the same ones)."""
from __future__ import annotations

import base64
import json
import time

import jwt

from tests.conftest import TEST_SECRET


def claims(**overrides) -> dict:
    """Valid student-12 claims; pass name=None to drop a claim."""
    now = int(time.time())
    result = {"sub": "12", "role": "student", "iat": now, "exp": now + 600}
    result.update(overrides)
    return {k: v for k, v in result.items() if v is not None}


def hs(payload: dict, secret: str = TEST_SECRET, alg: str = "HS256") -> str:
    return jwt.encode(payload, secret, algorithm=alg)


def unsigned(payload: dict) -> str:
    """An `alg: none` token, built by hand as an attacker would."""

    def b64(obj) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(payload)}."
