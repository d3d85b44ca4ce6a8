"""Host facts from rtnetlink: what the kernel says, turned into the evaluator's view (pure)."""

from __future__ import annotations

import ipaddress

import pytest

from auditor.collect.host import AF_INET, AF_INET6, Netlink, collect_host, offline_host, parse_netlink


def test_links_addresses_routes_and_forwarding_become_the_host_view():
    raw = Netlink(
        links=((3, "eth0", 4), (1, "lo", None), (4, "br0", None)),
        addresses=((1, AF_INET, "127.0.0.1", "127.0.0.1", 8), (3, AF_INET, "198.18.0.2", None, 24),
                   (4, AF_INET, "198.18.9.1", "198.18.9.2", 32),  # point-to-point: the local end counts
                   (3, AF_INET6, "fd00:db8::2", None, 64)),
        routes=((AF_INET, None, 0, 3, "198.18.0.1", 1), (AF_INET, "198.18.0.0", 24, 3, None, 1),
                (AF_INET6, None, 0, None, None, 7), (AF_INET, "198.18.66.0", 24, None, None, 99)),
        forwarding_v4=True, forwarding_v6=None,
    )
    host = parse_netlink(raw)
    assert [i.name for i in host.interfaces] == ["lo", "eth0", "br0"]  # by link index
    eth0 = host.interface("eth0")
    assert eth0 is not None and eth0.bridge == "br0"
    assert [str(a) for a in eth0.addresses] == ["198.18.0.2/24", "fd00:db8::2/64"]
    assert [str(a) for a in host.interface("br0").addresses] == ["198.18.9.2/32"]
    assert [(str(r.destination), r.device, r.gateway, r.type) for r in host.routes] == [
        ("0.0.0.0/0", "eth0", "198.18.0.1", "unicast"), ("198.18.0.0/24", "eth0", None, "unicast"),
        ("::/0", None, None, "unreachable"), ("198.18.66.0/24", None, None, "99")]
    assert (host.forwarding_v4, host.forwarding_v6, host.complete) == (True, None, True)


def test_a_declared_host_is_incomplete_with_connected_routes():
    host = offline_host({"eth0": ["198.18.0.2/24", "198.18.5.5/32"]}, forwarding=False)
    assert [str(r.destination) for r in host.routes] == ["198.18.0.0/24"] and not host.complete
    assert host.local_addresses(4) == (ipaddress.ip_address("198.18.0.2"), ipaddress.ip_address("198.18.5.5"))


@pytest.mark.root
def test_a_namespace_reads_as_its_interfaces(netns):
    from auditor.target.runner import run_in_namespace

    netns.exec(["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"])
    netns.exec(["ip", "addr", "add", "198.18.70.1/24", "dev", "eth0"])
    netns.exec(["ip", "link", "set", "eth0", "up"])
    host = run_in_namespace(netns.path, collect_host)
    assert {i.name for i in host.interfaces} >= {"lo", "eth0", "eth1"}
    assert [str(a) for a in host.interface("eth0").addresses] == ["198.18.70.1/24"]
    assert any(str(r.destination) == "198.18.70.0/24" and r.device == "eth0" for r in host.routes)
