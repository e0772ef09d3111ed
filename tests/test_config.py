"""Configuration is validated at start, with one clear line per mistake."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from shared.config import DEV_JWT_SECRET, Config, ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_defaults_are_the_embedded_development_setup():
    config = Config.from_env({})
    assert config.database_url.startswith("sqlite:///")
    assert config.redis_url is None
    assert config.jwt_secret == DEV_JWT_SECRET
    assert (config.api_port, config.gateway_port) == (5000, 8000)
    assert config.cors_origins == ["*"]
    assert any("INSECURE" in line for line in config.dev_warnings)
    assert any("SQLite" in line for line in config.dev_warnings)


def test_production_values_are_read(tmp_path):
    env = {
        "DATABASE_URL": "mysql+pymysql://u:p@db/app?charset=utf8mb4",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "JWT_SECRET": "s" * 40,
        "EVENTS_SIGNING_SECRET": "e" * 40,
        "JWT_ISSUER": "https://site",
        "JWT_AUDIENCE": "app",
        "JWT_ID_CLAIM": "uid",
        "JWT_ROLE_CLAIM": "kind",
        "CORS_ORIGINS": "https://a.example, https://b.example",
        "API_PORT": "5001",
        "GATEWAY_PORT": "8001",
    }
    config = Config.from_env(env)
    assert config.cors_origins == ["https://a.example", "https://b.example"]
    assert (config.jwt_id_claim, config.jwt_role_claim, config.api_port) == ("uid", "kind", 5001)
    assert config.dev_warnings == []


def test_the_gateway_fast_paths_are_on_by_default_and_each_can_be_turned_off():
    def paths(env):
        config = Config.from_env(env)
        return config.gateway_fast_emit, config.gateway_fast_queue, config.gateway_fast_subscriber

    assert paths({}) == (True, True, True)
    assert paths({"GATEWAY_FAST_EMIT": "0", "GATEWAY_FAST_QUEUE": "", "GATEWAY_FAST_SUBSCRIBER": "1"}) == (
        False, True, True)
    assert paths({"GATEWAY_FAST_EMIT": "yes", "GATEWAY_FAST_QUEUE": "OFF", "GATEWAY_FAST_SUBSCRIBER": "false"}) == (
        True, False, False)


def test_an_idle_socket_is_away_after_five_minutes_by_default():
    assert Config.from_env({}).presence_away_after == 300
    assert Config.from_env({"PRESENCE_AWAY_AFTER": "1.5"}).presence_away_after == 1.5


def test_a_sockets_backlog_is_bounded_by_default():
    assert Config.from_env({}).gateway_max_queued == 1000
    assert Config.from_env({"GATEWAY_MAX_QUEUED": "50"}).gateway_max_queued == 50


@pytest.mark.parametrize(
    "env,variable",
    [
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://x/y"}, "DATABASE_URL"),
        ({"REDIS_URL": "http://localhost"}, "REDIS_URL"),
        ({"JWT_ALGORITHMS": "HS256,XX999"}, "JWT_ALGORITHMS"),
        ({"JWT_ALGORITHMS": "HS256,RS256", "JWT_PUBLIC_KEY_FILE": __file__}, "JWT_ALGORITHMS"),
        ({"JWT_ALGORITHMS": "RS256"}, "JWT_PUBLIC_KEY_FILE"),
        ({"JWT_ALGORITHMS": "RS256", "JWT_PUBLIC_KEY_FILE": "/nonexistent.pem"}, "JWT_PUBLIC_KEY_FILE"),
        ({"API_PORT": "http"}, "API_PORT"),
        ({"GATEWAY_PORT": "70000"}, "GATEWAY_PORT"),
        ({"GATEWAY_FAST_EMIT": "fast"}, "GATEWAY_FAST_EMIT"),
        ({"GATEWAY_FAST_QUEUE": "2"}, "GATEWAY_FAST_QUEUE"),
        ({"GATEWAY_FAST_SUBSCRIBER": "of"}, "GATEWAY_FAST_SUBSCRIBER"),
        ({"GATEWAY_MAX_QUEUED": "9"}, "GATEWAY_MAX_QUEUED"),
        ({"GATEWAY_MAX_QUEUED": "lots"}, "GATEWAY_MAX_QUEUED"),
        ({"PRESENCE_AWAY_AFTER": "soon"}, "PRESENCE_AWAY_AFTER"),
        ({"PRESENCE_AWAY_AFTER": "0"}, "PRESENCE_AWAY_AFTER"),
        ({"DATABASE_URL": "mysql+pymysql://root@db/x"}, "JWT_SECRET"),
        ({"DATABASE_URL": "mysql+pymysql://root@db/x", "JWT_SECRET": "s" * 40}, "EVENTS_SIGNING_SECRET"),
    ],
)
def test_bad_values_name_the_variable(env, variable):
    with pytest.raises(ConfigError, match=variable):
        Config.from_env(env)


def test_a_bad_value_stops_the_process_with_one_line():
    env = {**os.environ, "API_PORT": "abc"}
    result = subprocess.run(
        [sys.executable, "-m", "shared.tokens", "--role", "student", "--id", "1"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "configuration error: API_PORT must be an integer, got 'abc'"


def test_tokens_cli_mints_a_token_the_api_accepts(client, config):
    env = {**os.environ, "JWT_SECRET": config.jwt_secret}
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "shared.tokens", "--role", "student", "--id", "12"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.get_json() == {"role": "student", "id": 12}


PRODUCTION = {"DATABASE_URL": "mysql+pymysql://root@db/x", "JWT_SECRET": "s" * 40, "EVENTS_SIGNING_SECRET": "e" * 40}


def test_a_misspelled_variable_is_warned_about_with_the_nearest_name():
    config = Config.from_env({"REDIS_ULR": "redis://127.0.0.1:6379/0", "GATEWAY_PROT": "9000", "HOME": "/root"})
    assert "unknown variable REDIS_ULR ignored (did you mean REDIS_URL?)" in config.dev_warnings
    assert "unknown variable GATEWAY_PROT ignored (did you mean GATEWAY_PORT?)" in config.dev_warnings
    assert not any("HOME" in line for line in config.dev_warnings)
    assert config.redis_url is None


@pytest.mark.parametrize("variable", ["JWT_SECRET", "EVENTS_SIGNING_SECRET"])
def test_production_refuses_secrets_shorter_than_32_bytes(variable):
    with pytest.raises(ConfigError, match=f"{variable} must be at least 32 bytes"):
        Config.from_env({**PRODUCTION, variable: "x" * 31})
    assert Config.from_env({**PRODUCTION, variable: "x" * 32})


def test_production_without_redis_is_a_loud_warning():
    assert any(line.startswith("REDIS_URL not set with MySQL") for line in Config.from_env(PRODUCTION).dev_warnings)
    with_redis = Config.from_env({**PRODUCTION, "REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert not any("REDIS_URL" in line for line in with_redis.dev_warnings)


def test_the_gateway_takes_port_from_honcho_when_gateway_port_is_unset():
    assert Config.from_env({"PORT": "5101"}).gateway_port == 5101
    assert Config.from_env({"PORT": "5101", "GATEWAY_PORT": "8001"}).gateway_port == 8001
def test_attachment_settings_are_read_and_checked():
    config = Config.from_env({
        "STORAGE_URL": "s3://bucket?endpoint=https://s3.example&region=eu-west-1",
        "ATTACHMENT_MAX_BYTES": "2048", "ATTACHMENT_TYPES": "images, application/pdf",
        "ATTACHMENT_URL_SECONDS": "60", "ATTACHMENT_UNATTACHED_SECONDS": "3600",
    })
    assert config.storage_url.startswith("s3://bucket?")
    assert config.attachment_types == ["image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"]
    assert (config.attachment_max_bytes, config.attachment_url_seconds, config.attachment_unattached_seconds) == (
        2048, 60, 3600)
    defaults = Config.from_env({})
    assert defaults.storage_url == "file://./attachments" and len(defaults.attachment_types) == 12
    for env, name in [({"STORAGE_URL": "ftp://x"}, "STORAGE_URL"), ({"STORAGE_URL": "s3://?region=x"}, "STORAGE_URL"),
                      ({"ATTACHMENT_TYPES": "images,application/x-msdownload"}, "ATTACHMENT_TYPES"),
                      ({"ATTACHMENT_MAX_BYTES": "0"}, "ATTACHMENT_MAX_BYTES")]:
        with pytest.raises(ConfigError, match=name):
            Config.from_env(env)


def test_redis_cluster_nodes_are_host_port_pairs_and_unset_by_default():
    assert Config.from_env({}).redis_cluster_nodes == []
    config = Config.from_env({"REDIS_CLUSTER_NODES": "10.0.0.1:7000, redis-b:7001"})
    assert config.redis_cluster_nodes == [("10.0.0.1", 7000), ("redis-b", 7001)]
    for bad in ("10.0.0.1", "host:port", ":7000", "h:70000"):
        with pytest.raises(ConfigError, match="REDIS_CLUSTER_NODES"):
            Config.from_env({"REDIS_CLUSTER_NODES": bad})
