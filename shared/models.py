"""SQLAlchemy models for every table, on a plain DeclarativeBase.

Both processes import these: the API through flask-sqlalchemy
(`SQLAlchemy(model_class=Base)`), the gateway through a plain engine. The
MySQL DDL in `sql/` must match them; `tests/test_schema_drift.py` proves it.

Principals are `(role, id)` pairs from the existing site: a mentor 12 and a
student 12 are different people, so every reference to a person stores both.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Computed,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.timeutil import utcnow

# Microsecond timestamps on MySQL; SQLite keeps them anyway.
Timestamp = DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
# BIGINT ids on MySQL; SQLite only auto-increments INTEGER PRIMARY KEY.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Role = String(16)
# Event data holds a message body escaped as JSON: past TEXT's 64 KB on MySQL.
LongText = Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
# Compared byte for byte on MySQL: casefolded in Python, and distinct under unicode_ci rules.
BinaryTag = String(100).with_variant(mysql.VARCHAR(100, collation="utf8mb4_bin"), "mysql", "mariadb")
# Emoji compare by bytes: utf8mb4_unicode_ci weighs every emoji outside the BMP the same.
Emoji = String(64).with_variant(mysql.VARCHAR(64, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb")


class Base(DeclarativeBase):
    pass


class MentorProfile(Base):
    __tablename__ = "mentor_profiles"

    mentor_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sectors: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    skills: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    languages: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    # NULL means "the configured default".
    max_mentees: Mapped[Optional[int]] = mapped_column(Integer)
    accepting: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    # The directory card (GET /mentors): shown instead of "mentor:12".
    display_name: Mapped[Optional[str]] = mapped_column(String(100))
    headline: Mapped[Optional[str]] = mapped_column(String(200))
    bio: Mapped[Optional[str]] = mapped_column(Text)
    timezone: Mapped[Optional[str]] = mapped_column(String(64))  # IANA name
    # [{"weekday": 0-6, "start": "HH:MM", "end": "HH:MM"}] in the mentor's timezone.
    availability: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow, onupdate=utcnow)


class StudentNeeds(Base):
    __tablename__ = "student_needs"

    student_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sectors: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    skills: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    languages: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    goals: Mapped[Optional[str]] = mapped_column(Text)
    display_name: Mapped[Optional[str]] = mapped_column(String(100))
    bio: Mapped[Optional[str]] = mapped_column(Text)
    timezone: Mapped[Optional[str]] = mapped_column(String(64))  # IANA name
    # Listed in GET /students for mentors to offer mentorship.
    open_to_offers: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow, onupdate=utcnow)


class DirectoryTag(Base):
    """One casefolded item of a profile's or needs' sectors, skills or languages
    (`kind` sector|skill|language): what the directory's filters join on, the
    same on MariaDB and SQLite (api/mentorship/editing.py keeps it in step)."""

    __tablename__ = "directory_tags"
    __table_args__ = (Index("ix_directory_tags_lookup", "role", "kind", "tag", "principal_id"),)

    role: Mapped[str] = mapped_column(Role, primary_key=True)
    principal_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    tag: Mapped[str] = mapped_column(BinaryTag, primary_key=True)


class Relationship(Base):
    """A mentor-student pairing and its lifecycle.

    The two generated columns carry the invariants into the database, so they
    hold under concurrency: `active_student_id` is non-NULL only while active
    and unique (one active mentor per student); `pending_mentor_id` is
    non-NULL only while pending and unique with the student (one pending
    request per pair). NULLs never collide in a unique index.
    """

    __tablename__ = "relationships"
    __table_args__ = (
        UniqueConstraint("active_student_id", name="uq_relationships_active_student"),
        UniqueConstraint("student_id", "pending_mentor_id", name="uq_relationships_pending_pair"),
        Index("ix_relationships_mentor_status", "mentor_id", "status"),
        Index("ix_relationships_student_status", "student_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mentor_id: Mapped[int] = mapped_column(Integer, nullable=False)
    student_id: Mapped[int] = mapped_column(Integer, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    requested_by: Mapped[str] = mapped_column(Role, nullable=False)
    request_message: Mapped[Optional[str]] = mapped_column(Text)
    match_score: Mapped[Optional[int]] = mapped_column(Integer)
    response_reason: Mapped[Optional[str]] = mapped_column(Text)
    end_reason: Mapped[Optional[str]] = mapped_column(Text)
    ended_by_role: Mapped[Optional[str]] = mapped_column(Role)
    ended_by_id: Mapped[Optional[int]] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow, onupdate=utcnow)
    responded_at: Mapped[Optional[dt.datetime]] = mapped_column(Timestamp)
    ended_at: Mapped[Optional[dt.datetime]] = mapped_column(Timestamp)
    active_student_id: Mapped[Optional[int]] = mapped_column(
        Integer, Computed("CASE WHEN status = 'active' THEN student_id END", persisted=True)
    )
    pending_mentor_id: Mapped[Optional[int]] = mapped_column(
        Integer, Computed("CASE WHEN status = 'pending' THEN mentor_id END", persisted=True)
    )


class Goal(Base):
    __tablename__ = "goals"
    __table_args__ = (Index("ix_goals_relationship", "relationship_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    relationship_id: Mapped[int] = mapped_column(
        ForeignKey("relationships.id", name="fk_goals_relationship"), nullable=False
    )
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[Optional[str]] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="not_started")
    priority: Mapped[str] = mapped_column(String(8), nullable=False, default="medium")
    progress: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    target_date: Mapped[Optional[dt.date]] = mapped_column(Date)
    completed_at: Mapped[Optional[dt.datetime]] = mapped_column(Timestamp)
    created_by_role: Mapped[str] = mapped_column(Role, nullable=False)
    created_by_id: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow, onupdate=utcnow)


class Activity(Base):
    """Append-only log of what happened in a relationship."""

    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_relationship", "relationship_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    relationship_id: Mapped[int] = mapped_column(
        ForeignKey("relationships.id", name="fk_activities_relationship"), nullable=False
    )
    actor_role: Mapped[str] = mapped_column(Role, nullable=False)
    actor_id: Mapped[int] = mapped_column(Integer, nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    text: Mapped[Optional[str]] = mapped_column(Text)
    details: Mapped[Optional[dict]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)


class Conversation(Base):
    """A conversation; `direct_key` makes a direct pair unique, `last_seq`
    numbers the events of its room so clients can spot gaps."""

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("direct_key", name="uq_conversations_direct_key"),
        UniqueConstraint("relationship_id", name="uq_conversations_relationship"),
        UniqueConstraint("context_key", name="uq_conversations_context_key"),
        Index("ix_conversations_activity", "last_activity_at", "id"),
        Index("ix_conversations_team", "team_id"),
        Index("ix_conversations_context", "context_kind", "context_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(16), nullable=False)
    title: Mapped[Optional[str]] = mapped_column(String(200))
    owner_role: Mapped[Optional[str]] = mapped_column(Role)
    owner_id: Mapped[Optional[int]] = mapped_column(Integer)
    relationship_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("relationships.id", name="fk_conversations_relationship")
    )
    direct_key: Mapped[Optional[str]] = mapped_column(String(64))
    # A `team` conversation follows this team's roster (api/messaging/rostering.py);
    # no foreign key, so adding the column leaves the table in place on SQLite.
    team_id: Mapped[Optional[int]] = mapped_column(Integer)
    # What a group or team conversation is about (`exercise` 12); `context_key`
    # makes it one conversation per context and type (and team).
    context_kind: Mapped[Optional[str]] = mapped_column(String(32))
    context_id: Mapped[Optional[int]] = mapped_column(BigInteger)
    context_key: Mapped[Optional[str]] = mapped_column(String(100))
    last_message_id: Mapped[Optional[int]] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    last_activity_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)
    # An admin deleted it for everyone: gone from every list, its text cleared.
    deleted_at: Mapped[Optional[dt.datetime]] = mapped_column(Timestamp)


class Team(Base):
    """A team of the existing site, as far as its roster: the row a roster change locks."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow, onupdate=utcnow)


