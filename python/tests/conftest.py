"""Shared fixtures. The suite runs against the *installed* wheel (python/run-tests.sh
installs it into a fresh venv and runs pytest from outside the source tree with
``--import-mode=importlib``), never against the source directory.

PC/SC tests need pcscd with vsmartcard's vpcd driver and the ``zairyu`` CLI binary
(``ZAIRYU_BIN``); without them they are skipped, unless ``ZAIRYU_REQUIRE_PCSC=1`` (set
by run-tests.sh), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Callable, Iterator, List, Optional

import pytest

import zairyu

NUMBER = "AB12345678CD"
READER = "Virtual PCD 00 01"
EMPTY_READER = "Virtual PCD 00 00"
VPCD_PORT = "35964"
REPO = Path(__file__).resolve().parents[2]


def zairyu_bin() -> Optional[str]:
    path = os.environ.get("ZAIRYU_BIN")
    if path and Path(path).is_file():
        return path
    return None


def pcsc_problem() -> Optional[str]:
    """Why the PC/SC tests cannot run, or None."""
    if zairyu_bin() is None:
        return "ZAIRYU_BIN (the zairyu CLI with `sim serve`) is not set"
    try:
        names = [r.name for r in zairyu.list_readers()]
    except zairyu.ReaderUnavailableError:
        return "pcscd is not running"
    if READER not in names:
        return f"no {READER!r} reader (vsmartcard-vpcd not installed?)"
    return None


@pytest.fixture
def pcsc() -> None:
    problem = pcsc_problem()
    if problem is not None:
        if os.environ.get("ZAIRYU_REQUIRE_PCSC") == "1":
            pytest.fail(f"PC/SC tests required but cannot run: {problem}")
        pytest.skip(problem)


class Served:
    """A `zairyu sim serve` process on the vpcd port of READER."""

    def __init__(self, args: List[str]) -> None:
        binary = zairyu_bin()
        assert binary is not None
        self.proc = subprocess.Popen(
            [binary, "sim", "serve", "--vpcd-port", VPCD_PORT, *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert zairyu.wait_for_card(READER, timeout=15, poll=0.05), "the served card never appeared"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        zairyu.wait_for_removal(READER, timeout=15, poll=0.05)


@pytest.fixture
def serve(pcsc: None) -> Iterator[Callable[..., Served]]:
    """Starts `zairyu sim serve ARGS` on READER; stopped at the end of the test."""
    started: List[Served] = []

    def start(*args: str) -> Served:
        s = Served(list(args))
        started.append(s)
        return s

    yield start
    for s in started:
        s.stop()


@pytest.fixture
def sim_trust() -> zairyu.TrustStore:
    return zairyu.TrustStore().add_simulator_test_anchors()
