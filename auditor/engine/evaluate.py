"""Static firewall evaluation: what the kernel does with every new inbound connection.

A pure function of (ruleset model, host facts, query) → :class:`Exposure`. The header space of
the query (source addresses × destination ports, per protocol) is carried through the hooks as
*regions*: a product of interval sets plus the concrete packet state that region has reached
(marks, DNAT rewrite, conntrack state, accepting rules so far). Each rule splits a region into
the part it matches and the part it does not, so the cost grows with the number of rules and
the number of distinct outcomes, never with 65,535 × sources.

Path of an inbound packet (see ``netfilter-facts.md``, confirmed by probing):
ingress → prerouting base chains by priority (conntrack at -200; every nat chain runs at the
nat core's slot, -100, ordered among themselves, and the first DNAT wins) → routing (local →
input, otherwise forward + postrouting if the host forwards) → input. An ``accept`` ends only
its base chain; ``drop``/``reject`` are final. Anything the model cannot decide makes the
affected region ``indeterminate`` and names the rule — it is never guessed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, replace
from typing import Iterable

from auditor.engine import intervals as iv
from auditor.engine.conditions import (
    AddressFacts,
    Cond,
    Not,
    PacketState,
    Space,
    Uncertain,
    condition,
)
from auditor.engine.intervals import IntervalSet
from auditor.errors import InputError
from auditor.model.exposure import Exposure, ExposureEntry
from auditor.model.host import HostContext
from auditor.model.ruleset import (
    PROTOCOL_NUMBERS,
    Chain,
    EffectStatement,
    MarkStatement,
    NatStatement,
    NotrackStatement,
    Origin,
    Rule,
    Ruleset,
    Table,
    UnknownStatement,
    Verdict,
    VerdictMap,
    format_address_range,
)

#: Priority at which the nat core runs all nat-type chains of a hook (nf_nat_*_register_fn).
NAT_CORE_PRIORITY = {"prerouting": -100, "input": 100, "output": -100, "postrouting": 100}
CONNTRACK_PRIORITY = -200
MAX_DEPTH = 64  # the kernel refuses deeper jump stacks / loops


@dataclass(frozen=True)
class ExposureQuery:
    """Which connections to evaluate: arriving on ``in_interface`` for ``destination``, from
    each of ``sources`` (addresses or prefixes of the destination's family; empty = all)."""

    in_interface: str
    destination: str
    sources: tuple[str, ...] = ()
    protocols: tuple[str, ...] = ("tcp", "udp")
    ports: tuple[int, int] = (1, 65535)


@dataclass(frozen=True)
class Outcome:
    verdict: str
    decided_by: tuple[Origin, ...] = ()
    reason: str | None = None
    path: str = "input"
    translated_to: tuple[str, int | None] | None = None


@dataclass(frozen=True)
class _Region:
    saddr: IntervalSet
    dport: IntervalSet
    state: PacketState
    trail: tuple[Origin, ...] = ()
    path: str = "input"


def evaluate_exposure(
    ruleset: Ruleset, host: HostContext, query: ExposureQuery, *, target: str = ""
) -> Exposure:
    """Evaluate ``query`` against ``ruleset`` on a host described by ``host``."""
    try:
        dest = ipaddress.ip_address(query.destination)
    except ValueError:
        raise InputError(f"invalid destination address {query.destination!r}") from None
    version = dest.version
    sources = _parse_sources(query.sources, version)
    facts = _address_facts(host, version, int(dest))
    all_sources: IntervalSet = ()
    for _, s in sources:
        all_sources = iv.union(all_sources, s)
    per_protocol = []
    for proto_name in query.protocols:
        walker = _Walker(ruleset, host, facts, version, query.in_interface, int(dest))
        state = PacketState(
            version=version,
            protocol=PROTOCOL_NUMBERS[proto_name],
            iif=query.in_interface,
            daddr=(int(dest), int(dest)),
            orig_daddr=(int(dest), int(dest)),
        )
        walker.walk(_Region(all_sources, (query.ports,), state))
        per_protocol.append((proto_name, walker.results))
    entries: list[ExposureEntry] = []
    for source in sources:
        for proto_name, results in per_protocol:
            entries.extend(_entries(results, [source], proto_name, version, query.ports))
    return Exposure(
        target=target,
        in_interface=query.in_interface,
        destination=str(dest),
        entries=tuple(entries),
        notes=ruleset.notes + _unevaluated_notes(ruleset),
    )


# ---------------------------------------------------------------------------------------------
# The walk
# ---------------------------------------------------------------------------------------------


class _Walker:
    """Carries regions of one protocol and family through the hooks, collecting outcomes."""

    def __init__(
        self, ruleset: Ruleset, host: HostContext, facts: AddressFacts, version: int,
        iif: str, dest: int,
    ) -> None:
        self.ruleset = ruleset
        self.host = host
        self.facts = facts
        self.version = version
        self.iif = iif
        self.dest = dest
        self.results: list[tuple[IntervalSet, IntervalSet, Outcome]] = []

    # -- hooks ------------------------------------------------------------------------------

    def walk(self, region: _Region) -> None:
        regions = self._hook("ingress", [region])
        regions = self._hook("prerouting", regions)
        local, forwarded = self._route(regions)
        done = self._hook("input", local)
        done += self._hook("postrouting", self._hook("forward", forwarded))
        for r in done:
            reason = None if r.trail else "no rule on the path drops it"
            self._finish(r, "accept", r.trail, reason)

    def _base_chains(self, hook: str) -> list[tuple[int, Table, Chain, bool]]:
        families = {"inet", "ip" if self.version == 4 else "ip6"}
        if hook == "ingress":
            families = {"inet", "netdev"}
        found = []
        for ti, table in enumerate(self.ruleset.tables):
            if table.family not in families:
                continue
            for ci, chain in enumerate(table.chains):
                if chain.hook != hook:
                    continue
                if hook == "ingress" and chain.device != self.iif:
                    continue
                nat = _is_nat(table, chain)
                prio = chain.priority if chain.priority is not None else 0
                effective = NAT_CORE_PRIORITY.get(hook, prio) if nat else prio
                found.append(((effective, prio, ti, ci), effective, table, chain, nat))
        found.sort(key=lambda x: x[0])
        return [(eff, t, c, nat) for _, eff, t, c, nat in found]

    def _hook(self, hook: str, regions: list[_Region]) -> list[_Region]:
        tracked = hook != "prerouting"
        for effective, table, chain, nat in self._base_chains(hook):
            if not regions:
                return []
            if not tracked and effective >= CONNTRACK_PRIORITY:
                regions, tracked = [self._conntrack(r) for r in regions], True
            if nat:
                eligible = [r for r in regions if r.state.ct == "new" and not r.state.dnat]
                skipped = [r for r in regions if not (r.state.ct == "new" and not r.state.dnat)]
                regions = skipped + self._run_base(table, chain, eligible, nat=True)
            else:
                regions = self._run_base(table, chain, regions, nat=False)
        if not tracked:
            regions = [self._conntrack(r) for r in regions]
        return regions

    @staticmethod
    def _conntrack(r: _Region) -> _Region:
        if r.state.ct != "none":
            return r
        return replace(r, state=replace(r.state, ct="untracked" if r.state.notrack else "new"))

    def _route(self, regions: list[_Region]) -> tuple[list[_Region], list[_Region]]:
        local: list[_Region] = []
        forwarded: list[_Region] = []
        for r in regions:
            lo, hi = r.state.daddr
            if lo != hi:
                self._finish(r, "indeterminate", r.trail, "DNAT to an address range: the kernel chooses")
                continue
            if iv.contains_point(self.facts.local, lo):
                local.append(r)
                continue
            addr = format_address_range(self.version, (lo, lo))
            forwarding = self.host.forwarding_v4 if self.version == 4 else self.host.forwarding_v6
            if forwarding is False:
                self._finish(r, "drop", r.trail, f"{addr} is not local and the host does not forward")
                continue
            if forwarding is None:
                self._finish(
                    r, "indeterminate", r.trail,
                    f"{addr} is not local and whether the host forwards is unknown",
                )
                continue
            oif = _route_device(self.host, self.version, lo)
            if oif is None and self.host.complete:
                self._finish(r, "drop", r.trail, f"no route to {addr}")
                continue
            forwarded.append(replace(r, state=replace(r.state, oif=oif), path="forward"))
        return local, forwarded

    # -- chains -----------------------------------------------------------------------------

    def _run_base(self, table: Table, chain: Chain, regions: list[_Region], *, nat: bool) -> list[_Region]:
        accepted, fell = self._run_chain(table, chain, regions, 0, nat)
        policy_origin = _policy_origin(table, chain)
        for r in fell:
            if chain.policy == "drop":
                self._finish(r, "drop", (policy_origin,), "no rule matched; chain policy drop")
            elif chain.rules and not nat:
                accepted.append(replace(r, trail=r.trail + (policy_origin,)))
            else:
                accepted.append(r)
        return accepted

    def _run_chain(
        self, table: Table, chain: Chain, regions: list[_Region], depth: int, nat: bool
    ) -> tuple[list[_Region], list[_Region]]:
        """Returns (accepted, returned-or-fell-through) regions; terminal ones are recorded."""
        accepted: list[_Region] = []
        returned: list[_Region] = []
        live = regions
        for rule in chain.rules:
            if not live:
                break
            nxt: list[_Region] = []
            for region in live:
                matched, unmatched, uncertain = self._split_rule(region, rule)
                nxt.extend(unmatched)
                for m in matched:
                    if uncertain is None:
                        self._statements(table, rule, m, depth, nat, nxt, accepted, returned)
                    elif _fate_neutral(rule):
                        nxt.append(m)
                    else:
                        self._finish(m, "indeterminate", (rule.origin,), uncertain)
            live = _merge(nxt) if len(nxt) > 4 else nxt
        returned.extend(live)
        return accepted, returned

    def _split_rule(self, region: _Region, rule: Rule) -> tuple[list[_Region], list[_Region], str | None]:
        parts = [region]
        out: list[_Region] = []
        reason: str | None = None
        for m in rule.matches:
            c = condition(m, region.state, self.facts)
            if c is True:
                continue
            if c is False:
                return [], out + parts, None
            if isinstance(c, Uncertain):
                reason = reason or c.reason
                continue
            kept: list[_Region] = []
            for p in parts:
                i, o = _split(p, c)
                kept += i
                out += o
            parts = kept
            if not parts:
                return [], out, None
        return parts, out, reason

    def _statements(
        self, table: Table, rule: Rule, r: _Region, depth: int, nat: bool,
        nxt: list[_Region], accepted: list[_Region], returned: list[_Region],
    ) -> None:
        for st in rule.statements:
            if isinstance(st, EffectStatement):
                continue
            if isinstance(st, MarkStatement):
                s = r.state
                if st.kind == "meta":
                    r = replace(r, state=replace(s, mark=(s.mark & ~st.clear & 0xFFFFFFFF) ^ st.xor))
                elif s.ct == "new":
                    r = replace(r, state=replace(s, ctmark=(s.ctmark & ~st.clear & 0xFFFFFFFF) ^ st.xor))
                continue
            if isinstance(st, NotrackStatement):
                if r.state.ct == "none":
                    r = replace(r, state=replace(r.state, notrack=True))
                continue
            if isinstance(st, NatStatement):
                if st.kind in ("snat", "masquerade"):
                    accepted.append(r)
                elif not nat:
                    self._finish(r, "indeterminate", (rule.origin,), f"{st.kind} outside a nat chain")
                else:
                    self._nat(st, r, rule, accepted)
                return
            if isinstance(st, Verdict):
                self._verdict(table, st, rule, r, depth, nat, nxt, accepted, returned)
                return
            if isinstance(st, VerdictMap):
                self._vmap(table, st, rule, r, depth, nat, nxt, accepted, returned)
                return
            if isinstance(st, UnknownStatement):
                self._finish(r, "indeterminate", (rule.origin,), f"unsupported statement '{st.text}'")
                return
            self._finish(r, "indeterminate", (rule.origin,), f"unsupported statement {type(st).__name__}")
            return
        nxt.append(r)

    def _nat(self, st: NatStatement, r: _Region, rule: Rule, accepted: list[_Region]) -> None:
        s = r.state
        daddr = s.daddr
        if st.kind == "redirect":
            addr = _primary_address(self.host, self.iif, self.version)
            daddr = (addr, addr) if addr is not None else (self.dest, self.dest)
        elif st.address is not None:
            if st.version not in (None, self.version):
                accepted.append(r)  # a NAT of the other family does not apply
                return
            daddr = st.address
        dport = st.ports if st.ports is not None else s.dport
        state = replace(s, daddr=daddr, dport=dport, dnat=True)
        accepted.append(replace(r, state=state, trail=r.trail + (rule.origin,)))

    def _verdict(
        self, table: Table, v: Verdict, rule: Rule, r: _Region, depth: int, nat: bool,
        nxt: list[_Region], accepted: list[_Region], returned: list[_Region],
    ) -> None:
        if v.kind == "accept":
            accepted.append(replace(r, trail=r.trail + (rule.origin,)))
        elif v.kind in ("drop", "reject"):
            self._finish(r, v.kind, (rule.origin,), None)
        elif v.kind == "return":
            returned.append(r)
        elif v.kind == "continue":
            nxt.append(r)
        elif v.kind == "queue":
            self._finish(r, "indeterminate", (rule.origin,), "queued to a userspace program")
        else:  # jump / goto
            target = table.chain(v.chain or "")
            if target is None:
                self._finish(r, "indeterminate", (rule.origin,), f"{v.kind} to missing chain {v.chain!r}")
                return
            if depth >= MAX_DEPTH:
                self._finish(r, "indeterminate", (rule.origin,), "chain jumps nest too deep (loop?)")
                return
            acc, ret = self._run_chain(table, target, [r], depth + 1, nat)
            accepted.extend(acc)
            (nxt if v.kind == "jump" else returned).extend(ret)

    def _vmap(
        self, table: Table, vm: VerdictMap, rule: Rule, r: _Region, depth: int, nat: bool,
        nxt: list[_Region], accepted: list[_Region], returned: list[_Region],
    ) -> None:
        from auditor.model.ruleset import SetElementMatch

        rest = [r]
        for key, verdict in vm.entries:
            probe = SetElementMatch(vm.set_name or "vmap", vm.fields, (key,), vm.version)
            c = condition(probe, r.state, self.facts)
            if isinstance(c, Uncertain):
                for x in rest:
                    self._finish(x, "indeterminate", (rule.origin,), c.reason)
                return
            if c is False:
                continue
            remaining: list[_Region] = []
            for x in rest:
                i, o = _split(x, c) if c is not True else ([x], [])
                remaining += o
                for part in i:
                    self._verdict(table, verdict, rule, part, depth, nat, nxt, accepted, returned)
            rest = remaining
            if not rest:
                return
        nxt.extend(rest)  # a map miss continues with the next rule

    def _finish(self, r: _Region, verdict: str, decided_by: tuple[Origin, ...], reason: str | None) -> None:
        s = r.state
        translated = None
        if s.dnat:
            port = s.dport[0] if s.dport is not None and s.dport[0] == s.dport[1] else None
            translated = (format_address_range(self.version, s.daddr), port)
        self.results.append((r.saddr, r.dport, Outcome(verdict, decided_by, reason, r.path, translated)))


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _is_nat(table: Table, chain: Chain) -> bool:
    if chain.type is not None:
        return chain.type == "nat"
    return table.backend != "nftables" and table.name == "nat"


def _fate_neutral(rule: Rule) -> bool:
    """True when running the rule or not makes no difference to the packet's fate."""
    return all(
        isinstance(s, EffectStatement) or (isinstance(s, Verdict) and s.kind == "continue")
        for s in rule.statements
    )


def _policy_origin(table: Table, chain: Chain) -> Origin:
    policy = chain.policy or "accept"
    if table.backend in ("iptables-legacy", "iptables-nft") or (
        table.backend == "file" and table.family in ("ip", "ip6") and chain.name.isupper()
    ):
        text, syntax = f":{chain.name} {policy.upper()}", "iptables"
    else:
        text, syntax = f"policy {policy}", "nft"
    return Origin(
        backend=table.backend, family=table.family, table=table.name, chain=chain.name,
        position=0, text=text, syntax=syntax, file=table.source, line=chain.line,
    )


def _split(r: _Region, c: Cond) -> tuple[list[_Region], list[_Region]]:
    """Split a region by a symbolic condition into (holds, does not hold)."""
    if isinstance(c, Not):
        i, o = _split(r, c.inner)
        return o, i
    if isinstance(c, Space):
        s_in = r.saddr if c.saddr is None else iv.intersect(r.saddr, c.saddr)
        d_in = r.dport if c.dport is None else iv.intersect(r.dport, c.dport)
        if not s_in or not d_in:
            return [], [r]
        outside: list[_Region] = []
        if c.saddr is not None:
            s_out = iv.subtract(r.saddr, c.saddr)
            if s_out:
                outside.append(replace(r, saddr=s_out))
        if c.dport is not None:
            d_out = iv.subtract(r.dport, c.dport)
            if d_out:
                outside.append(replace(r, saddr=s_in, dport=d_out))
        return [replace(r, saddr=s_in, dport=d_in)], outside
    assert isinstance(c, tuple)
    spaces = _coalesce(c)
    matched: list[_Region] = []
    remaining = [r]
    for sp in spaces:
        nxt: list[_Region] = []
        for x in remaining:
            i, o = _split(x, sp)
            matched += i
            nxt += o
        remaining = nxt
        if not remaining:
            break
    return matched, remaining


def _coalesce(spaces: tuple[Space, ...]) -> list[Space]:
    """Merge set elements that share one dimension, so a 10,000-address set is one split."""
    if any(s.saddr is None and s.dport is None for s in spaces):
        return [Space()]
    saddr_only: IntervalSet = ()
    dport_only: IntervalSet = ()
    by_dport: dict[IntervalSet, IntervalSet] = {}
    for s in spaces:
        if s.dport is None:
            saddr_only = iv.union(saddr_only, s.saddr or ())
        elif s.saddr is None:
            dport_only = iv.union(dport_only, s.dport)
        else:
            by_dport[s.dport] = iv.union(by_dport.get(s.dport, ()), s.saddr)
    by_saddr: dict[IntervalSet, IntervalSet] = {}
    for dport, saddr in by_dport.items():
        by_saddr[saddr] = iv.union(by_saddr.get(saddr, ()), dport)
    out = [Space(saddr=sa, dport=dp) for sa, dp in by_saddr.items()]
    if saddr_only:
        out.append(Space(saddr=saddr_only))
    if dport_only:
        out.append(Space(dport=dport_only))
    return out


def _merge(regions: list[_Region]) -> list[_Region]:
    """Re-join regions that share state and one dimension, to keep the region count small."""
    if len(regions) < 2:
        return regions
    by_key: dict[tuple, IntervalSet] = {}
    for r in regions:
        k = (r.state, r.trail, r.path, r.saddr)
        by_key[k] = iv.union(by_key.get(k, ()), r.dport)
    by_dport: dict[tuple, IntervalSet] = {}
    for (state, trail, path, saddr), dport in by_key.items():
        k2 = (state, trail, path, dport)
        by_dport[k2] = iv.union(by_dport.get(k2, ()), saddr)
    return [
        _Region(saddr=saddr, dport=dport, state=state, trail=trail, path=path)
        for (state, trail, path, dport), saddr in by_dport.items()
    ]


def _parse_sources(sources: Iterable[str], version: int) -> list[tuple[str, IntervalSet]]:
    out: list[tuple[str, IntervalSet]] = []
    for text in sources or (("0.0.0.0/0",) if version == 4 else ("::/0",)):
        try:
            net = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise InputError(f"invalid source {text!r}: expected an address or CIDR") from None
        if net.version != version:
            raise InputError(
                f"source {text} is IPv{net.version} but the destination is IPv{version}"
            )
        out.append((str(net) if net.num_addresses > 1 else str(net.network_address),
                    ((int(net.network_address), int(net.broadcast_address)),)))
    return out


def _address_facts(host: HostContext, version: int, dest: int) -> AddressFacts:
    local: list[tuple[int, int]] = [(dest, dest)]
    broadcast: list[tuple[int, int]] = []
    for iface in host.interfaces:
        for a in iface.addresses:
            if a.version != version:
                continue
            if iface.name == "lo" or a.ip.is_loopback:
                local.append((int(a.network.network_address), int(a.network.broadcast_address)))
            else:
                local.append((int(a.ip), int(a.ip)))
                if version == 4 and a.network.prefixlen < 31:
                    b = int(a.network.broadcast_address)
                    broadcast.append((b, b))
    if version == 4:
        local.append((int(ipaddress.ip_address("127.0.0.0")), int(ipaddress.ip_address("127.255.255.255"))))
        broadcast += [(0, 0xFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF)]
        multicast = ((0xE0000000, 0xEFFFFFFF),)
    else:
        local.append((1, 1))
        multicast = ((0xFF << 120, (1 << 128) - 1),)
    return AddressFacts(
        local=iv.normalize(local), broadcast=iv.normalize(broadcast), multicast=multicast,
        certain=host.complete,
    )


def _route_device(host: HostContext, version: int, addr: int) -> str | None:
    best = None
    ip = ipaddress.ip_address(addr) if version == 4 else ipaddress.IPv6Address(addr)
    for route in host.routes:
        if route.destination.version == version and ip in route.destination:
            if best is None or route.destination.prefixlen > best.destination.prefixlen:
                best = route
    if best is None or best.type not in ("unicast", "local"):
        return None
    return best.device


def _primary_address(host: HostContext, name: str, version: int) -> int | None:
    iface = host.interface(name)
    if iface is None:
        return None
    for a in iface.addresses:
        if a.version == version:
            return int(a.ip)
    return None


def _unevaluated_notes(ruleset: Ruleset) -> tuple[str, ...]:
    skipped = sorted({f"{t.family} {t.name}" for t in ruleset.tables if t.family in ("bridge", "arp")})
    if not skipped:
        return ()
    return (f"not evaluated (bridge/arp layer): {', '.join(skipped)}",)


# ---------------------------------------------------------------------------------------------
# From regions to entries: per source, a partition of the port range
# ---------------------------------------------------------------------------------------------


def _entries(
    results: list[tuple[IntervalSet, IntervalSet, Outcome]],
    sources: list[tuple[str, IntervalSet]],
    protocol: str,
    version: int,
    ports: tuple[int, int],
) -> list[ExposureEntry]:
    out: list[ExposureEntry] = []
    for label, space in sources:
        pieces = [(iv.intersect(s, space), d, o) for s, d, o in results]
        pieces = [p for p in pieces if p[0]]
        points = iv.boundaries(p[0] for p in pieces)
        rows: list[tuple[tuple[int, int], tuple]] = []
        for a, b in zip(points, points[1:]):
            here = [(d, o) for s, d, o in pieces if iv.contains_point(s, a)]
            if not here:
                continue
            partition = _partition(here, ports)
            if rows and rows[-1][0][1] + 1 == a and rows[-1][1] == partition:
                rows[-1] = ((rows[-1][0][0], b - 1), partition)
            else:
                rows.append(((a, b - 1), partition))
        single_label = len(rows) == 1 and rows[0][0] == space[0]
        for (lo, hi), partition in rows:
            for sub in _prefixes(version, lo, hi):
                name = label if single_label else sub
                for (plo, phi), o in partition:
                    out.append(ExposureEntry(
                        source=name, protocol=protocol, ports=(plo, phi), verdict=o.verdict,
                        decided_by=o.decided_by, reason=o.reason, path=o.path,  # type: ignore[arg-type]
                        translated_to=o.translated_to,
                    ))
    return out


def _partition(here: list[tuple[IntervalSet, Outcome]], ports: tuple[int, int]) -> tuple:
    flat = sorted(((lo, hi, o) for d, o in here for lo, hi in d), key=lambda x: x[0])
    merged: list[tuple[tuple[int, int], Outcome]] = []
    for lo, hi, o in flat:
        if merged and merged[-1][1] == o and merged[-1][0][1] + 1 == lo:
            merged[-1] = ((merged[-1][0][0], hi), o)
        else:
            merged.append(((lo, hi), o))
    covered = [r for r, _ in merged]
    if iv.normalize(covered) != (ports,) or sum(h - l + 1 for l, h in covered) != ports[1] - ports[0] + 1:
        raise AssertionError(f"evaluator lost or duplicated ports: {covered}")
    return tuple(merged)


def _prefixes(version: int, lo: int, hi: int) -> list[str]:
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    nets = ipaddress.summarize_address_range(cls(lo), cls(hi))
    return [str(n) if n.num_addresses > 1 else str(n.network_address) for n in nets]
