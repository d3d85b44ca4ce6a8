"""Probe results beside static verdicts."""

import ipaddress

import pytest

from auditor.engine.checks import CheckInput, run_checks
from auditor.engine.crosscheck import arrival_interface, compare, conversation_comparisons, explain_scan
from auditor.errors import InputError
from auditor.model.evidence import DisagreementEvidence
from auditor.model.exposure import Exposure, ExposureEntry, Leg
from auditor.model.host import HostContext, Interface
from auditor.model.listener import Listener
from auditor.model.policy import Policy
from auditor.model.ruleset import Ruleset
from auditor.model.scan import Comparison, ConversationProbe, ScanEntry, ScanResult

EXP = Exposure("t", "eth0", "198.18.0.2", (
    ExposureEntry("198.18.0.0/24", "tcp", (1, 79), "drop"),
    ExposureEntry("198.18.0.0/24", "tcp", (80, 80), "accept"),
    ExposureEntry("198.18.0.0/24", "tcp", (81, 65535), "drop"),
))


def listening(proto, port):
    return (proto, port) in {("tcp", 80), ("tcp", 8080)}


def disagreement_findings(comparisons, zone):
    """FWA107 as the checks registry reports it (the probe check alone has these inputs)."""
    return list(run_checks("audit", CheckInput(Policy("p", "p", (), ()), comparisons=((zone, tuple(comparisons)),)))[0])


def scan(*entries):
    return ScanResult("t", "eth0", "198.18.0.2", tuple(ScanEntry("198.18.0.10", "tcp", p, s) for p, s in entries))


def test_agreeing_scan_has_no_findings():
    s = scan(((1, 79), "filtered"), ((80, 80), "open"), ((81, 65535), "filtered"))
    comps = compare(s, EXP, listening)
    assert all(c.agrees for c in comps)
    assert disagreement_findings(comps, "lan") == []


def test_open_port_the_model_drops_is_a_finding():
    # e.g. a Docker-published port reachable although the model (INPUT) drops it
    s = scan(((1, 79), "filtered"), ((80, 80), "open"), ((81, 8079), "filtered"), ((8080, 8080), "open"),
             ((8081, 65535), "filtered"))
    found = disagreement_findings(compare(s, EXP, listening), "lan")
    assert [f.id for f in found] == ["FWA107:lan:tcp/8080"]
    assert found[0].evidence == DisagreementEvidence("open", "drop", "198.18.0.10", "input", None)


def test_closed_port_without_listener_is_consistent_with_accept():
    s = scan(((80, 80), "closed"))
    comps = compare(s, EXP, lambda p, n: False)
    assert [c.agrees for c in comps] == [True]
    comps = compare(s, EXP, listening)
    assert [c.agrees for c in comps] == [False]


def test_a_probe_for_a_container_address_arrives_on_the_interface_holding_it():
    host = HostContext(interfaces=(
        Interface("lo", (ipaddress.ip_interface("127.0.0.1/8"),)),
        Interface("eth0", (ipaddress.ip_interface("198.18.64.2/24"),)),
        Interface("eth1", (ipaddress.ip_interface("198.18.60.3/24"), ipaddress.ip_interface("fd00:db8:60::3/64"))),
    ))
    assert arrival_interface(host, "198.18.60.3", "container:web") == "eth1"
    assert arrival_interface(host, "fd00:db8:60::3", "container:web") == "eth1"
    assert arrival_interface(host, "198.18.64.2", "container:web") == "eth0"
    with pytest.raises(InputError, match="198.18.60.4 is not an address of container:web"):
        arrival_interface(host, "198.18.60.4", "container:web")


def test_a_syn_scan_sees_only_the_first_two_packets_of_a_conversation():
    from auditor.model.exposure import Leg

    acked = ExposureEntry("198.18.0.0/24", "tcp", (8080, 8080), "drop",
                          legs=(Leg("request", "accept"), Leg("reply", "accept"), Leg("client", "drop")))
    syn_dropped = ExposureEntry("198.18.0.0/24", "tcp", (8081, 8081), "drop", legs=(Leg("request", "drop"),))
    exp = Exposure("t", "eth0", "198.18.0.2", (acked, syn_dropped))
    comps = compare(scan(((8080, 8080), "open"), ((8081, 8081), "open")), exp, listening)
    assert [(c.ports, c.agrees) for c in comps] == [((8080, 8080), True), ((8081, 8081), False)]


def test_a_whole_conversation_is_compared_with_the_whole_verdict():
    from auditor.engine.crosscheck import conversation_comparisons
    from auditor.model.exposure import Leg
    from auditor.model.scan import ConversationProbe

    acked = ExposureEntry("198.18.0.0/24", "tcp", (8080, 8080), "drop",
                          legs=(Leg("request", "accept"), Leg("reply", "accept"), Leg("client", "drop")))
    exp = Exposure("t", "eth0", "198.18.0.2", (acked,) + EXP.entries[:2])
    talked = [ConversationProbe("198.18.0.10", "tcp", 8080, "open"),
              ConversationProbe("198.18.0.10", "tcp", 80, "open"),
              ConversationProbe("198.18.0.10", "tcp", 22, "refused")]
    got = sorted((c.ports[0], c.agrees) for c in conversation_comparisons(talked, exp))
    assert got == [(22, False), (80, True), (8080, False)]


