"""The README's Python example, extracted from the fenced block after the
`<!-- python-example -->` marker and run as it is, in a fresh interpreter and a
directory outside the source tree; it is also type-checked with mypy --strict."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"


def example(marker: str = "python-example") -> str:
    text = README.read_text(encoding="utf-8")
    m = re.search(r"<!-- " + marker + r" -->\s*```python\n(.*?)```", text, re.S)
    assert m, f"README has no python block after <!-- {marker} -->"
    return m.group(1)


def test_readme_example_runs(tmp_path: Path) -> None:
    script = tmp_path / "readme_example.py"
    script.write_text(example(), encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "05 gen2-aes AB********CD"
    assert lines[1] == "valid verified test"


def test_readme_example_type_checks(tmp_path: Path) -> None:
    if os.environ.get("ZAIRYU_SKIP_MYPY") == "1":
        pytest.skip("ZAIRYU_SKIP_MYPY=1")
    pytest.importorskip("mypy")
    script = tmp_path / "readme_example.py"
    script.write_text(example(), encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_readme_evidence_example_runs(tmp_path: Path) -> None:
    """The block after `<!-- python-evidence-example -->` ("Evidence and export")."""
    script = tmp_path / "readme_evidence_example.py"
    script.write_text(example("python-evidence-example"), encoding="utf-8")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["True intact test", "chip_signed_fields_only", "1,05,"]
