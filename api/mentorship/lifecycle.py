"""The relationship lifecycle and the locks that keep its invariants.

States: pending -> active | declined | cancelled; active -> ended.

Invariants and what enforces them in the database:
- one active mentor per student: the unique generated column
  `active_student_id` (a lost race surfaces as an IntegrityError -> 409);
- one pending request per pair: unique `(student_id, pending_mentor_id)`;
- mentor capacity: accepting takes `mentor_profiles` FOR UPDATE (creating the
  row first if needed, so there is always a row to lock), then counts the
  active relationships with a locking read, which sees every committed accept;
- `accepting = false`: a request reads the profile LOCK IN SHARE MODE, so it
  serialises with a profile update instead of acting on a stale copy.
A request or offer is also refused up front when accepting it could not
succeed (the student has an active mentor, the mentor is full); those checks
are advisory, the accept-time ones above are what hold under concurrency.
Ending a relationship cancels its sessions still to come in the same transaction.
Every change locks the relationship row first, so two answers to one request
cannot both pass the state check.
"""
from __future__ import annotations

import functools

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError

from api import audit_trail
from api.auth import app_config
from api.extensions import db
from api.mentorship import scheduling
from api.mentorship.access import is_member, members, mentor_of, student_of, visible_relationship
from api.mentorship.activity_log import announce, log_activity
from api.mentorship.schemas import relationship_out
from api.mentorship.scoring import score_pair
from api.messaging.membership import open_mentorship_conversation
from api.messaging.notifying import notify
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, Invalid
from shared.models import MentorProfile, Relationship, StudentNeeds
from shared.timeutil import utcnow

# action -> (the state it needs, the state it leads to)
TRANSITIONS = {
    "accept": ("pending", "active"),
    "decline": ("pending", "declined"),
    "cancel": ("pending", "cancelled"),
    "end": ("active", "ended"),
}
ALLOWED = {"pending": ["accept", "decline", "cancel"], "active": ["end"]}
PAST = {"accept": "accepted", "decline": "declined", "cancel": "cancelled", "end": "ended"}
# What the audit trail keeps of a relationship, before and after each change.
AUDITED = (
    "mentor_id", "student_id", "status", "requested_by", "request_message", "match_score", "response_reason",
    "end_reason", "ended_by_role", "ended_by_id", "responded_at", "ended_at",
)
DEADLOCK_CODES = (1205, 1213)  # lock wait timeout, deadlock: the transaction can simply run again


