"""The typed result of a read: :class:`ReadResult` and the objects it holds.

Everything here is built from the report JSON the Rust library produces
(``zairyu::report::Report``, the same JSON as ``zairyu read --json``), so
:meth:`ReadResult.to_json` is byte for byte what the CLI prints and
:meth:`ReadResult.to_dict` is its parsed form.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional, Tuple, Union

__all__ = [
    "Text",
    "Coded",
    "PeriodOfStay",
    "Gen1Fields",
    "Gen2Fields",
    "ImageInfo",
    "Verification",
    "Metrics",
    "LinkInfo",
    "ReadResult",
    "ReaderInfo",
    "TrustAnchor",
]


def _opt_str(v: Any) -> Optional[str]:
    return None if v is None else str(v)


def _opt_bool(v: Any) -> Optional[bool]:
    return None if v is None else bool(v)


@dataclass(frozen=True)
class Text:
    """A decoded text entry (first-generation address and permissions, second-generation note).

    ``encoding`` is ``"utf8"`` or ``"shift_jis_fallback"``; ``lossy`` says whether bytes
    had to be replaced while decoding.
    """

    text: str
    encoding: str
    lossy: bool

    @classmethod
    def _from(cls, d: Any) -> Optional["Text"]:
        if d is None:
            return None
        return cls(text=str(d["text"]), encoding=str(d["encoding"]), lossy=bool(d.get("lossy", False)))


@dataclass(frozen=True)
class Coded:
    """A coded value with its names; ``ja``/``en`` are ``None`` when the code is unknown."""

    code: str
    ja: Optional[str]
    en: Optional[str]

    @classmethod
    def _from(cls, d: Any) -> Optional["Coded"]:
        if d is None:
            return None
        return cls(code=str(d["code"]), ja=_opt_str(d.get("ja")), en=_opt_str(d.get("en")))


@dataclass(frozen=True)
class PeriodOfStay:
    """在留期間. ``kind`` is ``"years_months"`` (``years``, ``months``), ``"days"``
    (``days``), ``"indefinite"`` or ``"raw"`` (``value`` as stored)."""

    kind: str
    years: Optional[int] = None
    months: Optional[int] = None
    days: Optional[int] = None
    value: Optional[str] = None

    @classmethod
    def _from(cls, d: Any) -> Optional["PeriodOfStay"]:
        if d is None:
            return None
        return cls(
            kind=str(d["kind"]),
            years=d.get("years"),
            months=d.get("months"),
            days=d.get("days"),
            value=_opt_str(d.get("value")),
        )


@dataclass(frozen=True)
class Gen1Fields:
    """Decoded fields of a first-generation card (types ``"1"``, ``"2"``).

    The holder's name, birth date, nationality and status are printed on the card face
    only: on these chips they are inside the front image (``ReadResult.images["front"]``),
    so ``name`` is always ``None``. ``comprehensive_permission``,
    ``individual_permission`` and ``renewal_application`` are ``None`` on a special
    permanent resident certificate (type ``"2"``, no such files); on a residence card a
    ``None`` permission means the file is empty (no permission recorded).
    ``renewal_application`` is ``"none"``, ``"pending"`` or ``"empty"``.
    """

    spec_version: str
    name: Optional[str]
    address_written_on: Optional[str]
    municipality_code: Optional[str]
    address: Optional[Text]
    comprehensive_permission: Optional[Text]
    individual_permission: Optional[Text]
    renewal_application: Optional[str]

    @classmethod
    def _from(cls, d: Mapping[str, Any]) -> "Gen1Fields":
        return cls(
            spec_version=str(d["spec_version"]),
            name=_opt_str(d.get("name")),
            address_written_on=_opt_str(d.get("address_written_on")),
            municipality_code=_opt_str(d.get("municipality_code")),
            address=Text._from(d.get("address")),
            comprehensive_permission=Text._from(d.get("comprehensive_permission")),
            individual_permission=Text._from(d.get("individual_permission")),
            renewal_application=_opt_str(d.get("renewal_application")),
        )


@dataclass(frozen=True)
class Gen2Fields:
    """Decoded fields of a second-generation card (types ``"05"``, ``"06"``).

    The name and the address are images only on these cards (``images["name"]``,
    ``images["address"]``), so ``name`` and ``address`` are always ``None``. Dates are
    ``YYYYMMDD`` strings. ``permission_type``, ``permission_date``,
    ``work_restriction``, ``stay_expiry`` and the DF2 permission entries exist on type
    ``"05"`` only.
    """

    spec_version: str
    name: Optional[str]
    address: Optional[str]
    card_expiry: Optional[str]
    birth_date: Optional[str]
    sex: Optional[Coded]
    nationality: Optional[Coded]
    status_of_residence: Optional[Coded]
    period_of_stay: Optional[PeriodOfStay]
    permission_type: Optional[str]
    permission_date: Optional[str]
    work_restriction: Optional[Coded]
    stay_expiry: Optional[str]
    comprehensive_permission: Optional[Coded]
    comprehensive_permission_deadline: Optional[str]
    individual_permission: Optional[bool]
    renewal_application_pending: Optional[bool]
    note_recorded: Optional[bool]
    note_text: Optional[Text]

    @classmethod
    def _from(cls, d: Mapping[str, Any]) -> "Gen2Fields":
        return cls(
            spec_version=str(d["spec_version"]),
            name=_opt_str(d.get("name")),
            address=_opt_str(d.get("address")),
            card_expiry=_opt_str(d.get("card_expiry")),
            birth_date=_opt_str(d.get("birth_date")),
            sex=Coded._from(d.get("sex")),
            nationality=Coded._from(d.get("nationality")),
            status_of_residence=Coded._from(d.get("status_of_residence")),
            period_of_stay=PeriodOfStay._from(d.get("period_of_stay")),
            permission_type=_opt_str(d.get("permission_type")),
            permission_date=_opt_str(d.get("permission_date")),
            work_restriction=Coded._from(d.get("work_restriction")),
            stay_expiry=_opt_str(d.get("stay_expiry")),
            comprehensive_permission=Coded._from(d.get("comprehensive_permission")),
            comprehensive_permission_deadline=_opt_str(d.get("comprehensive_permission_deadline")),
            individual_permission=_opt_bool(d.get("individual_permission")),
            renewal_application_pending=_opt_bool(d.get("renewal_application_pending")),
            note_recorded=_opt_bool(d.get("note_recorded")),
            note_text=Text._from(d.get("note_text")),
        )


@dataclass(frozen=True)
class ImageInfo:
    """An image's summary: ``format`` (``"tiff"``, ``"jp2"``, ``"j2k"``, ``"empty"``,
    ``"unknown"``), ``bytes`` (image data without the zero fill) and ``stored`` (the
    fixed field length on the chip)."""

    format: str
    bytes: int
    stored: int


@dataclass(frozen=True)
class Verification:
    """Signature and chain results; they are separate (see the project README).

    * ``signature``: ``"valid"``, ``"invalid"`` (possible forgery or alteration),
      ``"absent"`` (under-16 cards) or ``"not_checked"`` (``policy="text_only"``);
    * ``chain``: ``"verified"``, ``"no_matching_anchor"``, ``"no_certificate"`` or
      ``"not_checked"``;
    * ``anchor``: SHA-256 fingerprint (hex) of the anchor whose key verified the card
      certificate; ``anchor_profile``: ``"production"``, ``"test"`` or ``None``;
    * ``reason``: why the signature is not valid, or ``None``.
    """

    signature: str
    signature_format: Optional[str]
    reason: Optional[str]
    chain: str
    anchor: Optional[str]
    anchor_profile: Optional[str]
    anchor_subject: Optional[str]
    certificate_subject: Optional[str]
    certificate_valid_now: Optional[bool]
    anchor_valid_now: Optional[bool]
    verified_at_unix: int

    @property
    def is_production_valid(self) -> bool:
        """Signature valid **and** chained to a pinned Ministry root: a genuine card."""
        return self.signature == "valid" and self.chain == "verified" and self.anchor_profile == "production"

    @classmethod
    def _from(cls, d: Mapping[str, Any]) -> "Verification":
        return cls(
            signature=str(d["signature"]),
            signature_format=_opt_str(d.get("signature_format")),
            reason=_opt_str(d.get("reason")),
            chain=str(d["chain"]),
            anchor=_opt_str(d.get("anchor")),
            anchor_profile=_opt_str(d.get("anchor_profile")),
            anchor_subject=_opt_str(d.get("anchor_subject")),
            certificate_subject=_opt_str(d.get("certificate_subject")),
            certificate_valid_now=_opt_bool(d.get("certificate_valid_now")),
            anchor_valid_now=_opt_bool(d.get("anchor_valid_now")),
            verified_at_unix=int(d["verified_at_unix"]),
        )


@dataclass(frozen=True)
class Metrics:
    """Counters of the card session: command APDUs and bytes each way."""

    apdus: int
    bytes_sent: int
    bytes_received: int


@dataclass(frozen=True)
class LinkInfo:
    """How the reads were carried: ``extended_length`` (``None`` until known) and the
    short-APDU ``fallbacks`` used, if any."""

    extended_length: Optional[bool]
    fallbacks: Tuple[str, ...]


@dataclass(frozen=True)
class ReaderInfo:
    """A PC/SC reader: its ``name`` (as :func:`zairyu.open_reader` takes it), whether a
    card is present, and the card's ATR."""

    name: str
    card_present: bool
    atr: Optional[bytes]


