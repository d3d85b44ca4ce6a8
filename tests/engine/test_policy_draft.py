"""``policy init`` drafts: zones from the host's subnets, one service per listening port with the
zones the firewall admits it from today."""

from __future__ import annotations

import ipaddress

from auditor.engine.policy_draft import draft_policy, draft_zones, zones_only
from auditor.model.exposure import Exposure, ExposureEntry
from auditor.model.host import HostContext, Interface
from auditor.model.listener import Listener, Process
from auditor.model.policy import Policy, Zone
from auditor.model.result import ZoneExposure


def iface(name: str, *addrs: str) -> Interface:
    return Interface(name, tuple(ipaddress.ip_interface(a) for a in addrs))


def net(*nets: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(n) for n in nets)


HOST = HostContext(interfaces=(iface("eth0", "198.18.0.1/24"),))


def listener(proto: str, port: int, *procs: str, address: str = "0.0.0.0", family: str = "ipv4") -> Listener:
    return Listener(proto, family, address, port, processes=tuple(Process(100 + i, p, "root") for i, p in enumerate(procs)))


def test_zones_are_the_connected_subnets_of_each_interface_then_the_internet():
    """Single addresses (/32), link-local and loopback addresses and the lo interface (even with a
    routable subnet) make no zone; a /31 point-to-point link does."""
    host = HostContext(interfaces=(
        iface("lo", "127.0.0.1/8", "198.18.99.1/24"),
        iface("eth0", "198.18.0.1/24", "fe80::1/64", "fd00::1/64", "198.18.3.7/32", "198.18.0.9/24"),
        iface("eth1", "198.18.4.0/31"),
        iface("tun0", "198.18.5.5/32"),
    ))
    assert draft_zones(host) == (
        Zone("local-eth0", net("198.18.0.0/24", "fd00::/64")),
        Zone("local-eth1", net("198.18.4.0/31")),
        Zone("internet", net("0.0.0.0/0", "::/0")),
    )


def test_zones_only_is_a_draft_policy_without_services():
    zones = draft_zones(HOST)
    assert zones_only(zones) == Policy("<draft>", "draft", zones, ())


def test_every_listening_port_is_one_service_named_after_its_process_and_kept_unique():
    socks = [listener("tcp", 1, "x"), listener("tcp", 2, "x-tcp-3"), listener("tcp", 3, "x"),
             listener("tcp", 4, "x"), listener("udp", 53), listener("udp", 123, "ntpd", "chronyd")]
    pol = draft_policy("container:web", socks, HOST)
    assert (pol.path, pol.name, pol.zones) == ("<draft>", "container-web", draft_zones(HOST))
    assert [(s.name, s.protocol, s.ports, s.processes) for s in pol.services] == [
        ("x", "tcp", (1, 1), ("x",)),
        ("x-tcp-3", "tcp", (2, 2), ("x-tcp-3",)),
        ("x-tcp-3-", "tcp", (3, 3), ("x",)),  # x and x-tcp-3 were taken
        ("x-tcp-4", "tcp", (4, 4), ("x",)),
        ("udp-53", "udp", (53, 53), ()),
        ("chronyd", "udp", (123, 123), ("chronyd", "ntpd")),
    ]


def test_a_service_is_drafted_open_to_the_zones_the_firewall_accepts_it_from():
    def view(zone: str, dest: str, *entries: ExposureEntry) -> ZoneExposure:
        return ZoneExposure(zone, Exposure("t", "eth0", dest, entries))

    views = [
        view("lan", "198.18.0.1", ExposureEntry("198.18.0.0/24", "tcp", (1, 65535), "accept")),
        view("internet", "198.18.0.1", ExposureEntry("0.0.0.0/0", "tcp", (1, 442), "drop"),
             ExposureEntry("0.0.0.0/0", "tcp", (443, 443), "accept"),
             ExposureEntry("0.0.0.0/0", "tcp", (444, 65535), "drop"),
             ExposureEntry("0.0.0.0/0", "udp", (1, 65535), "accept")),
        view("v6", "fd00::1", ExposureEntry("fd00::/64", "tcp", (1, 65535), "accept")),  # nobody listens on IPv6
    ]
    socks = [listener("tcp", 22, "sshd"), listener("tcp", 443, "nginx"),
             listener("tcp", 6379, "redis", address="127.0.0.1")]
    pol = draft_policy("netns:x", socks, HOST, views)
    assert [(s.name, s.zones, s.bind) for s in pol.services] == [
        ("sshd", ("lan",), "any"),
        ("nginx", ("internet", "lan"), "any"),
        ("redis", (), "loopback"),
    ]


def test_a_service_bound_to_addresses_lists_them_ipv4_first_mapped_ones_as_ipv4():
    socks = [listener("tcp", 8080, "app", address="fd00::1", family="ipv6"),
             listener("tcp", 8080, "app", address="::ffff:198.18.0.5", family="ipv6"),
             listener("tcp", 8080, "app", address="198.18.0.1")]
    (svc,) = draft_policy("netns:x", socks, HOST).services
    assert svc.bind == (ipaddress.ip_address("198.18.0.1"), ipaddress.ip_address("198.18.0.5"),
                        ipaddress.ip_address("fd00::1"))
    wild = [listener("tcp", 22, "sshd", address="127.0.0.1"), listener("tcp", 22, "sshd", address="::", family="ipv6")]
    assert [s.bind for s in draft_policy("netns:x", wild, HOST).services] == ["any"]
