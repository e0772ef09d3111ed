"""The directory over HTTP: profile fields, filters, id-cursor pages,
capacity, scores, GET /students, and the statements a page costs."""
from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import event, func, select

from api.extensions import db
from shared.models import AuditEntry, DirectoryTag, MentorProfile, Relationship, StudentNeeds
from tests.mentorship.conftest import ADMIN, MENTOR, OTHER_MENTOR, OTHER_STUDENT, STUDENT

SERVICE = ("service", 1)
WEEK = [{"weekday": 0, "start": "09:00", "end": "12:00"}, {"weekday": 4, "start": "18:30", "end": "24:00"}]


def ids(page, key="mentors"):
    return [card[f"{key[:-1]}_id"] for card in page[key]]


def mentor(api, mid, **fields):
    return api.profile(("mentor", mid), **fields)


def test_a_newcomer_sets_a_profile_finds_the_mentor_with_a_score_requests_and_is_accepted(api):
    profile = api.profile(
        display_name="Ada L.", headline="Backend engineer, 10 years", bio="I like databases.",
        timezone="Europe/Paris", availability=[WEEK[1], WEEK[0]], max_mentees=2,
    )
    assert profile["availability"] == WEEK  # kept in week order
    assert (profile["display_name"], profile["timezone"]) == ("Ada L.", "Europe/Paris")
    api.needs(display_name="Sam", timezone="America/New_York")
    page = api.ok(api.get("/mentors", STUDENT))
    (card,) = page["mentors"]
    assert card["mentor_id"] == MENTOR[1] and card["headline"] == "Backend engineer, 10 years"
    assert card["availability"] == WEEK and card["capacity"] == {"max": 2, "active": 0} and card["accepting"]
    assert card["score"] == 80 and card["breakdown"]["skills"]["matched"] == ["Python"]
    assert page["next_before"] is None
    rel = api.request()
    assert rel["match_score"] == 80
    api.ok(api.post(f"/relationships/{rel['id']}/accept", MENTOR))
    (card,) = api.ok(api.get("/mentors", STUDENT))["mentors"]
    assert card["capacity"] == {"max": 2, "active": 1}


def test_only_a_student_sees_scores(api):
    api.profile()
    for who in (MENTOR, OTHER_MENTOR, ADMIN, SERVICE):
        (card,) = api.ok(api.get("/mentors", who))["mentors"]
        assert "score" not in card and "breakdown" not in card
    (card,) = api.ok(api.get("/mentors", OTHER_STUDENT))["mentors"]  # no needs yet: scores 0
    assert card["score"] == 0


def test_filters_by_tags_case_insensitively_and_by_text(api):
    mentor(api, 1, sectors=["Fintech"], skills=["Python", "Go"], languages=["English"], display_name="Ann Lee")
    mentor(api, 2, sectors=["Health"], skills=["python"], languages=["Français"], headline="100% remote_ok")
    mentor(api, 3, sectors=["Fintech"], skills=["Rust"], languages=["english"], headline="Data at ANN corp")
    assert ids(api.ok(api.get("/mentors?skill=PYTHON", STUDENT))) == [2, 1]
    assert ids(api.ok(api.get("/mentors?sector=fintech&language=ENGLISH", STUDENT))) == [3, 1]
    assert ids(api.ok(api.get("/mentors?sector=fintech&skill=go", STUDENT))) == [1]
    assert ids(api.ok(api.get("/mentors?language=fran%C3%A7ais", STUDENT))) == [2]
    assert ids(api.ok(api.get("/mentors?q=ann", STUDENT))) == [3, 1]  # name or headline
    assert ids(api.ok(api.get("/mentors?q=%25", STUDENT))) == [2]  # a literal %
    assert ids(api.ok(api.get("/mentors?q=e_o", STUDENT))) == [2]  # a literal _, not "any character"
    assert ids(api.ok(api.get("/mentors?q=%5C", STUDENT))) == []  # a backslash matches itself only
    assert ids(api.ok(api.get("/mentors?skill=cobol", STUDENT))) == []
    assert ids(api.ok(api.get("/mentors?skill=&q=", STUDENT))) == [3, 2, 1]  # blank = no filter


