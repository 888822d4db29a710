"""zairyu: read and verify the IC chip of Japan's residence card (在留カード) and
special permanent resident certificate (特別永住者証明書).

Quick start (the in-process simulator, no reader needed)::

    import zairyu

    with zairyu.open_simulator(card_type="05") as card:
        result = card.read("AB12345678CD")
    print(result.fields.birth_date, result.verification.signature)

* :func:`open_reader` / :func:`open_simulator` return a :class:`Card`; use it as a
  context manager: leaving the block closes the card and drops the session.
* :meth:`Card.read` returns a :class:`ReadResult`; a failed read raises a
  :class:`ZairyuError` subclass (see :mod:`zairyu._errors`).
* :class:`TrustStore` holds the anchors of the certificate-chain check: the Ministry's
  production roots (pinned) and test anchors.
* :meth:`ReadResult.image_png`, :meth:`ReadResult.report_html` and
  :meth:`ReadResult.evidence_json` give a read's images as PNG, its report page and its
  evidence file; :func:`verify_evidence` checks an evidence file again without a card
  and :func:`export_rows` turns accepted ones into registry rows (CSV or JSON lines).
* :meth:`Card.write_address` writes a new residence address through a write
  :class:`Authority` and confirms it on a new card session; it returns a
  :class:`WriteReceipt` or raises a :class:`WriteError` subclass per refusal.

Card I/O runs with the GIL released: several threads can read several cards at once.
"""

from __future__ import annotations

import os
import time
from types import TracebackType
from typing import List, Optional, Sequence, Tuple, Type, Union

from . import _errors, _evidence, _native, _result, _write, simulator
from ._errors import *  # noqa: F403 (the exception classes: _errors.__all__)
from ._errors import NoSuchReaderError, ReaderUnavailableError
from ._result import *  # noqa: F403 (the result types: _result.__all__)
from ._result import ReaderInfo, ReadResult, TrustAnchor
from ._write import *  # noqa: F403 (the write receipt: _write.__all__)
from ._write import WriteReceipt
from ._evidence import *  # noqa: F403 (evidence: _evidence.__all__)

__version__: str = _native.__version__

StrPath = Union[str, "os.PathLike[str]"]

#: Every stable error code of the library (``e.code`` of a :class:`ZairyuError`), in
#: the library's order; ``"closed"`` (:class:`CardClosedError`) is the binding's own.
ERROR_CODES: Tuple[str, ...] = _native.ERROR_CODES

__all__ = [
    "__version__",
    "ERROR_CODES",
    "TrustStore",
    "Authority",
    "Card",
    "list_readers",
    "open_reader",
    "open_simulator",
    "wait_for_card",
    "wait_for_removal",
]
__all__ += _result.__all__
__all__ += _write.__all__
__all__ += _errors.__all__
__all__ += _evidence.__all__


