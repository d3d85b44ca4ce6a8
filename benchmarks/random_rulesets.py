#!/usr/bin/env python3
"""Random rulesets shaped like what real hosts run, for the kernel judge (benchmarks/kernel_judge.py).

Written independently of the test suite's own generator. Each ruleset is a directory with its
files and a ``LOAD`` manifest (tool and load order); the same seed gives the same corpus.
What a ruleset may contain:

* iptables-legacy and iptables-nft files (IPv4 and ip6tables), native nft tables of family
  ``ip``, ``ip6`` or ``inet``, several nft tables at equal or different priority, legacy beside
  nf_tables, all loaded in random order;
* INPUT/OUTPUT/FORWARD (input/output/forward, and prerouting/postrouting for NAT and marks)
  with policies accept or drop, with or without the ESTABLISHED,RELATED rule (and at random
  places), INVALID drops, NEW-only and SYN-only accepts, ESTABLISHED drops and rejects;
* ``--dport``/``--sport`` (single, ranges, multiport), ``-s``/``-d`` prefixes (negated too),
  ``-i``/``-o`` (wildcards too), iprange, ipsets and nft sets (named, anonymous, interval,
  concatenated), vmaps, marks and connection marks (set in mangle/prerouting, matched in filter),
  REJECT with every usual kind, jumps, gotos and returns through user chains;
* DNAT to a backend, DNAT to the host itself on another port, REDIRECT, with FORWARD rules
  for the backend.

Run: ``.venv/bin/python benchmarks/random_rulesets.py OUTDIR [--count 300] [--seed 1]``.
"""

from __future__ import annotations

import argparse
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

IFACES = ["eth0", "eth1", "wan", "br-lan", "docker0", "wg0", "tailscale0", "ens3"]
WILDCARDS = {"iptables": ["eth+", "wg+", "veth+"], "nft": ['"eth*"', '"wg*"', '"veth*"']}
PORTS = [21, 22, 25, 53, 80, 110, 123, 143, 443, 993, 3306, 5432, 6379, 8080, 8443, 9090]
REJECT4 = ["", "--reject-with tcp-reset", "--reject-with icmp-port-unreachable",
           "--reject-with icmp-admin-prohibited", "--reject-with icmp-host-unreachable", "--reject-with icmp-net-prohibited"]
REJECT6 = ["", "--reject-with tcp-reset", "--reject-with icmp6-port-unreachable",
           "--reject-with icmp6-adm-prohibited", "--reject-with icmp6-addr-unreachable"]
NFT_REJECT = ["reject", "reject with tcp reset", "reject with icmpx type admin-prohibited",
              "reject with icmpx type port-unreachable", "reject with icmpx type host-unreachable"]


@dataclass
class World:
    """The addresses, interfaces and ports one ruleset talks about (real-looking; the judge
    moves them into lab space)."""

    v4: list[str]
    v6: list[str]
    hosts4: list[str]
    hosts6: list[str]
    ifaces: list[str]
    ports: list[int]
    backend4: str
    backend6: str
    backend_iface: str
    own4: str
    own6: str


