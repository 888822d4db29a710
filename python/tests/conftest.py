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
from typing import Callable, Dict, Iterator, List, Optional

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


# ---- the write authority service (``zairyu-authority``) ----

SERVICE_POLICY = """version = 1

[[counter]]
id = "counter-1"
municipalities = ["*"]

[[counter]]
id = "counter-2"
municipalities = ["13*"]
"""


def authority_bin() -> Optional[str]:
    path = os.environ.get("ZAIRYU_AUTHORITY_BIN")
    if path and Path(path).is_file():
        return path
    return None


class AuthorityService:
    """A `zairyu-authority init` deployment (counters 1 to 3; the policy above: counter-1
    everywhere, counter-2 Tokyo only, counter-3 not named) served on a free loopback
    port by `zairyu-authority serve`."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.dir = directory
        subprocess.run(
            [binary, "init", "--out", str(directory), "--listen", "127.0.0.1:0",
             "--counter", "counter-1", "--counter", "counter-2", "--counter", "counter-3"],
            check=True, stdout=subprocess.DEVNULL,
        )
        (directory / "policy.toml").write_text(SERVICE_POLICY, encoding="utf-8")
        self.log = directory / "serve.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [binary, "serve", "--config", str(self.config)],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
            )
        self.url = self._wait_for_url()

    @property
    def config(self) -> Path:
        return self.dir / "authority.toml"

    def _wait_for_url(self) -> str:
        import re
        import time

        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            m = re.search(r"listening on (https://\S+)", self.log.read_text(encoding="utf-8", errors="replace"))
            if m:
                return m.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise AssertionError("zairyu-authority serve did not start: " + self.log.read_text(errors="replace"))

    def tls(self, counter: str, ca: str = "ca.pem") -> Dict[str, Path]:
        """The keyword arguments of ``Authority.remote`` for ``counter``."""
        t = self.dir / "tls"
        return {"client_cert": t / f"{counter}.pem", "client_key": t / f"{counter}.key", "authority_ca": t / ca}

    def authority(self, counter: str = "counter-1", urls: Optional[List[str]] = None) -> zairyu.Authority:
        return zairyu.Authority.remote(urls or [self.url], **self.tls(counter))

    def audit_verify(self) -> str:
        out = subprocess.run(
            [self.binary, "audit", "verify", "--config", str(self.config)],
            capture_output=True, text=True, check=False,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        return out.stdout

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture(scope="module")
def authority_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthorityService]:
    """A running `zairyu-authority serve` (``ZAIRYU_AUTHORITY_BIN``); skipped without the
    binary unless ``ZAIRYU_REQUIRE_AUTHORITY=1`` (set by run-tests.sh). Stopped at the
    end of the module, also when a test fails."""
    binary = authority_bin()
    if binary is None:
        if os.environ.get("ZAIRYU_REQUIRE_AUTHORITY") == "1":
            pytest.fail("ZAIRYU_AUTHORITY_BIN (the zairyu-authority binary) is required but not set")
        pytest.skip("ZAIRYU_AUTHORITY_BIN (the zairyu-authority binary) is not set")
    service = AuthorityService(binary, tmp_path_factory.mktemp("authority"))
    try:
        yield service
    finally:
        service.stop()
