"""Random rulesets for the kernel-oracle test, rendered as iptables-restore and nft text.

An abstract ruleset is drawn once and rendered in both syntaxes and for both IP families, so the
same ruleset can be loaded through iptables-legacy, iptables-nft or native nft (or a mix). Only
constructs the evaluator claims to model exactly are generated; anything it reports as
indeterminate here is a failure of the test (except where the base-chain order is unknowable).

Addresses are abstract: a rule names a subnet *key*, rendered for IPv4 (198.18.0.0/15) or IPv6
(fd00::/16) with the same shape, so v4 and v6 clients meet the same rules.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

#: the lab's listeners; 41641 is Tailscale's (WireGuard) port, for the corpus ruleset that opens it
LISTEN_PORTS = (1, 22, 53, 80, 443, 1000, 8080, 8081, 41641, 65535)
#: subnet key → (IPv4, IPv6); the lab's clients are .10/.11/.200 on eth0 and .10 on eth1
#: (IPv6: ::a, ::b, ::c8 and ::a)
SUBNETS = {
    "c0": ("198.18.1.0/24", "fd00:1::/64"),
    "c0-low": ("198.18.1.0/25", "fd00:1::/121"),
    "c0-high": ("198.18.1.128/25", "fd00:1::80/121"),
    "c0-11": ("198.18.1.11/32", "fd00:1::b/128"),
    "c1": ("198.18.2.0/24", "fd00:2::/64"),
    "lab": ("198.18.0.0/15", "fd00::/16"),
}
IFACES = ("eth0", "eth1")


BACKEND = ("198.18.3.2", "fd00:3::2")


def address(key: str, version: int) -> str:
    if key == "backend":
        return BACKEND[0 if version == 4 else 1]
    return SUBNETS[key][0 if version == 4 else 1]


def host_in(last: int, version: int) -> str:
    """``198.18.1.<last>`` / ``fd00:1::<last in hex>``."""
    return f"198.18.1.{last}" if version == 4 else f"fd00:1::{last:x}"


@dataclass
class AbstractRule:
    proto: str | None = None
    dports: list[tuple[int, int]] | None = None
    dport_neg: bool = False
    sports: list[tuple[int, int]] | None = None  # output chains: the service's port
    saddr: tuple[str, bool] | None = None  # subnet key, negated
    daddr: tuple[str, bool] | None = None  # output chains: the client
    iif: tuple[str, bool] | None = None  # name (may end in +), negated
    oif: tuple[str, bool] | None = None
    ct: list[str] | None = None
    syn_only: bool = False  # --syn / tcp flags & (fin|syn|rst|ack) == syn
    iprange: tuple[int, int, bool] | None = None  # last octets of a c0 range, negated
    mark: int | None = None
    mark_mask: int | None = None  # (mark & mask) == value
    addrtype: tuple[str, str, bool] | None = None  # src|dst, LOCAL|UNICAST, negated
    pkttype: bool = False  # unicast to this host
    action: str = "accept"  # accept drop reject reset return log continue mark:N jump:C goto:C


@dataclass
class AbstractChain:
    name: str
    rules: list[AbstractRule] = field(default_factory=list)
    policy: str | None = None  # base chains only


def _ports(rng: random.Random) -> list[tuple[int, int]]:
    out = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        p = rng.choice(LISTEN_PORTS)
        if rng.random() < 0.3:
            lo = max(1, p - rng.randint(0, 30))
            hi = min(65535, p + rng.randint(0, 30))
            out.append((lo, hi))
        else:
            out.append((p, p))
    # merge overlaps: multiport / nft sets reject overlapping elements
    out.sort()
    merged: list[tuple[int, int]] = []
    for lo, hi in out:
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


_CT_CHOICES = (["new"], ["established", "related"], ["new", "established"], ["invalid"], ["established"])


def random_rule(rng: random.Random, targets: list[str], allow_return: bool, allow_mark: bool) -> AbstractRule:
    r = AbstractRule()
    if rng.random() < 0.8:
        r.proto = rng.choice(("tcp", "udp"))
        if rng.random() < 0.75:
            r.dports = _ports(rng)
            r.dport_neg = rng.random() < 0.15
        if r.proto == "tcp" and rng.random() < 0.12:
            r.syn_only = True
    if rng.random() < 0.35:
        r.saddr = (rng.choice(tuple(SUBNETS)), rng.random() < 0.3)
    if rng.random() < 0.25:
        r.iif = (rng.choice(IFACES + ("eth+",)), rng.random() < 0.3)
    if rng.random() < 0.25:
        r.ct = rng.choice(_CT_CHOICES)
    if rng.random() < 0.1:
        lo = rng.randint(1, 200)
        r.iprange = (lo, rng.randint(lo, 254), rng.random() < 0.3)
    if allow_mark and rng.random() < 0.15:
        r.mark = rng.choice((1, 2))
        if rng.random() < 0.4:
            r.mark_mask = rng.choice((0x1, 0x2, 0x3))
            r.mark &= r.mark_mask
    if rng.random() < 0.06:
        r.addrtype = (rng.choice(("src", "dst")), rng.choice(("LOCAL", "UNICAST")), rng.random() < 0.3)
    if rng.random() < 0.04:
        r.pkttype = True
    actions = ["accept"] * 4 + ["drop"] * 3 + ["reject", "reset", "reject-host", "log", "continue"]
    if allow_return:
        actions += ["return"] * 2
    if allow_mark:
        actions += ["mark:1", "mark:2"]
    actions += [f"jump:{t}" for t in targets] * 2 + [f"goto:{t}" for t in targets]
    r.action = rng.choice(actions)
    if r.action == "reset" and r.proto != "tcp":
        r.action = "reject"
    return r


def random_output_rule(rng: random.Random) -> AbstractRule:
    """A rule for the output chain, where the service's replies and reject answers pass."""
    r = AbstractRule()
    kind = rng.random()
    if kind < 0.35:
        r.ct = rng.choice((["established", "related"], ["established"], ["related"], ["new"]))
    elif kind < 0.65:
        r.proto = rng.choice(("tcp", "udp"))
        r.sports = _ports(rng)
    elif kind < 0.8:
        r.oif = (rng.choice(IFACES + ("eth+", "lo")), rng.random() < 0.3)
    else:
        r.daddr = (rng.choice(tuple(SUBNETS)), rng.random() < 0.3)
    r.action = rng.choice(("accept", "accept", "accept", "drop", "reject"))
    return r


