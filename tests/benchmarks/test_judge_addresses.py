"""The kernel judge's address mapping keeps what rules can tell apart, inside lab space only."""

from __future__ import annotations

import ipaddress
import itertools
import random

from benchmarks.judge.addresses import LAB, build_map, literals

LAB_SPACE = [ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("fd00::/8")]


def _relations(a, b):  # type: ignore[no-untyped-def]
    return (a.subnet_of(b), b.subnet_of(a), a.overlaps(b))


def test_containment_and_disjointness_survive_shrinking():
    nets = ["11.0.0.0/8", "11.1.0.0/16", "11.1.2.0/24", "11.1.2.7", "11.200.0.0/16", "172.32.0.0/12",
            "203.0.113.0/24", "203.0.113.128/25", "203.0.113.1", "8.8.8.8", "0.0.0.0/1", "128.0.0.0/1",
            "2001:db8::/32", "2001:db8:1::/48", "fd00::/8", "2000::/3", "2001:db8:1::5"]
    amap = build_map([" ".join(nets)])
    real = [ipaddress.ip_network(n) for n in nets]
    for a, b in itertools.combinations(real, 2):
        if a.version == b.version:
            assert _relations(amap.lab(a), amap.lab(b)) == _relations(a, b), (a, b)
    for n in real:
        assert any(amap.lab(n).subnet_of(s) for s in LAB_SPACE if s.version == n.version), n  # type: ignore[arg-type]


def test_a_prefix_that_fits_keeps_its_size_and_host_numbers():
    amap = build_map(["-s 203.0.113.0/24 -d 203.0.113.1 --src-range 203.0.113.100-203.0.113.200"])
    lan = amap.lab(ipaddress.ip_network("203.0.113.0/24"))
    assert lan.prefixlen == 24
    assert amap.lab(ipaddress.ip_network("203.0.113.1/32")).network_address == lan.network_address + 1
    assert amap.rewrite("--src-range 203.0.113.100-203.0.113.200") == \
        f"--src-range {lan.network_address + 100}-{lan.network_address + 200}"


def test_every_region_gets_a_source_outside_the_lab_infrastructure():
    amap = build_map(["-s 11.0.0.0/8 -s 11.1.0.0/16 ! -s 11.1.0.0/17"])
    sources = [r.lab for r in amap.regions[4]]
    # outside all (below and above 11/8), in 11/8 but not 11.1/16 (below and above it),
    # in 11.1/16 but not 11.1.0/17, in 11.1.0/17
    assert len(sources) == 6
    assert all(s in LAB[4] for s in sources)
    eight = amap.lab(ipaddress.ip_network("11.0.0.0/8"))
    assert sum(1 for s in sources if s in eight) == 4


def test_special_addresses_keep_their_meaning():
    text = "-s 127.0.0.0/8 -d 224.0.0.251 -s 0.0.0.0/0 ip6 saddr fe80::/10 ip6 daddr ::1 -d ::ffff:0.0.0.0/96"
    assert build_map([text]).rewrite(text) == text


def test_rewriting_is_consistent_across_syntaxes_and_files():
    ipt = "-A INPUT -s 11.1.2.0/255.255.255.0 -j DNAT --to-destination 11.1.2.9:8080"
    nft = "ip saddr { 11.1.2.0/24, 11.1.2.9 } dnat to [2001:db8::9]:80"
    amap = build_map([ipt, nft])
    lab_net = amap.lab(ipaddress.ip_network("11.1.2.0/24"))
    lab_host = amap.lab(ipaddress.ip_network("11.1.2.9/32")).network_address
    assert f"-s {lab_net} " in amap.rewrite(ipt)
    assert f"--to-destination {lab_host}:8080" in amap.rewrite(ipt)
    assert f"ip saddr {{ {lab_net}, {lab_host} }}" in amap.rewrite(nft)
    v6 = amap.lab(ipaddress.ip_network("2001:db8::9/128")).network_address
    assert f"dnat to [{v6}]:80" in amap.rewrite(nft)


def test_random_prefix_sets_keep_their_relations():
    rng = random.Random(7)
    for _ in range(30):
        nets = {ipaddress.ip_network(f"{rng.choice([10, 45, 192])}.{rng.randint(0, 3)}.{rng.randint(0, 3)}.{rng.randint(0, 255)}"
                                     f"/{rng.randint(8, 32)}", strict=False) for _ in range(25)}
        amap = build_map([" ".join(map(str, nets))])
        for a, b in itertools.combinations(nets, 2):
            assert _relations(amap.lab(a), amap.lab(b)) == _relations(a, b), (a, b)


def test_ports_and_versions_are_not_addresses():
    text = "--dport 1000:2000 v1.8.7 aa:bb:cc:dd:ee:ff 12:00:00 --probability 0.50000000000"
    assert list(literals(text)) == []
