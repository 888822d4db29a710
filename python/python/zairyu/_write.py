"""The receipt of an address write (:meth:`zairyu.Card.write_address`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

__all__ = ["WriteReceipt"]


@dataclass(frozen=True)
class WriteReceipt:
    """A write the card confirmed on a new card session: the write authority's receipt
    and what the counter saw. The same fields as the C library's receipt JSON
    (``zairyu_write_receipt_json``).

    Attributes:
        target: the file written: ``"df2_ef01"`` (first generation, the text record) or
            ``"df1_ef04"`` (second generation, the address image).
        content_sha256: SHA-256 (hex) of the new file content, which the re-read matched.
        old_content_sha256: SHA-256 (hex) of the content before the write, as the
            authority read it under secure messaging; ``None`` if it did not.
        card_number_sha256: SHA-256 (hex) of the card number, from the card's verified
            EF.ChipAuthInfo (never the number itself).
        terminal: the terminal certificate's holder reference (e.g. ``"JPTESTTERM00001"``).
        chip_auth_info_signer: the document signer of the card's EF.ChipAuthInfo.
        time_unix: when the authority accepted the request (Unix seconds).
        round_trips: exchanges with the authority (4 for AWP v1).
        generation: the card generation, 1 or 2.
        apdus: command APDUs of the access read, the relayed write and the re-read.
    """

    target: str
    content_sha256: str
    old_content_sha256: Optional[str]
    card_number_sha256: str
    terminal: str
    chip_auth_info_signer: str
    time_unix: int
    round_trips: int
    generation: int
    apdus: int

    @classmethod
    def _from_native(cls, d: Mapping[str, Any]) -> "WriteReceipt":
        return cls(
            target=str(d["target"]),
            content_sha256=str(d["content_sha256"]),
            old_content_sha256=None if d["old_content_sha256"] is None else str(d["old_content_sha256"]),
            card_number_sha256=str(d["card_number_sha256"]),
            terminal=str(d["terminal"]),
            chip_auth_info_signer=str(d["chip_auth_info_signer"]),
            time_unix=int(d["time_unix"]),
            round_trips=int(d["round_trips"]),
            generation=int(d["generation"]),
            apdus=int(d["apdus"]),
        )
