"""One configuration class for both processes, read from the environment.

`Config.from_env()` validates everything at start so a mistake stops the
process with one clear line naming the variable, instead of failing later on
the first request. Tests build a Config with keyword overrides.
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Mapping

from sqlalchemy.engine import make_url

DEV_JWT_SECRET = "dev-insecure-jwt-secret-change-me"
DEFAULT_SQLITE_URL = "sqlite:///mentorship.db"
SUPPORTED_ALGORITHMS = ("HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512")
ROLES = ("mentor", "student", "admin", "service")
# Shortest HMAC secret accepted in production (RFC 7518 3.2: at least the hash size, 256 bits).
MIN_SECRET_BYTES = 32
# Read outside Config.from_env (gunicorn_conf, logging, the test suite): known, not misspelled.
OTHER_VARIABLES = frozenset({
    "API_HOST", "API_WORKERS", "API_CONTROL_SOCKET", "API_THREADS", "API_JSON_SERVER_ERRORS", "LOG_FORMAT", "LOG_LEVEL",
    "TEST_DATABASE", "TEST_MYSQL_URL", "PORT",
})
# What an attachment may be (sniffed from its content), by group; ATTACHMENT_TYPES
# names groups or single types. Office documents: OOXML and OpenDocument, not
# the legacy binary formats, nor macro-enabled ones (api/messaging/file_checks.py).
ATTACHMENT_TYPE_GROUPS = {
    "images": ("image/jpeg", "image/png", "image/gif", "image/webp"),
    "pdf": ("application/pdf",),
    "text": ("text/plain",),
    "office": (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
    ),
}
ALL_ATTACHMENT_TYPES = tuple(t for group in ATTACHMENT_TYPE_GROUPS.values() for t in group)
DEFAULT_STORAGE_URL = "file://./attachments"


class ConfigError(ValueError):
    """A configuration value is wrong; the message names the variable."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    value = _int(env, name, default)
    if not 0 < value < 65536:
        raise ConfigError(f"{name} must be a TCP port (1-65535), got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not value >= minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ConfigError(f"{name} must be 1 or 0 (true/false, yes/no, on/off), got {raw!r}")


def _delays(env: Mapping[str, str], name: str) -> list[float]:
    """A comma list of seconds, e.g. `5,300,1800`; empty or unset = the default schedule."""
    raw = _list(env.get(name))
    if not raw:
        return Config().webhook_retry_seconds
    try:
        delays = [float(part) for part in raw]
    except ValueError:
        raise ConfigError(f"{name} must be a comma list of seconds, got {env.get(name)!r}") from None
    if len(delays) > 50 or not all(0 <= delay <= 7 * 86400 for delay in delays):
        raise ConfigError(f"{name}: at most 50 delays, each from 0 to 604800 seconds")
    return delays


class _ReadTracker(dict[str, str]):
    """The environment, remembering which names were asked for: what is left
    over with a known prefix is a misspelling to warn about."""

    def __init__(self, env: Mapping[str, str]):
        super().__init__(env)
        self.asked: set[str] = set()

    def get(self, key: str, default: Any = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self.asked.add(key)
        return super().__contains__(key)


def _unknown_variables(env: _ReadTracker) -> list[str]:
    """A warning per variable that looks like one of ours (same first word) but is not."""
    known = env.asked | OTHER_VARIABLES
    prefixes = tuple({name.split("_", 1)[0] + "_" for name in known if "_" in name})
    lines = []
    for name in sorted(set(env) - known):
        if name.startswith(prefixes):
            nearest = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f" (did you mean {nearest[0]}?)" if nearest else ""
            lines.append(f"unknown variable {name} ignored{hint}")
    return lines


def _list(raw: str | None) -> list[str]:
    return [part.strip() for part in (raw or "").split(",") if part.strip()]


def _cluster_nodes(raw: str | None) -> list[tuple[str, int]]:
    """`host:port,host:port,...`: where a Redis Cluster can be reached (any
    few of its nodes; the rest are learnt from them)."""
    nodes = []
    for part in _list(raw):
        host, _, port = part.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"REDIS_CLUSTER_NODES must be a comma list of host:port, got {part!r}")
        nodes.append((host.strip("[]"), int(port)))
    return nodes


def _minutes(env: Mapping[str, str], name: str, default: list[int]) -> list[int]:
    """A comma list of distinct whole minutes, 1 to 10080 (a week), largest first."""
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return list(default)
    parts = _list(raw)
    if not all(part.isascii() and part.isdigit() and 1 <= int(part) <= 10080 for part in parts):
        raise ConfigError(f"{name} must be a comma list of minutes from 1 to 10080, got {raw!r}")
    values = [int(part) for part in parts]
    if len(set(values)) != len(values):
        raise ConfigError(f"{name} lists a value twice: {raw!r}")
    return sorted(values, reverse=True)
def _attachment_types(raw: str | None) -> list[str]:
    names = _list(raw)
    if not names:
        return list(ALL_ATTACHMENT_TYPES)
    types: list[str] = []
    for name in names:
        if name not in ATTACHMENT_TYPE_GROUPS and name not in ALL_ATTACHMENT_TYPES:
            raise ConfigError(
                f"ATTACHMENT_TYPES: unknown type {name!r} (groups: {', '.join(ATTACHMENT_TYPE_GROUPS)},"
                f" or one of: {', '.join(ALL_ATTACHMENT_TYPES)})"
            )
        types += [t for t in ATTACHMENT_TYPE_GROUPS.get(name, (name,)) if t not in types]
    return types


def _storage_url(raw: str | None) -> str:
    url = raw or DEFAULT_STORAGE_URL
    if url.startswith("file://") and len(url) > len("file://"):
        return url
    if url.startswith("s3://") and url[len("s3://"):].split("?")[0].rpartition("@")[2].strip("/"):
        return url
    raise ConfigError(f"STORAGE_URL must be file:///path or s3://bucket?endpoint=...&region=..., got {url!r}")


@dataclass
class Config:
    database_url: str = DEFAULT_SQLITE_URL
    redis_url: str | None = None
    # Set: the bus is sharded pub/sub on this Redis Cluster, one channel per
    # room (gateway/sharded_bus.py); empty: the one channel on REDIS_URL.
    redis_cluster_nodes: list[tuple[str, int]] = field(default_factory=list)
    jwt_secret: str = DEV_JWT_SECRET
    jwt_public_key_file: str | None = None
    jwt_algorithms: list[str] = field(default_factory=lambda: ["HS256"])
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_id_claim: str = "sub"
    jwt_role_claim: str = "role"
    jwt_leeway: int = 30
    events_signing_secret: str = ""
    events_channel: str = "rt:events"
    # Channel v2: messages older than this are dropped; v1 (no timestamp) only on request.
    events_max_age: int = 60
    events_accept_v1: bool = False
    cors_origins: list[str] = field(default_factory=list)
    # Gateway: Engine.IO heartbeat, log polling, replay, typing, presence (seconds).
    gateway_host: str = "127.0.0.1"
    gateway_ping_interval: float = 25.0
    gateway_ping_timeout: float = 20.0
    gateway_poll_interval: float = 0.2
    gateway_safety_interval: float = 2.0
    gateway_late_commit_window: float = 10.0
    gateway_replay_cap: int = 1000
    # Packets waiting for one socket beyond which it is disconnected (slow_consumer).
    gateway_max_queued: int = 1000
    gateway_typing_expiry: float = 5.0
    gateway_typing_rate: int = 5
    gateway_presence_grace: float = 5.0
    gateway_presence_ttl: float = 30.0
    # A socket with no client event for this long counts as away (its principal
    # is away unless another socket of theirs is online or dnd).
    presence_away_after: float = 300.0
    gateway_metrics: bool = True
    # The Socket.IO Admin UI at /admin/ (gateway/admin.py): off unless asked for, behind a login.
    gateway_admin_ui: bool = False
    gateway_admin_user: str = "admin"
    gateway_admin_password: str = ""
    gateway_admin_read_only: bool = True
    gateway_demo: bool = False
    # permessage-deflate on gateway websockets (off: frames are shared, see gateway/fast/emit.py).
    gateway_ws_compression: bool = False
    # The gateway's fast paths (gateway/fast/), each with the library's way as its fallback.
    # The API's compiled response dump (api.schemas.OutSchema); off = marshmallow's own.
    api_fast_dump: bool = True
    gateway_fast_emit: bool = True
    gateway_fast_queue: bool = True
    gateway_fast_subscriber: bool = True
    api_port: int = 5000
    gateway_port: int = 8000
    max_body_bytes: int = 1_000_000
    message_max_chars: int = 10_000
    # Mentorship: a mentor's capacity when their profile leaves max_mentees empty.
    default_max_mentees: int = 5
    # Messaging: edit window, send rate limit (0 = off), shortest search query.
    message_edit_window_seconds: int = 900
    send_rate_limit: int = 100
    send_rate_window_seconds: int = 60
    rate_limit_prefix: str = "rl:"
    search_min_chars: int = 3
    # API: seconds between runs of the periodic jobs (api/periodic.py); 0 = not in this process.
    periodic_interval: float = 1.0
    # Sessions: reminders go out this many minutes before the start (api/mentorship/reminders.py).
    session_reminder_minutes: list[int] = field(default_factory=lambda: [60, 10])
    # The domain part of calendar UIDs (`session-<id>@<domain>`): keep it fixed, calendar apps key events on it.
    calendar_uid_domain: str = "mentorship.invalid"
    # Dashboards: how long after the first change a `dashboard:updated` waits,
    # gathering later changes into the same event (a burst sends a handful).
    dashboard_debounce_seconds: float = 2.0
    # Attachments: where files live (`file:///path`, `s3://[key:secret@]bucket?endpoint=&region=`),
    # the largest upload, the types allowed (sniffed from the content), how long a
    # signed download URL lives, and after how long an upload never sent is swept.
    storage_url: str = DEFAULT_STORAGE_URL
    attachment_max_bytes: int = 10_485_760
    attachment_types: list[str] = field(default_factory=lambda: list(ALL_ATTACHMENT_TYPES))
    attachment_url_seconds: int = 300
    attachment_unattached_seconds: int = 86_400
    # Uploads one principal may hold unsent at once (the sweep frees them), so nobody fills the disk.
    attachment_unsent_max: int = 50
    # The delivery worker (worker/): its probe and metrics port, how often it
    # reads the log and due deliveries (seconds), parallel sends, events read
    # per round, how long an id gap may wait for a late commit, and how long a
    # claimed delivery stays its claimer's before another worker may take it.
    worker_host: str = "127.0.0.1"
    worker_port: int = 8100
    worker_poll_interval: float = 0.5
    worker_concurrency: int = 8
    worker_batch: int = 500
    worker_late_commit_window: float = 10.0
    worker_lease_seconds: float = 60.0
    # A push waits this long (seconds) for later notifications of its conversation to ride along.
    push_collapse_seconds: float = 2.0
    # Webhooks: seconds to wait for a receiver; the delays between attempts
    # (after the last one the delivery is parked as failed).
    webhook_timeout: float = 10.0
    webhook_retry_seconds: list[float] = field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0])
    # Reaching people who are away (worker/push.py, worker/digests.py): unset key or SMTP_URL = that channel off.
    vapid_private_key_file: str | None = None
    vapid_subject: str = ""
    smtp_url: str | None = None
    mail_from: str = ""
    # Offline this long (minutes) with something unread before an email digest goes out.
    digest_after_minutes: int = 30
    # Where an address comes from: `claim:<name>` of the principal's tokens, or `off` (never guessed).
    email_address_source: str = "claim:email"
    # The base of links in emails (the unsubscribe link), as users reach the API.
    public_api_url: str = "http://127.0.0.1:5000"
    # Webhook and push URLs may point at loopback/private addresses (tests, on-premise).
    outbound_allow_private: bool = False
    debug: bool = False
    dev_warnings: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.events_signing_secret:
            # Dev convenience only: from_env refuses this outside development.
            self.events_signing_secret = hashlib.sha256(
                ("events:" + self.jwt_secret).encode()
            ).hexdigest()

    @property
    def jwt_public_key(self) -> str | None:
        if not self.jwt_public_key_file:
            return None
        with open(self.jwt_public_key_file, encoding="utf-8") as fh:
            return fh.read()

    def replace(self, **changes: Any) -> "Config":
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Config":
        """Read and validate the environment; raise ConfigError on a bad value."""
        env = _ReadTracker(os.environ if env is None else env)
        warnings_: list[str] = []

        database_url = env.get("DATABASE_URL") or DEFAULT_SQLITE_URL
        try:
            url = make_url(database_url)
        except Exception:
            raise ConfigError(f"DATABASE_URL is not a valid SQLAlchemy URL: {database_url!r}") from None
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            # Absolute, so the API (Flask-SQLAlchemy would resolve a relative
            # path under its instance folder), the gateway and migrate share one file.
            url = url.set(database=os.path.abspath(url.database))
            database_url = url.render_as_string(hide_password=False)
        if url.get_backend_name() not in ("sqlite", "mysql", "mariadb"):
            raise ConfigError(
                f"DATABASE_URL must use sqlite or mysql+pymysql, got {url.drivername!r}"
            )
        if "DATABASE_URL" not in env or not env.get("DATABASE_URL"):
            warnings_.append(f"DATABASE_URL not set: using the embedded SQLite file {url.database}")

        redis_url = env.get("REDIS_URL") or None
        if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(f"REDIS_URL must start with redis://, rediss:// or unix://, got {redis_url!r}")

        algorithms = _list(env.get("JWT_ALGORITHMS")) or ["HS256"]
        for alg in algorithms:
            if alg not in SUPPORTED_ALGORITHMS:
                raise ConfigError(
                    f"JWT_ALGORITHMS: unknown algorithm {alg!r} (supported: {', '.join(SUPPORTED_ALGORITHMS)})"
                )
        asymmetric = [a for a in algorithms if not a.startswith("HS")]
        symmetric = [a for a in algorithms if a.startswith("HS")]
        if asymmetric and symmetric:
            # Mixing both invites algorithm confusion (an HS token signed with the public key).
            raise ConfigError("JWT_ALGORITHMS must not mix HS* with RS*/ES* algorithms")
        key_file = env.get("JWT_PUBLIC_KEY_FILE") or None
        if asymmetric:
            if not key_file:
                raise ConfigError(f"JWT_PUBLIC_KEY_FILE is required for {', '.join(asymmetric)}")
            if not os.path.isfile(key_file):
                raise ConfigError(f"JWT_PUBLIC_KEY_FILE does not exist: {key_file}")

        jwt_secret = env.get("JWT_SECRET") or ""
        if not jwt_secret:
            jwt_secret = DEV_JWT_SECRET
            if symmetric:
                warnings_.append("JWT_SECRET not set: using the INSECURE development secret")

        signing = env.get("EVENTS_SIGNING_SECRET") or ""
        production_db = url.get_backend_name() != "sqlite"
        if production_db and symmetric and jwt_secret == DEV_JWT_SECRET:
            raise ConfigError("JWT_SECRET must be set when DATABASE_URL points at MySQL (refusing the dev secret)")
        if not signing:
            if production_db:
                raise ConfigError("EVENTS_SIGNING_SECRET must be set when DATABASE_URL points at MySQL")
            warnings_.append("EVENTS_SIGNING_SECRET not set: deriving it from JWT_SECRET (development only)")
        if production_db:
            for name, secret in (("JWT_SECRET", jwt_secret if symmetric else None), ("EVENTS_SIGNING_SECRET", signing)):
                if secret is not None and len(secret.encode()) < MIN_SECRET_BYTES:
                    raise ConfigError(
                        f"{name} must be at least {MIN_SECRET_BYTES} bytes when DATABASE_URL points at MySQL"
                        f" (got {len(secret.encode())}); e.g. `openssl rand -hex 32`"
                    )
            if not redis_url:
                warnings_.append(
                    "REDIS_URL not set with MySQL: no rate limit shared between workers, and gateways"
                    " only read the event log (slower relay, no cross-gateway typing or presence)"
                )

        admin_ui = _bool(env, "GATEWAY_ADMIN_UI", False)
        admin_password = env.get("GATEWAY_ADMIN_PASSWORD") or ""
        if admin_ui and len(admin_password) < 12:
            raise ConfigError("GATEWAY_ADMIN_PASSWORD must be set (at least 12 characters) when GATEWAY_ADMIN_UI=1")

        webhook_timeout = _float(env, "WEBHOOK_TIMEOUT", 10.0, minimum=0.1)
        lease = _float(env, "WORKER_LEASE_SECONDS", 60.0, minimum=1.0)
        if lease <= webhook_timeout:
            # A send outliving its lease could be claimed and sent again by another worker.
            raise ConfigError(
                f"WORKER_LEASE_SECONDS ({lease:g}) must be longer than WEBHOOK_TIMEOUT ({webhook_timeout:g})")
        away = _away_settings(env)

        cors_raw = env.get("CORS_ORIGINS")
        cors = _list(cors_raw) if cors_raw is not None else (["*"] if not production_db else [])

        config = cls(
            database_url=database_url,
            redis_url=redis_url,
            redis_cluster_nodes=_cluster_nodes(env.get("REDIS_CLUSTER_NODES")),
            jwt_secret=jwt_secret,
            jwt_public_key_file=key_file,
            jwt_algorithms=algorithms,
            jwt_issuer=env.get("JWT_ISSUER") or None,
            jwt_audience=env.get("JWT_AUDIENCE") or None,
            jwt_id_claim=env.get("JWT_ID_CLAIM") or "sub",
            jwt_role_claim=env.get("JWT_ROLE_CLAIM") or "role",
            jwt_leeway=_int(env, "JWT_LEEWAY", 30),
            events_signing_secret=signing,
            events_channel=env.get("EVENTS_CHANNEL") or "rt:events",
            events_max_age=_int(env, "EVENTS_MAX_AGE", 60, minimum=1),
            events_accept_v1=env.get("EVENTS_ACCEPT_V1", "0").lower() in ("1", "true", "yes"),
            cors_origins=cors,
            gateway_host=env.get("GATEWAY_HOST") or "127.0.0.1",
            gateway_ping_interval=_float(env, "GATEWAY_PING_INTERVAL", 25.0, minimum=0.1),
            gateway_ping_timeout=_float(env, "GATEWAY_PING_TIMEOUT", 20.0, minimum=0.1),
            gateway_poll_interval=_float(env, "GATEWAY_POLL_INTERVAL", 0.2, minimum=0.01),
            gateway_safety_interval=_float(env, "GATEWAY_SAFETY_INTERVAL", 2.0, minimum=0.05),
            gateway_late_commit_window=_float(env, "GATEWAY_LATE_COMMIT_WINDOW", 10.0),
            gateway_replay_cap=_int(env, "GATEWAY_REPLAY_CAP", 1000, minimum=1),
            gateway_max_queued=_int(env, "GATEWAY_MAX_QUEUED", 1000, minimum=10),
            gateway_typing_expiry=_float(env, "GATEWAY_TYPING_EXPIRY", 5.0, minimum=0.1),
            gateway_typing_rate=_int(env, "GATEWAY_TYPING_RATE", 5, minimum=1),
            gateway_presence_grace=_float(env, "GATEWAY_PRESENCE_GRACE", 5.0),
            gateway_presence_ttl=_float(env, "GATEWAY_PRESENCE_TTL", 30.0, minimum=1.0),
            gateway_admin_ui=admin_ui,
            gateway_admin_user=env.get("GATEWAY_ADMIN_USER") or "admin",
            gateway_admin_password=admin_password,
            gateway_admin_read_only=_bool(env, "GATEWAY_ADMIN_READ_ONLY", True),
            presence_away_after=_float(env, "PRESENCE_AWAY_AFTER", 300.0, minimum=0.1),
            gateway_metrics=env.get("GATEWAY_METRICS", "1").lower() not in ("0", "false", "no"),
            gateway_ws_compression=env.get("GATEWAY_WS_COMPRESSION", "0").lower() in ("1", "true", "yes"),
            api_fast_dump=_bool(env, "API_FAST_DUMP", True),
            periodic_interval=_float(env, "PERIODIC_INTERVAL", 1.0),
            session_reminder_minutes=_minutes(env, "SESSION_REMINDER_MINUTES", [60, 10]),
            calendar_uid_domain=env.get("CALENDAR_UID_DOMAIN") or "mentorship.invalid",
            dashboard_debounce_seconds=_float(env, "DASHBOARD_DEBOUNCE_SECONDS", 2.0),
            gateway_fast_emit=_bool(env, "GATEWAY_FAST_EMIT", True),
            gateway_fast_queue=_bool(env, "GATEWAY_FAST_QUEUE", True),
            gateway_fast_subscriber=_bool(env, "GATEWAY_FAST_SUBSCRIBER", True),
            # The demo page is for development: on by default only on the embedded SQLite setup.
            gateway_demo=env.get("GATEWAY_DEMO", "1" if not production_db else "0").lower() in ("1", "true", "yes"),
            api_port=_port(env, "API_PORT", 5000),
            # PORT as honcho/foreman give each process (`honcho start -c gateway=2`).
            gateway_port=_port(env, "GATEWAY_PORT" if env.get("GATEWAY_PORT") else "PORT", 8000),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", 1_000_000, minimum=1024),
            message_max_chars=_int(env, "MESSAGE_MAX_CHARS", 10_000, minimum=1),
            default_max_mentees=_int(env, "DEFAULT_MAX_MENTEES", 5),
            message_edit_window_seconds=_int(env, "MESSAGE_EDIT_WINDOW_SECONDS", 900),
            send_rate_limit=_int(env, "SEND_RATE_LIMIT", 100),
            send_rate_window_seconds=_int(env, "SEND_RATE_WINDOW_SECONDS", 60, minimum=1),
            rate_limit_prefix=env.get("RATE_LIMIT_PREFIX") or "rl:",
            search_min_chars=_int(env, "SEARCH_MIN_CHARS", 3, minimum=1),
            storage_url=_storage_url(env.get("STORAGE_URL")),
            attachment_max_bytes=_int(env, "ATTACHMENT_MAX_BYTES", 10_485_760, minimum=1),
            attachment_types=_attachment_types(env.get("ATTACHMENT_TYPES")),
            attachment_url_seconds=_int(env, "ATTACHMENT_URL_SECONDS", 300, minimum=1),
            attachment_unattached_seconds=_int(env, "ATTACHMENT_UNATTACHED_SECONDS", 86_400, minimum=60),
            attachment_unsent_max=_int(env, "ATTACHMENT_UNSENT_MAX", 50, minimum=1),
            worker_host=env.get("WORKER_HOST") or "127.0.0.1",
            # PORT as honcho/foreman give each process, as for the gateway.
            worker_port=_port(env, "WORKER_PORT" if env.get("WORKER_PORT") else "PORT", 8100),
            worker_poll_interval=_float(env, "WORKER_POLL_INTERVAL", 0.5, minimum=0.01),
            worker_concurrency=_int(env, "WORKER_CONCURRENCY", 8, minimum=1),
            worker_batch=_int(env, "WORKER_BATCH", 500, minimum=1),
            worker_late_commit_window=_float(env, "WORKER_LATE_COMMIT_WINDOW", 10.0),
            worker_lease_seconds=lease,
            push_collapse_seconds=_float(env, "PUSH_COLLAPSE_SECONDS", 2.0),
            webhook_timeout=webhook_timeout,
            webhook_retry_seconds=_delays(env, "WEBHOOK_RETRY_SECONDS"),
            outbound_allow_private=_bool(env, "OUTBOUND_ALLOW_PRIVATE", False),
            debug=env.get("DEBUG", "").lower() in ("1", "true", "yes"),
            dev_warnings=warnings_,
            **away,
        )
        # Last: only now has every variable been asked for.
        config.dev_warnings.extend(_unknown_variables(env))
        return config


