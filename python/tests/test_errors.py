"""Exceptions: the one mapping from Rust error codes, and every class raised by a real
failure. Messages never contain the card number."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Sequence, Type

import pytest

import zairyu
from zairyu import _errors, _native

NUMBER = "AB12345678CD"
# A number used only in failing reads: it must never show up in an exception.
SECRET = "ZX98765432QW"

# The family of every code with one of these prefixes (the README's exception table).
FAMILY: Dict[str, Type[zairyu.ZairyuError]] = {
    "transport_": zairyu.TransportError,
    "auth_": zairyu.AuthenticationError,
    "sm_": zairyu.SecureMessagingError,
    "verify_": zairyu.VerificationError,
    "input_": zairyu.InvalidInputError,
}


def test_error_codes_are_the_librarys() -> None:
    codes = _native.ERROR_CODES
    assert zairyu.ERROR_CODES == codes and isinstance(codes, tuple)
    assert len(set(codes)) == len(codes) > 20
    assert all(isinstance(c, str) and c.islower() and " " not in c for c in codes)
    assert "input_bad_option" in codes and "transport_card_removed" in codes
    assert "closed" not in codes  # the binding's own code, not the library's


def test_every_rust_error_code_maps_to_its_class() -> None:
    """One sample of every zairyu::Error code (ERROR_CODES, from the library's
    ErrorCode::ALL), converted by the extension's single conversion function
    (python/src/errors.rs)."""
    samples = _native._error_samples()
    by_code = dict(samples)
    assert len(by_code) == len(samples)
    assert set(by_code) == set(_native.ERROR_CODES) | {"closed"}
    for code, exc in samples:
        cls = type(exc)
        assert isinstance(exc, zairyu.ZairyuError) and cls is not zairyu.ZairyuError, code
        assert cls.__name__ in zairyu.__all__ and getattr(zairyu, cls.__name__) is cls, code
        assert exc.code == code and str(exc) == exc.message and exc.message, code
        for prefix, family in FAMILY.items():
            if code.startswith(prefix):
                assert isinstance(exc, family), (code, cls)
    assert type(by_code["closed"]) is zairyu.CardClosedError
    card = by_code["card_status"]
    assert type(card) is zairyu.CardError and card.sw == 0x6982 and card.step == "READ BINARY"
    wrong = by_code["wrong_card_number"]
    assert type(wrong) is zairyu.WrongCardNumber and wrong.sw == 0x6300
    assert wrong.details == {"step": "VERIFY", "flow": "gen1-3des"}
    mismatch = by_code["card_number_mismatch"]
    assert type(mismatch) is zairyu.WrongCardNumber and mismatch.sw is None
    generation = by_code["wrong_generation"]
    assert type(generation) is zairyu.WrongGenerationError and generation.sw == 0x6300
    assert generation.details == {"card_type": "1", "flow": "gen2-aes"}
    parse = by_code["parse"]
    assert type(parse) is zairyu.ParseError and isinstance(parse, ValueError)
    assert (parse.file, parse.offset) == ("DF2/EF01", 3)
    for code in ("input_bad_card_number", "input_bad_file", "input_bad_option"):
        assert type(by_code[code]) is zairyu.InvalidInputError and isinstance(by_code[code], ValueError)
    option = by_code["input_bad_option"]
    assert isinstance(option, zairyu.InvalidInputError) and option.details == {"option": "read policy"}
    for code in ("transport_card_removed", "transport_card_reset", "transport_reader_unavailable", "transport_no_such_reader"):
        assert type(by_code[code]) is not zairyu.TransportError, code
    for code in ("unsupported_card_type", "unknown_card_type"):
        assert type(by_code[code]) is zairyu.UnsupportedCardType
    # The class comes from the extension by name: a name that is not an exception
    # class of zairyu is a programming error, not a silent fallback.
    assert type(_errors._from_native("TransportError", "transport_new_thing", "m", None, {})) is zairyu.TransportError
    with pytest.raises(KeyError):
        _errors._from_native("NoSuchClass", "x", "m", None, {})
    with pytest.raises(TypeError):
        _errors._from_native("Mapping", "x", "m", None, {})


def _read(card_type: str = "1", number: str = NUMBER, faults: Sequence[str] = (), **kw: Any) -> None:
    with zairyu.open_simulator(card_type, card_number=NUMBER, faults=faults) as card:
        card.read(number, **kw)


SEEN: List[BaseException] = []


def _raises(cls: Type[zairyu.ZairyuError], card_type: str = "1", **kw: Any) -> zairyu.ZairyuError:
    with pytest.raises(cls) as info:
        _read(card_type, **kw)
    assert type(info.value) is cls, repr(info.value)
    SEEN.append(info.value)
    return info.value


@pytest.mark.parametrize("card_type", ["1", "05"])
def test_real_failures_in_process(card_type: str) -> None:
    e = _raises(zairyu.WrongCardNumber, card_type, number=SECRET)
    assert isinstance(e, zairyu.WrongCardNumber) and e.sw == 0x6300 and e.code == "wrong_card_number"
    c = _raises(zairyu.CardError, card_type, faults=["status_word:B0:6982"])
    assert isinstance(c, zairyu.CardError) and c.sw == 0x6982 and c.code == "card_status"
    c = _raises(zairyu.CardError, card_type, faults=["status_word:A4:6A82"])
    assert isinstance(c, zairyu.CardError) and c.sw == 0x6A82 and c.step == "SELECT MF"
    assert _raises(zairyu.CardRemovedError, card_type, faults=["remove_card_after:5"]).code == "transport_card_removed"
    assert _raises(zairyu.CardResetError, card_type, faults=["reset_after:6"]).code == "transport_card_reset"
    assert _raises(zairyu.AuthenticationError, card_type, faults=["corrupt_mac_icc"]).code == "auth_card_mac_mismatch"
    assert _raises(zairyu.SecureMessagingError, card_type, faults=["bad_sm_padding"]).code == "sm_bad_padding"
    p = _raises(zairyu.ParseError, card_type, faults=["truncate_data:B0:8B:1"])
    assert isinstance(p, zairyu.ParseError) and isinstance(p, ValueError) and p.file == "MF/EF01"
    u = _raises(zairyu.UnsupportedCardType, card_type, faults=["corrupt_response_byte:B0:8A:2"])
    assert u.code == "unknown_card_type"
    other = "gen2" if card_type == "1" else "gen1"
    g = _raises(zairyu.WrongGenerationError, card_type, force_flow=other)
    assert isinstance(g, zairyu.CardError) and g.sw == 0x6300
    i = _raises(zairyu.InvalidInputError, card_type, number="AB1234")
    assert i.code == "input_bad_card_number" and isinstance(i, ValueError)
    assert _raises(zairyu.InvalidInputError, card_type, policy="everything").code == "input_bad_option"
    assert _raises(zairyu.InvalidInputError, card_type, force_flow="gen3").details == {"option": "access flow"}
    assert _raises(zairyu.InvalidInputError, card_type, status_table="/nonexistent.tsv").code == "input_bad_file"


def test_bad_simulator_options() -> None:
    with pytest.raises(zairyu.InvalidInputError) as info:
        zairyu.open_simulator("07")  # a card type the simulator does not issue
    assert info.value.code == "input_bad_option" and "simulator" in str(info.value)
    with pytest.raises(zairyu.InvalidInputError) as info:
        zairyu.open_simulator("9")
    assert info.value.code == "input_bad_option" and info.value.details == {"option": "card type"}
    with pytest.raises(zairyu.InvalidInputError) as info:
        zairyu.open_simulator("1", faults=["short_apdus_only", "explode"])
    assert info.value.code == "input_bad_option" and info.value.details == {"option": "simulator fault"}
    with pytest.raises(zairyu.InvalidInputError):
        zairyu.open_simulator("1", faults=["status_word:B0:69"])
    with pytest.raises(zairyu.InvalidInputError):
        zairyu.open_simulator("1", check_code_format="md5")
    with pytest.raises(zairyu.InvalidInputError) as info:
        zairyu.open_simulator("1", link_speed="9600")
    assert info.value.code == "input_bad_option" and "9600" in str(info.value)
    # The native function takes the public function's keywords, and no other.
    with pytest.raises(TypeError, match="sparkle"):
        _native.open_simulator("1", NUMBER, sparkle=True)
    with pytest.raises(TypeError):
        _native.open_simulator("1", NUMBER, under_16="yes")
    with pytest.raises(zairyu.InvalidInputError) as info:
        zairyu.open_simulator("1", card_number="SHORT")
    assert info.value.code == "input_bad_card_number" and "SHORT" not in str(info.value)
    with zairyu.open_simulator("1", card_number="ab12345678cd") as card:  # normalised as typed
        assert card.read("AB12345678CD").verification.signature == "valid"


def test_verification_errors(tmp_path: Path) -> None:
    ca = Path(__file__).resolve().parents[2] / "sim" / "fixtures" / "gen1-test-ca.der"
    (tmp_path / "not-a-ministry-root.der").write_bytes(ca.read_bytes())
    with pytest.raises(zairyu.VerificationError) as info:
        zairyu.TrustStore.from_dir(tmp_path)
    assert info.value.code == "verify_unpinned_production_root"
    assert info.value.details["fingerprint"] and "not-a-ministry-root.der" in info.value.details["path"]
    junk = tmp_path / "junk.der"
    junk.write_bytes(b"not a certificate")
    store = zairyu.TrustStore()
    with pytest.raises(zairyu.VerificationError) as info:
        store.add_test_anchor(junk)
    assert info.value.code == "verify_bad_anchor_file"
    assert len(store) == 0
    with pytest.raises(zairyu.VerificationError):
        store.add_test_anchor(tmp_path / "missing.pem")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert len(zairyu.TrustStore.from_dir(empty)) == 0


def test_closed_card() -> None:
    card = zairyu.open_simulator("1")
    card.close()
    with pytest.raises(zairyu.CardClosedError) as info:
        card.read(NUMBER)
    assert info.value.code == "closed"
    SEEN.append(info.value)


def test_reader_unavailable_without_pcscd(tmp_path: Path) -> None:
    """A PC/SC client pointed at a socket where no pcscd listens (pcsc-lite reads
    PCSCLITE_CSOCK_NAME), in a subprocess so this process keeps its context."""
    code = (
        "import zairyu\n"
        "for f in (zairyu.list_readers, lambda: zairyu.open_reader('Virtual PCD 00 01')):\n"
        "    try:\n"
        "        f()\n"
        "    except zairyu.ReaderUnavailableError as e:\n"
        "        assert e.code == 'transport_reader_unavailable', e.code\n"
        "    else:\n"
        "        raise SystemExit('no error')\n"
        "print('ok')\n"
    )
    env = dict(os.environ, PCSCLITE_CSOCK_NAME=str(tmp_path / "no-pcscd.comm"))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_messages_never_contain_the_card_number() -> None:
    failures: List[BaseException] = []
    for card_type in ("1", "2", "05", "06"):
        for faults in ([], ["status_word:20:6983"], ["corrupt_mac_icc"], ["bad_sm_padding"]):
            with zairyu.open_simulator(card_type, card_number=SECRET, faults=faults) as card:
                for number in (SECRET, NUMBER, SECRET.lower() + "X"):
                    try:
                        card.read(number)
                    except zairyu.ZairyuError as e:
                        failures.append(e)
    failures.extend(SEEN)
    assert len(failures) > 20
    for exc in failures:
        assert isinstance(exc, zairyu.ZairyuError)
        text = " ".join([str(exc), repr(exc), repr(exc.args), repr(exc.details)])
        for secret in (SECRET, SECRET.lower(), NUMBER, "98765432", "12345678"):
            assert secret not in text, text
