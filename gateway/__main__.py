"""Run the gateway: `python -m gateway` (listens on GATEWAY_PORT)."""
from aiohttp import web

from gateway.app import init_app
from shared.config import load_or_exit


def main() -> None:
    config = load_or_exit()
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is optional
        uvloop = None
    # uvloop avoids the 70-100 ms latency outliers the default loop shows under load.
    loop = uvloop.new_event_loop() if uvloop else None
    web.run_app(init_app(config), host="127.0.0.1", port=config.gateway_port, loop=loop)


if __name__ == "__main__":
    main()
