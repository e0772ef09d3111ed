"""The bus on Redis Cluster: one sharded channel per room, subscribed while this process holds the room.

With REDIS_CLUSTER_NODES the API publishes each room's envelopes with
SPUBLISH on `shared.events.room_channel` (typing and presence go on the
room's ephemeral sibling, same slot). `ShardedBus` SSUBSCRIBEs to a room's
two channels when the registry reports its first local socket in it and
SUNSUBSCRIBEs when its last one leaves (socket.io's sharded adapter in its
"dynamic" mode), so a gateway's bus work grows with its own rooms' events.

Channels live on the master that owns their slot. Per master there is one
subscription connection (redis-py's asyncio PubSub, no retries of its own:
redis-py's ClusterPubSub polls its per-node connections one after the other,
each for the whole timeout, and reconnects silently, which would hide gaps).
The slot map comes from CLUSTER SLOTS and is read again on every failure.

Nothing is lost in a gap: every SSUBSCRIBE confirmation (a new room, or a
room again after a lost node, a failover, a slot that moved) wakes the log
reader, which delivers what was committed before it; while a node is lost
the link is down and the reader polls fast, as for the single channel.

On shutdown (`closing`) the bus stops following the registry before the
sockets close: closing the connections drops every subscription at once,
instead of one SUNSUBSCRIBE per room as each socket goes. What is published
after that reaches the clients from the log when they reconnect elsewhere.
"""
from __future__ import annotations

import asyncio
import logging
from contextlib import suppress

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from gateway.bus import BusLink, Handler, SignedChannel
from gateway.metrics import Metrics
from shared.events import ephemeral_room_channel, room_channel

log = logging.getLogger(__name__)
Address = tuple[str, int]


async def slot_owners(nodes: list[Address], connect_timeout: float) -> list[Address | None]:
    """Each slot's master, from CLUSTER SLOTS of the first node that answers."""
    failures = []
    for host, port in nodes:
        client = aioredis.Redis(host=host, port=port, socket_connect_timeout=connect_timeout,
                                socket_timeout=connect_timeout, retry=Retry(NoBackoff(), 0))
        try:
            ranges = await client.execute_command("CLUSTER", "SLOTS")
        except Exception as exc:  # noqa: BLE001 - try the next node
            failures.append(f"{host}:{port}: {exc}")
            continue
        finally:
            await client.aclose()
        owners: list[Address | None] = [None] * REDIS_CLUSTER_HASH_SLOTS
        for start, end, master, *_ in ranges:
            # An empty host means "the address you reached me at".
            owner = ((master[0].decode() if isinstance(master[0], bytes) else master[0]) or host, int(master[1]))
            owners[int(start):int(end) + 1] = [owner] * (int(end) - int(start) + 1)
        return owners
    raise ConnectionError("no Redis Cluster node answered CLUSTER SLOTS: " + "; ".join(failures))


