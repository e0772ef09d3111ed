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
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow, onupdate=utcnow)


class StudentNeeds(Base):
    __tablename__ = "student_needs"

    student_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sectors: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    skills: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    languages: Mapped[list] = mapped_column(JSON, nullable=False, default=list)
    goals: Mapped[Optional[str]] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow, onupdate=utcnow)


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
        Index("ix_conversations_activity", "last_activity_at", "id"),
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
    last_message_id: Mapped[Optional[int]] = mapped_column(BigInteger)
    last_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    last_activity_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)


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


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_conversation", "conversation_id", "id"),
        Index("ix_messages_parent", "parent_id"),
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


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_recipient", "recipient_role", "recipient_id", "id"),
        Index("ix_notifications_message", "message_id"),
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
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, nullable=False, default=utcnow)
    read_at: Mapped[Optional[dt.datetime]] = mapped_column(Timestamp)


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