class TrustStore:
    """The trust anchors for the certificate-chain check.

    ``TrustStore()`` is empty: nothing chains until anchors are added. Production
    anchors are the Ministry's "ZairyuCard CA" roots, pinned by SHA-256 fingerprint in
    the library; test anchors are any certificate and are always reported as
    ``anchor_profile == "test"``, never as production.
    """

    __slots__ = ("_native",)

    def __init__(self) -> None:
        self._native = _native.TrustStore()

    @classmethod
    def from_dir(cls, path: StrPath) -> "TrustStore":
        """Loads the Ministry's production roots from a directory (``*.der``, ``*.crt``,
        ``*.cer``, ``*.pem``). Every certificate must match a pinned fingerprint.

        Raises:
            VerificationError: a certificate is not a pinned root
                (``verify_unpinned_production_root``) or cannot be read
                (``verify_bad_anchor_file``).
        """
        store = cls.__new__(cls)
        store._native = _native.TrustStore.from_dir(os.fspath(path))
        return store

    def add_production_dir(self, path: StrPath) -> int:
        """Adds production roots from a directory, as :meth:`from_dir`; returns the
        number of certificates read."""
        return self._native.add_production_dir(os.fspath(path))

    def add_test_anchor(self, path: StrPath) -> int:
        """Adds test anchors: one certificate file (DER, or PEM with one or more
        certificates) or every certificate file of a directory. Returns the number of
        certificates read. All or nothing.

        Raises:
            VerificationError: the file cannot be read or is not a certificate.
        """
        return self._native.add_test_anchor(os.fspath(path))

    def add_simulator_test_anchors(self) -> "TrustStore":
        """Adds the simulator's test CAs (both generations) as test anchors, e.g. to
        read a simulated card served on a virtual PC/SC reader. Returns ``self``."""
        self._native.add_simulator_test_anchors()
        return self

    @property
    def anchors(self) -> List[TrustAnchor]:
        """Every anchor, in the order added."""
        return [TrustAnchor(*a) for a in self._native.anchors()]

    def __len__(self) -> int:
        return len(self._native)

    def __repr__(self) -> str:
        profiles = [a.profile for a in self.anchors]
        return f"TrustStore(production={profiles.count('production')}, test={profiles.count('test')})"


class Authority:
    """A write authority for :meth:`Card.write_address`: the party that holds the
    terminal key and runs the write's secure channel end to end with the card, while
    the counter only relays APDU bytes: in process from a directory
    (:meth:`from_dir`), or the ``zairyu-authority`` service over HTTPS with mutual TLS
    (:meth:`remote`). One write at a time (a second one waits).
    """

    __slots__ = ("_native",)

    def __init__(self, native: _native.Authority) -> None:
        self._native = native

    @classmethod
    def from_dir(cls, directory: StrPath, counter_id: str) -> "Authority":
        """The in-process authority of ``directory`` for the counter ``counter_id``: the
        write CVCA, the terminal chain and key (``test-terminal.key.p8``, mode 0600), the
        write-issuer root, the policy (``policy.toml`` or ``policy.json``: which
        counters may write for which municipality codes) and the hash-chained audit log
        (``audit.sqlite3`` if it exists, else ``audit.jsonl``). A test write PKI
        (:func:`zairyu.simulator.make_write_pki`, ``zairyu pki init``) with a policy is
        such a directory. Every write through it, refused or not, is in its audit log.

        Raises:
            AuthoritySetupError: a file is missing or malformed, the key is not the
                terminal's, the chain does not verify today, the audit log is broken.
        """
        return cls(_native.Authority.from_dir(os.fspath(directory), counter_id))

    @classmethod
    def remote(
        cls,
        urls: Union[str, Sequence[str]],
        *,
        client_cert: StrPath,
        client_key: StrPath,
        authority_ca: StrPath,
    ) -> "Authority":
        """The write authority service (``zairyu-authority serve``) at ``urls``
        (``"https://HOST:PORT"``, or several for instances sharing one database), over
        mutual TLS: this counter presents ``client_cert`` (PEM; its common name is the
        counter identity the service's policy names, :attr:`counter_id`) with
        ``client_key``, and trusts only ``authority_ca`` (PEM) for the service's
        certificate, never the system's roots. Nothing is sent until a write.

        A message whose connection fails or that is answered ``503`` is sent again,
        unchanged, to the next URL in turn (the service answers a message it already
        processed with its stored answer: a retry never makes it sign twice).
        Connecting is bounded by 5 s, every read and write by 30 s.

        A write that cannot reach the service raises :class:`AuthorityUnavailable`;
        the service's refusals raise the same classes as an in-process authority's
        (:class:`PolicyRefused` …), with the service's stable ``code``.

        Raises:
            AuthoritySetupError: a URL is not ``https://HOST:PORT``, a file cannot be
                read or holds no certificate or key, the key does not fit the
                certificate (``code``: ``remote_url_invalid``, ``remote_file_unreadable``,
                ``remote_pem_invalid``, ``remote_tls_config``).
        """
        listed = [urls] if isinstance(urls, str) else [str(u) for u in urls]
        return cls(
            _native.Authority.remote(
                listed, os.fspath(client_cert), os.fspath(client_key), os.fspath(authority_ca)
            )
        )

    @property
    def counter_id(self) -> str:
        """The counter identity this authority serves (with :meth:`remote`: the client
        certificate's common name)."""
        return self._native.counter_id

    def __repr__(self) -> str:
        return f"<zairyu.Authority counter_id={self.counter_id!r}>"