def random_forward_rule(rng: random.Random) -> AbstractRule:
    """A rule for the forward chain a DNAT'd connection to the backend crosses (both ways)."""
    r = AbstractRule()
    kind = rng.random()
    if kind < 0.35:
        r.ct = rng.choice((["established", "related"], ["established"], ["new"]))
    elif kind < 0.6:
        r.proto = "tcp"
        r.dports = [(80, 80)] if rng.random() < 0.7 else _ports(rng)
        r.daddr = ("backend", False)
    elif kind < 0.8:
        r.iif = (rng.choice(("eth0", "eth1", "eth2")), rng.random() < 0.3)
    else:
        r.oif = (rng.choice(("eth0", "eth2")), rng.random() < 0.3)
    r.action = rng.choice(("accept", "accept", "accept", "drop", "reject"))
    return r


@dataclass
class AbstractRuleset:
    """One filter "table": a base input chain, user chains (jumps only go forward), maybe an
    output chain, maybe a nat redirect, maybe a DNAT to the backend with a forward chain."""

    base: AbstractChain
    users: list[AbstractChain]
    redirect: tuple[int, int] | None = None  # nat: tcp dport A → local port B
    output: AbstractChain | None = None
    forward: AbstractChain | None = None  # with a DNAT of tcp 8080 to the backend's port 80


