"""Evidence files checked again without a card, and registry export (issue 14).

:func:`verify_evidence` re-verifies an evidence file (``ReadResult.evidence_json``,
``zairyu dump``'s ``evidence.json``) and returns an :class:`EvidenceVerdict`;
:func:`export_rows` turns accepted verdicts into registry rows under the versioned
column schema of ``docs/export-schema.md``. Both are the Rust library's
(``zairyu-evidence``), as the CLI's ``zairyu verify-evidence`` and ``zairyu export``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, Iterable, Optional, Tuple

from . import _native

if TYPE_CHECKING:
    from . import TrustStore

__all__ = ["EvidenceVerdict", "verify_evidence", "export_rows"]


@dataclass(frozen=True)
class EvidenceVerdict:
    """The result of :func:`verify_evidence`.

    Attributes:
        accepted: intact, the station signature valid or absent, and the verification
            done again equal to the one recorded at the read. (What the card's verdict
            means is a separate question: ``verdict``.)
        integrity: ``"intact"``, ``"altered"`` (a byte changed after it was written) or
            ``"malformed"``; ``integrity_reason`` says where.
        station: the station signature: ``"unsigned"``, ``"valid"``, ``"invalid"`` or
            ``"not_checked"``; ``station_key_sha256`` names the key of a valid one.
        verdict: the card's verdict from the verification done again (``"production"``,
            ``"test"``, ``"invalid"`` …), or ``None`` if the file could not be verified.
        recorded_verdict: the verdict recorded at the read.
        matches_recorded, differences: whether, and where, the verification done again
            differs from the recorded one.
        created_at, zairyu_version: when, and by which library version, it was made.
    """

    accepted: bool
    integrity: str
    integrity_reason: Optional[str]
    station: str
    station_key_sha256: Optional[str]
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
        return cls(
            accepted=bool(d["accepted"]) if accepted is None else accepted,
            integrity=str(integrity.get("status", "")),
            integrity_reason=integrity.get("reason"),
            station=str(station.get("status", "")),
            station_key_sha256=station.get("key_sha256"),
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


def verify_evidence(data: bytes, trust: "TrustStore") -> EvidenceVerdict:
    """Re-verifies an evidence file without a card: checks that it is exactly the bytes
    zairyu wrote (canonical form, every file's SHA-256, the station signature if any),
    parses the chip's files again and verifies the chip's signature and chain again
    under ``trust`` at the recorded time. A changed byte anywhere is detected. A
    rejected file is a verdict (``accepted`` false), not an exception. The work runs
    with the GIL released.

    Args:
        data: the evidence file's bytes.
        trust: the anchors, as for a read (``TrustStore.from_dir(...)`` for the
            Ministry's roots; ``TrustStore().add_simulator_test_anchors()`` for the
            simulator's cards).
    """
    accepted, text, native = _native.verify_evidence(bytes(data), trust._native)
    return EvidenceVerdict._from_json(text, native, accepted)


def export_rows(
    evidences: Iterable[EvidenceVerdict],
    format: str = "csv",
    bom: bool = False,
    era: bool = False,
    include_card_number: bool = False,
) -> str:
    """The registry export of verified evidence files, one row per verdict in order,
    as ``zairyu export`` writes it: CSV after RFC 4180 (a header line, CRLF line ends;
    ``bom`` for spreadsheet programs) or JSON lines (``format="jsonl"``).

    Args:
        evidences: verdicts from :func:`verify_evidence`, each accepted.
        format: ``"csv"`` or ``"jsonl"``.
        bom: start the CSV with a UTF-8 byte order mark.
        era: fill the ``*_era`` columns with the Japanese era (``令和元年5月1日``).
        include_card_number: the full card number where the evidence holds it (made
            with ``include_card_number``); others stay redacted.

    Raises:
        EvidenceRejectedError: a verdict is not accepted (nothing is exported).
        InvalidInputError: an unknown format, or ``bom`` with JSON lines.
        ValueError: a verdict without its native part (not from :func:`verify_evidence`).
    """
    natives = []
    for v in evidences:
        if v._verdict is None:
            raise ValueError("export_rows needs verdicts returned by verify_evidence")
        natives.append(v._verdict)
    return _native.export_rows(natives, format, bom, era, include_card_number)