class Card:
    """A card in a reader or the simulator; made by :func:`open_reader` or
    :func:`open_simulator`.

    Use it as a context manager: on exit it is closed. Closing drops the transport: a
    PC/SC card ends its transaction and is disconnected with a reset (so the chip's
    authenticated state does not outlive the session); session keys live only during a
    read and are wiped (zeroized) when it ends. After closing, :meth:`read` raises
    :class:`CardClosedError`.
    """

    __slots__ = ("_native",)

    def __init__(self, native: _native.Card) -> None:
        self._native = native

    def read(
        self,
        card_number: str,
        *,
        trust: Optional[TrustStore] = None,
        policy: str = "full",
        force_flow: Optional[str] = None,
        now_unix: Optional[int] = None,
        status_table: Optional[StrPath] = None,
    ) -> ReadResult:
        """Reads and verifies the card.

        Args:
            card_number: the 在留カード等番号 as the clerk types it (12 letters and
                digits; white space is trimmed, letters upper-cased). It is converted
                at once to a Rust value that is wiped after the read and never appears
                in messages or results (``ReadResult.card_number`` is redacted).
            trust: the anchors for the chain check. ``None``: for the simulator, its
                own test CAs (as test anchors); for a reader, no anchor at all (the
                chain is then ``no_matching_anchor``).
            policy: ``"full"`` (everything, verify the signature) or ``"text_only"``
                (the privacy option: no image and no signature file; the signature is
                then ``not_checked``).
            force_flow: diagnostics only: ``"gen1"`` or ``"gen2"`` instead of the flow
                of the card type read from the chip.
            now_unix: the verification time (Unix seconds); ``None`` = now.
            status_table: a file naming the second generation's status-of-residence
                codes (``code<TAB>日本語<TAB>English`` per line).

        Raises:
            WrongCardNumber: the number does not belong to this card.
            CardError: the card answered an error status word (``.sw``).
            TransportError: the reader, the link or the card went away.
            AuthenticationError, SecureMessagingError, ParseError: bad card data.
            UnsupportedCardType: a card type this version does not read.
            InvalidInputError: a malformed card number or option.
            CardClosedError: the card was closed.

        A signature that does not verify is **not** an exception: check
        ``result.verification``.
        """
        table = None if status_table is None else os.fspath(status_table)
        native_trust = None if trust is None else trust._native
        report, images, read = self._native.read(
            card_number, native_trust, policy=policy, force_flow=force_flow, now_unix=now_unix, status_table=table
        )
        return ReadResult(report, images, read)

    def write_address(
        self,
        card_number: str,
        *,
        date: str,
        municipality_code: str,
        address: str,
        authority: Authority,
        operator_id: str,
    ) -> WriteReceipt:
        """Writes a new residence address (住居地) into the card through ``authority``,
        and confirms it: the normal card-number access, the write relayed between the
        authority and the card (the counter only carries APDU bytes), then a **new card
        session** (simulator: a power cycle; PC/SC: a reconnect with a card reset) that
        re-reads the file and compares it with the record and the receipt. First
        generation: the DF2/EF01 text record; second generation: the DF1/EF04 address
        image the authority renders.

        Args:
            card_number: the 在留カード等番号 (as for :meth:`read`; never in messages).
            date: 追記書き込み年月日, ``"YYYYMMDD"``.
            municipality_code: 市町村コード, 6 digits with a valid check digit.
            address: the new address (at most 80 characters and 320 bytes of UTF-8, no
                control characters).
            authority: the write authority.
            operator_id: the clerk's id, for the authority's audit log.

        Returns:
            The :class:`WriteReceipt`. Only a return means the card holds the new address.

        Raises:
            PolicyRefused, RecordRefused, AddressImageError, AuthorityRefused: the
                authority refused (nothing was written).
            WriteRefusedByCard, WriteNotSupported: the card refused or cannot be written.
            ReadBackMismatch, WriteUnconfirmed: the write is not confirmed.
            AuthorityUnavailable: the authority cannot be reached or cannot log.
            WrongCardNumber, TransportError, …: the read's exceptions, for the
                card-number access and for a reader failure during the write.
            InvalidInputError: a malformed card number.
            CardClosedError: the card was closed.
        """
        receipt = self._native.write_address(
            card_number,
            date=date,
            municipality_code=municipality_code,
            address=address,
            authority=authority._native,
            operator_id=operator_id,
        )
        return WriteReceipt._from_native(receipt)

    def close(self) -> None:
        """Closes the card (idempotent)."""
        self._native.close()

    @property
    def closed(self) -> bool:
        """Whether the card was closed."""
        return self._native.closed

    @property
    def kind(self) -> str:
        """``"simulator"`` or ``"pcsc"``."""
        return self._native.kind

    @property
    def reader(self) -> Optional[str]:
        """The PC/SC reader name; ``None`` for the simulator."""
        return self._native.reader

    @property
    def atr(self) -> Optional[bytes]:
        """The card's ATR as the reader reported it; ``None`` for the simulator."""
        return self._native.atr

    def __enter__(self) -> "Card":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = "simulator" if self.reader is None else repr(self.reader)
        return f"<zairyu.Card {where}{' closed' if self.closed else ''}>"