def world(rng: random.Random) -> World:
    a, b = rng.randint(1, 250), rng.randint(0, 250)
    # public-looking prefixes of the shapes real rulesets use (a /8 holding /16s and /24s, a /24
    # split in halves); no private ranges: the judge maps every literal into 198.18.0.0/15
    v4 = [f"198.51.{b}.0/24", f"11.{a}.0.0/16", f"11.{a}.{b}.0/24", "11.0.0.0/8", f"172.{rng.randint(32, 47)}.0.0/16",
          f"{rng.choice([45, 81, 100, 185, 203])}.{a}.{b}.0/24", f"198.51.{b}.128/25"]
    hosts4 = [f"198.51.{b}.{rng.randint(2, 126)}", f"11.{a}.{b}.{rng.randint(2, 250)}", f"{rng.choice([8, 9, 77])}.{a}.{b}.{rng.randint(1, 250)}"]
    x = rng.randint(1, 0xfff)
    v6 = [f"2001:db8:{x:x}::/48", f"2001:db8:{x:x}:1::/64", f"fd{rng.randint(0, 255):02x}:{x:x}::/64", "2000::/3", "fc00::/7"]
    hosts6 = [f"2001:db8:{x:x}:1::{rng.randint(2, 0xffff):x}", f"2a01:4f8:{x:x}::{rng.randint(1, 99)}"]
    ifaces = rng.sample(IFACES, rng.randint(2, 4))
    return World(v4=rng.sample(v4, 4), v6=rng.sample(v6, 3), hosts4=hosts4, hosts6=hosts6, ifaces=ifaces,
                 ports=sorted(rng.sample(PORTS, rng.randint(3, 7))), backend4=f"172.{rng.randint(32, 47)}.0.{rng.randint(2, 9)}",
                 backend6=f"fd{rng.randint(0, 255):02x}:d0c::{rng.randint(2, 9)}", backend_iface=rng.choice(ifaces),
                 own4=f"203.0.113.{rng.randint(1, 254)}", own6=f"2001:db8:ffff::{rng.randint(1, 254)}")


# -- iptables ---------------------------------------------------------------------------------

@dataclass
class IptChain:
    name: str
    policy: str | None
    rules: list[str] = field(default_factory=list)


def _non_empty(make: Callable[[], str]) -> str:
    """A match, drawn again (up to three times) when it came out empty: a rule matching
    everything is rare on real hosts."""
    for _ in range(3):
        text = make()
        if text:
            break
    return text


def _ipt_match(rng: random.Random, w: World, six: bool, chain: str) -> str:
    return _non_empty(lambda: _ipt_match_once(rng, w, six, chain))


def _ipt_match_once(rng: random.Random, w: World, six: bool, chain: str) -> str:
    parts = []
    proto = rng.choice(["tcp", "tcp", "udp", None])
    if proto:
        parts.append(f"-p {proto}")
        kind = rng.random()
        if kind < 0.45:
            parts.append(f"--dport {rng.choice(w.ports)}")
        elif kind < 0.6:
            lo = rng.choice(w.ports)
            parts.append(f"--dport {lo}:{lo + rng.randint(1, 40)}")
        elif kind < 0.75:
            parts.append(f"-m multiport --dports {','.join(str(p) for p in rng.sample(w.ports, min(3, len(w.ports))))}")
        elif kind < 0.85:
            parts.append(f"--sport {rng.choice(w.ports + [1024])}" + (f":{65535}" if rng.random() < 0.3 else ""))
        if proto == "tcp" and rng.random() < 0.15:
            parts.append(rng.choice(["--syn", "--tcp-flags SYN,RST,ACK,FIN SYN", "! --syn"]))
    nets, hosts = (w.v6, w.hosts6) if six else (w.v4, w.hosts4)
    if rng.random() < 0.35:
        neg = "! " if rng.random() < 0.2 else ""
        parts.append(f"{neg}-s {rng.choice(nets + hosts)}")
    if rng.random() < 0.15:
        parts.append(f"-d {rng.choice([w.own6 if six else w.own4] + nets)}")
    if rng.random() < 0.1 and not six:
        base = w.v4[0].rsplit(".", 1)[0]
        lo = rng.randint(1, 100)
        parts.append(f"-m iprange --src-range {base}.{lo}-{base}.{lo + rng.randint(0, 100)}")
    if chain not in ("OUTPUT", "POSTROUTING") and rng.random() < 0.3:
        neg = "! " if rng.random() < 0.2 else ""
        parts.append(f"{neg}-i {rng.choice(w.ifaces + WILDCARDS['iptables'])}")
    if chain in ("OUTPUT", "FORWARD", "POSTROUTING") and rng.random() < 0.25:
        parts.append(f"-o {rng.choice(w.ifaces)}")
    if rng.random() < 0.2:
        states = rng.choice(["NEW", "ESTABLISHED", "RELATED,ESTABLISHED", "INVALID", "NEW,ESTABLISHED"])
        parts.append(rng.choice([f"-m conntrack --ctstate {states}", f"-m state --state {states}"]))
    if rng.random() < 0.08:
        parts.append(f"-m mark --mark 0x{rng.choice([1, 2])}")
    if rng.random() < 0.05:
        parts.append(f"-m connmark --mark 0x{rng.choice([1, 2])}")
    if rng.random() < 0.06:
        parts.append(f"-m set --match-set allow{6 if six else 4} src")
    return " ".join(parts)


