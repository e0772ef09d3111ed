"""The shapes of the messaging endpoints (shape only; rules live in the logic modules)."""
from __future__ import annotations

import re

import marshmallow as ma
from marshmallow import validate

from api.schemas import (
    MAX_ID,
    DictOrEmpty,
    Flag,
    Id,
    Limit,
    MemberSchema,
    Number,
    OutSchema,
    PrincipalId,
    PrincipalRef,
    PrincipalSchema,
    Timestamp,
    known_timezone,
    not_blank,
)
from shared import rooms

# `<activity micros>_<id>`, after a pinned row `p<activity micros>_<id>` (pinned ones come first).
CURSOR = re.compile(r"^p?\d{1,19}_\d{1,19}$")
CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
EMAIL_CHOICES = ("off", "instant", "hourly", "daily", "weekly")


TYPE_PATTERN = r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$"
_NAMED_ROOMS = "|".join([rooms.ADMINS, *rooms.AUDIENCE_ROOMS.values()])
ROOM_PATTERN = rf"^({_NAMED_ROOMS}|(conversation|mentor|student|admin|service):[1-9][0-9]{{0,18}})$"
CONTEXT_KIND = r"[a-z][a-z0-9_]{0,31}"
CONTEXT_FILTER = re.compile(rf"^({CONTEXT_KIND}):([1-9][0-9]{{0,18}})$")
TEAM_SIZE = 500  # members of one team's roster


class ContextSchema(OutSchema):
    """What a group or team conversation is about: `{"kind": "exercise", "id": 12}`."""

    kind = ma.fields.String(required=True, validate=validate.Regexp(rf"^{CONTEXT_KIND}$",
                                                                     error="a lowercase word (a-z, 0-9, _)"))
    id = Id(required=True)


class ConversationCreate(ma.Schema):
    type = ma.fields.String(required=True, validate=validate.OneOf(["direct", "group", "team"]))
    # Required for direct and group; a team conversation's members are the team's roster.
    participants = ma.fields.List(ma.fields.Nested(MemberSchema), validate=validate.Length(1, 200))
    title = ma.fields.String(validate=[validate.Length(1, 200)], allow_none=True)
    team_id = PrincipalId()
    context = ma.fields.Nested(ContextSchema)

    @ma.validates_schema
    def fits_the_type(self, data, **kwargs):
        if data["type"] != "team" and "participants" not in data:
            raise ma.ValidationError("Missing data for required field.", "participants")
        if data["type"] == "team" and "participants" in data:
            raise ma.ValidationError("a team conversation's members are the team's roster", "participants")
        if data["type"] != "team" and "team_id" in data:
            raise ma.ValidationError("only team conversations belong to a team", "team_id")
        if data["type"] == "direct" and "context" in data:
            raise ma.ValidationError("direct conversations have no context", "context")


class TeamMembersIn(ma.Schema):
    members = ma.fields.List(ma.fields.Nested(MemberSchema), required=True, validate=validate.Length(0, TEAM_SIZE))
    # The title of the team's conversation when this call creates it.
    title = ma.fields.String(validate=[validate.Length(1, 200)], allow_none=True)


class ParticipantsAdd(ma.Schema):
    participants = ma.fields.List(ma.fields.Nested(MemberSchema), required=True, validate=validate.Length(1, 200))


def _context_filter(value: str) -> None:
    found = CONTEXT_FILTER.match(value)
    if found is None or int(found.group(2)) > MAX_ID:
        raise ma.ValidationError("`kind:id`, e.g. `exercise:12`")


class ConversationListQuery(ma.Schema):
    limit = Limit(20, 100)
    before = ma.fields.String(validate=validate.Regexp(CURSOR, error="not a cursor from next_before"))
    context = ma.fields.String(validate=_context_filter)
    archived = Flag(strict=False, load_default=False)
    q = ma.fields.String(validate=[validate.Length(1, 100), not_blank])


class ConversationSettings(ma.Schema):
    archived = Flag()
    pinned = Flag()
    # With an offset; in the past (or null) unmutes.
    muted_until = ma.fields.AwareDateTime(format="iso", allow_none=True)

    @ma.validates_schema
    def something(self, data, **kwargs):
        if not data:
            raise ma.ValidationError("give at least one of `archived`, `muted_until`, `pinned`", "_schema")


class ConversationDeleteQuery(ma.Schema):
    scope = ma.fields.String(data_key="for", load_default="me", validate=validate.OneOf(["me", "everyone"]))


class MessageListQuery(ma.Schema):
    before = Id(strict=False)
    after = Id(strict=False)
    limit = Limit(50, 100)


def _distinct(ids: list[int]) -> None:
    if len(set(ids)) != len(ids):
        raise ma.ValidationError("ids must be distinct")


