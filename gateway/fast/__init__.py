"""The gateway's fast paths: the only code that leans on how python-engineio,
python-socketio, aiohttp, redis-py and hiredis work inside.

Each piece has its own setting (on by default) and the library's way as its
fallback:

- `emit` (`gateway.fast.emit`, `GATEWAY_FAST_EMIT`) leans on python-engineio's
  aiohttp driver, python-socketio's packet format and aiohttp's transport;
  library path: python-socketio's `AsyncServer.emit` (`gateway.emit`).
- `queue` (`gateway.fast.queue`, `GATEWAY_FAST_QUEUE`) leans on what
  python-engineio's writer calls on a socket's queue, and (`gateway.fast.
  ping`) on the task its sockets start for their next PING; library path:
  python-engineio's `asyncio.Queue` and a sleeping Task per socket.
- `subscriber` (`gateway.fast.subscriber`, `GATEWAY_FAST_SUBSCRIBER`) leans
  on redis-py's URL parsing and hiredis's Reader; library path: redis-py's
  asyncio PubSub (`gateway.bus.PubSubSubscriber`).

`choose(config)` decides once, at start: a piece runs when its setting is on
and the installed versions of what it leans on are the ones it was tested
with (`TESTED`, the pins of requirements.txt; a test keeps the two equal).
Otherwise one warning line says why, and that piece takes the library path.
The emit path needs the queue (it asks the queue whether the socket's writer
is idle), so it is off whenever the queue is.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from typing import Callable, Mapping

import socketio

from gateway.backpressure import SlowConsumers
from gateway.emit import SocketIOEmitter
from shared.config import Config

log = logging.getLogger(__name__)

# The versions the fast paths were tested with: the pins of requirements.txt.
TESTED: Mapping[str, str] = {
    "python-engineio": "4.15.1",
    "python-socketio": "5.18.1",
    "aiohttp": "3.14.5",
    "redis": "8.1.0",
    "hiredis": "3.5.0",
}
LEANS_ON: Mapping[str, tuple[str, ...]] = {
    "queue": ("python-engineio",),
    "emit": ("python-engineio", "python-socketio", "aiohttp"),
    "subscriber": ("redis", "hiredis"),
}
LIBRARY_PATH = {
    "queue": "python-engineio's asyncio.Queue",
    "emit": "python-socketio's emit",
    "subscriber": "redis-py's PubSub",
}


@dataclass(frozen=True)
class FastPaths:
    """Which fast paths this process runs (False: the library path)."""

    emit: bool
    queue: bool
    subscriber: bool

    def describe(self) -> str:
        return ", ".join(f"{piece} {'on' if on else 'off'}" for piece, on in asdict(self).items())


def installed_version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def mismatches(piece: str, tested: Mapping[str, str] = TESTED,
               installed: Callable[[str], str | None] = installed_version) -> list[str]:
    """What differs from the tested versions for `piece`, e.g.
    `["aiohttp 3.15.0 (tested 3.14.5)"]`; empty when it may run."""
    found = []
    for name in LEANS_ON[piece]:
        have, want = installed(name), tested.get(name)
        if have != want:
            found.append(f"{name} {have or 'not installed'} (tested {want or 'never'})")
    return found


def choose(config: Config, tested: Mapping[str, str] = TESTED,
           installed: Callable[[str], str | None] = installed_version) -> FastPaths:
    """The fast paths to run: each one its setting allows and the installed
    versions support; a warning line for each that falls back."""
    wanted = {"queue": config.gateway_fast_queue, "emit": config.gateway_fast_emit,
              "subscriber": config.gateway_fast_subscriber}
    on: dict[str, bool] = {}
    for piece, want in wanted.items():  # queue first: emit depends on it
        differ = mismatches(piece, tested, installed) if want else []
        if differ:
            log.warning("fast %s off: %s; using %s", piece, ", ".join(differ), LIBRARY_PATH[piece])
        elif want and piece == "emit" and not on["queue"]:
            log.warning("fast emit off: it needs the fast queue (GATEWAY_FAST_QUEUE); using %s", LIBRARY_PATH[piece])
            want = False
        on[piece] = want and not differ
    return FastPaths(**on)


def install_queue(sio: socketio.AsyncServer, paths: FastPaths, ping_interval: float | None = None) -> None:
    """Give the server's sockets `PacketQueue`s (fast queue; it also
    advertises a sub-second `ping_interval` exactly) and one `PingWheel` for
    their pings, or leave python-engineio's `asyncio.Queue` (which advertises
    whole seconds) and its ping Task per socket."""
    if paths.queue:
        from gateway.fast import queue
        from gateway.fast.ping import PingWheel

        queue.install(sio.eio, ping_interval)
        PingWheel(sio.eio, sio.eio.ping_interval).install()


def make_emitter(sio: socketio.AsyncServer, paths: FastPaths, slow: SlowConsumers,
                 compression: bool) -> SocketIOEmitter:
    """The relay's emitter: `FastEmitter` when the fast emit path is on and
    its driver hook installs, else python-socketio's own emit; both bound
    each socket's backlog with `slow`."""
    if paths.emit:
        from gateway.fast.emit import FastEmitter

        fast = FastEmitter(sio, slow, compression=compression)
        if fast.install():
            return fast
    return SocketIOEmitter(sio, slow)


def subscriber_factory(paths: FastPaths) -> type:
    """The class the bus subscribes with (both take `(url, channels)`)."""
    if paths.subscriber:
        from gateway.fast.subscriber import Subscriber

        return Subscriber
    from gateway.bus import PubSubSubscriber

    return PubSubSubscriber
