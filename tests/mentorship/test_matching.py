"""Matching: the score formula, its breakdown, who is suggested, and the order."""
from __future__ import annotations

from types import SimpleNamespace

from api.mentorship.scoring import score_pair
from tests.mentorship.conftest import MENTOR, OTHER_MENTOR, OTHER_STUDENT, STUDENT


def person(sectors=(), skills=(), languages=()):
    return SimpleNamespace(sectors=list(sectors), skills=list(skills), languages=list(languages))


def test_score_formula():
    student = person(["Tech", "Health"], ["Python", "SQL", "Go"], ["en"])
    mentor = person(["tech"], ["python", " sql "], ["EN", "fr"])
    scored = score_pair(student, mentor)
    # 40 * 1/2 + 40 * 2/3 + 20 * 1/1 = 66.67 -> 67
    assert scored["score"] == 67
    assert scored["breakdown"]["sectors"] == {"weight": 40, "wanted": 2, "matched": ["Tech"], "points": 20.0}
    assert scored["breakdown"]["skills"]["points"] == 26.67
    assert scored["breakdown"]["languages"]["matched"] == ["en"]


def test_empty_student_lists_score_zero_for_that_part():
    assert score_pair(person(), person(["a"], ["b"], ["c"]))["score"] == 0
    assert score_pair(person(languages=["en"]), person(languages=["en"]))["score"] == 20
    assert score_pair(None, None)["score"] == 0
    assert score_pair(person(["a"], ["b"], ["c"]), person(["A"], ["B"], ["C"]))["score"] == 100


def test_half_points_round_up():
    # 40 * 1/8 = 5 exactly; 20 * 1/8 = 2.5 -> 3 when alone
    assert score_pair(person(languages=list("abcdefgh")), person(languages=["a"]))["score"] == 3


def test_student_sees_accepting_mentors_with_capacity_best_first(api):
    api.needs(skills=["python"], sectors=["tech"], languages=["en"])
    api.profile(MENTOR, skills=["python"], sectors=[], languages=[])  # 40
    api.profile(OTHER_MENTOR, skills=["python"], sectors=[], languages=[])  # 40, higher id
    api.profile(("mentor", 13), skills=["python"], sectors=["tech"], languages=["en"])  # 100
    api.profile(("mentor", 14), accepting=False)
    api.profile(("mentor", 15), max_mentees=0)
    matches = api.items("/matches", STUDENT)
    assert [(m["id"], m["score"]) for m in matches] == [(13, 100), (11, 40), (12, 40)]
    assert [m["id"] for m in api.items("/matches?limit=1", STUDENT)] == [13]
    api.request(mentor=("mentor", 13))
    assert [m["id"] for m in api.items("/matches", STUDENT)] == [11, 12]


def test_full_mentors_drop_out(api):
    api.needs()
    api.needs(OTHER_STUDENT)
    api.profile(max_mentees=1)
    rel = api.request(student=OTHER_STUDENT)
    assert [m["id"] for m in api.items("/matches", STUDENT)] == [MENTOR[1]]
    api.ok(api.post(f"/relationships/{rel['id']}/accept", MENTOR))
    assert api.items("/matches", STUDENT) == []


def test_mentor_sees_students_without_an_active_mentor(api):
    empty = {"sectors": [], "languages": []}
    api.profile(skills=["python"], **empty)
    api.profile(OTHER_MENTOR)
    api.needs(STUDENT, skills=["python"], **empty)
    api.needs(OTHER_STUDENT, skills=["go"], **empty)
    api.needs(("student", 23), skills=["python"], **empty)
    matches = api.items("/matches", MENTOR)
    assert [(m["role"], m["id"], m["score"]) for m in matches] == [
        ("student", 21, 40), ("student", 23, 40), ("student", 22, 0),
    ]
    rel = api.request(student=("student", 23), mentor=OTHER_MENTOR)
    api.ok(api.post(f"/relationships/{rel['id']}/accept", OTHER_MENTOR))  # 23 now has a mentor
    api.offer(student=OTHER_STUDENT)  # 22 has a pending offer from this mentor
    assert [m["id"] for m in api.items("/matches", MENTOR)] == [21]


def test_score_is_stored_at_request_time(api):
    api.profile(skills=["python"], sectors=[], languages=[])
    api.needs(skills=["python", "go"], sectors=[], languages=[])
    rel = api.request()
    assert rel["match_score"] == 20
    api.profile(skills=["python", "go"], sectors=[], languages=[])  # later changes do not rewrite it
    assert api.ok(api.get(f"/relationships/{rel['id']}", STUDENT))["match_score"] == 20