def _ipt_target(rng: random.Random, six: bool, users: list[str], proto_tcp: bool) -> str:
    r = rng.random()
    if r < 0.4:
        return "-j ACCEPT"
    if r < 0.6:
        return "-j DROP"
    if r < 0.78:
        kinds = [k for k in (REJECT6 if six else REJECT4) if proto_tcp or "tcp-reset" not in k]
        return f"-j REJECT {rng.choice(kinds)}".strip()
    if r < 0.9 and users:
        return f"-{rng.choice('jjg')} {rng.choice(users)}"
    if r < 0.95:
        return "-j LOG --log-prefix \"fw: \""
    return "-j RETURN"


def iptables_file(rng: random.Random, w: World, six: bool, with_nat: bool) -> str:
    est = "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT" if rng.random() < 0.6 else "-m state --state ESTABLISHED,RELATED -j ACCEPT"
    users = [f"U{i}" for i in range(rng.randint(0, 2))]
    chains = {c: IptChain(c, rng.choice(["ACCEPT", "DROP", "DROP"]) if c == "INPUT" else rng.choice(["ACCEPT", "ACCEPT", "DROP"]))
              for c in ("INPUT", "FORWARD", "OUTPUT")}
    for u in users:
        chains[u] = IptChain(u, None)
    for name in ("INPUT", "FORWARD", "OUTPUT", *users):
        ch = chains[name]
        n = rng.randint(0, 3) if name == "OUTPUT" else rng.randint(2, 9)
        for _ in range(n):
            match = _ipt_match(rng, w, six, name)
            targets = [u for u in users if users.index(u) > users.index(name)] if name in users else users
            ch.rules.append(f"-A {name} {match} {_ipt_target(rng, six, targets, '-p tcp' in match)}".replace("  ", " "))
        if name in ("INPUT", "OUTPUT", "FORWARD") and rng.random() < 0.75:
            ch.rules.insert(rng.randint(0, len(ch.rules)), f"-A {name} {est}")
        if name == "INPUT" and rng.random() < 0.5:
            ch.rules.insert(0, "-A INPUT -i lo -j ACCEPT")
        if name in users and rng.random() < 0.5:
            ch.rules.append(f"-A {name} -j RETURN")
    lines = []
    if with_nat and not six or with_nat and rng.random() < 0.5:
        lines += _ipt_nat(rng, w, six, chains)
    if rng.random() < 0.15:
        lines += ["*mangle", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]",
                  ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]",
                  f"-A PREROUTING {_ipt_match(rng, w, six, 'PREROUTING')} -j MARK --set-mark 0x{rng.choice([1, 2])}",
                  f"-A PREROUTING -p tcp --dport {rng.choice(w.ports)} -j CONNMARK --set-mark 0x{rng.choice([1, 2])}",
                  "-A PREROUTING -j CONNMARK --restore-mark", "COMMIT"]
    lines += ["*filter"] + [f":{c.name} {c.policy or '-'} [0:0]" for c in chains.values()]
    for c in chains.values():
        lines += c.rules
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def _ipt_nat(rng: random.Random, w: World, six: bool, chains: dict[str, IptChain]) -> list[str]:
    backend = w.backend6 if six else w.backend4
    port = rng.choice(w.ports)
    target = f"[{backend}]:{port + 1}" if six else f"{backend}:{port + 1}"
    rules = []
    kind = rng.random()
    iface = rng.choice(w.ifaces)
    if kind < 0.5:
        rules.append(f"-A PREROUTING -i {iface} -p tcp --dport {port} -j DNAT --to-destination {target}")
        rules.append(f"-A PREROUTING -p udp --dport {port} -j DNAT --to-destination {target}")
        chains["FORWARD"].rules.insert(rng.randint(0, len(chains["FORWARD"].rules)),
                                       f"-A FORWARD -d {backend} -o {w.backend_iface} -p tcp --dport {port + 1} -j ACCEPT")
        if rng.random() < 0.5:
            chains["FORWARD"].rules.insert(0, "-A FORWARD -m conntrack --ctstate DNAT -j ACCEPT")
    elif kind < 0.8:
        rules.append(f"-A PREROUTING -p tcp --dport {port + 1000} -j REDIRECT --to-ports {port}")
    else:
        own = w.own6 if six else w.own4
        rules.append(f"-A PREROUTING -d {own} -p tcp --dport {port + 2000} -j DNAT --to-destination {f'[{own}]' if six else own}:{port}")
    rules.append(f"-A POSTROUTING -o {rng.choice(w.ifaces)} -j MASQUERADE")
    return ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
            ":POSTROUTING ACCEPT [0:0]", *rules, "COMMIT"]


