"""schemathesis against the real app and test database, as a student and as
an admin: every
response conforms to the status codes, content types and schemas that
/openapi.json documents for its operation, and none is a 5xx.

The document declares no `default` response (api/docs.py), so a status an
operation does not document fails `status_code_conformance`.

Bounded: derandomized (a fixed seed), a few examples per operation. The
operations are driven with hypothesis directly: schemathesis's pytest plugin
(`schemathesis.pytest.from_fixture`) fails under pytest 9 (`Function` has no
`_nodeid`)."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from api.extensions import db
from api.messaging.membership import open_mentorship_conversation
from shared.models import Relationship

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
STUDENT, ADMIN = ("student", 21), ("admin", 1)
EXAMPLES = 25


def _seed(app, client, headers: dict) -> dict:
    """The student's world (an admin sees it too): an active mentorship, its
    conversation, a message and a goal. Returns the path values that reach them."""
    with app.app_context():
        rel = Relationship(mentor_id=11, student_id=21, status="active", requested_by="student")
        db.session.add(rel)
        db.session.flush()
        conversation = open_mentorship_conversation(rel)
        db.session.commit()
        ids = {"rel_id": rel.id, "conversation_id": conversation.id}
    base = "/api/v1"
    message = client.post(f"{base}/conversations/{ids['conversation_id']}/messages", json={"body": "hi"},
                          headers=headers).get_json()
    goal = client.post(f"{base}/relationships/{ids['rel_id']}/goals", json={"title": "learn"}, headers=headers)
    return {**ids, "message_id": message["id"], "goal_id": goal.get_json()["id"], "role": "mentor",
            "principal_id": 11}


def _run(operation, headers: dict, known: dict) -> None:
    def reach_known(case_and_flag):
        # Half the examples aim at rows that exist, so more than the 404 paths get exercised.
        case, aim = case_and_flag
        if aim and case.path_parameters:
            case.path_parameters = {k: known.get(k, v) for k, v in case.path_parameters.items()}
        return case

    @given(case=st.tuples(operation.as_strategy(), st.booleans()).map(reach_known))
    @settings(
        max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def check(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()


def test_no_operation_has_a_default_response(client):
    """Else `status_code_conformance` accepts any status at all."""
    paths = client.get("/openapi.json").get_json()["paths"]
    assert [(p, m) for p, ops in paths.items() for m, op in ops.items()
            if isinstance(op, dict) and "default" in op.get("responses", {})] == []


@pytest.mark.parametrize("who", [STUDENT, ADMIN], ids=lambda who: who[0])
def test_responses_conform_to_the_document(app, client, token, who):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    known = _seed(app, client, {"Authorization": f"Bearer {token(*STUDENT)}"})
    headers = {"Authorization": f"Bearer {token(*who)}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 35
    failures = {}
    for operation in operations:
        try:
            _run(operation, headers, known)
        except Exception as exc:  # noqa: BLE001 - collect every operation's failure, then report them all
            failures[operation.label] = f"{type(exc).__name__}: {exc}"[:3000]
    assert failures == {}
