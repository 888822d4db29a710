"""The typed result of a read: :class:`ReadResult` and the objects it holds.

Everything here is built from the report JSON the Rust library produces
(``zairyu::report::Report``, the same JSON as ``zairyu read --json``), so
:meth:`ReadResult.to_json` is byte for byte what the CLI prints and
:meth:`ReadResult.to_dict` is its parsed form.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
import os
from typing import TYPE_CHECKING, Any, Callable, Dict, Mapping, Optional, Tuple, TypeVar, Union

if TYPE_CHECKING:
    from . import _native

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
    "ReadWarning",
    "ReaderInfo",
    "TrustAnchor",
]


@dataclass(frozen=True)
class Text:
    """A decoded text entry (first-generation address and permissions, second-generation note).

    ``encoding`` is ``"utf8"`` or ``"shift_jis_fallback"``; ``lossy`` says whether bytes
    had to be replaced while decoding.
    """

    text: str
    encoding: str
    lossy: bool



@dataclass(frozen=True)
class Coded:
    """A coded value with its names; ``ja``/``en`` are ``None`` when the code is unknown."""

    code: str
    ja: Optional[str]
    en: Optional[str]



@dataclass(frozen=True)
class PeriodOfStay:
    """在留期間. ``kind`` is ``"years_months"`` (``years``, ``months``), ``"days"``
    (``days``), ``"indefinite"`` or ``"raw"`` (``value`` as stored)."""

    kind: str
    years: Optional[int] = None
    months: Optional[int] = None
    days: Optional[int] = None
    value: Optional[str] = None



@dataclass(frozen=True)
class Gen1Fields:
    """Decoded fields of a first-generation card (types ``"1"``, ``"2"``).

    The holder's name, birth date, nationality and status are printed on the card face
    only: on these chips they are inside the front image (``ReadResult.images["front"]``),
    so ``name`` is always ``None``. ``comprehensive_permission``,
    ``individual_permission`` and ``renewal_application`` are ``None`` on a special
    permanent resident certificate (type ``"2"``, no such files); on a residence card a
    ``None`` permission means the file is empty (no permission recorded).
    ``renewal_application`` is ``"none"``, ``"pending"``, ``"empty"`` or ``"unknown"`` (any
    other value; a ``code_unknown`` warning quotes it).
    """

    spec_version: str
    name: Optional[str]
    address_written_on: Optional[str]
    municipality_code: Optional[str]
    address: Optional[Text]
    comprehensive_permission: Optional[Text]
    individual_permission: Optional[Text]
    renewal_application: Optional[str]



@dataclass(frozen=True)
class Gen2Fields:
    """Decoded fields of a second-generation card (types ``"05"``, ``"06"``).

    The name and the address are images only on these cards (``images["name"]``,
    ``images["address"]``), so ``name`` and ``address`` are always ``None``. Dates are
    ``YYYYMMDD`` strings. ``permission_type``, ``permission_date``,
    ``work_restriction``, ``stay_expiry`` and the DF2 permission entries exist on type
    ``"05"`` only. The flags ``individual_permission``, ``renewal_application_pending`` and
    ``note_recorded`` are ``None`` when absent or holding a value other than ``0``/``1`` (a
    ``code_unknown`` warning quotes it).
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
    * ``reason``: why the signature is not valid, or ``None``; ``reason_code``: the same
      as a stable code (``"signature_missing"``, ``"printed_entries_layout"``, …);
    * ``signed_fields``: the names (keys of the report's ``fields`` and ``images``, and
      ``card_type``, ``card_number``) that a **valid** signature chained to a trust anchor binds on this card;
      ``unsigned_fields``: all the others, which only the chip's access control
      protects (the address on either generation among them). ``signed(name)`` asks
      for one;
    * ``verdict``: the one verdict of the read (the report's top-level ``verdict``, also
      ``ReadResult.verdict``): ``"production"`` (genuine: valid and chained to a pinned
      Ministry root), ``"test"`` (valid, chained to a test anchor), ``"untrusted"``
      (valid, chained to no anchor), ``"invalid"``, ``"absent"`` or ``"not_checked"``.
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
    verdict: str = "not_checked"
    reason_code: Optional[str] = None
    signed_fields: Tuple[str, ...] = ()
    unsigned_fields: Tuple[str, ...] = ()

    def signed(self, name: str) -> bool:
        """Whether a valid signature binds the field or image ``name`` on this card."""
        return name in self.signed_fields

    @property
    def is_production_valid(self) -> bool:
        """Signature valid **and** chained to a pinned Ministry root: a genuine card
        (``verdict == "production"``)."""
        return self.verdict == "production"