class MessageCreate(ma.Schema):
    # Length is checked against the configured maximum in sending.check_body;
    # a message with attachments may have no text.
    body = ma.fields.String()
    parent_id = Id(allow_none=True)
    client_msg_id = ma.fields.String(validate=[validate.Length(1, 64)], allow_none=True)
    attachment_ids = ma.fields.List(Id(), load_default=list, validate=[validate.Length(max=10), _distinct])

    @ma.validates_schema
    def body_or_files(self, data, **kwargs):
        if "body" not in data and not data.get("attachment_ids"):
            raise ma.ValidationError("Missing data for required field.", "body")


class MessageEdit(ma.Schema):
    body = ma.fields.String(required=True)


class ReadMarker(ma.Schema):
    message_id = Id(required=True)


class SearchQuery(ma.Schema):
    q = ma.fields.String(required=True, validate=[validate.Length(1, 200)])
    limit = Limit(20, 100)
    before = Id(strict=False)


class NotificationQuery(ma.Schema):
    unread = Flag(strict=False)
    limit = Limit(50, 100)
    before = Id(strict=False)


class NotificationsRead(ma.Schema):
    ids = ma.fields.List(Id(), validate=validate.Length(1, 500))
    all = Flag()

    @ma.validates_schema
    def one_of(self, data, **kwargs):
        if not data.get("ids") and not data.get("all"):
            raise ma.ValidationError("give `ids` or `all: true`", "_schema")


class QuietHours(ma.Schema):
    """Push and email wait while the local time is in [start, end); end before start runs past midnight."""

    start = ma.fields.String(required=True, validate=validate.Regexp(CLOCK, error="not a time HH:MM (00:00-23:59)"))
    end = ma.fields.String(required=True, validate=validate.Regexp(CLOCK, error="not a time HH:MM (00:00-23:59)"))
    timezone = ma.fields.String(required=True, validate=known_timezone)

    @ma.validates_schema
    def not_empty(self, data, **kwargs):
        if data.get("start") is not None and data.get("start") == data.get("end"):
            raise ma.ValidationError("start and end are the same time", "end")


class NotificationTypes(ma.Schema):
    """Each notification type on (`true`) or off; a type left out is on."""

    message = Flag()
    mention = Flag()
    relationship = Flag()
    session = Flag()
    broadcast = Flag()


class NotificationPreferencesIn(ma.Schema):
    """The whole of the caller's preferences; what is left out takes its default."""

    types = ma.fields.Nested(NotificationTypes)
    push = Flag()
    email = ma.fields.String(validate=validate.OneOf(EMAIL_CHOICES))
    quiet_hours = ma.fields.Nested(QuietHours, allow_none=True)


class QuietHoursOut(OutSchema):
    start = ma.fields.String()
    end = ma.fields.String()
    timezone = ma.fields.String()


class NotificationTypesOut(OutSchema):
    message = ma.fields.Boolean()
    mention = ma.fields.Boolean()
    relationship = ma.fields.Boolean()
    session = ma.fields.Boolean()
    broadcast = ma.fields.Boolean()


class NotificationPreferencesOut(OutSchema):
    types = ma.fields.Nested(NotificationTypesOut)
    push = ma.fields.Boolean()
    email = ma.fields.String()
    quiet_hours = ma.fields.Nested(QuietHoursOut, allow_none=True)
    updated_at = Timestamp(allow_none=True)


class BlockIn(MemberSchema):
    pass


class BroadcastCreate(ma.Schema):
    audience = ma.fields.String(required=True, validate=validate.OneOf(["all", "mentors", "students"]))
    title = ma.fields.String(required=True, validate=[validate.Length(1, 200)])
    body = ma.fields.String(required=True, validate=[validate.Length(1, 10_000)])


class EventIn(ma.Schema):
    room = ma.fields.String(validate=validate.Regexp(ROOM_PATTERN, error="not a room name"))
    to = ma.fields.Nested(PrincipalSchema)
    type = ma.fields.String(
        required=True,
        validate=[validate.Length(max=64), validate.Regexp(TYPE_PATTERN, error="type is `resource:verb`")],
    )
    data = ma.fields.Dict(load_default=dict)

    @ma.validates_schema
    def one_target(self, values, **kwargs):
        if ("room" in values) == ("to" in values):
            raise ma.ValidationError("give exactly one of `room` or `to`", "room")


class AttachmentQuery(ma.Schema):
    thumbnail = Flag(strict=False, load_default=False)


class EventsQuery(ma.Schema):
    after = Number(0, MAX_ID, strict=False, load_default=0)
    limit = Limit(100, 1000)


# Out

