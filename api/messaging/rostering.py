"""Team rosters and the `team` conversations that follow them.

The site sends a team's whole member list (`PUT /teams/{id}/members`); every
`team` conversation of that team - the team's own (context `team:<id>`) and
its context threads (`exercise:12`, ...) - then has exactly those members:
the difference is applied with the group events (`participant:added` /
`participant:removed`, former-member semantics), so the gateway moves
sockets live. The same list twice changes nothing and emits nothing.

Lock order: the `teams` row, then the team's conversations (by id). A roster
change and a new team conversation both take the team row first, so a new
thread never misses a roster change that commits meanwhile.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from api.extensions import db
from api.messaging.access import member_of
from api.messaging.membership import (
    add_participants,
    admit,
    announce_conversation,
    by_context_key,
    context_key,
    dismiss,
    insert_keyed,
)
from shared.auth import Principal
from shared.errors import Forbidden, Invalid, NotFound
from shared.models import Conversation, Participant, Team, TeamMember
from shared.timeutil import utcnow

TEAM_KIND = "team"  # the context of a team's own conversation: {"kind": "team", "id": <team id>}


@dataclass
class RosterChange:
    """What a roster change did (TeamMembersOut)."""

    team_id: int
    members: list[Principal]
    added: list[Principal] = field(default_factory=list)
    removed: list[Principal] = field(default_factory=list)
    conversation_ids: list[int] = field(default_factory=list)


def lock_team(team_id: int) -> Team:
    """The team's row, created if new, locked for this transaction. An upsert
    takes the lock at once (a plain insert-or-select would race)."""
    now = utcnow()
    values = {"id": team_id, "created_at": now, "updated_at": now}
    if db.session.get_bind().dialect.name == "sqlite":
        statement = sqlite_insert(Team).values(values).on_conflict_do_nothing()
    else:
        statement = mysql_insert(Team).values(values)
        statement = statement.on_duplicate_key_update(id=statement.inserted.id)
    db.session.execute(statement)
    return db.session.execute(
        select(Team).where(Team.id == team_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one()


def roster(team_id: int) -> list[Principal]:
    rows = db.session.execute(
        select(TeamMember).where(TeamMember.team_id == team_id).order_by(TeamMember.id)
    ).scalars()
    return [member_of(row) for row in rows]


def _unique(people: list[dict]) -> list[Principal]:
    return list(dict.fromkeys(Principal(p["role"], p["id"]) for p in people))


def _team_conversation(team_id: int, context: dict, title: str | None, members: list[Principal]):
    """A new team conversation with the roster as members: (conversation, created?)."""
    conversation = Conversation(
        type="team", team_id=team_id, title=title, context_kind=context["kind"], context_id=context["id"],
        context_key=context_key("team", context, team_id),
    )
    inserted = insert_keyed(conversation)
    if inserted is not conversation:
        return inserted, False
    add_participants(conversation, members)
    announce_conversation(conversation, members, flush=False)
    return conversation, True


def _team_and_context(team_id: int | None, context: dict | None) -> tuple[int, dict]:
    if team_id is None and context is not None and context["kind"] == TEAM_KIND:
        team_id = context["id"]
    if team_id is None:
        raise Invalid("a team conversation names its team", code="team_required",
                      details={"team_id": ["required for a team conversation"]})
    context = context or {"kind": TEAM_KIND, "id": team_id}
    if context["kind"] == TEAM_KIND and context["id"] != team_id:
        raise Invalid("a team context names the conversation's own team", code="context_team_mismatch",
                      details={"context": ["must be the team of team_id"]})
    return team_id, context


def open_team(creator: Principal, team_id: int | None, context: dict | None, title: str | None):
    """The team's conversation, or its thread about `context`: (conversation,
    created?). Members of the team and admins open it; its members are the roster."""
    team_id, context = _team_and_context(team_id, context)
    key = context_key("team", context, team_id)
    lock_team(team_id)
    members = roster(team_id)
    if not creator.is_admin and creator not in members:
        raise Forbidden("only members of the team open its conversations", code="not_a_team_member")
    existing = by_context_key(key)
    if existing is not None:
        return existing, False
    return _team_conversation(team_id, context, title, members)


def team_members(team_id: int, viewer: Principal) -> list[Principal]:
    """The roster, for admins, services and the team's members (404 for anyone else)."""
    members = roster(team_id)
    if viewer.role not in ("admin", "service") and viewer not in members:
        raise NotFound("team not found", code="team_not_found")
    return members


def conversation_ids(team_id: int) -> list[int]:
    return list(db.session.execute(
        select(Conversation.id).where(Conversation.team_id == team_id).order_by(Conversation.id)
    ).scalars())


def set_roster(team_id: int, people: list[dict], title: str | None = None) -> RosterChange:
    """Replace the team's member list and bring every team conversation of it
    along; creates the team's own conversation the first time it has members."""
    team = lock_team(team_id)
    wanted = _unique(people)
    current = roster(team_id)
    before, after = set(current), set(wanted)
    change = RosterChange(team_id, wanted, [p for p in wanted if p not in before],
                          [p for p in current if p not in after])
    if change.added or change.removed:
        _store_roster(team, change)
    conversations = db.session.execute(
        select(Conversation).where(Conversation.team_id == team_id).order_by(Conversation.id)
        .with_for_update().execution_options(populate_existing=True)
    ).scalars().all()
    for conversation in conversations:
        _follow(conversation, wanted)
    change.conversation_ids = [c.id for c in conversations]
    own = {"kind": TEAM_KIND, "id": team_id}
    if wanted and not any(c.context_key == context_key("team", own, team_id) for c in conversations):
        conversation, _ = _team_conversation(team_id, own, title, wanted)
        change.conversation_ids.append(conversation.id)
    return change


def _store_roster(team: Team, change: RosterChange) -> None:
    if change.removed:
        db.session.execute(delete(TeamMember).where(TeamMember.team_id == team.id, or_(*(
            and_(TeamMember.role == gone.role, TeamMember.principal_id == gone.id) for gone in change.removed
        ))))
    db.session.add_all([TeamMember(team_id=team.id, role=p.role, principal_id=p.id) for p in change.added])
    team.updated_at = utcnow()


def _follow(conversation: Conversation, wanted: list[Principal]) -> None:
    """Make the conversation's current members exactly `wanted` (the row is locked)."""
    rows = {member_of(row): row for row in db.session.execute(
        select(Participant).where(Participant.conversation_id == conversation.id).order_by(Participant.id)
        .with_for_update()
    ).scalars()}
    keep = set(wanted)
    for principal in wanted:
        row = rows.get(principal)
        if row is None or row.left_at is not None:
            admit(conversation, principal, row, flush=False)
    for principal, row in rows.items():
        if row.left_at is None and principal not in keep:
            dismiss(conversation, row, flush=False)
