"""JWT refusal matrix, each case through a real HTTP request to /api/v1/me."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from api import create_app
from tests.jwt_forge import claims as _claims
from tests.jwt_forge import hs as _hs
from tests.jwt_forge import hs256_by_hand
from tests.jwt_forge import unsigned as _unsigned


def _get_me(live_server, http, token):
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return http.get(f"{live_server}/api/v1/me", headers=headers, timeout=10)


HS_CASES = [
    ("missing", lambda: None, "token_missing"),
    ("empty bearer", lambda: "", "token_missing"),
    ("malformed", lambda: "not-a-jwt", "token_malformed"),
    ("garbage segments", lambda: "aaa.bbb.ccc", "token_malformed"),
    ("bad signature", lambda: _hs(_claims(), secret="some-other-secret-of-enough-length"), "token_bad_signature"),
    ("alg none", lambda: _unsigned(_claims()), "token_alg_none"),
    ("alg not allowed", lambda: _hs(_claims(), alg="HS512"), "token_alg_not_allowed"),
    ("expired", lambda: _hs(_claims(exp=int(time.time()) - 120)), "token_expired"),
    ("not yet valid", lambda: _hs(_claims(nbf=int(time.time()) + 300)), "token_not_yet_valid"),
    ("issued in the future", lambda: _hs(_claims(iat=int(time.time()) + 300)), "token_not_yet_valid"),
    ("no exp", lambda: _hs(_claims(exp=None)), "token_exp_missing"),
    ("no role", lambda: _hs(_claims(role=None)), "token_role_missing"),
    ("unknown role", lambda: _hs(_claims(role="superuser")), "token_role_unknown"),
    ("non-integer id", lambda: _hs(_claims(sub="abc")), "token_id_invalid"),
    ("negative id", lambda: _hs(_claims(sub="-4")), "token_id_invalid"),
    ("missing id", lambda: _hs(_claims(sub=None)), "token_id_invalid"),
    ("id in Arabic-Indic digits", lambda: _hs(_claims(sub="\u0661\u0662")), "token_id_invalid"),
    ("id beyond the id columns", lambda: _hs(_claims(sub="99999999999999999999999")), "token_id_invalid"),
    ("id beyond INT as a number", lambda: _hs(_claims(sub=2**31)), "token_id_invalid"),
    ("exp as a string of digits", lambda: _hs(_claims(exp=str(int(time.time()) + 600))), "token_claim_invalid"),
    ("exp as 1e308", lambda: _hs(_claims(exp=1e308)), "token_claim_invalid"),
    ("exp as true", lambda: _hs(_claims(exp=True)), "token_claim_invalid"),
    ("exp as a word", lambda: _hs(_claims(exp="soon")), "token_claim_invalid"),
    ("exp as Infinity", lambda: _hs(_claims(exp=float("inf"))), "token_claim_invalid"),
    ("exp as a fraction", lambda: _hs(_claims(exp=time.time() + 600.5)), "token_claim_invalid"),
    ("nbf as a string", lambda: _hs(_claims(nbf="0")), "token_claim_invalid"),
    ("iat in Arabic-Indic digits", lambda: _hs(_claims(iat="\u0661\u0662")), "token_claim_invalid"),
    ("kid of the wrong type", lambda: hs256_by_hand({"alg": "HS256", "kid": {"a": 1}}, _claims()), "token_malformed"),
    ("crit of the wrong type", lambda: hs256_by_hand({"alg": "HS256", "crit": 7}, _claims()), "token_malformed"),
]


@pytest.mark.parametrize("name,make,code", HS_CASES, ids=[c[0] for c in HS_CASES])
def test_refusals_hs256(live_server, http, name, make, code):
    response = _get_me(live_server, http, make())
    assert response.status_code == 401
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_valid_token_names_the_principal(live_server, http):
    response = _get_me(live_server, http, _hs(_claims(sub="12", role="student")))
    assert response.status_code == 200
    assert response.json() == {"role": "student", "id": 12}


def test_integer_sub_is_accepted(live_server, http):
    # Some issuers put the id as a JSON number.
    response = _get_me(live_server, http, _hs(_claims(sub=7, role="mentor")))
    assert response.json() == {"role": "mentor", "id": 7}


def test_small_clock_skew_is_tolerated(live_server, http):
    response = _get_me(live_server, http, _hs(_claims(exp=int(time.time()) - 5)))
    assert response.status_code == 200


def test_non_bearer_scheme_is_missing(live_server, http):
    response = http.get(f"{live_server}/api/v1/me", headers={"Authorization": "Basic abc"}, timeout=10)
    assert response.json()["error"]["code"] == "token_missing"


@pytest.fixture
def server_with(config, tmp_path):
    """Start a live API with a changed config; yields its base URL."""
    import threading

    from werkzeug.serving import make_server

    servers = []

    def start(**changes):
        app = create_app(config.replace(**changes))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()


def test_issuer_and_audience(server_with, http):
    base = server_with(jwt_issuer="https://site.example", jwt_audience="mentorship")
    good = _hs(_claims(iss="https://site.example", aud="mentorship"))
    assert _get_me(base, http, good).status_code == 200
    cases = {
        "token_wrong_issuer": [
            _hs(_claims(iss="https://evil.example", aud="mentorship")),
            _hs(_claims(aud="mentorship")),
        ],
        "token_wrong_audience": [
            _hs(_claims(iss="https://site.example", aud="other")),
            _hs(_claims(iss="https://site.example")),
        ],
    }
    for code, tokens in cases.items():
        for token in tokens:
            response = _get_me(base, http, token)
            assert (response.status_code, response.json()["error"]["code"]) == (401, code)


def test_custom_claim_names(server_with, http):
    base = server_with(jwt_id_claim="user_id", jwt_role_claim="kind")
    token = _hs({"user_id": 44, "kind": "mentor", "exp": int(time.time()) + 60})
    assert _get_me(base, http, token).json() == {"role": "mentor", "id": 44}
    # The default names no longer count.
    assert _get_me(base, http, _hs(_claims())).json()["error"]["code"] == "token_role_missing"


def _pem_pair(private_key):
    private_pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


@pytest.mark.parametrize(
    "alg,make_key",
    [
        ("RS256", lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        ("ES256", lambda: ec.generate_private_key(ec.SECP256R1())),
    ],
)
def test_asymmetric_keys(server_with, http, tmp_path, alg, make_key):
    private_pem, public_pem = _pem_pair(make_key())
    key_file = tmp_path / "public.pem"
    key_file.write_text(public_pem)
    base = server_with(jwt_algorithms=[alg], jwt_public_key_file=str(key_file))

    good = jwt.encode(_claims(), private_pem, algorithm=alg)
    assert _get_me(base, http, good).json() == {"role": "student", "id": 12}

    other_private, _ = _pem_pair(make_key())
    forged = jwt.encode(_claims(), other_private, algorithm=alg)
    assert _get_me(base, http, forged).json()["error"]["code"] == "token_bad_signature"

    # Algorithm confusion: an HS256 token "signed" with the public key.
    confused = _forge_hs256_with(public_pem, _claims())
    assert _get_me(base, http, confused).json()["error"]["code"] == "token_alg_not_allowed"
    assert _get_me(base, http, _unsigned(_claims())).json()["error"]["code"] == "token_alg_none"


def _forge_hs256_with(secret: str, claims: dict) -> str:
    # PyJWT refuses to HMAC with a PEM key, so build the token by hand as an attacker would.
    import hashlib
    import hmac

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"