def test_a_changed_profile_is_found_by_its_new_tags_only(api):
    mentor(api, 1, skills=["Python"])
    mentor(api, 1, skills=["Rust"])
    assert ids(api.ok(api.get("/mentors?skill=python", STUDENT))) == []
    assert ids(api.ok(api.get("/mentors?skill=rust", STUDENT))) == [1]


def test_accepting_means_a_request_would_be_taken_now(api):
    mentor(api, 1, max_mentees=1)
    mentor(api, 2, accepting=False)
    mentor(api, 3)
    rel = api.request(mentor=("mentor", 1))
    api.ok(api.post(f"/relationships/{rel['id']}/accept", ("mentor", 1)))
    cards = {c["mentor_id"]: c for c in api.ok(api.get("/mentors", OTHER_STUDENT))["mentors"]}
    assert {m: (c["accepting"], c["capacity"]) for m, c in cards.items()} == {
        1: (False, {"max": 1, "active": 1}), 2: (False, {"max": 5, "active": 0}), 3: (True, {"max": 5, "active": 0}),
    }
    assert ids(api.ok(api.get("/mentors?accepting=true", OTHER_STUDENT))) == [3]
    assert ids(api.ok(api.get("/mentors?accepting=0", OTHER_STUDENT))) == [2, 1]


def test_pages_by_id_cursor(api):
    for mid in range(1, 6):
        mentor(api, mid)
    first = api.ok(api.get("/mentors?limit=2", STUDENT))
    assert ids(first) == [5, 4] and first["next_before"] == 4
    second = api.ok(api.get(f"/mentors?limit=2&before={first['next_before']}", STUDENT))
    assert ids(second) == [3, 2] and second["next_before"] == 2
    last = api.ok(api.get("/mentors?limit=2&before=2", STUDENT))
    assert ids(last) == [1] and last["next_before"] is None


def test_students_open_to_offers_for_mentors_and_staff(api):
    api.needs(STUDENT, open_to_offers=True, display_name="Sam Doe", bio="Career changer")
    api.needs(OTHER_STUDENT, open_to_offers=False)
    api.needs(("student", 23), open_to_offers=True, skills=["Go"], sectors=["Health"])
    api.profile(skills=["Python"])
    page = api.ok(api.get("/students", MENTOR))
    assert ids(page, "students") == [23, 21]
    sam = page["students"][1]
    assert (sam["display_name"], sam["bio"], sam["score"]) == ("Sam Doe", "Career changer", 80)
    assert "goals" not in sam  # the needs' goals text stays the student's
    assert ids(api.ok(api.get("/students?skill=PYTHON", MENTOR)), "students") == [21]
    assert ids(api.ok(api.get("/students?sector=health", MENTOR)), "students") == [23]
    assert ids(api.ok(api.get("/students?q=doe", MENTOR)), "students") == [21]
    for staff in (ADMIN, SERVICE):
        assert all("score" not in card for card in api.ok(api.get("/students", staff))["students"])
    for refused in (STUDENT, OTHER_STUDENT):
        response = api.get("/students", refused)
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "role_not_allowed"


def test_a_mentored_student_leaves_the_student_directory(api):
    api.needs(open_to_offers=True)
    assert ids(api.ok(api.get("/students", OTHER_MENTOR)), "students") == [21]
    api.active()
    assert api.ok(api.get("/students", OTHER_MENTOR))["students"] == []


def test_needs_keep_the_new_fields_and_a_full_replace_clears_them(api):
    needs = api.needs(display_name="  Sam  ", bio="hi", timezone="Asia/Kolkata", open_to_offers=True)
    assert (needs["display_name"], needs["timezone"], needs["open_to_offers"]) == ("Sam", "Asia/Kolkata", True)
    cleared = api.ok(api.put("/students/me/needs", STUDENT, json={}))
    assert (cleared["display_name"], cleared["bio"], cleared["timezone"], cleared["open_to_offers"]) == (
        None, None, None, False)


