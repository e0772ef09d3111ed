"""The URL rule at send time: a name is resolved and every address checked
before the worker connects (against DNS rebinding), and a refused send is a
failed attempt the receiver never sees."""
from __future__ import annotations

import pytest

from shared.outbound import OutboundRefused, public_address, resolve
from tests.worker.conftest import wait_until


def test_a_name_resolving_to_loopback_is_refused_when_sending():
    with pytest.raises(OutboundRefused, match="resolves to a loopback, private or other non-public address"):
        resolve("localhost", 80, allow_private=False)
    assert resolve("localhost", 80, allow_private=True) in ("127.0.0.1", "::1")


@pytest.mark.parametrize("address,public", [("8.8.8.8", True), ("2001:4860:4860::8888", True),
                                            ("127.0.0.1", False), ("::ffff:10.0.0.1", False),
                                            ("fe80::1%eth0", False), ("224.0.0.1", False), ("172.16.0.1", False)])
def test_public_addresses(address, public):
    assert public_address(address) is public


def test_the_worker_refuses_a_private_receiver_without_calling_it(client, admin, hook, publish, receiver, workers):
    webhook = hook()  # registered while private URLs were allowed (the API's setting)
    workers(OUTBOUND_ALLOW_PRIVATE="0", WEBHOOK_RETRY_SECONDS="0.1")
    publish(1)
    url = f"/api/v1/webhooks/{webhook['id']}/deliveries?status=failed"
    wait_until(lambda: client.get(url, headers=admin).get_json()["deliveries"], what="parking")
    (parked,) = client.get(url, headers=admin).get_json()["deliveries"]
    assert parked["attempts"] == 2 and parked["last_status_code"] is None
    assert parked["last_error"] == "refused: points at a loopback, private or link-local address"
    assert receiver.received == []
