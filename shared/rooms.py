"""The one place room names are built.

Rooms are never taken from client input: the gateway joins sockets only to
rooms computed here from a verified principal and the database.
"""
from __future__ import annotations

from shared.auth import Principal

ADMINS = "admins"
# Broadcast audiences -> the room every member of that audience is in.
AUDIENCE_ROOMS = {"all": "everyone", "mentors": "mentors", "students": "students"}
# Where the gateways log presence changes for the delivery worker's webhooks.
# No socket is ever joined to it (`base_rooms` and `conversation` cannot make
# it, `system` is no role) and the API's `POST /events` refuses it, so no
# client receives or forges these events; they only feed `presence:*` webhooks.
PRESENCE_LOG = "system:presence"


def personal(principal: Principal) -> str:
    return f"{principal.role}:{int(principal.id)}"


def conversation(conversation_id: int) -> str:
    return f"conversation:{int(conversation_id)}"


def audience(name: str) -> str:
    return AUDIENCE_ROOMS[name]


def base_rooms(principal: Principal) -> list[str]:
    """Rooms a principal is in by who they are, before any conversation."""
    rooms = [personal(principal), AUDIENCE_ROOMS["all"]]
    if principal.role == "admin":
        rooms.append(ADMINS)
    elif principal.role == "mentor":
        rooms.append(AUDIENCE_ROOMS["mentors"])
    elif principal.role == "student":
        rooms.append(AUDIENCE_ROOMS["students"])
    return rooms