@dataclass(frozen=True)
class Metrics:
    """Counters of one read (each read is a card session of its own): command APDUs and
    bytes each way."""

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


class ReadWarning(str):
    """A warning of a read (:attr:`ReadResult.warnings`): something a clerk should know
    that is not an error. It *is* its message (a ``str``, as warnings were before) and
    carries the stable ``code`` (``"card_number_shape"``, ``"short_apdu_fallback"``,
    ``"address_not_utf8"``, ``"note_not_utf8"``, …) to act on without matching text."""

    code: str

    def __new__(cls, message: str, code: str) -> "ReadWarning":
        warning = super().__new__(cls, message)
        warning.code = code
        return warning

    def __getnewargs__(self) -> Tuple[str, str]:  # type: ignore[override]
        return (str(self), self.code)

    @property
    def message(self) -> str:
        """The message, as a plain ``str``."""
        return str(self)

    def __repr__(self) -> str:
        return f"ReadWarning(code={self.code!r}, message={str(self)!r})"


_T = TypeVar("_T")
_Convert = Callable[[Any], Any]


def _required(kind: _Convert) -> _Convert:
    def convert(value: Any) -> Any:
        if value is None:
            raise ValueError("the report lacks a required value")
        return kind(value)

    return convert


def _optional(kind: _Convert) -> _Convert:
    return lambda value: None if value is None else kind(value)


def _decode(cls: Callable[..., _T], d: Mapping[str, Any]) -> _T:
    """Builds the dataclass ``cls`` from its object in the report JSON: each field from
    the key of the same name, converted by the field's declared type (``_CONVERT``).
    A key that is absent or null leaves the field's default, else gives ``None``."""
    kwargs: Dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        value = d.get(f.name)
        if value is None and f.default is not dataclasses.MISSING:
            continue
        kwargs[f.name] = _CONVERT[str(f.type)](value)
    return cls(**kwargs)


_CONVERT: Dict[str, _Convert] = {
    "str": _required(str),
    "int": _required(int),
    "bool": bool,
    "Optional[str]": _optional(str),
    "Optional[int]": _optional(int),
    "Optional[bool]": _optional(bool),
    "Optional[Text]": _optional(lambda v: _decode(Text, v)),
    "Optional[Coded]": _optional(lambda v: _decode(Coded, v)),
    "Optional[PeriodOfStay]": _optional(lambda v: _decode(PeriodOfStay, v)),
    "Tuple[str, ...]": lambda v: tuple(str(x) for x in v or ()),
}