class TeamMember(Base):
    """One member of a team's roster, as the site last sent it."""

    __tablename__ = "team_members"
    __table_args__ = (
        UniqueConstraint("team_id", "role", "principal_id", name="uq_team_members_member"),
        Index("ix_team_members_principal", "role", "principal_id", "team_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", name="fk_team_members_team"), nullable=False)
    role: Mapped[str] = mapped_column(Role, nullable=False)
    principal_id: Mapped[int] = mapped_column(Integer, nullable=False)
    added_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)


class Participant(Base):
    """Membership plus the read marker: one row per member, not per message."""

    __tablename__ = "participants"
    __table_args__ = (
        UniqueConstraint("conversation_id", "role", "principal_id", name="uq_participants_member"),
        Index("ix_participants_principal", "role", "principal_id", "conversation_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", name="fk_participants_conversation"), nullable=False
    )
    role: Mapped[str] = mapped_column(Role, nullable=False)
    principal_id: Mapped[int] = mapped_column(Integer, nullable=False)
    joined_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)
    # A former member keeps read access up to the last message before leaving.
    left_at: Mapped[Optional[dt.datetime]] = mapped_column(Timestamp)
    left_message_id: Mapped[Optional[int]] = mapped_column(BigInteger)
    left_seq: Mapped[Optional[int]] = mapped_column(BigInteger)  # the room's seq when they left
    last_read_message_id: Mapped[Optional[int]] = mapped_column(BigInteger)
    last_read_at: Mapped[Optional[dt.datetime]] = mapped_column(Timestamp)
    # No notifications until then (unread still counts); NULL = not muted.
    muted_until: Mapped[Optional[dt.datetime]] = mapped_column(Timestamp)
    # A broadcast's recipient: reads and marks read, cannot post, listed to nobody else.
    read_only: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    # Archived until a message comes after this, unless muted when it came (api/messaging/participant_settings.py).
    archived_at: Mapped[Optional[dt.datetime]] = mapped_column(Timestamp)
    pinned_at: Mapped[Optional[dt.datetime]] = mapped_column(Timestamp)
    # Delete-for-me: the participant no longer sees messages up to this id, nor events up to this seq.
    cleared_message_id: Mapped[Optional[int]] = mapped_column(BigInteger)
    cleared_seq: Mapped[Optional[int]] = mapped_column(BigInteger)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation", "conversation_id", "id"),
        Index("ix_messages_parent", "parent_id"),
        Index("ix_messages_created", "created_at"),
        UniqueConstraint("sender_role", "sender_id", "client_msg_id", name="uq_messages_client_msg"),
        Index("ft_messages_body", "body", mysql_prefix="FULLTEXT", mariadb_prefix="FULLTEXT").ddl_if(
            dialect=("mysql", "mariadb")  # type: ignore[arg-type]  # documented: str or tuple
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", name="fk_messages_conversation"), nullable=False
    )
    sender_role: Mapped[str] = mapped_column(Role, nullable=False)
    sender_id: Mapped[int] = mapped_column(Integer, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    parent_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("messages.id", name="fk_messages_parent"))
    client_msg_id: Mapped[Optional[str]] = mapped_column(String(64))
    reply_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)
    edited_at: Mapped[Optional[dt.datetime]] = mapped_column(Timestamp)
    deleted_at: Mapped[Optional[dt.datetime]] = mapped_column(Timestamp)
    # Every message payload lists its files: loaded for a whole page in one
    # query (selectin), never one per message. A new message is given its list.
    attachments: Mapped[list["Attachment"]] = relationship(lazy="selectin", order_by="Attachment.id")


