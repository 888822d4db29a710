"""Type stubs of the private Rust module ``zairyu._native`` (python/src/lib.rs).

Use the public API in :mod:`zairyu` instead; these signatures are what it calls.
"""

from typing import Dict, List, Optional, Tuple, final

__all__ = [
    "TrustStore",
    "Card",
    "list_readers",
    "open_reader",
    "open_simulator",
    "_error_samples",
    "__version__",
    "POLL_SECONDS",
]

__version__: str
POLL_SECONDS: float

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
        self,
        card_number: str,
        trust: Optional[TrustStore] = None,
        policy: str = "full",
        force_flow: Optional[str] = None,
        now_unix: Optional[int] = None,
        status_table: Optional[str] = None,
    ) -> Tuple[str, Dict[str, bytes]]: ...
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
def open_simulator(
    card_type: str = "1",
    card_number: str = "AB12345678CD",
    under_16: bool = False,
    tamper_front_image: bool = False,
    tamper_printed_entries: bool = False,
    check_code_format: str = "bare_hash",
    signature_der: bool = False,
    link_speed: Optional[str] = None,
    faults: List[str] = ...,
) -> Card: ...
def _error_samples() -> List[Tuple[str, BaseException]]: ...
