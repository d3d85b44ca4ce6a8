"""Ask ``fwaudit exposure`` (the real command line, JSON) and hold its verdicts against the kernel.

open ⇔ accept, refused ⇔ reject, silent ⇔ drop. ``indeterminate`` is never wrong but is not
definite — except when its reason says the base-chain order is unknowable ("one order gives X,
another Y"): then the kernel's outcome must be one of those it names, or the verdict is wrong
(an order that is itself indeterminate allows anything).
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

FWAUDIT = str(Path(sys.executable).with_name("fwaudit"))
EXPECTED = {"accept": "open", "drop": "silent", "reject": "refused"}
_ORDER = re.compile(r"one order gives (\w+), another (\w+)")


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reason: str
    rules: str


@dataclass
class Query:
    """One ``fwaudit exposure`` run: the interface, destination and sources it covers."""

    iface: str
    destination: str
    sources: list[str]


def run_exposure(args: list[str], query: Query, timeout: float = 300) -> dict[tuple[str, str, int], Verdict] | str:
    """Verdicts per (source, protocol, port range start…) or the error text."""
    cmd = [FWAUDIT, "exposure", *args, "-i", query.iface, "-d", query.destination, "--format", "json"]
    for s in query.sources:
        cmd += ["-s", s]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"timeout after {timeout:.0f} s"
    if res.returncode != 0:
        return (res.stderr.strip() or f"exit {res.returncode}")[:400]
    return _entries(json.loads(res.stdout))


def _entries(doc: dict) -> dict:  # type: ignore[type-arg]
    out = {}
    for e in doc["exposure"]:
        rules = "; ".join(d.get("text", "") for d in e.get("decided_by", []))
        out[(e["source"], e["protocol"], e["ports"][0], e["ports"][1])] = Verdict(e["verdict"], e.get("reason") or "", rules)
    return out


def lookup(entries: dict, source: str, protocol: str, port: int) -> Verdict | None:  # type: ignore[type-arg]
    addr = ipaddress.ip_address(source)
    for (src, proto, lo, hi), v in entries.items():
        if proto == protocol and lo <= port <= hi and addr in ipaddress.ip_network(src, strict=False):
            return v
    return None


def judge(kernel: str, v: Verdict | None) -> str:
    """``right``, ``wrong`` or ``indeterminate`` for one point."""
    if v is None:
        return "wrong"
    if v.verdict == "indeterminate":
        m = _ORDER.search(v.reason)
        named = {m.group(1), m.group(2)} if m else set()
        # an order that is itself indeterminate allows any outcome
        if named and "indeterminate" not in named and kernel not in {EXPECTED.get(x) for x in named}:
            return "wrong"
        return "indeterminate"
    return "right" if EXPECTED.get(v.verdict) == kernel else "wrong"
