"""examples/python/counter.py against a simulated card on pcscd + vpcd."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable, Dict, List

COUNTER = Path(__file__).resolve().parents[2] / "examples" / "python" / "counter.py"
READER = "Virtual PCD 00 01"


def run_counter(stdin: str, *extra: str) -> List[Dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, str(COUNTER), "--reader", READER, "--once", *extra],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=COUNTER.parent.parent,
    )
    assert out.returncode == 0, out.stderr
    assert "AB12345678CD" not in out.stdout
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_counter_gen2_record(serve: Callable[..., Any]) -> None:
    serve("--card-type", "05")
    [rec] = run_counter("AB12345678CD\n", "--trust-sim-ca")
    assert rec["ok"] is True and rec["card_type"] == "05" and rec["card_number"] == "AB********CD"
    assert rec["birth_date"] == "20000102" and rec["nationality"]["code"] == "PAK"
    assert rec["sex"]["en"] == "male" and rec["period_of_stay"] == {"kind": "years_months", "years": 3, "months": 0}
    assert rec["permissions"]["work_restriction"]["code"] == "2"
    assert rec["verification"]["signature"] == "valid" and rec["verification"]["chain"] == "verified"
    assert rec["verification"]["genuine"] is False and rec["verification"]["anchor_profile"] == "test"
    assert rec["images"] == ["address", "face", "name"]


def test_counter_gen1_record_and_errors(serve: Callable[..., Any]) -> None:
    serve("--card-type", "1")
    [rec] = run_counter("AB12345678CD\n")
    assert rec["ok"] is True and rec["address"] == "東京都千代田区霞が関１丁目１番１号"
    assert rec["municipality_code"] == "131016" and rec["permissions"]["renewal_application"] == "none"
    # No trust given: the signature is valid but nothing chains; not genuine.
    assert rec["verification"]["chain"] == "no_matching_anchor" and rec["verification"]["genuine"] is False
    [bad] = run_counter("ZZ00000000ZZ\n")
    assert bad["ok"] is False and bad["error"]["type"] == "WrongCardNumber"
    assert "ZZ00000000ZZ" not in json.dumps(bad)
    assert run_counter("") == []  # end of input: no record, exit 0
