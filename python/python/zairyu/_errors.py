"""Exception classes of zairyu.

Every exception raised by zairyu is a :class:`ZairyuError`. Its ``code`` attribute is
the stable code name of the Rust library (``zairyu::Error::code``; the C library uses
the same names), its ``message`` the human-readable text. Messages never contain the
card number, keys or card data.

The Rust extension turns each Rust error into one of these classes in one place
(``python/src/errors.rs``: an exhaustive match from the library's ``ErrorCode`` to a
class name here), through :func:`_from_native`. ``zairyu.ERROR_CODES`` lists every code.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional

__all__ = [
    "ZairyuError",
    "TransportError",
    "CardRemovedError",
    "CardResetError",
    "ReaderUnavailableError",
    "NoSuchReaderError",
    "CardError",
    "WrongCardNumber",
    "WrongGenerationError",
    "AuthenticationError",
    "SecureMessagingError",
    "ParseError",
    "VerificationError",
    "InvalidInputError",
    "UnsupportedCardType",
    "CardClosedError",
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
    "ImageDecodeError",
    "EvidenceRejectedError",
]


class ZairyuError(Exception):
    """Base class of every zairyu exception.

    Attributes:
        code: the stable code name, e.g. ``"transport_card_removed"``.
        message: the message (never contains the card number).
        details: extra fields of the error that are safe to show (``step``,
            ``file``, ``offset``, ``path`` …), possibly empty.
    """

    code: str
    message: str
    details: Dict[str, Any]

    def __init__(self, message: str, *, code: str = "", details: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.details = dict(details or {})

    def __str__(self) -> str:
        return self.message


class TransportError(ZairyuError):
    """The reader, the driver or the link failed (codes ``transport_*``)."""


class CardRemovedError(TransportError):
    """The card left the field, or the reader is empty (``transport_card_removed``)."""


class CardResetError(TransportError):
    """The card was reset; the secure-messaging session is gone (``transport_card_reset``)."""


class ReaderUnavailableError(TransportError):
    """The reader or the PC/SC service (pcscd) is gone (``transport_reader_unavailable``)."""


class NoSuchReaderError(TransportError):
    """No PC/SC reader has this name (``transport_no_such_reader``)."""


class CardError(ZairyuError):
    """The card answered a command with an error status word (``card_status``).

    Attributes:
        sw: the status word as an int, e.g. ``0x6982``.
        step: the command (``"SM READ BINARY"`` …), when known.
    """

    sw: int
    step: Optional[str]

    def __init__(
        self, message: str, *, code: str = "", sw: int = 0, details: Optional[Mapping[str, Any]] = None
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.sw = sw
        self.step = self.details.get("step")


class WrongCardNumber(ZairyuError):
    """The card number typed does not belong to this card.

    Raised when the card rejects the number (``wrong_card_number``, ``sw == 0x6300``) and
    when a second-generation chip accepts it but stores another number
    (``card_number_mismatch``, ``sw is None``).
    """

    sw: Optional[int]

    def __init__(
        self, message: str, *, code: str = "", sw: Optional[int] = None, details: Optional[Mapping[str, Any]] = None
    ) -> None:
        super().__init__(message, code=code, details=details)
        self.sw = sw


class WrongGenerationError(CardError):
    """A forced access flow (``force_flow=``) does not match the card's generation: the
    card rejected the other generation's cryptography (``wrong_generation``)."""


class AuthenticationError(ZairyuError):
    """The card's side of mutual authentication failed (codes ``auth_*``)."""


class SecureMessagingError(ZairyuError):
    """A secure-messaging response is malformed (codes ``sm_*``)."""


class ParseError(ZairyuError, ValueError):
    """Card data could not be parsed (``parse``). Also a :class:`ValueError`.

    Attributes:
        file: the file or object, e.g. ``"DF2/EF01"``.
        offset: byte offset of the problem in it.
    """

    file: Optional[str]
    offset: Optional[int]

    def __init__(self, message: str, *, code: str = "", details: Optional[Mapping[str, Any]] = None) -> None:
        super().__init__(message, code=code, details=details)
        self.file = self.details.get("file")
        self.offset = self.details.get("offset")


class VerificationError(ZairyuError):
    """Trust anchors could not be loaded (codes ``verify_*``): a file in a production
    directory is not a pinned Ministry root, or a certificate file is unreadable.

    A failed *signature* is not an exception: it is ``ReadResult.verification.signature
    == "invalid"``.
    """


class InvalidInputError(ZairyuError, ValueError):
    """Caller input is invalid (codes ``input_*``): a card number that is not 12 letters
    and digits, an unreadable code table, an unknown option. Also a :class:`ValueError`."""