def _raise_if_cancelled() -> None:
    """Raise the current task's cancellation if an await swallowed it.

    On Python 3.11 `asyncio.wait_for` returns the result instead of raising
    when the cancellation comes as the awaited call completes (CPython
    gh-86296, fixed in 3.12), and redis-py sends every command through it
    (its default socket_timeout): a bus cancelled mid-reconcile went back to
    waiting for room changes, and the gateway never exited.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


class NodeLink:
    """One master's subscription connection and the rooms subscribed on it."""

    def __init__(self, address: Address, connect_timeout: float, health_check_interval: float):
        self.address = address
        self.client = aioredis.Redis(host=address[0], port=address[1], socket_connect_timeout=connect_timeout,
                                     health_check_interval=health_check_interval, retry=Retry(NoBackoff(), 0))
        self.pubsub = self.client.pubsub()
        self.rooms: set[str] = set()
        # Rooms we SUNSUBSCRIBEd whose confirmation has not come: any other
        # sunsubscribe is Redis's (the slot moved).
        self.leaving: dict[str, int] = {}
        self.reader: asyncio.Task | None = None

    async def aclose(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
            # wait, not await: the reader's end is not raised here, a cancellation of the caller is.
            await asyncio.wait([self.reader])
        with suppress(Exception):  # closing a broken connection
            await self.pubsub.aclose()
        with suppress(Exception):
            await self.client.aclose()


class WantedRooms:
    """The rooms this process holds sockets in, as the registry reports them
    (`gateway.registry.RoomWatch`); `changed` wakes the bus."""

    def __init__(self) -> None:
        self.rooms: set[str] = set()
        self.changed = asyncio.Event()
        self.frozen = False

    def held(self, room: str) -> None:
        if not self.frozen:
            self.rooms.add(room)
            self.changed.set()

    def released(self, room: str) -> None:
        if not self.frozen:
            self.rooms.discard(room)
            self.changed.set()

    def freeze(self) -> None:
        """From now on the rooms stay as they are, whatever the registry reports."""
        self.frozen = True


class ShardedBus:
    def __init__(self, nodes: list[Address], events_channel: str, wanted: WantedRooms, on_event: Handler,
                 on_ephemeral: Handler, link: BusLink, signed: SignedChannel, metrics: Metrics, *,
                 connect_timeout: float = 2.0, health_check_interval: float = 10.0):
        self.nodes, self.events_channel = nodes, events_channel
        self.on_event, self.on_ephemeral = on_event, on_ephemeral
        self.link, self.signed, self.metrics = link, signed, metrics
        self.connect_timeout, self.poll = connect_timeout, health_check_interval
        self.following, self.wanted, self.dirty = wanted, wanted.rooms, wanted.changed
        self.where: dict[str, NodeLink] = {}  # room -> the link it is subscribed on
        self.links: dict[Address, NodeLink] = {}
        # channel -> (room, is the events channel), for every channel subscribed.
        self.channels: dict[bytes, tuple[str, bool]] = {}
        self.owners: list[Address | None] | None = None
        self.confirmed: set[str] = set()  # rooms whose SSUBSCRIBE Redis confirmed
        metrics.bus_rooms = 0
        self.failed = False  # since the last time every room was subscribed
        self._closing: set[asyncio.Task] = set()

    # -- the loop --

    async def run(self) -> None:
        """Bring the subscriptions to what is wanted after each change; on any
        failure, mark the link down, back off, read the slot map again, retry."""
        backoff = 0.1
        self.signed.subscribed()
        self.dirty.set()
        try:
            while True:
                await self.dirty.wait()
                self.dirty.clear()
                try:
                    await self._reconcile()
                    _raise_if_cancelled()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # noqa: BLE001 - any Redis failure: the log covers, we retry
                    log.warning("sharded bus: %s; reading the log meanwhile, retrying", exc)
                    self._down()
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, 2.0)
                    self.dirty.set()
                    continue
                backoff = 0.1
                if not self.link.subscribed:
                    if self.failed:
                        self.metrics.redis_reconnects += 1
                        log.warning("sharded bus subscriptions re-established; catching up from the log")
                    self.failed = False
                    self.link.set(True)
        finally:
            # Bounded: a half-dead node must not hold up the process's exit.
            with suppress(BaseException):
                await asyncio.wait_for(asyncio.gather(*(n.aclose() for n in self.links.values())), 2)

    def closing(self) -> None:
        """The process is stopping: keep every subscription until `run` is
        cancelled and closes each master's connection once."""
        self.following.freeze()

    def _down(self) -> None:
        self.link.set(False)
        self.owners, self.failed = None, True

    def _channels(self, room: str) -> tuple[str, str]:
        return room_channel(self.events_channel, room), ephemeral_room_channel(self.events_channel, room)

    async def _reconcile(self) -> None:
        if self.owners is None:
            self.owners = await slot_owners(self.nodes + [n.address for n in self.links.values()],
                                            self.connect_timeout)
        for room in [r for r in self.where if r not in self.wanted]:
            node = self.where.pop(room)
            node.rooms.discard(room)
            self._unconfirm(room)
            node.leaving[room] = node.leaving.get(room, 0) + 1
            await self._on(node, node.pubsub.sunsubscribe(*self._channels(room)))
        for room in [r for r in self.wanted if r not in self.where]:
            events, ephemeral = self._channels(room)
            owner = self.owners[key_slot(events.encode())]
            if owner is None:
                raise ConnectionError(f"slot of {events} is not covered by the cluster")
            node = self.links.get(owner) or self._open(owner)
            # Recorded first: the confirmation may be read while the command is sent.
            self.channels[events.encode()], self.channels[ephemeral.encode()] = (room, True), (room, False)
            node.rooms.add(room)
            self.where[room] = node
            # Both channels share the room's hash tag: one slot, one command.
            await self._on(node, node.pubsub.ssubscribe(events, ephemeral))
            if node.reader is None:
                node.reader = asyncio.create_task(self._read(node))
        for address, node in list(self.links.items()):
            if not node.rooms and not node.leaving:
                del self.links[address]
                await node.aclose()

    async def _on(self, node: NodeLink, command) -> None:
        """A command on one master's link; if it fails, that link is lost."""
        try:
            await command
        except Exception as exc:
            self._lost(node, exc)
            raise

    def _open(self, address: Address) -> NodeLink:
        node = self.links[address] = NodeLink(address, self.connect_timeout, self.poll)
        return node

    async def _read(self, node: NodeLink) -> None:
        """Hand over what one master sends until its connection fails."""
        try:
            while True:
                message = await node.pubsub.get_message(timeout=self.poll)
                if message is not None:
                    await self._on_message(node, message)
                _raise_if_cancelled()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - a lost node, MOVED, a dead link: resubscribe elsewhere
            self._lost(node, exc)

    async def _on_message(self, node: NodeLink, message: dict) -> None:
        kind, found = message["type"], self.channels.get(message["channel"])
        if kind == "smessage":
            self.metrics.bus_messages += 1
        if found is None:
            return
        room, is_events = found
        if kind == "smessage":
            await (self.on_event if is_events else self.on_ephemeral)(message["data"])
        elif kind == "ssubscribe" and is_events:
            if self.where.get(room) is node:
                self.confirmed.add(room)
                self.metrics.bus_rooms = len(self.confirmed)
            # Anything published before this confirmation is caught up from the log.
            self.link.changed.set()
        elif kind == "sunsubscribe" and is_events:
            if node.leaving.get(room):
                node.leaving[room] -= 1
                if not node.leaving[room]:
                    del node.leaving[room]
                if room not in self.where:
                    for channel in self._channels(room):
                        self.channels.pop(channel.encode(), None)
                if not node.rooms and not node.leaving:
                    self.dirty.set()  # the link can close
            elif self.where.get(room) is node:
                # Redis dropped it: the slot moved to another master.
                log.warning("sharded bus: %s moved; resubscribing on its new owner", room)
                node.rooms.discard(room)
                del self.where[room]
                self._unconfirm(room)
                self.owners = None
                self.dirty.set()

    def _unconfirm(self, room: str) -> None:
        self.confirmed.discard(room)
        self.metrics.bus_rooms = len(self.confirmed)

    def _lost(self, node: NodeLink, exc: Exception) -> None:
        if self.links.get(node.address) is not node:
            return  # already handled
        log.warning("sharded bus: lost %s:%d (%s); resubscribing its %d rooms", *node.address, exc, len(node.rooms))
        del self.links[node.address]
        for room in node.rooms:
            if self.where.get(room) is node:
                del self.where[room]
                self._unconfirm(room)
        node.rooms.clear()
        if node.reader is asyncio.current_task():
            node.reader = None  # ending by itself: aclose must not cancel it
        task = asyncio.get_running_loop().create_task(node.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        self._down()
        self.dirty.set()
