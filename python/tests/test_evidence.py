"""Evidence from Python (issue 14): images as PNG, the report page (also as a
notebook's ``_repr_html_``), evidence files checked again without a card, and the
registry export. Mirrors the C tests (ffi/tests/test_api.c, "evidence"). The PNGs are
checked with the standard library only (``struct``, ``zlib``)."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import zlib
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest

import zairyu

NUMBER = "AB12345678CD"

IMAGES = {"1": ["front", "face"], "05": ["name", "face", "address"]}


def read(card_type: str, under_16: bool = False, tamper_front_image: bool = False) -> zairyu.ReadResult:
    with zairyu.open_simulator(card_type, NUMBER, under_16=under_16, tamper_front_image=tamper_front_image) as card:
        return card.read(NUMBER)


def sim_trust() -> zairyu.TrustStore:
    return zairyu.TrustStore().add_simulator_test_anchors()


def png_chunks(png: bytes) -> List[Tuple[bytes, bytes]]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    chunks = []
    at = 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind = png[at + 4 : at + 8]
        data = png[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", png[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + data) == crc, kind
        chunks.append((kind, data))
        at += 12 + length
    return chunks


def png_info(png: bytes) -> Tuple[int, int, int]:
    """(width, height, channels) from IHDR, after checking that the IDAT data inflates
    to exactly one filter byte plus the samples of each row."""
    chunks = png_chunks(png)
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, colour = struct.unpack(">IIBB", chunks[0][1][:10])
    assert depth == 8
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    pixels = zlib.decompress(b"".join(d for k, d in chunks if k == b"IDAT"))
    assert len(pixels) == height * (1 + width * channels)
    return width, height, channels


def source_size(image: bytes) -> Tuple[int, int]:
    """Width and height from the chip image's own header, read independently of the
    library: TIFF tags 256/257, the JP2 ``ihdr`` box, or a codestream's SIZ marker."""
    if image[:4] in (b"II*\x00", b"MM\x00*"):
        e = "<" if image[:2] == b"II" else ">"
        (ifd,) = struct.unpack(e + "I", image[4:8])
        (count,) = struct.unpack(e + "H", image[ifd : ifd + 2])
        tags: Dict[int, int] = {}
        for i in range(count):
            entry = image[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
            tag, kind = struct.unpack(e + "HH", entry[:4])
            (value,) = struct.unpack(e + ("H" if kind == 3 else "I"), entry[8:10] if kind == 3 else entry[8:12])
            tags[tag] = value
        return tags[256], tags[257]
    if image[:4] == b"\xff\x4f\xff\x51":
        x, y, xo, yo = struct.unpack(">IIII", image[8:24])
        return x - xo, y - yo
    at = image.index(b"ihdr")
    height, width = struct.unpack(">II", image[at + 4 : at + 12])
    return width, height


@pytest.mark.parametrize("card_type", ["1", "05"])
def test_images_as_png_have_the_source_size(card_type: str) -> None:
    result = read(card_type)
    for name in IMAGES[card_type]:
        png = result.image_png(name)
        width, height, channels = png_info(png)
        assert (width, height) == source_size(result.images[name]), name
        assert channels == (3 if name == "face" else 1)
    other = "name" if card_type == "1" else "front"
    with pytest.raises(KeyError):
        result.image_png(other)
    with pytest.raises(zairyu.InvalidInputError):
        result.image_png("signature")


def test_absent_images_are_key_errors() -> None:
    with pytest.raises(KeyError):
        read("1", under_16=True).image_png("face")
    with zairyu.open_simulator("05") as card:
        text_only = card.read(NUMBER, policy="text_only")
    with pytest.raises(KeyError):
        text_only.image_png("face")
    assert "<!DOCTYPE html>" in text_only.report_html()


def test_report_html_and_notebook_repr() -> None:
    result = read("1")
    html = result.report_html()
    assert html.startswith("<!DOCTYPE html>")
    assert 'data-verdict="test"' in html and "テスト用のカードです" in html
    assert 'src="data:image/png;base64,iVBORw0KGgo' in html
    assert NUMBER not in html
    assert result._repr_html_() == html
    tampered = read("1", tamper_front_image=True).report_html()
    assert 'data-verdict="invalid"' in tampered and "偽造・改ざんの疑いがあります" in tampered


def test_a_malformed_image_is_an_image_decode_error() -> None:
    # The decode path of ReadResult.image_png on bytes a forged chip could hold (no
    # simulated card holds a malformed image).
    from zairyu import _native

    cases = [
        (b"II*\x00\x08\x00\x00\x00\x00\x00", "image_malformed", "malformed"),
        (b"\xff\x4f\xff\x51\x00", "image_malformed", "malformed"),
        (b"GIF89a-not-a-chip-image", "image_unknown_format", "unknown_format"),
    ]
    for data, code, reason in cases:
        with pytest.raises(zairyu.ImageDecodeError) as e:
            _native._image_png_of(data)
        assert isinstance(e.value, ValueError) and isinstance(e.value, zairyu.ZairyuError)
        assert (e.value.code, e.value.details) == (code, {"image": "bytes", "reason": reason})
    result = read("1")
    assert _native._image_png_of(result.images["front"]) == result.image_png("front")
    assert issubclass(zairyu.EvidenceRejectedError, zairyu.ZairyuError)


def p256_pkcs8() -> bytes:
    """A fixed ECDSA P-256 test key as PKCS#8 DER (scalar 1..32, no public key)."""
    ec = bytes([0x30, 0x25, 0x02, 0x01, 0x01, 0x04, 0x20]) + bytes(range(1, 33))
    algorithm = bytes.fromhex("301306072a8648ce3d020106082a8648ce3d030107")
    return bytes([0x30, 0x41, 0x02, 0x01, 0x00]) + algorithm + bytes([0x04, 0x27]) + ec


def test_evidence_verifies_and_one_changed_byte_is_rejected() -> None:
    result = read("05")
    evidence = result.evidence_json(card_number=NUMBER, created_at_unix=1_760_000_000)
    assert evidence.endswith(b"\n") and NUMBER.encode() not in evidence
    assert b'"created_at":"2025-10-09T08:53:20Z"' in evidence
    trust = sim_trust()
    v = zairyu.verify_evidence(evidence, trust)
    assert v.accepted and v.integrity == "intact" and v.station == "unsigned"
    assert v.verdict == "test" == v.recorded_verdict and v.matches_recorded
    assert v.to_dict()["accepted"] is True and json.loads(v.to_json())["verdict"] == "test"

    at = evidence.index(b'"base64":"') + 20
    changed = evidence[:at] + bytes([evidence[at] ^ 1]) + evidence[at + 1 :]
    bad = zairyu.verify_evidence(changed, trust)
    assert not bad.accepted and bad.integrity == "altered" and bad.integrity_reason
    junk = zairyu.verify_evidence(b"{}", trust)
    assert not junk.accepted and junk.verdict is None

    # Without the simulator's anchors the chain no longer verifies: not the same result.
    untrusted = zairyu.verify_evidence(evidence, zairyu.TrustStore())
    assert not untrusted.accepted and untrusted.differences

    csv = zairyu.export_rows([v])
    lines = csv.split("\r\n")
    assert lines[0].startswith("schema_version,card_type,card_type_ja,generation,verdict,")
    assert lines[1].startswith("1,05,") and ",test," in lines[1] and "AB********CD" in lines[1]
    assert lines[2:] == [""]
    with pytest.raises(zairyu.EvidenceRejectedError) as e:
        zairyu.export_rows([v, bad])
    assert e.value.code == "evidence_rejected" and e.value.details["index"] == 1
    with pytest.raises(zairyu.InvalidInputError):
        zairyu.export_rows([v], format="xml")
    with pytest.raises(zairyu.InvalidInputError):
        zairyu.export_rows([v], format="jsonl", bom=True)
    rows = zairyu.export_rows([v, v], format="jsonl", era=True).splitlines()
    assert len(rows) == 2 and "年" in json.loads(rows[0])["birth_date_era"]
    assert zairyu.export_rows([], bom=True).startswith("\ufeffschema_version,")


def test_evidence_options(tmp_path: Path) -> None:
    result = read("1")
    full = result.evidence_json(include_card_number=True, card_number=NUMBER)
    assert b'"card_number_full":"AB12345678CD"' in full
    trust = sim_trust()
    v = zairyu.verify_evidence(full, trust)
    assert v.accepted
    assert f",{NUMBER}," in zairyu.export_rows([v], include_card_number=True)
    assert NUMBER not in zairyu.export_rows([v]) and NUMBER not in v.to_json()

    key = p256_pkcs8()
    signed = zairyu.verify_evidence(result.evidence_json(key), trust)
    assert signed.accepted and signed.station == "valid" and signed.station_key_sha256
    key_file = tmp_path / "station.der"
    key_file.write_bytes(key)
    from_file = zairyu.verify_evidence(result.evidence_json(key_file), trust)
    assert from_file.station_key_sha256 == signed.station_key_sha256

    with pytest.raises(zairyu.InvalidInputError) as e:
        result.evidence_json(b"not a key")
    assert e.value.code == "station_key_invalid"
    with pytest.raises(zairyu.InvalidInputError):
        result.evidence_json(include_card_number=True)
    with pytest.raises(zairyu.InvalidInputError):
        result.evidence_json(card_number="AB1")


def test_a_result_without_card_data() -> None:
    result = read("1")
    bare = zairyu.ReadResult(result.to_json(), result.images)
    assert bare.verdict == "test"
    with pytest.raises(ValueError):
        bare.report_html()
    assert bare._repr_html_() is None


# The SHA-256 of p256_pkcs8()'s public key as SubjectPublicKeyInfo DER, computed
# independently: `openssl pkey -inform DER -pubout -outform DER | sha256sum`.
STATION_PIN = "f1d59449b727165de732bf283338122b99628a615918fedc67d878fffcf47da7"


def canonical(value: Any) -> str:
    """The evidence's canonical JSON (keys sorted, no whitespace), as a forger writes it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def forge(evidence: bytes, edit: Callable[[Dict[str, Any]], None]) -> bytes:
    """The evidence with ``edit`` applied to its document and every hash recomputed."""
    doc = json.loads(evidence)
    assert (canonical(doc) + "\n").encode() == evidence, "the canonical form is reproduced"
    edit(doc)
    for f in doc["content"]["files"]:
        data = base64.b64decode(f["base64"])
        f["length"], f["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    doc["content_sha256"] = hashlib.sha256(canonical(doc["content"]).encode()).hexdigest()
    return (canonical(doc) + "\n").encode()


def edit_address(doc: Dict[str, Any], old: str, new: str) -> None:
    """Rewrites the first generation's address (DF2/EF01, not signed by the chip)."""
    f = next(f for f in doc["content"]["files"] if f["name"] == "DF2/EF01")
    data = base64.b64decode(f["base64"])
    assert len(old.encode()) == len(new.encode()) and old.encode() in data
    f["base64"] = base64.b64encode(data.replace(old.encode(), new.encode())).decode()


def test_pinned_station_keys() -> None:
    result = read("1")
    trust = sim_trust()
    signed = result.evidence_json(p256_pkcs8(), created_at_unix=1_760_000_000)
    unsigned = result.evidence_json(created_at_unix=1_760_000_000)
    assert STATION_PIN.encode() in signed

    # Without pins: accepted, but it says what it does not prove.
    v = zairyu.verify_evidence(signed, trust)
    assert v.accepted and v.proves == "chip_signed_fields_only" and v.station_pin == "none_given"
    assert v.station_key_sha256 == STATION_PIN
    assert v.caveat and "recomputed hashes" in v.caveat and v.to_dict()["caveat"] == v.caveat

    # The genuine signed file under its pin, in each spelling: the whole file.
    spellings: List[Any] = [
        [STATION_PIN],
        [STATION_PIN.upper()],
        [bytes.fromhex(STATION_PIN)],
        ("00" * 32, bytearray.fromhex(STATION_PIN)),
    ]
    for pins in spellings:
        w = zairyu.verify_evidence(signed, trust, station_keys=pins)
        assert w.accepted and w.proves == "whole_file" and w.caveat is None, pins
        assert w.station_pin == "pinned" and w.rejected_because == ()
    pinned = zairyu.verify_evidence(signed, trust, station_keys=iter([STATION_PIN]))
    assert zairyu.export_rows([pinned]).startswith("schema_version,")

    # Another station's pin, an unsigned file, the signature stripped: rejected, and why.
    other = zairyu.verify_evidence(signed, trust, station_keys=["11" * 32])
    assert not other.accepted and other.proves == "nothing" and other.station_pin == "unknown_key"
    assert "not pinned" in other.rejected_because[0]
    with pytest.raises(zairyu.EvidenceRejectedError):
        zairyu.export_rows([other])
    no_sig = zairyu.verify_evidence(unsigned, trust, station_keys=[STATION_PIN])
    assert not no_sig.accepted and no_sig.station_pin == "unsigned"
    assert "no station signature" in no_sig.rejected_because[0]
    stripped = forge(signed, lambda doc: doc.update(station=None))
    assert zairyu.verify_evidence(stripped, trust).accepted
    assert not zairyu.verify_evidence(stripped, trust, station_keys=[STATION_PIN]).accepted

    # Bad pins are input errors, and an empty list is not "no pins".
    bads: List[Any] = [[], ["abc"], [b"\x00" * 31], [123], "f" * 64]
    for bad in bads:
        with pytest.raises(zairyu.InvalidInputError):
            zairyu.verify_evidence(signed, trust, station_keys=bad)


def test_the_reviewers_forgery() -> None:
    """An unsigned file whose address, card number and times were rewritten, with the
    hashes recomputed: accepted with its caveat without pins, rejected with them."""
    result = read("1")
    trust = sim_trust()
    evidence = result.evidence_json(created_at_unix=1_760_000_000)

    def edit(doc: Dict[str, Any]) -> None:
        edit_address(doc, "東京都千", "=1+2+3+4+567")
        doc["content"]["card_number_full"] = "ZZ99999999ZZ"
        doc["content"]["created_at"], doc["content"]["created_at_unix"] = "2025-10-08T08:53:20Z", 1_759_913_600

    forged = forge(evidence, edit)
    v = zairyu.verify_evidence(forged, trust)
    assert v.accepted and v.proves == "chip_signed_fields_only" and v.caveat
    csv = zairyu.export_rows([v])
    assert ",=1+2+3+4+567代田区" in csv
    assert ",'=1+2+3+4+567代田区" in zairyu.export_rows([v], guard_formulas=True)
    with pytest.raises(zairyu.InvalidInputError):
        zairyu.export_rows([v], format="jsonl", guard_formulas=True)
    rejected = zairyu.verify_evidence(forged, trust, station_keys=[STATION_PIN])
    assert not rejected.accepted and rejected.proves == "nothing" and rejected.station_pin == "unsigned"
