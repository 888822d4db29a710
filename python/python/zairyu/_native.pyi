"""Type stubs of the private Rust module ``zairyu._native`` (python/src/lib.rs).

Use the public API in :mod:`zairyu` instead; these signatures are what it calls. The
``options`` of ``open_simulator`` and ``Card.read`` are the keyword arguments of
:func:`zairyu.open_simulator` and :meth:`zairyu.Card.read`, which document and type them.
"""

from typing import Any, Dict, List, Optional, Tuple, Union, final

# The module's own __all__, in its order (the order python/src/lib.rs adds the names).
__all__ = [
    "TrustStore",
    "Card",
    "list_readers",
    "open_reader",
    "wait_for_card",
    "open_simulator",
    "Authority",
    "make_write_pki",
    "Read",
    "Verdict",
    "verify_evidence",
    "export_rows",
    "_image_png_of",
    "_error_samples",
    "__version__",
    "POLL_SECONDS",
    "ERROR_CODES",
]

__version__: str
POLL_SECONDS: float
ERROR_CODES: Tuple[str, ...]

@final
class TrustStore:
    def __init__(self) -> None: ...
    @staticmethod
    def from_dir(path: str) -> TrustStore: ...
    def add_production_dir(self, path: str) -> int: ...
    def add_test_anchor(self, path: str) -> int: ...
    def add_simulator_test_anchors(self) -> None: ...
    def anchors(self) -> List[Tuple[str, str, str, str, str, int, int]]: ...
    def __len__(self) -> int: ...

@final
class Card:
    def read(
        self, card_number: str, trust: Optional[TrustStore] = None, **options: object
    ) -> Tuple[str, Dict[str, bytes], Read]: ...
    def write_address(
        self,
        card_number: str,
        *,
        date: str,
        municipality_code: str,
        address: str,
        authority: Authority,
        operator_id: str,
    ) -> Dict[str, Any]: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def kind(self) -> str: ...
    @property
    def reader(self) -> Optional[str]: ...
    @property
    def atr(self) -> Optional[bytes]: ...
    def metrics(self) -> Optional[Tuple[int, int, int]]: ...

def list_readers() -> List[Tuple[str, bool, Optional[bytes]]]: ...
def open_reader(name: str) -> Card: ...
def wait_for_card(reader: str, present: bool, timeout: float) -> bool: ...
def open_simulator(card_type: str, card_number: str, **options: object) -> Card: ...
@final
class Authority:
    @staticmethod
    def from_dir(dir: str, counter_id: str) -> Authority: ...
    @staticmethod
    def remote(urls: List[str], client_cert: str, client_key: str, authority_ca: str) -> Authority: ...
    @property
    def counter_id(self) -> str: ...

def make_write_pki(dir: str) -> None: ...
@final
class Read:
    def image_png(self, name: str) -> bytes: ...
    def report_html(self) -> str: ...
    def evidence_json(
        self,
        station_key: Optional[object] = None,
        card_number: Optional[str] = None,
        include_card_number: bool = False,
        created_at_unix: Optional[int] = None,
    ) -> bytes: ...

@final
class Verdict: ...

def verify_evidence(
    data: bytes, trust: TrustStore, station_keys: Optional[List[Union[bytes, bytearray, str]]] = None
) -> Tuple[bool, str, Verdict]: ...
def export_rows(
    verdicts: List[Verdict],
    format: str,
    bom: bool,
    era: bool,
    include_card_number: bool,
    guard_formulas: bool = False,
) -> str: ...
def _image_png_of(data: bytes) -> bytes: ...
def _error_samples() -> List[Tuple[str, BaseException]]: ...