def retry_on_deadlock(view):
    """Run a view again (up to 3 times) when InnoDB picks it as a deadlock victim."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        for attempt in range(3):
            try:
                return view(*args, **kwargs)
            except OperationalError as exc:
                code = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
                if code not in DEADLOCK_CODES or attempt == 2:
                    raise
                db.session.rollback()
        raise AssertionError("unreachable")

    return wrapper


def asker(rel: Relationship) -> Principal:
    return mentor_of(rel) if rel.requested_by == "mentor" else student_of(rel)


def answerer(rel: Relationship) -> Principal:
    return student_of(rel) if rel.requested_by == "mentor" else mentor_of(rel)


def capacity(profile: MentorProfile) -> int:
    return app_config().default_max_mentees if profile.max_mentees is None else profile.max_mentees


def profile_for(mentor_id: int, lock: str | None = None, create: bool = False) -> MentorProfile | None:
    """The mentor's profile, optionally locked ("share" or "update"); `create`
    inserts an empty one first so that there is always a row to lock."""
    stmt = select(MentorProfile).where(MentorProfile.mentor_id == mentor_id).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update(read=lock == "share")
    profile = db.session.execute(stmt).scalar_one_or_none()
    if profile is None and create:
        empty = MentorProfile(mentor_id=mentor_id, sectors=[], skills=[], languages=[], accepting=True, availability=[])
        try:
            with db.session.begin_nested():
                db.session.add(empty)
                db.session.flush()
                after = audit_trail.snapshot(empty, ("sectors", "skills", "languages", "accepting"))
                audit_trail.record_change("mentor_profile", mentor_id, "created", None, after)
        except IntegrityError:
            pass  # created by a concurrent request: lock theirs
        profile = db.session.execute(stmt).scalar_one()
    return profile


def active_mentee_ids(mentor_id: int, lock: bool = False) -> list[int]:
    stmt = select(Relationship.id).where(Relationship.mentor_id == mentor_id, Relationship.status == "active")
    return list(db.session.execute(stmt.with_for_update() if lock else stmt).scalars())


def _parties(principal: Principal, body: dict) -> tuple[int, int]:
    """(mentor_id, student_id): a student names the mentor, a mentor the student."""
    wanted, unwanted = ("mentor_id", "student_id") if principal.role == "student" else ("student_id", "mentor_id")
    problems = {wanted: ["required"]} if wanted not in body else {}
    if unwanted in body:
        problems[unwanted] = [f"not for a {principal.role}"]
    if problems:
        raise Invalid(f"a {principal.role} names the other party with {wanted}", details=problems)
    if principal.role == "student":
        return body["mentor_id"], principal.id
    return principal.id, body["student_id"]


def has_active_mentor(student_id: int) -> bool:
    stmt = select(Relationship.id).where(Relationship.student_id == student_id, Relationship.status == "active")
    return db.session.execute(stmt).first() is not None


def _check_open_to(principal: Principal, mentor_id: int, student_id: int) -> MentorProfile:
    """The mentor's profile, once the pair may start: both parties known, the
    student without an active mentor, the mentor taking requests (an offer is
    the mentor's own choice, so only a request needs `accepting`) with room left."""
    if principal.role == "mentor":
        if db.session.get(StudentNeeds, student_id) is None:
            raise Invalid(f"student {student_id} is unknown here (no needs set)", details={"student_id": ["unknown"]})
        profile = profile_for(mentor_id, lock="share", create=True)
    else:
        profile = profile_for(mentor_id, lock="share")
        if profile is None:
            raise Invalid(f"mentor {mentor_id} has no mentor profile", details={"mentor_id": ["unknown"]})
    if has_active_mentor(student_id):
        raise Conflict(f"student {student_id} already has an active mentor", code="student_has_active_mentor")
    if principal.role == "student" and not profile.accepting:
        raise Conflict(f"mentor {mentor_id} is not accepting requests", code="mentor_not_accepting")
    if len(active_mentee_ids(mentor_id)) >= capacity(profile):
        raise Conflict(f"mentor {mentor_id} has no capacity left", code="mentor_at_capacity")
    return profile


def _pending_conflict(mentor_id: int, student_id: int) -> Conflict:
    return Conflict(
        f"a request between mentor {mentor_id} and student {student_id} is already pending",
        code="request_already_pending",
    )


def create(principal: Principal, body: dict) -> Relationship:
    """A student's request or a mentor's offer, pending until answered."""
    mentor_id, student_id = _parties(principal, body)
    profile = _check_open_to(principal, mentor_id, student_id)
    pending = select(Relationship.id).where(
        Relationship.mentor_id == mentor_id, Relationship.student_id == student_id, Relationship.status == "pending"
    )
    if db.session.execute(pending).first() is not None:
        raise _pending_conflict(mentor_id, student_id)
    score = score_pair(db.session.get(StudentNeeds, student_id), profile)["score"]
    rel = Relationship(
        mentor_id=mentor_id, student_id=student_id, status="pending", requested_by=principal.role,
        request_message=body.get("message"), match_score=score,
    )
    db.session.add(rel)
    try:
        db.session.flush()
    except IntegrityError:  # a concurrent request for the same pair won
        db.session.rollback()
        raise _pending_conflict(mentor_id, student_id) from None
    data = relationship_out.dump(rel)
    announce(rel, "relationship:requested", data)
    audit_trail.record_change("relationship", rel.id, "requested", None, audit_trail.snapshot(rel, AUDITED))
    details = {"status": {"before": None, "after": "pending"}, "message": rel.request_message, "match_score": score}
    log_activity(rel, principal, "relationship_requested", details)
    word = "request" if principal.role == "student" else "offer"
    notify(answerer(rel), "relationship_requested", f"New mentorship {word} from {principal}",
           body=rel.request_message, link=f"/relationships/{rel.id}", data={"relationship_id": rel.id})
    return rel


def _check_party(rel: Relationship, action: str, principal: Principal) -> None:
    if action in ("accept", "decline") and principal != answerer(rel):
        raise Forbidden(f"only {answerer(rel)}, who was asked, can {action}", code="not_the_answering_party")
    if action == "cancel" and principal != asker(rel):
        raise Forbidden(f"only {asker(rel)}, who asked, can cancel", code="not_the_asking_party")
    if action == "end" and not (principal.role == "admin" or is_member(rel, principal)):
        raise Forbidden("only a member or an admin can end a relationship", code="members_only")


def _check_state(rel: Relationship, action: str) -> None:
    needed = TRANSITIONS[action][0]
    if rel.status != needed:
        allowed = ALLOWED.get(rel.status, [])
        now = ", ".join(allowed) if allowed else f"nothing ({rel.status} is final)"
        raise Conflict(
            f"relationship {rel.id} is {rel.status}; {action} needs it to be {needed}. Allowed now: {now}",
            code="invalid_transition",
            details={"status": rel.status, "allowed": allowed},
        )


def _activate(rel: Relationship) -> None:
    profile = profile_for(rel.mentor_id, lock="update", create=True)
    if len(active_mentee_ids(rel.mentor_id, lock=True)) >= capacity(profile):
        raise Conflict(f"mentor {rel.mentor_id} has no capacity left", code="mentor_at_capacity")
    rel.status = "active"
    try:
        db.session.flush()
    except IntegrityError:  # the unique active_student_id: another mentor was accepted first
        db.session.rollback()
        raise Conflict(
            f"student {rel.student_id} already has an active mentor", code="student_has_active_mentor"
        ) from None
    open_mentorship_conversation(rel)


def transition(rel_id: int, action: str, principal: Principal, reason: str | None = None) -> Relationship:
    """Apply `action` (accept, decline, cancel, end) for `principal`."""
    rel = visible_relationship(rel_id, principal, lock=True)
    _check_party(rel, action, principal)
    _check_state(rel, action)
    before, now = rel.status, utcnow()
    audited = audit_trail.snapshot(rel, AUDITED)
    if action == "accept":
        _activate(rel)
    rel.status = TRANSITIONS[action][1]
    if action == "end":
        rel.end_reason, rel.ended_by_role, rel.ended_by_id, rel.ended_at = reason, principal.role, principal.id, now
        scheduling.cancel_for_relationship(rel, principal, reason)
    else:
        rel.response_reason, rel.responded_at = reason, now
    db.session.flush()
    audit_trail.record_change("relationship", rel.id, PAST[action], audited, audit_trail.snapshot(rel, AUDITED))
    announce(rel, f"relationship:{PAST[action]}", relationship_out.dump(rel))
    log_activity(rel, principal, f"relationship_{PAST[action]}",
                 {"status": {"before": before, "after": rel.status}, "reason": reason})
    tell = [answerer(rel)] if action == "cancel" else [asker(rel)]
    if action == "end":
        tell = [m for m in members(rel) if m != principal]
    for recipient in tell:
        notify(recipient, f"relationship_{PAST[action]}", f"Mentorship {PAST[action]} by {principal}",
               body=reason, link=f"/relationships/{rel.id}", data={"relationship_id": rel.id})
    return rel