# -- nftables ---------------------------------------------------------------------------------

def _nft_match(rng: random.Random, w: World, family: str, hook: str) -> str:
    return _non_empty(lambda: _nft_match_once(rng, w, family, hook))


def _nft_match_once(rng: random.Random, w: World, family: str, hook: str) -> str:
    parts = []
    six = family == "ip6" or family == "inet" and rng.random() < 0.4
    kind = rng.random()
    if kind < 0.3:
        parts.append(f"tcp dport {rng.choice(w.ports)}")
    elif kind < 0.42:
        ports = ", ".join(str(p) for p in rng.sample(w.ports, min(3, len(w.ports))))
        parts.append(f"{rng.choice(['tcp', 'udp'])} dport {{ {ports} }}")
    elif kind < 0.5:
        lo = rng.choice(w.ports)
        parts.append(f"udp dport {lo}-{lo + rng.randint(1, 30)}")
    elif kind < 0.56:
        parts.append(f"meta l4proto {{ tcp, udp }} th dport {rng.choice(w.ports)}")
    elif kind < 0.62:
        parts.append(f"tcp sport {rng.choice(w.ports)}")
    elif kind < 0.66:
        parts.append("tcp dport @svc")
    if parts and parts[0].startswith("tcp") and rng.random() < 0.15:
        parts.append(rng.choice(["tcp flags & (syn | ack) == syn", "tcp flags syn / syn,ack,rst,fin", "tcp flags != syn"]))
    if family in ("ip", "inet") and not six and rng.random() < 0.3:
        neg = "!= " if rng.random() < 0.2 else ""
        if rng.random() < 0.3:
            parts.append("ip saddr @allow4")
        else:
            parts.append(f"ip saddr {neg}{rng.choice(w.v4 + w.hosts4)}")
    if six and rng.random() < 0.3:
        parts.append(f"ip6 saddr {rng.choice(w.v6 + w.hosts6)}")
    if hook not in ("output", "postrouting") and rng.random() < 0.3:
        neg = "!= " if rng.random() < 0.2 else ""
        parts.append(f"iifname {neg}{rng.choice([f'{chr(34)}{i}{chr(34)}' for i in w.ifaces] + WILDCARDS['nft'])}")
    if hook in ("output", "forward", "postrouting") and rng.random() < 0.25:
        parts.append(f'oifname "{rng.choice(w.ifaces)}"')
    if rng.random() < 0.2:
        parts.append(f"ct state {rng.choice(['new', 'established', 'established,related', 'invalid', 'new,established'])}")
    if rng.random() < 0.08:
        parts.append(f"meta mark 0x{rng.choice([1, 2])}")
    if rng.random() < 0.05:
        parts.append(f"ct mark 0x{rng.choice([1, 2])}")
    return " ".join(parts)


