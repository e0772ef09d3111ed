"""`gateway.order.Order` on its own: what goes out when, for one room."""
from __future__ import annotations

from gateway.metrics import Metrics
from gateway.order import HOLD, Order


def env(seq: int) -> dict:
    return {"id": 100 + seq, "room": "conversation:1", "seq": seq}


def order() -> tuple[Order, Metrics, list[int]]:
    metrics, reads = Metrics(), []
    return Order(metrics, lambda: reads.append(1)), metrics, reads


def seqs(envelopes) -> list[int]:
    return [e["seq"] for e in envelopes]


def test_a_first_event_waits_for_a_log_read_started_after_it_then_goes_out_in_order():
    o, metrics, reads = order()
    read = o.read_started()  # already running when the event comes: does not count
    assert seqs(o.admit("conversation:1", 7, env(7))) == [] and reads == [1]
    assert o.read_done(read) == []
    read = o.read_started()
    assert seqs(o.admit("conversation:1", 6, env(6))) == []  # brought by that read
    assert seqs(o.read_done(read)) == [6, 7]
    assert seqs(o.admit("conversation:1", 8, env(8))) == [8]
    assert metrics.order_gaps == 0


def test_an_early_event_waits_for_its_predecessor_and_both_go_out_in_order():
    o, metrics, reads = order()
    # A room's very first event (seq 1) has no predecessor: it goes straight out.
    assert seqs(o.admit("conversation:1", 1, env(1))) == [1] and reads == []
    assert seqs(o.admit("conversation:1", 3, env(3))) == []
    assert seqs(o.admit("conversation:1", 4, env(4))) == []
    assert seqs(o.admit("conversation:1", 2, env(2))) == [2, 3, 4]
    assert (metrics.order_held, metrics.order_gaps, o.holding) == (3, 0, {})


def test_a_predecessor_that_never_comes_is_given_up_on_after_hold_and_then_dropped():
    o, metrics, _ = order()
    o.admit("conversation:1", 1, env(1))
    o.read_done(o.read_started())
    o.admit("conversation:1", 4, env(4))
    start = o.next_deadline()
    assert o.expired(start + HOLD / 2) == []
    assert seqs(o.expired(start + HOLD)) == [4]
    assert metrics.order_gaps == 2
    assert o.admit("conversation:1", 3, env(3)) == () and metrics.order_late == 1
    assert seqs(o.admit("conversation:1", 5, env(5))) == [5]
