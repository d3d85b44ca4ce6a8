"""Random rulesets for the kernel-oracle test, rendered as iptables-restore and nft text.

An abstract rule is drawn once and rendered in both syntaxes, so the same ruleset can be
loaded through iptables-legacy, iptables-nft or native nft (or a mix). Only constructs the
evaluator claims to model exactly are generated; anything it reports as indeterminate here is
a failure of the test.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

LISTEN_PORTS = (1, 22, 53, 80, 443, 1000, 8080, 8081, 65535)
SUBNETS = ("198.18.1.0/24", "198.18.1.0/25", "198.18.1.128/25", "198.18.1.11/32", "198.18.2.0/24", "198.18.0.0/15")
IFACES = ("eth0", "eth1")


@dataclass
class AbstractRule:
    proto: str | None = None
    dports: list[tuple[int, int]] | None = None
    dport_neg: bool = False
    saddr: tuple[str, bool] | None = None
    iif: tuple[str, bool] | None = None  # name (may end in +), negated
    ct: list[str] | None = None
    iprange: tuple[str, str, bool] | None = None
    mark: int | None = None
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


def random_rule(rng: random.Random, targets: list[str], allow_return: bool, allow_mark: bool) -> AbstractRule:
    r = AbstractRule()
    if rng.random() < 0.8:
        r.proto = rng.choice(("tcp", "udp"))
        if rng.random() < 0.75:
            r.dports = _ports(rng)
            r.dport_neg = rng.random() < 0.15
    if rng.random() < 0.35:
        r.saddr = (rng.choice(SUBNETS), rng.random() < 0.3)
    if rng.random() < 0.25:
        r.iif = (rng.choice(IFACES + ("eth+",)), rng.random() < 0.3)
    if rng.random() < 0.2:
        r.ct = rng.choice((["new"], ["established", "related"], ["new", "established"], ["invalid"]))
    if rng.random() < 0.1:
        lo = rng.randint(1, 200)
        r.iprange = (f"198.18.1.{lo}", f"198.18.1.{rng.randint(lo, 254)}", rng.random() < 0.3)
    if allow_mark and rng.random() < 0.15:
        r.mark = rng.choice((1, 2))
    actions = ["accept"] * 4 + ["drop"] * 3 + ["reject", "reset", "log", "continue"]
    if allow_return:
        actions += ["return"] * 2
    if allow_mark:
        actions += ["mark:1", "mark:2"]
    actions += [f"jump:{t}" for t in targets] * 2 + [f"goto:{t}" for t in targets]
    r.action = rng.choice(actions)
    if r.action == "reset" and r.proto != "tcp":
        r.action = "reject"
    return r


@dataclass
class AbstractRuleset:
    """One filter "table": a base input chain and user chains (jumps only go forward)."""

    base: AbstractChain
    users: list[AbstractChain]
    redirect: tuple[int, int] | None = None  # nat: tcp dport A → local port B


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
    return AbstractRuleset(base, users, redirect)


# ------------------------------------------------------------------------------------------
# iptables-restore rendering
# ------------------------------------------------------------------------------------------


def _ipt_rule(chain: str, r: AbstractRule) -> str:
    parts = [f"-A {chain}"]
    if r.iif:
        parts.append(("! " if r.iif[1] else "") + f"-i {r.iif[0]}")
    if r.saddr:
        parts.append(("! " if r.saddr[1] else "") + f"-s {r.saddr[0]}")
    if r.proto:
        parts.append(f"-p {r.proto}")
        if r.dports:
            neg = "! " if r.dport_neg else ""
            if len(r.dports) == 1:
                lo, hi = r.dports[0]
                parts.append(f"-m {r.proto} {neg}--dport {lo}" + (f":{hi}" if hi != lo else ""))
            else:
                spec = ",".join(f"{lo}" if lo == hi else f"{lo}:{hi}" for lo, hi in r.dports)
                parts.append(f"-m multiport {neg}--dports {spec}")
    if r.iprange:
        parts.append("-m iprange " + ("! " if r.iprange[2] else "") + f"--src-range {r.iprange[0]}-{r.iprange[1]}")
    if r.ct:
        parts.append("-m conntrack --ctstate " + ",".join(s.upper() for s in r.ct))
    if r.mark is not None:
        parts.append(f"-m mark --mark 0x{r.mark:x}")
    a = r.action
    if a in ("accept", "drop", "return"):
        parts.append(f"-j {a.upper()}")
    elif a == "reject":
        parts.append("-j REJECT")
    elif a == "reset":
        parts.append("-j REJECT --reject-with tcp-reset")
    elif a == "log":
        parts.append('-j LOG --log-prefix "fwa "')
    elif a == "continue":
        pass
    elif a.startswith("mark:"):
        parts.append(f"-j MARK --set-xmark 0x{int(a[5:]):x}/0xffffffff")
    elif a.startswith("jump:"):
        parts.append(f"-j {a[5:]}")
    elif a.startswith("goto:"):
        parts.append(f"-g {a[5:]}")
    return " ".join(parts)


def to_iptables(rs: AbstractRuleset) -> str:
    lines = ["*filter", f":INPUT {rs.base.policy.upper()} [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
    lines += [f":{u.name} - [0:0]" for u in rs.users]
    lines += [_ipt_rule("INPUT", r) for r in rs.base.rules]
    for u in rs.users:
        lines += [_ipt_rule(u.name, r) for r in u.rules]
    lines.append("COMMIT")
    if rs.redirect:
        a, b = rs.redirect
        lines += ["*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]",
                  ":POSTROUTING ACCEPT [0:0]",
                  f"-A PREROUTING -p tcp -m tcp --dport {a} -j REDIRECT --to-ports {b}", "COMMIT"]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------------------
# nft rendering
# ------------------------------------------------------------------------------------------


def _nft_rule(r: AbstractRule) -> str:
    parts = []
    if r.iif:
        name = r.iif[0].replace("+", "*")
        parts.append(f'iifname {"!= " if r.iif[1] else ""}"{name}"')
    if r.saddr:
        parts.append(f'ip saddr {"!= " if r.saddr[1] else ""}{r.saddr[0]}')
    if r.proto:
        if r.dports:
            elems = ", ".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in r.dports)
            neg = "!= " if r.dport_neg else ""
            parts.append(f"{r.proto} dport {neg}{{ {elems} }}")
        else:
            parts.append(f"meta l4proto {r.proto}")
    if r.iprange:
        parts.append(f'ip saddr {"!= " if r.iprange[2] else ""}{r.iprange[0]}-{r.iprange[1]}')
    if r.ct:
        parts.append("ct state { " + ", ".join(r.ct) + " }")
    if r.mark is not None:
        parts.append(f"meta mark 0x{r.mark:08x}")
    a = r.action
    if a in ("accept", "drop", "return", "continue"):
        parts.append(a)
    elif a == "reject":
        parts.append("reject")
    elif a == "reset":
        parts.append("reject with tcp reset")
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
    lines += [f"    {_nft_rule(r)}" for r in rs.base.rules]
    lines.append("  }")
    for u in rs.users:
        lines.append(f"  chain {u.name} {{")
        lines += [f"    {_nft_rule(r)}" for r in u.rules]
        lines.append("  }")
    if rs.redirect:
        a, b = rs.redirect
        lines.append(f"  chain pre {{\n    type nat hook prerouting priority dstnat; policy accept;\n"
                     f"    tcp dport {a} redirect to :{b}\n  }}")
    lines.append("}")
    return "\n".join(lines) + "\n"
