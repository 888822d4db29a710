"""The address write (AWP v1) from Python: ``Authority.from_dir``, ``Card.write_address``,
the receipt, and one exception class per refusal (the same cases as the C tests,
``test_write_address`` in ffi/tests/test_api.c)."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Type

import pytest

import zairyu
from zairyu.simulator import make_write_pki, write_policy

NUMBER = "AB12345678CD"
READER = "Virtual PCD 00 01"
Serve = Callable[..., Any]

COUNTER = "py-test-counter"
NEW_ADDRESS = "東京都新宿区西新宿２－８－１"
RECORD: Dict[str, str] = {"date": "20260501", "municipality_code": "131041", "address": NEW_ADDRESS}
HEX64 = re.compile(r"^[0-9a-f]{64}$")


@pytest.fixture(scope="module")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A test write PKI whose policy lets COUNTER write for Tokyo (prefecture 13) only."""
    d = tmp_path_factory.mktemp("write-pki")
    make_write_pki(d, counters={COUNTER: ["13*"]})
    return d


@pytest.fixture
def authority(pki_dir: Path) -> zairyu.Authority:
    return zairyu.Authority.from_dir(pki_dir, COUNTER)


def write(card: zairyu.Card, authority: zairyu.Authority, number: str = NUMBER, **record: str) -> zairyu.WriteReceipt:
    r = {**RECORD, **record}
    return card.write_address(
        number,
        date=r["date"],
        municipality_code=r["municipality_code"],
        address=r["address"],
        authority=authority,
        operator_id="clerk-007",
    )


def address_of(card: zairyu.Card, trust: Optional[zairyu.TrustStore] = None) -> str:
    """The first-generation address text after a text-only read."""
    g = card.read(NUMBER, trust=trust, policy="text_only").gen1
    assert g is not None and g.address is not None
    return g.address.text


def check_receipt(receipt: zairyu.WriteReceipt, generation: int) -> None:
    assert isinstance(receipt, zairyu.WriteReceipt)
    assert receipt.generation == generation
    assert receipt.target == ("df2_ef01" if generation == 1 else "df1_ef04")
    assert HEX64.match(receipt.content_sha256)
    assert receipt.old_content_sha256 is not None and HEX64.match(receipt.old_content_sha256)
    assert receipt.old_content_sha256 != receipt.content_sha256
    assert HEX64.match(receipt.card_number_sha256)
    assert receipt.terminal == "JPTESTTERM00001"
    assert receipt.round_trips == 4
    assert receipt.time_unix > 1_700_000_000
    assert receipt.apdus > 10
    assert NUMBER not in repr(receipt)
    with pytest.raises(AttributeError):
        receipt.terminal = "x"  # type: ignore[misc]


@pytest.mark.parametrize("card_type", ["1", "2"])
def test_first_generation_write_reads_back(pki_dir: Path, authority: zairyu.Authority, card_type: str) -> None:
    with zairyu.open_simulator(card_type, write_pki=pki_dir) as card:
        assert address_of(card) != NEW_ADDRESS
        check_receipt(write(card, authority), 1)
        assert address_of(card) == NEW_ADDRESS
        g = card.read(NUMBER, policy="text_only").gen1
        assert g is not None and g.municipality_code == "131041"
        # A second write on the same card succeeds.
        other = "東京都千代田区霞が関１－１－１"
        write(card, authority, address=other, municipality_code="131016")
        assert address_of(card) == other


@pytest.mark.parametrize("card_type", ["05", "06"])
def test_second_generation_write_replaces_the_address_image(
    pki_dir: Path, authority: zairyu.Authority, card_type: str
) -> None:
    with zairyu.open_simulator(card_type, write_pki=pki_dir) as card:
        before = card.read(NUMBER).images["address"]
        receipt = write(card, authority)
        check_receipt(receipt, 2)
        after = card.read(NUMBER).images["address"]
    assert after != before and after[:4] == b"II*\0" and len(after) <= 2500


@pytest.mark.parametrize(
    ("record", "cls", "code"),
    [
        ({"municipality_code": "271004", "address": "大阪府大阪市北区中之島１－３－２０"}, zairyu.PolicyRefused,
         "policy_municipality_not_allowed"),
        ({"address": "東京都\x1b[2J新宿区"}, zairyu.RecordRefused, "record_invalid"),
        ({"date": "20261340"}, zairyu.RecordRefused, "record_invalid"),
        ({"municipality_code": "131047"}, zairyu.RecordRefused, "record_invalid"),
    ],
)
def test_refusals_are_typed_and_write_nothing(
    pki_dir: Path, authority: zairyu.Authority, record: Dict[str, str], cls: Type[zairyu.WriteError], code: str
) -> None:
    with zairyu.open_simulator("1", write_pki=pki_dir) as card:
        before = address_of(card)
        with pytest.raises(cls) as e:
            write(card, authority, **record)
        assert e.value.code == code
        assert isinstance(e.value, zairyu.AuthorityRefused) and isinstance(e.value, zairyu.ZairyuError)
        assert NUMBER not in str(e.value)
        assert address_of(card) == before
    audit = (pki_dir / "audit.jsonl").read_text(encoding="utf-8")
    assert code in audit


