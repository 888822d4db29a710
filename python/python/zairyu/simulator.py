"""Helpers for the in-process simulator's address write (AWP v1): a throw-away TEST
write PKI, and the policy that makes its directory an authority directory.

For tests and demonstrations only: the keys it writes are unencrypted and never for a
real card.
"""

from __future__ import annotations

import json
import os
from typing import Mapping, Optional, Sequence, Union

from . import _native

__all__ = ["make_write_pki", "write_policy"]

StrPath = Union[str, "os.PathLike[str]"]


def write_policy(directory: StrPath, counters: Mapping[str, Sequence[str]]) -> None:
    """Writes ``policy.toml`` into ``directory``: each counter id and the municipality
    codes it may write for (``"131016"``, a prefecture ``"13*"``, or ``"*"``).
    Replaces an existing policy."""
    lines = ["version = 1", ""]
    for counter_id, codes in counters.items():
        lines += ["[[counter]]", f"id = {json.dumps(counter_id)}", f"municipalities = {json.dumps(list(codes))}", ""]
    with open(os.path.join(os.fspath(directory), "policy.toml"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines))


def make_write_pki(directory: StrPath, counters: Optional[Mapping[str, Sequence[str]]] = None) -> None:
    """Makes a TEST write PKI in ``directory`` (created if needed), as
    ``zairyu pki init --out DIR`` does: the write CVCA, a DV, the terminal key and
    certificate with the write right, the write-issuer root and the document signer of
    EF.ChipAuthInfo, valid from today. With ``counters``, also the policy
    (:func:`write_policy`), which makes the directory an authority directory for
    :meth:`zairyu.Authority.from_dir`; cards of :func:`zairyu.open_simulator` with
    ``write_pki=directory`` trust it.

    Raises:
        AuthoritySetupError: a PKI file exists already (never overwritten), or the
            directory cannot be written.
    """
    _native.make_write_pki(os.fspath(directory))
    if counters is not None:
        write_policy(directory, counters)
