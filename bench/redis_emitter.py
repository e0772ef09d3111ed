"""@socket.io/redis-emitter's wire format, made in Python, and its proof.

What the emitter publishes for `emitter.to(room).emit(event, data)`: on
channel `<key>#/#<room>#`, the msgpack (notepack.io) encoding of
`["emitter", {"type": 2, "data": [event, data], "nsp": "/"},
{"rooms": [room], "flags": {}, "except": []}]`; the classic Redis adapter
pattern-subscribes to `<key>#/#*` and drops rooms it holds no socket in.

The bench publisher makes these bytes itself so that all three kinds go
through its one pacing loop and lean RESP writer. That they are the real
emitter's is not assumed: `verify` runs the real emitter once
(`bench/node/emit_once.js`) on a throwaway key and compares the bytes.
"""
from __future__ import annotations

import base64
import functools
import json
import os
import shutil
import struct
import subprocess

NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")


def _pack(value, out: bytearray) -> None:
    """The msgpack subset the message uses, encoded as notepack.io encodes it."""
    if isinstance(value, str):
        raw = value.encode()
        n = len(raw)
        if n < 32:
            out.append(0xA0 | n)
        elif n < 0x100:
            out += bytes((0xD9, n))
        elif n < 0x10000:
            out += b"\xda" + struct.pack(">H", n)
        else:
            out += b"\xdb" + struct.pack(">I", n)
        out += raw
    elif isinstance(value, bool) or value is None:
        out.append({None: 0xC0, False: 0xC2, True: 0xC3}[value])
    elif isinstance(value, int) and 0 <= value < 0x80:
        out.append(value)
    elif isinstance(value, list):
        out += bytes((0x90 | len(value),)) if len(value) < 16 else b"\xdc" + struct.pack(">H", len(value))
        for item in value:
            _pack(item, out)
    elif isinstance(value, dict):
        out += bytes((0x80 | len(value),)) if len(value) < 16 else b"\xde" + struct.pack(">H", len(value))
        for key, item in value.items():
            _pack(key, out)
            _pack(item, out)
    else:
        raise TypeError(f"bench.redis_emitter does not encode {type(value).__name__} {value!r}")


def _packed(value) -> bytes:
    out = bytearray()
    _pack(value, out)
    return bytes(out)


# The parts of a message that do not depend on the event (the publisher sends
# tens of thousands a second from a core it shares with the load client).
_HEAD = _packed(["emitter", {"type": 2, "data": [None, None], "nsp": "/"}, None])
_HEAD, _NSP = _HEAD[:_HEAD.index(b"\xa4data") + 6], _packed("nsp") + _packed("/")


@functools.lru_cache(maxsize=65536)
def _room_parts(key: str, room: str) -> tuple[str, bytes]:
    return f"{key}#/#{room}#", _packed({"rooms": [room], "flags": {}, "except": []})


def encode(key: str, room: str, event: str, data) -> tuple[str, bytes]:
    """(channel, message) as the emitter publishes `to(room).emit(event, data)`."""
    channel, opts = _room_parts(key, room)
    out = bytearray(_HEAD)
    _pack(event, out)
    _pack(data, out)
    return channel, bytes(out + _NSP + opts)


def node_binary() -> str:
    node = shutil.which("node")
    if node is None:
        raise SystemExit("bench: the node kind needs Node.js (`node` not on PATH); or pass --targets stock,ours")
    if not os.path.isdir(os.path.join(NODE_DIR, "node_modules")):
        raise SystemExit(f"bench: {NODE_DIR}/node_modules is missing: run `npm ci` there (bench/run does)")
    return node


def verify(redis_url: str, key: str) -> None:
    """Raise SystemExit unless our bytes equal the real emitter's for the same emits."""
    rooms, event, bt = ["student:1", "everyone"], "bench", "bt=12345.678901|42~"
    proc = subprocess.run(
        [node_binary(), os.path.join(NODE_DIR, "emit_once.js"), "--redis", redis_url, "--key", key,
         "--event", event, "--rooms", json.dumps(rooms), "--bt", bt],
        capture_output=True, text=True, timeout=30,
    )
    if proc.returncode != 0:
        raise SystemExit(f"bench: the real redis-emitter failed to run: {proc.stderr.strip()[:500]}")
    theirs = sorted((m["channel"], base64.b64decode(m["data"])) for m in map(json.loads, proc.stdout.split("\n")[:-1]))
    ours = sorted(encode(key, room, event, {"b": bt}) for room in rooms)
    if theirs != ours:
        raise SystemExit(f"bench: our redis-emitter bytes differ from the real emitter's:\n"
                         f" ours   {ours}\n theirs {theirs}")