def random_ruleset(rng: random.Random, prefix: str = "U") -> AbstractRuleset:
    n_users = rng.choice((0, 1, 2))
    users = [AbstractChain(f"{prefix}{i}") for i in range(n_users)]
    base = AbstractChain("INPUT", policy=rng.choice(("accept", "drop")))
    for _ in range(rng.randint(1, 7)):
        base.rules.append(random_rule(rng, [u.name for u in users], False, True))
    for i, u in enumerate(users):
        later = [x.name for x in users[i + 1:]]
        for _ in range(rng.randint(1, 4)):
            u.rules.append(random_rule(rng, later, True, True))
    redirect = (8081, rng.choice((80, 22, 443))) if rng.random() < 0.25 else None
    output = None
    if rng.random() < 0.5:
        output = AbstractChain("OUTPUT", policy=rng.choice(("accept", "drop", "drop")))
        for _ in range(rng.randint(0, 3)):
            output.rules.append(random_output_rule(rng))
    forward = None
    if rng.random() < 0.2:
        forward = AbstractChain("FORWARD", policy=rng.choice(("accept", "drop", "drop")))
        for _ in range(rng.randint(1, 4)):
            forward.rules.append(random_forward_rule(rng))
    return AbstractRuleset(base, users, redirect, output, forward)


def random_ingress(rng: random.Random) -> list[AbstractRule]:
    """Rules for a netdev ingress chain on eth0 (accept/drop only: no reject at ingress)."""
    rules = []
    for _ in range(rng.randint(1, 3)):
        r = AbstractRule()
        if rng.random() < 0.6:
            r.saddr = (rng.choice(("c0", "c0-low", "c0-high", "c0-11")), rng.random() < 0.3)
        if rng.random() < 0.6:
            r.proto = rng.choice(("tcp", "udp"))
            r.dports = _ports(rng)
        r.action = rng.choice(("drop", "accept", "drop"))
        rules.append(r)
    return rules


def to_nft_ingress(rules: list[AbstractRule], *, device: str = "eth0") -> str:
    lines = ["table netdev fwa_ingress {",
             f'  chain in {{\n    type filter hook ingress device "{device}" priority 0; policy accept;']
    lines += [f"    {t}" for r in rules for t in _nft_rule(r, "inet")]
    lines += ["  }", "}"]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------
# iptables-restore rendering
# ------------------------------------------------------------------------------------------


def _ipt_ports(proto: str, ports: list[tuple[int, int]], opt: str, neg: bool) -> str:
    neg_s = "! " if neg else ""
    if len(ports) == 1:
        lo, hi = ports[0]
        return f"-m {proto} {neg_s}--{opt} {lo}" + (f":{hi}" if hi != lo else "")
    spec = ",".join(f"{lo}" if lo == hi else f"{lo}:{hi}" for lo, hi in ports)
    return f"-m multiport {neg_s}--{opt}s {spec}"


def _ipt_rule(chain: str, r: AbstractRule, version: int) -> str:
    parts = [f"-A {chain}"]
    if r.iif:
        parts.append(("! " if r.iif[1] else "") + f"-i {r.iif[0]}")
    if r.oif:
        parts.append(("! " if r.oif[1] else "") + f"-o {r.oif[0]}")
    if r.saddr:
        parts.append(("! " if r.saddr[1] else "") + f"-s {address(r.saddr[0], version)}")
    if r.daddr:
        parts.append(("! " if r.daddr[1] else "") + f"-d {address(r.daddr[0], version)}")
    if r.proto:
        parts.append(f"-p {r.proto}")
        if r.dports:
            parts.append(_ipt_ports(r.proto, r.dports, "dport", r.dport_neg))
        if r.sports:
            parts.append(_ipt_ports(r.proto, r.sports, "sport", False))
        if r.syn_only:
            parts.append("-m tcp --syn")
    if r.iprange:
        lo, hi, neg = r.iprange
        parts.append("-m iprange " + ("! " if neg else "") + f"--src-range {host_in(lo, version)}-{host_in(hi, version)}")
    if r.ct:
        parts.append("-m conntrack --ctstate " + ",".join(s.upper() for s in r.ct))
    if r.mark is not None:
        parts.append(f"-m mark --mark 0x{r.mark:x}" + (f"/0x{r.mark_mask:x}" if r.mark_mask else ""))
    if r.addrtype:
        where, kind, neg = r.addrtype
        parts.append(f"-m addrtype {'! ' if neg else ''}--{where}-type {kind}")
    if r.pkttype:
        parts.append("-m pkttype --pkt-type unicast")
    a = r.action
    if a in ("accept", "drop", "return"):
        parts.append(f"-j {a.upper()}")
    elif a == "reject":
        parts.append("-j REJECT")
    elif a == "reset":
        parts.append("-j REJECT --reject-with tcp-reset")
    elif a == "reject-host":  # a soft ICMP error: a UDP client never hears of it
        parts.append("-j REJECT --reject-with " + ("icmp-host-unreachable" if version == 4 else "icmp6-addr-unreachable"))
    elif a == "log":
        parts.append('-j LOG --log-prefix "fwa "')
    elif a == "continue":
        pass
    elif a.startswith("mark:"):
        parts.append(f"-j MARK --set-xmark 0x{int(a[5:]):x}/0x3")
    elif a.startswith("jump:"):
        parts.append(f"-j {a[5:]}")
    elif a.startswith("goto:"):
        parts.append(f"-g {a[5:]}")
    return " ".join(parts)


