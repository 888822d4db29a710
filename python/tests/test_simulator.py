"""Reads and verifies every card type with the in-process simulator (no pcscd)."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
from pathlib import Path

import pytest

import zairyu

NUMBER = "AB12345678CD"


@pytest.mark.parametrize(
    "card_type,flow,apdus,images",
    [
        ("1", "gen1-3des", 16, {"front", "face"}),
        ("2", "gen1-3des", 13, {"front", "face"}),
        ("05", "gen2-aes", 17, {"name", "face", "address"}),
        ("06", "gen2-aes", 15, {"name", "face", "address"}),
    ],
)
def test_reads_and_verifies_every_type(card_type: str, flow: str, apdus: int, images: set[str]) -> None:
    with zairyu.open_simulator(card_type=card_type, card_number=NUMBER) as card:
        assert card.kind == "simulator" and card.reader is None and card.atr is None
        r = card.read(NUMBER)
    assert r.card_type == card_type
    assert r.generation == (1 if flow == "gen1-3des" else 2)
    assert r.flow == flow and r.policy == "full"
    assert r.card_number == "AB********CD"
    v = r.verification
    assert (v.signature, v.chain, v.anchor_profile) == ("valid", "verified", "test")
    assert v.anchor is not None and len(v.anchor) == 64
    # Valid under the simulator's test CA: not genuine, so not ok.
    assert v.reason is None and not v.is_production_valid and not r.ok
    assert r.verdict == v.verdict == r.to_dict()["verdict"] == "test"
    assert r.metrics == zairyu.Metrics(apdus=apdus, bytes_sent=r.metrics.bytes_sent, bytes_received=r.metrics.bytes_received)
    assert r.metrics.bytes_received > 9000
    assert set(r.images) == images == set(r.image_info)
    for name, data in r.images.items():
        assert isinstance(data, bytes)
        assert len(data) == r.image_info[name].bytes > 0
    assert r.images["face"][:8] == b"\x00\x00\x00\x0cjP  "  # JPEG 2000 (JP2)
    assert r.warnings == ()


def test_gen1_fields() -> None:
    with zairyu.open_simulator("1") as card:
        r = card.read(NUMBER)
    f = r.gen1
    assert f is not None and r.gen2 is None and f is r.fields
    assert f.name is None
    assert f.address is not None and f.address.text == "東京都千代田区霞が関１丁目１番１号"
    assert f.address.encoding == "utf8"
    assert f.municipality_code == "131016" and f.address_written_on == "20240401"
    assert f.comprehensive_permission is not None and f.comprehensive_permission.text.startswith("許可")
    assert f.renewal_application == "none"
    assert r.verification.signature_format == "bare_hash"
    with zairyu.open_simulator("2") as card:
        f2 = card.read(NUMBER).gen1
    assert f2 is not None and f2.comprehensive_permission is None and f2.renewal_application is None


def test_gen2_fields() -> None:
    with zairyu.open_simulator("05") as card:
        r = card.read(NUMBER)
    f = r.gen2
    assert f is not None and r.gen1 is None
    assert f.birth_date == "20000102" and f.card_expiry == "20310401"
    assert f.sex == zairyu.Coded("1", "男", "male")
    assert f.nationality is not None and f.nationality.code == "PAK" and f.nationality.en == "Pakistan"
    assert f.period_of_stay == zairyu.PeriodOfStay(kind="years_months", years=3, months=0)
    assert f.stay_expiry == "20290401" and f.permission_date == "20260401"
    assert f.work_restriction is not None and f.work_restriction.code == "2"
    assert f.individual_permission is False and f.renewal_application_pending is False
    assert f.name is None and f.address is None
    assert r.verification.signature_format == "ecdsa_raw"


def test_status_table_names_codes(tmp_path: Path) -> None:
    table = tmp_path / "status.tsv"
    table.write_text("# test\nABCDEFGHIJ\t留学\tStudent\n", encoding="utf-8")
    with zairyu.open_simulator("05") as card:
        f = card.read(NUMBER, status_table=table).gen2
    assert f is not None and f.status_of_residence == zairyu.Coded("ABCDEFGHIJ", "留学", "Student")


def test_text_only_policy() -> None:
    with zairyu.open_simulator("05") as card:
        r = card.read(NUMBER, policy="text_only")
    assert r.policy == "text_only" and r.images == {}
    assert r.verdict == "not_checked" and not r.ok
    assert r.verification.signature == "not_checked" and r.verification.reason is not None
    assert r.gen2 is not None and r.gen2.birth_date == "20000102"


def test_tampered_and_under_16_and_variants() -> None:
    with zairyu.open_simulator("1", tamper_front_image=True) as card:
        r = card.read(NUMBER)
    assert r.verification.signature == "invalid" and r.verdict == "invalid" and not r.ok
    with zairyu.open_simulator("05", tamper_printed_entries=True) as card:
        assert card.read(NUMBER).verification.signature == "invalid"
    with zairyu.open_simulator("1", under_16=True) as card:
        r = card.read(NUMBER)
    assert r.verification.signature == "absent" and r.verification.chain == "no_certificate"
    assert r.verdict == "absent" and not r.ok
    assert r.image_info["face"].format == "empty" and r.images["face"] == b""
    with zairyu.open_simulator("1", check_code_format="digest_info") as card:
        assert card.read(NUMBER).verification.signature_format == "digest_info"
    with zairyu.open_simulator("05", signature_der=True) as card:
        v = card.read(NUMBER).verification
    assert (v.signature, v.signature_format) == ("valid", "ecdsa_der")
    with zairyu.open_simulator("05", faults=["short_apdus_only"]) as card:
        r = card.read(NUMBER)
    assert r.link.extended_length is False and r.link.fallbacks and r.warnings


def test_warnings_are_str_with_a_code() -> None:
    with zairyu.open_simulator("5", faults=["short_apdus_only"]) as card:
        r = card.read(NUMBER)
    assert r.card_type == "05"  # "5" is accepted for "05"
    [w] = [w for w in r.warnings if w.code == "short_apdu_fallback"]
    assert isinstance(w, zairyu.ReadWarning) and isinstance(w, str)
    assert w == w.message and str(w) == w.message and w.message
    assert {"code": w.code, "message": w.message} in r.to_dict()["warnings"]
    assert len(r.warnings) == len(r.to_dict()["warnings"])
    assert "short_apdu_fallback" in repr(w)
    copied = pickle.loads(pickle.dumps(w))
    assert copied == w and copied.code == w.code and type(copied) is zairyu.ReadWarning
    assert zairyu.ReadWarning("m", "c") == "m" and zairyu.ReadWarning("m", "c").code == "c"


def test_card_number_normalised() -> None:
    with zairyu.open_simulator("1") as card:
        assert card.read("  ab12345678cd\n").verification.signature == "valid"


def test_trust_store_choices(tmp_path: Path) -> None:
    empty = zairyu.TrustStore()
    assert len(empty) == 0 and empty.anchors == []
    with zairyu.open_simulator("1") as card:
        r = card.read(NUMBER, trust=empty)
    v = r.verification
    assert (v.signature, v.chain, v.anchor) == ("valid", "no_matching_anchor", None)
    assert r.verdict == v.verdict == "untrusted" and not r.ok and not v.is_production_valid

    sim = zairyu.TrustStore().add_simulator_test_anchors()
    assert len(sim) == 2 and {a.profile for a in sim.anchors} == {"test"}
    assert {a.key_algorithm for a in sim.anchors} == {"rsa-2048", "ecdsa-p384"}

    # add_test_anchor: a DER file, a PEM file, a directory; anchors de-duplicated.
    ders = [_sim_ca_der(0), _sim_ca_der(1)]
    (tmp_path / "ca1.der").write_bytes(ders[0])
    pem = _pem(ders[1])
    (tmp_path / "ca2.pem").write_text(pem)
    store = zairyu.TrustStore()
    assert store.add_test_anchor(tmp_path / "ca1.der") == 1
    assert store.add_test_anchor(str(tmp_path / "ca2.pem")) == 1
    assert len(store) == 2
    assert store.add_test_anchor(tmp_path) == 2 and len(store) == 2
    with zairyu.open_simulator("06") as card:
        v = card.read(NUMBER, trust=store).verification
    assert (v.chain, v.anchor_profile) == ("verified", "test")
    assert v.anchor == sim.anchors[1].fingerprint


def _sim_ca_der(i: int) -> bytes:
    root = Path(__file__).resolve().parents[2] / "sim" / "fixtures"
    return (root / ("gen1-test-ca.der" if i == 0 else "gen2-test-ca.der")).read_bytes()


def _pem(der: bytes) -> str:
    import base64
    import textwrap

    body = "\n".join(textwrap.wrap(base64.b64encode(der).decode(), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


def test_to_json_is_the_cli_json() -> None:
    binary = os.environ.get("ZAIRYU_BIN")
    if not binary:
        pytest.skip("ZAIRYU_BIN not set")
    for card_type in ("1", "05"):
        with zairyu.open_simulator(card_type) as card:
            r = card.read(NUMBER)
        done = subprocess.run(
            [binary, "read", "--sim", "--card-number", NUMBER, "--sim-card-type", card_type, "--json"],
            capture_output=True,
            text=True,
        )
        # Exit 12: valid under the simulator's test CA, not a genuine card.
        assert done.returncode == 12, done.stderr
        cli = done.stdout
        ours, theirs = r.to_dict(), json.loads(cli)
        # Only the verification time may differ.
        ours["verification"].pop("verified_at_unix")
        theirs["verification"].pop("verified_at_unix")
        assert ours == theirs
        assert list(r.to_dict()) == list(json.loads(cli))  # same key order
        assert r.to_json() == json.dumps(r.to_dict(), ensure_ascii=False, indent=2)


def test_now_unix_is_used() -> None:
    with zairyu.open_simulator("1") as card:
        r = card.read(NUMBER, now_unix=1_800_000_000)
    assert r.verification.verified_at_unix == 1_800_000_000
    assert r.to_dict()["verification"]["verified_at_unix"] == 1_800_000_000


def test_ok_and_genuine_come_from_the_verdict() -> None:
    """ReadResult.ok and Verification.is_production_valid say what the library's one
    verdict says, whatever the separate results are."""
    with zairyu.open_simulator("06") as card:
        report = card.read(NUMBER).to_dict()
    for verdict, ok, genuine in [("production", True, True), ("test", False, False), ("untrusted", False, False)]:
        report["verdict"] = verdict
        r = zairyu.ReadResult(json.dumps(report), {})
        assert (r.verdict, r.ok, r.verification.is_production_valid) == (verdict, ok, genuine)
        assert r.verification.verdict == verdict and f"verdict={verdict!r}" in repr(r)
    # The decoded objects are the report's, field by field.
    assert r.gen2 is not None and r.gen2.birth_date == report["fields"]["birth_date"]
    assert r.metrics == zairyu.Metrics(**report["metrics"])
    assert r.image_info["face"] == zairyu.ImageInfo(**report["images"]["face"])
    assert r.link.fallbacks == tuple(report["link"]["fallbacks"])


@pytest.mark.parametrize("card_type", ["1", "2", "05", "06"])
def test_signed_and_unsigned_fields(card_type: str) -> None:
    with zairyu.open_simulator(card_type) as card:
        v = card.read("AB12345678CD").verification
    assert v.signed("face") and not v.signed("address") and not v.signed("card_type")
    assert "address" in v.unsigned_fields and "card_number" in v.unsigned_fields
    assert not set(v.signed_fields) & set(v.unsigned_fields)
    assert v.reason_code is None
    # Nothing is signed unless the signature is valid.
    with zairyu.open_simulator(card_type, tamper_front_image=True) as card:
        v = card.read("AB12345678CD").verification
    assert v.signature == "invalid" and v.reason_code == "signature_mismatch" and v.signed_fields == ()
    with zairyu.open_simulator(card_type, under_16=True) as card:
        v = card.read("AB12345678CD").verification
    assert v.verdict == "absent" and v.reason_code == "under_16"