def _nft_reject(kind: str, family: str) -> str:
    """``icmpx`` exists only in inet tables; ip and ip6 tables name their own ICMP."""
    if "icmpx" not in kind or family == "inet":
        return kind
    code = kind.rsplit(" ", 1)[1]
    if family == "ip":
        return f"reject with icmp type {code}"
    return f"reject with icmpv6 type {dict(zip(['admin-prohibited', 'port-unreachable', 'host-unreachable'], ['admin-prohibited', 'port-unreachable', 'addr-unreachable']))[code]}"


def _nft_verdict(rng: random.Random, users: list[str], match: str, family: str) -> str:
    r = rng.random()
    if r < 0.4:
        return "accept"
    if r < 0.6:
        return "drop"
    if r < 0.78:
        kinds = [k for k in NFT_REJECT if "tcp reset" not in k or match.startswith("tcp")]
        return _nft_reject(rng.choice(kinds), family)
    if r < 0.9 and users:
        return f"{rng.choice(['jump', 'jump', 'goto'])} {rng.choice(users)}"
    if r < 0.95:
        return "counter"
    return "return"


def nft_table(rng: random.Random, w: World, name: str, family: str, prio: int, with_nat: bool) -> str:
    users = [f"u{i}" for i in range(rng.randint(0, 2))]
    out = [f"table {family} {name} {{"]
    out.append(f"\tset svc {{ type inet_service; flags interval; elements = {{ {w.ports[0]}, {w.ports[-1]}-{w.ports[-1] + 10} }} }}")
    if family != "ip6":
        out.append(f"\tset allow4 {{ type ipv4_addr; flags interval; elements = {{ {w.v4[0]}, {w.hosts4[2]} }} }}")
    est = rng.choice(["ct state established,related accept",
                      "ct state vmap { established : accept, related : accept, invalid : drop }",
                      "ct state { established, related } accept"])
    for hook in ("input", "forward", "output"):
        if hook != "input" and rng.random() < 0.4:
            continue
        policy = rng.choice(["accept", "drop", "drop"] if hook == "input" else ["accept", "accept", "drop"])
        rules = [f"{m} {_nft_verdict(rng, users, m, family)}".strip()
                 for m in (_nft_match(rng, w, family, hook) for _ in range(rng.randint(1, 8) if hook != "output" else rng.randint(0, 3)))]
        if rng.random() < 0.7:
            rules.insert(rng.randint(0, len(rules)), est)
        if hook == "input" and rng.random() < 0.3:
            rules.insert(0, f"tcp dport vmap {{ {w.ports[0]} : accept, {w.ports[1]} : drop }}")
        if hook == "input" and rng.random() < 0.3:
            rules.insert(0, f'iifname vmap {{ "lo" : accept, "{w.ifaces[0]}" : jump {users[0]} }}' if users else 'iif "lo" accept')
        out.append(f"\tchain {hook} {{\n\t\ttype filter hook {hook} priority {prio}; policy {policy};")
        out += [f"\t\t{r}" for r in rules]
        out.append("\t}")
    for u in users:
        rules = [f"{m} {_nft_verdict(rng, [x for x in users if x > u], m, family)}".strip()
                 for m in (_nft_match(rng, w, family, "input") for _ in range(rng.randint(1, 4)))]
        out.append(f"\tchain {u} {{")
        out += [f"\t\t{r}" for r in rules if r]
        out.append("\t}")
    if rng.random() < 0.2:
        out.append(f"\tchain mangle {{\n\t\ttype filter hook prerouting priority mangle; policy accept;"
                   f"\n\t\ttcp dport {rng.choice(w.ports)} meta mark set 0x{rng.choice([1, 2])}"
                   f"\n\t\tct mark set meta mark\n\t}}")
    if with_nat and family in ("ip", "inet"):
        port = rng.choice(w.ports)
        kind = rng.random()
        dnat = "dnat ip to" if family == "inet" else "dnat to"
        if kind < 0.5:
            stmt = f"iifname \"{rng.choice(w.ifaces)}\" tcp dport {port} {dnat} {w.backend4}:{port + 1}"
        elif kind < 0.8:
            stmt = f"tcp dport {port + 1000} redirect to :{port}"
        else:
            stmt = f"ip daddr {w.own4} tcp dport {port + 2000} {dnat} {w.own4}:{port}"
        out.append(f"\tchain nat_pre {{\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n\t\t{stmt}\n\t}}")
        out.append(f"\tchain nat_post {{\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n\t\toifname \"{w.ifaces[0]}\" masquerade\n\t}}")
    out.append("}")
    return "\n".join(out) + "\n"