@dataclass(frozen=True)
class TrustAnchor:
    """One anchor of a :class:`zairyu.TrustStore`."""

    fingerprint: str
    profile: str
    subject: str
    origin: str
    key_algorithm: str
    not_before_unix: int
    not_after_unix: int


class ReadResult:
    """The result of :meth:`zairyu.Card.read`.

    Attributes:
        card_type: ``"1"``, ``"2"``, ``"05"`` or ``"06"``.
        card_type_name: ``(ja, en)`` names of the card type.
        generation: ``1`` or ``2``.
        flow: ``"gen1-3des"`` or ``"gen2-aes"``.
        policy: ``"full"`` or ``"text_only"``.
        card_number: the card number **redacted** (``"AB********CD"``).
        fields: :class:`Gen1Fields` or :class:`Gen2Fields` (also as ``gen1`` / ``gen2``).
        images: image bytes by name (``"front"``, ``"face"`` on the first generation;
            ``"name"``, ``"face"``, ``"address"`` on the second), without zero fill; an
            image the card stores as all zero (under-16 face) is ``b""``.
        image_info: :class:`ImageInfo` by name.
        verification: :class:`Verification`.
        metrics: :class:`Metrics`.
        link: :class:`LinkInfo`.
        warnings: things a clerk should know that are not errors.
    """

    __slots__ = (
        "_json",
        "card_type",
        "card_type_name",
        "generation",
        "flow",
        "policy",
        "card_number",
        "fields",
        "images",
        "image_info",
        "verification",
        "metrics",
        "link",
        "warnings",
    )

    card_type: str
    card_type_name: Tuple[str, str]
    generation: int
    flow: str
    policy: str
    card_number: str
    fields: Union[Gen1Fields, Gen2Fields]
    images: Dict[str, bytes]
    image_info: Dict[str, ImageInfo]
    verification: Verification
    metrics: Metrics
    link: LinkInfo
    warnings: Tuple[str, ...]

    def __init__(self, report_json: str, images: Mapping[str, bytes]) -> None:
        self._json = report_json
        d = json.loads(report_json)
        self.card_type = str(d["card_type"])
        names = d.get("card_type_name") or {}
        self.card_type_name = (str(names.get("ja", "")), str(names.get("en", "")))
        self.generation = int(d["generation"])
        self.flow = str(d["flow"])
        self.policy = str(d["policy"])
        self.card_number = str(d["card_number"])
        f = d["fields"]
        self.fields = Gen1Fields._from(f) if self.generation == 1 else Gen2Fields._from(f)
        self.images = dict(images)
        self.image_info = {
            k: ImageInfo(format=str(v["format"]), bytes=int(v["bytes"]), stored=int(v["stored"]))
            for k, v in d.get("images", {}).items()
        }
        self.verification = Verification._from(d["verification"])
        m = d["metrics"]
        self.metrics = Metrics(int(m["apdus"]), int(m["bytes_sent"]), int(m["bytes_received"]))
        link = d.get("link") or {}
        self.link = LinkInfo(_opt_bool(link.get("extended_length")), tuple(link.get("fallbacks", ())))
        self.warnings = tuple(str(w) for w in d.get("warnings", ()))

    @property
    def gen1(self) -> Optional[Gen1Fields]:
        """The fields if this is a first-generation card, else ``None``."""
        return self.fields if isinstance(self.fields, Gen1Fields) else None

    @property
    def gen2(self) -> Optional[Gen2Fields]:
        """The fields if this is a second-generation card, else ``None``."""
        return self.fields if isinstance(self.fields, Gen2Fields) else None

    @property
    def ok(self) -> bool:
        """Signature valid and chained to a trusted anchor (production **or** test);
        use ``verification.is_production_valid`` for "genuine card"."""
        return self.verification.signature == "valid" and self.verification.chain == "verified"

    def to_dict(self) -> Dict[str, Any]:
        """The report as a dict: the CLI's JSON schema (``zairyu read --json``)."""
        result: Dict[str, Any] = json.loads(self._json)
        return result

    def to_json(self) -> str:
        """The report as JSON text, exactly as ``zairyu read --json`` prints it
        (without the final newline)."""
        return self._json

    def __repr__(self) -> str:
        return (
            f"ReadResult(card_type={self.card_type!r}, flow={self.flow!r}, card_number={self.card_number!r}, "
            f"signature={self.verification.signature!r}, chain={self.verification.chain!r}, "
            f"anchor_profile={self.verification.anchor_profile!r})"
        )