# Statements per page

@contextlib.contextmanager
def statements(app):
    """The SQL statements run inside the block, as a list that fills in."""
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _populate(app, first: int, how_many: int) -> None:
    """Mentors with tags and active mentees, students open to offers: straight into the tables."""
    with app.app_context():
        for mid in range(first, first + how_many):
            db.session.add(MentorProfile(mentor_id=mid, sectors=["Tech"], skills=["Python"], languages=["en"],
                                         accepting=True, availability=[], display_name=f"Mentor {mid}"))
            db.session.add_all([DirectoryTag(role="mentor", principal_id=mid, kind=k, tag=t)
                                for k, t in (("sector", "tech"), ("skill", "python"), ("language", "en"))])
            mentee = 10_000 + mid
            db.session.add(Relationship(mentor_id=mid, student_id=mentee, status="active", requested_by="student"))
            db.session.add(StudentNeeds(student_id=20_000 + mid, sectors=["Tech"], skills=["Python"], languages=[],
                                        open_to_offers=True))
            db.session.add(DirectoryTag(role="student", principal_id=20_000 + mid, kind="skill", tag="python"))
        db.session.commit()


@pytest.mark.parametrize("path, who, key", [
    ("/mentors?skill=python&q=mentor&accepting=true", STUDENT, "mentors"),
    ("/mentors", ADMIN, "mentors"),
    ("/students?skill=python", MENTOR, "students"),
])
def test_a_page_costs_the_same_statements_at_any_size(app, api, path, who, key):
    api.needs()
    api.profile()
    _populate(app, 100, 3)
    with statements(app) as small:
        few = api.ok(api.get(f"{path}&limit=3" if "?" in path else f"{path}?limit=3", who))[key]
    _populate(app, 1000, 150)
    with statements(app) as large:
        many = api.ok(api.get(f"{path}&limit=100" if "?" in path else f"{path}?limit=100", who))[key]
    assert (len(few), len(many)) == (3, 100)
    assert len(small) == len(large) == (2 if who != ADMIN else 1), large


# Bad input

BAD_PROFILES = [
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"timezone": "europe/paris"}, "timezone"),  # IANA names are case-sensitive
    ({"timezone": ""}, "timezone"),
    ({"timezone": 5}, "timezone"),
    ({"availability": WEEK}, "timezone"),  # slots without a zone mean nothing
    ({"availability": [{"weekday": 0, "start": "09:00", "end": "10:00"}] * 51, "timezone": "UTC"}, "availability"),
    ({"availability": [{"weekday": 7, "start": "09:00", "end": "10:00"}], "timezone": "UTC"}, "availability"),
    ({"availability": [{"weekday": -1, "start": "09:00", "end": "10:00"}], "timezone": "UTC"}, "availability"),
    ({"availability": [{"weekday": "1", "start": "09:00", "end": "10:00"}], "timezone": "UTC"}, "availability"),
    ({"availability": [{"weekday": 1, "start": "9:00", "end": "10:00"}], "timezone": "UTC"}, "availability"),
    ({"availability": [{"weekday": 1, "start": "09:60", "end": "10:00"}], "timezone": "UTC"}, "availability"),
    ({"availability": [{"weekday": 1, "start": "24:00", "end": "24:00"}], "timezone": "UTC"}, "availability"),
    ({"availability": [{"weekday": 1, "start": "09:00", "end": "10:00x"}], "timezone": "UTC"}, "availability"),
    ({"availability": [{"weekday": 1, "start": "٠٩:٠٠", "end": "10:00"}], "timezone": "UTC"}, "availability"),
    ({"availability": [{"weekday": 1, "start": "10:00", "end": "09:00"}], "timezone": "UTC"}, "availability"),
    ({"availability": [{"weekday": 1, "start": "10:00", "end": "10:00"}], "timezone": "UTC"}, "availability"),
    ({"availability": [{"weekday": 1, "start": "09:00"}], "timezone": "UTC"}, "availability"),
    ({"availability": [{"weekday": 1, "start": "09:00", "end": "10:00", "tz": "UTC"}], "timezone": "UTC"},
     "availability"),
    ({"availability": [{"weekday": 1, "start": "09:00", "end": "11:00"},
                       {"weekday": 1, "start": "10:30", "end": "12:00"}], "timezone": "UTC"}, "availability"),
    ({"availability": {"weekday": 1}, "timezone": "UTC"}, "availability"),
    ({"availability": ["09:00-10:00"], "timezone": "UTC"}, "availability"),
    ({"display_name": "   "}, "display_name"),
    ({"display_name": "x" * 101}, "display_name"),
    ({"headline": "x" * 201}, "headline"),
    ({"bio": "x" * 5001}, "bio"),
    ({"bio": ["x"]}, "bio"),
]


