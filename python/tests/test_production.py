"""The production verdict end to end: a card signed by the simulator's synthetic
production PKI, its roots loaded from a directory (fingerprint check), preferred over
the same root as a test anchor, gives ``verdict == "production"`` and ``ok``.

The roots are pinned only in a test build of the library (cargo feature
``test-production-root``). python/run-tests.sh runs this file twice: against the
release wheel, which must refuse them as unpinned, and against a debug wheel built with
the feature (``ZAIRYU_TEST_PRODUCTION_ROOT=1``), where the card must be genuine.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import zairyu

NUMBER = "AB12345678CD"
FIXTURES = Path(__file__).resolve().parents[2] / "sim" / "fixtures"
ROOTS = ("gen1-synthetic-production-ca.der", "gen2-synthetic-production-ca.der")
TEST_BUILD = os.environ.get("ZAIRYU_TEST_PRODUCTION_ROOT") == "1"


@pytest.fixture
def roots(tmp_path: Path) -> Path:
    d = tmp_path / "roots"
    d.mkdir()
    for name in ROOTS:
        shutil.copy(FIXTURES / name, d / name)
    return d


def test_synthetic_production_card_under_a_test_anchor_is_not_ok(roots: Path) -> None:
    store = zairyu.TrustStore()
    assert store.add_test_anchor(roots) == 2
    for card_type in ("1", "05"):
        with zairyu.open_simulator(card_type, pki="synthetic_production") as card:
            r = card.read(NUMBER, trust=store)
        assert (r.verdict, r.ok, r.verification.anchor_profile) == ("test", False, "test")
        # The simulator's default anchors (its test CAs) do not know this PKI.
        with zairyu.open_simulator(card_type, pki="synthetic_production") as card:
            assert card.read(NUMBER).verdict == "untrusted"


@pytest.mark.skipif(TEST_BUILD, reason="the release wheel's behaviour")
def test_release_wheel_refuses_the_synthetic_roots(roots: Path) -> None:
    with pytest.raises(zairyu.VerificationError) as e:
        zairyu.TrustStore.from_dir(roots)
    assert e.value.code == "verify_unpinned_production_root"


@pytest.mark.skipif(not TEST_BUILD, reason="needs a wheel built with the feature test-production-root")
@pytest.mark.parametrize("card_type", ["1", "2", "05", "06"])
def test_synthetic_production_card_is_ok(roots: Path, card_type: str) -> None:
    store = zairyu.TrustStore()
    # The same root as a test anchor first: the production anchor is still preferred.
    store.add_test_anchor(roots / ROOTS[0])
    store.add_simulator_test_anchors()
    assert store.add_production_dir(roots) == 2
    assert [a.profile for a in store.anchors].count("production") == 2
    with zairyu.open_simulator(card_type, pki="synthetic_production") as card:
        r = card.read(NUMBER, trust=store)
    v = r.verification
    assert (v.signature, v.chain, v.anchor_profile) == ("valid", "verified", "production")
    assert r.verdict == v.verdict == "production"
    assert r.ok and v.is_production_valid
    assert v.anchor in {a.fingerprint for a in store.anchors if a.profile == "production"}
    assert v.signed("face") and not v.signed("address")
    # A card of the simulator's test PKI under the same store stays "test".
    with zairyu.open_simulator(card_type) as card:
        assert card.read(NUMBER, trust=store).verdict == "test"


@pytest.mark.skipif(not TEST_BUILD, reason="needs a wheel built with the feature test-production-root")
def test_from_dir_loads_the_synthetic_roots_in_a_test_build(roots: Path) -> None:
    store = zairyu.TrustStore.from_dir(roots)
    assert len(store) == 2 and {a.profile for a in store.anchors} == {"production"}
    with zairyu.open_simulator("06", pki="synthetic_production") as card:
        assert card.read(NUMBER, trust=store).ok


def test_unknown_pki_is_a_bad_option() -> None:
    with pytest.raises(zairyu.InvalidInputError) as e:
        zairyu.open_simulator("1", pki="production")
    assert e.value.code == "input_bad_option"