class ContextRef(ma.fields.Nested):
    """A conversation's context from its two columns; null when it has none."""

    _CHECK_ATTRIBUTE = False

    def __init__(self, **kwargs) -> None:
        super().__init__(ContextSchema, allow_none=True, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        kind = obj.context_kind
        return None if kind is None else {"kind": kind, "id": obj.context_id}


class _BodyUnlessDeleted(ma.fields.String):
    """The body, or null once the message is deleted."""

    _CHECK_ATTRIBUTE = False

    def _serialize(self, value, attr, obj, **kwargs):
        return None if obj.deleted_at is not None else obj.body


class ReactionCount(OutSchema):
    emoji = ma.fields.String()
    count = ma.fields.Integer()
    mine = ma.fields.Boolean()


class _AttachmentUrl(ma.fields.String):
    """Where the file (or its thumbnail, null when there is none) is fetched, with the caller's token."""

    _CHECK_ATTRIBUTE = False

    def __init__(self, thumbnail: bool = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.thumbnail = thumbnail

    def _serialize(self, value, attr, obj, **kwargs):
        if not self.thumbnail:
            return f"/api/v1/attachments/{obj.id}"
        return f"/api/v1/attachments/{obj.id}?thumbnail=1" if obj.thumbnail_key else None


class AttachmentOut(OutSchema):
    """An uploaded file; `width`, `height` and `thumbnail` for images, null otherwise."""

    id = ma.fields.Integer()
    name = ma.fields.String()
    content_type = ma.fields.String()
    size = ma.fields.Integer()
    width = ma.fields.Integer(allow_none=True)
    height = ma.fields.Integer(allow_none=True)
    url = _AttachmentUrl()
    thumbnail = _AttachmentUrl(thumbnail=True, allow_none=True)


class MessageOut(OutSchema):
    """A message; `reactions` added by api/messaging/reacting.py (not in message events: `mine` is per reader)."""

    id = ma.fields.Integer()
    conversation_id = ma.fields.Integer()
    sender = PrincipalRef("sender_role", "sender_id")
    body = _BodyUnlessDeleted(allow_none=True)
    parent_id = ma.fields.Integer(allow_none=True)
    reply_count = ma.fields.Integer()
    client_msg_id = ma.fields.String(allow_none=True)
    created_at = Timestamp()
    edited_at = Timestamp(allow_none=True)
    deleted_at = Timestamp(allow_none=True)
    reactions = ma.fields.List(ma.fields.Nested(ReactionCount))
    attachments = ma.fields.List(ma.fields.Nested(AttachmentOut))


class ReactionsOut(OutSchema):
    message_id = ma.fields.Integer()
    reactions = ma.fields.List(ma.fields.Nested(ReactionCount))


class ReactionEvent(OutSchema):
    """The data of `reaction:added` and `reaction:removed`: the emoji's new count on the message."""

    message_id = ma.fields.Integer()
    conversation_id = ma.fields.Integer()
    emoji = ma.fields.String()
    count = ma.fields.Integer()
    principal = ma.fields.Nested(PrincipalSchema)


class MessagePage(OutSchema):
    messages = ma.fields.List(ma.fields.Nested(MessageOut))
    has_more = ma.fields.Boolean()
    order = ma.fields.String(metadata={"enum": ["asc", "desc"]})


class SearchPage(OutSchema):
    messages = ma.fields.List(ma.fields.Nested(MessageOut))
    next_before = ma.fields.Integer(allow_none=True)
    terms = ma.fields.List(ma.fields.String())


class ParticipantOut(OutSchema):
    role = ma.fields.String()
    id = ma.fields.Integer(attribute="principal_id")
    display_name = ma.fields.String(allow_none=True)  # from the mentor's profile or the student's needs
    joined_at = Timestamp()
    left_at = Timestamp(allow_none=True)
    last_read_message_id = ma.fields.Integer(allow_none=True)
    last_read_at = Timestamp(allow_none=True)


class ConversationOut(OutSchema):
    """A conversation, with `participants`, `last_message` and `unread` added by api/messaging/inbox.py."""

    id = ma.fields.Integer()
    type = ma.fields.String()
    title = ma.fields.String(allow_none=True)
    owner = PrincipalRef("owner_role", "owner_id", allow_none=True)
    relationship_id = ma.fields.Integer(allow_none=True)
    team_id = ma.fields.Integer(allow_none=True)
    context = ContextRef()
    created_at = Timestamp()
    last_activity_at = Timestamp()
    last_seq = ma.fields.Integer()
    participants = ma.fields.List(ma.fields.Nested(ParticipantOut))
    last_message = ma.fields.Nested(MessageOut, allow_none=True)
    unread = ma.fields.Integer()
    # The caller's own settings (PATCH /conversations/{id}/settings).
    archived = ma.fields.Boolean()
    pinned = ma.fields.Boolean()
    muted_until = Timestamp(allow_none=True)


class SettingsOut(OutSchema):
    """The data of `conversation:updated`, to the caller's personal room only: settings are private."""

    conversation_id = ma.fields.Integer()
    archived = ma.fields.Boolean()
    pinned = ma.fields.Boolean()
    muted_until = Timestamp(allow_none=True)


class ConversationDeleted(OutSchema):
    """The data of `conversation:deleted` and the answer of `DELETE /conversations/{id}`."""

    conversation_id = ma.fields.Integer()
    scope = ma.fields.String(data_key="for", metadata={"enum": ["me", "everyone"]})
    deleted_by = ma.fields.Nested(PrincipalSchema)


class ConversationPage(OutSchema):
    conversations = ma.fields.List(ma.fields.Nested(ConversationOut))
    next_before = ma.fields.String(allow_none=True)


class ConversationSummary(OutSchema):
    """The data of `conversation:created` events: the members as principals."""

    id = ma.fields.Integer()
    type = ma.fields.String()
    title = ma.fields.String(allow_none=True)
    relationship_id = ma.fields.Integer(allow_none=True)
    team_id = ma.fields.Integer(allow_none=True)
    context = ContextRef()
    participants = ma.fields.List(ma.fields.Nested(PrincipalSchema))
    created_at = Timestamp()


class MembersOut(OutSchema):
    conversation_id = ma.fields.Integer()
    participants = ma.fields.List(ma.fields.Nested(ParticipantOut))


class TeamMembersOut(OutSchema):
    """A team's roster after a change, what the change did, and the conversations that follow it."""

    team_id = ma.fields.Integer()
    members = ma.fields.List(ma.fields.Nested(PrincipalSchema))
    added = ma.fields.List(ma.fields.Nested(PrincipalSchema))
    removed = ma.fields.List(ma.fields.Nested(PrincipalSchema))
    conversation_ids = ma.fields.List(ma.fields.Integer())


class MarkerOut(OutSchema):
    """A read marker (`reader`'s participant row, with the reader added)."""

    conversation_id = ma.fields.Integer()
    principal = ma.fields.Nested(PrincipalSchema)
    last_read_message_id = ma.fields.Integer(allow_none=True)
    last_read_at = Timestamp(allow_none=True)


class UnreadCount(OutSchema):
    id = ma.fields.Integer()
    unread = ma.fields.Integer()


class UnreadOut(OutSchema):
    total = ma.fields.Integer()
    conversations = ma.fields.List(ma.fields.Nested(UnreadCount))
    notifications = ma.fields.Integer()


class NotificationOut(OutSchema):
    """A notification; a conversation's messages coalesce into one (`count`, the latest in `data` and `body`)."""

    id = ma.fields.Integer()
    type = ma.fields.String()
    title = ma.fields.String()
    body = ma.fields.String(allow_none=True)
    link = ma.fields.String(allow_none=True)
    data = DictOrEmpty()
    count = ma.fields.Integer()
    created_at = Timestamp()
    updated_at = Timestamp()
    read_at = Timestamp(allow_none=True)


class NotificationPage(OutSchema):
    notifications = ma.fields.List(ma.fields.Nested(NotificationOut))
    next_before = ma.fields.Integer(allow_none=True)


class NotificationsReadOut(OutSchema):
    updated = ma.fields.Integer()
    unread = ma.fields.Integer()


class BlockOut(OutSchema):
    principal = PrincipalRef("blocked_role", "blocked_id")
    created_at = Timestamp()


class BlockList(OutSchema):
    blocks = ma.fields.List(ma.fields.Nested(BlockOut))


class BroadcastOut(OutSchema):
    """A broadcast (api/messaging/broadcasting.py); `recipients` only in the response, not in its event."""

    conversation_id = ma.fields.Integer()
    message_id = ma.fields.Integer()
    audience = ma.fields.String()
    title = ma.fields.String()
    body = ma.fields.String()
    sender = ma.fields.Nested(PrincipalSchema)
    created_at = Timestamp()
    recipients = ma.fields.Integer()


class EventOut(OutSchema):
    """An event envelope, as the gateway delivers it."""

    id = ma.fields.Integer()
    type = ma.fields.String()
    room = ma.fields.String()
    seq = ma.fields.Integer(allow_none=True)
    ts = ma.fields.String()
    data = ma.fields.Dict()
    request_id = ma.fields.String()  # only when the event came from a request


class EventPage(OutSchema):
    events = ma.fields.List(ma.fields.Nested(EventOut))
    last_event_id = ma.fields.Integer()
    more = ma.fields.Boolean()


# One instance each, for the event payloads the logic writes.
message_out = MessageOut(exclude=("reactions",))
reaction_event_out = ReactionEvent()
settings_out = SettingsOut()
deleted_out = ConversationDeleted()
marker_out = MarkerOut()
notification_out = NotificationOut()
summary_out = ConversationSummary()
broadcast_event_out = BroadcastOut(exclude=("recipients",))