def to_iptables(rs: AbstractRuleset, version: int = 4) -> str:
    out_policy = rs.output.policy.upper() if rs.output and rs.output.policy else "ACCEPT"
    fwd_policy = rs.forward.policy.upper() if rs.forward and rs.forward.policy else "ACCEPT"
    lines = ["*filter", f":INPUT {rs.base.policy.upper()} [0:0]", f":FORWARD {fwd_policy} [0:0]",
             f":OUTPUT {out_policy} [0:0]"]
    lines += [f":{u.name} - [0:0]" for u in rs.users]
    lines += [_ipt_rule("INPUT", r, version) for r in rs.base.rules]
    for u in rs.users:
        lines += [_ipt_rule(u.name, r, version) for r in u.rules]
    if rs.output:
        lines += [_ipt_rule("OUTPUT", r, version) for r in rs.output.rules]
    if rs.forward:
        lines += [_ipt_rule("FORWARD", r, version) for r in rs.forward.rules]
    lines.append("COMMIT")
    if rs.redirect or rs.forward:
        lines += ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
                  ":POSTROUTING ACCEPT [0:0]"]
        if rs.redirect:
            a, b = rs.redirect
            lines.append(f"-A PREROUTING -p tcp -m tcp --dport {a} -j REDIRECT --to-ports {b}")
        if rs.forward:
            target = BACKEND[0] if version == 4 else f"[{BACKEND[1]}]"
            lines.append(f"-A PREROUTING -i eth0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination {target}:80")
        lines.append("COMMIT")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------
# nft rendering
# ------------------------------------------------------------------------------------------


def _nft_ports(proto: str, ports: list[tuple[int, int]], field_: str, neg: bool) -> str:
    elems = ", ".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in ports)
    return f"{proto} {field_} {'!= ' if neg else ''}{{ {elems} }}"


def _nft_rule(r: AbstractRule, family: str) -> list[str]:
    """One abstract rule as nft rules: in an inet table an address condition exists per
    family, so such a rule becomes one rule per family (they never both match a packet)."""
    versions = {"ip": (4,), "ip6": (6,), "inet": (4, 6)}[family]
    if not (r.saddr or r.daddr or r.iprange or r.action == "dnat"):
        return [_nft_one(r, None, family)]
    return [_nft_one(r, v, family) for v in versions]