class Attachment(Base):
    """An uploaded file, kept in the storage under `storage_key` (and its
    thumbnail under `thumbnail_key`). Unattached (`message_id` NULL) until its
    uploader sends it with a message; left unattached, it is swept."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_message", "message_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    uploader_role: Mapped[str] = mapped_column(Role, nullable=False)
    uploader_id: Mapped[int] = mapped_column(Integer, nullable=False)
    message_id: Mapped[Optional[int]] = mapped_column(BigId, ForeignKey("messages.id", name="fk_attachments_message"))
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    content_type: Mapped[str] = mapped_column(String(100), nullable=False)
    size: Mapped[int] = mapped_column(BigInteger, nullable=False)
    width: Mapped[Optional[int]] = mapped_column(Integer)
    height: Mapped[Optional[int]] = mapped_column(Integer)
    storage_key: Mapped[str] = mapped_column(String(64), nullable=False)
    thumbnail_key: Mapped[Optional[str]] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)


class Reaction(Base):
    """One emoji of one principal on one message."""

    __tablename__ = "reactions"
    __table_args__ = (UniqueConstraint("message_id", "role", "principal_id", "emoji", name="uq_reactions_one"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    message_id: Mapped[int] = mapped_column(BigId, ForeignKey("messages.id", name="fk_reactions_message"),
                                            nullable=False)
    role: Mapped[str] = mapped_column(Role, nullable=False)
    principal_id: Mapped[int] = mapped_column(Integer, nullable=False)
    emoji: Mapped[str] = mapped_column(Emoji, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)


class Notification(Base):
    """An in-app notification. A conversation's messages coalesce: while a recipient
    has an unread `message` (or `mention`) notification of a conversation, a new
    message updates it (`count`, the latest message, `updated_at`) instead of
    adding a row (api/messaging/notifying.py)."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_recipient", "recipient_role", "recipient_id", "id"),
        Index("ix_notifications_message", "message_id"),
        Index("ix_notifications_conversation", "conversation_id", "read_at", "recipient_role", "recipient_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recipient_role: Mapped[str] = mapped_column(Role, nullable=False)
    recipient_id: Mapped[int] = mapped_column(Integer, nullable=False)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    body: Mapped[Optional[str]] = mapped_column(Text)
    link: Mapped[Optional[str]] = mapped_column(String(500))
    data: Mapped[Optional[dict]] = mapped_column(JSON)
    # The message it is about; a broadcast's notification copies its text (api/messaging/redaction.py).
    message_id: Mapped[Optional[int]] = mapped_column(BigInteger)
    # The conversation whose messages it coalesces; NULL for other notifications.
    conversation_id: Mapped[Optional[int]] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)
    read_at: Mapped[Optional[dt.datetime]] = mapped_column(Timestamp)


