"""Run the delivery worker: `python -m worker` (probes and metrics on WORKER_HOST:WORKER_PORT)."""
from __future__ import annotations

import logging
import signal
import sys
import threading

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from shared.config import load_or_exit
from shared.db import make_engine
from shared.logs import CauseOnly, cause, configure_logging
from worker import health
from worker.dispatch import Dispatcher, listen_for_commits

log = logging.getLogger("worker")


def main() -> None:
    config = load_or_exit()
    configure_logging("worker", level="DEBUG" if config.debug else None)
    for handler in logging.getLogger().handlers:
        handler.addFilter(CauseOnly("sqlalchemy.pool"))
    engine = make_engine(config.database_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        # As the gateway: one line with the cause, not a traceback.
        print(f"worker: cannot start: {cause(exc)}", file=sys.stderr)
        raise SystemExit(1) from None
    metrics = health.Metrics()
    presence_redis = None
    if config.redis_url:
        import redis

        presence_redis = redis.Redis.from_url(config.redis_url, socket_connect_timeout=2, socket_timeout=5)
    dispatcher = Dispatcher(config, engine, metrics, presence_redis)
    checks = {"database": health.database_check(engine)}
    if config.redis_url:
        checks["redis"] = health.redis_check(config.redis_url)
        threading.Thread(target=listen_for_commits, args=(config.redis_url, config.events_channel, dispatcher),
                         name="worker-wake", daemon=True).start()
    try:
        server = health.serve(config.worker_host, config.worker_port, metrics, checks)
    except OSError as exc:
        print(f"worker: cannot start: {cause(exc)}", file=sys.stderr)
        raise SystemExit(1) from None
    for signum in (signal.SIGTERM, signal.SIGINT):
        # Stop claiming, let the sends under way finish (each within WEBHOOK_TIMEOUT), then exit.
        signal.signal(signum, lambda *_: dispatcher.stop())
    log.info("worker %s on http://%s:%d/ (healthz, readyz, metrics)", dispatcher.owner, config.worker_host,
             config.worker_port)
    dispatcher.run()
    server.shutdown()
    engine.dispose()
    log.info("worker %s stopped", dispatcher.owner)


if __name__ == "__main__":
    main()
