#!/usr/bin/env python3
"""A counter (窓口) script: waits for residence cards on a PC/SC reader, asks for the card
number, reads and verifies the chip, and prints one JSON record per card on stdout: the
record a registry (住基) system would import. Prompts and status go to stderr.

    python counter.py --reader "Virtual PCD 00 01" --trust-dir moj-roots

Each card is read once; put the next card after removing it. End of input (Ctrl-D) ends
the script. An empty line skips the card.

The record never contains the card number in full (only redacted), and it carries the
verification summary: a registry should import only records with
``verification.genuine`` true (the library's verdict ``"production"``: signature valid
and chained to a Ministry root).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import sys
import time
from typing import Any, Dict, Optional

import zairyu


def status(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def plain(value: Any) -> Any:
    """A field value as JSON: a text as its string, a coded value as ``{code, ja, en}``,
    a period of stay as its set parts."""
    if isinstance(value, zairyu.Text):
        return value.text
    if isinstance(value, zairyu.Coded):
        return dataclasses.asdict(value)
    if isinstance(value, zairyu.PeriodOfStay):
        return {k: v for k, v in dataclasses.asdict(value).items() if v is not None}
    return value


# The holder's fields of the record; each is the attribute of the same name of the
# generation's fields where it has one (None elsewhere).
HOLDER = (
    "name",
    "birth_date",
    "sex",
    "nationality",
    "status_of_residence",
    "period_of_stay",
    "stay_expiry",
    "card_expiry",
    "address",
    "address_written_on",
    "municipality_code",
)

# The permissions of the record, by card type: record key -> attribute of the fields.
PERMISSIONS: Dict[str, Dict[str, str]] = {
    "1": {
        "comprehensive": "comprehensive_permission",
        "individual": "individual_permission",
        "renewal_application": "renewal_application",
    },
    "05": {
        "comprehensive": "comprehensive_permission",
        "comprehensive_deadline": "comprehensive_permission_deadline",
        "individual": "individual_permission",
        "renewal_application_pending": "renewal_application_pending",
        "work_restriction": "work_restriction",
        "permission_type": "permission_type",
        "permission_date": "permission_date",
    },
}


def record(reader: str, r: zairyu.ReadResult) -> Dict[str, Any]:
    """The fields a registry system imports. The first generation keeps name, birth date,
    sex, nationality, status and period of stay only in the card-face image: they are
    null here and the image is named in ``images``."""
    v = r.verification
    f = r.fields
    return {
        "ok": True,
        "reader": reader,
        "read_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "card_type": r.card_type,
        "card_type_name": {"ja": r.card_type_name[0], "en": r.card_type_name[1]},
        "generation": r.generation,
        "card_number": r.card_number,
        **{key: plain(getattr(f, key, None)) for key in HOLDER},
        "permissions": {key: plain(getattr(f, attr)) for key, attr in PERMISSIONS.get(r.card_type, {}).items()},
        "verification": {
            "genuine": r.verdict == "production",
            "verdict": r.verdict,
            "signature": v.signature,
            "chain": v.chain,
            "anchor_profile": v.anchor_profile,
            "anchor": v.anchor,
            "certificate_valid_now": v.certificate_valid_now,
            "reason": v.reason,
        },
        "images": sorted(name for name, data in r.images.items() if data),
        "warnings": [{"code": w.code, "message": w.message} for w in r.warnings],
    }


def pick_reader(wanted: Optional[str]) -> str:
    """The reader named, or the first one PC/SC lists (waiting for one to appear)."""
    announced = False
    while True:
        try:
            names = [r.name for r in zairyu.list_readers()]
        except zairyu.ReaderUnavailableError:
            names = []
        if wanted is None and names:
            return names[0]
        if wanted is not None and wanted in names:
            return wanted
        if not announced:
            status(f"waiting for reader {wanted or '(any)'} …")
            announced = True
        time.sleep(0.5)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--reader", help="PC/SC reader name (default: the first reader)")
    ap.add_argument("--trust-dir", help="directory with the Ministry's root certificates (pinned)")
    ap.add_argument("--test-anchors", help="test anchor file or directory (reported as profile 'test')")
    ap.add_argument("--trust-sim-ca", action="store_true", help="trust the simulator's test CAs (vpcd tests)")
    ap.add_argument("--policy", choices=["full", "text_only"], default="full")
    ap.add_argument("--status-table", help="status-of-residence code table (code<TAB>ja<TAB>en)")
    ap.add_argument("--once", action="store_true", help="stop after one card")
    args = ap.parse_args(argv)

    trust = zairyu.TrustStore.from_dir(args.trust_dir) if args.trust_dir else zairyu.TrustStore()
    if args.test_anchors:
        trust.add_test_anchor(args.test_anchors)
    if args.trust_sim_ca:
        trust.add_simulator_test_anchors()

    reader = pick_reader(args.reader)
    while True:
        status(f"waiting for a card on {reader} …")
        zairyu.wait_for_card(reader)
        status("card number (在留カード等番号): ")
        try:
            number = input()
        except EOFError:
            return 0
        if not number.strip():
            status("skipped")
        else:
            try:
                with zairyu.open_reader(reader) as card:
                    result = card.read(number, trust=trust, policy=args.policy, status_table=args.status_table)
                out = record(reader, result)
            except zairyu.ZairyuError as e:
                out = {"ok": False, "reader": reader, "error": {"type": type(e).__name__, "code": e.code, "message": str(e)}}
            del number
            print(json.dumps(out, ensure_ascii=False), flush=True)
        if args.once:
            return 0
        status("remove the card")
        zairyu.wait_for_removal(reader)


if __name__ == "__main__":
    sys.exit(main())
