#!/usr/bin/env python3
"""A counter (窓口) script: waits for residence cards on a PC/SC reader, asks for the card
number, reads and verifies the chip, and prints one JSON record per card on stdout: the
record a registry (住基) system would import. Prompts and status go to stderr.

    python counter.py --reader "Virtual PCD 00 01" --trust-dir moj-roots

Each card is read once; put the next card after removing it. End of input (Ctrl-D) ends
the script. An empty line skips the card.

The record never contains the card number in full (only redacted), and it carries the
verification summary: a registry should import only records with
``verification.genuine`` true (signature valid and chained to a Ministry root).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from typing import Any, Dict, Optional

import zairyu


def status(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def coded(c: Optional[zairyu.Coded]) -> Optional[Dict[str, Optional[str]]]:
    return None if c is None else {"code": c.code, "ja": c.ja, "en": c.en}


def period(p: Optional[zairyu.PeriodOfStay]) -> Optional[Dict[str, Any]]:
    if p is None:
        return None
    out: Dict[str, Any] = {"kind": p.kind}
    for key in ("years", "months", "days", "value"):
        if getattr(p, key) is not None:
            out[key] = getattr(p, key)
    return out


def text(t: Optional[zairyu.Text]) -> Optional[str]:
    return None if t is None else t.text


def record(reader: str, r: zairyu.ReadResult) -> Dict[str, Any]:
    """The fields a registry system imports. The first generation keeps name, birth date,
    sex, nationality, status and period of stay only in the card-face image: they are
    null here and the image is named in ``images``."""
    v = r.verification
    rec: Dict[str, Any] = {
        "ok": True,
        "reader": reader,
        "read_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "card_type": r.card_type,
        "card_type_name": {"ja": r.card_type_name[0], "en": r.card_type_name[1]},
        "generation": r.generation,
        "card_number": r.card_number,
        "name": None,
        "birth_date": None,
        "sex": None,
        "nationality": None,
        "status_of_residence": None,
        "period_of_stay": None,
        "stay_expiry": None,
        "card_expiry": None,
        "address": None,
        "address_written_on": None,
        "municipality_code": None,
        "permissions": {},
        "verification": {
            "genuine": v.is_production_valid,
            "signature": v.signature,
            "chain": v.chain,
            "anchor_profile": v.anchor_profile,
            "anchor": v.anchor,
            "certificate_valid_now": v.certificate_valid_now,
            "reason": v.reason,
        },
        "images": sorted(name for name, data in r.images.items() if data),
        "warnings": list(r.warnings),
    }
    g1, g2 = r.gen1, r.gen2
    if g1 is not None:
        rec["name"] = g1.name
        rec["address"] = text(g1.address)
        rec["address_written_on"] = g1.address_written_on
        rec["municipality_code"] = g1.municipality_code
        if r.card_type == "1":
            rec["permissions"] = {
                "comprehensive": text(g1.comprehensive_permission),
                "individual": text(g1.individual_permission),
                "renewal_application": g1.renewal_application,
            }
    if g2 is not None:
        rec["name"] = g2.name
        rec["birth_date"] = g2.birth_date
        rec["sex"] = coded(g2.sex)
        rec["nationality"] = coded(g2.nationality)
        rec["status_of_residence"] = coded(g2.status_of_residence)
        rec["period_of_stay"] = period(g2.period_of_stay)
        rec["stay_expiry"] = g2.stay_expiry
        rec["card_expiry"] = g2.card_expiry
        if r.card_type == "05":
            rec["permissions"] = {
                "comprehensive": coded(g2.comprehensive_permission),
                "comprehensive_deadline": g2.comprehensive_permission_deadline,
                "individual": g2.individual_permission,
                "renewal_application_pending": g2.renewal_application_pending,
                "work_restriction": coded(g2.work_restriction),
                "permission_type": g2.permission_type,
                "permission_date": g2.permission_date,
            }
    return rec


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
