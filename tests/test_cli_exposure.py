"""fwaudit exposure and fwaudit rules: the CLI contract, offline from files and live."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FWAUDIT = [sys.executable, "-m", "auditor"]

IPT = """*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -s 198.18.0.0/25 -p tcp -m tcp --dport 22 -j ACCEPT
-A INPUT -p udp -m udp --dport 53 -m limit --limit 5/sec -j ACCEPT
COMMIT
"""
NFT = """table inet extra {
  chain input {
    type filter hook input priority -10; policy accept;
    tcp dport 80 reject with tcp reset
  }
}
"""


def run(*args):
    return subprocess.run([*FWAUDIT, *args], capture_output=True, text=True, cwd=ROOT)


def covers_once(entries):
    by = {}
    for e in entries:
        by.setdefault((e["source"], e["protocol"]), []).append(tuple(e["ports"]))
    for ranges in by.values():
        ranges.sort()
        assert ranges[0][0] == 1 and ranges[-1][1] == 65535
        assert all(a[1] + 1 == b[0] for a, b in zip(ranges, ranges[1:]))


def at(entries, source, protocol, port):
    (hit,) = [e for e in entries if e["source"] == source and e["protocol"] == protocol
              and e["ports"][0] <= port <= e["ports"][1]]
    return hit


def test_offline_contract(tmp_path):
    (tmp_path / "fw.rules").write_text(IPT)
    (tmp_path / "extra.nft").write_text(NFT)
    res = run("exposure", "--ruleset", str(tmp_path / "fw.rules"), "--ruleset", str(tmp_path / "extra.nft"),
              "--in-interface", "eth0", "--destination", "198.18.0.1",
              "--source", "198.18.0.10", "--source", "198.18.0.0/24", "--format", "json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert (doc["in_interface"], doc["destination"]) == ("eth0", "198.18.0.1")
    covers_once(doc["exposure"])
    e = {(x["source"], x["protocol"], tuple(x["ports"])): x for x in doc["exposure"]}
    ssh = e[("198.18.0.10", "tcp", (22, 22))]
    assert ssh["verdict"] == "accept"
    assert ssh["decided_by"][-1] == {"backend": "file", "table": "ip filter", "chain": "INPUT", "position": 1,
                                     "text": "-A INPUT -s 198.18.0.0/25 -p tcp -m tcp --dport 22 -j ACCEPT",
                                     "file": str(tmp_path / "fw.rules"), "line": 5}
    assert e[("198.18.0.10", "tcp", (80, 80))]["verdict"] == "reject"
    dns = e[("198.18.0.10", "udp", (53, 53))]
    # a rate limit is decidable for one new client, and the reason says what was assumed
    assert dns["verdict"] == "accept" and "assuming one new client" in dns["reason"] and "limit" in dns["reason"]
    # the /24 splits: its upper half is not covered by the ssh rule
    assert at(doc["exposure"], "198.18.0.128/25", "tcp", 22)["verdict"] == "drop"
    text = run("exposure", "--ruleset", str(tmp_path / "fw.rules"), "--in-interface", "eth0",
               "--destination", "198.18.0.1", "--source", "198.18.0.10")
    assert text.returncode == 0 and "-A INPUT -s 198.18.0.0/25" in text.stdout and "\x1b[" not in text.stdout


def test_zone_owns_only_the_sources_no_more_specific_zone_claims(tmp_path):
    """As in the audit: ``internet: 0.0.0.0/0`` beside ``lan: 198.18.0.0/24`` excludes the LAN."""
    (tmp_path / "fw.rules").write_text(IPT)
    (tmp_path / "p.yaml").write_text("version: 1\nname: t\nzones:\n  lan: [198.18.0.0/24]\n"
                                     "  internet: [0.0.0.0/0]\n  shadowed: [198.18.0.0/26]\n"
                                     "services: []\n")
    res = run("exposure", "--ruleset", str(tmp_path / "fw.rules"), "--in-interface", "eth0",
              "--destination", "198.18.0.1", "--policy", str(tmp_path / "p.yaml"),
              "--zone", "internet", "--zone", "lan", "--zone", "shadowed", "-f", "json")
    assert res.returncode == 0, res.stderr
    by_zone: dict[str, list[dict]] = {}
    for e in json.loads(res.stdout)["exposure"]:
        by_zone.setdefault(e["zone"], []).append(e)
    nets = {zone: {ipaddress.ip_network(e["source"]) for e in entries} for zone, entries in by_zone.items()}
    lan, shadowed = ipaddress.ip_network("198.18.0.0/24"), ipaddress.ip_network("198.18.0.0/26")
    assert not any(n.overlaps(lan) for n in nets["internet"])
    assert all(n.subnet_of(lan) and not n.overlaps(shadowed) for n in nets["lan"])
    assert all(n.subnet_of(shadowed) for n in nets["shadowed"])
    # the ssh rule admits 198.18.0.0/25: from the internet zone tcp/22 is dropped everywhere
    assert {e["verdict"] for e in by_zone["internet"] if e["protocol"] == "tcp" and e["ports"][0] <= 22 <= e["ports"][1]} == {"drop"}
    assert at(by_zone["lan"], "198.18.0.64/26", "tcp", 22)["verdict"] == "accept"


@pytest.mark.parametrize("args,fragment", [
    (["--in-interface", "eth0", "--destination", "198.18.0.1"], "exactly one of --target or --ruleset"),
    (["--ruleset", "RULES", "--in-interface", "eth0"], "--destination is required"),
    (["--ruleset", "RULES", "--in-interface", "eth0", "--destination", "198.18.0.1", "--source", "fd00:db8::/64"],
     "IPv6 but the destination is IPv4"),
    (["--ruleset", "RULES", "--in-interface", "eth0", "--destination", "198.18.0.1", "--zone", "lan"],
     "--zone needs --policy"),
    (["--ruleset", "BAD", "--in-interface", "eth0", "--destination", "198.18.0.1"], "bad.rules:3:"),
    (["--ruleset", "RULES", "--in-interface", "eth0", "--destination", "198.18.0.1", "--bridge", "br9"],
     "--bridge 'br9': not an interface declared"),
    (["--target", "host", "--in-interface", "eth0", "--bridge", "eth0"], "--bridge describes the host of --ruleset"),
])
def test_bad_input_exits_2(tmp_path, args, fragment):
    (tmp_path / "fw.rules").write_text(IPT)
    (tmp_path / "bad.rules").write_text("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT --nope -j ACCEPT\nCOMMIT\n")
    args = [str(tmp_path / "fw.rules") if a == "RULES" else str(tmp_path / "bad.rules") if a == "BAD" else a for a in args]
    res = run("exposure", *args)
    assert res.returncode == 2 and fragment in res.stderr and "Traceback" not in res.stderr


def test_rules_from_files_in_kernel_order(tmp_path):
    (tmp_path / "fw.rules").write_text(IPT)
    (tmp_path / "extra.nft").write_text(NFT)
    res = run("rules", "--ruleset", str(tmp_path / "fw.rules"), "--ruleset", str(tmp_path / "extra.nft"), "-f", "json")
    doc = json.loads(res.stdout)
    order = [(o["hook"], o["priority"], o["table"], o["chain"]) for o in doc["order"]]
    assert order.index(("input", -10, "extra", "input")) < order.index(("input", 0, "filter", "INPUT"))
    assert doc["unknown_rules"] == 0
    text = run("rules", "--ruleset", str(tmp_path / "fw.rules")).stdout
    assert "hook input (IPv4):" in text and "[" + str(tmp_path / "fw.rules") + ":5]" in text


def test_rules_say_where_conntrack_or_the_nat_core_share_a_chains_priority(tmp_path):
    (tmp_path / "raw.nft").write_text(
        "table inet t {\n  chain pre {\n    type filter hook prerouting priority -200; policy accept;\n"
        "    ct state invalid drop\n  }\n  chain mid {\n    type filter hook prerouting priority -100; policy accept;\n"
        "    tcp dport 8080 drop\n  }\n  chain nat {\n    type nat hook prerouting priority -100; policy accept;\n"
        "    tcp dport 80 redirect to :8080\n  }\n}\n")
    text = run("rules", "--ruleset", str(tmp_path / "raw.nft")).stdout
    pre = next(line for line in text.splitlines() if "/ pre " in line)
    mid = next(line for line in text.splitlines() if "/ mid " in line)
    assert pre.endswith("[order UNKNOWN: conntrack runs at the same priority, before or after by registration; "
                        "every order evaluated]")
    assert "[order UNKNOWN: the nat core runs at the same priority" in mid
    assert "UNKNOWN" not in next(line for line in text.splitlines() if "/ nat " in line)


@pytest.mark.root
def test_live_exposure_with_zones(netns, tmp_path):
    netns.exec(["ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"])
    netns.exec(["ip", "addr", "add", "198.18.0.1/24", "dev", "eth0"])
    netns.exec(["iptables-legacy-restore"], input=IPT)
    netns.exec(["nft", "-f", "-"], input=NFT)
    policy = tmp_path / "p.yaml"
    policy.write_text("version: 1\nname: p\nzones:\n  lan: [198.18.0.0/24]\n  internet: [0.0.0.0/0]\n")
    res = run("exposure", "--target", f"netns:{netns.name}", "--in-interface", "eth0", "--zone", "lan",
              "--policy", str(policy), "--format", "json")
    assert res.returncode == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["destination"] == "198.18.0.1" and {e["zone"] for e in doc["exposure"]} == {"lan"}
    covers_once(doc["exposure"])
    assert at(doc["exposure"], "198.18.0.128/25", "tcp", 22)["verdict"] == "drop"
    ssh = at(doc["exposure"], "198.18.0.0/25", "tcp", 22)
    assert ssh["verdict"] == "accept"
    # accepted by the nft chain's policy at -10, then by the legacy rule at priority 0
    assert [d["backend"] for d in ssh["decided_by"]] == ["nftables", "iptables-legacy"]
    rules = run("rules", "--target", f"netns:{netns.name}")
    assert "nftables inet extra / input" in rules.stdout and "iptables-legacy ip filter / INPUT" in rules.stdout


DNAT_TO_BACKEND = """*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -d 198.18.0.1 -p tcp --dport 8080 -j DNAT --to-destination 198.18.5.2:80
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A FORWARD -d 198.18.5.2 -p tcp --dport 80 -j ACCEPT
COMMIT
"""


def test_offline_forwarding_as_verify_has_it(tmp_path):
    (tmp_path / "fw.rules").write_text(DNAT_TO_BACKEND)
    args = ("exposure", "--ruleset", str(tmp_path / "fw.rules"), "--in-interface", "eth0", "--destination",
            "198.18.0.1", "--interface", "eth1=198.18.5.1/24", "--source", "198.18.0.9", "-f", "json")
    verdicts = {}
    for flag in ("--no-forwarding", "--forwarding", None):
        res = run(*args, *([flag] if flag else []))
        assert res.returncode == 0, res.stderr
        e = at(json.loads(res.stdout)["exposure"], "198.18.0.9", "tcp", 8080)
        verdicts[flag] = (e["verdict"], e.get("path"))
    assert verdicts == {"--no-forwarding": ("drop", None), "--forwarding": ("accept", "forward"),
                        None: ("indeterminate", None)}




def test_offline_bridge_declares_br_netfilter_for_tcp_resets():
    """``--bridge``: the arrival interface is a bridge with br_netfilter on, so a reset leaves by
    the port (22 refused despite OUTPUT DROP) untranslated (80 redirected: silence). Held
    against the kernel in tests/engine/test_oracle_bridge.py."""
    rules = ROOT / "tests" / "data" / "bridged-reset.rules"
    args = ("exposure", "--ruleset", f"iptables:{rules}", "--in-interface", "br0", "--destination", "198.18.4.1",
            "--source", "198.18.4.10", "-f", "json")
    got = {}
    for extra in ((), ("--bridge", "br0")):
        res = run(*args, *extra)
        assert res.returncode == 0, res.stderr
        got[extra] = {p: at(json.loads(res.stdout)["exposure"], "198.18.4.10", "tcp", p)["verdict"] for p in (22, 80)}
    assert got == {(): {22: "drop", 80: "drop"}, ("--bridge", "br0"): {22: "reject", 80: "drop"}}
