"""Property: whatever the Authorization header holds, /api/v1/me answers 200
for the token's own principal or 401 with one of the codes the README lists."""
from __future__ import annotations

import re
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import TEST_SECRET
from tests.jwt_forge import hs256_by_hand

README = Path(__file__).resolve().parent.parent / "README.md"


def documented_codes() -> set[str]:
    """The refusal codes in the first column of the README's Authentication table."""
    section = README.read_text().split("## Authentication", 1)[1].split("\n## ", 1)[0]
    codes: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `token_"):
            codes.update(re.findall(r"`(token_[a-z_]+)`", line.split("|")[1]))
    return codes


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.sampled_from([2**31 - 1, 2**31, 2**63, 1e308, "12", "\u0661\u0662", "１２", " 12", "12\n", "-1", "0"])
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3),
    max_leaves=6,
)
MISSING = object()


def claim(plausible):
    return st.one_of(st.just(MISSING), plausible, json_values)


now = int(time.time())
claims_strategy = st.fixed_dictionaries(
    {
        "sub": claim(st.integers(1, 50).map(str)),
        "role": claim(st.sampled_from(["mentor", "student", "admin", "service"])),
        "exp": claim(st.integers(now - 100, now + 10_000)),
        "nbf": claim(st.integers(now - 10_000, now + 100)),
        "iat": claim(st.integers(now - 10_000, now + 100)),
    }
)
headers_strategy = st.fixed_dictionaries(
    {
        "alg": claim(st.sampled_from(["HS256", "HS512", "none", "RS256", "ES256"])),
        "typ": claim(st.just("JWT")),
        "kid": claim(st.text(max_size=5)),
        "crit": st.one_of(st.just(MISSING), json_values),
    }
)
latin1_text = st.text(st.characters(max_codepoint=255, exclude_characters="\r\n"), max_size=60)


def drop_missing(obj: dict) -> dict:
    return {k: v for k, v in obj.items() if v is not MISSING}


def assert_answer(response, claims=None):
    assert response.status_code in (200, 401), (response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_json()
    if response.status_code == 401:
        assert body["error"]["code"] in documented_codes(), body
        assert body["error"]["message"]
    else:
        assert claims is not None, "only a token signed with the suite's secret may pass"
        assert body == {"role": claims["role"], "id": int(claims["sub"])}


FUZZ = settings(
    max_examples=250, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def test_readme_lists_the_codes_verification_uses():
    source = (README.parent / "shared" / "auth.py").read_text()
    used = set(re.findall(r'"(token_[a-z_]+)"', source))
    assert used and used <= documented_codes(), used - documented_codes()


@FUZZ
@given(header=headers_strategy, claims=claims_strategy, secret=st.sampled_from([TEST_SECRET, "another-secret-" * 3]))
def test_any_signed_token_is_accepted_for_its_principal_or_refused_with_a_code(client, header, claims, secret):
    token = hs256_by_hand(drop_missing(header), drop_missing(claims), secret)
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert_answer(response, claims if secret == TEST_SECRET else None)


@FUZZ
@given(
    value=st.one_of(
        latin1_text,
        latin1_text.map(lambda s: "Bearer " + s),
        st.lists(latin1_text, min_size=3, max_size=3).map(lambda parts: "Bearer " + ".".join(parts)),
    )
)
def test_any_authorization_header_is_refused_with_a_code(client, value):
    assert_answer(client.get("/api/v1/me", headers={"Authorization": value}))