def _away_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Web Push, email digests and outbound URLs (the delivery worker's channels)."""
    key_file = env.get("VAPID_PRIVATE_KEY_FILE") or None
    subject = env.get("VAPID_SUBJECT") or ""
    if key_file and not os.path.isfile(key_file):
        raise ConfigError(f"VAPID_PRIVATE_KEY_FILE does not exist: {key_file} (python -m shared.vapid makes one)")
    if key_file and not subject.startswith(("mailto:", "https://")):
        # Push services refuse VAPID tokens without a contact (RFC 8292 2.1).
        raise ConfigError(f"VAPID_SUBJECT must be a mailto: or https: URL when push is on, got {subject!r}")
    smtp_url = env.get("SMTP_URL") or None
    mail_from = env.get("MAIL_FROM") or ""
    if smtp_url and not smtp_url.startswith(("smtp://", "smtps://")):
        raise ConfigError(f"SMTP_URL must start with smtp:// or smtps://, got {smtp_url!r}")
    if smtp_url and "@" not in mail_from:
        raise ConfigError("MAIL_FROM must be an address (e.g. Mentorship <noreply@example.org>) when SMTP_URL is set")
    source = env.get("EMAIL_ADDRESS_SOURCE") or "claim:email"
    if source != "off" and not (source.startswith("claim:") and len(source) > len("claim:")):
        raise ConfigError(f"EMAIL_ADDRESS_SOURCE must be claim:<name> or off, got {source!r}")
    public_url = (env.get("PUBLIC_API_URL") or "http://127.0.0.1:5000").rstrip("/")
    if not public_url.startswith(("http://", "https://")):
        raise ConfigError(f"PUBLIC_API_URL must be an http(s) URL, got {public_url!r}")
    return {
        "vapid_private_key_file": key_file, "vapid_subject": subject, "smtp_url": smtp_url, "mail_from": mail_from,
        "digest_after_minutes": _int(env, "DIGEST_AFTER_MINUTES", 30, minimum=1),
        "email_address_source": source, "public_api_url": public_url,
    }


def load_or_exit(env: Mapping[str, str] | None = None) -> Config:
    """Entry points call this: one clear line and exit status 2 on a bad value."""
    try:
        config = Config.from_env(env)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    for line in config.dev_warnings:
        print(f"WARNING: {line}", file=sys.stderr)
    return config
