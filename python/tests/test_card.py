"""The Card object: context manager, close, and the GIL released during card I/O."""

from __future__ import annotations

import threading
import time
from typing import Dict, List

import pytest

import zairyu

NUMBER = "AB12345678CD"


def test_context_manager_closes_and_drops_the_session() -> None:
    with zairyu.open_simulator("05") as card:
        assert not card.closed
        assert card.read(NUMBER).verification.signature == "valid"
        # The transport (and the simulated chip with its session state) is held.
        assert card._native.metrics() == (17, 239, 9172)
    assert card.closed
    # Exit dropped the transport: nothing of the session is left in the object.
    assert card._native.metrics() is None
    with pytest.raises(zairyu.CardClosedError, match="closed"):
        card.read(NUMBER)
    card.close()  # idempotent
    assert "closed" in repr(card)


def test_context_manager_closes_on_exception() -> None:
    with pytest.raises(zairyu.WrongCardNumber):
        with zairyu.open_simulator("1") as card:
            card.read("ZZ00000000ZZ")
    assert card.closed
    with pytest.raises(zairyu.CardClosedError):
        card.read(NUMBER)


def test_reads_again_on_the_same_card() -> None:
    with zairyu.open_simulator("1") as card:
        first = card.read(NUMBER)
        second = card.read(NUMBER, policy="text_only")
        third = card.read(NUMBER)
        last = card._native.metrics()
    assert first.verification.signature == third.verification.signature == "valid"
    assert second.verification.signature == "not_checked"
    # Each read is a card session of its own, as in C: its metrics are that read's,
    # never a sum over the reads before it on the same card.
    assert third.metrics == first.metrics
    assert second.metrics.apdus < first.metrics.apdus
    assert second.metrics.bytes_received < first.metrics.bytes_received
    assert last == (third.metrics.apdus, third.metrics.bytes_sent, third.metrics.bytes_received)


def test_metrics_of_a_read_after_a_failed_one() -> None:
    with zairyu.open_simulator("05") as card:
        alone = card.read(NUMBER).metrics
        with pytest.raises(zairyu.WrongCardNumber):
            card.read("ZZ00000000ZZ")
        failed = card._native.metrics()
        after = card.read(NUMBER).metrics
    assert failed is not None and 0 < failed[0] < alone.apdus
    assert after == alone


def test_result_is_decoded_on_first_use() -> None:
    """A read returns without decoding the report: the decoding happens on first use
    of an attribute, once (the objects are the same on every use)."""
    r = zairyu.ReadResult("not JSON: never decoded until used", {"face": b"x"})
    assert r.images == {"face": b"x"}
    with pytest.raises(ValueError):
        r.verdict
    with zairyu.open_simulator("06") as card:
        r = card.read(NUMBER)
    assert r.fields is r.fields and r.verification is r.verification
    assert r.verdict == "test" and not r.ok
    with pytest.raises(AttributeError):
        getattr(r, "no_such_attribute")


def _timed_read(card_type: str, out: Dict[str, float], key: str) -> None:
    with zairyu.open_simulator(card_type, link_speed="212k") as card:
        t0 = time.monotonic()
        assert card.read(NUMBER).verification.signature == "valid"
        out[key] = time.monotonic() - t0


def test_two_threads_on_two_cards_run_in_parallel() -> None:
    """Each read sleeps its modelled 212 kbit/s air time inside the transport. With the
    GIL released the two reads overlap, and the main thread keeps running."""
    single: Dict[str, float] = {}
    _timed_read("1", single, "alone")
    assert single["alone"] > 0.3  # the link model makes a read slow

    results: Dict[str, float] = {}
    threads = [threading.Thread(target=_timed_read, args=(t, results, t)) for t in ("1", "05")]
    ticks: List[float] = []
    t0 = time.monotonic()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        ticks.append(time.monotonic())  # Python code runs while both cards are read
        time.sleep(0.005)
    for t in threads:
        t.join()
    both = time.monotonic() - t0
    assert set(results) == {"1", "05"}
    assert both < 1.5 * single["alone"], (both, single)
    assert len(ticks) > 20


def test_many_threads_share_one_card_safely() -> None:
    errors: List[BaseException] = []
    ok: List[bool] = []
    with zairyu.open_simulator("06") as card:

        def work() -> None:
            try:
                ok.append(card.read(NUMBER).verification.signature == "valid")
            except BaseException as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == [] and ok == [True] * 4


def test_close_from_another_thread_during_reads() -> None:
    card = zairyu.open_simulator("1", link_speed="424k")
    outcome: List[str] = []

    def work() -> None:
        try:
            card.read(NUMBER)
            outcome.append("read")
        except zairyu.CardClosedError:
            outcome.append("closed")

    t = threading.Thread(target=work)
    t.start()
    time.sleep(0.02)
    card.close()  # waits for the running read, then drops the card
    t.join()
    assert outcome in (["read"], ["closed"])
    assert card.closed