class NotificationPreference(Base):
    """A principal's notification settings; no row = the defaults (everything on).

    One column per type so the send path filters recipients in SQL; the
    `push`, `email` and quiet-hours fields are read by the delivery to people
    who are away (api/messaging/preferences.py)."""

    __tablename__ = "notification_preferences"

    recipient_role: Mapped[str] = mapped_column(Role, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    message_on: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    mention_on: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    relationship_on: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    session_on: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    broadcast_on: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    push: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    email: Mapped[str] = mapped_column(String(16), nullable=False, default="daily")  # off|instant|hourly|daily|weekly
    # "HH:MM" in `quiet_timezone` (IANA); all three NULL = no quiet hours.
    quiet_start: Mapped[Optional[str]] = mapped_column(String(5))
    quiet_end: Mapped[Optional[str]] = mapped_column(String(5))
    quiet_timezone: Mapped[Optional[str]] = mapped_column(String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow, onupdate=utcnow)


class Block(Base):
    __tablename__ = "blocks"
    __table_args__ = (
        UniqueConstraint("blocker_role", "blocker_id", "blocked_role", "blocked_id", name="uq_blocks_pair"),
        Index("ix_blocks_blocked", "blocked_role", "blocked_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    blocker_role: Mapped[str] = mapped_column(Role, nullable=False)
    blocker_id: Mapped[int] = mapped_column(Integer, nullable=False)
    blocked_role: Mapped[str] = mapped_column(Role, nullable=False)
    blocked_id: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)


class Event(Base):
    """The durable event log (transactional outbox): one row per room.

    `data` holds the JSON text of the envelope's data so the gateway can relay
    it without decoding and re-encoding. `request_id` ties an event to the API
    request that caused it.
    """

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_room", "room", "id"),
        Index("ix_events_created", "created_at"),
        Index("ix_events_message", "message_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    room: Mapped[str] = mapped_column(String(100), nullable=False)
    type: Mapped[str] = mapped_column(String(64), nullable=False)
    seq: Mapped[Optional[int]] = mapped_column(BigInteger)
    data: Mapped[str] = mapped_column(LongText, nullable=False)
    # The message whose text `data` copies: an edit or a delete rewrites these rows.
    message_id: Mapped[Optional[int]] = mapped_column(BigInteger)
    request_id: Mapped[Optional[str]] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)


class AuditEntry(Base):
    """Who changed what in mentorship (relationships, goals, sessions, profiles,
    needs), with the values before and after; written in the change's transaction
    (api/audit_trail.py)."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_entity", "entity", "entity_id", "id"),
        Index("ix_audit_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entity: Mapped[str] = mapped_column(String(32), nullable=False)
    entity_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    actor_role: Mapped[str] = mapped_column(Role, nullable=False)
    actor_id: Mapped[int] = mapped_column(Integer, nullable=False)
    request_id: Mapped[Optional[str]] = mapped_column(String(64))
    # Only the fields that changed; NULL before a creation and after a deletion.
    before: Mapped[Optional[dict]] = mapped_column(JSON)
    after: Mapped[Optional[dict]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)


class Webhook(Base):
    """A URL of the PHP site (or another service) that hears about events
    of the given types, signed per the Standard Webhooks specification."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), nullable=False)
    types: Mapped[list] = mapped_column(JSON, nullable=False)  # event types, or ["*"]
    # `whsec_<base64>`: shown once at creation; the worker signs with it.
    secret: Mapped[str] = mapped_column(String(100), nullable=False)
    # The log's last id when it was registered: it hears about what happens after, not the history.
    after_event_id: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    created_by_role: Mapped[str] = mapped_column(Role, nullable=False)
    created_by_id: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)


class Delivery(Base):
    """One event to one target (a webhook, later a push subscription or an
    email address): what the delivery worker claims, sends, retries or parks.
    Unique per (event, channel, target), so following the log twice cannot
    queue anything twice."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "channel", "target", name="uq_deliveries_event_target"),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        Index("ix_deliveries_target", "channel", "target", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    event_type: Mapped[str] = mapped_column(String(64), nullable=False)
    channel: Mapped[str] = mapped_column(String(16), nullable=False)  # webhook | push | email
    target: Mapped[str] = mapped_column(String(64), nullable=False)  # e.g. the webhook's id
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)
    # A worker that claimed it sends until then; past it, another may take it over.
    leased_until: Mapped[Optional[dt.datetime]] = mapped_column(Timestamp)
    lease_owner: Mapped[Optional[str]] = mapped_column(String(32))
    last_status_code: Mapped[Optional[int]] = mapped_column(Integer)
    last_error: Mapped[Optional[str]] = mapped_column(String(500))
    delivered_at: Mapped[Optional[dt.datetime]] = mapped_column(Timestamp)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)


class WorkerCursor(Base):
    """How far the delivery worker has followed the event log."""

    __tablename__ = "worker_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)
class Session(Base):
    """A scheduled meeting hosted by one principal (a mentor, or an admin), for
    the student of a relationship, a list of attendees, or a group
    conversation's participants (copied into `session_attendees` when it is
    made). `sequence` counts the changes a calendar app must pick up (RFC 5545)."""

    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_host_time", "host_role", "host_id", "starts_at"),
        Index("ix_sessions_starts", "starts_at", "id"),
        Index("ix_sessions_relationship", "relationship_id", "status"),
        Index("ix_sessions_conversation", "conversation_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    host_role: Mapped[str] = mapped_column(Role, nullable=False)
    host_id: Mapped[int] = mapped_column(Integer, nullable=False)
    relationship_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("relationships.id", name="fk_sessions_relationship")
    )
    conversation_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("conversations.id", name="fk_sessions_conversation")
    )
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    description: Mapped[Optional[str]] = mapped_column(Text)
    location: Mapped[Optional[str]] = mapped_column(String(500))  # a place or a URL
    # UTC, whole seconds.
    starts_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False)
    ends_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False)
    # scheduled | cancelled | completed
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="scheduled")
    cancel_reason: Mapped[Optional[str]] = mapped_column(Text)
    cancelled_at: Mapped[Optional[dt.datetime]] = mapped_column(Timestamp)
    completed_at: Mapped[Optional[dt.datetime]] = mapped_column(Timestamp)
    sequence: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow, onupdate=utcnow)


class SessionAttendee(Base):
    """Who a session is for (the host is not listed) and whether they came."""

    __tablename__ = "session_attendees"
    __table_args__ = (Index("ix_session_attendees_principal", "role", "principal_id", "session_id"),)

    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", name="fk_session_attendees_session"), primary_key=True
    )
    role: Mapped[str] = mapped_column(Role, primary_key=True)
    principal_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # present|absent|late|excused; NULL = not recorded yet.
    attendance: Mapped[Optional[str]] = mapped_column(String(16))
    attendance_at: Mapped[Optional[dt.datetime]] = mapped_column(Timestamp)


class SessionReminder(Base):
    """One row per session and SESSION_REMINDER_MINUTES offset, rewritten when
    the time changes and dropped on cancel; the periodic job claims a row by
    setting `sent_at` where it is NULL (api/mentorship/reminders.py)."""

    __tablename__ = "session_reminders"
    __table_args__ = (
        UniqueConstraint("session_id", "minutes_before", name="uq_session_reminders_offset"),
        Index("ix_session_reminders_due", "sent_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", name="fk_session_reminders_session"), nullable=False
    )
    minutes_before: Mapped[int] = mapped_column(Integer, nullable=False)
    due_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False)
    sent_at: Mapped[Optional[dt.datetime]] = mapped_column(Timestamp)
    # sent, or skipped (claimed after the session had started, or behind a later reminder).
    outcome: Mapped[Optional[str]] = mapped_column(String(16))


class SessionHost(Base):
    """A row per host, locked FOR UPDATE while a session of theirs is placed,
    so two overlapping sessions cannot both pass the overlap check."""

    __tablename__ = "session_hosts"

    host_role: Mapped[str] = mapped_column(Role, primary_key=True)
    host_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class CalendarFeed(Base):
    """A principal's calendar feed token; only its SHA-256 is stored."""

    __tablename__ = "calendar_feeds"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_calendar_feeds_token"),)

    role: Mapped[str] = mapped_column(Role, primary_key=True)
    principal_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)
