"""JWT verification shared by the API and the gateway.

Tokens come from the existing PHP site, so claim names and algorithms are
configurable. Every refusal carries a distinct machine-readable `code` that
the API returns as a 401 body and the gateway as `connect_error` data.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import jwt

from shared.config import ROLES, Config

log = logging.getLogger(__name__)

# Principal ids are the site's user ids, stored in INT columns.
MAX_PRINCIPAL_ID = 2**31 - 1
# Time claims are whole seconds up to the end of year 9999; beyond that no
# issuer means it, and the datetime arithmetic downstream would overflow.
MAX_TIMESTAMP = 253402300799
TIME_CLAIMS = ("exp", "nbf", "iat")


@dataclass(frozen=True, order=True)
class Principal:
    role: str
    id: int

    def as_dict(self) -> dict:
        return {"role": self.role, "id": self.id}

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def __str__(self) -> str:
        return f"{self.role}:{self.id}"


class AuthError(Exception):
    """A token was refused; `code` is stable, `message` is for humans."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# PyJWT exception -> (code, message). Order matters: subclasses first.
_PYJWT_ERRORS: list[tuple[type[Exception], str, str]] = [
    (jwt.InvalidIssuerError, "token_wrong_issuer", "token issuer is not accepted"),
    (jwt.InvalidAudienceError, "token_wrong_audience", "token audience is not accepted"),
    (jwt.InvalidSignatureError, "token_bad_signature", "token signature does not verify"),
    (jwt.InvalidAlgorithmError, "token_alg_not_allowed", "token algorithm is not allowed"),
    (jwt.DecodeError, "token_malformed", "token is not a well-formed JWT"),
]


def _key_for(config: Config, alg: str) -> str:
    if alg.startswith("HS"):
        return config.jwt_secret
    key = config.jwt_public_key
    if key is None:
        raise AuthError("token_alg_not_allowed", f"algorithm {alg} needs a public key that is not configured")
    return key


def _check_header(token: str, config: Config) -> str:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:  # DecodeError, and a kid/crit of the wrong type
        raise AuthError("token_malformed", "token is not a well-formed JWT") from None
    alg = header.get("alg")
    if not isinstance(alg, str) or alg.lower() == "none":
        raise AuthError("token_alg_none", "unsigned tokens (alg: none) are refused")
    if alg not in config.jwt_algorithms:
        raise AuthError(
            "token_alg_not_allowed",
            f"algorithm {alg} is not allowed (allowed: {', '.join(config.jwt_algorithms)})",
        )
    return alg


def _decode(token: str, config: Config, alg: str) -> dict:
    try:
        return jwt.decode(
            token,
            _key_for(config, alg),
            algorithms=config.jwt_algorithms,
            leeway=config.jwt_leeway,
            issuer=config.jwt_issuer,
            audience=config.jwt_audience,
            # _principal checks the id claim (some issuers send an int) and
            # _check_times the time claims, which PyJWT would take as int(value).
            options={
                "require": ["exp"],
                "verify_aud": bool(config.jwt_audience),
                "verify_sub": False,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.MissingRequiredClaimError as exc:
        if exc.claim == "exp":
            raise AuthError("token_exp_missing", "token has no exp claim") from None
        if exc.claim == "iss":
            raise AuthError("token_wrong_issuer", "token has no issuer") from None
        if exc.claim == "aud":
            raise AuthError("token_wrong_audience", "token has no audience") from None
        raise AuthError("token_invalid", f"token lacks the {exc.claim} claim") from None
    except jwt.InvalidTokenError as exc:
        for kind, code, message in _PYJWT_ERRORS:
            if isinstance(exc, kind):
                raise AuthError(code, message) from None
        raise AuthError("token_invalid", "token is invalid") from None


def _check_times(claims: dict, leeway: int) -> None:
    """`exp`, `nbf` and `iat` as NumericDate whole seconds (PyJWT would take
    "123", 1e308 or true through int()), then checked against the clock."""
    for name in TIME_CLAIMS:
        value = claims.get(name, 0)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TIMESTAMP:
            raise AuthError("token_claim_invalid", f"token {name} claim must be whole seconds since 1970")
    now = time.time()
    if claims["exp"] <= now - leeway:
        raise AuthError("token_expired", "token has expired")
    if claims.get("nbf", 0) > now + leeway or claims.get("iat", 0) > now + leeway:
        raise AuthError("token_not_yet_valid", "token is not valid yet (nbf/iat in the future)")


def _principal(claims: dict, config: Config) -> Principal:
    role = claims.get(config.jwt_role_claim)
    if role is None:
        raise AuthError("token_role_missing", f"token has no {config.jwt_role_claim} claim")
    if role not in ROLES:
        raise AuthError("token_role_unknown", f"role {role!r} is not one of {', '.join(ROLES)}")
    raw_id = claims.get(config.jwt_id_claim)
    if isinstance(raw_id, bool) or raw_id is None:
        raise AuthError("token_id_invalid", f"token {config.jwt_id_claim} claim must be a positive integer")
    # ASCII digits only: str.isdigit() and int() also take other scripts'
    # digits ("١٢" is 12), which would name another user.
    if isinstance(raw_id, str) and raw_id.isascii() and raw_id.isdigit() and len(raw_id) <= 10:
        raw_id = int(raw_id)
    if not isinstance(raw_id, int) or not 0 < raw_id <= MAX_PRINCIPAL_ID:
        raise AuthError("token_id_invalid", f"token {config.jwt_id_claim} claim must be a positive integer")
    return Principal(role, raw_id)


def verify_token(token: str | None, config: Config) -> tuple[Principal, dict]:
    """Verify a JWT and return the principal with the verified claims."""
    if not token:
        raise AuthError("token_missing", "no token was given")
    try:
        alg = _check_header(token, config)
        claims = _decode(token, config, alg)
        _check_times(claims, config.jwt_leeway)
        return _principal(claims, config), claims
    except AuthError:
        raise
    except Exception:  # whatever a hostile token makes the JWT library raise is still a refusal
        log.warning("token refused by an unexpected error in verification", exc_info=True)
        raise AuthError("token_invalid", "token is invalid") from None


def bearer_token(header_value: str | None) -> str | None:
    """The token from an `Authorization: Bearer <token>` header, if any."""
    if not header_value:
        return None
    scheme, _, value = header_value.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def mint_token(
    config: Config,
    role: str,
    principal_id: int,
    ttl: int = 3600,
    private_key: str | None = None,
    **extra: Any,
) -> str:
    """Sign a development token the way the existing site would."""
    now = int(time.time())
    claims = {config.jwt_id_claim: str(principal_id), config.jwt_role_claim: role, "iat": now, "exp": now + ttl}
    if config.jwt_issuer:
        claims["iss"] = config.jwt_issuer
    if config.jwt_audience:
        claims["aud"] = config.jwt_audience
    claims.update(extra)
    alg = config.jwt_algorithms[0]
    key = private_key if not alg.startswith("HS") else config.jwt_secret
    if key is None:
        raise ValueError(f"{alg} needs a private key to mint tokens")
    return jwt.encode(claims, key, algorithm=alg)
