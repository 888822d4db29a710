"""Evidence files checked again without a card, and registry export (issue 14).

:func:`verify_evidence` re-verifies an evidence file (``ReadResult.evidence_json``,
``zairyu dump``'s ``evidence.json``) and returns an :class:`EvidenceVerdict`. Without
pinned station keys (``station_keys``) an accepted file proves only the fields the
chip's signature covers (``proves == "chip_signed_fields_only"``, with a ``caveat``):
whoever holds the file can rewrite the rest and recompute its hashes;
:func:`export_rows` turns accepted verdicts into registry rows under the versioned
column schema of ``docs/export-schema.md``. Both are the Rust library's
(``zairyu-evidence``), as the CLI's ``zairyu verify-evidence`` and ``zairyu export``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Tuple, Union

from . import _native

if TYPE_CHECKING:
    from . import TrustStore

__all__ = ["EvidenceVerdict", "verify_evidence", "export_rows"]


@dataclass(frozen=True)
class EvidenceVerdict:
    """The result of :func:`verify_evidence`.

    Attributes:
        accepted: intact, the verification done again equal to the one recorded at
            the read, and the station signature valid or absent (without
            ``station_keys``) or made by a pinned key (with). (What the card's verdict
            means is a separate question: ``verdict``.)
        proves: what an accepted file proves: ``"whole_file"`` (signed by a pinned
            station key), ``"chip_signed_fields_only"`` (no pinned key: unsigned fields
            such as a first-generation address, the card number, the times and the
            metadata could have been rewritten with recomputed hashes), or
            ``"nothing"`` (not accepted).
        caveat: what an accepted file does not prove, in words, or ``None``.
        rejected_because: why it is not accepted, in words (empty when it is).
        integrity: ``"intact"``, ``"altered"`` (a byte changed after it was written) or
            ``"malformed"``; ``integrity_reason`` says where.
        station: the station signature under the key the file carries: ``"unsigned"``,
            ``"valid"``, ``"invalid"`` or ``"not_checked"``; ``station_key_sha256``
            names the key of a valid one (the file names it: it proves nothing about
            the station unless pinned).
        station_pin: against ``station_keys``: ``"none_given"``, ``"pinned"``,
            ``"unsigned"``, ``"unknown_key"`` or ``"signature_invalid"``.
        verdict: the card's verdict from the verification done again (``"production"``,
            ``"test"``, ``"invalid"`` …), or ``None`` if the file could not be verified.
        recorded_verdict: the verdict recorded at the read.
        matches_recorded, differences: whether, and where, the verification done again
            differs from the recorded one.
        created_at, zairyu_version: when, and by which library version, it was made.
    """

    accepted: bool
    proves: str
    caveat: Optional[str]
    rejected_because: Tuple[str, ...]
    integrity: str
    integrity_reason: Optional[str]
    station: str
    station_key_sha256: Optional[str]
    station_pin: str
    verdict: Optional[str]
    recorded_verdict: Optional[str]
    matches_recorded: bool
    differences: Tuple[str, ...]
    created_at: Optional[str]
    zairyu_version: Optional[str]
    _json: str = field(repr=False, compare=False)
    _verdict: Optional[_native.Verdict] = field(default=None, repr=False, compare=False)

    @classmethod
    def _from_json(
        cls, text: str, native: Optional[_native.Verdict] = None, accepted: Optional[bool] = None
    ) -> "EvidenceVerdict":
        d = json.loads(text)
        integrity = d.get("integrity") or {}
        station = d.get("station") or {}
        station_pin = d.get("station_pin") or {}
        return cls(
            accepted=bool(d["accepted"]) if accepted is None else accepted,
            proves=str(d.get("proves", "nothing")),
            caveat=d.get("caveat"),
            rejected_because=tuple(str(x) for x in d.get("rejected_because") or ()),
            integrity=str(integrity.get("status", "")),
            integrity_reason=integrity.get("reason"),
            station=str(station.get("status", "")),
            station_key_sha256=station.get("key_sha256"),
            station_pin=str(station_pin.get("status", "")),
            verdict=d.get("verdict"),
            recorded_verdict=d.get("recorded_verdict"),
            matches_recorded=bool(d.get("matches_recorded")),
            differences=tuple(str(x) for x in d.get("differences") or ()),
            created_at=d.get("created_at"),
            zairyu_version=d.get("zairyu_version"),
            _json=text,
            _verdict=native,
        )

    def to_dict(self) -> Dict[str, Any]:
        """The verdict as ``zairyu verify-evidence --json`` prints it (without
        ``file``), parsed; ``report`` is the read's JSON report. Never the full card
        number."""
        result: Dict[str, Any] = json.loads(self._json)
        return result

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text (one line)."""
        return self._json


