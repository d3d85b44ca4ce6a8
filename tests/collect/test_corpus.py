"""A realistic corpus (tests/data/corpus): Docker's rules dumped from a real dockerd, ufw-style,
firewalld-style and kube-proxy-like (10,000 rules) rulesets. Each is read without unknowns, reads
back the same after loading it with the real tool, and evaluates as its authors intend."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.collect.netns import run_in_namespace
from auditor.collect.ruleset import collect_ruleset, read_ruleset_files
from auditor.engine.evaluate import ExposureQuery, evaluate_exposure
from auditor.collect.host import offline_host

CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus"
FILES = {"docker-iptables-nft.rules": "iptables-nft-restore", "ufw.rules": "iptables-legacy-restore",
         "kube-proxy.rules": "iptables-nft-restore", "firewalld.nft": "nft"}
pytestmark = pytest.mark.root  # nft files are parsed by nft in a private namespace


def shape(rs):
    return {(t.family, t.name, c.name): [(r.matches, r.statements) for r in c.rules] for t in rs.tables for c in t.chains}


@pytest.mark.parametrize("name", sorted(FILES))
def test_read_without_unknowns_and_round_trip(name, netns):
    rs = read_ruleset_files([str(CORPUS / name)])
    assert rs.rules and [r.origin.text for r in rs.rules if r.unknowns] == []
    tool = FILES[name]
    netns.exec([tool, "-f", str(CORPUS / name)] if tool == "nft" else [tool, str(CORPUS / name)], timeout=300)
    live = run_in_namespace(netns.path, collect_ruleset)
    assert shape(live) == shape(rs)


def verdict(rs, source, proto, port):
    host = offline_host({"eth0": ["198.18.0.2/24"]}, forwarding=False)
    exp = evaluate_exposure(rs, host, ExposureQuery("eth0", "198.18.0.2", (source,), (proto,)))
    (e,) = [e for e in exp.entries if e.ports[0] <= port <= e.ports[1]]
    return e.verdict


def test_ufw_semantics():
    rs = read_ruleset_files([str(CORPUS / "ufw.rules")])
    assert verdict(rs, "198.18.99.9", "tcp", 443) == "accept"
    assert verdict(rs, "198.18.99.9", "tcp", 22) == "indeterminate"  # "ufw limit": recent hitcount
    assert verdict(rs, "198.18.99.9", "tcp", 9100) == "drop"
    assert verdict(rs, "198.18.10.7", "tcp", 9100) == "accept"
    assert verdict(rs, "198.18.99.9", "udp", 137) == "drop"  # ufw-skip-to-policy-input


def test_firewalld_semantics():
    rs = read_ruleset_files([str(CORPUS / "firewalld.nft")])
    assert verdict(rs, "198.18.99.9", "tcp", 22) == "accept"
    assert verdict(rs, "198.18.99.9", "tcp", 9090) == "reject"  # only in the internal zone
    assert verdict(rs, "198.18.66.5", "tcp", 22) == "drop"  # the public zone's deny list
    assert verdict(rs, "198.18.10.1", "udp", 9999) == "accept"  # trusted source