def list_readers() -> List[ReaderInfo]:
    """The PC/SC readers (pcscd), with card presence and ATR. No reader is ``[]``.

    Raises:
        ReaderUnavailableError: the PC/SC service is not running.
    """
    return [ReaderInfo(name, present, None if atr is None else bytes(atr)) for name, present, atr in _native.list_readers()]


def open_reader(name: str) -> Card:
    """Connects to the card in the PC/SC reader ``name`` (shared mode, T=1 preferred)
    and holds a PC/SC transaction until the card is closed.

    Raises:
        NoSuchReaderError: no reader has this name.
        CardRemovedError: the reader is empty.
        ReaderUnavailableError: the PC/SC service is not running.
    """
    return Card(_native.open_reader(name))


def open_simulator(
    card_type: str = "1",
    card_number: str = "AB12345678CD",
    *,
    under_16: bool = False,
    tamper_front_image: bool = False,
    tamper_printed_entries: bool = False,
    check_code_format: str = "bare_hash",
    signature_der: bool = False,
    link_speed: Optional[str] = None,
    faults: Sequence[str] = (),
    pki: str = "test",
    write_pki: Optional[StrPath] = None,
) -> Card:
    """Issues a simulated card (synthetic data, the simulator's test PKI) and returns it
    as a :class:`Card`. Runs in-process: no reader and no pcscd needed.

    Args:
        card_type: ``"1"`` 在留カード, ``"2"`` 特別永住者証明書 (first generation),
            ``"05"`` (or ``"5"``), ``"06"`` (or ``"6"``) (second generation).
        card_number: the number that opens the simulated chip.
        under_16: an under-16 card (no photo, no signature).
        tamper_front_image: alter the signed image after signing (signature invalid).
        tamper_printed_entries: second generation: alter the signed printed entries.
        check_code_format: first generation: ``"bare_hash"`` or ``"digest_info"``.
        signature_der: second generation: store the ECDSA signature DER-encoded.
        link_speed: ``"106k"``, ``"212k"``, ``"424k"`` or ``"848k"``: make each exchange
            as slow as a real ISO/IEC 14443 link; ``None``: as fast as possible.
        faults: injected failures, for tests, in the simulator's text form (the same
            as ``zairyu sim`` takes): ``"remove_card_after:N"``, ``"reset_after:N"``
            (after N APDUs), ``"status_word:INS[:P1]:SWSW"`` (hex, e.g.
            ``"status_word:B0:6982"``), ``"truncate_response:INS[:P1]:KEEP"``,
            ``"truncate_data:INS[:P1]:KEEP"``, ``"append_garbage:INS[:P1]:BYTES"``,
            ``"corrupt_response_byte:INS[:P1]:INDEX"``, ``"corrupt_mac_icc"``,
            ``"bad_sm_padding"``, ``"short_apdus_only"``.
        pki: which throw-away PKI signs the card: ``"test"`` (the simulator's test CAs,
            trusted by default when reading the simulator: verdict ``"test"``) or
            ``"synthetic_production"`` (the simulator's synthetic production roots,
            ``sim/fixtures/gen{1,2}-synthetic-production-ca.der``). Those roots are
            pinned as production roots only in a test build of the library (cargo
            feature ``test-production-root``); the released wheel refuses them in
            :meth:`TrustStore.from_dir` (``verify_unpinned_production_root``), so such a
            card is never ``ok`` there.
        write_pki: a test write-PKI directory (:func:`zairyu.simulator.make_write_pki`,
            ``zairyu pki init``): the card also carries the address-write application
            trusting it, and can be written by :meth:`Card.write_address`.

    Raises:
        InvalidInputError: an unknown option value (``input_bad_option``).
        AuthoritySetupError: ``write_pki`` is not a readable test write PKI.
    """
    return Card(
        _native.open_simulator(
            card_type,
            card_number,
            under_16=under_16,
            tamper_front_image=tamper_front_image,
            tamper_printed_entries=tamper_printed_entries,
            check_code_format=check_code_format,
            signature_der=signature_der,
            link_speed=link_speed,
            faults=list(faults),
            pki=pki,
            write_pki=None if write_pki is None else os.fspath(write_pki),
        )
    )