StationKeyPin = Union[bytes, bytearray, str]


def verify_evidence(
    data: bytes, trust: "TrustStore", *, station_keys: Optional[Iterable[StationKeyPin]] = None
) -> EvidenceVerdict:
    """Re-verifies an evidence file without a card: checks that it is exactly the bytes
    zairyu wrote (canonical form, every file's SHA-256, the station signature if any),
    parses the chip's files again and verifies the chip's signature and chain again
    under ``trust`` at the recorded time. A rejected file is a verdict (``accepted``
    false), not an exception. The work runs with the GIL released.

    Accidental damage (a changed byte) is always detected; a forger is not, unless the
    station's key is pinned: whoever holds the file can rewrite what the chip did not
    sign (a first-generation address, the card number, the times, the metadata),
    recompute the hashes and drop or replace the station signature (its public key
    travels in the file). Without ``station_keys`` an accepted verdict therefore says
    ``proves == "chip_signed_fields_only"`` and carries a ``caveat``; with them, only a
    file signed by a pinned key is accepted, and it proves the whole file.

    Args:
        data: the evidence file's bytes.
        trust: the anchors, as for a read (``TrustStore.from_dir(...)`` for the
            Ministry's roots; ``TrustStore().add_simulator_test_anchors()`` for the
            simulator's cards).
        station_keys: the pinned reading-station keys: each the SHA-256 of the
            station's public key (SubjectPublicKeyInfo DER), as 32 bytes or 64 hex
            digits (the ``key_sha256`` of a signed file, ``station_key_sha256`` of a
            verdict). ``None``: no pins. An empty iterable is refused.

    Raises:
        InvalidInputError: a pin that is not 32 bytes or 64 hex digits, or no pins.
    """
    pins: Optional[List[StationKeyPin]] = None if station_keys is None else list(station_keys)
    accepted, text, native = _native.verify_evidence(bytes(data), trust._native, pins)
    return EvidenceVerdict._from_json(text, native, accepted)


def export_rows(
    evidences: Iterable[EvidenceVerdict],
    format: str = "csv",
    bom: bool = False,
    era: bool = False,
    include_card_number: bool = False,
    guard_formulas: bool = False,
) -> str:
    """The registry export of verified evidence files, one row per verdict in order,
    as ``zairyu export`` writes it: CSV after RFC 4180 (a header line, CRLF line ends;
    ``bom`` for spreadsheet programs) or JSON lines (``format="jsonl"``). Each verdict
    counts as it was verified: a verdict made without ``station_keys`` proves only the
    ``*_signed`` columns (see :attr:`EvidenceVerdict.proves`).

    Args:
        evidences: verdicts from :func:`verify_evidence`, each accepted.
        format: ``"csv"`` or ``"jsonl"``.
        bom: start the CSV with a UTF-8 byte order mark.
        era: fill the ``*_era`` columns with the Japanese era (``令和元年5月1日``).
        include_card_number: the full card number where the evidence holds it (made
            with ``include_card_number``); others stay redacted.
        guard_formulas: CSV only: a cell starting with ``=``, ``+``, ``-``, ``@``, tab
            or CR gets a ``'`` in front, so a spreadsheet does not run card text as a
            formula (changes the value: for spreadsheets, not for registry import).

    Raises:
        EvidenceRejectedError: a verdict is not accepted (nothing is exported).
        InvalidInputError: an unknown format, or ``bom`` or ``guard_formulas`` with
            JSON lines.
        ValueError: a verdict without its native part (not from :func:`verify_evidence`).
    """
    natives = []
    for v in evidences:
        if v._verdict is None:
            raise ValueError("export_rows needs verdicts returned by verify_evidence")
        natives.append(v._verdict)
    return _native.export_rows(natives, format, bom, era, include_card_number, guard_formulas)