def test_a_scanned_range_is_split_where_a_listener_starts_or_stops():
    """Ports of one scanned range are judged each with or without its listener: a closed port
    is the stack's answer where nothing listens, a contradiction where something does."""
    exp = Exposure("t", "eth0", "198.18.0.2", (ExposureEntry("198.18.0.0/24", "tcp", (1, 65535), "accept"),))
    s = ScanResult("t", "eth0", "198.18.0.2", (ScanEntry("198.18.0.10/32", "tcp", (79, 82), "closed"),))
    comps = compare(s, exp, lambda proto, port: port in (80, 82))
    assert [(c.source, c.ports, c.probed, c.verdict, c.agrees) for c in comps] == [
        ("198.18.0.10/32", (79, 79), "closed", "accept", True),
        ("198.18.0.10/32", (80, 80), "closed", "accept", False),
        ("198.18.0.10/32", (81, 81), "closed", "accept", True),
        ("198.18.0.10/32", (82, 82), "closed", "accept", False),
    ]


def test_a_scan_is_compared_only_with_entries_of_its_protocol_and_source():
    other_proto = ExposureEntry("198.18.0.0/24", "udp", (1, 65535), "accept")
    other_source = ExposureEntry("198.19.0.0/16", "tcp", (1, 65535), "accept")
    mine = ExposureEntry("198.18.0.0/24", "tcp", (1, 65535), "drop")
    exp = Exposure("t", "eth0", "198.18.0.2", (other_proto, other_source, mine))
    comps = compare(scan(((80, 80), "open")), exp, listening)
    assert comps == [Comparison("198.18.0.10", "tcp", (80, 80), "open", "drop", False, mine)]


def test_an_indeterminate_verdict_agrees_with_any_probe():
    unknown = ExposureEntry("198.18.0.0/24", "tcp", (1, 65535), "indeterminate")
    exp = Exposure("t", "eth0", "198.18.0.2", (unknown,))
    comps = compare(scan(((22, 22), "open"), ((23, 23), "closed"), ((24, 24), "filtered")), exp, listening)
    assert [(c.ports, c.agrees) for c in comps] == [((22, 22), True), ((23, 23), True), ((24, 24), True)]
    talked = [ConversationProbe("198.18.0.10", "tcp", 22, "open"), ConversationProbe("198.18.0.10", "tcp", 23, "silent")]
    assert [c.agrees for c in conversation_comparisons(talked, exp)] == [True, True]


def test_a_scan_does_not_see_the_service_data_lost_on_its_way_out():
    lost = ExposureEntry("198.18.0.0/24", "tcp", (8080, 8080), "drop", legs=(
        Leg("request", "accept"), Leg("reply", "accept"), Leg("client", "accept"), Leg("reply-data", "drop")))
    comps = compare(scan(((8080, 8080), "open")), Exposure("t", "eth0", "198.18.0.2", (lost,)), listening)
    assert [(c.verdict, c.agrees) for c in comps] == [("drop", True)]
    # a whole conversation does see it
    talked = [ConversationProbe("198.18.0.10", "tcp", 8080, "open")]
    assert [c.agrees for c in conversation_comparisons(talked, Exposure("t", "eth0", "198.18.0.2", (lost,)))] == [False]


def test_a_conversation_comparison_reports_the_probe_as_a_scan_state_beside_the_entry():
    exp = Exposure("t", "eth0", "198.18.0.2", (
        ExposureEntry("198.18.0.0/24", "udp", (1, 65535), "accept"),
        ExposureEntry("198.19.0.0/16", "tcp", (1, 65535), "accept"),
    ) + EXP.entries)
    talked = [ConversationProbe("198.18.0.10", "tcp", 80, "open"),
              ConversationProbe("198.18.0.10", "tcp", 22, "refused"),
              ConversationProbe("198.18.0.10", "tcp", 23, "silent")]
    assert conversation_comparisons(talked, exp) == [
        Comparison("198.18.0.10", "tcp", (80, 80), "open", "accept", True, EXP.entries[1]),
        Comparison("198.18.0.10", "tcp", (22, 22), "closed", "drop", False, EXP.entries[0]),
        Comparison("198.18.0.10", "tcp", (23, 23), "filtered", "drop", True, EXP.entries[0]),
    ]


def test_explain_scan_evaluates_the_scanned_sources_and_knows_the_listeners():
    """``scan --explain``: the ruleset evaluated for each scanned source on the arrival
    interface, each range judged with the host's real listeners."""
    from tests.engine.builders import ACCEPT, HOST, base, ipt, rule, tcp

    rs = Ruleset((ipt("filter", base("INPUT", "input", 0, "drop", rule("INPUT", *tcp(80, 443), ACCEPT))),))
    s = ScanResult("t", "eth0", "198.18.0.1", (
        ScanEntry("198.18.0.10", "tcp", (80, 80), "open"),
        ScanEntry("198.18.0.10", "tcp", (443, 443), "closed"),
        ScanEntry("198.18.0.10", "tcp", (444, 444), "filtered"),
        ScanEntry("198.18.0.20", "tcp", (8080, 8080), "closed"),
    ))
    comps = explain_scan(s, rs, HOST, [Listener("tcp", "ipv4", "0.0.0.0", 80)], in_interface="eth0", target="t")
    assert [(c.entry.source, c.ports, c.probed, c.verdict, c.agrees) for c in comps] == [
        ("198.18.0.10", (80, 80), "open", "accept", True),
        ("198.18.0.10", (443, 443), "closed", "accept", True),  # nothing listens: the stack resets
        ("198.18.0.10", (444, 444), "filtered", "drop", True),
        ("198.18.0.20", (8080, 8080), "closed", "drop", False),
    ]
