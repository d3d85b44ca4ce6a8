"""Zones: which sources each zone owns, and which (zone, interface, address) views are evaluated."""

from __future__ import annotations

import ipaddress

import pytest

from auditor.engine.zones import effective_zone_sources, probe_sources, zone_exposures, zone_representatives
from auditor.errors import InputError
from auditor.model.host import HostContext, Interface
from auditor.model.policy import Policy, Zone
from auditor.model.ruleset import Ruleset


def policy(**zones: list[str]) -> Policy:
    return Policy("p.yaml", "p", tuple(Zone(name, tuple(ipaddress.ip_network(n) for n in nets))
                                        for name, nets in zones.items()), ())


def iface(name: str, *addrs: str) -> Interface:
    return Interface(name, tuple(ipaddress.ip_interface(a) for a in addrs))


def test_a_zone_owns_all_its_networks_minus_more_specific_zones():
    pol = policy(internet=["0.0.0.0/0"], lan=["198.18.0.0/24", "198.18.5.0/24"], admin=["198.18.0.128/25"])
    owned = effective_zone_sources(pol, 4)
    assert owned["admin"] == ["198.18.0.128/25"]
    assert owned["lan"] == ["198.18.0.0/25", "198.18.5.0/24"]  # both of its networks, minus admin's half
    internet = [ipaddress.ip_network(n) for n in owned["internet"]]
    assert sum(n.num_addresses for n in internet) == 2**32 - 512
    assert not any(n.overlaps(ipaddress.ip_network(lan)) for n in internet for lan in ("198.18.0.0/24", "198.18.5.0/24"))
    assert effective_zone_sources(pol, 6) == {}


def test_views_for_every_zone_on_every_routable_address_of_its_family():
    """IPv6-only zones are evaluated even without IPv4 zones; loopback, link-local addresses and
    the lo interface (also when it carries a service address) are not arrival points."""
    pol = policy(v6net=["fd00:db8::/32"], world6=["::/0"])
    host = HostContext(interfaces=(
        iface("lo", "127.0.0.1/8", "::1/128", "198.18.99.1/32", "fd00:db8:99::1/128"),
        iface("eth0", "198.18.0.2/24", "fe80::2/64", "fd00:db8::2/64"),
        iface("eth1", "fd00:db8:1::2/64"),
    ))
    views = zone_exposures(Ruleset(), host, pol, target="netns:t")
    assert sorted((v.zone, v.exposure.in_interface, v.exposure.destination, v.exposure.target) for v in views) == [
        ("v6net", "eth0", "fd00:db8::2", "netns:t"), ("v6net", "eth1", "fd00:db8:1::2", "netns:t"),
        ("world6", "eth0", "fd00:db8::2", "netns:t"), ("world6", "eth1", "fd00:db8:1::2", "netns:t")]
    sources = {v.zone: {e.source for e in v.exposure.entries} for v in views}
    assert sources["v6net"] == {"fd00:db8::/32"} and "fd00:db8::/32" not in sources["world6"]


def test_a_zone_is_probed_from_the_highest_usable_lab_address_it_owns():
    """The representative is the zone's own address (after more specific zones took theirs),
    the top of its highest lab range but not a subnet's broadcast; a /32 or /31 is probed from
    its first address."""
    pol = policy(internet=["0.0.0.0/0"], lan=["198.18.0.0/24"], admin=["198.18.0.128/25"],
                 printer=["198.18.0.77/32"], link=["198.18.0.100/31"])
    assert zone_representatives(pol, ["lan", "admin", "printer", "link", "internet"]) == {
        "lan": "198.18.0.126",  # its lower half; the upper one is admin's
        "admin": "198.18.0.254",
        "printer": "198.18.0.77",
        "link": "198.18.0.100",
        "internet": "198.19.255.254",  # the lab range outside every other zone, at its top
    }
    assert zone_representatives(pol, ["printer"]) == {"printer": "198.18.0.77"}


def test_an_ipv6_representative_comes_from_the_ipv6_lab_range():
    pol = policy(dual=["198.18.4.0/24", "fd00:db8:4::/48"], v6=["fd00:db8:5::/48"])
    assert zone_representatives(pol, ["dual", "v6"], 6) == {
        "dual": "fd00:db8:4:ffff:ffff:ffff:ffff:fffe", "v6": "fd00:db8:5:ffff:ffff:ffff:ffff:fffe"}
    assert zone_representatives(pol, ["dual"]) == {"dual": "198.18.4.254"}  # IPv4 unless asked


def test_a_zone_without_a_lab_address_or_not_defined_cannot_be_probed_from():
    pol = policy(wan=["198.18.2.0/23"], lan=["198.18.2.0/24", "198.18.3.0/24"], v6=["fd00:5::/64"])
    with pytest.raises(InputError) as e:
        zone_representatives(pol, ["lan", "wan"])
    assert e.value.message == "zone 'wan' owns no address inside 198.18.0.0/15; give --source"
    with pytest.raises(InputError) as e:
        zone_representatives(pol, ["v6"])
    assert e.value.message == "zone 'v6' owns no address inside 198.18.0.0/15; give --source"
    with pytest.raises(InputError) as e:  # for IPv6, the IPv6 lab range is named
        zone_representatives(policy(doc=["2001:db8::/32"]), ["doc"], 6)
    assert e.value.message == "zone 'doc' owns no address inside fd00::/8; give --source"
    with pytest.raises(InputError) as e:
        zone_representatives(pol, ["lan", "dmz"])
    assert e.value.message == "zone 'dmz' is not defined in p.yaml"


def test_probe_sources_names_every_zone_with_its_address_or_why_it_has_none():
    pol = policy(wan=["198.18.2.0/23"], lan=["198.18.2.0/24", "198.18.3.0/24"], admin=["198.18.3.128/25"])
    assert probe_sources(pol) == [
        ("wan", None, "zone 'wan' owns no address inside 198.18.0.0/15; give --source"),
        ("lan", "198.18.3.126", None),
        ("admin", "198.18.3.254", None),
    ]
