"""Process names are chosen by whoever runs the process: every output must survive them.

``prctl(PR_SET_NAME)`` lets any process call itself ``"\\x1b]2;PWNED\\x07"`` (a terminal title
escape), ``"\\x01"`` (not representable in XML 1.0), ``yes`` (a YAML boolean) or raw bytes that
are not UTF-8. The listeners, every audit format and policy init are run against such names.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from auditor.engine.policy import parse_policy

ROOT = Path(__file__).resolve().parents[1]
FWAUDIT = [sys.executable, "-m", "auditor"]
NAMES = {  # port: process name as given to prctl (a str; \udcXX are raw bytes)
    7001: "\x1b]2;PWNED\x07",
    7002: "\x01ctl\x7f",
    7003: "yes",
    7004: "-1",
    7005: "a: b #c",
    7006: "\u202eevil",
    7007: "\udcff\udcfe",
    7008: "\x1b[2J\x1b[H",
    7009: "&x !!binary",
}
#: what a terminal or a log viewer would act on (C0 but newline, DEL, C1, bidi controls)
RAW_CONTROL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
POLICY = """version: 1
name: t
zones:
  lan: [198.18.71.0/24]
services:
  - {name: other, protocol: tcp, port: 9, zones: [lan]}
"""

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    from auditor.probe.namespaces import Namespace
    from tests.conftest import unique_name

    ns = Namespace(unique_name("H"))
    try:
        ns.exec(["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"])
        ns.exec(["ip", "addr", "add", "198.18.71.1/24", "dev", "eth0"])
        ns.exec(["ip", "link", "set", "eth0", "up"])
        for port, name in NAMES.items():
            p = ns.spawn([sys.executable, "-m", "auditor.probe.servers", "--tcp", str(port), "--name", name],
                         stdout=subprocess.PIPE, text=True)
            assert p.stdout.readline().strip() == "ready"
        policy = tmp_path_factory.mktemp("hostile") / "policy.yaml"
        policy.write_text(POLICY)
        yield ns, policy
    finally:
        ns.close()


def run(*args):
    res = subprocess.run([*FWAUDIT, *args], capture_output=True, text=True, cwd=ROOT, errors="surrogateescape")
    assert "Traceback" not in res.stderr, res.stderr
    return res


def test_listeners_text_escapes_terminal_controls(hostile):
    """Reproduction: a process named "\\x1b]2;PWNED\\x07" was printed raw by fwaudit listeners."""
    ns, _ = hostile
    res = run("listeners", "--target", f"netns:{ns.name}")
    assert res.returncode == 0
    assert not RAW_CONTROL.search(res.stdout), [l for l in res.stdout.splitlines() if RAW_CONTROL.search(l)]
    assert "\\x1b]2;PWNED\\x07" in res.stdout and "\\xff\\xfe" in res.stdout and "\\u202eevil" in res.stdout


def test_listeners_json_is_ascii_and_carries_the_names(hostile):
    ns, _ = hostile
    res = run("listeners", "--target", f"netns:{ns.name}", "--format", "json")
    assert res.stdout.isascii()
    names = {l["port"]: l["processes"][0]["name"] for l in json.loads(res.stdout)["listeners"]}
    assert names[7001] == "\x1b]2;PWNED\x07" and names[7003] == "yes" and names[7007] == "\\xff\\xfe"


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "sarif", "prometheus"])
def test_audit_report_in_every_format_survives_hostile_names(hostile, fmt):
    """Reproduction: a "\\x01" in a process name made audit --format junit emit XML that does
    not parse."""
    ns, policy = hostile
    res = run("audit", "--policy", str(policy), "--target", f"netns:{ns.name}", "--format", fmt)
    assert res.returncode == 1, res.stderr  # the undeclared listeners are findings
    out = res.stdout
    if fmt == "junit":
        root = etree.fromstring(out.encode())
        messages = " ".join(f.get("message") for f in root.iter("failure"))
        assert "\\x01ctl\\x7f" in messages and "\\x1b]2;PWNED\\x07" in messages
    elif fmt in ("json", "sarif"):
        doc = json.loads(out)
        assert out.isascii() and doc
    else:
        assert not RAW_CONTROL.search(out), [l for l in out.splitlines() if RAW_CONTROL.search(l)]


def test_policy_init_quotes_every_name_and_reads_back(hostile):
    """Reproduction: a process named yes, on or -1 made policy init fail."""
    ns, _ = hostile
    res = run("policy", "init", "--target", f"netns:{ns.name}")
    assert res.returncode == 0, res.stderr
    pol = parse_policy(res.stdout, "<draft>")
    procs = {s.ports[0]: s.processes[0] for s in pol.services}
    assert procs[7003] == "yes" and procs[7004] == "-1" and procs[7001] == "\x1b]2;PWNED\x07"
    assert procs[7005] == "a: b #c" and procs[7009] == "&x !!binary" and procs[7007] == "\\xff\\xfe"
    assert not RAW_CONTROL.search(res.stdout)
