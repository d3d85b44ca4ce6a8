"""``fwaudit exposure``: its options turned into one evaluation for the plain sources and one per
zone, and the errors a user gets for options that cannot work."""

from __future__ import annotations

import ipaddress

import pytest

from auditor.engine.exposure import default_destination, exposures
from auditor.errors import InputError
from auditor.model.host import HostContext, Interface
from auditor.model.policy import Policy, Zone
from auditor.model.ruleset import Ruleset
from tests.engine.builders import ACCEPT, DEST, DEST6, HOST, base, nft, rule, tcp

RS = Ruleset((nft("f", base("input", "input", 0, "drop",
                            rule("input", *tcp(22), ACCEPT, table="f", family="inet", backend="nftables"))),))
POLICY = Policy("site.yaml", "site", (
    Zone("lan", (ipaddress.ip_network("198.18.0.0/24"),)),
    Zone("wan", (ipaddress.ip_network("198.18.0.0/23"),)),      # minus the more specific lan
    Zone("lab6", (ipaddress.ip_network("fd00::/64"),)),         # no IPv4 network
), ())


def rows(result):
    return [(zone, e.target, e.in_interface, e.destination, [(x.source, x.protocol, x.ports, x.verdict) for x in e.entries])
            for zone, e in result]


def tcp_rows(source):
    return [(source, "tcp", (1, 21), "drop"), (source, "tcp", (22, 22), "accept"), (source, "tcp", (23, 65535), "drop")]


def test_plain_sources_and_each_zone_get_their_own_evaluation_with_the_zones_own_sources():
    got = exposures(RS, HOST, target="h1", in_interface="eth0", destination=DEST, sources=("198.18.9.0/24",),
                    zones=("lan", "lab6", "wan"), policy=POLICY, protocols=("tcp",))
    assert rows(got) == [
        (None, "h1", "eth0", DEST, tcp_rows("198.18.9.0/24")),
        ("lan", "h1", "eth0", DEST, tcp_rows("198.18.0.0/24")),
        # lab6 has no IPv4 network: nothing to evaluate for an IPv4 destination, and no error
        ("wan", "h1", "eth0", DEST, tcp_rows("198.18.1.0/24")),
    ]


def test_without_sources_or_zones_every_source_and_both_protocols_are_evaluated():
    got = exposures(RS, HOST, target="h1", in_interface="eth0", destination=DEST)
    assert rows(got) == [(None, "h1", "eth0", DEST, tcp_rows("0.0.0.0/0") + [("0.0.0.0/0", "udp", (1, 65535), "drop")])]


def test_zones_alone_are_evaluated_without_a_plain_row_and_ipv6_zones_for_an_ipv6_destination():
    got = exposures(RS, HOST, target="h1", in_interface="eth0", destination=DEST6, zones=("lan", "lab6"),
                    policy=POLICY, protocols=("tcp",))
    assert rows(got) == [("lab6", "h1", "eth0", DEST6, tcp_rows("fd00::/64"))]


@pytest.mark.parametrize("kwargs,message", [
    ({"destination": "eth0"}, "--destination 'eth0' is not an IP address"),
    ({"zones": ("lan",), "policy": None}, "--zone needs --policy FILE (zones are defined in the policy)"),
    ({"zones": ("dmz",)}, "zone 'dmz' is not defined in site.yaml (zones: lan, wan, lab6)"),
    ({"zones": ("lab6",)}, f"none of the zones has IPv4 networks for destination {DEST}"),
])
def test_options_that_cannot_work_are_input_errors_that_say_why(kwargs, message):
    args = {"target": "h1", "in_interface": "eth0", "destination": DEST, "policy": POLICY} | kwargs
    with pytest.raises(InputError) as e:
        exposures(RS, HOST, **args)
    assert str(e.value) == message


def test_default_destination_is_the_interfaces_first_global_address_ipv4_first():
    host = HostContext(interfaces=(
        Interface("eth0", (ipaddress.ip_interface("fe80::1/64"), ipaddress.ip_interface("fd00::7/64"),
                           ipaddress.ip_interface("169.254.0.9/16"), ipaddress.ip_interface("198.18.0.7/24"))),
        Interface("eth1", (ipaddress.ip_interface("fe80::2/64"), ipaddress.ip_interface("fd00::8/64"))),
        Interface("eth2", ()),
    ))
    assert default_destination(host, "eth0") == "198.18.0.7"
    assert default_destination(host, "eth0", 6) == "fd00::7"
    assert default_destination(host, "eth0", 4) == "198.18.0.7"
    assert default_destination(host, "eth1") == "fd00::8"
    with pytest.raises(InputError) as e:
        default_destination(host, "eth1", 4)
    assert str(e.value) == "interface eth1 has no address; give --destination"
    with pytest.raises(InputError) as e:
        default_destination(host, "wlan0")
    assert str(e.value) == "no interface 'wlan0' on the target (interfaces: eth0, eth1, eth2)"
    with pytest.raises(InputError) as e:
        default_destination(HostContext(interfaces=()), "eth0")
    assert str(e.value) == "no interface 'eth0' on the target (interfaces: none)"
