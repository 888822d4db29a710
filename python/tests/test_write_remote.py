"""The address write through the write authority service from Python:
``Authority.remote`` against a real ``zairyu-authority serve`` process on 127.0.0.1
(mutual TLS), both generations, the service's refusals as the same exception classes
as an in-process authority's, an unreachable service, fail-over to a second URL, and
the service's audit log whole afterwards (fixture ``authority_service`` in
conftest.py; python/run-tests.sh provides the binary)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Dict, List, Optional, Protocol, Type

import pytest

import zairyu

NUMBER = "AB12345678CD"
NEW_ADDRESS = "東京都新宿区西新宿２－８－１"
OSAKA = {"municipality_code": "271004", "address": "大阪府大阪市北区中之島１－３－２０"}


class Service(Protocol):
    url: str
    dir: Path

    def tls(self, counter: str, ca: str = "ca.pem") -> Dict[str, Path]: ...
    def authority(self, counter: str = "counter-1", urls: Optional[List[str]] = None) -> zairyu.Authority: ...
    def audit_verify(self) -> str: ...


def write(card: zairyu.Card, authority: zairyu.Authority, **record: str) -> zairyu.WriteReceipt:
    r = {"date": "20260501", "municipality_code": "131041", "address": NEW_ADDRESS, **record}
    return card.write_address(
        NUMBER,
        date=r["date"],
        municipality_code=r["municipality_code"],
        address=r["address"],
        authority=authority,
        operator_id="clerk-007",
    )


def address_of(card: zairyu.Card) -> str:
    g = card.read(NUMBER, policy="text_only").gen1
    assert g is not None and g.address is not None
    return g.address.text


def dead_url() -> str:
    """A loopback URL where nothing listens (a port the kernel gave and took back)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"https://127.0.0.1:{port}"


def test_remote_authority_names_the_certificate_counter(authority_service: Service) -> None:
    a = authority_service.authority("counter-2")
    assert a.counter_id == "counter-2"
    assert "counter-2" in repr(a)


@pytest.mark.parametrize("card_type", ["1", "05"])
def test_both_generations_written_through_the_service(authority_service: Service, card_type: str) -> None:
    authority = authority_service.authority()
    with zairyu.open_simulator(card_type, write_pki=authority_service.dir / "pki") as card:
        receipt = write(card, authority)
        generation = 1 if card_type == "1" else 2
        assert receipt.generation == generation
        assert receipt.target == ("df2_ef01" if generation == 1 else "df1_ef04")
        assert receipt.round_trips == 4 and receipt.terminal == "JPTESTTERM00001"
        assert receipt.old_content_sha256 is not None and receipt.old_content_sha256 != receipt.content_sha256
        if generation == 1:
            assert address_of(card) == NEW_ADDRESS
        else:
            image = card.read(NUMBER).images["address"]
            assert image[:4] == b"II*\0"
    assert "audit log whole" in authority_service.audit_verify()


@pytest.mark.parametrize(
    ("counter", "record", "cls", "code"),
    [
        ("counter-2", OSAKA, zairyu.PolicyRefused, "policy_municipality_not_allowed"),
        ("counter-3", {}, zairyu.PolicyRefused, "policy_unknown_counter"),
        ("counter-1", {"date": "20261340"}, zairyu.RecordRefused, "record_invalid"),
    ],
)
def test_the_services_refusals_are_typed_and_write_nothing(
    authority_service: Service, counter: str, record: Dict[str, str], cls: Type[zairyu.WriteError], code: str
) -> None:
    authority = authority_service.authority(counter)
    with zairyu.open_simulator("1", write_pki=authority_service.dir / "pki") as card:
        before = address_of(card)
        with pytest.raises(cls) as e:
            write(card, authority, **record)
        assert isinstance(e.value, zairyu.AuthorityRefused)
        assert e.value.code == code
        assert NUMBER not in str(e.value)
        assert address_of(card) == before
    assert "audit log whole" in authority_service.audit_verify()


def test_an_unreachable_or_unpinned_service_is_unavailable(authority_service: Service) -> None:
    unreachable = authority_service.authority(urls=[dead_url()])
    # The service's certificate does not chain to a counter certificate given as the CA.
    unpinned = zairyu.Authority.remote(authority_service.url, **authority_service.tls("counter-1", "counter-1.pem"))
    with zairyu.open_simulator("1", write_pki=authority_service.dir / "pki") as card:
        before = address_of(card)
        for authority in (unreachable, unpinned):
            with pytest.raises(zairyu.AuthorityUnavailable) as e:
                write(card, authority)
            assert e.value.code == "authority_unavailable"
        assert address_of(card) == before


def test_a_dead_first_url_fails_over_to_the_next(authority_service: Service) -> None:
    authority = authority_service.authority(urls=[dead_url(), authority_service.url])
    with zairyu.open_simulator("1", write_pki=authority_service.dir / "pki") as card:
        write(card, authority)
        assert address_of(card) == NEW_ADDRESS


def test_setup_errors(authority_service: Service, tmp_path: Path) -> None:
    tls = authority_service.tls("counter-1")
    cases = [
        (["http://127.0.0.1:1"], tls, "remote_url_invalid"),
        ([], tls, "remote_url_invalid"),
        ([authority_service.url], {**tls, "client_key": tmp_path / "missing.key"}, "remote_file_unreadable"),
        ([authority_service.url], {**tls, "client_key": tls["client_cert"]}, "remote_pem_invalid"),
        ([authority_service.url], authority_service.tls("counter-1", "counter-1.key"), "remote_pem_invalid"),
    ]
    for urls, files, code in cases:
        with pytest.raises(zairyu.AuthoritySetupError) as e:
            zairyu.Authority.remote(urls, **files)
        assert e.value.code == code, (urls, files)