def _nft_one(r: AbstractRule, version: int | None, family: str) -> str:
    parts = []
    kw = "ip" if version == 4 else "ip6"
    if r.iif:
        name = r.iif[0].replace("+", "*")
        parts.append(f'iifname {"!= " if r.iif[1] else ""}"{name}"')
    if r.oif:
        name = r.oif[0].replace("+", "*")
        parts.append(f'oifname {"!= " if r.oif[1] else ""}"{name}"')
    if r.saddr and version:
        parts.append(f'{kw} saddr {"!= " if r.saddr[1] else ""}{address(r.saddr[0], version)}')
    if r.daddr and version:
        parts.append(f'{kw} daddr {"!= " if r.daddr[1] else ""}{address(r.daddr[0], version)}')
    if r.proto:
        if r.dports or r.sports:
            if r.dports:
                parts.append(_nft_ports(r.proto, r.dports, "dport", r.dport_neg))
            if r.sports:
                parts.append(_nft_ports(r.proto, r.sports, "sport", False))
        else:
            parts.append(f"meta l4proto {r.proto}")
        if r.syn_only:
            parts.append("tcp flags & (fin | syn | rst | ack) == syn")
    if r.iprange and version:
        lo, hi, neg = r.iprange
        parts.append(f'{kw} saddr {"!= " if neg else ""}{host_in(lo, version)}-{host_in(hi, version)}')
    if r.ct:
        parts.append("ct state { " + ", ".join(r.ct) + " }")
    if r.mark is not None:
        if r.mark_mask:
            parts.append(f"meta mark & 0x{r.mark_mask:08x} == 0x{r.mark:08x}")
        else:
            parts.append(f"meta mark 0x{r.mark:08x}")
    if r.addrtype:
        where, kind, neg = r.addrtype
        parts.append(f"fib {'s' if where == 'src' else 'd'}addr type {'!= ' if neg else ''}{kind.lower()}")
    if r.pkttype:
        parts.append("meta pkttype host")
    a = r.action
    if a in ("accept", "drop", "return", "continue"):
        parts.append(a)
    elif a == "reject":
        parts.append("reject")
    elif a == "reset":
        parts.append("reject with tcp reset")
    elif a == "reject-host":  # icmpx exists in inet tables only
        parts.append({"inet": "reject with icmpx host-unreachable", "ip": "reject with icmp host-unreachable",
                      "ip6": "reject with icmpv6 addr-unreachable"}[family])
    elif a == "log":
        parts.append('log prefix "fwa "')
    elif a.startswith("mark:"):
        parts.append(f"meta mark set 0x{int(a[5:]):08x}")
    elif a.startswith(("jump:", "goto:")):
        parts.append(f"{a[:4]} {a[5:]}")
    return " ".join(parts)


def to_nft(rs: AbstractRuleset, *, table: str = "fwa", family: str = "inet", priority: int = 0) -> str:
    lines = [f"table {family} {table} {{"]
    lines.append(f"  chain input {{\n    type filter hook input priority {priority}; policy {rs.base.policy};")
    lines += [f"    {t}" for r in rs.base.rules for t in _nft_rule(r, family)]
    lines.append("  }")
    for u in rs.users:
        lines.append(f"  chain {u.name} {{")
        lines += [f"    {t}" for r in u.rules for t in _nft_rule(r, family)]
        lines.append("  }")
    if rs.output:
        lines.append(f"  chain output {{\n    type filter hook output priority {priority}; "
                     f"policy {rs.output.policy};")
        lines += [f"    {t}" for r in rs.output.rules for t in _nft_rule(r, family)]
        lines.append("  }")
    if rs.forward:
        lines.append(f"  chain forward {{\n    type filter hook forward priority {priority}; "
                     f"policy {rs.forward.policy};")
        lines += [f"    {t}" for r in rs.forward.rules for t in _nft_rule(r, family)]
        lines.append("  }")
    if rs.redirect or rs.forward:
        lines.append("  chain pre {\n    type nat hook prerouting priority dstnat; policy accept;")
        if rs.redirect:
            a, b = rs.redirect
            lines.append(f"    tcp dport {a} redirect to :{b}")
        if rs.forward:
            for version in {"ip": (4,), "ip6": (6,), "inet": (4, 6)}[family]:
                kw, target = ("ip", BACKEND[0]) if version == 4 else ("ip6", f"[{BACKEND[1]}]")
                nfproto = f'meta nfproto {"ipv4" if version == 4 else "ipv6"} ' if family == "inet" else ""
                lines.append(f'    iifname "eth0" {nfproto}tcp dport 8080 dnat {kw} to {target}:80')
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"
