"""Through the real PC/SC stack: pcscd with vsmartcard's vpcd driver, and the
simulator served as the card in "Virtual PCD 00 01" by `zairyu sim serve`."""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import pytest

import zairyu

NUMBER = "AB12345678CD"
READER = "Virtual PCD 00 01"
EMPTY_READER = "Virtual PCD 00 00"

Serve = Callable[..., Any]


@pytest.mark.parametrize("card_type,apdus", [("1", 16), ("2", 13), ("05", 17), ("06", 15)])
def test_reads_and_verifies_through_pcscd(serve: Serve, sim_trust: zairyu.TrustStore, card_type: str, apdus: int) -> None:
    serve("--card-type", card_type)
    readers = {r.name: r for r in zairyu.list_readers()}
    assert readers[READER].card_present and readers[READER].atr
    with zairyu.open_reader(READER) as card:
        assert card.kind == "pcsc" and card.reader == READER and card.atr == readers[READER].atr
        r = card.read(NUMBER, trust=sim_trust)
    assert r.card_type == card_type
    v = r.verification
    assert (v.signature, v.chain, v.anchor_profile) == ("valid", "verified", "test")
    assert r.metrics.apdus == apdus and r.link.extended_length is True
    assert r.images["face"][:4] == b"\x00\x00\x00\x0c"
    assert card.closed
    with pytest.raises(zairyu.CardClosedError):
        card.read(NUMBER)


def test_reader_default_trust_is_empty(serve: Serve) -> None:
    serve("--card-type", "05")
    with zairyu.open_reader(READER) as card:
        v = card.read(NUMBER).verification
    # A real reader trusts no test anchor unless told: the signature is valid, the chain is not.
    assert (v.signature, v.chain, v.anchor_profile) == ("valid", "no_matching_anchor", None)


def test_card_can_be_opened_again_after_close(serve: Serve, sim_trust: zairyu.TrustStore) -> None:
    serve("--card-type", "1")
    for _ in range(2):
        with zairyu.open_reader(READER) as card:
            assert card.read(NUMBER, trust=sim_trust).verification.signature == "valid"


def test_pcsc_failures(serve: Serve, sim_trust: zairyu.TrustStore) -> None:
    with pytest.raises(zairyu.NoSuchReaderError) as nsr:
        zairyu.open_reader("No Such Reader 99")
    assert nsr.value.code == "transport_no_such_reader"
    with pytest.raises(zairyu.CardRemovedError):
        zairyu.open_reader(EMPTY_READER)
    serve("--card-type", "1")
    with zairyu.open_reader(READER) as card:
        with pytest.raises(zairyu.WrongCardNumber) as wrong:
            card.read("ZZ00000000ZZ")
        assert wrong.value.sw == 0x6300 and "ZZ00000000ZZ" not in str(wrong.value)


def test_card_removed_mid_read(serve: Serve, sim_trust: zairyu.TrustStore) -> None:
    # The served card drops the vpcd link after 6 APDUs: pcscd reports the card gone.
    serve("--card-type", "05", "--fault", "drop-after:6")
    with zairyu.open_reader(READER) as card:
        with pytest.raises(zairyu.TransportError):
            card.read(NUMBER, trust=sim_trust)


def test_wait_helpers(serve: Serve) -> None:
    assert zairyu.wait_for_card(EMPTY_READER, timeout=0.3, poll=0.05) is False
    assert zairyu.wait_for_removal(EMPTY_READER, timeout=1) is True
    served = serve("--card-type", "2")
    assert zairyu.wait_for_card(READER, timeout=5, poll=0.05) is True
    served.stop()
    assert zairyu.wait_for_removal(READER, timeout=10, poll=0.05) is True


def test_waits_are_event_driven(serve: Serve) -> None:
    served = serve("--card-type", "05")
    stopper = threading.Timer(0.3, served.proc.terminate)
    stopper.start()
    t0 = time.monotonic()
    # A 10 s poll: a polling wait would notice the removal only after it.
    assert zairyu.wait_for_removal(READER, timeout=30, poll=10) is True
    assert time.monotonic() - t0 < 5
    stopper.join()


def test_waits_for_a_missing_reader() -> None:
    missing = "No Such Reader 99"
    t0 = time.monotonic()
    assert zairyu.wait_for_card(missing, timeout=0.3, poll=0.05) is False
    assert 0.3 <= time.monotonic() - t0 < 3
    assert zairyu.wait_for_removal(missing, timeout=30) is True
    for poll in (-1.0, float("nan")):
        with pytest.raises(zairyu.InvalidInputError) as info:
            zairyu.wait_for_card(EMPTY_READER, timeout=1, poll=poll)
        assert info.value.code == "input_bad_option"