@pytest.mark.parametrize("body, field", BAD_PROFILES, ids=[f"{f}-{i}" for i, (_, f) in enumerate(BAD_PROFILES)])
def test_bad_profiles_are_422_and_change_nothing(api, app, body, field):
    api.profile(display_name="Kept", timezone="UTC", availability=WEEK[:1])
    before = _state(app)
    response = api.put("/mentors/me/profile", MENTOR, json=body)
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed" and field in error["details"], error
    assert _state(app) == before
    assert api.ok(api.get("/mentors/me/profile", MENTOR))["display_name"] == "Kept"


@pytest.mark.parametrize("body, field", [
    ({"timezone": "Nowhere/Town"}, "timezone"), ({"open_to_offers": "yes"}, "open_to_offers"),
    ({"open_to_offers": 1}, "open_to_offers"), ({"headline": "x"}, "headline"), ({"display_name": ""}, "display_name"),
])
def test_bad_needs_are_422_and_change_nothing(api, app, body, field):
    api.needs()
    before = _state(app)
    response = api.put("/students/me/needs", STUDENT, json=body)
    assert response.status_code == 422 and field in response.get_json()["error"]["details"]
    assert _state(app) == before


def test_edge_values_are_accepted(api):
    slots = [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]
    profile = api.profile(timezone="America/Argentina/Buenos_Aires", availability=slots, display_name="Zoë 李")
    assert profile["availability"] == slots and profile["display_name"] == "Zoë 李"
    touching = [{"weekday": 2, "start": "09:00", "end": "10:00"}, {"weekday": 2, "start": "10:00", "end": "11:00"}]
    assert api.profile(timezone="UTC", availability=touching)["availability"] == touching


@pytest.mark.parametrize("query, field", [
    ("limit=0", "limit"), ("limit=101", "limit"), ("before=0", "before"), ("before=abc", "before"),
    ("before=99999999999", "before"), ("accepting=maybe", "accepting"), ("skill=" + "x" * 101, "skill"),
    ("q=" + "x" * 101, "q"),
])
def test_bad_directory_queries_are_422(api, query, field):
    for path, who in (("/mentors", STUDENT), ("/students", MENTOR)):
        if field == "accepting" and path == "/students":
            continue
        response = api.get(f"{path}?{query}", who)
        assert response.status_code == 422, (path, query, response.get_data(as_text=True))
        details = response.get_json()["error"]["details"]
        assert field in details.get("query", details), details


def _state(app):
    with app.app_context():
        out = {
            model.__tablename__: db.session.execute(select(func.count()).select_from(model)).scalar()
            for model in (MentorProfile, StudentNeeds, DirectoryTag, AuditEntry)
        }
        out["profiles"] = [(p.display_name, p.timezone, p.availability)
                           for p in db.session.execute(select(MentorProfile)).scalars()]
        db.session.remove()
    return out
