"""The AsyncAPI 3 document of the real-time interface: every Socket.IO event
both ways, the envelope, and the Redis channel v2 (served by the gateway at
`/asyncapi.json` from `docs/asyncapi.json`).

The event data schemas come from the same marshmallow schemas the API dumps
the events with (through apispec, as the OpenAPI document does), so the two
documents cannot disagree. `python -m api.asyncapi > docs/asyncapi.json`
rewrites the file; a test fails when it is stale, and another when the API
records an event type this catalog does not name.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

import marshmallow as ma
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from api.mentorship import schemas as mentorship
from api.messaging import schemas as messaging
from api.schemas import PrincipalSchema


@dataclass(frozen=True)
class ServerEvent:
    """An event the gateway delivers: its envelope's `type`, the rooms it goes to,
    and the schema of its `data` (a marshmallow schema, or a JSON schema)."""

    name: str
    rooms: str
    summary: str
    data: ma.Schema | dict


@dataclass(frozen=True)
class ClientEvent:
    """An event a client emits, with the payload it takes and the ack it gets."""

    name: str
    summary: str
    payload: dict
    ack: dict


PRINCIPAL = {"type": "object", "required": ["role", "id"],
             "properties": {"role": {"type": "string", "enum": ["mentor", "student", "admin", "service"]},
                            "id": {"type": "integer", "minimum": 1}}}
FAILED_ACK = {"type": "object", "required": ["ok", "error"],
              "properties": {"ok": {"const": False}, "error": {"type": "string"}, "message": {"type": "string"}}}


def _ack(**properties: Any) -> dict:
    ok = {"type": "object", "required": ["ok"], "properties": {"ok": {"const": True}, **properties}}
    return {"oneOf": [ok, FAILED_ACK]}


def _object(required: list[str], **properties: Any) -> dict:
    return {"type": "object", "required": required, "properties": properties}


MEMBERSHIP = _object(["conversation_id", "principal"], conversation_id={"type": "integer"}, principal=PRINCIPAL)
PERSONAL = "the personal room of each principal concerned (`mentor:<id>`, `student:<id>`, ...)"
CONVERSATION = "`conversation:<id>`"

SERVER_EVENTS: tuple[ServerEvent, ...] = (
    ServerEvent("message:created", CONVERSATION, "A message was sent.", messaging.message_out),
    ServerEvent("message:updated", CONVERSATION, "A message was edited.", messaging.message_out),
    ServerEvent("message:deleted", CONVERSATION, "A message was deleted (its body is null).", messaging.message_out),
    ServerEvent("reaction:added", CONVERSATION, "Someone reacted; `count` is the emoji's new total.",
                messaging.reaction_event_out),
    ServerEvent("reaction:removed", CONVERSATION, "A reaction was taken back.", messaging.reaction_event_out),
    ServerEvent("conversation:created", PERSONAL, "The principal is in a new conversation (the gateway joins"
                " their sockets to its room).", messaging.summary_out),
    ServerEvent("conversation:read", f"{CONVERSATION} (a broadcast recipient's own room)",
                "A member's read marker moved.", messaging.marker_out),
    ServerEvent("conversation:updated", PERSONAL, "The caller's own settings (archived, muted, pinned) changed.",
                messaging.settings_out),
    ServerEvent("conversation:deleted", f"{CONVERSATION}, or the caller's personal room for delete-for-me",
                "A conversation was deleted for everyone, or for the caller.", messaging.deleted_out),
    ServerEvent("participant:added", f"{CONVERSATION} and the member's personal room",
                "A member joined (the gateway joins their sockets to the room).", MEMBERSHIP),
    ServerEvent("participant:removed", f"{CONVERSATION} and the member's personal room",
                "A member left or was removed (their sockets leave the room).", MEMBERSHIP),
    ServerEvent("notification:created", PERSONAL, "A new notification.", messaging.notification_out),
    ServerEvent("notification:updated", PERSONAL, "A coalesced notification took a newer message (upsert by id).",
                messaging.notification_out),
    ServerEvent("broadcast:created", "the audience room (`everyone`, `mentors`, `students`, `admins`)",
                "An admin broadcast.", messaging.broadcast_event_out),
    *(ServerEvent(f"relationship:{verb}", PERSONAL, f"A mentorship relationship was {verb}.",
                  mentorship.relationship_out)
      for verb in ("requested", "accepted", "declined", "cancelled", "ended")),
    *(ServerEvent(f"goal:{verb}", PERSONAL, f"A goal of a relationship was {verb}.", mentorship.goal_out)
      for verb in ("created", "updated", "deleted")),
    ServerEvent("activity:created", PERSONAL, "A relationship's log has a new entry (a note, a change).",
                mentorship.activity_out),
    *(ServerEvent(f"session:{verb}", "the host's and each attendee's personal room", f"A session was {verb}.",
                  mentorship.session_out)
      for verb in ("created", "updated", "cancelled", "completed")),
    ServerEvent("session:attendance", "the host's and each attendee's personal room", "Attendance was recorded.",
                mentorship.session_out),
    ServerEvent("session:reminder", "the host's and each attendee's personal room",
                "A session starts in `minutes_before` minutes (once per SESSION_REMINDER_MINUTES offset).",
                {"allOf": [{"$ref": "#/components/schemas/session"},
                           _object(["minutes_before"], minutes_before={"type": "integer"})]}),
    ServerEvent("dashboard:updated", "the owner's personal room",
                "Figures of the owner's dashboard changed (debounced; only the changed ones).",
                _object(["figures"], figures={"type": "object"})),
)
# Sent by the gateway itself, not from the log: no envelope.
GATEWAY_EVENTS = {
    "presence": ("A principal you share a conversation with came online, changed status or went offline.",
                 _object(["principal", "online"], principal=PRINCIPAL, online={"type": "boolean"},
                         status={"type": "string", "enum": ["online", "away", "dnd", "offline"]},
                         last_seen={"type": ["string", "null"], "format": "date-time"})),
    "typing": ("A participant started or stopped typing.",
               _object(["conversation_id", "principal", "typing"], conversation_id={"type": "integer"},
                       principal=PRINCIPAL, typing={"type": "boolean"})),
    "resync": ("Too much was missed to replay: reload over REST (`GET /api/v1/events?after=`).",
               _object(["after"], after={"type": ["integer", "null"]})),
}
CLIENT_EVENTS: tuple[ClientEvent, ...] = (
    ClientEvent("sync", "Replay what was missed after `last_event_id`.",
                _object(["last_event_id"], last_event_id={"type": "integer", "minimum": 0}),
                _ack(replayed={"type": "integer"}, resync={"type": "boolean"},
                     last_event_id={"type": ["integer", "null"]})),
    ClientEvent("typing", "Say whether the caller is typing in a conversation they are in.",
                _object(["conversation_id", "typing"], conversation_id={"type": "integer"}, typing={"type": "boolean"}),
                _ack()),
    ClientEvent("presence:query", "Ask who of these principals is online (at most 100).",
                _object(["principals"], principals={"type": "array", "maxItems": 100, "items": PRINCIPAL}),
                _ack(principals={"type": "array", "items": {"type": "object"}})),
    ClientEvent("presence:set", "Set the caller's status.",
                _object(["status"], status={"type": "string", "enum": ["online", "away", "dnd"]}),
                _ack(status={"type": "string"})),
    ClientEvent("auth:refresh", "Extend the socket's life with a fresh token for the same principal.",
                _object(["token"], token={"type": "string"}), _ack(exp={"type": "integer"})),
)


def _key(name: str) -> str:
    return name.replace(":", "_")


def _converter():
    spec = APISpec("events", "1", "3.0.3", plugins=[MarshmallowPlugin(schema_name_resolver=lambda schema: None)])
    return spec.plugins[0].converter


def document() -> dict:
    """The whole AsyncAPI 3.0 document, deterministic (sorted keys when dumped)."""
    converter = _converter()
    schemas: dict[str, Any] = {
        "principal": converter.schema2jsonschema(PrincipalSchema()),
        "session": converter.schema2jsonschema(mentorship.session_out),
    }
    envelope = converter.schema2jsonschema(messaging.EventOut())
    envelope["description"] = ("Every logged event arrives in this envelope: `id` (the log's, increasing; keep the"
                               " last one for `auth.last_event_id` and `sync`), `room`, `seq` (per room, gapless:"
                               " a gap means call `sync`), `ts`, `data`.")
    schemas["envelope"] = envelope
    messages: dict[str, Any] = {}
    for event in SERVER_EVENTS:
        data = event.data if isinstance(event.data, dict) else converter.schema2jsonschema(event.data)
        messages[_key(event.name)] = {
            "name": event.name, "title": event.name, "summary": event.summary,
            "description": f"To {event.rooms}.",
            "payload": {"allOf": [{"$ref": "#/components/schemas/envelope"},
                                  {"type": "object", "properties": {"type": {"const": event.name}, "data": data}}]},
        }
    for name, (summary, payload) in GATEWAY_EVENTS.items():
        messages[_key(name)] = {"name": name, "title": name, "summary": summary, "payload": payload}
    for event in CLIENT_EVENTS:
        messages[_key(event.name)] = {"name": event.name, "title": event.name, "summary": event.summary,
                                      "payload": event.payload}
        messages[_key(event.name) + "_ack"] = {"name": f"{event.name} ack", "title": f"{event.name} ack",
                                               "payload": event.ack}
    outgoing = [_key(e.name) for e in SERVER_EVENTS] + [_key(n) for n in GATEWAY_EVENTS]
    socket_messages = {key: {"$ref": f"#/components/messages/{key}"} for key in messages}
    operations: dict[str, Any] = {
        "deliver": {"action": "send", "channel": {"$ref": "#/channels/socket"},
                    "summary": "What the gateway sends each socket: the events of its rooms, presence and typing.",
                    "messages": [{"$ref": f"#/channels/socket/messages/{key}"} for key in outgoing]},
        "publish": {"action": "receive", "channel": {"$ref": "#/channels/events"},
                    "summary": "What the gateway takes from Redis (the API publishes every committed batch).",
                    "messages": [{"$ref": "#/channels/events/messages/batch"}]},
    }
    for event in CLIENT_EVENTS:
        key = _key(event.name)
        operations[f"on_{key}"] = {
            "action": "receive", "channel": {"$ref": "#/channels/socket"}, "summary": event.summary,
            "messages": [{"$ref": f"#/channels/socket/messages/{key}"}],
            "reply": {"channel": {"$ref": "#/channels/socket"},
                      "messages": [{"$ref": f"#/channels/socket/messages/{key}_ack"}]},
        }
    batch = {
        "name": "batch", "title": "channel v2 message",
        "summary": "A signed batch of envelopes; gateways drop what is unsigned, forged, older than EVENTS_MAX_AGE"
                   " or seen before.",
        "payload": _object(["v", "ts", "data", "sig"], v={"const": 2}, ts={"type": "integer"},
                           data={"type": "string", "description": "JSON array of envelopes, as a string"},
                           sig={"type": "string", "description": "hex HMAC-SHA256 of '<ts>.<data>' with"
                                                                 " EVENTS_SIGNING_SECRET"}),
    }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Mentorship and messaging real-time gateway", "version": "1.1",
                 "description": "Socket.IO v4 (namespace `/`, path `/socket.io/`): connect with `auth: {token,"
                                " last_event_id}`; events arrive in the envelope. See the README's real-time"
                                " gateway section."},
        "defaultContentType": "application/json",
        "servers": {
            "gateway": {"host": "127.0.0.1:8000", "pathname": "/socket.io/", "protocol": "ws",
                        "description": "Socket.IO over WebSocket (or HTTP long-polling)"},
            "redis": {"host": "127.0.0.1:6379", "protocol": "redis", "description": "the event channel"},
        },
        "channels": {
            "socket": {"address": "/", "servers": [{"$ref": "#/servers/gateway"}], "messages": socket_messages},
            "events": {"address": "rt:events", "description": "EVENTS_CHANNEL (default `rt:events`)",
                       "servers": [{"$ref": "#/servers/redis"}], "messages": {"batch": batch}},
        },
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    }


def main() -> None:
    json.dump(document(), sys.stdout, indent=1, sort_keys=True, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