# -- one ruleset ------------------------------------------------------------------------------

KINDS = ("iptables-legacy", "iptables-nft", "nft", "nft-two-tables", "mixed", "legacy-beside-nft")


def ruleset(rng: random.Random) -> list[tuple[str, str, str]]:
    """(loader, file name, text) in load order."""
    w = world(rng)
    kind = rng.choice(KINDS)
    files: list[tuple[str, str, str]] = []
    nat = rng.random() < 0.4

    def ipt(tool: str, tag: str) -> list[tuple[str, str, str]]:
        out = [(tool, f"{tag}.v4", iptables_file(rng, w, False, nat))]
        if rng.random() < 0.7:
            out.append((tool.replace("iptables", "ip6tables"), f"{tag}.v6", iptables_file(rng, w, True, nat)))
        return out

    def nft(tag: str, prio: int | None = None, family: str | None = None) -> tuple[str, str, str]:
        fam = family or rng.choice(["inet", "inet", "ip", "ip6"])
        p = prio if prio is not None else rng.choice([0, 0, -10, 10])
        return ("nft", f"{tag}.nft", nft_table(rng, w, tag, fam, p, nat))

    if kind in ("iptables-legacy", "iptables-nft"):
        files = ipt(kind, "rules")
    elif kind == "nft":
        files = [nft("filter")]
    elif kind == "nft-two-tables":
        same = rng.random() < 0.5
        files = [nft("one", 0 if same else -5), nft("two", 0 if same else 5)]
        rng.shuffle(files)
    elif kind == "mixed":
        files = ipt(rng.choice(["iptables-legacy", "iptables-nft"]), "rules") + [nft("extra", rng.choice([-10, 10]))]
        rng.shuffle(files)
    else:
        files = ipt("iptables-legacy", "legacy") + [nft("native", 0)]
        rng.shuffle(files)
    if any("--match-set" in text for _, _, text in files):
        sets = [f"create allow4 hash:net family inet\nadd allow4 {w.v4[0]}\nadd allow4 {w.hosts4[2]}",
                f"create allow6 hash:net family inet6\nadd allow6 {w.v6[0]}"]
        files.insert(0, ("ipset", "sets.ipset", "\n".join(sets) + "\n"))
    return files


def write_corpus(out: Path, count: int, seed: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        rng = random.Random(seed * 100003 + i)
        d = out / f"random-{seed}-{i:04d}"
        d.mkdir(exist_ok=True)
        load = []
        for n, (loader, name, text) in enumerate(ruleset(rng)):
            fname = f"{n:02d}-{name}"
            (d / fname).write_text(text)
            load.append(f"{loader} {fname}")
        (d / "LOAD").write_text("\n".join(load) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    write_corpus(args.out, args.count, args.seed)


if __name__ == "__main__":
    main()
