"""Hand-made JWTs for refusal tests (API and gateway use the same ones)."""
from __future__ import annotations

import base64
import hashlib
import hmac
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


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _part(obj) -> str:
    return _b64(json.dumps(obj).encode())


def unsigned(payload: dict) -> str:
    """An `alg: none` token, built by hand as an attacker would."""
    return f"{_part({'alg': 'none', 'typ': 'JWT'})}.{_part(payload)}."


def hs256_by_hand(header: dict, payload: dict, secret: str = TEST_SECRET) -> str:
    """HMAC-SHA256 over any header and payload, which PyJWT's encode would refuse to build."""
    signing_input = f"{_part(header)}.{_part(payload)}"
    return f"{signing_input}.{_b64(hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest())}"