class ReadResult:
    """The result of :meth:`zairyu.Card.read`.

    The report is decoded into these objects on first use of any of them (a read
    costs no more than the library's read itself); ``images`` are the bytes as read.

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
        verdict: what the verification means, from the report's ``verdict``:
            ``"production"``, ``"test"``, ``"untrusted"``, ``"invalid"``, ``"absent"``
            or ``"not_checked"`` (see :class:`Verification`).
        metrics: :class:`Metrics` of this read (each read is a card session of its own).
        link: :class:`LinkInfo`.
        warnings: things a clerk should know that are not errors: each a
            :class:`ReadWarning`, a ``str`` (the message) with a stable ``code``.
    """

    __slots__ = (
        "_json",
        "_read",
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
        "verdict",
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
    verdict: str
    metrics: Metrics
    link: LinkInfo
    warnings: Tuple[ReadWarning, ...]

    def __init__(
        self, report_json: str, images: Mapping[str, bytes], read: "Optional[_native.Read]" = None
    ) -> None:
        self._json = report_json
        self._read = read
        self.images = dict(images)

    def _load(self) -> None:
        """Decodes the report into the attributes (once: each is then set)."""
        d = json.loads(self._json)
        card_type = str(d["card_type"])
        names = d.get("card_type_name") or {}
        generation = int(d["generation"])
        flow = str(d["flow"])
        policy = str(d["policy"])
        card_number = str(d["card_number"])
        f = d["fields"]
        fields = _decode(Gen1Fields, f) if generation == 1 else _decode(Gen2Fields, f)
        image_info = {k: _decode(ImageInfo, v) for k, v in d.get("images", {}).items()}
        verdict = str(d["verdict"])
        verification = _decode(Verification, {**d["verification"], "verdict": verdict})
        metrics = _decode(Metrics, d["metrics"])
        link = _decode(LinkInfo, d.get("link") or {})
        warnings = tuple(ReadWarning(str(w["message"]), str(w["code"])) for w in d.get("warnings", ()))
        # Set only once everything decoded: a report that does not decode leaves the
        # attributes unset, and raises again on the next use.
        self.card_type = card_type
        self.card_type_name = (str(names.get("ja", "")), str(names.get("en", "")))
        self.generation = generation
        self.flow = flow
        self.policy = policy
        self.card_number = card_number
        self.fields = fields
        self.image_info = image_info
        self.verdict = verdict
        self.verification = verification
        self.metrics = metrics
        self.link = link
        self.warnings = warnings

    if not TYPE_CHECKING:
        # Called only for an attribute that is not set: the decoded ones, before the
        # first use. Hidden from type checkers, which see the annotations above.

        def __getattr__(self, name: str) -> Any:
            if name in ReadResult.__slots__ and not name.startswith("_"):
                ReadResult._load(self)
                return object.__getattribute__(self, name)
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

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
        """A genuine card: signature valid and chained to a pinned Ministry root
        (``verdict == "production"``). A card valid under a test anchor (the simulator,
        the Ministry's sample cards) is ``verdict == "test"`` and **not** ok."""
        return self.verdict == "production"

    def to_dict(self) -> Dict[str, Any]:
        """The report as a dict: the CLI's JSON schema (``zairyu read --json``)."""
        result: Dict[str, Any] = json.loads(self._json)
        return result

    def to_json(self) -> str:
        """The report as JSON text, exactly as ``zairyu read --json`` prints it
        (without the final newline)."""
        return self._json

    def _native_read(self) -> "_native.Read":
        if self._read is None:
            raise ValueError("this ReadResult was made from a report alone: it holds no card data")
        return self._read

    def image_png(self, which: str) -> bytes:
        """The image ``which`` (``"front"``, ``"face"``, ``"name"`` or ``"address"``, the
        keys of :attr:`images`) as a PNG file, decoded in pure Rust: 8-bit grey for the
        TIFF images, 8-bit RGB or grey for the JPEG 2000 photo.

        Raises:
            KeyError: this card has no such image, did not read it
                (``policy="text_only"``) or stores it empty (an under-16 card's face).
            ImageDecodeError: the image does not decode (the chip's data may be forged);
                nothing else of the result is affected.
            InvalidInputError: ``which`` is not an image name.
        """
        return self._native_read().image_png(which)

    def report_html(self) -> str:
        """The side-by-side report page for the counter (``report.html`` of ``zairyu
        dump``): one self-contained HTML page, the verdict first in words a clerk
        understands, the chip's images, every field with its signed / not-signed mark,
        the certificate chain and the clerk's checklist. An image that does not decode
        is shown as such."""
        return self._native_read().report_html()

    def _repr_html_(self) -> Optional[str]:
        """The report page, so that a Jupyter notebook shows a result as the report
        (``None``, i.e. the plain ``repr``, for a result made from a report alone)."""
        return None if self._read is None else self.report_html()

    def evidence_json(
        self,
        station_key: Union[bytes, str, "os.PathLike[str]", None] = None,
        include_card_number: bool = False,
        *,
        card_number: Optional[str] = None,
        created_at_unix: Optional[int] = None,
    ) -> bytes:
        """The evidence file of this read (``evidence.json`` of ``zairyu dump``): every
        raw file as read, the metrics, the time, the library version and the
        verification result, as canonical JSON and a final newline. Check it later,
        without a card, with :func:`zairyu.verify_evidence`.

        Args:
            station_key: the reading station's ECDSA P-256 key that signs the evidence:
                PKCS#8 DER ``bytes``, or the path of a PKCS#8 file (DER or PEM).
            include_card_number: write the full card number (needs ``card_number``);
                otherwise it is redacted, also inside the files.
            card_number: the number the clerk typed (the result does not keep it):
                masked wherever it occurs in the files, or written in full with
                ``include_card_number``.
            created_at_unix: the evidence's time (Unix seconds); ``None`` = now.

        Raises:
            InvalidInputError: a station key that is not a PKCS#8 P-256 key (code
                ``station_key_invalid``), a malformed card number, or
                ``include_card_number`` without ``card_number``.
        """
        key: Union[bytes, str, None]
        key = station_key if station_key is None or isinstance(station_key, bytes) else os.fspath(station_key)
        return self._native_read().evidence_json(key, card_number, include_card_number, created_at_unix)

    def __repr__(self) -> str:
        return (
            f"ReadResult(card_type={self.card_type!r}, flow={self.flow!r}, card_number={self.card_number!r}, "
            f"signature={self.verification.signature!r}, chain={self.verification.chain!r}, "
            f"anchor_profile={self.verification.anchor_profile!r}, verdict={self.verdict!r})"
        )
