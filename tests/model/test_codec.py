"""The model's JSON codec: exact round trips of generated and of real snapshots, and strict
decoding of data that is hostile input."""

from __future__ import annotations

import ipaddress
import json
import typing
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auditor.collect.host import offline_host
from auditor.collect.ruleset import read_ruleset_files
from auditor.model import codec
from auditor.model.evidence import DocumentEvidence, Evidence
from auditor.model.host import HostContext, Interface
from auditor.model.listener import Listener, Process
from auditor.model.ruleset import AddressMatch, Chain, Origin, Rule, Ruleset, Table, UnknownMatch, Verdict
from auditor.model.snapshot import HostSnapshot
from tests.model.strategies import strategy

DATA = Path(__file__).resolve().parents[1] / "data"


def through_json(value, tp):
    """``value`` encoded, written as JSON text, read back and decoded."""
    return codec.decode(tp, json.loads(json.dumps(codec.encode(value, tp))))


def assert_round_trip(value, tp):
    back = through_json(value, tp)
    assert back == value
    # fields left out of == (a listener's processes) must survive too
    assert codec.encode(back, tp) == codec.encode(value, tp)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(strategy(HostSnapshot))
def test_any_snapshot_round_trips_exactly(snap):
    assert_round_trip(snap, HostSnapshot)


TYPED_EVIDENCE = [t for t in typing.get_args(Evidence) if t is not DocumentEvidence]  # not free-form JSON


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(*(strategy(t) for t in TYPED_EVIDENCE)))
def test_any_evidence_round_trips_exactly(evidence):
    """Evidence is a union of dataclasses with rules and listeners inside: the tags pick them."""
    assert_round_trip(evidence, Evidence)


def _snapshot(ruleset: Ruleset) -> HostSnapshot:
    host = offline_host({"eth0": ["198.18.0.2/24", "fd00:db8::2/64"]}, forwarding=True)
    return HostSnapshot("files", 1.5, "0", (Listener("tcp", "ipv4", "0.0.0.0", 22, processes=(Process(1, "sshd", "root"),)),),
                        ruleset, host, ("a note",))


@pytest.mark.parametrize("name", ["docker-iptables-nft.rules", "ufw.rules", "kube-proxy.rules"])
def test_real_iptables_rulesets_round_trip(name):
    assert_round_trip(_snapshot(read_ruleset_files([str(DATA / "corpus" / name)])), HostSnapshot)


@pytest.mark.root  # nft files are loaded by nft in a private network namespace
@pytest.mark.parametrize("path", ["corpus/firewalld.nft", "nft-constructs.nft"])
def test_real_nft_rulesets_round_trip(path):
    assert_round_trip(_snapshot(read_ruleset_files([str(DATA / path)])), HostSnapshot)


RULE = Rule((AddressMatch("saddr", 6, ((1 << 127, (1 << 128) - 1),)),), (Verdict("accept"),),
            Origin("nftables", "inet", "f", "input", 1, "ip6 saddr 8000::/1 accept", "nft"))
SNAP = HostSnapshot("t", 1.0, "0", (), Ruleset((Table("nftables", "inet", "f", (Chain("input", (RULE,), "input", 0),)),)),
                    HostContext((Interface("eth0", (ipaddress.ip_interface("198.18.0.2/24"),)),)), ())


def test_defaults_are_left_out_and_union_members_tagged():
    data = codec.encode(SNAP)
    rule = data["ruleset"]["tables"][0]["chains"][0]["rules"][0]
    assert rule["matches"] == [{"@type": "AddressMatch", "field": "saddr", "version": 6,
                                "ranges": [[1 << 127, (1 << 128) - 1]]}]
    assert rule["statements"] == [{"@type": "Verdict", "kind": "accept"}]
    assert "negated" not in rule["matches"][0] and "comment" not in rule
    assert data["host"] == {"interfaces": [{"name": "eth0", "addresses": ["198.18.0.2/24"]}]}


def _with(path, value):
    data = codec.encode(SNAP)
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


CHAIN = ("ruleset", "tables", 0, "chains", 0)


@pytest.mark.parametrize("data,where,fragment", [
    ({**codec.encode(SNAP), "extra": 1}, "/", "unknown field 'extra' for HostSnapshot"),
    ({k: v for k, v in codec.encode(SNAP).items() if k != "target"}, "/", "missing field 'target'"),
    (_with(CHAIN + ("priority",), True), "/ruleset/tables/0/chains/0/priority", "expected an integer or null"),
    (_with(CHAIN + ("priority",), 1 << 200), "/ruleset/tables/0/chains/0/priority", "integer out of range"),
    (_with(CHAIN + ("policy",), "maybe"), "/ruleset/tables/0/chains/0/policy", "expected one of 'accept', 'drop'"),
    (_with(CHAIN + ("rules", 0, "matches", 0, "@type"), "os.system"),
     "/ruleset/tables/0/chains/0/rules/0/matches/0/@type", "expected one of AddrTypeMatch"),
    (_with(CHAIN + ("rules", 0, "matches", 0, "ranges"), [[1, 2, 3]]),
     "/ruleset/tables/0/chains/0/rules/0/matches/0/ranges/0", "expected a list of 2"),
    (_with(("host", "interfaces", 0, "addresses", 0), "198.18.0.300/24"), "/host/interfaces/0/addresses/0",
     "expected an ipv4 interface or an ipv6 interface"),
    (_with(("taken_at",), "yesterday"), "/taken_at", "expected a finite number"),
    (_with(("listeners",), {"a": 1}), "/listeners", "expected a list"),
    (_with(("host",), []), "/host", "expected an object (HostContext) or null"),
    ([], "/", "expected an object (HostSnapshot)"),
])
def test_strict_decoding_says_where(data, where, fragment):
    with pytest.raises(codec.DecodeError) as e:
        codec.decode(HostSnapshot, data)
    assert e.value.where == where and fragment in e.value.message