class DashboardWatcher(Base):
    """A principal whose dashboard is live: the figures last given to them, and
    `due_at` - set by the first change since then plus the debounce (NULL: up
    to date). api/mentorship/dashboard_updates.py keeps it."""

    __tablename__ = "dashboard_watchers"
    __table_args__ = (Index("ix_dashboard_watchers_due", "due_at"),)

    role: Mapped[str] = mapped_column(Role, primary_key=True)
    principal_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    figures: Mapped[dict] = mapped_column(JSON, nullable=False)
    viewed_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)
    due_at: Mapped[Optional[dt.datetime]] = mapped_column(Timestamp)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)


class DashboardCursor(Base):
    """How far the dashboard job has read the event log (one row, id 1)."""

    __tablename__ = "dashboard_cursor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_event_id: Mapped[int] = mapped_column(BigInteger, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)


class PushSubscription(Base):
    """A browser's Web Push subscription (its `PushSubscription` JSON), owned by
    the principal who registered it last. The endpoint is unique (by its hash:
    MySQL cannot index 2000 characters), so a browser re-subscribing updates
    its row and a shared browser follows whoever logged in last."""

    __tablename__ = "push_subscriptions"
    __table_args__ = (
        UniqueConstraint("endpoint_hash", name="uq_push_subscriptions_endpoint"),
        Index("ix_push_subscriptions_principal", "principal_role", "principal_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    principal_role: Mapped[str] = mapped_column(Role, nullable=False)
    principal_id: Mapped[int] = mapped_column(Integer, nullable=False)
    endpoint: Mapped[str] = mapped_column(String(2000), nullable=False)
    endpoint_hash: Mapped[str] = mapped_column(String(64), nullable=False)  # sha256 hex of the endpoint
    p256dh: Mapped[str] = mapped_column(String(128), nullable=False)  # URL-safe base64, as the browser gives it
    auth: Mapped[str] = mapped_column(String(64), nullable=False)
    # False: pushes to this device carry no message text (a shared screen).
    previews: Mapped[bool] = mapped_column(Boolean, nullable=False, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)


class EmailContact(Base):
    """Where a principal's email digests go and when the last one went.
    `address` comes from a token claim (EMAIL_ADDRESS_SOURCE=claim:<name>),
    remembered by the API when it sees one; NULL = unknown, no email."""

    __tablename__ = "email_contacts"

    principal_role: Mapped[str] = mapped_column(Role, primary_key=True)
    principal_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    address: Mapped[Optional[str]] = mapped_column(String(254))
    last_digest_at: Mapped[Optional[dt.datetime]] = mapped_column(Timestamp)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)
