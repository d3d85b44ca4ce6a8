"""Policy files: every example loads; every kind of mistake gives one file:line message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auditor.engine.policy import load_policy, parse_policy
from auditor.errors import InputError, LocatedInputError

ROOT = Path(__file__).resolve().parents[2]
FWAUDIT = [sys.executable, "-m", "auditor"]

GOOD = """version: 1
name: t
zones:
  lan: [198.18.0.0/24]
  internet: {networks: [0.0.0.0/0, "::/0"]}
services:
  - name: ssh
    protocol: tcp
    port: 22
    zones: [lan]
    process: sshd
  - name: web
    protocol: [tcp, udp]
    ports: [80, "8000-8010"]
    zones: [internet]
    bind: [198.18.0.2, "::1"]
"""


@pytest.mark.parametrize("path", sorted((ROOT / "policies").glob("*.yaml")), ids=lambda p: p.name)
def test_examples_load(path):
    pol = load_policy(path)
    assert pol.services and pol.zones


def test_expansion_and_values():
    pol = parse_policy(GOOD, "p.yaml")
    web = [(s.protocol, s.ports) for s in pol.services if s.name == "web"]
    assert web == [("tcp", (80, 80)), ("tcp", (8000, 8010)), ("udp", (80, 80)), ("udp", (8000, 8010))]
    ssh = pol.services[0]
    assert (ssh.line, ssh.processes, ssh.bind, ssh.zones) == (7, ("sshd",), "any", ("lan",))
    assert [str(a) for a in pol.services[1].bind] == ["198.18.0.2", "::1"]
    assert [str(n) for n in pol.zone("internet").networks] == ["0.0.0.0/0", "::/0"]


BAD = [
    ("yaml syntax", GOOD.replace("zones: [lan]", "zones: [lan"), 11, "YAML syntax error"),
    ("unknown key", GOOD.replace("    process: sshd", "    proces: sshd"), 11, "services[0].proces: unknown key"),
    ("unknown top key", "colour: red\n" + GOOD, 1, "colour: unknown key"),
    ("wrong type", GOOD.replace("port: 22", "port: [22, {a: 1}]"), 9, "services[0].port"),
    ("bool port", GOOD.replace("port: 22", "port: true"), 9, "services[0].port"),
    ("invalid cidr", GOOD.replace("198.18.0.0/24", "198.18.0.300/24"), 4, "not a valid CIDR"),
    ("host bits", GOOD.replace("198.18.0.0/24", "198.18.0.1/24"), 4, "did you mean 198.18.0.0/24"),
    ("port 0", GOOD.replace("port: 22", "port: 0"), 9, "0 is not a valid port (1-65535)"),
    ("port too big", GOOD.replace("port: 22", "port: 70000"), 9, "70000 is not a valid port"),
    ("reversed range", GOOD.replace('"8000-8010"', '"8010-8000"'), 14, "reversed"),
    ("unknown zone", GOOD.replace("zones: [lan]", "zones: [dmz]"), 10, "unknown zone 'dmz'"),
    ("bad protocol", GOOD.replace("protocol: tcp", "protocol: icmp"), 8, "'icmp' is not allowed"),
    ("missing name", GOOD.replace("  - name: ssh\n    protocol: tcp", "  - protocol: tcp"), 7, "services[0].name: required"),
    ("bad version", GOOD.replace("version: 1", "version: 7"), 1, "unsupported policy version 7"),
    ("duplicate service", GOOD.replace("name: web", "name: ssh").replace('ports: [80, "8000-8010"]', "port: 23"),
     12, "already declared at line 7"),
    ("contradiction", GOOD + "  - name: ssh2\n    protocol: tcp\n    port: 22\n    zones: [internet]\n", 17,
     "contradicts service 'ssh' (line 7) for tcp/22"),
    ("overlapping range", GOOD + "  - name: alt\n    protocol: udp\n    port: 8005\n", 17, "for udp/8005"),
    ("bad bind", GOOD.replace('bind: [198.18.0.2, "::1"]', "bind: [localhost]"), 16, "not an IP address"),
    ("empty zones", "version: 1\nname: x\nzones: {}\n", 3, "zones: must not be empty"),
    ("not a mapping", "- a\n- b\n", 1, "must be a mapping"),
    ("empty", "", 1, "empty"),
    ("duplicate key", GOOD.replace("name: t\n", "name: t\nname: u\n"), 3, "duplicate key"),
]


@pytest.mark.parametrize("name,text,line,fragment", BAD, ids=[b[0] for b in BAD])
def test_bad_policies_name_file_and_line(tmp_path, name, text, line, fragment):
    f = tmp_path / "p.yaml"
    f.write_text(text)
    with pytest.raises(LocatedInputError) as e:
        load_policy(f)
    assert e.value.line == line, e.value.message
    assert fragment in e.value.message
    # and the CLI: exit 2, one message, no traceback
    res = subprocess.run([*FWAUDIT, "policy", "check", str(f)], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 2
    assert res.stderr.startswith(f"fwaudit: error: {f}:{line}: ") and "Traceback" not in res.stderr


def test_several_problems_report_the_first_and_count_the_rest():
    text = GOOD.replace("port: 22", "port: 0").replace("198.18.0.0/24", "198.18.0.1/24")
    with pytest.raises(LocatedInputError) as e:
        parse_policy(text, "p.yaml")
    assert e.value.line == 4 and e.value.message.endswith("(and 1 more problem)")


def test_missing_file_is_input_error(tmp_path):
    with pytest.raises(InputError):
        load_policy(tmp_path / "nope.yaml")
    res = subprocess.run([*FWAUDIT, "policy", "check", str(tmp_path / "nope.yaml")], capture_output=True, text=True)
    assert res.returncode == 2 and "not found" in res.stderr


def test_valid_policy_check_exits_zero(tmp_path):
    f = tmp_path / "ok.yaml"
    f.write_text(GOOD)
    res = subprocess.run([*FWAUDIT, "policy", "check", str(f)], capture_output=True, text=True)
    assert res.returncode == 0 and "valid policy 't'" in res.stdout


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.integers(max_value=0), st.integers(min_value=65536)))
def test_out_of_range_ports_are_always_located_errors(port):
    with pytest.raises(LocatedInputError) as e:
        parse_policy(GOOD.replace("port: 22", f"port: {port}"), "p.yaml")
    assert e.value.line == 9 and "valid port" in e.value.message