def test_a_record_refusal_is_a_value_error(pki_dir: Path, authority: zairyu.Authority) -> None:
    with zairyu.open_simulator("1", write_pki=pki_dir) as card, pytest.raises(ValueError):
        write(card, authority, date="2026-05-01")


def test_unknown_counter(pki_dir: Path) -> None:
    stranger = zairyu.Authority.from_dir(pki_dir, "unknown-counter")
    assert stranger.counter_id == "unknown-counter"
    with zairyu.open_simulator("1", write_pki=pki_dir) as card, pytest.raises(zairyu.PolicyRefused) as e:
        write(card, stranger)
    assert e.value.code == "policy_unknown_counter"


def test_wrong_number_and_bad_number(pki_dir: Path, authority: zairyu.Authority) -> None:
    with zairyu.open_simulator("1", write_pki=pki_dir) as card:
        with pytest.raises(zairyu.WrongCardNumber) as e:
            write(card, authority, number="AB12345678CE")
        assert e.value.code == "wrong_card_number"
        with pytest.raises(zairyu.InvalidInputError) as bad:
            write(card, authority, number="AB1234")
        assert bad.value.code == "input_bad_card_number"


def test_card_without_write_application(authority: zairyu.Authority) -> None:
    with zairyu.open_simulator("1") as card, pytest.raises(zairyu.WriteNotSupported) as e:
        write(card, authority)
    assert e.value.code == "write_card_status"
    assert isinstance(e.value, zairyu.WriteError) and not isinstance(e.value, zairyu.AuthorityRefused)


def test_closed_card(pki_dir: Path, authority: zairyu.Authority) -> None:
    card = zairyu.open_simulator("1", write_pki=pki_dir)
    card.close()
    with pytest.raises(zairyu.CardClosedError):
        write(card, authority)


def test_setup_errors(tmp_path: Path, pki_dir: Path) -> None:
    with pytest.raises(zairyu.AuthoritySetupError) as e:
        zairyu.Authority.from_dir(tmp_path / "missing", COUNTER)
    assert e.value.code == "authority_setup_failed"
    with pytest.raises(zairyu.AuthoritySetupError):
        zairyu.open_simulator("1", write_pki=tmp_path / "missing")
    with pytest.raises(zairyu.AuthoritySetupError):
        make_write_pki(pki_dir)  # never overwrites
    # A PKI without a policy is no authority directory.
    bare = tmp_path / "bare"
    make_write_pki(bare)
    with pytest.raises(zairyu.AuthoritySetupError):
        zairyu.Authority.from_dir(bare, COUNTER)
    write_policy(bare, {COUNTER: ["*"]})
    assert zairyu.Authority.from_dir(bare, COUNTER).counter_id == COUNTER
    with pytest.raises(TypeError):
        zairyu.open_simulator("1").write_address(NUMBER)  # type: ignore[call-arg]


def test_writes_on_two_threads_share_one_authority(pki_dir: Path, authority: zairyu.Authority) -> None:
    results: Dict[str, str] = {}

    def run(card_type: str) -> None:
        with zairyu.open_simulator(card_type, write_pki=pki_dir) as card:
            results[card_type] = write(card, authority).target

    threads = [threading.Thread(target=run, args=(t,)) for t in ("1", "2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {"1": "df2_ef01", "2": "df2_ef01"}


def test_error_classes_are_exported() -> None:
    for name in [
        "WriteError",
        "AuthorityRefused",
        "PolicyRefused",
        "RecordRefused",
        "AddressImageError",
        "AuthorityUnavailable",
        "WriteRefusedByCard",
        "WriteNotSupported",
        "ReadBackMismatch",
        "WriteUnconfirmed",
        "AuthoritySetupError",
        "Authority",
        "WriteReceipt",
    ]:
        assert name in zairyu.__all__ and hasattr(zairyu, name), name
    assert issubclass(zairyu.PolicyRefused, zairyu.AuthorityRefused)
    assert issubclass(zairyu.ReadBackMismatch, zairyu.WriteError)


def test_write_through_pcsc(serve: Serve, pki_dir: Path, authority: zairyu.Authority) -> None:
    """Through pcscd + vpcd: the re-read runs after a PC/SC reconnect with a card reset."""
    serve("--write-pki", str(pki_dir))
    with zairyu.open_reader(READER) as card:
        receipt = write(card, authority)
        assert receipt.generation == 1 and receipt.round_trips == 4
        assert address_of(card) == NEW_ADDRESS
    assert json.loads(json.dumps(receipt.__dict__))["terminal"] == "JPTESTTERM00001"
