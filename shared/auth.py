"""JWT verification shared by the API and the gateway.

Tokens come from the existing PHP site, so claim names and algorithms are
configurable. Every refusal carries a distinct machine-readable `code` that
the API returns as a 401 body and the gateway as `connect_error` data.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt

from shared.config import ROLES, Config


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
    (jwt.ExpiredSignatureError, "token_expired", "token has expired"),
    (jwt.ImmatureSignatureError, "token_not_yet_valid", "token is not valid yet (nbf/iat in the future)"),
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
    except jwt.DecodeError:
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
            # Our own _principal checks the id claim, which some issuers send as an int.
            options={"require": ["exp"], "verify_aud": bool(config.jwt_audience), "verify_sub": False},
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


def _principal(claims: dict, config: Config) -> Principal:
    role = claims.get(config.jwt_role_claim)
    if role is None:
        raise AuthError("token_role_missing", f"token has no {config.jwt_role_claim} claim")
    if role not in ROLES:
        raise AuthError("token_role_unknown", f"role {role!r} is not one of {', '.join(ROLES)}")
    raw_id = claims.get(config.jwt_id_claim)
    if isinstance(raw_id, bool) or raw_id is None:
        raise AuthError("token_id_invalid", f"token {config.jwt_id_claim} claim must be a positive integer")
    if isinstance(raw_id, str) and raw_id.isdigit():
        raw_id = int(raw_id)
    if not isinstance(raw_id, int) or raw_id <= 0:
        raise AuthError("token_id_invalid", f"token {config.jwt_id_claim} claim must be a positive integer")
    return Principal(role, raw_id)


def verify_token(token: str | None, config: Config) -> tuple[Principal, dict]:
    """Verify a JWT and return the principal with the verified claims."""
    if not token:
        raise AuthError("token_missing", "no token was given")
    alg = _check_header(token, config)
    claims = _decode(token, config, alg)
    return _principal(claims, config), claims


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