def _wait(reader: str, present: bool, timeout: Optional[float], poll: float) -> bool:
    """Waits until ``reader`` has a card (``present``) or has none, in event-driven
    waits of at most ``poll`` seconds (Ctrl-C is seen between them). A reader or pcscd
    that is missing counts as "no card": it ends a wait for removal at once and is
    asked again after ``poll`` by a wait for a card."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        step = poll if deadline is None else min(poll, max(0.0, deadline - time.monotonic()))
        try:
            if _native.wait_for_card(reader, present, step):
                return True
        except (NoSuchReaderError, ReaderUnavailableError):
            if not present:
                return True
            time.sleep(step)
        if deadline is not None and time.monotonic() >= deadline:
            return False


def wait_for_card(reader: str, timeout: Optional[float] = None, poll: float = _native.POLL_SECONDS) -> bool:
    """Waits until a card is in ``reader``: ``True`` when one is, ``False`` after
    ``timeout`` seconds (``None``: no limit). Event-driven (PC/SC
    ``SCardGetStatusChange``), in waits of at most ``poll`` seconds. A missing reader
    or pcscd counts as "no card".

    Raises:
        InvalidInputError: ``poll`` is negative or not a number (``input_bad_option``).
    """
    return _wait(reader, True, timeout, poll)


def wait_for_removal(reader: str, timeout: Optional[float] = None, poll: float = _native.POLL_SECONDS) -> bool:
    """Waits until ``reader`` is empty (or gone): ``True`` then, ``False`` after
    ``timeout`` seconds (``None``: no limit). As :func:`wait_for_card`."""
    return _wait(reader, False, timeout, poll)