class UnsupportedCardType(ZairyuError):
    """The card is of a type this version does not read (``unsupported_card_type``,
    ``unknown_card_type``)."""


class CardClosedError(ZairyuError):
    """The :class:`~zairyu.Card` was closed (``closed``)."""


class WriteError(ZairyuError):
    """An address write (:meth:`~zairyu.Card.write_address`) did not end confirmed.

    ``code`` is the precise stable code (the CLI's word), e.g.
    ``"policy_municipality_not_allowed"``; the class is its kind. A failure of the
    card-number access (a wrong number, a removed card …) raises the read's
    exceptions instead (:class:`WrongCardNumber`, :class:`TransportError` …), and so
    does a reader failure during the write: the card's commit is atomic, so it then
    holds the old or the new address, whole.
    """


class AuthorityRefused(WriteError):
    """The write authority refused or stopped the write (EF.ChipAuthInfo not signed by
    the write issuer, its own chain, a failed Terminal or Chip Authentication, secure
    messaging …): codes such as ``chip_auth_info_invalid``, ``authentication_failed``."""


class PolicyRefused(AuthorityRefused):
    """The authority's policy does not let this counter write for the record's
    municipality code (``policy_unknown_counter``, ``policy_municipality_not_allowed``)."""


class RecordRefused(AuthorityRefused, ValueError):
    """The new record fails a check (``record_invalid``): a date that is not YYYYMMDD
    of a real day, a municipality code without a valid check digit, an empty or too
    long address, a control character. Also a :class:`ValueError`."""


class AddressImageError(AuthorityRefused):
    """The authority cannot render the second generation's address image
    (``font_not_found``, ``font_unreadable``, ``glyph_missing``,
    ``address_image_too_large``, ``render_settings_invalid``)."""


class AuthorityUnavailable(WriteError):
    """The authority cannot be reached, answered out of protocol, or cannot write its
    audit log (``authority_unavailable``, ``authority_protocol``)."""


class WriteRefusedByCard(WriteError):
    """The card refused a command of the write (``card_refused``); its file is unchanged."""


class WriteNotSupported(WriteError):
    """The card has no usable write application, or no address to write
    (``write_card_status``, ``write_chip_auth_info_unreadable``, ``write_unsupported_card``)."""


class ReadBackMismatch(WriteError):
    """The re-read on a new card session does not show the record and the receipt's
    content (``readback_mismatch``, ``read_back_mismatch``): the write is not confirmed."""


class WriteUnconfirmed(WriteError):
    """The authority returned its receipt, but the new card session or the re-read
    failed; ``code`` is that failure's (``transport_card_removed`` …). The card holds
    the old or the new address, whole: read it again to know which."""


class AuthoritySetupError(ZairyuError):
    """An authority directory or a test write PKI cannot be loaded or made
    (``authority_setup_failed``): a missing or malformed certificate, key or policy,
    a key that is not the terminal's, a broken audit log. Or the link to a write
    authority service cannot be set up (:meth:`zairyu.Authority.remote`): a URL that
    is not ``https://HOST:PORT`` (``remote_url_invalid``), an unreadable file
    (``remote_file_unreadable``), a malformed PEM file (``remote_pem_invalid``), a key
    that does not fit the certificate (``remote_tls_config``)."""


class ImageDecodeError(ZairyuError, ValueError):
    """A chip image does not decode to a PNG (:meth:`zairyu.ReadResult.image_png`): the
    chip's data may be forged. ``code`` is ``image_malformed``, ``image_unknown_format``
    (neither TIFF nor JPEG 2000), ``image_unsupported`` or ``image_too_large``, as the C
    library's result code; ``details`` has ``image`` (its name) and ``reason`` (the
    decoder's code). It never stops a read: the other images, the report page and the
    evidence still work. Also a :class:`ValueError`."""


class EvidenceRejectedError(ZairyuError):
    """:func:`zairyu.export_rows` was given an evidence file that is not accepted
    (``evidence_rejected``; ``details["index"]`` is its position). Nothing is exported."""


def _from_native(class_name: str, code: str, message: str, sw: Optional[int], details: Mapping[str, Any]) -> ZairyuError:
    """Builds the exception for a Rust error. Called by the extension only, which picks
    the class for each code (``class_of`` in ``python/src/errors.rs``)."""
    cls = globals()[class_name]
    if not (isinstance(cls, type) and issubclass(cls, ZairyuError)):
        raise TypeError(f"{class_name} is not a zairyu exception class")
    if issubclass(cls, CardError):
        return cls(message, code=code, sw=sw if sw is not None else 0, details=details)
    if issubclass(cls, WrongCardNumber):
        return cls(message, code=code, sw=sw, details=details)
    return cls(message, code=code, details=details)
