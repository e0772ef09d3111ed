"""Channel v2 as a receiver checks it: signature over '<ts>.<data>', age,
each exact message once, and nothing from before the subscription."""
from __future__ import annotations

import json

import pytest

from shared.events import (
    BadSignature,
    ChannelVerifier,
    RefusedVersion,
    ReplayedMessage,
    StaleMessage,
    encode_channel_message,
    sign,
)

SECRET = "channel-test-secret"
ENVELOPE = {"id": None, "type": "notice:created", "room": "student:12", "seq": None, "ts": "x", "data": {"n": 1}}
NOW = 1_800_000_000


def test_a_v2_message_verifies_once():
    verifier = ChannelVerifier(SECRET)
    raw = encode_channel_message([ENVELOPE], SECRET, ts=NOW)
    assert json.loads(raw)["v"] == 2
    assert verifier.verify(raw, now=NOW + 1) == [ENVELOPE]
    with pytest.raises(ReplayedMessage):
        verifier.verify(raw, now=NOW + 2)
    # Another message with the same timestamp is not a replay.
    assert verifier.verify(encode_channel_message([{**ENVELOPE, "data": {"n": 2}}], SECRET, ts=NOW), now=NOW + 2)


def test_the_timestamp_is_signed():
    message = json.loads(encode_channel_message([ENVELOPE], SECRET, ts=NOW))
    message["ts"] = NOW + 30
    with pytest.raises(BadSignature) as refused:
        ChannelVerifier(SECRET).verify(json.dumps(message), now=NOW + 30)
    assert refused.value.reason == "bad_signature"


@pytest.mark.parametrize("age", [61, -6])
def test_too_old_or_from_the_future_is_stale(age):
    raw = encode_channel_message([ENVELOPE], SECRET, ts=NOW - age)
    with pytest.raises(StaleMessage):
        ChannelVerifier(SECRET, max_age=60).verify(raw, now=NOW)


def test_a_restarted_receiver_refuses_what_was_sent_before_it_subscribed():
    raw = encode_channel_message([ENVELOPE], SECRET, ts=NOW)
    assert ChannelVerifier(SECRET).verify(raw, now=NOW)
    restarted = ChannelVerifier(SECRET)
    restarted.subscribed(at=NOW + 20)
    with pytest.raises(StaleMessage):
        restarted.verify(raw, now=NOW + 20)


def test_v1_only_when_accepted():
    data = json.dumps([ENVELOPE])
    v1 = json.dumps({"v": 1, "data": data, "sig": sign(data, SECRET)})
    with pytest.raises(RefusedVersion):
        ChannelVerifier(SECRET).verify(v1, now=NOW)
    assert ChannelVerifier(SECRET, accept_v1=True).verify(v1, now=NOW) == [ENVELOPE]


@pytest.mark.parametrize(
    "raw",
    ["", "[]", "{}", '{"v": 2, "ts": "1", "data": "[]", "sig": "00"}', '{"v": 2, "ts": true, "data": "[]", "sig": "0"}',
     '{"v": 3, "ts": 1, "data": "[]", "sig": "0"}', b"\xff"],
)
def test_malformed_messages_are_refused(raw):
    with pytest.raises(BadSignature):
        ChannelVerifier(SECRET).verify(raw, now=NOW)


def test_memory_of_seen_messages_is_bounded_by_the_age_limit():
    verifier = ChannelVerifier(SECRET, max_age=60, skew=5)
    for second in range(200):
        verifier.verify(encode_channel_message([ENVELOPE], SECRET, ts=NOW + second), now=NOW + second)
    assert len(verifier._seen) <= 66
