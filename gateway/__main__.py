"""Run the gateway: `python -m gateway` (listens on GATEWAY_HOST:GATEWAY_PORT)."""
from __future__ import annotations

import asyncio
import logging
import sys

from aiohttp import web
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError

from gateway.app import init_app
from shared.config import ConfigError, load_or_exit
from shared.logs import cause, configure_logging


def main() -> None:
    config = load_or_exit()
    # As the API does: LOG_FORMAT (text or json) and LOG_LEVEL; DEBUG=1 means LOG_LEVEL=DEBUG.
    configure_logging("gateway", level="DEBUG" if config.debug else None)
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is optional
        uvloop = None
    # uvloop avoids the 70-100 ms latency outliers the default loop shows under load.
    loop = uvloop.new_event_loop() if uvloop else asyncio.new_event_loop()
    # run_app handles SIGTERM/SIGINT: stop accepting, run on_shutdown (close
    # every socket so clients reconnect elsewhere), then the cleanup contexts.
    # access_log=None: no access logger object per connection (aiohttp.access was silenced anyway).
    try:
        web.run_app(init_app(config), host=config.gateway_host, port=config.gateway_port, loop=loop,
                    shutdown_timeout=5, access_log=None, print=lambda line: logging.getLogger("gateway").info(line))
    except ConfigError as exc:  # found while building the app (e.g. the Admin UI's files missing)
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except (SQLAlchemyError, RedisError, OSError) as exc:
        # The database, Redis or the port at start: one line with the cause, not a traceback.
        print(f"gateway: cannot start: {cause(exc)}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
